/* Unit tests: one request through mock_dispatch, as the server hands it
 * over. */
#ifndef MOCK_TESTS_DISPATCH_CALL_H
#define MOCK_TESTS_DISPATCH_CALL_H

#include <stdio.h>
#include <string.h>

#include "dispatch.h"

/* method uri with token (NULL: none) as a Bearer Authorization and body
 * (NULL: none), from 127.0.0.1. The reply is the caller's to clean
 * (mock_reply_clean). */
static inline void dispatch_call(struct mock_state *state, const char *method,
                                 const char *uri, const char *token, const char *body,
                                 struct mock_reply *reply) {
    char auth[512];
    struct mock_request req = {
        .method = method,
        .uri = uri,
        .client_ip = "127.0.0.1",
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
    };
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Bearer %s", token);
        req.authorization = auth;
    }
    mock_dispatch(state, &req, reply);
}

#endif
