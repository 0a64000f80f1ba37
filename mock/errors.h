/* The one place that builds Matrix error bodies {"errcode", "error"}. */
#ifndef MOCK_ERRORS_H
#define MOCK_ERRORS_H

#include <stdint.h>

#include <jansson.h>

#include "dispatch.h"

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
