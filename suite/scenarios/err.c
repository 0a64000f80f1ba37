/* ERR: the response format shared by every device-management endpoint.
 *
 * spec: v1.17, client-server API, "API Standards" (#api-standards),
 * "Standard error response" (#standard-error-response), "Rate limiting"
 * (#rate-limiting), "Web Browser Clients" (#web-browser-clients), applied to
 * getDevices (GET /_matrix/client/v3/devices, #get_matrixclientv3devices),
 * getDevice and updateDevice (GET and PUT /_matrix/client/v3/devices/{deviceId},
 * #get_matrixclientv3devicesdeviceid, #put_matrixclientv3devicesdeviceid),
 * deleteDevice (DELETE /_matrix/client/v3/devices/{deviceId},
 * #delete_matrixclientv3devicesdeviceid) and deleteDevices
 * (POST /_matrix/client/v3/delete_devices, #post_matrixclientv3delete_devices).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_env.h"
#include "mx_match.h"
#include "mx_session.h"

TestSuite(err, .init = mx_test_init, .fini = mx_test_fini);

/* One representative exchange and what was asked. */
struct sample {
    const char *what;
    const struct mx_resp *r;
    bool stage_failed; /* a UIA attempt whose stage failed: errcode and flows */
};

#define MAX_SAMPLES 16

struct samples {
    struct sample s[MAX_SAMPLES];
    size_t n;
};

static void add(struct samples *set, const char *what, const struct mx_resp *r) {
    if (set->n < MAX_SAMPLES) {
        set->s[set->n++] = (struct sample){what, r, false};
    }
}

/* A 401 that is a UIA challenge (has flows) rather than a token refusal. */
static bool is_uia_challenge(const struct mx_resp *r) {
    return r->status == 401 && r->json &&
           json_is_array(json_object_get(r->json, "flows"));
}

/* Success and error answers from every device endpoint. Nothing is deleted:
 * the UIA exchanges stop at the challenge or at a wrong password. */
static void collect(struct samples *set) {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, "mxdev err sample");
    const char *unknown = mx_unique("NOSUCHDEV");
    json_t *name =
        mx_arena_keep_json(json_pack("{s:s}", "display_name", "mxdev err renamed"));
    json_t *empty = mx_arena_keep_json(json_object());
    json_t *bulk = mx_arena_keep_json(json_pack("{s:[s]}", "devices", d->device_id));
    const char *own = mx_path(MX_V3 "/devices/%s", u->device_id);
    const char *other = mx_path(MX_V3 "/devices/%s", d->device_id);

    add(set, "GET /devices", MX_SEND(.method = "GET", .path = MX_V3 "/devices", .as = u));
    add(set, "GET /devices without a token",
        MX_SEND(.method = "GET", .path = MX_V3 "/devices"));
    add(set, "GET /devices/{own id}", MX_SEND(.method = "GET", .path = own, .as = u));
    add(set, "GET /devices/{unknown id}",
        MX_SEND(.method = "GET", .path = mx_path(MX_V3 "/devices/%s", unknown), .as = u));
    add(set, "GET /devices/{own id} with a never-issued token",
        MX_SEND(.method = "GET", .path = own, .token = mx_unique("mxdev_never_issued_")));
    add(set, "PUT /devices/{own id}",
        MX_SEND(.method = "PUT", .path = own, .as = u, .body = name));
    add(set, "PUT /devices/{unknown id}",
        MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", unknown), .as = u,
                .body = name));
    add(set, "PUT /devices/{own id} with a body that is not JSON",
        MX_SEND(.method = "PUT", .path = own, .as = u, .raw_body = "{not json"));
    add(set, "PUT /devices/{own id} without a token",
        MX_SEND(.method = "PUT", .path = own, .body = name));
    add(set, "DELETE /devices/{id} without a token",
        MX_SEND(.method = "DELETE", .path = other, .body = empty));
    add(set, "POST /delete_devices without a token",
        MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices", .body = bulk));

    if (!mx_env()->legacy_login) {
        return; /* no UIA deletion on this server: no challenge to look at */
    }
    const struct mx_resp *challenge =
        MX_SEND(.method = "DELETE", .path = other, .as = u, .body = empty);
    add(set, "DELETE /devices/{id} without auth (UIA challenge)", challenge);
    add(set, "POST /delete_devices without auth (UIA challenge)",
        MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices", .as = u,
                .body = bulk));
    const char *session = NULL;
    if (challenge->json) {
        session = json_string_value(json_object_get(challenge->json, "session"));
    }
    json_t *wrong = mx_arena_keep_json(
        json_pack("{s:o}", "auth", mx_auth_password(u, "mxdev-wrong-password", session)));
    add(set, "DELETE /devices/{id} with a wrong password (UIA stage failed)",
        MX_SEND(.method = "DELETE", .path = other, .as = u, .body = wrong));
    set->s[set->n - 1].stage_failed = true;
}

/* spec: v1.17 #api-standards -- every endpoint answers with a JSON object
 * body and Content-Type application/json, errors included. */
Test(err, ERR_JSON,
     .description = "Every response of a JSON endpoint has a JSON object body and "
                    "Content-Type application/json.") {
    struct samples set = {.n = 0};
    collect(&set);
    for (size_t i = 0; i < set.n; i++) {
        mx_expect_json_object(set.s[i].r);
    }
}

/* spec: v1.17 #standard-error-response -- an error carries a string errcode
 * and a string error; a UIA 401 carries flows, and errcode only once a stage
 * failed (#user-interactive-authentication-api). */
Test(err, ERR_SHAPE,
     .description =
         "Every 4xx/5xx response carries string errcode and string error (a UIA "
         "401 carries flows, and errcode only when a stage failed).") {
    struct samples set = {.n = 0};
    collect(&set);
    size_t errors = 0;
    for (size_t i = 0; i < set.n; i++) {
        const struct sample *s = &set.s[i];
        struct mx_error err = {{0}};
        if (s->r->status < 400) {
            continue; /* another check judges a wrong status; here only error bodies */
        }
        errors++;
        if (is_uia_challenge(s->r) && !s->stage_failed) {
            /* A first challenge need not carry errcode, but if it does the
             * standard shape applies to it. */
            if (json_object_get(s->r->json, "errcode")) {
                mx_expect_that(
                    mx_match_error_shape(s->r, &err) == 0, s->r,
                    "%s: a UIA challenge that carries errcode must carry it as "
                    "a standard error: %s",
                    s->what, err.text);
            }
            continue;
        }
        mx_expect_that(mx_match_error_shape(s->r, &err) == 0, s->r, "%s: %s", s->what,
                       err.text);
    }
    mx_assert_that(errors > 0, NULL,
                   "no error response was produced to judge: every sample answered "
                   "below 400");
}

/* spec: v1.17 device_management.yaml and definitions/client_device.yaml,
 * auth_response.yaml -- each body validates against the schema given for its
 * endpoint and status. */
Test(err, ERR_SCHEMA,
     .description = "Every response body validates against the schema the spec gives for "
                    "that endpoint and status.") {
    struct samples set = {.n = 0};
    collect(&set);
    for (size_t i = 0; i < set.n; i++) {
        mx_expect_schema(set.s[i].r);
    }
    if (!mx_env()->legacy_login) {
        return;
    }
    /* The deletion successes, on devices made for it. */
    const struct mx_user *u = mx_user_new();
    const struct mx_user *a = mx_login(u, NULL, "mxdev schema delete");
    const struct mx_user *b = mx_login(u, NULL, "mxdev schema bulk");
    mx_expect_schema(mx_delete_device_uia(u, a->device_id));
    json_t *devices = mx_arena_keep_json(json_pack("[s]", b->device_id));
    mx_expect_schema(mx_delete_devices_uia(u, devices));
}

/* spec: v1.17 #common-error-codes (M_UNRECOGNIZED) -- an unknown endpoint
 * SHOULD give 404 M_UNRECOGNIZED. */
Test(err, ERR_UNRECOGNIZED__unknown_path,
     .description =
         "An unknown path under /_matrix/client/v3/ gives 404 M_UNRECOGNIZED.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = MX_V3 "/mxdev_no_such_endpoint", .as = u);
    mx_assert_error(r, 404);
    mx_expect_errcode(r, "M_UNRECOGNIZED");
}

/* spec: v1.17 #common-error-codes (M_UNRECOGNIZED) -- a known endpoint with an
 * unsupported method SHOULD give 405 M_UNRECOGNIZED. */
Test(err, ERR_UNRECOGNIZED__wrong_method,
     .description = "A known path with a wrong method (PATCH /devices) gives 405 "
                    "M_UNRECOGNIZED.") {
    const struct mx_user *u = mx_user_new();
    json_t *body = mx_arena_keep_json(json_object());
    const struct mx_resp *r =
        MX_SEND(.method = "PATCH", .path = MX_V3 "/devices", .as = u, .body = body);
    mx_assert_error(r, 405);
    mx_expect_errcode(r, "M_UNRECOGNIZED");
}

static void expect_cors(const char *what, const struct mx_resp *r) {
    static const char *const headers[] = {"Access-Control-Allow-Origin",
                                          "Access-Control-Allow-Methods",
                                          "Access-Control-Allow-Headers"};
    mx_expect_that(
        r->status >= 200 && r->status < 300, r,
        "OPTIONS %s without a token: expected a 2xx answer (no authentication, "
        "no endpoint logic), got %ld",
        what, r->status);
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        mx_expect_that(mx_header(r, headers[i]) != NULL, r,
                       "OPTIONS %s: the CORS header %s is missing", what, headers[i]);
    }
}

/* spec: v1.17 #web-browser-clients -- servers SHOULD answer OPTIONS (CORS
 * preflight) with the CORS headers, without authentication and without
 * running the endpoint. */
Test(err, ERR_CORS,
     .description = "OPTIONS on each device endpoint succeeds without authentication, "
                    "performs no endpoint logic, and carries the CORS headers.") {
    const struct mx_user *u = mx_user_new();
    const struct mx_user *d = mx_login(u, NULL, "mxdev cors target");
    const char *target = mx_path(MX_V3 "/devices/%s", d->device_id);
    const struct mx_resp *before = MX_SEND(.method = "GET", .path = target, .as = u);
    if (before->status != 200)
        mx_block(before, "GET-OK", "cannot read device %s", d->device_id);
    const char *name =
        mx_arena_strdup(json_string_value(json_object_get(before->json, "display_name")));
    static const char *const get_hdrs[] = {
        "Origin: https://mxdev-conformance.invalid", "Access-Control-Request-Method: GET",
        "Access-Control-Request-Headers: authorization", NULL};
    static const char *const del_hdrs[] = {
        "Origin: https://mxdev-conformance.invalid",
        "Access-Control-Request-Method: DELETE",
        "Access-Control-Request-Headers: authorization", NULL};
    static const char *const post_hdrs[] = {
        "Origin: https://mxdev-conformance.invalid",
        "Access-Control-Request-Method: POST",
        "Access-Control-Request-Headers: authorization", NULL};

    expect_cors("/devices", MX_SEND(.method = "OPTIONS", .path = MX_V3 "/devices",
                                    .headers = get_hdrs));
    expect_cors("/devices/{deviceId}",
                MX_SEND(.method = "OPTIONS", .path = target, .headers = del_hdrs));
    expect_cors("/delete_devices",
                MX_SEND(.method = "OPTIONS", .path = MX_V3 "/delete_devices",
                        .headers = post_hdrs));

    /* No endpoint logic: the device named in those paths is intact. */
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = target, .as = u);
    mx_assert_status(r, 200);
    const char *now = json_string_value(json_object_get(r->json, "display_name"));
    mx_expect_that((!now && !name) || (now && name && strcmp(now, name) == 0), r,
                   "after OPTIONS on its path the device's display_name changed from %s "
                   "to %s",
                   name ? name : "none", now ? now : "none");
    r = MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami", .as = d);
    mx_expect_that(r->status == 200, r,
                   "after OPTIONS on /devices/{its id} and /delete_devices the device's "
                   "token no longer works (status %ld)",
                   r->status);
}

/* spec: v1.17 #rate-limiting -- a 429 carries M_LIMIT_EXCEEDED and SHOULD say
 * when to retry (Retry-After; retry_after_ms before it). */
Test(err, ERR_RATELIMIT,
     .description =
         "Whenever any request gets 429, the body has errcode M_LIMIT_EXCEEDED; "
         "it SHOULD carry a Retry-After header.") {
    enum { BURST = 40 };
    /* A user ID no account has: the failed logins lock out no account the
     * run uses (servers limit them per address and per user ID). */
    mx_require_legacy_login();
    const char *nobody = mx_unused_user_id();
    json_t *login = mx_arena_keep_json(json_pack(
        "{s:s, s:{s:s, s:s}, s:s}", "type", "m.login.password", "identifier", "type",
        "m.id.user", "user", nobody, "password", "mxdev-wrong-password"));
    const struct mx_resp *limited = NULL;
    int sent = 0;
    long last_status = 0;
    for (int i = 0; i < BURST && !limited; i++) {
        const struct mx_resp *r = MX_SEND(.method = "POST", .path = MX_V3 "/login",
                                          .body = login, .no_retry = true);
        sent++;
        last_status = r->status;
        if (r->status == 429) {
            limited = r;
        }
    }
    if (!limited) {
        mx_observe("no 429 within a burst of %d failed logins (last status %ld): the "
                   "server did not rate-limit them",
                   sent, last_status);
        return;
    }
    mx_assert_error(limited, 429);
    mx_expect_errcode(limited, "M_LIMIT_EXCEEDED");
    bool has_hint = mx_header(limited, "Retry-After") != NULL ||
                    (limited->json &&
                     json_is_integer(json_object_get(limited->json, "retry_after_ms")));
    /* The catalogue makes the hint a SHOULD inside a MUST rule: recorded, so
     * that a missing hint never fails the MUST part. */
    if (has_hint)
        mx_observe("the 429 says when to retry (Retry-After: %s, retry_after_ms: %s)",
                   mx_header(limited, "Retry-After") ? mx_header(limited, "Retry-After")
                                                     : "absent",
                   json_is_integer(json_object_get(limited->json, "retry_after_ms"))
                       ? "present"
                       : "absent");
    else
        mx_observe("SHOULD not met: the 429 after %d failed logins says neither when to "
                   "retry (no Retry-After header, no integer retry_after_ms)",
                   sent);
}
