/* Size limits on a request, shared by the transport, the dispatcher and the
 * request log. */
#ifndef MOCK_LIMITS_H
#define MOCK_LIMITS_H

/* Largest request body accepted; larger ones get 413 M_TOO_LARGE (at once
 * when Content-Length says so, else as soon as the body goes over). */
#define MOCK_MAX_BODY (64 * 1024)
/* Largest request target (path and query, as sent): 414 M_TOO_LARGE. */
#define MOCK_MAX_TARGET (16 * 1024)
/* Most header fields, and most bytes in their names and values together
 * (Authorization included): 431 M_TOO_LARGE. */
#define MOCK_MAX_HEADERS 100
#define MOCK_MAX_HEADER_BYTES (16 * 1024)

#endif
