/* PUT: a user updating a device.
 *
 * spec: v1.17, client-server API, operation updateDevice
 * (PUT /_matrix/client/v3/devices/{deviceId},
 * #put_matrixclientv3devicesdeviceid): body {"display_name": string},
 * "If not given, the display name is unchanged"; 200 with an empty JSON
 * object on update; 404 "the current user has no device with the given ID";
 * creating devices is for application services only. Bodies that are not
 * JSON or have wrong types: "API Standards" (#api-standards,
 * #common-error-codes: M_NOT_JSON, M_BAD_JSON, M_INVALID_PARAM).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_crosscut.h"
#include "mx_scenario.h"
#include "mx_session.h"
#include "mx_variants.h"

TestSuite(put, .init = mx_test_init, .fini = mx_test_fini);

static const struct mx_resp *put_name(const struct mx_user *as, const char *device_id,
                                      const char *name) {
    json_t *body = mx_arena_keep_json(json_pack("{s:s}", "display_name", name));
    return MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", device_id),
                   .as = as, .body = body);
}

static const struct mx_resp *get_device(const struct mx_user *as, const char *device_id) {
    return MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", device_id),
                   .as = as);
}

/* GET the device and expect its display_name to be exactly want. */
static void expect_name(const struct mx_user *as, const char *device_id, const char *want,
                        const char *context) {
    const struct mx_resp *r = get_device(as, device_id);
    mx_assert_status(r, 200);
    mx_expect_member(r, "display_name", want, context);
}

/* The device's display name as GET shows it now (arena copy; NULL when it
 * has none). The checks of "unchanged" compare with this, not with the name
 * they asked for at login (which is LIST-NAME's rule). Reading one's own
 * device is GET-OK's rule: without it the check is blocked. */
static const char *name_now(const struct mx_user *as, const char *device_id) {
    const struct mx_resp *r = get_device(as, device_id);

    if (r->status != 200 || !json_is_object(r->json))
        mx_block(r, "GET-OK", "cannot read device %s of %s", device_id, as->user_id);
    return mx_arena_strdup(json_string_value(json_object_get(r->json, "display_name")));
}

/* The device's display name is still before (NULL: still none). */
static void expect_name_kept(const struct mx_user *as, const char *device_id,
                             const char *before, const char *context) {
    const char *now = name_now(as, device_id);

    mx_expect_that((!now && !before) || (now && before && strcmp(now, before) == 0), NULL,
                   "%s: display_name was %s%s%s and is now %s%s%s", context,
                   before ? "\"" : "", before ? before : "none", before ? "\"" : "",
                   now ? "\"" : "", now ? now : "none", now ? "\"" : "");
}

/* A fresh user's new device named name, and the request shapes of its
 * PUT /devices/{id}: what the checks over every shape start from. */
struct own_device {
    const struct mx_user *u;
    const struct mx_user *d;
    const char *path;             /* /devices/{d's id} */
    const struct mx_variants *vs; /* of PUT path */
};

static struct own_device own_device(const char *name) {
    struct own_device o;

    o.u = mx_user_new();
    o.d = mx_login(o.u, NULL, name);
    o.path = mx_path(MX_V3 "/devices/%s", o.d->device_id);
    o.vs = mx_request_variants(
        "PUT", o.path, mx_arena_keep_json(json_pack("{s:s}", "display_name", "x")), NULL);
    return o;
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- 200 "The device was
 * successfully updated", with a JSON object; the new name is what GET shows. */
Test(put, PUT_UPDATE,
     .description = "PUT {\"display_name\": x} on an own device answers 200 with a JSON "
                    "object, and a following GET shows x (every valid request shape "
                    "with display_name).") {
    struct own_device o = own_device("mxdev before update");
    size_t judged = 0;

    for (size_t i = 0; i < o.vs->n; i++) {
        const struct mx_variant *v = &o.vs->v[i];
        if (!v->valid || !mx_variant_has(v, "display_name"))
            continue;
        const char *name = mx_arena_printf("mxdev after update %zu", i);
        json_t *body = mx_arena_keep_json(json_deep_copy(v->body));
        json_object_set_new(body, "display_name", json_string(name));
        const struct mx_resp *r =
            MX_SEND(.method = "PUT", .path = o.path, .as = o.u, .body = body);
        mx_expect_that(r->status == 200, r, "variant %s: expected 200", v->label);
        if (r->status == 200)
            expect_name(
                o.u, o.d->device_id, name,
                mx_arena_printf("variant %s: after a 200 PUT the name", v->label));
        judged++;
    }
    mx_assert_that(judged > 0, NULL,
                   "the request schema offers no body with display_name");
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- display_name: "If not
 * given, the display name is unchanged." */
Test(put, PUT_EMPTY,
     .description = "PUT {} on an own device answers 200 and leaves the display name "
                    "unchanged.") {
    struct own_device o = own_device("mxdev kept name");
    const char *before = name_now(o.u, o.d->device_id);
    size_t judged = 0;

    /* Every valid shape without display_name: {} and its unknown-field twin. */
    for (size_t i = 0; i < o.vs->n; i++) {
        const struct mx_variant *v = &o.vs->v[i];
        if (!v->valid || mx_variant_has(v, "display_name"))
            continue;
        const struct mx_resp *r =
            MX_SEND(.method = "PUT", .path = o.path, .as = o.u, .body = v->body);
        mx_expect_that(r->status == 200, r, "variant %s: expected 200", v->label);
        expect_name_kept(o.u, o.d->device_id, before,
                         mx_arena_printf("variant %s: the name must be kept", v->label));
        judged++;
    }
    mx_assert_that(judged > 0, NULL,
                   "the request schema offers no body without "
                   "display_name");
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- display_name is a JSON
 * string: any Unicode text, returned as stored. */
Test(put, PUT_UNICODE,
     .description = "A non-ASCII display name (accents, CJK, emoji) round-trips byte for "
                    "byte.") {
    /* Latin with accents, CJK, an astral-plane emoji and a ZWJ sequence. */
    const char *name =
        "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 \xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xae"
        "\xe7\xab\xaf\xe6\x9c\xab \xf0\x9f\x93\xb1 "
        "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb";
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r = put_name(u, u->device_id, name);
    mx_assert_status(r, 200);
    expect_name(u, u->device_id, name, "GET /devices/{id} after a Unicode name");
    const char *listed = NULL;
    mx_expect_that(mx_list_holds(u, u->device_id, &listed), NULL,
                   "device %s is missing from its own GET /devices", u->device_id);
    mx_expect_that(listed && strcmp(listed, name) == 0, NULL,
                   "GET /devices shows display_name \"%s\" instead of \"%s\"",
                   listed ? listed : "(none)", name);
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- 404 "The current user has
 * no device with the given ID"; only application services create devices. */
Test(put, PUT_UNKNOWN,
     .description = "PUT on an ID the user has no device under answers 404 with a "
                    "standard error body and creates no device (every valid request "
                    "shape).") {
    const struct mx_user *u = mx_user_new();
    json_t *before = mx_list_devices(u);
    const struct mx_variants *vs = mx_request_variants(
        "PUT", mx_path(MX_V3 "/devices/%s", mx_unique("NOSUCHDEV")),
        mx_arena_keep_json(json_pack("{s:s}", "display_name", "mxdev should not exist")),
        NULL);

    for (size_t i = 0; i < vs->n; i++) {
        const struct mx_variant *v = &vs->v[i];
        if (!v->valid)
            continue;
        const char *id = mx_unique("NOSUCHDEV");
        const struct mx_resp *r =
            MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", id), .as = u,
                    .body = v->body);
        mx_expect_that(r->status == 404, r, "variant %s: expected 404", v->label);
        mx_expect_that(!mx_device_present(u, id), NULL,
                       "variant %s: after the PUT, device %s exists", v->label, id);
    }
    /* Nor under an ID of the server's choosing: a device listed now and not
     * before that GET shows as the user's (a listing that shows other users'
     * devices is LIST-ISOLATED's). */
    size_t i;
    json_t *d;
    json_array_foreach(mx_list_devices(u), i, d) {
        const char *id = json_string_value(json_object_get(d, "device_id"));
        if (id && !mx_devices_contains(before, id, NULL))
            mx_expect_that(!mx_device_present(u, id), NULL,
                           "after the refused PUTs, the user has a new device %s", id);
    }
}

/* spec: v1.17 #common-error-codes -- M_NOT_FOUND for a resource that is not
 * there (one server answers M_FORBIDDEN instead). */
Test(put, PUT_UNKNOWN_ERRCODE,
     .description = "The 404 of PUT /devices/{unknown id} carries errcode M_NOT_FOUND.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r =
        put_name(u, mx_unique("NOSUCHDEV"), "mxdev should not exist");
    if (r->status != 404)
        mx_block(r, "PUT-UNKNOWN", "no 404 whose errcode could be judged");
    mx_expect_errcode(r, "M_NOT_FOUND");
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- another user's device is
 * not one of "the current user"'s: 404, and it is not touched. */
Test(put, PUT_OTHER_USER,
     .description =
         "PUT on another user's device ID answers 404 and leaves that device's "
         "name unchanged.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *v = mx_user_new();
    const struct mx_user *vd =
        mx_login(v, mx_unique("OTHERUSERDEV"), "mxdev owner's name");
    /* The device exists and its owner is active: the owner sees its name. */
    const char *before = name_now(v, vd->device_id);

    const struct mx_resp *r = put_name(u, vd->device_id, "mxdev hijacked");
    expect_name_kept(v, vd->device_id, before,
                     "the owner's device after another user's PUT");
    /* From u's side the ID is one it has no device under: how such a PUT is
     * answered is PUT-UNKNOWN's rule; this one is about the owner's device. */
    if (r->status != 404)
        mx_crosscut("PUT-UNKNOWN", r,
                    "PUT on another user's device ID answered %ld; an ID the user has no "
                    "device under gets 404",
                    r->status);
}

/* spec: v1.17 #api-standards, #common-error-codes -- a body that is not
 * valid JSON: M_NOT_JSON. */
Test(put, PUT_NOT_JSON,
     .description = "PUT /devices/{id} with a body that is not JSON answers 400 "
                    "M_NOT_JSON.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r =
        MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", u->device_id),
                .as = u, .raw_body = "{not json");
    mx_assert_error(r, 400);
    mx_expect_errcode(r, "M_NOT_JSON");
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- no length limit is given
 * for display_name: record what the server does with 200 characters. */
Test(put, PUT_LONG_NAME,
     .description = "A 200-character display name: record whether it is stored or "
                    "refused.") {
    enum { LEN = 200 };
    char name[LEN + 1];
    static const char alphabet[] = "mxdev-long-name-0123456789-";
    for (size_t i = 0; i < LEN; i++) {
        name[i] = alphabet[i % (sizeof alphabet - 1)];
    }
    name[LEN] = '\0';
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, "mxdev short name");
    const struct mx_resp *r = put_name(u, d->device_id, name);
    const struct mx_resp *g = get_device(u, d->device_id);
    const char *stored =
        g->json ? json_string_value(json_object_get(g->json, "display_name")) : NULL;
    const char *outcome;
    if (g->status != 200) {
        outcome = "the device could not be read back";
    } else if (stored && strcmp(stored, name) == 0) {
        outcome = "stored in full";
    } else if (stored && strcmp(stored, "mxdev short name") == 0) {
        outcome = "not stored (the old name is kept)";
    } else {
        outcome = "stored altered";
    }
    mx_observe("PUT with a %d-character display_name answered %ld%s%s; GET then answered "
               "%ld: name %s (%zu characters)",
               LEN, r->status, mx_errcode(r) ? " " : "",
               mx_errcode(r) ? mx_errcode(r) : "", g->status, outcome,
               stored ? strlen(stored) : (size_t)0);
}

/* spec: v1.17 #put_matrixclientv3devicesdeviceid -- display_name is a
 * string; #common-error-codes: M_BAD_JSON (wrong types) or M_INVALID_PARAM.
 * The refused request changes nothing. */
static void check_bad_type(json_t *value, const char *what) {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, "mxdev typed name");
    const char *before = name_now(u, d->device_id);
    json_t *body = mx_arena_keep_json(json_pack("{s:O}", "display_name", value));
    const struct mx_resp *r =
        MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", d->device_id),
                .as = u, .body = body);
    mx_expect_status(r, 400);
    if (r->status == 400)
        mx_expect_errcode(r, "M_BAD_JSON", "M_INVALID_PARAM");
    expect_name_kept(u, d->device_id, before, what);
}

Test(put, PUT_BAD_TYPE__number,
     .description =
         "{\"display_name\": 42} answers 400 M_BAD_JSON or M_INVALID_PARAM and "
         "leaves the name unchanged.") {
    json_t *v = mx_arena_keep_json(json_integer(42));
    check_bad_type(v, "after PUT with display_name 42 the name must be kept");
}

Test(put, PUT_BAD_TYPE__array,
     .description =
         "{\"display_name\": []} answers 400 M_BAD_JSON or M_INVALID_PARAM and "
         "leaves the name unchanged.") {
    json_t *v = mx_arena_keep_json(json_array());
    check_bad_type(v, "after PUT with display_name [] the name must be kept");
}

Test(put, PUT_BAD_TYPE__null,
     .description = "{\"display_name\": null} answers 400 M_BAD_JSON or M_INVALID_PARAM "
                    "and leaves the name unchanged.") {
    json_t *v = mx_arena_keep_json(json_null());
    check_bad_type(v, "after PUT with display_name null the name must be kept");
}
