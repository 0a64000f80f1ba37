/* The static route table of the mock and its path matcher.
 *
 * Each row is {method, path template, handler}; a template segment written
 * "{name}" captures one path segment. Matching splits the raw path at '/',
 * percent-decodes each segment exactly once (so "%2F" inside a device ID is
 * part of the ID, never a separator) and compares literal segments exactly. */
#ifndef MOCK_ROUTES_H
#define MOCK_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "dispatch.h"

#define MOCK_MAX_PARAMS 2

enum mock_auth_mode {
    MOCK_AUTH_NONE,     /* no token looked at */
    MOCK_AUTH_OPTIONAL, /* a token, when given, must be valid */
    MOCK_AUTH_REQUIRED,
};

struct mock_ctx;

struct mock_route {
    const char *method;
    const char *path; /* template */
    void (*handler)(struct mock_ctx *ctx);
    enum mock_auth_mode auth;
    bool json_body;         /* the body is a JSON object (an empty body counts as {}) */
    const char *rate_limit; /* rate-limit action for --rate-limit, or NULL */
    bool device_api;        /* one of the five device management operations */
};

struct mock_match {
    const struct mock_route *route;    /* borrowed from the static table */
    char *params[MOCK_MAX_PARAMS];     /* decoded captures, owned */
    char *raw_params[MOCK_MAX_PARAMS]; /* the same, as sent, owned */
    size_t n_params;
    char *op_path; /* path with decoded captures, owned */
};

enum mock_route_result {
    MOCK_ROUTE_FOUND,
    MOCK_ROUTE_OPTIONS, /* OPTIONS on a known path */
    MOCK_ROUTE_NOT_FOUND,
    MOCK_ROUTE_BAD_METHOD, /* known path, other method */
    MOCK_ROUTE_NO_MEMORY,
};

/* Matches method + raw path (no query). On MOCK_ROUTE_FOUND, m is filled and
 * must be cleaned with mock_match_clean; otherwise m is left clean. */
enum mock_route_result mock_route_match(const char *method, const char *path,
                                        struct mock_match *m);
/* The methods served on path (for Allow headers): a static string such as
 * "GET, PUT, DELETE, OPTIONS", or NULL when the path is unknown. */
const char *mock_route_methods(const char *path);
void mock_match_clean(struct mock_match *m);

/* Percent-decodes len bytes of s. With plus_is_space, '+' becomes ' '
 * (query strings). Returns a new string, or NULL when the encoding is
 * invalid, the result holds a NUL byte or is not UTF-8, or on OOM. */
char *mock_percent_decode(const char *s, size_t len, bool plus_is_space);

/* Decoded query parameters (first occurrence of each key wins on lookup). */
struct mock_query {
    char **keys;
    char **values;
    size_t n;
};
/* Parses a raw query string (may be NULL or empty). Returns 0, or -1 on bad
 * encoding or OOM (q is then clean). */
int mock_query_parse(const char *query, struct mock_query *q);
void mock_query_clean(struct mock_query *q);
/* Borrowed value of key, or NULL. */
const char *mock_query_get(const struct mock_query *q, const char *key);

/* Everything a handler sees. */
struct mock_ctx {
    struct mock_state *state;
    const struct mock_request *req;
    struct mock_reply *reply;
    struct mock_match match;
    struct mock_query query;
    json_t *body; /* the parsed JSON object for json_body routes (owned), else NULL */
    struct mock_identity who;
    int64_t now_ms;
};

/* Handlers, one per operation (handlers_account.c, handlers_devices.c). */
void on_versions(struct mock_ctx *ctx);
void on_login_flows(struct mock_ctx *ctx);
void on_login(struct mock_ctx *ctx);
void on_register(struct mock_ctx *ctx);
void on_logout(struct mock_ctx *ctx);
void on_logout_all(struct mock_ctx *ctx);
void on_whoami(struct mock_ctx *ctx);
void on_admin_register_nonce(struct mock_ctx *ctx);
void on_admin_register(struct mock_ctx *ctx);
void on_get_devices(struct mock_ctx *ctx);
void on_get_device(struct mock_ctx *ctx);
void on_update_device(struct mock_ctx *ctx);
void on_delete_device(struct mock_ctx *ctx);
void on_delete_devices(struct mock_ctx *ctx);

/* Reads the optional string member key of obj. Returns 0 (*out NULL when
 * absent; borrowed otherwise), or -1 with a 400 M_BAD_JSON reply when the
 * member is not a string. */
int mock_body_string(struct mock_ctx *ctx, json_t *obj, const char *key,
                     const char **out);

/* Applies --rate-limit to action for the client; returns true (and fills the
 * 429 reply) when the request must be refused. */
bool mock_rate_limited(struct mock_ctx *ctx, const char *action);

#endif
