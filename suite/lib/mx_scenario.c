/* What the scenario files share (mx_scenario.h). */
#include "mx_scenario.h"

#include <string.h>

#include "mx_assert.h"
#include "mx_match.h"

const struct mx_user *mx_user_and_device(const struct mx_user **owner) {
    mx_require_legacy_login();
    *owner = mx_user_new();
    return mx_login(*owner, NULL, NULL);
}

json_t *mx_user_and_two_devices(const struct mx_user **owner, const struct mx_user **d1,
                                const struct mx_user **d2) {
    *d1 = mx_user_and_device(owner);
    *d2 = mx_login(*owner, NULL, NULL);
    return mx_arena_keep_json(json_pack("[ss]", (*d1)->device_id, (*d2)->device_id));
}

const struct mx_user *mx_as_user_with_device(const char *device_id, const char *name) {
    const struct mx_user *u = mx_as_user_new();

    mx_as_put_device(u, device_id, name);
    return u;
}

const struct mx_resp *mx_as_send(const char *method, const char *path,
                                 const struct mx_user *u, const char *device_id,
                                 json_t *body) {
    return MX_SEND(.method = method, .path = path, .appservice = true,
                   .assert_user = u->user_id, .assert_device = device_id, .body = body);
}

const struct mx_resp *mx_as_delete_device(const struct mx_user *u,
                                          const char *device_id) {
    return mx_as_send("DELETE", mx_path(MX_V3 "/devices/%s", device_id), u, NULL,
                      mx_arena_keep_json(json_object()));
}

void mx_expect_device_gone(const struct mx_user *u, const char *device_id,
                           const char *after) {
    mx_expect_that(!mx_device_present(u, device_id), NULL,
                   "device %s of %s is still there after %s answered 200", device_id,
                   u->user_id, after);
    mx_expect_that(!mx_devices_contains(mx_list_devices(u), device_id, NULL), NULL,
                   "device %s of %s is still in GET /devices after %s answered 200",
                   device_id, u->user_id, after);
}

void mx_expect_device_kept(const struct mx_user *owner, const char *device_id,
                           const char *because) {
    mx_expect_that(mx_device_present(owner, device_id), NULL,
                   "device %s of %s is gone; %s", device_id, owner->user_id, because);
}

const struct mx_resp *mx_expect_token_works(const struct mx_user *dev,
                                            const char *because) {
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/account/whoami"), .as = dev);

    mx_expect_that(r->status == 200, r,
                   "the token of device %s of %s stopped working (expected whoami to "
                   "answer 200); %s",
                   dev->device_id, dev->user_id, because);
    return r->status == 200 ? r : NULL;
}

void mx_expect_token_alive(const struct mx_user *dev, const char *because) {
    const struct mx_resp *r = mx_expect_token_works(dev, because);

    if (r != NULL)
        mx_expect_member(r, "device_id", dev->device_id,
                         "whoami with the token should still name its device");
}

void mx_expect_member(const struct mx_resp *r, const char *key, const char *expected,
                      const char *context) {
    struct mx_error err = {{0}};
    int rc = -1;

    if (r->json != NULL)
        rc = mx_match_string_member(r->json, key, expected, &err);
    else
        mx_error_set(&err, "no JSON body; expected \"%s\": \"%s\"", key, expected);
    if (context != NULL)
        mx_expect_that(rc == 0, r, "%s: %s", context, err.text);
    else
        mx_expect_that(rc == 0, r, "%s", err.text);
}
