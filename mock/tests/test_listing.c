/* Unit tests of the listing written straight from the store (listing.c):
 * the same bytes as json_dumps(JSON_COMPACT) of the listing built with
 * jansson, for nasty strings too, and a cache that follows every change. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "listing.h"
#include "store.h"

#define ALICE "@alice:localhost"

static struct store *st;

static void setup(void) {
    st = store_new();
    cr_assert_not_null(st);
    store_lock(st);
    cr_assert_eq(store_user_create(st, ALICE, "secret"), 0);
}

static void teardown(void) {
    store_unlock(st);
    store_free(st);
    st = NULL;
}

TestSuite(listing, .init = setup, .fini = teardown);

static void add_device(const struct store_device *dev, void *arg) {
    json_array_append_new(arg, mock_device_json(dev));
}

/* What jansson makes of the user's listing (new string). */
static char *jansson_listing(const char *user_id) {
    json_t *devices = json_array();
    store_device_foreach(st, user_id, add_device, devices);
    json_t *body = json_pack("{s:o}", "devices", devices);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    cr_assert_not_null(text);
    return text;
}

/* Lists user_id into reply and checks its bytes against jansson's. */
static void expect_listing(const char *user_id, struct mock_reply *reply) {
    memset(reply, 0, sizeof *reply);
    cr_assert_eq(mock_listing_reply(st, user_id, reply), 0);
    char *want = jansson_listing(user_id);
    cr_expect_eq(reply->status, 200);
    cr_expect_eq(reply->body_len, strlen(want), "length %zu, jansson's %zu",
                 reply->body_len, strlen(want));
    cr_expect_str_eq(reply->body, want);
    cr_expect_eq(reply->body[reply->body_len], '\0');
    free(want);
}

static void check_listing(const char *user_id) {
    struct mock_reply reply;
    expect_listing(user_id, &reply);
    mock_reply_clean(&reply);
}

/* Strings that need every kind of escape json_dumps knows, and UTF-8 it
 * keeps as is. */
static const char *const nasty[] = {
    "plain",
    "",
    "quote \" and backslash \\ and slash /",
    "\"\\\"\\\\",
    "\b\f\n\r\t",
    "\x01\x02\x03\x04\x05\x06\x07\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
    "\x1a\x1b\x1c\x1d\x1e\x1f",
    "DEL \x7f stays",
    "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 line\xe2\x80\xa8sep "
    "\xef\xbf\xbf",
    "</script><!--",
    "{\"devices\":[]}",
    "\\u0041 is not an escape here",
    "ends with a control\x1f",
};
#define N_NASTY (sizeof nasty / sizeof nasty[0])

Test(listing, same_bytes_as_jansson_for_nasty_strings) {
    char id[64];
    for (size_t i = 0; i < N_NASTY; i++) {
        if (nasty[i][0] == '\0')
            continue; /* a device ID is never empty */
        cr_assert_eq(store_device_create(st, ALICE, nasty[i], nasty[N_NASTY - 1 - i]), 0,
                     "device %zu", i);
    }
    for (size_t i = 0; i < N_NASTY; i++) {
        snprintf(id, sizeof id, "NAME%zu", i);
        cr_assert_eq(store_device_create(st, ALICE, id, nasty[i]), 0);
        store_device_seen(st, ALICE, id, nasty[i], (int64_t)i);
    }
    /* No name, no address, no time; and the largest time. */
    cr_assert_eq(store_device_create(st, ALICE, "BARE", NULL), 0);
    cr_assert_eq(store_device_create(st, ALICE, "LATE", "late"), 0);
    store_device_seen(st, ALICE, "LATE", "::1", INT64_MAX);
    check_listing(ALICE);
}

Test(listing, empty_and_unknown_user) {
    struct mock_reply reply;
    expect_listing(ALICE, &reply);
    cr_expect_str_eq(reply.body, "{\"devices\":[]}");
    mock_reply_clean(&reply);
    memset(&reply, 0, sizeof reply);
    cr_expect_eq(mock_listing_reply(st, "@nobody:localhost", &reply), -1);
    cr_expect_null(reply.body);
}

/* Asked again without a change: the same shared text, no new one. */
Test(listing, unchanged_listing_is_shared) {
    cr_assert_eq(store_device_create(st, ALICE, "DEV1", "one"), 0);
    struct mock_reply a, b;
    expect_listing(ALICE, &a);
    expect_listing(ALICE, &b);
    cr_expect_eq(a.body, b.body);
    /* Seen for the first time: a change; seen again at the same time from
     * the same address: none. */
    store_device_seen(st, ALICE, "DEV1", "127.0.0.1", 5);
    mock_reply_clean(&b);
    expect_listing(ALICE, &b);
    cr_expect_neq(a.body, b.body);
    struct mock_reply c;
    store_device_seen(st, ALICE, "DEV1", "127.0.0.1", 5);
    expect_listing(ALICE, &c);
    cr_expect_eq(b.body, c.body);
    mock_reply_clean(&a);
    mock_reply_clean(&b);
    mock_reply_clean(&c);
}

/* Every kind of change shows, whether the cache copies the unchanged
 * devices (same set of devices) or writes them all again (made, deleted);
 * a reply still held keeps the text it was given. */
Test(listing, follows_every_change) {
    char id[16], name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "DEV%d", i);
        snprintf(name, sizeof name, "device \"%d\"", i);
        cr_assert_eq(store_device_create(st, ALICE, id, i % 7 == 3 ? NULL : name), 0);
        if (i % 5 != 1)
            store_device_seen(st, ALICE, id, "10.0.0.1", 1700000000000 + i);
    }
    struct mock_reply held;
    expect_listing(ALICE, &held);
    char *held_text = strdup(held.body);

    store_device_seen(st, ALICE, "DEV0", "10.0.0.1", 1800000000000);
    check_listing(ALICE);
    store_device_seen(st, ALICE, "DEV49", "2001:db8::1", 1800000000001);
    store_device_seen(st, ALICE, "DEV1", "10.0.0.2", 1800000000002);
    check_listing(ALICE);
    cr_assert_eq(
        store_device_set_name(st, ALICE, "DEV25", "a much longer name \x01 than"), 0);
    check_listing(ALICE);
    cr_assert_eq(store_device_set_name(st, ALICE, "DEV25", NULL), 0);
    cr_assert_eq(store_device_set_name(st, ALICE, "DEV3", "named at last"), 0);
    check_listing(ALICE);
    cr_assert_eq(store_device_delete(st, ALICE, "DEV10"), 0);
    check_listing(ALICE);
    cr_assert_eq(store_device_create(st, ALICE, "NEW", "new\n"), 0);
    check_listing(ALICE);
    cr_assert_eq(store_device_delete(st, ALICE, "DEV0"), 0);
    cr_assert_eq(store_device_delete(st, ALICE, "NEW"), 0);
    store_device_seen(st, ALICE, "DEV2", "10.0.0.3", 1);
    check_listing(ALICE);

    cr_expect_str_eq(held.body, held_text);
    mock_reply_clean(&held);
    free(held_text);
}

/* Another user's changes leave the listing as it was. */
Test(listing, other_users_do_not_touch_it) {
    cr_assert_eq(store_user_create(st, "@bob:localhost", NULL), 0);
    cr_assert_eq(store_device_create(st, ALICE, "A1", "alice's"), 0);
    cr_assert_eq(store_device_create(st, "@bob:localhost", "A1", "bob's"), 0);
    struct mock_reply a, b;
    expect_listing(ALICE, &a);
    cr_assert_eq(store_device_set_name(st, "@bob:localhost", "A1", "renamed"), 0);
    cr_assert_eq(store_device_create(st, "@bob:localhost", "B2", NULL), 0);
    expect_listing(ALICE, &b);
    cr_expect_eq(a.body, b.body);
    check_listing("@bob:localhost");
    mock_reply_clean(&a);
    mock_reply_clean(&b);
}
