/* The mock's request logic without any HTTP library types: a plain request
 * in, a plain reply out. mock/server.c feeds it from libmicrohttpd; the unit
 * tests and the fuzz harness call it directly, so they drive exactly the
 * logic the server runs (parse, validate, route, authenticate, handle,
 * error body). */
#ifndef MOCK_DISPATCH_H
#define MOCK_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct mock_config;
struct store;
struct uia;
struct mock_ratelimit;
struct mock_reqlog;

/* Largest request body accepted; larger ones get 413 M_TOO_LARGE (at once
 * when Content-Length says so, else as soon as the body goes over). */
#define MOCK_MAX_BODY (64 * 1024)
/* Largest request target (path and query, as sent): 414 M_TOO_LARGE. */
#define MOCK_MAX_TARGET (16 * 1024)
/* Most header fields, and most bytes in their names and values together
 * (Authorization included): 431 M_TOO_LARGE. */
#define MOCK_MAX_HEADERS 100
#define MOCK_MAX_HEADER_BYTES (16 * 1024)

/* Nonces of the shared-secret registration (GET /_synapse/admin/v1/register):
 * single use, valid for a minute, at most this many outstanding (the oldest
 * is forgotten first). */
#define MOCK_ADMIN_NONCES 64
#define MOCK_ADMIN_NONCE_TTL_MS 60000
struct mock_admin_nonce {
    char value[33];     /* hex; "" when the slot is free */
    int64_t expires_ms; /* mock_now_ms() time */
};

/* Long-lived state shared by all requests. */
struct mock_state {
    const struct mock_config *cfg;    /* borrowed */
    struct store *store;              /* owned when made by mock_state_setup */
    struct uia *uia;                  /* idem */
    struct mock_ratelimit *ratelimit; /* NULL: no rate limiting */
    struct mock_reqlog *reqlog;       /* borrowed; NULL: no request log */
    const char *registration_token; /* borrowed; NULL: registration uses m.login.dummy */
    unsigned long n_requests;       /* counted under the store lock */
    const char *shared_secret;      /* borrowed; NULL: no /_synapse/admin/v1/register */
    bool registration_disabled;     /* --no-registration: only appservices register */
    struct mock_admin_nonce admin_nonces[MOCK_ADMIN_NONCES]; /* under the store lock */
};

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

/* The answer. Everything in it is owned by the reply: free with
 * mock_reply_clean. */
struct mock_reply {
    unsigned status;
    json_t *json; /* set by handlers; serialised into body by mock_dispatch */
    char *body;   /* NUL-terminated; body_len excludes the NUL. A handler may
                     set body (and body_len) instead of json */
    size_t body_len;
    /* NULL: body is the reply's own (free). Else body is borrowed from
     * body_owner, and body_release(body_owner) is called instead, once, from
     * whichever thread sends the reply (a shared cached listing). */
    void (*body_release)(void *body_owner);
    void *body_owner;
    const char *content_type; /* static string */
    bool cors;                /* add the Access-Control-Allow-* headers */
    const char *allow;        /* static "Allow" header value (405, OPTIONS), or NULL */
    unsigned retry_after_s;   /* 0: no Retry-After header */
};

/* The CORS header values the server adds when reply->cors is set. */
#define MOCK_CORS_ALLOW_ORIGIN "*"
#define MOCK_CORS_ALLOW_METHODS "GET, HEAD, POST, PUT, DELETE, OPTIONS"
#define MOCK_CORS_ALLOW_HEADERS "X-Requested-With, Content-Type, Authorization"

/* Builds the store, UIA sessions and (with cfg->rate_limit) the rate limiter,
 * and registers the sender user of every application service. Returns 0, or
 * -1 on out-of-memory (state is then clean). */
int mock_state_setup(struct mock_state *state, const struct mock_config *cfg);
/* Frees what mock_state_setup made. */
void mock_state_teardown(struct mock_state *state);

/* Handles one request: fills reply (always, even on out-of-memory: then a
 * bare 500). Thread-safe: takes the store lock around the request. */
void mock_dispatch(struct mock_state *state, const struct mock_request *req,
                   struct mock_reply *reply);
void mock_reply_clean(struct mock_reply *reply);

/* Refuses a request before it is dispatched (a transport limit): fills reply
 * with status and {"errcode": errcode, "error": why} and logs the request.
 * Touches no state but the request log. */
void mock_dispatch_refuse(struct mock_state *state, const struct mock_request *req,
                          unsigned status, const char *errcode, const char *why,
                          struct mock_reply *reply);

/* The compact JSON text of v: the same bytes as json_dumps(v, JSON_COMPACT),
 * faster. Returns a new string (free), or NULL on OOM. */
char *mock_json_text(json_t *v);

/* Milliseconds since the epoch (wall clock). */
int64_t mock_now_ms(void);

#endif
