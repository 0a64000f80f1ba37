/* Cross-cutting rules, judged on every response a check receives.
 *
 * Some rules hold for every response whatever the endpoint: the JSON content
 * type and body (ERR-JSON), the standard error body (ERR-SHAPE), the errcode
 * of a 429 (ERR-RATELIMIT). A check that happens to receive a response that
 * breaks one of them is not the place to fail: the break is recorded for the
 * runner, which charges it to the rule's own check (mx_record_crosscut). And
 * when a response shows that the server does not even take the check's
 * credentials (a bearer token answered with M_MISSING_TOKEN), the check
 * cannot reach its own question: it is blocked by AUTH-HEADER.
 */
#ifndef MX_CROSSCUT_H
#define MX_CROSSCUT_H

#include "mx_client.h"

/* The observer's on_exchange (struct mx_client_observer), installed by
 * mx_test_init: records the exchange for the check's transcript and judges
 * the body against its schema (ERR-SCHEMA, in r->schema_error too). */
void mx_crosscut_on_exchange(const struct mx_req *req, const char *sent_path,
                             const char *body, struct mx_resp *r);
/* The observer's on_response, installed by mx_test_init: updates the
 * check's model, records cross-cutting breaks, may block the check. */
void mx_crosscut_on_response(const struct mx_req *req, const struct mx_resp *r);

/* Records that r breaks rule id, unless the running check is id's own (its
 * own assertions judge it then). printf-like reason. */
void mx_crosscut(const char *id, const struct mx_resp *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
