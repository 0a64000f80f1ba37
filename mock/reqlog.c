/* The request log: what the mock received, for explaining a failing check
 * from the server side. One JSON object per line. */
#include "reqlog.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"

struct mock_reqlog {
    FILE *fp;
    pthread_mutex_t lock;
};

struct mock_reqlog *mock_reqlog_open(const char *path, char *err, size_t err_len) {
    struct mock_reqlog *log = calloc(1, sizeof *log);
    if (log == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    log->fp = fopen(path, "a");
    if (log->fp == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        free(log);
        return NULL;
    }
    pthread_mutex_init(&log->lock, NULL);
    return log;
}

void mock_reqlog_close(struct mock_reqlog *log) {
    if (log == NULL)
        return;
    fclose(log->fp);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

void mock_reqlog_redact(const char *uri, char *out, size_t out_len) {
    static const char key[] = "access_token=";
    static const char mask[] = "<redacted>";
    size_t o = 0;
    const char *q = strchr(uri, '?');
    for (const char *p = uri; *p != '\0' && o + 1 < out_len;) {
        /* A parameter starts right after '?' or '&'. */
        bool param_start = q != NULL && p > q && (p[-1] == '?' || p[-1] == '&');
        if (param_start && strncmp(p, key, sizeof key - 1) == 0) {
            for (const char *k = key; *k != '\0' && o + 1 < out_len; k++)
                out[o++] = *k;
            for (const char *m = mask; *m != '\0' && o + 1 < out_len; m++)
                out[o++] = *m;
            p += sizeof key - 1;
            while (*p != '\0' && *p != '&')
                p++;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

/* Member names whose values are secrets wherever they appear: passwords,
 * tokens of every kind, the shared-secret registration's HMAC. */
static const char *const secret_names[] = {
    "password",
    "new_password",
    "access_token",
    "refresh_token",
    "token",
    "as_token",
    "hs_token",
    "mac",
    "shared_secret",
    "registration_shared_secret",
    "registration_token",
    "secret",
};

static bool is_secret_name(const char *name) {
    for (size_t i = 0; i < sizeof secret_names / sizeof secret_names[0]; i++)
        if (strcmp(name, secret_names[i]) == 0)
            return true;
    return false;
}

void mock_reqlog_redact_json(json_t *value) {
    if (json_is_object(value)) {
        const char *key;
        json_t *member;
        void *tmp;
        json_object_foreach_safe(value, tmp, key, member) {
            if (is_secret_name(key))
                json_object_set_new(value, key, json_string("<redacted>"));
            else
                mock_reqlog_redact_json(member);
        }
    } else if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) mock_reqlog_redact_json(item);
    }
}

/* Whether text that is not JSON (so cannot be redacted member by member)
 * may hold a secret: it names one. */
static bool may_hold_secret(const char *text, size_t len) {
    static const char *const words[] = {"password", "token", "secret", "mac"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t n = strlen(words[w]);
        for (size_t i = 0; i + n <= len; i++) {
            size_t k = 0;
            while (k < n && tolower((unsigned char)text[i + k]) == words[w][k])
                k++;
            if (k == n)
                return true;
        }
    }
    return false;
}

/* A JSON string of the n bytes of text; when they are not UTF-8, bytes
 * outside printable ASCII become '?'. Returns a new reference, or NULL on
 * OOM. */
static json_t *safe_string(const char *text, size_t n) {
    json_t *s = json_stringn(text, n);
    if (s != NULL)
        return s;
    char *ascii = malloc(n + 1);
    if (ascii == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        ascii[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    s = json_stringn(ascii, n);
    free(ascii);
    return s;
}

/* safe_string of the first MOCK_REQLOG_BODY_MAX bytes of text, cut at a
 * character boundary; *cut tells whether anything was left out. */
static json_t *cut_text(const char *text, size_t len, bool *cut) {
    *cut = len > MOCK_REQLOG_BODY_MAX;
    size_t n = *cut ? MOCK_REQLOG_BODY_MAX : len;
    while (n > 0 && n < len && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return safe_string(text, n);
}

/* Adds body, or body_text (+ body_cut), to line. */
static void add_body(json_t *line, const struct mock_reqlog_entry *e) {
    json_object_set_new(line, "body_bytes", json_integer((json_int_t)e->body_len));
    if (e->body_dropped) {
        json_object_set_new(line, "body_dropped", json_true());
        return;
    }
    if (e->body == NULL || e->body_len == 0)
        return;
    bool cut = false;
    json_t *parsed = json_loadb(e->body, e->body_len, 0, NULL);
    if (parsed != NULL) {
        mock_reqlog_redact_json(parsed);
        char *text = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text != NULL && strlen(text) <= MOCK_REQLOG_BODY_MAX) {
            json_object_set_new(line, "body", parsed);
            parsed = NULL;
        } else if (text != NULL) {
            json_object_set_new(line, "body_text", cut_text(text, strlen(text), &cut));
        }
        free(text);
        json_decref(parsed);
    } else if (may_hold_secret(e->body, e->body_len)) {
        json_object_set_new(line, "body_text",
                            json_string("<not JSON, names a secret: withheld>"));
    } else {
        json_object_set_new(line, "body_text", cut_text(e->body, e->body_len, &cut));
    }
    if (cut)
        json_object_set_new(line, "body_cut", json_true());
}

static json_t *nullable(const char *s) {
    return s != NULL ? json_string(s) : json_null();
}

void mock_reqlog_write(struct mock_reqlog *log, const struct mock_reqlog_entry *e) {
    if (log == NULL)
        return;
    char path[MOCK_MAX_TARGET + 64];
    mock_reqlog_redact(e->uri != NULL ? e->uri : "", path, sizeof path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[48], secs[32];
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when, sizeof when, "%s.%03ldZ", secs, ts.tv_nsec / 1000000L);
    json_t *line = json_object();
    if (line == NULL)
        return;
    json_object_set_new(line, "time", json_string(when));
    json_object_set_new(line, "client", json_string(e->client != NULL ? e->client : "-"));
    const char *method = e->method != NULL ? e->method : "-";
    json_object_set_new(line, "method", safe_string(method, strlen(method)));
    json_object_set_new(line, "path", safe_string(path, strlen(path)));
    json_object_set_new(line, "status", json_integer(e->status));
    json_object_set_new(line, "user_id", nullable(e->user_id));
    json_object_set_new(line, "device_id", nullable(e->device_id));
    add_body(line, e);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    pthread_mutex_lock(&log->lock);
    fputs(text, log->fp);
    fputc('\n', log->fp);
    fflush(log->fp);
    pthread_mutex_unlock(&log->lock);
    free(text);
}
