/* The suite's HTTP client: the only layer that knows libcurl.
 *
 * Scenarios describe a request with struct mx_req (designated initialisers,
 * see MX_SEND) and get back a struct mx_resp that holds the status, the
 * headers the suite judges, the raw body and its parsed JSON.
 *
 * Ownership: every response and every string returned by mx_path() belongs
 * to the current test and is freed by mx_test_fini() (mx_session.h); tests
 * never free them. Outside criterion (unit tests, main) call mx_arena_free().
 */
#ifndef MX_CLIENT_H
#define MX_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MX_V3 "/_matrix/client/v3"

struct mx_user; /* mx_session.h */

enum mx_token_in {
    MX_TOKEN_HEADER = 0, /* Authorization: Bearer */
    MX_TOKEN_QUERY,      /* ?access_token= */
};

struct mx_req {
    const char *method;
    const char *path;         /* from the server root, already encoded (mx_path) */
    const struct mx_user *as; /* send this session's access token; NULL: none */
    const char *token;        /* send this token instead (e.g. a made-up one) */
    enum mx_token_in token_in;
    bool appservice;            /* send the application service's as_token */
    const char *assert_user;    /* ?user_id= (identity assertion) */
    const char *assert_device;  /* ?device_id= (since 1.17) */
    json_t *body;               /* borrowed; sent as JSON */
    const char *raw_body;       /* sent verbatim instead of body */
    const char *content_type;   /* default "application/json" when there is a body */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
    bool no_retry;              /* do not wait and retry on 429 (rate-limit checks) */
};

struct mx_resp {
    long status;        /* 0 when no HTTP response arrived */
    char *content_type; /* NULL when absent */
    json_t *headers;    /* lower-cased header name -> last value (object) */
    char *body;         /* NUL-terminated raw body ("" when empty) */
    size_t body_len;
    json_t *json;              /* parsed body, NULL when not JSON */
    char transport_error[256]; /* one line, "" when a response arrived */
    char *summary;             /* "PUT /path {body}" with secrets redacted */
    char *schema_error; /* NULL, or why the body does not match the spec's schema */
    int retries;        /* 429 answers that were waited out */
    double elapsed_ms;
};

/* The longest wait one 429 may ask for: a rate limit that asks for more
 * makes a run impossible, so the run stops there. */
#define MX_RATE_LIMIT_MAX_WAIT_MS 30000

/* Performs the request. Honours Retry-After / retry_after_ms on 429 within
 * the run's budget unless no_retry; a wait the run cannot afford (longer
 * than MX_RATE_LIMIT_MAX_WAIT_MS, past the --deadline or the check's budget)
 * goes to mx_rate_limit_stop() (mx_session.h), which inside a check stops the
 * run. Validates the body against the schema
 * for (method, path, status) and records the exchange for the reports.
 * Never returns NULL. */
const struct mx_resp *mx_send(const struct mx_req *req);
#define MX_SEND(...) mx_send(&(struct mx_req){__VA_ARGS__})

/* printf-like path builder: every %s argument is percent-encoded as one
 * path segment (or query value). Only %s is supported. */
const char *mx_path(const char *fmt, ...);
/* The inverse for one segment: the first n bytes of seg percent-decoded.
 * Arena-owned; NULL when it does not decode. */
const char *mx_path_decode(const char *seg, size_t n);

/* Case-insensitive header lookup; borrowed, NULL when absent. */
const char *mx_header(const struct mx_resp *r, const char *name);

/* Strings for messages: the errcode of a JSON error body, or NULL. */
const char *mx_errcode(const struct mx_resp *r);

/* Frees everything the arena holds (responses, paths, sessions). */
void mx_arena_free(void);
/* Registers memory the arena frees later with free(); returns p. */
void *mx_arena_keep(void *p);
/* The same with another release function (NULL p is ignored). */
void *mx_arena_keep_fn(void *p, void (*free_fn)(void *));
/* Steals the reference to j; the arena decrefs it. Returns j. */
json_t *mx_arena_keep_json(json_t *j);
/* Arena-owned copies and formatted strings (NULL on OOM / NULL input). */
char *mx_arena_strdup(const char *s);
char *mx_arena_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether mx_send records exchanges and checks schemas (on by default;
 * mx_test_fini turns it off so clean-up does not clutter the transcript). */
void mx_client_set_recording(bool on);
/* Called with every request and its response while recording is on, after
 * mx_send has done its own work (the response is arena-owned, the request
 * the caller's). The harness judges cross-cutting rules here; NULL removes
 * the hook. The hook may end the test (criterion's fatal assertions). */
void mx_client_set_response_hook(void (*on_response)(const struct mx_req *req,
                                                     const struct mx_resp *r));

/* Starts a new 429 waiting budget (mx_test_init calls it). */
void mx_client_reset_retry_budget(void);

/* A monotonic clock in milliseconds, and a sleep that resumes after signals
 * (for waits the server asked for, such as Retry-After). */
double mx_now_ms(void);
void mx_sleep_ms(long ms);

/* Global set-up/tear-down of libcurl; once per process. */
int mx_client_global_init(void);
void mx_client_global_cleanup(void);

#endif
