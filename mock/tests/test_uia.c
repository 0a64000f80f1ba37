/* Unit tests of the UIA session state machine, with a fake clock. */
#include <criterion/criterion.h>
#include <string.h>

#include "random.h"
#include "uia.h"

static struct uia *u;
static const int64_t t0 = 1700000000000;

static void setup(void) {
    u = uia_new();
    cr_assert_not_null(u);
}

static void teardown(void) {
    uia_free(u);
    u = NULL;
}

TestSuite(uia, .init = setup, .fini = teardown);

#define ALICE "@alice:localhost"
#define DEL_PATH "/_matrix/client/v3/devices/ABC"

Test(uia, open_gives_random_ids) {
    const char *a = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(a);
    cr_expect_eq(strlen(a), MOCK_SECRET_HEX_LEN);
    cr_expect_eq(strspn(a, "0123456789abcdef"), MOCK_SECRET_HEX_LEN);
    const char *b = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(b);
    cr_expect_str_neq(a, b);
    cr_expect_eq(uia_count(u), 2);
    cr_expect_null(uia_open(u, NULL, "DELETE", DEL_PATH, t0));
}

Test(uia, check_binds_user_method_path) {
    const char *s = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(s);
    cr_expect_eq(uia_check(u, s, ALICE, "DELETE", DEL_PATH, t0 + 1), UIA_SESSION_OK);
    cr_expect_eq(uia_check(u, s, "@bob:localhost", "DELETE", DEL_PATH, t0),
                 UIA_SESSION_MISMATCH);
    cr_expect_eq(uia_check(u, s, ALICE, "POST", DEL_PATH, t0), UIA_SESSION_MISMATCH);
    cr_expect_eq(uia_check(u, s, ALICE, "DELETE", "/_matrix/client/v3/devices/XYZ", t0),
                 UIA_SESSION_MISMATCH);
    cr_expect_eq(uia_check(u, s, ALICE, "POST", "/_matrix/client/v3/delete_devices", t0),
                 UIA_SESSION_MISMATCH);
    cr_expect_eq(uia_check(u, s, NULL, "DELETE", DEL_PATH, t0), UIA_SESSION_MISMATCH);
    /* A mismatch does not consume the session. */
    cr_expect_eq(uia_check(u, s, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_OK);
}

Test(uia, unknown_sessions) {
    const char *s = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(s);
    char near[MOCK_SECRET_HEX_LEN + 2];
    strcpy(near, s);
    near[0] = near[0] == 'a' ? 'b' : 'a';
    cr_expect_eq(uia_check(u, near, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    strcpy(near, s);
    near[MOCK_SECRET_HEX_LEN - 1] = '\0';
    cr_expect_eq(uia_check(u, near, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    cr_expect_eq(uia_check(u, "", ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    cr_expect_eq(uia_check(u, NULL, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
}

Test(uia, expiry) {
    const char *s = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(s);
    char id[MOCK_SECRET_HEX_LEN + 1];
    strcpy(id, s);
    int64_t end = t0 + UIA_SESSION_LIFETIME_MS;
    cr_expect_eq(uia_check(u, id, ALICE, "DELETE", DEL_PATH, end - 1), UIA_SESSION_OK);
    cr_expect_eq(uia_check(u, id, ALICE, "DELETE", DEL_PATH, end), UIA_SESSION_UNKNOWN);
    /* Once found expired it is gone, even for an earlier clock. */
    cr_expect_eq(uia_check(u, id, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    cr_expect_eq(uia_count(u), 0);
}

Test(uia, expire_sweeps_only_old_sessions) {
    cr_assert_not_null(uia_open(u, ALICE, "DELETE", DEL_PATH, t0));
    const char *young = uia_open(u, ALICE, "DELETE", DEL_PATH, t0 + 5000);
    cr_assert_not_null(young);
    char id[MOCK_SECRET_HEX_LEN + 1];
    strcpy(id, young);
    uia_expire(u, t0 + UIA_SESSION_LIFETIME_MS);
    cr_expect_eq(uia_count(u), 1);
    cr_expect_eq(
        uia_check(u, id, ALICE, "DELETE", DEL_PATH, t0 + UIA_SESSION_LIFETIME_MS),
        UIA_SESSION_OK);
    uia_expire(u, t0 + 5000 + UIA_SESSION_LIFETIME_MS);
    cr_expect_eq(uia_count(u), 0);
}

static void join_stage(const char *stage, void *arg) {
    strcat(arg, stage);
    strcat(arg, ";");
}

Test(uia, completed_stages) {
    const char *s = uia_open(u, ALICE, "POST", "/_matrix/client/v3/delete_devices", t0);
    cr_assert_not_null(s);
    cr_expect_not(uia_stage_done(u, s, "m.login.password"));
    cr_expect_eq(uia_complete_stage(u, s, "m.login.password"), 0);
    cr_expect_eq(uia_complete_stage(u, s, "m.login.dummy"), 0);
    cr_expect_eq(uia_complete_stage(u, s, "m.login.password"), 0); /* no duplicate */
    cr_expect(uia_stage_done(u, s, "m.login.password"));
    cr_expect(uia_stage_done(u, s, "m.login.dummy"));
    cr_expect_not(uia_stage_done(u, s, "m.login.recaptcha"));
    char buf[128] = "";
    uia_foreach_completed(u, s, join_stage, buf);
    cr_expect_str_eq(buf, "m.login.password;m.login.dummy;");

    cr_expect_eq(uia_complete_stage(u, "nope", "m.login.password"), -1);
    cr_expect_not(uia_stage_done(u, "nope", "m.login.password"));
    buf[0] = '\0';
    uia_foreach_completed(u, "nope", join_stage, buf);
    cr_expect_str_eq(buf, "");
}

Test(uia, close_ends_session) {
    const char *s = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(s);
    char id[MOCK_SECRET_HEX_LEN + 1];
    strcpy(id, s);
    cr_assert_eq(uia_complete_stage(u, id, "m.login.password"), 0);
    uia_close(u, id);
    cr_expect_eq(uia_check(u, id, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    cr_expect_not(uia_stage_done(u, id, "m.login.password"));
    uia_close(u, id); /* twice is harmless */
    uia_close(u, NULL);
    cr_expect_eq(uia_count(u), 0);
}

Test(uia, session_cap_drops_oldest) {
    char first[MOCK_SECRET_HEX_LEN + 1];
    const char *s = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
    cr_assert_not_null(s);
    strcpy(first, s);
    const char *last = NULL;
    for (int i = 0; i < UIA_MAX_SESSIONS; i++) {
        last = uia_open(u, ALICE, "DELETE", DEL_PATH, t0);
        cr_assert_not_null(last);
    }
    cr_expect_eq(uia_count(u), UIA_MAX_SESSIONS);
    cr_expect_eq(uia_check(u, first, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_UNKNOWN);
    cr_expect_eq(uia_check(u, last, ALICE, "DELETE", DEL_PATH, t0), UIA_SESSION_OK);
}
