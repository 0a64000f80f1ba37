/* mx_session helpers that need no server: HMAC-SHA1 through libcrypto and
 * Synapse's shared-secret registration MAC. */
#include <criterion/criterion.h>
#include <string.h>

#include "mx_client.h"
#include "mx_session.h"

Test(session, hmac_sha1_known_vector) {
    char hex[41];
    const char *msg = "The quick brown fox jumps over the lazy dog";
    cr_assert_eq(mx_hmac_sha1_hex("key", (const unsigned char *)msg, strlen(msg), hex), 0,
                 "libcrypto not reachable");
    cr_expect_str_eq(hex, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
}

Test(session, shared_secret_mac_matches_synapse) {
    /* Expected value from Python: hmac.new(b"sss",
     * b"abc123\0mxdevuser\0pw\0notadmin", hashlib.sha1).hexdigest() */
    char hex[41];
    cr_assert_eq(mx_shared_secret_mac("sss", "abc123", "mxdevuser", "pw", hex), 0);
    cr_expect_str_eq(hex, "441893bdbb3d5d1bf28fe7b6bff014b9a7e57d35");
}

Test(session, unique_strings_differ) {
    const char *a = mx_unique("dev");
    const char *b = mx_unique("dev");
    cr_expect_str_neq(a, b);
    cr_expect(strncmp(a, "dev", 3) == 0, "%s", a);
    cr_expect(strncmp(mx_unique(NULL), "mxdev", 5) == 0);
    mx_arena_free();
}
