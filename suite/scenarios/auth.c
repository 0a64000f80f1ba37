/* AUTH: access tokens on every device-management endpoint.
 *
 * spec: v1.17, client-server API, "Using access tokens"
 * (#using-access-tokens) and the security schemes of device_management.yaml
 * (accessTokenBearer, accessTokenQuery), for getDevices
 * (GET /_matrix/client/v3/devices, #get_matrixclientv3devices), getDevice,
 * updateDevice and deleteDevice (GET, PUT and DELETE
 * /_matrix/client/v3/devices/{deviceId}, #get_matrixclientv3devicesdeviceid,
 * #put_matrixclientv3devicesdeviceid, #delete_matrixclientv3devicesdeviceid)
 * and deleteDevices (POST /_matrix/client/v3/delete_devices,
 * #post_matrixclientv3delete_devices). Query-string tokens are gone from the
 * unreleased main (1.20 here).
 *
 * Nothing is deleted here: the deletion endpoints are aimed at a device ID
 * the user never had, and a valid token only has to get past the token check
 * (a UIA challenge counts as accepted).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_client.h"
#include "mx_match.h"
#include "mx_session.h"

TestSuite(auth, .init = mx_test_init, .fini = mx_test_fini);

enum target { TARGET_NONE, TARGET_OWN, TARGET_UNKNOWN };
enum body { BODY_NONE, BODY_NAME, BODY_EMPTY, BODY_DEVICES };

struct endpoint {
    const char *label;
    const char *method;
    const char *path; /* mx_path format: one %s for the device ID, or none */
    enum target target;
    enum body body;
    bool uia; /* a valid token may still get a UIA 401 */
};

static const struct endpoint endpoints[] = {
    {"GET /devices", "GET", MX_V3 "/devices", TARGET_NONE, BODY_NONE, false},
    {"GET /devices/{deviceId}", "GET", MX_V3 "/devices/%s", TARGET_OWN, BODY_NONE, false},
    {"PUT /devices/{deviceId}", "PUT", MX_V3 "/devices/%s", TARGET_OWN, BODY_NAME, false},
    {"DELETE /devices/{deviceId}", "DELETE", MX_V3 "/devices/%s", TARGET_UNKNOWN,
     BODY_EMPTY, true},
    {"POST /delete_devices", "POST", MX_V3 "/delete_devices", TARGET_NONE, BODY_DEVICES,
     true},
};

#define N_ENDPOINTS (sizeof endpoints / sizeof endpoints[0])

/* The user whose device IDs the paths name, and an ID it never had. */
struct context {
    const struct mx_user *owner;
    const char *unknown_id;
    const char *new_name; /* what the PUT sends */
};

static struct context context_new(const char *new_name) {
    return (struct context){mx_user_new(), mx_unique("NEVERHAD"), new_name};
}

/* Sends ep with the given credentials (as: the session's token; token: a
 * literal one; neither: no token). */
static const struct mx_resp *call(const struct endpoint *ep, const struct context *ctx,
                                  const struct mx_user *as, const char *token,
                                  enum mx_token_in token_in) {
    const char *id = ctx->owner->device_id;
    if (ep->target == TARGET_UNKNOWN) {
        id = ctx->unknown_id;
    }
    json_t *body = NULL;
    switch (ep->body) {
        case BODY_NONE:
            break;
        case BODY_NAME:
            body = json_pack("{s:s}", "display_name", ctx->new_name);
            break;
        case BODY_EMPTY:
            body = json_object();
            break;
        case BODY_DEVICES:
            body = json_pack("{s:[s]}", "devices", ctx->unknown_id);
            break;
    }
    const char *path =
        ep->target == TARGET_NONE ? mx_path(ep->path) : mx_path(ep->path, id);
    mx_arena_keep_json(body);
    return MX_SEND(.method = ep->method, .path = path, .as = as, .token = token,
                   .token_in = token_in, .body = body);
}

static bool errcode_is(const struct mx_resp *r, const char *code) {
    const char *got = mx_errcode(r);
    return got && strcmp(got, code) == 0;
}

/* The request was refused for its token: 401 with errcode code (the body's
 * standard shape is ERR-SHAPE's, judged on every response). */
static void expect_refused(const struct endpoint *ep, const struct mx_resp *r,
                           const char *code, const char *why) {
    mx_expect_status(r, 401);
    mx_expect_that(errcode_is(r, code), r, "%s %s: expected 401 %s, got %ld %s",
                   ep->label, why, code, r->status,
                   mx_errcode(r) ? mx_errcode(r) : "(no errcode)");
}

/* The token was used: the plain endpoints answer 200; the deletion ones may
 * instead ask for UIA, a 401 without a token errcode (the challenge's form is
 * UIA-CHALLENGE's rule). */
static void expect_accepted(const struct endpoint *ep, const struct mx_resp *r,
                            const char *how) {
    if (!ep->uia) {
        mx_expect_status(r, 200);
        return;
    }
    bool token_code =
        errcode_is(r, "M_MISSING_TOKEN") || errcode_is(r, "M_UNKNOWN_TOKEN");
    bool refused = r->status == 0 || (r->status == 401 && token_code);
    mx_expect_that(!refused, r,
                   "%s with a valid token %s: the token was refused (status %ld, errcode "
                   "%s); expected the endpoint to run or a UIA challenge",
                   ep->label, how, r->status, mx_errcode(r) ? mx_errcode(r) : "none");
}

/* In a fresh context (context_new(new_name)), calls every endpoint with the
 * owner's token (own_token), or token, or none, sent token_in: each answer
 * must be refused with 401 code, or accepted when code is NULL. why finishes
 * the failure messages. Returns the context. */
static struct context call_each(const char *new_name, bool own_token, const char *token,
                                enum mx_token_in token_in, const char *code,
                                const char *why) {
    struct context ctx = context_new(new_name);

    for (size_t i = 0; i < N_ENDPOINTS; i++) {
        const struct mx_resp *r =
            call(&endpoints[i], &ctx, own_token ? ctx.owner : NULL, token, token_in);
        if (code != NULL)
            expect_refused(&endpoints[i], r, code, why);
        else
            expect_accepted(&endpoints[i], r, why);
    }
    return ctx;
}

/* spec: v1.17 #using-access-tokens -- a request without an access token to an
 * endpoint that needs one: 401 M_MISSING_TOKEN. */
Test(auth, AUTH_MISSING,
     .description = "Without an access token every device endpoint answers 401 "
                    "M_MISSING_TOKEN.") {
    call_each("mxdev auth missing", false, NULL, MX_TOKEN_HEADER, "M_MISSING_TOKEN",
              "without a token");
}

/* spec: v1.17 #using-access-tokens -- a token the server does not know:
 * 401 M_UNKNOWN_TOKEN. */
Test(auth, AUTH_UNKNOWN,
     .description = "A token that was never issued gets 401 M_UNKNOWN_TOKEN on every "
                    "device endpoint.") {
    char token[256];
    snprintf(token, sizeof token, "mxdev_never_issued_%s", mx_unique("tok"));
    call_each("mxdev auth unknown", false, token, MX_TOKEN_HEADER, "M_UNKNOWN_TOKEN",
              "with a never-issued token");
}

/* spec: v1.17 #using-access-tokens -- the Authorization: Bearer header is the
 * way to send the token. */
Test(auth, AUTH_HEADER,
     .description = "An access token in the Authorization: Bearer header is accepted by "
                    "every device endpoint.") {
    call_each("mxdev auth header", true, NULL, MX_TOKEN_HEADER, NULL,
              "in the Authorization header");
}

/* spec: v1.17 #using-access-tokens -- the access_token query parameter is
 * deprecated but servers must still accept it (until it is removed). */
Test(auth, AUTH_QUERY,
     .description = "An access token in the access_token query parameter is accepted by "
                    "every device endpoint.") {
    call_each("mxdev auth query", true, NULL, MX_TOKEN_QUERY, NULL,
              "in the access_token query parameter");
}

/* spec: main (1.20 here) #using-access-tokens -- query-string tokens were
 * removed: a token only in the query is no token at all. */
Test(auth, AUTH_QUERY_REMOVED,
     .description =
         "A token only in the query string is not used: 401 M_MISSING_TOKEN on "
         "every device endpoint.") {
    struct context ctx =
        call_each("mxdev query token used", true, NULL, MX_TOKEN_QUERY, "M_MISSING_TOKEN",
                  "with the token only in the query string");
    /* The refused PUT must not have renamed the device either. */
    const struct mx_resp *r =
        MX_SEND(.method = "GET",
                .path = mx_path(MX_V3 "/devices/%s", ctx.owner->device_id),
                .as = ctx.owner);
    mx_assert_status(r, 200);
    const char *name = json_string_value(json_object_get(r->json, "display_name"));
    mx_expect_that(!name || strcmp(name, ctx.new_name) != 0, r,
                   "PUT /devices/{deviceId} with the token only in the query string "
                   "renamed the device to \"%s\"",
                   ctx.new_name);
}
