/* Buckets count in units of 1/60000 request so that refilling at
 * per_minute requests per 60000 ms is exact integer arithmetic:
 * one request costs 60000 units and each millisecond adds per_minute. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"

#define UNITS_PER_REQUEST INT64_C(60000)
#define N_BUCKETS 256 /* hash slots; chains stay short under the key cap */

struct bucket {
    struct bucket *next;
    uint64_t hash;
    int64_t level; /* units available at updated_ms */
    int64_t updated_ms;
    char key[]; /* "ip\naction" */
};

struct mock_ratelimit {
    pthread_mutex_t mutex;
    int64_t per_minute;
    int64_t capacity; /* units */
    size_t count;
    struct bucket *slots[N_BUCKETS];
};

struct mock_ratelimit *mock_ratelimit_new(unsigned per_minute) {
    if (per_minute == 0)
        return NULL;
    struct mock_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return NULL;
    if (pthread_mutex_init(&rl->mutex, NULL) != 0) {
        free(rl);
        return NULL;
    }
    rl->per_minute = per_minute;
    rl->capacity = (int64_t)per_minute * UNITS_PER_REQUEST;
    return rl;
}

void mock_ratelimit_free(struct mock_ratelimit *rl) {
    if (rl == NULL)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        struct bucket *b = rl->slots[i];
        while (b != NULL) {
            struct bucket *next = b->next;
            free(b);
            b = next;
        }
    }
    pthread_mutex_destroy(&rl->mutex);
    free(rl);
}

static void refill(const struct mock_ratelimit *rl, struct bucket *b, int64_t now_ms) {
    if (now_ms > b->updated_ms) {
        int64_t elapsed = now_ms - b->updated_ms;
        /* Cap before multiplying so a long idle time cannot overflow. */
        if (elapsed > UNITS_PER_REQUEST)
            elapsed = UNITS_PER_REQUEST;
        b->level += elapsed * rl->per_minute;
        if (b->level > rl->capacity)
            b->level = rl->capacity;
    }
    b->updated_ms = now_ms;
}

/* Makes room under the key cap: drops every bucket that has refilled
 * completely (it holds no information), or failing that everything. */
static void sweep(struct mock_ratelimit *rl, int64_t now_ms) {
    for (int pass = 0; pass < 2 && rl->count >= MOCK_RATELIMIT_MAX_KEYS; pass++) {
        for (size_t i = 0; i < N_BUCKETS; i++) {
            struct bucket **pp = &rl->slots[i];
            while (*pp != NULL) {
                struct bucket *b = *pp;
                refill(rl, b, now_ms);
                if (pass == 1 || b->level >= rl->capacity) {
                    *pp = b->next;
                    free(b);
                    rl->count--;
                } else {
                    pp = &b->next;
                }
            }
        }
    }
}

int64_t mock_ratelimit_take(struct mock_ratelimit *rl, const char *ip, const char *action,
                            int64_t now_ms) {
    if (ip == NULL)
        ip = "";
    if (action == NULL)
        action = "";
    size_t li = strlen(ip);
    size_t la = strlen(action);
    char stack_key[128];
    char *key = li + la + 2 <= sizeof stack_key ? stack_key : malloc(li + la + 2);
    if (key == NULL)
        return 0;
    memcpy(key, ip, li);
    key[li] = '\n';
    memcpy(key + li + 1, action, la + 1);
    uint64_t hash = mock_hash_str(key);

    int64_t wait = 0;
    pthread_mutex_lock(&rl->mutex);
    struct bucket *b = rl->slots[hash % N_BUCKETS];
    while (b != NULL && !(b->hash == hash && strcmp(b->key, key) == 0))
        b = b->next;
    if (b == NULL) {
        if (rl->count >= MOCK_RATELIMIT_MAX_KEYS)
            sweep(rl, now_ms);
        b = malloc(sizeof *b + li + la + 2);
        if (b == NULL)
            goto out;
        memcpy(b->key, key, li + la + 2);
        b->hash = hash;
        b->level = rl->capacity;
        b->updated_ms = now_ms;
        b->next = rl->slots[hash % N_BUCKETS];
        rl->slots[hash % N_BUCKETS] = b;
        rl->count++;
    }
    refill(rl, b, now_ms);
    if (b->level >= UNITS_PER_REQUEST) {
        b->level -= UNITS_PER_REQUEST;
    } else {
        int64_t missing = UNITS_PER_REQUEST - b->level;
        wait = (missing + rl->per_minute - 1) / rl->per_minute;
        if (wait < 1)
            wait = 1;
    }

out:
    pthread_mutex_unlock(&rl->mutex);
    if (key != stack_key)
        free(key);
    return wait;
}
