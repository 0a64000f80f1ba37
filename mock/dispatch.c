/* Request processing: route, size and body checks, rate limit,
 * authentication, handler, and the serialised reply. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "deviations.h"
#include "errors.h"
#include "ratelimit.h"
#include "reqlog.h"
#include "routes.h"
#include "store.h"
#include "uia.h"

int64_t mock_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mock_state_setup(struct mock_state *state, const struct mock_config *cfg) {
    memset(state, 0, sizeof *state);
    state->cfg = cfg;
    state->store = store_new();
    state->uia = uia_new();
    if (state->store == NULL || state->uia == NULL)
        goto fail;
    if (cfg->rate_limit) {
        unsigned per_min = cfg->rate_limit_per_min;
        state->ratelimit =
            mock_ratelimit_new(per_min > 0 ? per_min : MOCK_RATE_LIMIT_DEFAULT_PER_MIN);
        if (state->ratelimit == NULL)
            goto fail;
    }
    /* An application service may always act as its sender. */
    for (size_t i = 0; i < cfg->n_appservices; i++) {
        if (store_user_create(state->store, cfg->appservices[i].sender_user_id, NULL) ==
            -2)
            goto fail;
    }
    return 0;
fail:
    mock_state_teardown(state);
    return -1;
}

void mock_state_teardown(struct mock_state *state) {
    store_free(state->store);
    uia_free(state->uia);
    mock_ratelimit_free(state->ratelimit);
    state->store = NULL;
    state->uia = NULL;
    state->ratelimit = NULL;
}

void mock_reply_clean(struct mock_reply *reply) {
    json_decref(reply->json);
    if (reply->body_release != NULL)
        reply->body_release(reply->body_owner);
    else
        free(reply->body);
    memset(reply, 0, sizeof *reply);
}

int mock_body_string(struct mock_ctx *ctx, json_t *obj, const char *key,
                     const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "%s must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

bool mock_rate_limited(struct mock_ctx *ctx, const char *action) {
    struct mock_state *state = ctx->state;
    const char *ip = ctx->req->client_ip != NULL ? ctx->req->client_ip : "unknown";
    if (state->ratelimit != NULL) {
        int64_t wait_ms = mock_ratelimit_take(state->ratelimit, ip, action, ctx->now_ms);
        if (wait_ms > 0) {
            mock_error_rate_limited(ctx->reply, wait_ms);
            return true;
        }
        return false;
    }
    /* Without --rate-limit the deviation still has to show a 429: every
     * 10th login/register request gets one. Counted under the store lock. */
    static unsigned long limited_requests;
    if (mock_deviates(DEV_RATE_LIMIT_WRONG_ERRCODE) &&
        (strcmp(action, "login") == 0 || strcmp(action, "register") == 0) &&
        ++limited_requests % 10 == 0) {
        mock_error_rate_limited(ctx->reply, 1000);
        return true;
    }
    return false;
}

/* Parses the body of a JSON route into ctx->body. Returns 0, or -1 with the
 * 400 filled. */
static int parse_body(struct mock_ctx *ctx) {
    const struct mock_request *req = ctx->req;
    if (req->body == NULL || req->body_len == 0) {
        ctx->body = json_object();
        if (ctx->body == NULL) {
            mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
            return -1;
        }
        return 0;
    }
    json_error_t jerr;
    /* jansson rejects invalid UTF-8 and NUL bytes itself. */
    ctx->body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (ctx->body == NULL) {
        if (mock_deviates(DEV_NOT_JSON_BAD_JSON))
            mock_error(ctx->reply, 400, "M_BAD_JSON", "Content not JSON");
        else
            mock_error(ctx->reply, 400, "M_NOT_JSON", "Content not JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(ctx->body)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "The body must be a JSON object");
        return -1;
    }
    return 0;
}

/* A growing output buffer for serialise(). */
struct text {
    char *data; /* owned */
    size_t len, cap;
    bool oom;
};

static void put(struct text *t, const char *s, size_t n) {
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (grown == NULL) {
            t->oom = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
}

/* A JSON string, escaped as json_dumps escapes it (UTF-8 kept as is). */
static void put_string(struct text *t, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(t, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
            case '"':
                put(t, "\\\"", 2);
                break;
            case '\\':
                put(t, "\\\\", 2);
                break;
            case '\b':
                put(t, "\\b", 2);
                break;
            case '\f':
                put(t, "\\f", 2);
                break;
            case '\n':
                put(t, "\\n", 2);
                break;
            case '\r':
                put(t, "\\r", 2);
                break;
            case '\t':
                put(t, "\\t", 2);
                break;
            default:
                put(t, esc, sizeof esc);
                break;
        }
    }
    put(t, s + run, n - run);
    put(t, "\"", 1);
}

/* Compact JSON text of v, the same bytes as json_dumps(v, JSON_COMPACT) in
 * about half the time: a listing of 10,000 devices is a megabyte, and
 * jansson's dump goes through a callback per token. */
static void serialise(struct text *t, json_t *v) {
    switch (json_typeof(v)) {
        case JSON_OBJECT: {
            const char *key;
            size_t key_len;
            json_t *member;
            bool first = true;
            put(t, "{", 1);
            json_object_keylen_foreach(v, key, key_len, member) {
                if (!first)
                    put(t, ",", 1);
                first = false;
                put_string(t, key, key_len);
                put(t, ":", 1);
                serialise(t, member);
            }
            put(t, "}", 1);
            break;
        }
        case JSON_ARRAY: {
            size_t i;
            json_t *item;
            put(t, "[", 1);
            json_array_foreach(v, i, item) {
                if (i > 0)
                    put(t, ",", 1);
                serialise(t, item);
            }
            put(t, "]", 1);
            break;
        }
        case JSON_STRING:
            put_string(t, json_string_value(v), json_string_length(v));
            break;
        case JSON_INTEGER: {
            char num[32];
            int n =
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            put(t, num, (size_t)n);
            break;
        }
        case JSON_TRUE:
            put(t, "true", 4);
            break;
        case JSON_FALSE:
            put(t, "false", 5);
            break;
        case JSON_NULL:
            put(t, "null", 4);
            break;
        default: { /* reals: jansson's own formatting */
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text == NULL)
                t->oom = true;
            else
                put(t, text, strlen(text));
            free(text);
            break;
        }
    }
}

char *mock_json_text(json_t *v) {
    struct text t = {NULL, 0, 0, false};
    serialise(&t, v);
    put(&t, "", 0);
    if (t.oom || t.data == NULL) {
        free(t.data);
        return NULL;
    }
    t.data[t.len] = '\0';
    return t.data;
}

/* Serialises reply->json into reply->body and sets the headers. */
static void finish_reply(struct mock_reply *reply) {
    if (reply->json == NULL && reply->body != NULL)
        goto headers;          /* the handler wrote the text itself */
    if (reply->body != NULL) { /* a text set before an error replaced it */
        if (reply->body_release != NULL)
            reply->body_release(reply->body_owner);
        else
            free(reply->body);
        reply->body = NULL;
        reply->body_release = NULL;
    }
    if (reply->json == NULL) {
        reply->status = 500;
        reply->json = json_pack("{s:s,s:s}", "errcode", "M_UNKNOWN", "error",
                                "Internal server error");
    }
    reply->body = reply->json != NULL ? mock_json_text(reply->json) : NULL;
    if (reply->body == NULL) {
        reply->status = 500;
        reply->body = strdup("{}");
    }
    reply->body_len = reply->body != NULL ? strlen(reply->body) : 0;
headers:
    reply->content_type =
        mock_deviates(DEV_TEXT_PLAIN) ? "text/plain; charset=utf-8" : "application/json";
    reply->cors = !mock_deviates(DEV_NO_CORS);
}

static void route_error(struct mock_ctx *ctx, enum mock_route_result rr,
                        const char *path) {
    bool as_not_found = mock_deviates(DEV_UNRECOGNIZED_NOT_FOUND);
    switch (rr) {
        case MOCK_ROUTE_OPTIONS:
            /* CORS preflight: no authentication, no endpoint logic. */
            mock_reply_json(ctx->reply, 200, json_object());
            ctx->reply->allow = mock_route_methods(path);
            break;
        case MOCK_ROUTE_BAD_METHOD:
            if (as_not_found) {
                mock_error(ctx->reply, 404, "M_NOT_FOUND", "Not found");
                break;
            }
            mock_error(ctx->reply, 405, "M_UNRECOGNIZED", "Unrecognized request method");
            ctx->reply->allow = mock_route_methods(path);
            break;
        case MOCK_ROUTE_NOT_FOUND:
            if (as_not_found)
                mock_error(ctx->reply, 404, "M_NOT_FOUND", "Not found");
            else
                mock_error(ctx->reply, 404, "M_UNRECOGNIZED", "Unrecognized request");
            break;
        case MOCK_ROUTE_NO_MEMORY:
        case MOCK_ROUTE_FOUND:
            mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
            break;
    }
}

static void log_request(struct mock_state *state, const struct mock_request *req,
                        const struct mock_reply *reply, const struct mock_identity *who) {
    if (state->reqlog == NULL)
        return;
    struct mock_reqlog_entry e = {
        .client = req->client_ip,
        .method = req->method,
        .uri = req->uri,
        .status = reply->status,
        .user_id = who != NULL ? who->user_id : NULL,
        .device_id = who != NULL ? who->device_id : NULL,
        .body = req->body,
        .body_len = req->body_len,
        .body_dropped = req->body_too_large,
    };
    mock_reqlog_write(state->reqlog, &e);
}

void mock_dispatch_refuse(struct mock_state *state, const struct mock_request *req,
                          unsigned status, const char *errcode, const char *why,
                          struct mock_reply *reply) {
    memset(reply, 0, sizeof *reply);
    mock_error(reply, status, errcode, "%s", why);
    finish_reply(reply);
    log_request(state, req, reply, NULL);
}

void mock_dispatch(struct mock_state *state, const struct mock_request *req,
                   struct mock_reply *reply) {
    memset(reply, 0, sizeof *reply);
    struct mock_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.state = state;
    ctx.req = req;
    ctx.reply = reply;
    ctx.now_ms = mock_now_ms();
    bool locked = false;

    const char *uri = req->uri != NULL ? req->uri : "";
    const char *qmark = strchr(uri, '?');
    char *path = qmark != NULL ? strndup(uri, (size_t)(qmark - uri)) : strdup(uri);
    if (path == NULL || req->method == NULL) {
        mock_error(reply, 500, "M_UNKNOWN", "Out of memory");
        goto out;
    }
    enum mock_route_result rr = mock_route_match(req->method, path, &ctx.match);
    if (rr != MOCK_ROUTE_FOUND) {
        route_error(&ctx, rr, path);
        goto out;
    }
    const struct mock_route *route = ctx.match.route;
    if (req->body_too_large || req->body_len > MOCK_MAX_BODY) {
        mock_error(reply, 413, "M_TOO_LARGE", "The request body exceeds %d bytes",
                   MOCK_MAX_BODY);
        goto out;
    }
    if (mock_query_parse(qmark != NULL ? qmark + 1 : NULL, &ctx.query) < 0) {
        mock_error(reply, 400, "M_INVALID_PARAM",
                   "The query string is not valid percent-encoded UTF-8");
        goto out;
    }

    store_lock(state->store);
    locked = true;
    if (++state->n_requests % 256 == 0)
        uia_expire(state->uia, ctx.now_ms);
    if (route->rate_limit != NULL && mock_rate_limited(&ctx, route->rate_limit))
        goto out;
    if (mock_authenticate(&ctx) < 0)
        goto out;
    if (route->json_body && parse_body(&ctx) < 0)
        goto out;
    mock_auth_mark_seen(&ctx);
    route->handler(&ctx);

out:
    if (locked)
        store_unlock(state->store);
    finish_reply(reply);
    log_request(state, req, reply, &ctx.who);
    free(path);
    json_decref(ctx.body);
    mock_identity_clean(&ctx.who);
    mock_query_clean(&ctx.query);
    mock_match_clean(&ctx.match);
}
