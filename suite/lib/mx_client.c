/* The suite's HTTP client over libcurl (the only file that includes it).
 *
 * One easy handle per process, reused so connections are kept alive; tests
 * run in separate processes, so there is no sharing between threads. */
#include "mx_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mx_redact.h"

/* ---- arena ---- */

struct arena_item {
    void *p;
    void (*free_fn)(void *);
};

static struct arena_item *arena;
static size_t arena_len, arena_cap;

void *mx_arena_keep_fn(void *p, void (*free_fn)(void *)) {
    if (!p)
        return NULL;
    if (arena_len == arena_cap) {
        size_t cap = arena_cap ? arena_cap * 2 : 64;
        struct arena_item *n = realloc(arena, cap * sizeof(*n));
        if (!n) {
            /* Out of memory: leak rather than free memory still in use. */
            return p;
        }
        arena = n;
        arena_cap = cap;
    }
    arena[arena_len].p = p;
    arena[arena_len].free_fn = free_fn;
    arena_len++;
    return p;
}

void *mx_arena_keep(void *p) {
    return mx_arena_keep_fn(p, free);
}

static void on_free_json(void *p) {
    json_decref(p);
}

json_t *mx_arena_keep_json(json_t *j) {
    return mx_arena_keep_fn(j, on_free_json);
}

char *mx_arena_strdup(const char *s) {
    return s ? mx_arena_keep(strdup(s)) : NULL;
}

char *mx_arena_printf(const char *fmt, ...) {
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return mx_arena_keep(s);
}

void mx_arena_free(void) {
    /* Newest first: later items may refer to earlier ones. */
    while (arena_len > 0) {
        arena_len--;
        arena[arena_len].free_fn(arena[arena_len].p);
    }
    free(arena);
    arena = NULL;
    arena_cap = 0;
}

/* ---- libcurl ---- */

static CURL *handle;
static bool global_done;
static long retry_waited_ms;
static bool recording = true;

int mx_client_global_init(void) {
    if (global_done)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    global_done = true;
    return 0;
}

void mx_client_global_cleanup(void) {
    if (handle) {
        curl_easy_cleanup(handle);
        handle = NULL;
    }
    if (global_done) {
        curl_global_cleanup();
        global_done = false;
    }
}

static const struct mx_client_observer no_observer;
static const struct mx_client_observer *observer = &no_observer;
static const struct mx_client_config *(*config_source)(void);

void mx_client_set_observer(const struct mx_client_observer *o) {
    observer = o ? o : &no_observer;
}

void mx_client_set_config(const struct mx_client_config *(*source)(void)) {
    config_source = source;
}

static const struct mx_client_config *config(void) {
    static const struct mx_client_config defaults = {
        .timeout_s = 10,
        .retry_budget_ms = 30000,
    };
    const struct mx_client_config *c = config_source ? config_source() : NULL;
    return c ? c : &defaults;
}

void mx_client_set_recording(bool on) {
    recording = on;
}

static CURL *get_handle(void) {
    if (!handle) {
        if (mx_client_global_init() < 0)
            return NULL;
        handle = curl_easy_init();
    }
    return handle;
}

struct buffer {
    char *data;
    size_t len, cap;
};

static int buffer_add(struct buffer *b, const char *data, size_t len) {
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *n = realloc(b->data, cap);
        if (!n)
            return -1;
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
    struct buffer *b = userdata;
    if (buffer_add(b, data, size * nmemb) < 0)
        return 0;
    return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
    json_t *headers = userdata;
    size_t len = size * nmemb;

    /* A new status line starts a new response (after 100 Continue). */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        json_object_clear(headers);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t name_len = (size_t)(colon - data);
    char *name = strndup(data, name_len);
    if (!name)
        return 0;
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *v = colon + 1;
    const char *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    json_object_set_new(headers, name, json_stringn(v, (size_t)(end - v)));
    free(name);
    return len;
}

static const char *config_homeserver(void) {
    const char *hs = config()->homeserver;
    return hs ? hs : "";
}

/* Appends "?name=value" or "&name=value" with value percent-encoded. */
static int append_query(struct buffer *url, CURL *h, const char *name,
                        const char *value) {
    char *enc = curl_easy_escape(h, value, 0);
    if (!enc)
        return -1;
    const char *sep = memchr(url->data, '?', url->len) ? "&" : "?";
    int rc = 0;
    if (buffer_add(url, sep, 1) < 0 || buffer_add(url, name, strlen(name)) < 0 ||
        buffer_add(url, "=", 1) < 0 || buffer_add(url, enc, strlen(enc)) < 0)
        rc = -1;
    curl_free(enc);
    return rc;
}

static void describe_transport(char *out, size_t len, CURLcode code, const char *errbuf,
                               long os_errno) {
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(code);
    if (os_errno == ECONNRESET) {
        snprintf(out, len, "connection reset");
        return;
    }
    switch (code) {
        case CURLE_COULDNT_CONNECT:
            if (os_errno == ECONNREFUSED || strstr(detail, "refused"))
                snprintf(out, len, "connection refused");
            else
                snprintf(out, len, "cannot connect: %s", detail);
            break;
        case CURLE_OPERATION_TIMEDOUT:
            snprintf(out, len, "timed out after %ld s", config()->timeout_s);
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
            snprintf(out, len, "cannot resolve host: %s", detail);
            break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
            if (strstr(detail, "reset"))
                snprintf(out, len, "connection reset");
            else
                snprintf(out, len, "%s", detail);
            break;
        case CURLE_GOT_NOTHING:
            snprintf(out, len, "connection closed without a response");
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
            snprintf(out, len, "TLS: %s", detail);
            break;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
            snprintf(out, len, "bad homeserver URL \"%s\": %s", config_homeserver(),
                     detail);
            break;
        default:
            snprintf(out, len, "%s", detail);
            break;
    }
    /* One line. */
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* How long a 429 asks us to wait: Retry-After (seconds), else the body's
 * retry_after_ms, else one second. */
static long retry_wait_ms(const struct mx_resp *r) {
    const char *ra = mx_header(r, "retry-after");
    if (ra) {
        char *end;
        errno = 0;
        long s = strtol(ra, &end, 10);
        if (errno == 0 && end != ra && *end == '\0' && s >= 0)
            return s * 1000;
    }
    json_t *ms = r->json ? json_object_get(r->json, "retry_after_ms") : NULL;
    if (json_is_integer(ms) && json_integer_value(ms) >= 0)
        return (long)json_integer_value(ms);
    return 1000;
}

/* Whether the run cannot wait wait_ms for a 429: longer than
 * MX_RATE_LIMIT_MAX_WAIT_MS, past the --deadline, or past the check's
 * budget. Says which in why. */
static bool wait_unaffordable(long wait_ms, char *why, size_t len) {
    const struct mx_client_config *env = config();
    long now = (long)time(NULL);

    if (wait_ms > MX_RATE_LIMIT_MAX_WAIT_MS) {
        snprintf(why, len, "longer than the %d s the suite waits for one request",
                 MX_RATE_LIMIT_MAX_WAIT_MS / 1000);
        return true;
    }
    if (env->deadline_at > 0 && now + (wait_ms + 999) / 1000 > env->deadline_at) {
        snprintf(why, len, "longer than the %ld s the run's --deadline leaves",
                 env->deadline_at > now ? env->deadline_at - now : 0L);
        return true;
    }
    if (retry_waited_ms + wait_ms > env->retry_budget_ms) {
        snprintf(why, len,
                 "more than this check can wait: it has waited %ld ms on rate limits "
                 "already, and waits %ld ms at most",
                 retry_waited_ms, env->retry_budget_ms);
        return true;
    }
    return false;
}

double mx_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void mx_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void free_resp(void *p) {
    struct mx_resp *r = p;
    free(r->content_type);
    json_decref(r->headers);
    free(r->body);
    json_decref(r->json);
    free(r->summary);
    free(r->schema_error);
    free(r);
}

/* One HTTP exchange into r (fields reset first). */
static void perform(const struct mx_req *req, const char *url, const char *body_text,
                    struct curl_slist *hdrs, struct mx_resp *r) {
    char errbuf[CURL_ERROR_SIZE] = "";
    struct buffer body = {0};
    const struct mx_client_config *env = config();
    CURL *h = get_handle();

    free(r->content_type);
    r->content_type = NULL;
    free(r->body);
    r->body = NULL;
    json_decref(r->json);
    r->json = NULL;
    json_object_clear(r->headers);
    r->status = 0;
    r->transport_error[0] = '\0';

    if (!h) {
        snprintf(r->transport_error, sizeof(r->transport_error),
                 "cannot initialise libcurl");
        goto out;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, env->timeout_s);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "device-conformance/" MXDEV_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r->headers);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    /* Only HTTP(S); a redirect is reported, never followed. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (env->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (env->cacert && env->cacert[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, env->cacert);

    if (strcmp(req->method, "GET") == 0 && !body_text) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        if (body_text) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_text);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)strlen(body_text));
        } else if (strcmp(req->method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
    }

    double t0 = mx_now_ms();
    CURLcode code = curl_easy_perform(h);
    r->elapsed_ms = mx_now_ms() - t0;
    if (code != CURLE_OK) {
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        describe_transport(r->transport_error, sizeof(r->transport_error), code, errbuf,
                           os_errno);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    const char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        r->content_type = strdup(ct);

out:
    r->body = body.data ? body.data : strdup("");
    r->body_len = body.len;
    if (r->body_len > 0)
        r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
}

const struct mx_resp *mx_send(const struct mx_req *req) {
    const struct mx_client_config *env = config();
    struct mx_resp *r = calloc(1, sizeof(*r));
    struct buffer url = {0};
    struct curl_slist *hdrs = NULL;
    char *body_text = NULL;
    char *auth_header = NULL;
    char *ct_header = NULL;
    const char *method = req->method ? req->method : "GET";
    const char *path = req->path ? req->path : "/";
    struct mx_req copy = *req;
    char stop_why[160] = "";
    long stop_wait_ms = -1; /* >= 0: a 429 asked for more than the run can wait */
    copy.method = method;

    if (!r)
        abort(); /* nothing sensible to report without memory */
    r->headers = json_object();
    mx_arena_keep_fn(r, free_resp);

    CURL *h = get_handle();
    const char *hs = config_homeserver();
    if (buffer_add(&url, hs, strlen(hs)) < 0 || buffer_add(&url, path, strlen(path)) < 0)
        goto oom;

    const char *token = req->token;
    if (!token && req->appservice)
        token = env->as_token;
    if (!token && req->as)
        token = req->as->access_token;
    if (token && h && req->token_in == MX_TOKEN_QUERY) {
        if (append_query(&url, h, "access_token", token) < 0)
            goto oom;
    } else if (token) {
        if (asprintf(&auth_header, "Authorization: Bearer %s", token) < 0) {
            auth_header = NULL;
            goto oom;
        }
        hdrs = curl_slist_append(hdrs, auth_header);
    }
    if (req->assert_user && h && append_query(&url, h, "user_id", req->assert_user) < 0)
        goto oom;
    if (req->assert_device && h &&
        append_query(&url, h, "device_id", req->assert_device) < 0)
        goto oom;

    if (req->raw_body) {
        body_text = strdup(req->raw_body);
    } else if (req->body) {
        body_text = json_dumps(req->body, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (body_text) {
        const char *ct = req->content_type ? req->content_type : "application/json";
        if (asprintf(&ct_header, "Content-Type: %s", ct) < 0) {
            ct_header = NULL;
            goto oom;
        }
        hdrs = curl_slist_append(hdrs, ct_header);
    }
    /* No 100-continue round trip; some servers answer it badly. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (const char *const *x = req->headers; x && *x; x++)
        hdrs = curl_slist_append(hdrs, *x);

    for (;;) {
        perform(&copy, url.data, body_text, hdrs, r);
        if (observer->on_attempt)
            observer->on_attempt(method, path, body_text, r->status);
        if (r->status != 429 || req->no_retry)
            break;
        long wait = retry_wait_ms(r);
        if (wait_unaffordable(wait, stop_why, sizeof(stop_why))) {
            stop_wait_ms = wait;
            break;
        }
        retry_waited_ms += wait;
        r->retries++;
        mx_sleep_ms(wait);
    }

    /* The summary shows the path as sent, query included, secrets hidden. */
    {
        const char *sent_path = url.data + strlen(hs);
        char *raw = NULL;
        if (asprintf(&raw, "%s %s%s%s", method, sent_path, body_text ? " " : "",
                     body_text ? body_text : "") < 0)
            raw = NULL;
        r->summary = raw ? mx_redact(raw) : NULL;
        free(raw);
        if (recording && observer->on_exchange)
            observer->on_exchange(&copy, sent_path, body_text, r);
    }
    goto out;

oom:
    snprintf(r->transport_error, sizeof(r->transport_error), "out of memory");
    if (!r->body)
        r->body = strdup("");
out:
    if (!r->summary)
        r->summary = strdup(method);
    curl_slist_free_all(hdrs);
    free(auth_header);
    free(ct_header);
    free(body_text);
    free(url.data);
    /* After the exchange is recorded: the 429 is evidence too. */
    if (stop_wait_ms >= 0 && observer->on_rate_limit)
        observer->on_rate_limit(method, path, r, stop_wait_ms, stop_why);
    /* Last, with nothing of ours left to free: the hook may end the test. */
    if (recording && observer->on_response)
        observer->on_response(&copy, r);
    return r;
}

const char *mx_path(const char *fmt, ...) {
    struct buffer out = {0};
    va_list ap;
    CURL *h = get_handle();

    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            const char *arg = va_arg(ap, const char *);
            char *enc = curl_easy_escape(h, arg ? arg : "", 0);
            if (enc) {
                buffer_add(&out, enc, strlen(enc));
                curl_free(enc);
            }
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            buffer_add(&out, "%", 1);
            p++;
        } else {
            buffer_add(&out, p, 1);
        }
    }
    va_end(ap);
    if (!out.data)
        out.data = strdup("");
    return mx_arena_keep(out.data);
}

const char *mx_path_decode(const char *seg, size_t n) {
    int len = 0;
    char *raw = curl_easy_unescape(get_handle(), seg, (int)n, &len);
    char *out;

    if (!raw)
        return NULL;
    /* A NUL inside names no device the suite knows. */
    out = memchr(raw, '\0', (size_t)len) ? NULL : strndup(raw, (size_t)len);
    curl_free(raw);
    return out ? mx_arena_keep(out) : NULL;
}

const char *mx_header(const struct mx_resp *r, const char *name) {
    if (!r || !r->headers || !name)
        return NULL;
    char lower[128];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[i] = '\0';
    return json_string_value(json_object_get(r->headers, lower));
}

const char *mx_errcode(const struct mx_resp *r) {
    if (!r || !json_is_object(r->json))
        return NULL;
    return json_string_value(json_object_get(r->json, "errcode"));
}

void mx_client_reset_retry_budget(void) {
    retry_waited_ms = 0;
}
