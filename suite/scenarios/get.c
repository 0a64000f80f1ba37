/* GET: reading one device.
 *
 * spec: v1.17, client-server API, operation getDevice
 * (GET /_matrix/client/v3/devices/{deviceId},
 * #get_matrixclientv3devicesdeviceid): 200 with a Device
 * (definitions/client_device.yaml), 404 "the current user has no device with
 * the given ID". Devices with unusual IDs are made through postLogin
 * (#post_matrixclientv3login, device_id) or, failing that, by the
 * application service (updateDevice, #put_matrixclientv3devicesdeviceid).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_env.h"
#include "mx_scenario.h"
#include "mx_redact.h"
#include "mx_session.h"

TestSuite(get, .init = mx_test_init, .fini = mx_test_fini);

/* spec: v1.17 #get_matrixclientv3devicesdeviceid -- 200 with the device. */
Test(get, GET_OK,
     .description = "GET /devices/{own device} answers 200 with a device whose device_id "
                    "equals the path's.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, "mxdev get ok");
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", d->device_id),
                .as = u);
    mx_assert_status(r, 200);
    mx_expect_member(r, "device_id", d->device_id, NULL);
}

/* spec: v1.17 #get_matrixclientv3devicesdeviceid -- 404 when the user has no
 * device with that ID, as a standard error (#standard-error-response). */
Test(get, GET_UNKNOWN,
     .description = "GET /devices/{id the user has no device under} answers 404 with a "
                    "standard error body.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r =
        MX_SEND(.method = "GET",
                .path = mx_path(MX_V3 "/devices/%s", mx_unique("NOSUCHDEV")), .as = u);
    mx_assert_error(r, 404);
}

/* spec: v1.17 #common-error-codes -- M_NOT_FOUND is the code for "no resource
 * was found"; the operation itself names none. */
Test(get, GET_UNKNOWN_ERRCODE,
     .description = "The 404 of GET /devices/{unknown id} carries errcode M_NOT_FOUND.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r =
        MX_SEND(.method = "GET",
                .path = mx_path(MX_V3 "/devices/%s", mx_unique("NOSUCHDEV")), .as = u);
    if (r->status != 404)
        mx_block(r, "GET-UNKNOWN", "no 404 whose errcode could be judged");
    mx_expect_errcode(r, "M_NOT_FOUND");
}

/* spec: v1.17 #get_matrixclientv3devicesdeviceid -- "the current user has no
 * device with the given ID": another user's device is not the caller's. */
Test(get, GET_OTHER_USER,
     .description = "GET /devices/{another user's device ID} answers 404 and leaks none "
                    "of that device's fields.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *v = mx_user_new();
    char secret[128];
    snprintf(secret, sizeof secret, "mxdev private name %s", mx_unique("n"));
    const struct mx_user *vd = mx_login(v, mx_unique("OTHERUSERDEV"), secret);
    /* The device exists and its owner is active: the owner can read it. */
    const struct mx_resp *own =
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", vd->device_id),
                .as = v);
    mx_assert_status(own, 200);

    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", vd->device_id),
                .as = u);
    mx_assert_error(r, 404);
    static const char *const fields[] = {"device_id", "display_name", "last_seen_ip",
                                         "last_seen_ts"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        mx_expect_that(!r->json || !json_object_get(r->json, fields[i]), r,
                       "the 404 for %s's device carries the device field \"%s\"",
                       v->user_id, fields[i]);
    }
    mx_expect_that(strstr(r->body, secret) == NULL, r,
                   "the 404 for %s's device leaks its display name", v->user_id);
}

/* Logs account in again with exactly device_id (postLogin). Returns the new
 * device's access token (borrowed from the response, which the test's arena
 * keeps), or NULL with the reason in why when the server would not make a
 * device with that ID. */
static const char *login_with_id(const struct mx_user *account, const char *device_id,
                                 const char *name, char *why, size_t why_len) {
    json_t *body = mx_arena_keep_json(json_pack(
        "{s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "type", "m.login.password", "identifier",
        "type", "m.id.user", "user", account->user_id, "password", account->password,
        "device_id", device_id, "initial_device_display_name", name));
    const struct mx_resp *r =
        MX_SEND(.method = "POST", .path = MX_V3 "/login", .body = body);
    if (r->status != 200 || !r->json) {
        snprintf(why, why_len, "login with device_id \"%s\" answered %ld %s", device_id,
                 r->status, mx_errcode(r) ? mx_errcode(r) : "");
        return NULL;
    }
    const char *got_id = json_string_value(json_object_get(r->json, "device_id"));
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    if (!got_id || !token || strcmp(got_id, device_id) != 0) {
        snprintf(why, why_len, "login with device_id \"%s\" gave device_id %s", device_id,
                 got_id ? got_id : "(none)");
        return NULL;
    }
    mx_redact_secret(token);
    return token;
}

/* GET /devices/{id} as `as` (or as the AS for `as`) returns exactly id.
 * Non-fatal, so that the caller still removes the device afterwards. */
static void expect_addressed(const struct mx_user *as, bool appservice, const char *id) {
    const char *path = mx_path(MX_V3 "/devices/%s", id);
    const struct mx_resp *r = appservice
                                  ? mx_as_send("GET", path, as, NULL, NULL)
                                  : MX_SEND(.method = "GET", .path = path, .as = as);
    mx_expect_that(
        r->status == 200, r,
        "GET /devices/{deviceId} for the existing device \"%s\" (percent-encoded "
        "in the path) answered %ld, expected 200: the server must percent-decode "
        "the path segment to find the device",
        id, r->status);
    if (r->status != 200) {
        return;
    }
    mx_expect_member(
        r, "device_id", id,
        mx_arena_printf(
            "GET on the percent-encoded path did not return the device \"%s\"", id));
}

/* spec: v1.17 #get_matrixclientv3devicesdeviceid -- deviceId is a path
 * parameter of type string: any ID the server issued, percent-encoded in the
 * path (#api-standards), addresses that device. */
static void check_encoded(const char *suffix) {
    char id[160];
    snprintf(id, sizeof id, "%s%s", mx_unique("ENC"), suffix);
    const char *name = "mxdev encoded id";
    const struct mx_user *u = mx_user_new();
    char why[512] = "";

    /* Addressing an unusual ID is a question only once plain IDs read back
     * (GET-OK). */
    const struct mx_resp *plain =
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", u->device_id),
                .as = u);
    const char *got = json_string_value(json_object_get(plain->json, "device_id"));
    if (plain->status != 200 || !got || strcmp(got, u->device_id) != 0)
        mx_block(plain, "GET-OK",
                 "GET /devices/{id} of the plain device %s does not read "
                 "it back",
                 u->device_id);

    const char *token = login_with_id(u, id, name, why, sizeof why);
    if (token) {
        expect_addressed(u, false, id);
        /* The harness does not know this device: log it out here. */
        const struct mx_resp *r =
            MX_SEND(.method = "POST", .path = MX_V3 "/logout", .token = token);
        mx_expect_status(r, 200);
        return;
    }
    if (!mx_env_version_in(117, 0) || !mx_env()->as_available) {
        const char *as_why = !mx_env_version_in(117, 0)
                                 ? "application services create devices only since 1.17"
                             : mx_env()->as_skip_reason ? mx_env()->as_skip_reason
                                                        : "no application service";
        char reason[768];
        snprintf(reason, sizeof reason,
                 "the server makes no device with this ID (%s), and it cannot be made "
                 "otherwise: %s",
                 why, as_why);
        mx_skip(reason);
    }
    const struct mx_user *a = mx_as_user_new();
    json_t *body = mx_arena_keep_json(json_pack("{s:s}", "display_name", name));
    const char *path = mx_path(MX_V3 "/devices/%s", id);
    const struct mx_resp *r = mx_as_send("PUT", path, a, NULL, body);
    if (r->status != 200 && r->status != 201) {
        char reason[1024];
        snprintf(reason, sizeof reason,
                 "the server makes no device with this ID: %s, and the application "
                 "service's PUT answered %ld %s",
                 why, r->status, mx_errcode(r) ? mx_errcode(r) : "");
        mx_skip(reason);
    }
    expect_addressed(a, true, id);
    json_t *none = mx_arena_keep_json(json_object());
    r = mx_as_send("DELETE", path, a, NULL, none);
    mx_expect_status(r, 200);
}

Test(get, GET_ENCODED__space,
     .description = "A device ID with a space, percent-encoded in the path, addresses "
                    "exactly that device.") {
    check_encoded(" A B");
}

Test(get, GET_ENCODED__slash,
     .description = "A device ID with a '/', percent-encoded in the path, addresses "
                    "exactly that device.") {
    check_encoded("/A");
}

Test(get, GET_ENCODED__non_ascii,
     .description =
         "A non-ASCII device ID with a space and a '/', percent-encoded in the "
         "path, addresses exactly that device.") {
    check_encoded("\xc3\x89"
                  "CRAN 1/2 \xe2\x98\x83");
}
