/* Matchers: plain C judgements about responses, with no test framework in
 * them. Each returns 0 when the response matches, or -1 and writes one line
 * of explanation into the caller's struct mx_error (the first error wins, as
 * with jansson's json_error_t). mx_assert.h turns them into test failures. */
#ifndef MX_MATCH_H
#define MX_MATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "mx_client.h"

struct mx_error {
    char text[1024];
};

void mx_error_set(struct mx_error *err, const char *fmt, ...);

/* The HTTP status equals status (a transport failure never matches). */
int mx_match_status(const struct mx_resp *r, long status, struct mx_error *err);
/* The status is one of the zero-terminated list. */
int mx_match_status_in(const struct mx_resp *r, const long *statuses,
                       struct mx_error *err);
/* ERR-JSON: Content-Type application/json and a JSON object body. */
int mx_match_json_object(const struct mx_resp *r, struct mx_error *err);
/* ERR-SHAPE: a JSON object with string errcode and string error. */
int mx_match_error_shape(const struct mx_resp *r, struct mx_error *err);
/* errcode equals one of the NULL-terminated list (stable codes only: an
 * unstable-prefixed code is reported with the stable one expected). */
int mx_match_errcode_in(const struct mx_resp *r, const char *const *errcodes,
                        struct mx_error *err);
/* UIA-CHALLENGE: 401 with non-empty flows of {stages: [string]}, params an
 * object if present, session a string if present. */
int mx_match_uia_challenge(const struct mx_resp *r, struct mx_error *err);
/* One flow whose stages are exactly the given list (NULL-terminated). */
int mx_match_uia_flow(const struct mx_resp *r, const char *const *stages,
                      struct mx_error *err);
/* ERR-SCHEMA: the body validates against a schema in fixtures/schemas. */
int mx_match_schema(const json_t *body, const char *schema_file, struct mx_error *err);
/* The response's own schema check (done by mx_send) found nothing wrong. */
int mx_match_schema_ok(const struct mx_resp *r, struct mx_error *err);
/* A JSON string member equals expected, byte for byte. */
int mx_match_string_member(const json_t *obj, const char *key, const char *expected,
                           struct mx_error *err);

#endif
