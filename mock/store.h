/* In-memory state of the mock homeserver: users, their devices, access tokens.
 *
 * No HTTP or JSON types here. The store is not thread-safe by itself: every
 * call must be made with the store's lock held (store_lock/store_unlock);
 * the server takes it once around each request.
 *
 * Strings passed in are copied. Pointers handed out (struct store_device,
 * user IDs) are borrowed: valid until the next call that changes the store.
 */
#ifndef MOCK_STORE_H
#define MOCK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_device {
    const char *user_id;
    const char *device_id;
    const char *display_name; /* NULL when no name was ever set */
    const char *last_seen_ip; /* NULL until the device makes a request */
    int64_t last_seen_ts;     /* ms since the epoch; 0 until seen */
    uint64_t changed;         /* the user's generation at its last change */
};

/* What an access token stands for. */
struct store_token_owner {
    const char *user_id;
    const char *device_id;
};

/* Returns a new empty store, or NULL on out-of-memory. */
struct store *store_new(void);
void store_free(struct store *st);

void store_lock(struct store *st);
void store_unlock(struct store *st);

/* Users. user_id is a full "@local:server" ID. password may be NULL (users
 * made by an application service have none).
 * Returns 0, -1 if the user exists, -2 on out-of-memory. */
int store_user_create(struct store *st, const char *user_id, const char *password);
bool store_user_exists(struct store *st, const char *user_id);
/* True when the user exists, has a password, and it equals password
 * (compared in constant time). */
bool store_user_password_ok(struct store *st, const char *user_id, const char *password);

/* What a cache of a user's device listing needs (mock/listing.c). The
 * generation counts every change to what a listing of the user's devices
 * shows: a device made, renamed, seen from another address or at another
 * time, deleted. The layout counts only the changes to which devices there
 * are (made, deleted). Both start at 1 and only grow; a device's `changed`
 * is the generation its last change made. Returns 0, or -1 for an unknown
 * user. */
int store_user_generation(struct store *st, const char *user_id, uint64_t *generation,
                          uint64_t *layout);
/* A slot holding one object of the caller's per user (a cached listing), or
 * NULL for an unknown user. The store frees what a slot holds, when it
 * frees the user, with the function set by store_set_slot_free. */
void **store_user_slot(struct store *st, const char *user_id);
void store_set_slot_free(struct store *st, void (*slot_free)(void *));

/* Devices. Returns NULL when the user has no such device. */
const struct store_device *store_device_get(struct store *st, const char *user_id,
                                            const char *device_id);
/* Creates a device; display_name may be NULL.
 * Returns 0, -1 if the user already has it or the user is unknown, -2 on OOM. */
int store_device_create(struct store *st, const char *user_id, const char *device_id,
                        const char *display_name);
/* Returns 0, -1 if there is no such device, -2 on OOM. */
int store_device_set_name(struct store *st, const char *user_id, const char *device_id,
                          const char *display_name);
/* Records a request made with the device's token. */
void store_device_seen(struct store *st, const char *user_id, const char *device_id,
                       const char *ip, int64_t ts_ms);
/* Removes the device and revokes every token bound to it.
 * Returns 0 when removed, 1 when there was no such device. */
int store_device_delete(struct store *st, const char *user_id, const char *device_id);
/* Calls fn for each of the user's devices, in creation order; returns the
 * count. fn must not change the store. */
size_t store_device_foreach(struct store *st, const char *user_id,
                            void (*fn)(const struct store_device *dev, void *arg),
                            void *arg);
size_t store_device_count(struct store *st, const char *user_id);
/* Calls fn for each of the user's devices whose `changed` is greater than
 * since, the most recently changed first; returns the count. fn must not
 * change the store. */
size_t store_device_foreach_changed(struct store *st, const char *user_id, uint64_t since,
                                    void (*fn)(const struct store_device *dev, void *arg),
                                    void *arg);

/* Fills buf (at least 11 bytes) with a fresh random device ID of 10
 * upper-case letters that the user does not have yet. */
void store_device_id_generate(struct store *st, const char *user_id, char buf[11]);

/* Access tokens: 256-bit random values, hex or url-safe encoded. */
/* Issues a new token for (user, device), revoking the device's previous
 * token. Returns a borrowed string, or NULL on OOM / unknown device. */
const char *store_token_issue(struct store *st, const char *user_id,
                              const char *device_id);
/* Looks a token up (constant-time comparison of the secret part).
 * Returns 0 and fills owner (borrowed strings), or -1 when unknown. */
int store_token_lookup(struct store *st, const char *token,
                       struct store_token_owner *owner);
/* Revokes one token; returns 0, or -1 when unknown. */
int store_token_revoke(struct store *st, const char *token);

/* Prefix of the tokens store_token_issue makes: "mxd_" + 64 hex digits. */
#define STORE_TOKEN_PREFIX "mxd_"
/* Binds a caller-chosen token (e.g. from the seed file; copied) to
 * (user, device), revoking the device's previous token.
 * Returns 0, -1 if the device is unknown, the token empty or already in
 * use, -2 on OOM. */
int store_token_insert(struct store *st, const char *user_id, const char *device_id,
                       const char *token);
/* The device's live token (borrowed), or NULL when it has none. */
const char *store_device_token(struct store *st, const char *user_id,
                               const char *device_id);

#endif
