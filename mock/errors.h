/* The reply a request gets, and the one place that builds Matrix error
 * bodies {"errcode", "error"}. */
#ifndef MOCK_ERRORS_H
#define MOCK_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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

void mock_reply_clean(struct mock_reply *reply);

/* Makes reply a Matrix error: status with {"errcode": errcode, "error": ...}.
 * Replaces any body set before. Returns the body (borrowed: owned by reply)
 * so that callers can add fields such as soft_logout or flows; NULL on
 * out-of-memory. */
json_t *mock_error(struct mock_reply *reply, unsigned status, const char *errcode,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* 429 M_LIMIT_EXCEEDED with retry_after_ms and a Retry-After header
 * (seconds, rounded up). */
void mock_error_rate_limited(struct mock_reply *reply, int64_t retry_after_ms);

/* Sets status and body; steals body (may be NULL: a 500 then). */
void mock_reply_json(struct mock_reply *reply, unsigned status, json_t *body);

#endif
