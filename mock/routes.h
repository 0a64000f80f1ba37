/* The static route table of the mock and its path matcher.
 *
 * Each row is {method, path template, handler, operation, auth, flags,
 * rate-limit action}; a template segment written "{name}" captures one path
 * segment. Matching splits the raw path at '/', percent-decodes each segment
 * exactly once (so "%2F" inside a device ID is part of the ID, never a
 * separator) and compares literal segments exactly. */
#ifndef MOCK_ROUTES_H
#define MOCK_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "handler.h"

enum mock_auth_mode {
    MOCK_AUTH_NONE,     /* no token looked at */
    MOCK_AUTH_OPTIONAL, /* a token, when given, must be valid */
    MOCK_AUTH_REQUIRED,
};

/* What a route is, for the layers around its handler. */
enum mock_route_flag {
    MOCK_ROUTE_JSON_BODY = 1, /* the body is a JSON object (an empty body counts as {}) */
    MOCK_ROUTE_DEVICE_API = 2, /* one of the five device management operations */
    MOCK_ROUTE_NEW_USER = 4,   /* an application service may assert a user that does
                                  not exist yet (registration) */
};

struct mock_route {
    const char *method;
    const char *path; /* template */
    void (*handler)(struct mock_ctx *ctx);
    const char *operation; /* the spec's operationId, for the deviation filters */
    enum mock_auth_mode auth;
    unsigned flags;         /* enum mock_route_flag bits */
    const char *rate_limit; /* rate-limit action for --rate-limit, or NULL */
};

enum mock_route_result {
    MOCK_ROUTE_FOUND,
    MOCK_ROUTE_OPTIONS, /* OPTIONS on a known path */
    MOCK_ROUTE_NOT_FOUND,
    MOCK_ROUTE_BAD_METHOD, /* known path, other method */
    MOCK_ROUTE_NO_MEMORY,
};

/* Matches method + raw path (no query). On MOCK_ROUTE_FOUND, m is filled and
 * must be cleaned with mock_match_clean; otherwise m is left clean. */
enum mock_route_result mock_route_match(const char *method, const char *path,
                                        struct mock_match *m);
/* The methods served on path (for Allow headers): a static string such as
 * "GET, PUT, DELETE, OPTIONS", or NULL when the path is unknown. */
const char *mock_route_methods(const char *path);
void mock_match_clean(struct mock_match *m);

#endif
