/* Unit tests of the token-bucket rate limiter, with a fake clock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

static const int64_t t0 = 1700000000000;

Test(ratelimit, burst_then_steady_rate) {
    struct mock_ratelimit *rl = mock_ratelimit_new(6); /* one per 10 s */
    cr_assert_not_null(rl);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", t0), 0, "request %d",
                     i);
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", t0), 10000);
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", t0 + 4000), 6000);
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", t0 + 10000), 0);
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", t0 + 10001), 9999);
    /* Keys are independent per IP and per action. */
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.2", "login", t0), 0);
    cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "register", t0), 0);
    /* A long idle time refills to the cap, not beyond. */
    int64_t later = t0 + 3600 * 1000;
    for (int i = 0; i < 6; i++)
        cr_expect_eq(mock_ratelimit_take(rl, "127.0.0.1", "login", later), 0);
    cr_expect_gt(mock_ratelimit_take(rl, "127.0.0.1", "login", later), 0);
    mock_ratelimit_free(rl);
}

Test(ratelimit, zero_budget_is_refused) {
    cr_expect_null(mock_ratelimit_new(0));
}

Test(ratelimit, key_cap_bounds_memory) {
    struct mock_ratelimit *rl = mock_ratelimit_new(2);
    cr_assert_not_null(rl);
    char ip[32];
    for (int i = 0; i < 3 * MOCK_RATELIMIT_MAX_KEYS; i++) {
        snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
        cr_assert_eq(mock_ratelimit_take(rl, ip, "login", t0 + i), 0);
    }
    /* Long keys and NULLs are fine too. */
    char long_ip[300];
    memset(long_ip, 'a', sizeof long_ip - 1);
    long_ip[sizeof long_ip - 1] = '\0';
    cr_expect_eq(mock_ratelimit_take(rl, long_ip, "x", t0), 0);
    cr_expect_eq(mock_ratelimit_take(rl, NULL, NULL, t0), 0);
    mock_ratelimit_free(rl);
}
