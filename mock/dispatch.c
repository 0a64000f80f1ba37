/* Request processing: route, size and body checks, rate limit,
 * authentication, handler, deviation filters, and the serialised reply. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "deviation_filters.h"
#include "json_text.h"
#include "reqlog.h"
#include "routes.h"
#include "store.h"
#include "uia.h"

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
        mock_error(ctx->reply, 400, "M_NOT_JSON", "Content not JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(ctx->body)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "The body must be a JSON object");
        return -1;
    }
    return 0;
}

/* Gives the reply its headers and runs the filters of the switched-on
 * deviations over it (ctx->match.route is NULL when no route matched). */
static void filter_reply(struct mock_ctx *ctx) {
    ctx->reply->content_type = "application/json";
    ctx->reply->cors = true;
    mock_deviation_filters_apply(ctx);
}

/* Serialises reply->json into reply->body. */
static void finish_reply(struct mock_reply *reply) {
    if (reply->json == NULL && reply->body != NULL)
        return;                /* the handler wrote the text itself */
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
}

static void route_error(struct mock_ctx *ctx, enum mock_route_result rr,
                        const char *path) {
    switch (rr) {
        case MOCK_ROUTE_OPTIONS:
            /* CORS preflight: no authentication, no endpoint logic. */
            mock_reply_json(ctx->reply, 200, json_object());
            ctx->reply->allow = mock_route_methods(path);
            break;
        case MOCK_ROUTE_BAD_METHOD:
            mock_error(ctx->reply, 405, "M_UNRECOGNIZED", "Unrecognized request method");
            ctx->reply->allow = mock_route_methods(path);
            break;
        case MOCK_ROUTE_NOT_FOUND:
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
    struct mock_ctx ctx = {
        .state = state, .dev = &state->dev, .req = req, .reply = reply};
    filter_reply(&ctx);
    finish_reply(reply);
    log_request(state, req, reply, NULL);
}

void mock_dispatch(struct mock_state *state, const struct mock_request *req,
                   struct mock_reply *reply) {
    memset(reply, 0, sizeof *reply);
    struct mock_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.state = state;
    ctx.dev = &state->dev;
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
    if ((route->flags & MOCK_ROUTE_JSON_BODY) && parse_body(&ctx) < 0)
        goto out;
    mock_auth_mark_seen(&ctx);
    route->handler(&ctx);

out:
    filter_reply(&ctx);
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
