/* --request-log: one line per request received:
 * "TIME CLIENT METHOD PATH STATUS", with access_token values redacted. */
#ifndef MOCK_REQLOG_H
#define MOCK_REQLOG_H

#include <stddef.h>

struct mock_reqlog;

/* Opens path for appending. Returns a new log, or NULL with a one-line
 * reason in err. */
struct mock_reqlog *mock_reqlog_open(const char *path, char *err, size_t err_len);
void mock_reqlog_close(struct mock_reqlog *log);

/* Appends one line and flushes it. Thread-safe. uri is the request target as
 * sent; control characters are replaced so a line stays one line. */
void mock_reqlog_write(struct mock_reqlog *log, const char *client, const char *method,
                       const char *uri, unsigned status);

/* Writes uri into out (size out_len, always NUL-terminated) with the value of
 * every access_token query parameter replaced by "<redacted>". */
void mock_reqlog_redact(const char *uri, char *out, size_t out_len);

#endif
