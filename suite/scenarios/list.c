/* LIST: listing one's devices.
 *
 * spec: v1.17, client-server API, operation getDevices
 * (GET /_matrix/client/v3/devices, #get_matrixclientv3devices), with the
 * device object of definitions/client_device.yaml; devices come from login
 * (postLogin, #post_matrixclientv3login: device_id,
 * initial_device_display_name).
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_match.h"
#include "mx_session.h"

TestSuite(list, .init = mx_test_init, .fini = mx_test_fini);

/* GET /devices as u; anything but 200 with a devices array blocks the check
 * by LIST-OK (fails LIST-OK's own). *devices is borrowed from the response. */
static const struct mx_resp *list_as(const struct mx_user *u, json_t **devices) {
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = MX_V3 "/devices", .as = u);
    *devices = r->json ? json_object_get(r->json, "devices") : NULL;
    if (r->status != 200 || !json_is_array(*devices))
        mx_block(r, "LIST-OK", "GET /devices: expected 200 with a \"devices\" array");
    return r;
}

/* spec: v1.17 #get_matrixclientv3devices -- 200 with "devices", a list of
 * Device objects (device_id required). */
Test(list, LIST_OK,
     .description = "GET /devices answers 200 with {\"devices\": [...]}, each entry a "
                    "valid device.") {
    const struct mx_user *u = mx_user_new();
    json_t *devices = NULL;
    const struct mx_resp *r = list_as(u, &devices);
    mx_expect_schema(r);
    size_t i;
    json_t *entry;
    json_array_foreach(devices, i, entry) {
        mx_expect_that(json_is_object(entry), r, "devices[%zu] is not an object", i);
        mx_expect_that(json_is_string(json_object_get(entry, "device_id")), r,
                       "devices[%zu] has no string device_id", i);
    }
}

/* spec: v1.17 #get_matrixclientv3devices -- "all devices for the current
 * user", which includes the calling device. */
Test(list, LIST_SELF,
     .description = "The list holds the device of the access token making the call.") {
    const struct mx_user *u = mx_user_new();
    json_t *devices = NULL;
    const struct mx_resp *r = list_as(u, &devices);
    mx_expect_that(mx_devices_contains(devices, u->device_id, NULL), r,
                   "the calling device %s is not in its own GET /devices list",
                   u->device_id);
}

/* spec: v1.17 #get_matrixclientv3devices -- every device of the user is
 * listed, however many logins made them. */
Test(list, LIST_ALL,
     .description = "After the user logs in N more times, GET /devices holds all N new "
                    "device IDs.") {
    enum { N = 3 };
    const struct mx_user *u = mx_user_new();
    const struct mx_user *more[N];
    for (int i = 0; i < N; i++) {
        more[i] = mx_login(u, NULL, NULL);
    }
    json_t *devices = NULL;
    /* Listed by the first device: the caller itself is LIST-SELF's. */
    const struct mx_resp *r = list_as(u, &devices);
    for (int i = 0; i < N; i++) {
        mx_expect_that(mx_devices_contains(devices, more[i]->device_id, NULL), r,
                       "device %s from login %d of %d is missing from the list",
                       more[i]->device_id, i + 1, N);
    }
    mx_expect_that(json_array_size(devices) >= N, r,
                   "expected at least %d devices after %d more logins, the list has %zu",
                   N, N, json_array_size(devices));
}

/* spec: v1.17 #get_matrixclientv3devices -- the devices "for the current
 * user", never anyone else's. */
Test(list, LIST_ISOLATED,
     .description = "GET /devices never holds another user's device.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *v = mx_user_new();
    /* An explicit, distinctive ID so that a shared ID cannot be a coincidence. */
    const struct mx_user *v2 = mx_login(v, mx_unique("OTHERUSERDEV"), "mxdev other user");
    /* Both users are active, and v's devices exist: v sees them itself. */
    json_t *devices = NULL;
    const struct mx_resp *r = list_as(v, &devices);
    if (!mx_devices_contains(devices, v2->device_id, NULL))
        mx_block(r, "LIST-ALL", "%s does not list its own device %s", v->user_id,
                 v2->device_id);
    r = list_as(u, &devices);
    const char *others[] = {v->device_id, v2->device_id};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        mx_expect_that(!mx_devices_contains(devices, others[i], NULL) ||
                           strcmp(others[i], u->device_id) == 0,
                       r, "%s's device %s appears in %s's device list", v->user_id,
                       others[i], u->user_id);
    }
    size_t i;
    json_t *entry;
    json_array_foreach(devices, i, entry) {
        const char *id = json_string_value(json_object_get(entry, "device_id"));
        /* A fresh user's list holds exactly what this test made for it: any
         * other device, of whoever, is one the user does not have. */
        mx_expect_that(!id || mx_made_device(u, id) != 0, r,
                       "%s's list holds device %s, which is not one of its devices",
                       u->user_id, id ? id : "?");
        const char *name = json_string_value(json_object_get(entry, "display_name"));
        mx_expect_that(!name || strcmp(name, "mxdev other user") != 0, r,
                       "devices[%zu] carries the display name of %s's device", i,
                       v->user_id);
    }
}

/* spec: v1.17 #post_matrixclientv3login (initial_device_display_name) and
 * #get_matrixclientv3devices -- a device made by login carries the name
 * given at login. */
Test(list, LIST_NAME,
     .description = "A device created by login with initial_device_display_name shows "
                    "that display_name in GET /devices.") {
    const char *wanted = "mxdev list name check";
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, wanted);
    json_t *devices = NULL;
    const struct mx_resp *r = list_as(u, &devices);
    const char *name = NULL;
    if (!mx_devices_contains(devices, d->device_id, &name))
        mx_block(r, "LIST-ALL", "the device %s made by login is not listed",
                 d->device_id);
    mx_expect_that(name && strcmp(name, wanted) == 0, r,
                   "device %s: expected display_name \"%s\", got %s%s%s", d->device_id,
                   wanted, name ? "\"" : "", name ? name : "none", name ? "\"" : "");
}
