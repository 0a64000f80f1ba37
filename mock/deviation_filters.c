/* One filter per SHAPE deviation of deviations.def. A filter sees the
 * request (ctx) and the reply the correct handler made, and rewrites only
 * the reply: it bends what a client sees, never what the server does. */
#include "deviation_filters.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "handler.h"
#include "routes.h"
#include "state.h"
#include "store.h"

/* ---- reading the reply ---- */

/* Whether the request went to the operation op (a spec operationId). */
static bool is_op(const struct mock_ctx *ctx, const char *op) {
    return ctx->match.route != NULL && strcmp(ctx->match.route->operation, op) == 0;
}

/* Whether the reply has status and (when errcode is not NULL) that errcode. */
static bool reply_is(const struct mock_reply *r, unsigned status, const char *errcode) {
    if (r->status != status)
        return false;
    if (errcode == NULL)
        return true;
    const char *got = json_string_value(json_object_get(r->json, "errcode"));
    return got != NULL && strcmp(got, errcode) == 0;
}

/* Makes an error reply another error in place: status, errcode, and the
 * error text when the body has one (an error-without-error-field reply
 * stays without). text NULL keeps the text. */
static void rewrite_error(struct mock_reply *r, unsigned status, const char *errcode,
                          const char *text) {
    r->status = status;
    json_object_set_new(r->json, "errcode", json_string(errcode));
    if (text != NULL && json_object_get(r->json, "error") != NULL)
        json_object_set_new(r->json, "error", json_string(text));
}

/* The client_device objects of the reply: the "devices" array of a
 * getDevices 200, the body of a getDevice 200; fn is called on each. */
static void foreach_device(struct mock_ctx *ctx, void (*fn)(json_t *dev)) {
    if (ctx->reply->status != 200)
        return;
    if (is_op(ctx, "getDevice") && json_is_object(ctx->reply->json)) {
        fn(ctx->reply->json);
    } else if (is_op(ctx, "getDevices")) {
        size_t i;
        json_t *dev;
        json_array_foreach(json_object_get(ctx->reply->json, "devices"), i, dev) {
            fn(dev);
        }
    }
}

/* Removes from a getDevices 200 the entries whose device_id is id: all of
 * them, or with first_only the first. */
static void drop_listed(struct mock_ctx *ctx, const char *id, bool first_only) {
    json_t *list = json_object_get(ctx->reply->json, "devices");
    for (size_t i = 0; i < json_array_size(list);) {
        const char *d =
            json_string_value(json_object_get(json_array_get(list, i), "device_id"));
        if (d != NULL && strcmp(d, id) == 0) {
            json_array_remove(list, i);
            if (first_only)
                return;
        } else {
            i++;
        }
    }
}

/* ---- the filters, in the order of deviations.def ---- */

static void text_plain(struct mock_ctx *ctx) {
    ctx->reply->content_type = "text/plain; charset=utf-8";
}

static void error_without_error_field(struct mock_ctx *ctx) {
    if (json_object_get(ctx->reply->json, "errcode") != NULL)
        json_object_del(ctx->reply->json, "error");
}

static void ts_as_string(json_t *dev) {
    json_t *ts = json_object_get(dev, "last_seen_ts");
    if (json_is_integer(ts)) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(ts));
        json_object_set_new(dev, "last_seen_ts", json_string(text));
    }
}

static void last_seen_ts_string(struct mock_ctx *ctx) {
    foreach_device(ctx, ts_as_string);
}

static void unrecognized_not_found(struct mock_ctx *ctx) {
    struct mock_reply *r = ctx->reply;
    if (reply_is(r, 404, "M_UNRECOGNIZED") || reply_is(r, 405, "M_UNRECOGNIZED")) {
        rewrite_error(r, 404, "M_NOT_FOUND", "Not found");
        r->allow = NULL;
    }
}

static void no_cors(struct mock_ctx *ctx) {
    ctx->reply->cors = false;
}

static void rate_limit_wrong_errcode(struct mock_ctx *ctx) {
    if (reply_is(ctx->reply, 429, "M_LIMIT_EXCEEDED"))
        rewrite_error(ctx->reply, 429, "M_FORBIDDEN", NULL);
}

static void missing_token_unknown(struct mock_ctx *ctx) {
    /* Only the authentication layer's answer: a login or registration
     * without the application service's token says M_MISSING_TOKEN too. */
    const struct mock_route *route = ctx->match.route;
    if (route != NULL && route->auth == MOCK_AUTH_REQUIRED &&
        reply_is(ctx->reply, 401, "M_MISSING_TOKEN")) {
        rewrite_error(ctx->reply, 401, "M_UNKNOWN_TOKEN", "Unrecognised access token");
        json_object_set_new(ctx->reply->json, "soft_logout", json_false());
    }
}

static void unknown_token_forbidden(struct mock_ctx *ctx) {
    if (reply_is(ctx->reply, 401, "M_UNKNOWN_TOKEN")) {
        rewrite_error(ctx->reply, 403, "M_FORBIDDEN", "Invalid access token");
        json_object_del(ctx->reply->json, "soft_logout");
    }
}

static void ip_as_number(json_t *dev) {
    if (json_object_get(dev, "last_seen_ip") != NULL)
        json_object_set_new(dev, "last_seen_ip",
                            json_integer(2130706433)); /* 127.0.0.1 */
}

static void list_ip_number(struct mock_ctx *ctx) {
    if (is_op(ctx, "getDevices"))
        foreach_device(ctx, ip_as_number);
}

static void list_omits_self(struct mock_ctx *ctx) {
    if (is_op(ctx, "getDevices") && ctx->reply->status == 200 &&
        ctx->who.device_id != NULL)
        drop_listed(ctx, ctx->who.device_id, false);
}

static void on_device_newest(const struct store_device *dev, void *arg) {
    *(const char **)arg = dev->device_id; /* the store lists the newest last */
}

static void list_omits_newest(struct mock_ctx *ctx) {
    if (!is_op(ctx, "getDevices") || ctx->reply->status != 200)
        return;
    const char *newest = NULL, *self = ctx->who.device_id;
    store_device_foreach(ctx->state->store, ctx->who.user_id, on_device_newest, &newest);
    if (newest != NULL && (self == NULL || strcmp(newest, self) != 0))
        drop_listed(ctx, newest, true);
}

static void list_phantom_device(struct mock_ctx *ctx) {
    /* Someone else's device, of a user no client of the mock ever made. */
    if (is_op(ctx, "getDevices") && ctx->reply->status == 200)
        json_array_append_new(json_object_get(ctx->reply->json, "devices"),
                              json_pack("{s:s, s:s}", "device_id", "PHANTOMDEV",
                                        "display_name", "phantom phone"));
}

static void get_id_lowercased(struct mock_ctx *ctx) {
    const char *id = json_string_value(json_object_get(ctx->reply->json, "device_id"));
    if (!is_op(ctx, "getDevice") || ctx->reply->status != 200 || id == NULL)
        return;
    char *lower = strdup(id);
    for (char *c = lower; c != NULL && *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    if (lower != NULL)
        json_object_set_new(ctx->reply->json, "device_id", json_string(lower));
    free(lower);
}

static void get_unknown_403(struct mock_ctx *ctx) {
    if (is_op(ctx, "getDevice") && reply_is(ctx->reply, 404, "M_NOT_FOUND"))
        rewrite_error(ctx->reply, 403, "M_FORBIDDEN", "Not your device");
}

static void get_unknown_errcode(struct mock_ctx *ctx) {
    if (is_op(ctx, "getDevice") && reply_is(ctx->reply, 404, "M_NOT_FOUND"))
        rewrite_error(ctx->reply, 404, "M_UNKNOWN", NULL);
}

static void put_unknown_forbidden(struct mock_ctx *ctx) {
    if (is_op(ctx, "updateDevice") && ctx->who.as == NULL &&
        reply_is(ctx->reply, 404, "M_NOT_FOUND"))
        rewrite_error(ctx->reply, 404, "M_FORBIDDEN", NULL);
}

static void put_unknown_no_name_ok(struct mock_ctx *ctx) {
    if (is_op(ctx, "updateDevice") && ctx->who.as == NULL &&
        reply_is(ctx->reply, 404, NULL) &&
        json_object_get(ctx->body, "display_name") == NULL)
        mock_reply_json(ctx->reply, 200, json_object());
}

static void not_json_bad_json(struct mock_ctx *ctx) {
    if (reply_is(ctx->reply, 400, "M_NOT_JSON"))
        rewrite_error(ctx->reply, 400, "M_BAD_JSON", "Content not JSON");
}

static void as_create_200(struct mock_ctx *ctx) {
    if (is_op(ctx, "updateDevice") && ctx->who.as != NULL && ctx->reply->status == 201)
        ctx->reply->status = 200;
}

static void as_update_201(struct mock_ctx *ctx) {
    if (is_op(ctx, "updateDevice") && ctx->who.as != NULL && ctx->reply->status == 200)
        ctx->reply->status = 201;
}

static void whoami_no_device(struct mock_ctx *ctx) {
    if (is_op(ctx, "getTokenOwner") && ctx->who.as != NULL && ctx->reply->status == 200)
        json_object_del(ctx->reply->json, "device_id");
}

/* Whether a UIA 401 offers the password stage (the device-deletion
 * challenge; registration offers other stages and stays intact). */
static bool offers_password(const struct mock_reply *r) {
    size_t i, k;
    json_t *flow, *stage;
    if (r->status != 401)
        return false;
    json_array_foreach(json_object_get(r->json, "flows"), i, flow) {
        json_array_foreach(json_object_get(flow, "stages"), k, stage) {
            const char *name = json_string_value(stage);
            if (name != NULL && strcmp(name, "m.login.password") == 0)
                return true;
        }
    }
    return false;
}

static void uia_no_flows(struct mock_ctx *ctx) {
    if (offers_password(ctx->reply))
        mock_error(ctx->reply, 401, "M_FORBIDDEN", "Authentication required");
}

static void uia_password_two_stage(struct mock_ctx *ctx) {
    if (offers_password(ctx->reply))
        json_array_append_new(
            json_object_get(json_array_get(json_object_get(ctx->reply->json, "flows"), 0),
                            "stages"),
            json_string("m.login.terms"));
}

/* Each filter, and the operations whose success body (a 2xx JSON body) it
 * rewrites: a handler that writes such a body as text rather than JSON
 * builds it as JSON while one of these is on (see
 * mock_deviation_filters_rewrite_body). */
static const struct {
    void (*fn)(struct mock_ctx *ctx);
    const char *body_of; /* space-separated operationIds, or NULL */
} filters[DEV_COUNT] = {
    [DEV_TEXT_PLAIN] = {text_plain, NULL},
    [DEV_ERROR_WITHOUT_ERROR_FIELD] = {error_without_error_field, NULL},
    [DEV_LAST_SEEN_TS_STRING] = {last_seen_ts_string, "getDevices getDevice"},
    [DEV_UNRECOGNIZED_NOT_FOUND] = {unrecognized_not_found, NULL},
    [DEV_NO_CORS] = {no_cors, NULL},
    [DEV_RATE_LIMIT_WRONG_ERRCODE] = {rate_limit_wrong_errcode, NULL},
    [DEV_MISSING_TOKEN_UNKNOWN] = {missing_token_unknown, NULL},
    [DEV_UNKNOWN_TOKEN_FORBIDDEN] = {unknown_token_forbidden, NULL},
    [DEV_LIST_IP_NUMBER] = {list_ip_number, "getDevices"},
    [DEV_LIST_OMITS_SELF] = {list_omits_self, "getDevices"},
    [DEV_LIST_OMITS_NEWEST] = {list_omits_newest, "getDevices"},
    [DEV_LIST_PHANTOM_DEVICE] = {list_phantom_device, "getDevices"},
    [DEV_GET_ID_LOWERCASED] = {get_id_lowercased, "getDevice"},
    [DEV_GET_UNKNOWN_403] = {get_unknown_403, NULL},
    [DEV_GET_UNKNOWN_ERRCODE] = {get_unknown_errcode, NULL},
    [DEV_PUT_UNKNOWN_FORBIDDEN] = {put_unknown_forbidden, NULL},
    [DEV_PUT_UNKNOWN_NO_NAME_OK] = {put_unknown_no_name_ok, NULL},
    [DEV_NOT_JSON_BAD_JSON] = {not_json_bad_json, NULL},
    [DEV_AS_CREATE_200] = {as_create_200, NULL},
    [DEV_AS_UPDATE_201] = {as_update_201, NULL},
    [DEV_WHOAMI_NO_DEVICE] = {whoami_no_device, "getTokenOwner"},
    [DEV_UIA_NO_FLOWS] = {uia_no_flows, NULL},
    [DEV_UIA_PASSWORD_TWO_STAGE] = {uia_password_two_stage, NULL},
};

void mock_deviation_filters_apply(struct mock_ctx *ctx) {
    for (int d = 0; d < DEV_COUNT; d++) {
        if (filters[d].fn != NULL && mock_deviates(ctx->dev, (enum mock_deviation)d))
            filters[d].fn(ctx);
    }
}

bool mock_deviation_has_filter(enum mock_deviation d) {
    return d < DEV_COUNT && filters[d].fn != NULL;
}

bool mock_deviation_filters_rewrite_body(const struct mock_deviations *dev,
                                         const char *operation) {
    size_t len = strlen(operation);
    for (int d = 0; d < DEV_COUNT; d++) {
        const char *ops = filters[d].body_of;
        if (ops == NULL || !mock_deviates(dev, (enum mock_deviation)d))
            continue;
        for (const char *p = strstr(ops, operation); p != NULL;
             p = strstr(p + 1, operation)) {
            if ((p == ops || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
                return true;
        }
    }
    return false;
}
