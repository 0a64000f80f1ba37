/* In-memory store: users, devices and access tokens.
 *
 * Users and each user's devices live in small chained hash tables keyed by
 * ID, so lookups are O(1) on average; devices are also threaded on a
 * doubly linked list in creation order, which is what listing walks. Tokens
 * are indexed by a non-secret hash of the whole token and then compared with
 * mock_ct_equal, so timing tells a guesser nothing about a real token.
 * Every device has at most one live token. */
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"

/* ---- a minimal chained hash table with borrowed string keys ---- */

struct hentry {
    struct hentry *next;
    uint64_t hash;
    const char *key; /* borrowed from value */
    void *value;
};

struct hmap {
    struct hentry **buckets;
    size_t n_buckets; /* power of two, or 0 before the first insert */
    size_t count;
};

static struct hentry *hmap_find(const struct hmap *m, const char *key, uint64_t hash) {
    if (m->n_buckets == 0)
        return NULL;
    for (struct hentry *e = m->buckets[hash & (m->n_buckets - 1)]; e != NULL;
         e = e->next) {
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static void *hmap_get(const struct hmap *m, const char *key) {
    struct hentry *e = hmap_find(m, key, mock_hash_str(key));
    return e != NULL ? e->value : NULL;
}

static int hmap_grow(struct hmap *m) {
    size_t n = m->n_buckets == 0 ? 8 : m->n_buckets * 2;
    struct hentry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct hentry *e = m->buckets[i];
        while (e != NULL) {
            struct hentry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = n;
    return 0;
}

/* Adds key -> value; key must not be present yet and must outlive the entry.
 * Returns 0, or -1 on OOM. */
static int hmap_put(struct hmap *m, const char *key, uint64_t hash, void *value) {
    if (m->count >= m->n_buckets && hmap_grow(m) < 0)
        return -1;
    struct hentry *e = malloc(sizeof *e);
    if (e == NULL)
        return -1;
    e->hash = hash;
    e->key = key;
    e->value = value;
    e->next = m->buckets[hash & (m->n_buckets - 1)];
    m->buckets[hash & (m->n_buckets - 1)] = e;
    m->count++;
    return 0;
}

/* Removes the entry whose value is exactly value; returns 0 or -1. */
static int hmap_remove(struct hmap *m, uint64_t hash, const void *value) {
    if (m->n_buckets == 0)
        return -1;
    struct hentry **pp = &m->buckets[hash & (m->n_buckets - 1)];
    while (*pp != NULL) {
        struct hentry *e = *pp;
        if (e->value == value) {
            *pp = e->next;
            free(e);
            m->count--;
            return 0;
        }
        pp = &e->next;
    }
    return -1;
}

/* Frees the table's entries (not the values). */
static void hmap_clear(struct hmap *m) {
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct hentry *e = m->buckets[i];
        while (e != NULL) {
            struct hentry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->n_buckets = 0;
    m->count = 0;
}

/* ---- store records ---- */

struct token;

struct device {
    struct store_device pub; /* strings point into this record */
    char *device_id;
    char *display_name;
    char *last_seen_ip;
    uint64_t hash;                /* of device_id */
    struct device *prev, *next;   /* creation order */
    struct device *older, *newer; /* order of the last change */
    struct token *token;          /* the live token, or NULL */
};

struct user {
    char *user_id;
    char *password; /* NULL: password login impossible */
    uint64_t hash;
    struct hmap devices; /* device_id -> struct device */
    struct device *first, *last;
    uint64_t generation, layout; /* see store_user_generation */
    struct device *newest;       /* the device changed last */
    void *slot;                  /* the caller's, freed with store->slot_free */
};

struct token {
    char *token;
    uint64_t hash;
    struct user *user;
    struct device *device;
};

struct store {
    pthread_mutex_t mutex;
    struct hmap users;  /* user_id -> struct user */
    struct hmap tokens; /* token -> struct token, by hash of the whole token */
    void (*slot_free)(void *);
};

struct store *store_new(void) {
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    if (pthread_mutex_init(&st->mutex, NULL) != 0) {
        free(st);
        return NULL;
    }
    return st;
}

static void token_free(struct store *st, struct token *tok) {
    hmap_remove(&st->tokens, tok->hash, tok);
    tok->device->token = NULL;
    free(tok->token);
    free(tok);
}

static void device_free(struct device *dev) {
    free(dev->device_id);
    free(dev->display_name);
    free(dev->last_seen_ip);
    free(dev);
}

static void user_free(struct user *u, void (*slot_free)(void *)) {
    if (u->slot != NULL && slot_free != NULL)
        slot_free(u->slot);
    struct device *dev = u->first;
    while (dev != NULL) {
        struct device *next = dev->next;
        device_free(dev);
        dev = next;
    }
    hmap_clear(&u->devices);
    free(u->user_id);
    free(u->password);
    free(u);
}

void store_free(struct store *st) {
    if (st == NULL)
        return;
    /* Tokens first: they point at devices. */
    for (size_t i = 0; i < st->tokens.n_buckets; i++) {
        for (struct hentry *e = st->tokens.buckets[i]; e != NULL; e = e->next) {
            struct token *tok = e->value;
            free(tok->token);
            free(tok);
        }
    }
    hmap_clear(&st->tokens);
    for (size_t i = 0; i < st->users.n_buckets; i++) {
        for (struct hentry *e = st->users.buckets[i]; e != NULL; e = e->next)
            user_free(e->value, st->slot_free);
    }
    hmap_clear(&st->users);
    pthread_mutex_destroy(&st->mutex);
    free(st);
}

void store_lock(struct store *st) {
    pthread_mutex_lock(&st->mutex);
}

void store_unlock(struct store *st) {
    pthread_mutex_unlock(&st->mutex);
}

/* A new user's or device's own copies: KEY (its hash too) and an optional
 * second string (NULL stays NULL). -1 when out of memory; what was copied is
 * the caller's to free. */
static int dup_key(char **key_out, const char *key, char **opt_out, const char *opt,
                   uint64_t *hash_out) {
    *key_out = strdup(key);
    if (*key_out == NULL)
        return -1;
    if (opt != NULL && (*opt_out = strdup(opt)) == NULL)
        return -1;
    *hash_out = mock_hash_str(key);
    return 0;
}

/* ---- users ---- */

static struct user *user_find(struct store *st, const char *user_id) {
    if (user_id == NULL)
        return NULL;
    return hmap_get(&st->users, user_id);
}

int store_user_create(struct store *st, const char *user_id, const char *password) {
    if (user_find(st, user_id) != NULL)
        return -1;
    struct user *u = calloc(1, sizeof *u);
    if (u == NULL)
        return -2;
    if (dup_key(&u->user_id, user_id, &u->password, password, &u->hash) < 0)
        goto fail;
    u->generation = u->layout = 1;
    if (hmap_put(&st->users, u->user_id, u->hash, u) < 0)
        goto fail;
    return 0;

fail:
    free(u->user_id);
    free(u->password);
    free(u);
    return -2;
}

bool store_user_exists(struct store *st, const char *user_id) {
    return user_find(st, user_id) != NULL;
}

bool store_user_password_ok(struct store *st, const char *user_id, const char *password) {
    struct user *u = user_find(st, user_id);
    if (u == NULL || u->password == NULL || password == NULL)
        return false;
    return mock_ct_equal(password, u->password);
}

int store_user_generation(struct store *st, const char *user_id, uint64_t *generation,
                          uint64_t *layout) {
    struct user *u = user_find(st, user_id);
    if (u == NULL)
        return -1;
    *generation = u->generation;
    *layout = u->layout;
    return 0;
}

void **store_user_slot(struct store *st, const char *user_id) {
    struct user *u = user_find(st, user_id);
    return u != NULL ? &u->slot : NULL;
}

void store_set_slot_free(struct store *st, void (*slot_free)(void *)) {
    st->slot_free = slot_free;
}

/* ---- devices ---- */

static void unlink_change(struct user *u, struct device *dev) {
    if (dev->newer != NULL)
        dev->newer->older = dev->older;
    else if (u->newest == dev)
        u->newest = dev->older;
    if (dev->older != NULL)
        dev->older->newer = dev->newer;
    dev->older = dev->newer = NULL;
}

/* Records a change to what a listing of u's devices shows; dev (if any)
 * becomes the device changed last. */
static void user_changed(struct user *u, struct device *dev, bool layout) {
    u->generation++;
    if (layout)
        u->layout++;
    if (dev == NULL)
        return;
    dev->pub.changed = u->generation;
    if (u->newest == dev)
        return;
    unlink_change(u, dev);
    dev->older = u->newest;
    if (u->newest != NULL)
        u->newest->newer = dev;
    u->newest = dev;
}

static struct device *device_find(struct user *u, const char *device_id) {
    if (u == NULL || device_id == NULL)
        return NULL;
    return hmap_get(&u->devices, device_id);
}

const struct store_device *store_device_get(struct store *st, const char *user_id,
                                            const char *device_id) {
    struct device *dev = device_find(user_find(st, user_id), device_id);
    return dev != NULL ? &dev->pub : NULL;
}

int store_device_create(struct store *st, const char *user_id, const char *device_id,
                        const char *display_name) {
    struct user *u = user_find(st, user_id);
    if (u == NULL || device_id == NULL || device_find(u, device_id) != NULL)
        return -1;
    struct device *dev = calloc(1, sizeof *dev);
    if (dev == NULL)
        return -2;
    if (dup_key(&dev->device_id, device_id, &dev->display_name, display_name,
                &dev->hash) < 0)
        goto fail;
    if (hmap_put(&u->devices, dev->device_id, dev->hash, dev) < 0)
        goto fail;
    dev->pub.user_id = u->user_id;
    dev->pub.device_id = dev->device_id;
    dev->pub.display_name = dev->display_name;
    dev->prev = u->last;
    if (u->last != NULL)
        u->last->next = dev;
    else
        u->first = dev;
    u->last = dev;
    user_changed(u, dev, true);
    return 0;

fail:
    device_free(dev);
    return -2;
}

int store_device_set_name(struct store *st, const char *user_id, const char *device_id,
                          const char *display_name) {
    struct device *dev = device_find(user_find(st, user_id), device_id);
    if (dev == NULL)
        return -1;
    char *copy = NULL;
    if (display_name != NULL) {
        copy = strdup(display_name);
        if (copy == NULL)
            return -2;
    }
    free(dev->display_name);
    dev->display_name = copy;
    dev->pub.display_name = copy;
    user_changed(user_find(st, user_id), dev, false);
    return 0;
}

void store_device_seen(struct store *st, const char *user_id, const char *device_id,
                       const char *ip, int64_t ts_ms) {
    struct user *u = user_find(st, user_id);
    struct device *dev = device_find(u, device_id);
    if (dev == NULL)
        return;
    bool changed = dev->pub.last_seen_ts != ts_ms;
    /* Most requests come from the same address: skip the reallocation. */
    if (ip != NULL && (dev->last_seen_ip == NULL || strcmp(dev->last_seen_ip, ip) != 0)) {
        char *copy = strdup(ip);
        if (copy != NULL) {
            free(dev->last_seen_ip);
            dev->last_seen_ip = copy;
            dev->pub.last_seen_ip = copy;
            changed = true;
        }
    }
    dev->pub.last_seen_ts = ts_ms;
    if (changed)
        user_changed(u, dev, false);
}

int store_device_delete(struct store *st, const char *user_id, const char *device_id) {
    struct user *u = user_find(st, user_id);
    struct device *dev = device_find(u, device_id);
    if (dev == NULL)
        return 1;
    if (dev->token != NULL)
        token_free(st, dev->token);
    hmap_remove(&u->devices, dev->hash, dev);
    unlink_change(u, dev);
    if (dev->prev != NULL)
        dev->prev->next = dev->next;
    else
        u->first = dev->next;
    if (dev->next != NULL)
        dev->next->prev = dev->prev;
    else
        u->last = dev->prev;
    device_free(dev);
    user_changed(u, NULL, true);
    return 0;
}

size_t store_device_foreach(struct store *st, const char *user_id,
                            void (*fn)(const struct store_device *dev, void *arg),
                            void *arg) {
    struct user *u = user_find(st, user_id);
    size_t n = 0;

    for (struct device *dev = u ? u->first : NULL; dev != NULL; dev = dev->next, n++)
        fn(&dev->pub, arg);
    return n;
}

size_t store_device_foreach_changed(struct store *st, const char *user_id, uint64_t since,
                                    void (*fn)(const struct store_device *dev, void *arg),
                                    void *arg) {
    struct user *u = user_find(st, user_id);
    size_t n = 0;

    for (struct device *dev = u ? u->newest : NULL;
         dev != NULL && dev->pub.changed > since; dev = dev->older, n++)
        fn(&dev->pub, arg);
    return n;
}

size_t store_device_count(struct store *st, const char *user_id) {
    struct user *u = user_find(st, user_id);
    return u != NULL ? u->devices.count : 0;
}

void store_device_id_generate(struct store *st, const char *user_id, char buf[11]) {
    struct user *u = user_find(st, user_id);
    /* 26^10 IDs: a collision is rare, so a few rounds always suffice; the
     * bound keeps the loop finite even if randomness were broken. */
    for (int round = 0; round < 64; round++) {
        unsigned char rnd[10];
        if (mock_random_bytes(rnd, sizeof rnd) < 0)
            memset(rnd, round, sizeof rnd);
        for (size_t i = 0; i < 10; i++)
            buf[i] = (char)('A' + rnd[i] % 26);
        buf[10] = '\0';
        if (device_find(u, buf) == NULL)
            return;
    }
}

/* ---- tokens ---- */

static struct token *token_find(struct store *st, const char *token, uint64_t hash) {
    if (st->tokens.n_buckets == 0)
        return NULL;
    struct token *found = NULL;
    /* The bucket is chosen by a hash, which is no secret; within it every
     * candidate is compared in constant time. */
    for (struct hentry *e = st->tokens.buckets[hash & (st->tokens.n_buckets - 1)];
         e != NULL; e = e->next) {
        struct token *tok = e->value;
        if (mock_ct_equal(token, tok->token))
            found = tok;
    }
    return found;
}

/* Binds an already allocated token string (steals it) to the device. */
static const char *token_bind(struct store *st, struct user *u, struct device *dev,
                              char *text) {
    struct token *tok = calloc(1, sizeof *tok);
    if (tok == NULL) {
        free(text);
        return NULL;
    }
    tok->token = text;
    tok->hash = mock_hash_str(text);
    tok->user = u;
    tok->device = dev;
    if (hmap_put(&st->tokens, tok->token, tok->hash, tok) < 0) {
        free(text);
        free(tok);
        return NULL;
    }
    if (dev->token != NULL)
        token_free(st, dev->token);
    dev->token = tok;
    return tok->token;
}

const char *store_token_issue(struct store *st, const char *user_id,
                              const char *device_id) {
    struct user *u = user_find(st, user_id);
    struct device *dev = device_find(u, device_id);
    if (dev == NULL)
        return NULL;
    char *text = malloc(sizeof STORE_TOKEN_PREFIX - 1 + MOCK_SECRET_HEX_LEN + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, STORE_TOKEN_PREFIX, sizeof STORE_TOKEN_PREFIX - 1);
    if (mock_random_hex(text + sizeof STORE_TOKEN_PREFIX - 1, MOCK_SECRET_BYTES) < 0) {
        free(text);
        return NULL;
    }
    return token_bind(st, u, dev, text);
}

int store_token_insert(struct store *st, const char *user_id, const char *device_id,
                       const char *token) {
    struct user *u = user_find(st, user_id);
    struct device *dev = device_find(u, device_id);
    if (dev == NULL || token == NULL || token[0] == '\0')
        return -1;
    if (token_find(st, token, mock_hash_str(token)) != NULL)
        return -1;
    char *text = strdup(token);
    if (text == NULL)
        return -2;
    return token_bind(st, u, dev, text) != NULL ? 0 : -2;
}

int store_token_lookup(struct store *st, const char *token,
                       struct store_token_owner *owner) {
    if (token == NULL)
        return -1;
    struct token *tok = token_find(st, token, mock_hash_str(token));
    if (tok == NULL)
        return -1;
    owner->user_id = tok->user->user_id;
    owner->device_id = tok->device->device_id;
    return 0;
}

int store_token_revoke(struct store *st, const char *token) {
    if (token == NULL)
        return -1;
    struct token *tok = token_find(st, token, mock_hash_str(token));
    if (tok == NULL)
        return -1;
    token_free(st, tok);
    return 0;
}

const char *store_device_token(struct store *st, const char *user_id,
                               const char *device_id) {
    struct device *dev = device_find(user_find(st, user_id), device_id);
    return dev != NULL && dev->token != NULL ? dev->token->token : NULL;
}
