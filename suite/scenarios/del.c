/* DEL: what a (UIA-authenticated) deletion does and does not delete.
 *
 * spec: v1.17 client-server, deleteDevice (DELETE /_matrix/client/v3/devices/{deviceId},
 *       #delete_matrixclientv3devicesdeviceid) and deleteDevices
 *       (POST /_matrix/client/v3/delete_devices, #post_matrixclientv3delete_devices).
 *       Both answer 200 when "the device was successfully removed, or had been
 *       removed previously".
 *
 * Every test uses fresh users; UIA is completed with the password stage.
 *
 * JSON bodies built here go to the test arena (mx_arena_keep_json): a fatal
 * assertion ends the test early, and the arena still frees them.
 */
#include <jansson.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_scenario.h"
#include "mx_session.h"

TestSuite(del, .init = mx_test_init, .fini = mx_test_fini);

/* The device still exists and its token still works. */
static void expect_alive(const struct mx_user *dev) {
    if (mx_expect_token_works(dev, "the deletion was not to touch it"))
        mx_expect_device_kept(dev, dev->device_id, "the deletion was not to touch it");
}

/* Status of a request whose outcome is not the point of the check: any
 * client error or 200 is acceptable, a server error or no answer is not. */
/* POST /delete_devices {"devices": ids} as u, with UIA. */
static const struct mx_resp *delete_devices(const struct mx_user *u, json_t *ids) {
    return mx_send_uia(u, "POST", mx_path(MX_V3 "/delete_devices"),
                       mx_arena_keep_json(json_pack("{s:O}", "devices", ids)), NULL);
}

static void expect_handled(const struct mx_resp *r) {
    mx_expect_that(r->status == 200 || (r->status >= 400 && r->status < 500), r,
                   "expected 200 or a 4xx refusal");
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: 200 also when the device
 * "had been removed previously". */
Test(del, DEL_IDEMPOTENT,
     .description = "Deleting a device that was already deleted "
                    "(with UIA completed) gets 200") {
    const struct mx_user *alice;
    const struct mx_user *dev;
    const struct mx_resp *r;

    dev = mx_user_and_device(&alice);
    mx_delete_device_uia(alice, dev->device_id);
    mx_expect_device_gone(alice, dev->device_id, "the deletion");
    r = mx_send_uia(alice, "DELETE", mx_path(MX_V3 "/devices/%s", dev->device_id), NULL,
                    NULL);
    mx_assert_status(r, 200);
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: the 200 wording covers
 * devices that are not there; a 404 for a never-existing ID is a deviation. */
Test(del, DEL_UNKNOWN,
     .description = "Deleting a device ID the user never had (with UIA "
                    "completed) gets 200") {
    const struct mx_user *alice;
    const struct mx_resp *r;
    json_t *body = mx_arena_keep_json(json_object());

    mx_require_legacy_login();
    alice = mx_user_new();
    r = mx_send_uia(alice, "DELETE", mx_path(MX_V3 "/devices/%s", mx_unique("NEVER")),
                    body, NULL);
    /* A 404 here is the deviation this SHOULD records. */
    mx_expect_status(r, 200);
    expect_alive(alice);
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: the endpoint deletes
 * devices of the requesting user only. */
Test(del, DEL_OTHER_USER,
     .description = "Deleting another user's device ID through one's "
                    "own account leaves that device and its token "
                    "working") {
    const struct mx_user *alice;
    const struct mx_user *bob;
    const struct mx_resp *r;
    json_t *body = mx_arena_keep_json(json_object());

    mx_require_legacy_login();
    alice = mx_user_new();
    bob = mx_user_new();
    r = mx_send_uia(alice, "DELETE", mx_path(MX_V3 "/devices/%s", bob->device_id), body,
                    NULL);
    expect_handled(r);
    expect_alive(bob);
    expect_alive(alice);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: "Deletes the given
 * devices". */
Test(del, BULK_DELETE,
     .description = "POST /delete_devices with two own device IDs and "
                    "UIA gets 200 and both devices are gone") {
    const struct mx_user *alice, *d1, *d2;
    json_t *ids = mx_user_and_two_devices(&alice, &d1, &d2);

    mx_delete_devices_uia(alice, ids);
    mx_expect_device_gone(alice, d1->device_id, "the deletion");
    mx_expect_device_gone(alice, d2->device_id, "the deletion");
    expect_alive(alice);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: 200 also when the devices
 * "had been removed previously". */
Test(del, BULK_IDEMPOTENT,
     .description = "Repeating a successful POST /delete_devices "
                    "gets 200") {
    const struct mx_user *alice, *d1, *d2;
    json_t *ids = mx_user_and_two_devices(&alice, &d1, &d2);
    const struct mx_resp *r;

    mx_delete_devices_uia(alice, ids);
    r = delete_devices(alice, ids);
    mx_assert_status(r, 200);
    expect_alive(alice);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: IDs that are not (or no
 * longer) there do not stop the others from being deleted. */
Test(del, BULK_MIXED,
     .description = "A list mixing an own device, an unknown ID and an "
                    "already-deleted ID gets 200 and the own device is "
                    "gone") {
    const struct mx_resp *r;
    const struct mx_user *alice;
    const struct mx_user *keep_out;
    const struct mx_user *dev;
    json_t *ids = NULL;

    dev = mx_user_and_device(&alice);
    keep_out = mx_login(alice, NULL, NULL);
    /* A mixed list is a question only once plain lists work (BULK-DELETE):
     * the already-deleted ID comes from such a deletion. */
    mx_delete_devices_uia(
        alice, mx_arena_keep_json(json_pack("[ss]", keep_out->device_id,
                                            mx_login(alice, NULL, NULL)->device_id)));
    ids = mx_arena_keep_json(
        json_pack("[sss]", mx_unique("NEVER"), dev->device_id, keep_out->device_id));
    r = delete_devices(alice, ids);
    mx_assert_status(r, 200);
    mx_expect_device_gone(alice, dev->device_id, "the deletion");
    expect_alive(alice);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: only the requesting user's
 * devices can be deleted. */
Test(del, BULK_OTHER_USER,
     .description = "Another user's device ID in a POST "
                    "/delete_devices list is not deleted") {
    const struct mx_user *alice;
    const struct mx_user *own;
    const struct mx_user *bob;
    const struct mx_resp *r;
    json_t *body = NULL;

    own = mx_user_and_device(&alice);
    bob = mx_user_new();
    body = mx_arena_keep_json(
        json_pack("{s:[ss]}", "devices", own->device_id, bob->device_id));
    r = mx_send_uia(alice, "POST", mx_path(MX_V3 "/delete_devices"), body, NULL);
    expect_handled(r);
    expect_alive(bob);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: "devices" is required; a
 * body without it is a bad request (#api-standards: M_BAD_JSON /
 * M_MISSING_PARAM). */
Test(del, BULK_MISSING,
     .description = "POST /delete_devices without \"devices\" gets 400 "
                    "M_BAD_JSON or M_MISSING_PARAM (possibly after UIA) "
                    "and deletes nothing") {
    const struct mx_user *alice;
    const struct mx_user *other;
    const struct mx_resp *r;
    json_t *body = mx_arena_keep_json(json_object());

    other = mx_user_and_device(&alice);
    r = mx_send_uia(alice, "POST", mx_path(MX_V3 "/delete_devices"), body, NULL);
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_BAD_JSON", "M_MISSING_PARAM");
    mx_expect_that(mx_device_present(alice, alice->device_id) &&
                       mx_device_present(alice, other->device_id),
                   NULL,
                   "a POST /delete_devices without \"devices\" deleted devices of %s",
                   alice->user_id);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: an empty list deletes
 * nothing; the spec does not say how it is answered, so this only records
 * it. */
Test(del, BULK_EMPTY,
     .description = "POST /delete_devices with an empty list: record the "
                    "status (200 expected, possibly after UIA)") {
    const struct mx_user *alice;
    const struct mx_user *other;
    const struct mx_resp *r;
    json_t *devices;
    json_t *body = mx_arena_keep_json(json_pack("{s:[]}", "devices"));
    long first = 0;

    other = mx_user_and_device(&alice);
    r = mx_send_uia(alice, "POST", mx_path(MX_V3 "/delete_devices"), body, &first);
    devices = mx_list_devices(alice);
    mx_observe("{\"devices\": []} answered %ld%s; final status %ld%s%s; both devices of "
               "the user %s",
               first, first == 401 ? " (UIA)" : "", r->status,
               mx_errcode(r) != NULL ? ", errcode " : "",
               mx_errcode(r) != NULL ? mx_errcode(r) : "",
               mx_devices_contains(devices, alice->device_id, NULL) &&
                       mx_devices_contains(devices, other->device_id, NULL)
                   ? "survived"
                   : "did NOT survive");
}
