/* The suite's HTTP client: the only layer that knows libcurl.
 *
 * Scenarios describe a request with struct mx_req (designated initialisers,
 * see MX_SEND) and get back a struct mx_resp that holds the status, the
 * headers the suite judges, the raw body and its parsed JSON.
 *
 * The client knows nothing of checks: where to send and how long to wait
 * come from a configuration source (mx_client_set_config), and what a check
 * wants done with every exchange (the transcript, the schema judgement, the
 * cross-cutting rules, the cost count) is an observer the harness installs
 * (mx_client_set_observer).
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

/* One logged-in device of an account (or, for AS users, an account whose
 * device may be absent: device_id/access_token NULL). Provisioned by the
 * harness (mx_session.h); the client only reads access_token. */
struct mx_user {
    const char *user_id; /* "@local:server" */
    const char *localpart;
    const char *password;     /* NULL for application-service users */
    const char *device_id;    /* NULL when no device */
    const char *access_token; /* NULL when no token */
    bool appservice_user;     /* registered by the application service */
};

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
 * than MX_RATE_LIMIT_MAX_WAIT_MS, past the deadline or the check's budget)
 * goes to the observer's on_rate_limit. Tells the observer about the
 * exchange (see struct mx_client_observer). Never returns NULL. */
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

/* Where and how to send: the client reads these for every request. */
struct mx_client_config {
    const char *homeserver; /* base URL, no trailing slash; NULL: none */
    long timeout_s;         /* per request */
    const char *as_token;   /* sent for requests with .appservice */
    bool insecure;          /* do not verify TLS certificates */
    const char *cacert;     /* CA bundle; NULL: the system's */
    long retry_budget_ms;   /* total wait on 429 between mx_client_reset_retry_budget */
    long deadline_at;       /* epoch seconds no 429 wait may pass; 0: none */
};

/* The function mx_send asks for its configuration on every request (so
 * that a reloaded configuration shows at once); it returns borrowed
 * settings. NULL, the default, means no homeserver, a 10 s timeout and a
 * 30 s retry budget. */
void mx_client_set_config(const struct mx_client_config *(*source)(void));

/* What the harness wants done with every exchange. Any member may be NULL.
 * The request is the caller's (method filled in), the response the arena's. */
struct mx_client_observer {
    /* Every HTTP attempt, a waited-out 429 too, whatever the recording
     * switch says; status 0 when no response arrived. path is as given. */
    void (*on_attempt)(const char *method, const char *path, const char *body,
                       long status);
    /* Once per mx_send while recording: the path as sent (query included),
     * the body text as sent (NULL when none). May annotate r (schema_error). */
    void (*on_exchange)(const struct mx_req *req, const char *sent_path, const char *body,
                        struct mx_resp *r);
    /* A 429 asked for a wait the run cannot afford (why says which bound);
     * whatever the recording switch says. */
    void (*on_rate_limit)(const char *method, const char *path, const struct mx_resp *r,
                          long wait_ms, const char *why);
    /* Last, while recording, with nothing of the client's left to free: it
     * may end the test (criterion's fatal assertions). */
    void (*on_response)(const struct mx_req *req, const struct mx_resp *r);
};

/* Installs the observer (borrowed: keep it alive, e.g. static); NULL
 * removes it. */
void mx_client_set_observer(const struct mx_client_observer *observer);
/* Whether mx_send tells on_exchange and on_response (on by default;
 * mx_test_fini turns it off so clean-up does not clutter the transcript). */
void mx_client_set_recording(bool on);

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
