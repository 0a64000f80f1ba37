/* --request-log: one JSON object per line per request received, for reading
 * a failing check's server side next to the suite's transcript and for
 * tests that verify what a client sent. Secrets never reach the file: query
 * access_token values and the body's secret members are replaced by
 * "<redacted>"; bodies are cut at MOCK_REQLOG_BODY_MAX bytes. */
#ifndef MOCK_REQLOG_H
#define MOCK_REQLOG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Bodies longer than this (after redaction) are logged cut, as text. */
#define MOCK_REQLOG_BODY_MAX 2048

struct mock_reqlog;

/* What one line says. All strings borrowed; NULL when absent. */
struct mock_reqlog_entry {
    const char *client; /* peer address */
    const char *method;
    const char *uri; /* request target as sent */
    unsigned status;
    const char *user_id;   /* who the request was authenticated as */
    const char *device_id; /* the device of its access token */
    const char *body;      /* as received; any bytes */
    size_t body_len;
    bool body_dropped; /* over MOCK_MAX_BODY: not kept */
};

/* Opens path for appending. Returns a new log, or NULL with a one-line
 * reason in err. */
struct mock_reqlog *mock_reqlog_open(const char *path, char *err, size_t err_len);
void mock_reqlog_close(struct mock_reqlog *log);

/* Appends one line and flushes it. Thread-safe. The line is a JSON object:
 * time, client, method, path (redacted), status, user_id and device_id (null
 * when anonymous), body_bytes, and then one of body (the redacted JSON
 * value), body_text (redacted, cut text with body_cut true) or nothing when
 * the body was empty or dropped. */
void mock_reqlog_write(struct mock_reqlog *log, const struct mock_reqlog_entry *e);

/* Writes uri into out (size out_len, always NUL-terminated) with the value of
 * every access_token query parameter replaced by "<redacted>". */
void mock_reqlog_redact(const char *uri, char *out, size_t out_len);

/* Replaces, in place and at any depth, the value of every member whose name
 * is a secret (password, access_token, as_token, mac, ...) by "<redacted>". */
void mock_reqlog_redact_json(json_t *value);

#endif
