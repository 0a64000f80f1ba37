/* TOK: a deleted device's access token stops working.
 *
 * spec: v1.17 client-server, deleteDevice (DELETE /_matrix/client/v3/devices/{deviceId},
 *       #delete_matrixclientv3devicesdeviceid) and deleteDevices
 *       (POST /_matrix/client/v3/delete_devices, #post_matrixclientv3delete_devices):
 *       "Deletes the given device(s), and invalidates any access token
 *       associated with them"; logout (POST /_matrix/client/v3/logout,
 *       #post_matrixclientv3logout) invalidates the token and "the device
 *       associated with the access token" is deleted; an unknown token gets
 *       401 M_UNKNOWN_TOKEN (#using-access-tokens, soft_logout only for
 *       soft logouts).
 *
 * Tokens are checked at once after the 200. Deployments with token caches can
 * be given a settle budget (--settle-ms): the check then polls, bounded by
 * that budget, until the token is refused.
 *
 * JSON bodies built here go to the test arena (mx_arena_keep_json): a fatal
 * assertion ends the test early, and the arena still frees them.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_crosscut.h"
#include "mx_env.h"
#include "mx_scenario.h"
#include "mx_session.h"

TestSuite(tok, .init = mx_test_init, .fini = mx_test_fini);

#define POLL_INTERVAL_MS 50
#define POLL_MAX_ATTEMPTS 200

static long ms_since(const struct timespec *start) {
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - start->tv_sec) * 1000 +
           (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Whether the server refused the token: the rules here are about whether a
 * token still works. How a server answers a token it does not know (401
 * M_UNKNOWN_TOKEN) is AUTH-UNKNOWN's rule, charged there. */
static bool refused(const struct mx_resp *r) {
    const char *code = mx_errcode(r);

    if (r->status != 401 && r->status != 403)
        return false;
    if (r->status != 401 || !code || strcmp(code, "M_UNKNOWN_TOKEN") != 0)
        mx_crosscut("AUTH-UNKNOWN", r,
                    "a token the server invalidated was refused with %ld %s; a token the "
                    "server does not know gets 401 M_UNKNOWN_TOKEN",
                    r->status, code ? code : "(no errcode)");
    return true;
}

/* GET path with who's token until the server answers 401, or the settle
 * budget is spent (one attempt when it is 0). Returns the last answer. */
static const struct mx_resp *get_until_refused(const struct mx_user *who,
                                               const char *path) {
    long budget = mx_env()->settle_ms;
    const struct mx_resp *r = NULL;
    struct timespec start;
    int i;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < POLL_MAX_ATTEMPTS; i++) {
        r = MX_SEND(.method = "GET", .path = path, .as = who);
        if (refused(r) || budget <= 0 || ms_since(&start) >= budget)
            break;
        /* The poll interval between attempts; the loop ends on the condition. */
        nanosleep(&(struct timespec){.tv_nsec = POLL_INTERVAL_MS * 1000000L}, NULL);
    }
    return r;
}

/* who's token is refused as unknown on GET /account/whoami and GET /devices. */
static void expect_token_dead(const struct mx_user *who) {
    const struct mx_resp *r = get_until_refused(who, mx_path(MX_V3 "/account/whoami"));

    mx_assert_that(refused(r), r,
                   "the access token of device %s still works after the device was "
                   "deleted (expected 401 M_UNKNOWN_TOKEN%s)",
                   who->device_id,
                   mx_env()->settle_ms > 0 ? " within --settle-ms" : " at once");
    r = MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices"), .as = who);
    mx_expect_that(refused(r), r,
                   "GET /devices still accepts the token of deleted device %s",
                   who->device_id);
}

/* Why a token checked with mx_expect_token_alive should work. */
#define NOT_DELETED "its device was not deleted"

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: deletion "invalidates
 * any access token associated with" the device; such a token is unknown (401
 * M_UNKNOWN_TOKEN). POST /delete_devices is TOK-BULK's. */
Test(tok, TOK_DELETED__delete_device,
     .description =
         "After DELETE /devices/{id} by another device of the user, the deleted "
         "device's token gets 401 M_UNKNOWN_TOKEN") {
    const struct mx_user *alice;
    const struct mx_user *d;

    d = mx_user_and_device(&alice);
    mx_delete_device_uia(alice, d->device_id);
    expect_token_dead(d);
}

/* spec: v1.17 #using-access-tokens: soft_logout true means the client may
 * log in again to the same device; a deleted device is a hard logout. */
Test(tok, TOK_NO_SOFT,
     .description = "The 401 for a deleted device's token has "
                    "soft_logout absent or false") {
    const struct mx_user *alice;
    const struct mx_user *d;
    const struct mx_resp *r;
    json_t *soft;

    d = mx_user_and_device(&alice);
    mx_delete_device_uia(alice, d->device_id);
    r = get_until_refused(d, mx_path(MX_V3 "/account/whoami"));
    if (!refused(r))
        mx_block(r, "TOK-DELETED",
                 "the token of deleted device %s is still accepted, so "
                 "there is no 401 to judge",
                 d->device_id);
    soft = json_object_get(r->json, "soft_logout");
    mx_expect_that(soft == NULL || json_is_false(soft), r,
                   "a deleted device is a hard logout: soft_logout must be absent or "
                   "false");
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: only the deleted
 * device's token is invalidated. */
Test(tok, TOK_OTHERS_KEEP,
     .description = "Deleting one device leaves the tokens of the "
                    "user's other devices working") {
    const struct mx_user *alice;
    const struct mx_user *d1;
    const struct mx_user *d2;

    d1 = mx_user_and_device(&alice);
    d2 = mx_login(alice, NULL, NULL);
    mx_delete_device_uia(alice, d1->device_id);
    mx_expect_token_alive(alice, NOT_DELETED);
    mx_expect_token_alive(d2, NOT_DELETED);
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: a device may delete
 * itself; its own token is then invalid like any other. */
Test(tok, TOK_SELF,
     .description = "A device that deletes itself gets 200 and then its own "
                    "token gets 401 M_UNKNOWN_TOKEN") {
    const struct mx_user *alice;
    const struct mx_user *d;
    const struct mx_resp *r;

    d = mx_user_and_device(&alice);
    r = mx_send_uia(d, "DELETE", mx_path(MX_V3 "/devices/%s", d->device_id), NULL, NULL);
    mx_assert_status(r, 200);
    /* Its token can only die with it: a device still there after a 200
     * deletion is UIA-SUCCESS's rule. */
    if (mx_device_present(alice, d->device_id))
        mx_block(r, "UIA-SUCCESS", "device %s is still there after deleting itself",
                 d->device_id);
    expect_token_dead(d);
}

/* spec: v1.17 #post_matrixclientv3delete_devices: the access tokens of every
 * listed device are invalidated. */
Test(tok, TOK_BULK,
     .description = "Every device deleted through POST /delete_devices "
                    "loses its token") {
    const struct mx_user *alice, *d1, *d2;

    mx_delete_devices_uia(alice, mx_user_and_two_devices(&alice, &d1, &d2));
    expect_token_dead(d1);
    expect_token_dead(d2);
    mx_expect_token_alive(alice, NOT_DELETED);
}

/* spec: v1.17 #delete_matrixclientv3devicesdeviceid: deletion by an
 * application service also invalidates the device's token. */
Test(tok, TOK_AS_DELETE,
     .description = "A namespace user's device with a token, deleted by "
                    "the application service, loses its token") {
    const struct mx_user *u;
    const struct mx_user *d;
    const char *why = NULL;
    const struct mx_resp *r;

    mx_require_appservice();
    u = mx_as_user_new();
    d = mx_as_login(u, mx_unique("ASTOK"), &why);
    if (d == NULL)
        mx_skip(why != NULL ? why : "the server gives namespace users no token");
    /* Precondition: the token works before the deletion. */
    mx_expect_token_alive(d, NOT_DELETED);
    r = mx_as_delete_device(u, d->device_id);
    if (r->status != 200)
        mx_block(r, "ASD-DELETE", "the application service cannot delete device %s",
                 d->device_id);
    expect_token_dead(d);
}

/* spec: v1.17 #post_matrixclientv3logout: the token is invalidated and its
 * device is deleted. */
Test(tok, TOK_LOGOUT,
     .description = "POST /logout makes the token unknown and removes its "
                    "device from the user's list") {
    const struct mx_user *alice;
    const struct mx_user *d;
    const struct mx_resp *r;

    d = mx_user_and_device(&alice);
    r = MX_SEND(.method = "POST", .path = mx_path(MX_V3 "/logout"), .as = d);
    mx_assert_status(r, 200);
    expect_token_dead(d);
    mx_expect_that(!mx_device_present(alice, d->device_id), NULL,
                   "device %s is still there after its token logged out", d->device_id);
    mx_expect_that(!mx_devices_contains(mx_list_devices(alice), d->device_id, NULL), NULL,
                   "device %s is still in GET /devices after its token logged out",
                   d->device_id);
}
