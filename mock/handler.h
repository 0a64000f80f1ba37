/* The handler interface: what a handler sees of a request (struct
 * mock_ctx) and the helpers it reads the body with. Handlers, the
 * authentication layer and the deviation filters depend on this; it depends
 * on nothing of theirs, so the request path has one direction:
 * server -> dispatch -> routes -> handlers -> handler interface. */
#ifndef MOCK_HANDLER_H
#define MOCK_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "uri.h"

struct mock_state;
struct mock_reply;
struct mock_route;
struct mock_deviations;
struct mock_appservice;

/* One request as received. All strings are borrowed from the caller. */
struct mock_request {
    const char *method;
    const char *uri; /* request target as sent: path [ "?" query ], not decoded */
    const char *authorization; /* Authorization header value, or NULL */
    const char *client_ip;     /* textual address of the peer, or NULL */
    const char *body;          /* may hold any bytes; NULL when there is none */
    size_t body_len;
    bool body_too_large; /* the transport dropped a body over MOCK_MAX_BODY */
};

#define MOCK_MAX_PARAMS 2

/* The route a request matched and its path captures. */
struct mock_match {
    const struct mock_route *route;    /* borrowed from the static table */
    char *params[MOCK_MAX_PARAMS];     /* decoded captures, owned */
    char *raw_params[MOCK_MAX_PARAMS]; /* the same, as sent, owned */
    size_t n_params;
    char *op_path; /* path with decoded captures, owned */
};

/* Who a request speaks for (filled by mock_authenticate). */
struct mock_identity {
    char *user_id;   /* owned; NULL when the request is anonymous */
    char *device_id; /* owned; NULL for an application service acting without one */
    const struct mock_appservice *as; /* borrowed; set when the as_token was used */
};

void mock_identity_clean(struct mock_identity *who);

/* Everything a handler sees. */
struct mock_ctx {
    struct mock_state *state;
    struct mock_deviations *dev; /* &state->dev: the switched-on deviations */
    const struct mock_request *req;
    struct mock_reply *reply;
    struct mock_match match; /* route NULL when no route matched */
    struct mock_query query;
    json_t *body; /* the JSON object of a MOCK_ROUTE_JSON_BODY route (owned), or NULL */
    struct mock_identity who;
    int64_t now_ms;
};

/* Reads the optional string member key of obj. Returns 0 (*out NULL when
 * absent; borrowed otherwise), or -1 with a 400 M_BAD_JSON reply when the
 * member is not a string. */
int mock_body_string(struct mock_ctx *ctx, json_t *obj, const char *key,
                     const char **out);

/* Applies --rate-limit to action for the client; returns true (and fills the
 * 429 reply) when the request must be refused. */
bool mock_rate_limited(struct mock_ctx *ctx, const char *action);

/* Milliseconds since the epoch (wall clock). */
int64_t mock_now_ms(void);

#endif
