/* mx_path: every %s argument percent-encoded as one segment; mx_header. */
#include <criterion/criterion.h>

#include "mx_client.h"

static void fini(void) {
    mx_arena_free();
    mx_client_global_cleanup();
}

TestSuite(path, .fini = fini);

Test(path, encodes_every_reserved_character) {
    cr_expect_str_eq(mx_path(MX_V3 "/devices/%s", "ABC"),
                     "/_matrix/client/v3/devices/ABC");
    cr_expect_str_eq(mx_path("/d/%s", "a b/c?d#e%f"), "/d/a%20b%2Fc%3Fd%23e%25f");
    cr_expect_str_eq(mx_path("/d/%s", "@u:hs"), "/d/%40u%3Ahs");
    cr_expect_str_eq(mx_path("/d/%s", "A-Za-z0-9._~"), "/d/A-Za-z0-9._~");
    cr_expect_str_eq(mx_path("/d/%s", "\xc3\xa9\xe2\x9c\x93"), "/d/%C3%A9%E2%9C%93");
    cr_expect_str_eq(mx_path("/d/%s/%s?x=%s", "a", "b", "c&d"), "/d/a/b?x=c%26d");
    cr_expect_str_eq(mx_path("/100%%/%s", ""), "/100%/");
    cr_expect_str_eq(mx_path("/plain"), "/plain");
}

Test(path, header_lookup_is_case_insensitive) {
    struct mx_resp r = {0};
    r.headers = json_pack("{s:s}", "retry-after", "3");
    cr_expect_str_eq(mx_header(&r, "Retry-After"), "3");
    cr_expect_str_eq(mx_header(&r, "retry-after"), "3");
    cr_expect_null(mx_header(&r, "Content-Type"));
    cr_expect_null(mx_header(NULL, "x"));
    json_decref(r.headers);
}

Test(path, errcode_of_a_body) {
    struct mx_resp r = {0};
    r.json = json_pack("{s:s}", "errcode", "M_NOT_FOUND");
    cr_expect_str_eq(mx_errcode(&r), "M_NOT_FOUND");
    json_decref(r.json);
    r.json = json_pack("[]");
    cr_expect_null(mx_errcode(&r));
    json_decref(r.json);
}
