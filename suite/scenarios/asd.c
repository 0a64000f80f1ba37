/* ASD: deletion of devices by an application service (since v1.17).
 *
 * spec: v1.17 client-server, deleteDevice (DELETE /_matrix/client/v3/devices/{deviceId},
 *       #delete_matrixclientv3devicesdeviceid) and deleteDevices
 *       (POST /_matrix/client/v3/delete_devices, #post_matrixclientv3delete_devices):
 *       "uses the User-Interactive Authentication API, except when used by an
 *       application service" (changed in v1.17); the application service acts
 *       for a user of its namespace through identity assertion
 *       (application-service-api #identity-assertion, ?user_id= and, since
 *       v1.17, ?device_id=).
 *
 * JSON bodies built here go to the test arena (mx_arena_keep_json): a fatal
 * assertion ends the test early, and the arena still frees them.
 */
#include <jansson.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_crosscut.h"
#include "mx_scenario.h"
#include "mx_session.h"

TestSuite(asd, .init = mx_test_init, .fini = mx_test_fini);

/* What deleted the devices, for the messages of mx_expect_device_gone. */
#define AS_DELETION "the application service's deletion"

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: no UIA when used by an
 * application service; the device is deleted. */
Test(asd, ASD_DELETE,
     .description = "The application service deletes a namespace user's "
                    "device with DELETE /devices/{id} and no auth: 200, "
                    "the device is gone") {
    const char *id = mx_unique("ASDEV");
    const struct mx_user *u = mx_as_user_with_device(id, "mxdev asd delete");
    const struct mx_resp *r = mx_as_delete_device(u, id);

    mx_assert_status(r, 200);
    mx_expect_device_gone(u, id, AS_DELETION);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: no UIA when used by an
 * application service; the listed devices are deleted, the others stay. */
Test(asd, ASD_BULK,
     .description = "The application service deletes devices with POST "
                    "/delete_devices and no auth: 200, the devices are "
                    "gone") {
    const char *a = mx_unique("ASDEV");
    const char *b = mx_unique("ASDEV");
    const char *keep = mx_unique("ASDEV");
    json_t *body = mx_arena_keep_json(json_pack("{s:[ss]}", "devices", a, b));
    const struct mx_user *u = mx_as_user_with_device(a, "mxdev asd bulk a");
    const struct mx_resp *r;

    mx_as_put_device(u, b, "mxdev asd bulk b");
    mx_as_put_device(u, keep, "mxdev asd bulk keep");
    r = mx_as_send("POST", mx_path(MX_V3 "/delete_devices"), u, NULL, body);
    mx_assert_status(r, 200);
    /* Only some of the listed devices gone: the bulk semantics broke
     * (BULK-DELETE), not the application service's exemption from UIA. */
    if (mx_device_present(u, a) != mx_device_present(u, b)) {
        mx_crosscut("BULK-DELETE", r,
                    "POST /delete_devices answered 200 but deleted only one of the two "
                    "listed devices (%s, %s)",
                    a, b);
    } else {
        mx_expect_device_gone(u, a, AS_DELETION);
        mx_expect_device_gone(u, b, AS_DELETION);
    }
    mx_expect_that(mx_device_present(u, keep), NULL,
                   "device %s was not in the deletion list but is gone", keep);
}

/* spec: v1.17 application-service-api #identity-assertion: a device_id the
 * user does not have is refused with 400 M_UNKNOWN_DEVICE; a deleted device
 * is one of those. */
Test(asd, ASD_GONE,
     .description = "After the application service deleted a device, "
                    "requests asserting that device_id get 400 "
                    "M_UNKNOWN_DEVICE") {
    const char *id = mx_unique("ASDEV");
    const struct mx_user *u = mx_as_user_with_device(id, "mxdev asd gone");
    const struct mx_resp *r;

    /* Preconditions: the device could be asserted while it existed, and the
     * application service could delete it. */
    r = mx_as_send("GET", mx_path(MX_V3 "/account/whoami"), u, id, NULL);
    if (r->status != 200)
        mx_block(r, "ASC-MASQUERADE", "the application service cannot assert device %s",
                 id);
    r = mx_as_delete_device(u, id);
    if (r->status != 200)
        mx_block(r, "ASD-DELETE", "the application service cannot delete device %s", id);
    r = mx_as_send("GET", mx_path(MX_V3 "/account/whoami"), u, id, NULL);
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_UNKNOWN_DEVICE");
    r = mx_as_send("GET", mx_path(MX_V3 "/devices"), u, id, NULL);
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_UNKNOWN_DEVICE");
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: the UIA exemption is for
 * application services only; a user's own token still needs UIA. */
static void user_still_uia(bool bulk) {
    const struct mx_user *alice;
    const struct mx_user *victim;
    const struct mx_resp *r;
    json_t *body = NULL;

    victim = mx_user_and_device(&alice);
    if (bulk) {
        body = mx_arena_keep_json(json_pack("{s:[s]}", "devices", victim->device_id));
        r = MX_SEND(.method = "POST", .path = mx_path(MX_V3 "/delete_devices"),
                    .as = alice, .body = body);
    } else {
        body = mx_arena_keep_json(json_object());
        r = MX_SEND(.method = "DELETE",
                    .path = mx_path(MX_V3 "/devices/%s", victim->device_id), .as = alice,
                    .body = body);
    }
    mx_assert_status(r, 401);
    /* Deleted all the same, after asking for UIA: UIA-NOTHING-DONE's rule. */
    if (!mx_device_present(alice, victim->device_id))
        mx_crosscut("UIA-NOTHING-DONE", r,
                    "device %s is gone after the UIA 401 of its deletion",
                    victim->device_id);
}

Test(asd, ASD_USER_STILL_UIA__delete_device,
     .description =
         "A user's own token deleting a device with DELETE /devices/{id} still "
         "gets the UIA 401") {
    user_still_uia(false);
}

Test(asd, ASD_USER_STILL_UIA__delete_devices,
     .description =
         "A user's own token deleting a device with POST /delete_devices still "
         "gets the UIA 401") {
    user_still_uia(true);
}

/* The same for a user of the application service's namespace, with a token
 * of its own: only the as_token is exempt. Such a user has no password, so
 * any refusal counts; what matters is that nothing is deleted. */
Test(asd, ASD_USER_STILL_UIA__namespace_user,
     .description = "A namespace user's own token (not the as_token) cannot delete a "
                    "device without UIA") {
    const struct mx_user *u;
    const struct mx_user *tok;
    const char *other = mx_unique("ASDEV");
    const char *why = NULL;
    const struct mx_resp *r;
    json_t *body = mx_arena_keep_json(json_object());

    mx_require_appservice();
    u = mx_as_user_new();
    tok = mx_as_login(u, mx_unique("ASTOK"), &why);
    if (tok == NULL)
        mx_skip(why != NULL ? why : "the server gives namespace users no token");
    mx_as_put_device(u, other, "mxdev asd uia");
    r = MX_SEND(.method = "DELETE", .path = mx_path(MX_V3 "/devices/%s", other),
                .as = tok, .body = body);
    mx_assert_that(r->status >= 400 && r->status < 500, r,
                   "the user's own token deleted device %s without UIA; only the "
                   "application service's as_token is exempt",
                   other);
    /* Gone after a UIA 401 is UIA-NOTHING-DONE's rule; after any other
     * refusal it is this one's. */
    if (!mx_device_present(u, other)) {
        if (r->status == 401)
            mx_crosscut("UIA-NOTHING-DONE", r,
                        "device %s is gone after the UIA 401 of its deletion", other);
        else
            mx_expect_that(false, r, "device %s is gone after a refused deletion", other);
    }
}
