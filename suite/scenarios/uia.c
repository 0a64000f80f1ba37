/* UIA: deleting devices as a user needs User-Interactive Authentication.
 *
 * spec: v1.17 client-server, deleteDevice (DELETE /_matrix/client/v3/devices/{deviceId},
 *       #delete_matrixclientv3devicesdeviceid) and deleteDevices
 *       (POST /_matrix/client/v3/delete_devices, #post_matrixclientv3delete_devices),
 *       both "use the User-Interactive Authentication API"
 *       (#user-interactive-authentication-api).
 *
 * Every check runs through both endpoints (variants __delete_device and
 * __delete_devices) and with a fresh user, so that a grace period after an
 * earlier successful UIA cannot let a request through unauthenticated. The
 * user's first device does the deleting; a second login is the device to
 * delete ("victim").
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
#include "mx_variants.h"

TestSuite(uia, .init = mx_test_init, .fini = mx_test_fini);

enum del_endpoint {
    EP_DELETE_DEVICE,  /* DELETE /devices/{deviceId} */
    EP_DELETE_DEVICES, /* POST /delete_devices */
};

/* One deletion request of device_id by u through ep. auth is borrowed and
 * may be NULL: the body then has no "auth" key. */
static const struct mx_resp *send_delete(enum del_endpoint ep, const struct mx_user *u,
                                         const char *device_id, json_t *auth) {
    json_auto_t *body = NULL;

    if (ep == EP_DELETE_DEVICE)
        body = json_object();
    else
        body = json_pack("{s:[s]}", "devices", device_id);
    if (auth != NULL)
        json_object_set(body, "auth", auth);
    if (ep == EP_DELETE_DEVICE)
        return MX_SEND(.method = "DELETE",
                       .path = mx_path(MX_V3 "/devices/%s", device_id), .as = u,
                       .body = body);
    return MX_SEND(.method = "POST", .path = mx_path(MX_V3 "/delete_devices"), .as = u,
                   .body = body);
}

/* The session of a UIA answer (borrowed from the response), or NULL. */
static const char *session_of(const struct mx_resp *r) {
    return json_string_value(json_object_get(r->json, "session"));
}

/* The first, unauthenticated request, which every other UIA check builds
 * on: without its 401 they cannot ask their own question (UIA-CHALLENGE
 * judges that answer, and its form). */
static const struct mx_resp *open_challenge(enum del_endpoint ep, const struct mx_user *u,
                                            const char *device_id) {
    const struct mx_resp *r = send_delete(ep, u, device_id, NULL);

    if (r->status != 401)
        mx_block(r, "UIA-CHALLENGE", "a deletion without auth did not get the UIA 401");
    if (!mx_device_present(u, device_id))
        mx_block(r, "UIA-NOTHING-DONE",
                 "device %s is gone after the UIA 401 of its deletion", device_id);
    return r;
}

/* A fresh user (*owner) with a second device (*victim), and the opening
 * UIA 401 of that device's deletion through ep (open_challenge). */
static const struct mx_resp *challenge_for_new_device(enum del_endpoint ep,
                                                      const struct mx_user **owner,
                                                      const struct mx_user **victim) {
    *victim = mx_user_and_device(owner);
    return open_challenge(ep, *owner, (*victim)->device_id);
}

/* The deletion of device_id by u again, with the m.login.password stage of
 * who and password in session. */
static const struct mx_resp *
delete_with_password(enum del_endpoint ep, const struct mx_user *u, const char *device_id,
                     const struct mx_user *who, const char *password,
                     const char *session) {
    json_t *auth = mx_arena_keep_json(mx_auth_password(who, password, session));

    return send_delete(ep, u, device_id, auth);
}

/* The refused deletion left the victim alone: still there for its owner,
 * and its token still works. */
static void expect_intact(const struct mx_user *owner, const struct mx_user *victim) {
    const char *because = "its deletion was refused, and a request without completed "
                          "UIA must not delete anything";

    mx_expect_device_kept(owner, victim->device_id, because);
    mx_expect_token_alive(victim, because);
}

/* Whether any offered flow lists stage. */
static bool stage_offered(const struct mx_resp *r, const char *stage) {
    json_t *flows = json_object_get(r->json, "flows");
    json_t *flow;
    json_t *s;
    size_t i;
    size_t j;

    json_array_foreach(flows, i, flow) {
        json_array_foreach(json_object_get(flow, "stages"), j, s) {
            if (json_is_string(s) && strcmp(json_string_value(s), stage) == 0)
                return true;
        }
    }
    return false;
}

/* Declares one check and its two variants, one per deletion endpoint. */
#define UIA_TEST(name, desc)                                                             \
    static void name##_on(enum del_endpoint ep);                                         \
    Test(uia, name##__delete_device, .description = desc) {                              \
        name##_on(EP_DELETE_DEVICE);                                                     \
    }                                                                                    \
    Test(uia, name##__delete_devices, .description = desc) {                             \
        name##_on(EP_DELETE_DEVICES);                                                    \
    }                                                                                    \
    static void name##_on(enum del_endpoint ep)

/* spec: v1.17 #user-interactive-authentication-api: a request to a protected
 * endpoint without "auth" gets 401 with the flows (each a list of stage
 * types), optional params and an optional session string. */
UIA_TEST(UIA_CHALLENGE, "A deletion without auth gets 401 with a well-formed UIA "
                        "challenge (flows of stages, params object, session string), "
                        "for every valid request shape") {
    const struct mx_user *alice;
    const struct mx_user *victim;
    const struct mx_variants *vs;
    const char *path;
    const char *method = ep == EP_DELETE_DEVICE ? "DELETE" : "POST";
    static const char *const no_auth[] = {"auth", NULL};

    victim = mx_user_and_device(&alice);
    path = ep == EP_DELETE_DEVICE ? mx_path(MX_V3 "/devices/%s", victim->device_id)
                                  : mx_path(MX_V3 "/delete_devices");
    vs = mx_request_variants(
        method, path,
        mx_arena_keep_json(json_pack("{s:[s]}", "devices", victim->device_id)), no_auth);
    for (size_t i = 0; i < vs->n; i++) {
        const struct mx_variant *v = &vs->v[i];
        if (!v->valid)
            continue;
        const struct mx_resp *r =
            MX_SEND(.method = method, .path = path, .as = alice, .body = v->body);
        mx_expect_that(r->status == 401, r, "variant %s: expected the UIA 401", v->label);
        struct mx_error err = {{0}};
        if (r->status == 401)
            mx_expect_that(mx_match_uia_challenge(r, &err) == 0, r, "variant %s: %s",
                           v->label, err.text);
    }
}

/* spec: v1.17 #user-interactive-authentication-api: the 401 asks for more
 * authentication; the operation itself has not been performed. */
UIA_TEST(UIA_NOTHING_DONE, "After the UIA 401 the device still exists and its token "
                           "still works") {
    const struct mx_user *alice, *victim;

    challenge_for_new_device(ep, &alice, &victim);
    expect_intact(alice, victim);
}

/* spec: v1.17 #password-based: a user with a password can authenticate with
 * the m.login.password stage alone. */
UIA_TEST(UIA_PASSWORD_FLOW, "For a password user one offered flow is exactly "
                            "[\"m.login.password\"]") {
    const struct mx_user *alice, *victim;
    const struct mx_resp *r = challenge_for_new_device(ep, &alice, &victim);
    struct mx_error err = {{0}};
    int rc;

    if (!json_is_array(json_object_get(r->json, "flows")))
        mx_block(r, "UIA-CHALLENGE", "the UIA 401 lists no flows to judge");
    rc = mx_match_uia_flow(r, (const char *const[]){"m.login.password", NULL}, &err);
    mx_expect_that(rc == 0, r, "%s", err.text);
}

/* spec: v1.17 #user-interactive-authentication-api: a failed stage is
 * answered with 401, the flows again and an errcode (M_FORBIDDEN for bad
 * credentials). */
UIA_TEST(UIA_WRONG_PASSWORD, "m.login.password with a wrong password gets 401 "
                             "M_FORBIDDEN with the flows, and nothing is deleted") {
    const struct mx_user *alice, *victim;
    const struct mx_resp *r = challenge_for_new_device(ep, &alice, &victim);

    r = delete_with_password(ep, alice, victim->device_id, alice,
                             "mxdev-not-the-password", session_of(r));
    mx_assert_status(r, 401);
    mx_expect_errcode(r, "M_FORBIDDEN");
    expect_intact(alice, victim);
}

/* spec: v1.17 #user-interactive-authentication-api: UIA authenticates the
 * user making the request; another account's credentials prove nothing. */
UIA_TEST(UIA_OTHER_USER, "m.login.password with another user's valid credentials is "
                         "refused and nothing is deleted") {
    const struct mx_user *alice;
    const struct mx_user *victim;
    const struct mx_user *bob;
    const struct mx_resp *r;

    victim = mx_user_and_device(&alice);
    bob = mx_user_new();
    r = open_challenge(ep, alice, victim->device_id);
    r = delete_with_password(ep, alice, victim->device_id, bob, bob->password,
                             session_of(r));
    mx_assert_that(r->status >= 400 && r->status < 500, r,
                   "expected a 4xx refusal: the password stage authenticated %s, not the "
                   "requester %s",
                   bob->user_id, alice->user_id);
    expect_intact(alice, victim);
}

/* spec: v1.17 #user-interactive-authentication-api: the client completes
 * stages of one of the offered flows; a stage in no flow completes none. */
UIA_TEST(UIA_NOT_OFFERED, "An auth type that is in no offered flow gets 401 and nothing "
                          "is deleted") {
    const struct mx_user *alice, *victim;
    const struct mx_resp *r = challenge_for_new_device(ep, &alice, &victim);
    const char *type = "m.login.dummy";
    json_t *auth = NULL;

    if (stage_offered(r, type))
        type = "m.login.mxdev_unknown_stage";
    auth = mx_arena_keep_json(json_pack("{s:s}", "type", type));
    if (session_of(r) != NULL)
        json_object_set_new(auth, "session", json_string(session_of(r)));
    r = send_delete(ep, alice, victim->device_id, auth);
    mx_assert_status(r, 401);
    expect_intact(alice, victim);
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: once the flow is
 * complete the device is deleted and the answer is 200 with a JSON object. */
UIA_TEST(UIA_SUCCESS, "The correct password with the session gets 200 with a JSON "
                      "object and the device is gone") {
    const struct mx_user *alice, *victim;
    const struct mx_resp *r = challenge_for_new_device(ep, &alice, &victim);

    r = delete_with_password(ep, alice, victim->device_id, alice, alice->password,
                             session_of(r));
    mx_assert_status(r, 200);
    mx_expect_that(!mx_device_present(alice, victim->device_id), r,
                   "device %s is still there after a 200 deletion", victim->device_id);
    mx_expect_that(!mx_devices_contains(mx_list_devices(alice), victim->device_id, NULL),
                   NULL, "device %s is still listed in GET /devices after a 200 deletion",
                   victim->device_id);
}

/* spec: v1.17 #user-interactive-authentication-api: the session identifier
 * stays the same for every request of one authentication flow. */
UIA_TEST(UIA_SESSION_ECHO, "The session stays the same across a failed and the "
                           "successful attempt") {
    const struct mx_user *alice, *victim;
    const struct mx_resp *r = challenge_for_new_device(ep, &alice, &victim);
    const char *session = session_of(r);

    if (session == NULL) {
        /* Sessions are optional; without one there is nothing to keep. */
        mx_observe("the challenge carries no session; nothing to compare");
        return;
    }
    r = delete_with_password(ep, alice, victim->device_id, alice,
                             "mxdev-not-the-password", session);
    if (r->status != 401)
        mx_block(r, "UIA-WRONG-PASSWORD", "a wrong password was not answered with 401");
    mx_expect_that(session_of(r) != NULL && strcmp(session_of(r), session) == 0, r,
                   "after a failed stage the 401 should carry the same session \"%s\"",
                   session);
    r = delete_with_password(ep, alice, victim->device_id, alice, alice->password,
                             session);
    mx_expect_that(r->status == 200, r,
                   "the original session should still complete the deletion after a "
                   "failed attempt (expected 200)");
}

/* spec: v1.17 #user-interactive-authentication-api: a session belongs to the
 * request that opened it; it cannot authorise a different operation. The
 * __delete_device variant opens it on DELETE /devices/A, the
 * __delete_devices variant on POST /delete_devices for A; both then try it on
 * DELETE /devices/B. */
UIA_TEST(UIA_SESSION_BOUND, "A UIA session opened to delete device A cannot complete the "
                            "deletion of device B") {
    const struct mx_user *alice;
    const struct mx_user *dev_a;
    const struct mx_user *dev_b;
    const struct mx_resp *r;
    const char *session;

    dev_a = mx_user_and_device(&alice);
    dev_b = mx_login(alice, NULL, NULL);
    r = open_challenge(ep, alice, dev_a->device_id);
    session = session_of(r);
    if (session == NULL) {
        mx_observe("the challenge carries no session; nothing can be bound to it");
        return;
    }
    r = delete_with_password(EP_DELETE_DEVICE, alice, dev_b->device_id, alice,
                             alice->password, session);
    mx_expect_that(
        r->status != 200, r,
        "a session opened for %s of %s completed DELETE /devices/%s; it should "
        "be refused",
        ep == EP_DELETE_DEVICE ? "DELETE /devices/{id}" : "POST /delete_devices",
        dev_a->device_id, dev_b->device_id);
    expect_intact(alice, dev_b);
}
