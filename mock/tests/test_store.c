/* Unit tests of the in-memory store: users, devices, tokens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "random.h"
#include "store.h"

static struct store *st;

static void setup(void) {
    st = store_new();
    cr_assert_not_null(st);
    store_lock(st);
    cr_assert_eq(store_user_create(st, "@alice:localhost", "secret"), 0);
    cr_assert_eq(store_user_create(st, "@bob:localhost", NULL), 0);
}

static void teardown(void) {
    store_unlock(st);
    store_free(st);
    st = NULL;
}

TestSuite(store, .init = setup, .fini = teardown);

static int64_t elapsed_us(const struct timespec *a, const struct timespec *b) {
    return (int64_t)(b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000;
}

Test(store, user_create_and_exists) {
    cr_expect(store_user_exists(st, "@alice:localhost"));
    cr_expect_not(store_user_exists(st, "@carol:localhost"));
    cr_expect_not(store_user_exists(st, NULL));
    cr_expect_eq(store_user_create(st, "@alice:localhost", "other"), -1);
}

Test(store, password_checks) {
    cr_expect(store_user_password_ok(st, "@alice:localhost", "secret"));
    cr_expect_not(store_user_password_ok(st, "@alice:localhost", "secreT"));
    cr_expect_not(store_user_password_ok(st, "@alice:localhost", "secret2"));
    cr_expect_not(store_user_password_ok(st, "@alice:localhost", "secre"));
    cr_expect_not(store_user_password_ok(st, "@alice:localhost", ""));
    cr_expect_not(store_user_password_ok(st, "@alice:localhost", NULL));
    /* A user without a password can never log in with one. */
    cr_expect_not(store_user_password_ok(st, "@bob:localhost", ""));
    cr_expect_not(store_user_password_ok(st, "@nobody:localhost", "secret"));
}

Test(store, ct_equal) {
    cr_expect(mock_ct_equal("abc", "abc"));
    cr_expect(mock_ct_equal("", ""));
    cr_expect_not(mock_ct_equal("abc", "abd"));
    cr_expect_not(mock_ct_equal("abc", "ab"));
    cr_expect_not(mock_ct_equal("ab", "abc"));
    cr_expect_not(mock_ct_equal(NULL, "abc"));
    cr_expect_not(mock_ct_equal("abc", NULL));
}

Test(store, device_create_get_update) {
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV1", "Phone"), 0);
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV2", NULL), 0);
    cr_expect_eq(store_device_create(st, "@alice:localhost", "DEV1", "again"), -1);
    cr_expect_eq(store_device_create(st, "@carol:localhost", "DEV1", NULL), -1);
    /* Device IDs are per user: bob may have a DEV1 too. */
    cr_expect_eq(store_device_create(st, "@bob:localhost", "DEV1", NULL), 0);

    const struct store_device *d = store_device_get(st, "@alice:localhost", "DEV1");
    cr_assert_not_null(d);
    cr_expect_str_eq(d->user_id, "@alice:localhost");
    cr_expect_str_eq(d->device_id, "DEV1");
    cr_expect_str_eq(d->display_name, "Phone");
    cr_expect_null(d->last_seen_ip);
    cr_expect_eq(d->last_seen_ts, 0);

    d = store_device_get(st, "@alice:localhost", "DEV2");
    cr_assert_not_null(d);
    cr_expect_null(d->display_name);
    cr_expect_null(store_device_get(st, "@alice:localhost", "NOPE"));
    cr_expect_null(store_device_get(st, "@carol:localhost", "DEV1"));

    cr_expect_eq(store_device_set_name(st, "@alice:localhost", "DEV2", "Laptop"), 0);
    cr_expect_str_eq(store_device_get(st, "@alice:localhost", "DEV2")->display_name,
                     "Laptop");
    cr_expect_eq(store_device_set_name(st, "@alice:localhost", "DEV2", NULL), 0);
    cr_expect_null(store_device_get(st, "@alice:localhost", "DEV2")->display_name);
    cr_expect_eq(store_device_set_name(st, "@alice:localhost", "NOPE", "x"), -1);

    store_device_seen(st, "@alice:localhost", "DEV1", "127.0.0.1", 1234);
    store_device_seen(st, "@alice:localhost", "DEV1", "127.0.0.1", 1300);
    d = store_device_get(st, "@alice:localhost", "DEV1");
    cr_expect_str_eq(d->last_seen_ip, "127.0.0.1");
    cr_expect_eq(d->last_seen_ts, 1300);
    store_device_seen(st, "@alice:localhost", "DEV1", "::1", 1400);
    cr_expect_str_eq(d->last_seen_ip, "::1");
    /* Unknown devices are ignored. */
    store_device_seen(st, "@alice:localhost", "NOPE", "::1", 1400);
}

static void collect(const struct store_device *dev, void *arg) {
    char *buf = arg;
    strcat(buf, dev->device_id);
    strcat(buf, ",");
}

Test(store, list_in_creation_order_after_deletes) {
    const char *ids[] = {"D", "B", "A", "E", "C"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(store_device_create(st, "@alice:localhost", ids[i], NULL), 0);
    char buf[64] = "";
    cr_expect_eq(store_device_foreach(st, "@alice:localhost", collect, buf), 5);
    cr_expect_str_eq(buf, "D,B,A,E,C,");

    cr_expect_eq(store_device_delete(st, "@alice:localhost", "D"), 0); /* first */
    cr_expect_eq(store_device_delete(st, "@alice:localhost", "A"), 0); /* middle */
    cr_expect_eq(store_device_delete(st, "@alice:localhost", "C"), 0); /* last */
    cr_expect_eq(store_device_delete(st, "@alice:localhost", "C"), 1);
    cr_expect_eq(store_device_delete(st, "@carol:localhost", "C"), 1);
    buf[0] = '\0';
    cr_expect_eq(store_device_foreach(st, "@alice:localhost", collect, buf), 2);
    cr_expect_str_eq(buf, "B,E,");
    cr_expect_eq(store_device_count(st, "@alice:localhost"), 2);

    cr_assert_eq(store_device_create(st, "@alice:localhost", "A", NULL), 0);
    buf[0] = '\0';
    store_device_foreach(st, "@alice:localhost", collect, buf);
    cr_expect_str_eq(buf, "B,E,A,");
    cr_expect_eq(store_device_count(st, "@nobody:localhost"), 0);
    cr_expect_eq(store_device_foreach(st, "@nobody:localhost", collect, buf), 0);
}

Test(store, device_id_generate) {
    char id[11];
    for (int i = 0; i < 100; i++) {
        store_device_id_generate(st, "@alice:localhost", id);
        cr_assert_eq(strlen(id), 10);
        for (size_t j = 0; j < 10; j++)
            cr_assert(id[j] >= 'A' && id[j] <= 'Z', "bad character in %s", id);
        cr_assert_null(store_device_get(st, "@alice:localhost", id));
        cr_assert_eq(store_device_create(st, "@alice:localhost", id, NULL), 0);
    }
    cr_expect_eq(store_device_count(st, "@alice:localhost"), 100);
}

Test(store, token_issue_lookup_revoke) {
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV1", NULL), 0);
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV2", NULL), 0);
    cr_expect_null(store_token_issue(st, "@alice:localhost", "NOPE"));
    cr_expect_null(store_token_issue(st, "@carol:localhost", "DEV1"));

    const char *t = store_token_issue(st, "@alice:localhost", "DEV1");
    cr_assert_not_null(t);
    cr_expect_eq(strlen(t), strlen(STORE_TOKEN_PREFIX) + MOCK_SECRET_HEX_LEN);
    cr_expect_eq(strncmp(t, STORE_TOKEN_PREFIX, strlen(STORE_TOKEN_PREFIX)), 0);
    cr_expect_eq(strspn(t + 4, "0123456789abcdef"), MOCK_SECRET_HEX_LEN);
    char tok1[128];
    snprintf(tok1, sizeof tok1, "%s", t);

    struct store_token_owner owner;
    cr_assert_eq(store_token_lookup(st, tok1, &owner), 0);
    cr_expect_str_eq(owner.user_id, "@alice:localhost");
    cr_expect_str_eq(owner.device_id, "DEV1");
    cr_expect_str_eq(store_device_token(st, "@alice:localhost", "DEV1"), tok1);

    /* Near misses are unknown. */
    char near[160];
    snprintf(near, sizeof near, "%s", tok1);
    near[strlen(near) - 1] ^= 1;
    cr_expect_eq(store_token_lookup(st, near, &owner), -1);
    near[strlen(near) - 1] = '\0';
    cr_expect_eq(store_token_lookup(st, near, &owner), -1);
    snprintf(near, sizeof near, "%sx", tok1);
    cr_expect_eq(store_token_lookup(st, near, &owner), -1);
    cr_expect_eq(store_token_lookup(st, "", &owner), -1);
    cr_expect_eq(store_token_lookup(st, NULL, &owner), -1);

    /* A new token for the device revokes the old one. */
    const char *t2 = store_token_issue(st, "@alice:localhost", "DEV1");
    cr_assert_not_null(t2);
    cr_expect_str_neq(t2, tok1);
    cr_expect_eq(store_token_lookup(st, tok1, &owner), -1);
    cr_expect_eq(store_token_lookup(st, t2, &owner), 0);

    /* Revoking one token leaves the device and other tokens alone. */
    const char *t3 = store_token_issue(st, "@alice:localhost", "DEV2");
    char tok3[128];
    snprintf(tok3, sizeof tok3, "%s", t3);
    cr_expect_eq(store_token_revoke(st, t2), 0);
    cr_expect_eq(store_token_revoke(st, tok1), -1);
    cr_expect_null(store_device_token(st, "@alice:localhost", "DEV1"));
    cr_expect_not_null(store_device_get(st, "@alice:localhost", "DEV1"));
    cr_expect_eq(store_token_lookup(st, tok3, &owner), 0);

    /* Deleting a device revokes its token. */
    cr_expect_eq(store_device_delete(st, "@alice:localhost", "DEV2"), 0);
    cr_expect_eq(store_token_lookup(st, tok3, &owner), -1);
}

Test(store, token_insert) {
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV1", NULL), 0);
    cr_assert_eq(store_device_create(st, "@bob:localhost", "DEV1", NULL), 0);
    cr_expect_eq(store_token_insert(st, "@alice:localhost", "DEV1", "fixed"), 0);
    cr_expect_eq(store_token_insert(st, "@bob:localhost", "DEV1", "fixed"), -1);
    cr_expect_eq(store_token_insert(st, "@bob:localhost", "DEV1", ""), -1);
    cr_expect_eq(store_token_insert(st, "@bob:localhost", "NOPE", "other"), -1);
    struct store_token_owner owner;
    cr_assert_eq(store_token_lookup(st, "fixed", &owner), 0);
    cr_expect_str_eq(owner.user_id, "@alice:localhost");
    /* Replacing it by an issued token revokes the inserted one. */
    cr_assert_not_null(store_token_issue(st, "@alice:localhost", "DEV1"));
    cr_expect_eq(store_token_lookup(st, "fixed", &owner), -1);
}

static void count_dev(const struct store_device *dev, void *arg) {
    size_t *n = arg;
    *n += dev->device_id[0] != '\0';
}

Test(store, ten_thousand_devices) {
    enum { N = 10000 };
    char id[32];
    struct timespec t0, t1, t2, t3;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "DEV%05d", i);
        cr_assert_eq(store_device_create(st, "@alice:localhost", id, "name"), 0);
        cr_assert_not_null(store_token_issue(st, "@alice:localhost", id));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    size_t n = 0;
    cr_assert_eq(store_device_foreach(st, "@alice:localhost", count_dev, &n), N);
    cr_assert_eq(n, N);
    clock_gettime(CLOCK_MONOTONIC, &t2);

    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "DEV%05d", (i * 7919) % N);
        cr_assert_not_null(store_device_get(st, "@alice:localhost", id));
        cr_assert_not_null(store_device_token(st, "@alice:localhost", id));
    }
    clock_gettime(CLOCK_MONOTONIC, &t3);

    int64_t list_us = elapsed_us(&t1, &t2);
    printf("store: create+token %d devices %lld us, list %lld us, %d lookups %lld us\n",
           N, (long long)elapsed_us(&t0, &t1), (long long)list_us, N,
           (long long)elapsed_us(&t2, &t3));
    /* Printed, never asserted: speed is measured by mock/bench/bench.sh. */

    /* Deleting them all leaves no token behind. */
    for (int i = 0; i < N; i += 2) {
        snprintf(id, sizeof id, "DEV%05d", i);
        cr_assert_eq(store_device_delete(st, "@alice:localhost", id), 0);
    }
    cr_expect_eq(store_device_count(st, "@alice:localhost"), N / 2);
}

Test(store, many_tokens_lookup) {
    enum { N = 2000 };
    static char tokens[N][80];
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "T%d", i);
        cr_assert_eq(store_device_create(st, "@bob:localhost", id, NULL), 0);
        const char *t = store_token_issue(st, "@bob:localhost", id);
        cr_assert_not_null(t);
        snprintf(tokens[i], sizeof tokens[i], "%s", t);
    }
    struct store_token_owner owner;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "T%d", i);
        cr_assert_eq(store_token_lookup(st, tokens[i], &owner), 0);
        cr_assert_str_eq(owner.device_id, id);
    }
}

/* The generation moves with every change a listing shows, the layout only
 * when devices come or go; a device's `changed` is the generation it made. */
Test(store, generations) {
    uint64_t g0, l0, g, l;
    cr_assert_eq(store_user_generation(st, "@alice:localhost", &g0, &l0), 0);
    cr_expect_eq(store_user_generation(st, "@nobody:localhost", &g, &l), -1);
    cr_assert_eq(store_device_create(st, "@alice:localhost", "DEV1", NULL), 0);
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect(g > g0 && l > l0);
    cr_expect_eq(store_device_get(st, "@alice:localhost", "DEV1")->changed, g);
    g0 = g, l0 = l;
    store_device_seen(st, "@alice:localhost", "DEV1", "127.0.0.1", 1234);
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect(g > g0 && l == l0);
    g0 = g;
    /* Seen again at the same time from the same address; a token: no change. */
    store_device_seen(st, "@alice:localhost", "DEV1", "127.0.0.1", 1234);
    cr_assert_not_null(store_token_issue(st, "@alice:localhost", "DEV1"));
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect_eq(g, g0);
    cr_assert_eq(store_device_set_name(st, "@alice:localhost", "DEV1", "phone"), 0);
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect(g > g0 && l == l0);
    cr_expect_eq(store_device_get(st, "@alice:localhost", "DEV1")->changed, g);
    g0 = g;
    cr_assert_eq(store_device_delete(st, "@alice:localhost", "DEV1"), 0);
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect(g > g0 && l > l0);
    /* The slot is the user's. */
    cr_expect_not_null(store_user_slot(st, "@alice:localhost"));
    cr_expect_null(store_user_slot(st, "@nobody:localhost"));
}

static void join_changed(const struct store_device *dev, void *arg) {
    strcat(arg, dev->device_id);
    strcat(arg, " ");
}

/* The devices changed since a generation, the most recently changed first;
 * a deleted device is gone from that order too. */
Test(store, foreach_changed) {
    uint64_t g, l;
    char buf[128] = "";
    cr_assert_eq(store_device_create(st, "@alice:localhost", "A", NULL), 0);
    cr_assert_eq(store_device_create(st, "@alice:localhost", "B", NULL), 0);
    cr_assert_eq(store_device_create(st, "@alice:localhost", "C", NULL), 0);
    store_user_generation(st, "@alice:localhost", &g, &l);
    cr_expect_eq(
        store_device_foreach_changed(st, "@alice:localhost", g, join_changed, buf), 0);
    store_device_seen(st, "@alice:localhost", "A", "::1", 5);
    store_device_set_name(st, "@alice:localhost", "C", "c");
    store_device_seen(st, "@alice:localhost", "A", "::1", 6);
    cr_expect_eq(
        store_device_foreach_changed(st, "@alice:localhost", g, join_changed, buf), 2);
    cr_expect_str_eq(buf, "A C ");
    buf[0] = '\0';
    cr_expect_eq(
        store_device_foreach_changed(st, "@alice:localhost", 0, join_changed, buf), 3);
    cr_expect_str_eq(buf, "A C B ");
    cr_assert_eq(store_device_delete(st, "@alice:localhost", "A"), 0);
    buf[0] = '\0';
    store_device_foreach_changed(st, "@alice:localhost", 0, join_changed, buf);
    cr_expect_str_eq(buf, "C B ");
    cr_expect_eq(
        store_device_foreach_changed(st, "@nobody:localhost", 0, join_changed, buf), 0);
}
