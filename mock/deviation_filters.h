/* The SHAPE deviations (deviations.def) as filters over a finished reply:
 * each rewrites status, errcode, body or headers of what the correct
 * handler answered, and changes no state. */
#ifndef MOCK_DEVIATION_FILTERS_H
#define MOCK_DEVIATION_FILTERS_H

#include <stdbool.h>

#include "deviations.h"

struct mock_ctx;

/* Runs the filter of every switched-on deviation over ctx->reply, in the
 * order of deviations.def. ctx->match.route is NULL when no route matched
 * (and for replies refused by the transport). Call it with the store lock
 * held when a handler ran. */
void mock_deviation_filters_apply(struct mock_ctx *ctx);

/* Whether d has a filter (for the check that every SHAPE row has one). */
bool mock_deviation_has_filter(enum mock_deviation d);

/* Whether a switched-on filter rewrites the JSON body of a successful reply
 * of operation (an operationId such as "getDevices"). A handler that would
 * write that body as text (reply->body) must then answer with reply->json,
 * or the filter cannot see it. */
bool mock_deviation_filters_rewrite_body(const struct mock_deviations *dev,
                                         const char *operation);

#endif
