/* Token-bucket rate limiter keyed by (client IP, action).
 *
 * Each key has a bucket holding up to per_minute requests that refills
 * continuously at per_minute per minute, so a fresh client may burst its
 * whole minute's budget and is then held to the steady rate. Thread-safe
 * (own mutex). Memory is bounded: at most MOCK_RATELIMIT_MAX_KEYS buckets. */
#ifndef MOCK_RATELIMIT_H
#define MOCK_RATELIMIT_H

#include <stdint.h>

#define MOCK_RATELIMIT_MAX_KEYS 4096

struct mock_ratelimit;

/* Returns a new limiter allowing per_minute (>= 1) requests per minute per
 * key, or NULL on OOM / per_minute == 0. */
struct mock_ratelimit *mock_ratelimit_new(unsigned per_minute);
void mock_ratelimit_free(struct mock_ratelimit *rl);

/* Takes one request from the bucket of (ip, action) at time now_ms.
 * Returns 0 when allowed, or the milliseconds (>= 1) until a request would
 * be allowed (for retry_after_ms). A failed allocation allows the request:
 * the limiter never turns OOM into a refusal. */
int64_t mock_ratelimit_take(struct mock_ratelimit *rl, const char *ip, const char *action,
                            int64_t now_ms);

#endif
