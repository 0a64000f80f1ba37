/* The mock's request logic without any HTTP library types: a plain request
 * in, a plain reply out. mock/server.c feeds it from libmicrohttpd; the unit
 * tests and the fuzz harness call it directly, so they drive exactly the
 * logic the server runs (parse, validate, route, authenticate, handle,
 * deviation filters, error body). */
#ifndef MOCK_DISPATCH_H
#define MOCK_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errors.h"
#include "handler.h"
#include "limits.h"
#include "state.h"

/* Handles one request: fills reply (always, even on out-of-memory: then a
 * bare 500). Thread-safe: takes the store lock around the request. */
void mock_dispatch(struct mock_state *state, const struct mock_request *req,
                   struct mock_reply *reply);

/* Refuses a request before it is dispatched (a transport limit): fills reply
 * with status and {"errcode": errcode, "error": why} and logs the request.
 * Touches no state but the request log. */
void mock_dispatch_refuse(struct mock_state *state, const struct mock_request *req,
                          unsigned status, const char *errcode, const char *why,
                          struct mock_reply *reply);

#endif
