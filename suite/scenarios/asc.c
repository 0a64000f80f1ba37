/* ASC: device creation by an application service (since v1.17).
 *
 * spec: v1.17 client-server, updateDevice (PUT /_matrix/client/v3/devices/{deviceId},
 *       #put_matrixclientv3devicesdeviceid): "Updates the metadata on the given
 *       device, or creates a new device"; creation is for application services
 *       only, 201 when created and 200 when updated (changed in v1.17). The
 *       application service acts for users of its namespace through identity
 *       assertion (application-service-api #identity-assertion: ?user_id= and,
 *       since v1.17, ?device_id=). Target 1.16 only records what the server
 *       does (ASC-BEFORE).
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
#include "mx_variants.h"

TestSuite(asc, .init = mx_test_init, .fini = mx_test_fini);

/* PUT /devices/{id} by the application service acting as u, with a
 * display name. */
static const struct mx_resp *as_put(const struct mx_user *u, const char *id,
                                    const char *display_name) {
    json_auto_t *body = json_pack("{s:s}", "display_name", display_name);

    return mx_as_send("PUT", mx_path(MX_V3 "/devices/%s", id), u, NULL, body);
}

/* GET /devices/{id} by the application service acting as u. */
static const struct mx_resp *as_get(const struct mx_user *u, const char *id) {
    return mx_as_send("GET", mx_path(MX_V3 "/devices/%s", id), u, NULL, NULL);
}

/* GET /devices/{id} of a device the listing shows under exactly id: reading
 * a device back is GET-OK's rule, so a wrong answer is charged there; the
 * checks here are about what the application service created. */
static void expect_read_back(const struct mx_resp *r, const char *id) {
    const char *got = json_string_value(json_object_get(r->json, "device_id"));

    if (r->status != 200 || !got || strcmp(got, id) != 0)
        mx_crosscut("GET-OK", r,
                    "GET /devices/{id} of device %s answered %ld with device_id %s", id,
                    r->status, got ? got : "(none)");
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid: "When a new device was
 * created, the homeserver MUST return a 201 HTTP status code." */
Test(asc, ASC_CREATE,
     .description = "The application service's PUT /devices/{new id} for "
                    "a namespace user gets 201 with a JSON object") {
    const struct mx_user *u;
    const struct mx_resp *r;

    mx_require_appservice();
    u = mx_as_user_new();
    r = as_put(u, mx_unique("ASDEV"), "mxdev asc create");
    mx_assert_status(r, 201);
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid: the path names the device
 * that is created; the server does not pick an ID of its own. */
Test(asc, ASC_EXACT_ID,
     .description = "The created device has exactly the requested ID") {
    const char *id = mx_unique("ASDEV");
    const struct mx_user *u = mx_as_user_with_device(id, "mxdev asc exact");

    mx_expect_that(mx_list_holds(u, id, NULL), NULL,
                   "GET /devices of %s does not list the requested device ID %s",
                   u->user_id, id);
    expect_read_back(as_get(u, id), id);
}

/* spec: v1.17 #get_matrixclientv3devices and #get_matrixclientv3devicesdeviceid:
 * a created device is one of the user's devices, with its display name. */
Test(asc, ASC_VISIBLE,
     .description = "A device created by the application service shows "
                    "in the user's GET /devices and GET /devices/{id} "
                    "with its display name") {
    const char *id = mx_unique("ASDEV");
    const char *name = mx_unique("mxdev asc visible ");
    const char *listed_name = NULL;
    const struct mx_user *u = mx_as_user_with_device(id, name);
    const struct mx_resp *r;
    bool found = mx_list_holds(u, id, &listed_name);

    mx_expect_that(found, NULL,
                   "device %s is not in GET /devices of %s after its creation", id,
                   u->user_id);
    if (found)
        mx_expect_that(listed_name != NULL && strcmp(listed_name, name) == 0, NULL,
                       "GET /devices lists %s with display_name \"%s\", expected \"%s\"",
                       id, listed_name != NULL ? listed_name : "(none)", name);
    r = as_get(u, id);
    expect_read_back(r, id);
    mx_expect_member(r, "display_name", name, NULL);
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid: "It MUST return a 200 HTTP
 * status code if a device was updated." */
Test(asc, ASC_UPDATE,
     .description = "The same PUT again with a new name gets 200 (not "
                    "201) and updates the name") {
    const char *id = mx_unique("ASDEV");
    const char *name = mx_unique("mxdev asc renamed ");
    const struct mx_user *u = mx_as_user_with_device(id, "mxdev asc first name");
    const struct mx_resp *r = as_put(u, id, name);

    mx_assert_status(r, 200);
    r = as_get(u, id);
    mx_assert_status(r, 200);
    mx_expect_member(r, "display_name", name, NULL);
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid: "regular clients may only
 * update existing devices"; an unknown ID is 404. */
Test(asc, ASC_USER_CANNOT,
     .description = "A user's own token PUT on an unknown device ID "
                    "gets 404 and creates nothing (every valid request shape)") {
    const struct mx_user *alice = mx_user_new();
    const struct mx_variants *vs = mx_request_variants(
        "PUT", mx_path(MX_V3 "/devices/%s", mx_unique("USERDEV")),
        mx_arena_keep_json(json_pack("{s:s}", "display_name", "mxdev asc user")), NULL);

    for (size_t i = 0; i < vs->n; i++) {
        const struct mx_variant *v = &vs->v[i];
        if (!v->valid)
            continue;
        const char *id = mx_unique("USERDEV");
        const struct mx_resp *r =
            MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", id),
                    .as = alice, .body = v->body);
        mx_expect_that(r->status == 404, r, "variant %s: expected 404", v->label);
        mx_expect_that(!mx_device_present(alice, id), NULL,
                       "variant %s: device %s exists after a user's PUT on an unknown ID",
                       v->label, id);
    }
}

/* spec: v1.17 application-service-api #identity-assertion: the application
 * service may only act for users in its namespaces; otherwise 403
 * (M_EXCLUSIVE / M_FORBIDDEN). */
Test(asc, ASC_OUTSIDE,
     .description = "The application service's PUT for a user outside "
                    "its namespace gets 403 and creates nothing") {
    const struct mx_user *alice;
    const char *id = mx_unique("ASDEV");
    const struct mx_resp *r;

    mx_require_appservice();
    alice = mx_user_new();
    r = as_put(alice, id, "mxdev asc outside");
    mx_assert_error(r, 403);
    mx_expect_errcode(r, "M_EXCLUSIVE", "M_FORBIDDEN");
    mx_expect_that(!mx_device_present(alice, id), NULL,
                   "device %s was created for %s, who is outside the application "
                   "service's namespace",
                   id, alice->user_id);
}

/* spec: v1.17 application-service-api #identity-assertion: with ?device_id=
 * the application service acts as that device of the user. */
Test(asc, ASC_MASQUERADE,
     .description = "After creation, requests asserting the user and "
                    "the new device_id act as that device") {
    const char *id = mx_unique("ASDEV");
    const struct mx_user *u = mx_as_user_with_device(id, "mxdev asc masquerade");
    const struct mx_resp *r =
        mx_as_send("GET", mx_path(MX_V3 "/account/whoami"), u, id, NULL);

    mx_assert_status(r, 200);
    mx_expect_member(r, "user_id", u->user_id, NULL);
    mx_expect_member(r, "device_id", id, NULL);
}

/* spec: v1.17 application-service-api #identity-assertion: a device_id the
 * user does not have gets 400 M_UNKNOWN_DEVICE. Checked with an ID nobody
 * has and with another namespace user's device. */
Test(asc, ASC_UNKNOWN_DEVICE,
     .description = "Requests asserting a device_id the user does "
                    "not own get 400 M_UNKNOWN_DEVICE") {
    const struct mx_user *u;
    const struct mx_user *other;
    const char *others_device = mx_unique("ASDEV");
    const struct mx_resp *r;

    mx_require_appservice();
    u = mx_as_user_new();
    other = mx_as_user_new();
    mx_as_put_device(other, others_device, "mxdev asc not yours");
    r = mx_as_send("GET", mx_path(MX_V3 "/account/whoami"), u, mx_unique("NOSUCHDEV"),
                   NULL);
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_UNKNOWN_DEVICE");
    r = mx_as_send("GET", mx_path(MX_V3 "/account/whoami"), u, others_device, NULL);
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_UNKNOWN_DEVICE");
}

/* spec: v1.16 #put_matrixclientv3devicesdeviceid: before v1.17 the endpoint
 * only updates; this records what an application service's PUT on an
 * unknown ID does (404 and nothing created is expected). */
Test(asc, ASC_BEFORE,
     .description = "Target 1.16: record what the application service's "
                    "PUT on an unknown device ID does") {
    const struct mx_user *u;
    const char *id = mx_unique("ASDEV");
    const struct mx_resp *r;
    long status;
    const char *errcode;

    mx_require_appservice();
    u = mx_as_user_new();
    r = as_put(u, id, "mxdev asc before");
    status = r->status;
    errcode = mx_errcode(r);
    r = as_get(u, id);
    mx_observe("application service PUT /devices/{unknown} answered %ld%s%s; afterwards "
               "GET /devices/{id} answered %ld (device %s)",
               status, errcode != NULL ? " " : "", errcode != NULL ? errcode : "",
               r->status, r->status == 200 ? "was created" : "was not created");
}
