/* The deviation table (derived from deviations.def) and the bounded
 * bookkeeping some deviations need. */
#include "deviations.h"

#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "store.h"

#define SHAPE MOCK_DEV_SHAPE
#define STATE MOCK_DEV_STATE
#define BOTH MOCK_DEV_BOTH
static const struct mock_deviation_info table[DEV_COUNT] = {
#define DEVIATION(id, name, requirements, kind, description)                             \
    [DEV_##id] = {name, requirements, kind, description},
#include "deviations.def"
#undef DEVIATION
};
#undef SHAPE
#undef STATE
#undef BOTH

const struct mock_deviation_info *mock_deviation_info(enum mock_deviation d) {
    return d < DEV_COUNT ? &table[d] : NULL;
}

int mock_deviation_parse(const char *name, enum mock_deviation *out) {
    for (int i = 0; i < DEV_COUNT; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *out = (enum mock_deviation)i;
            return 0;
        }
    }
    return -1;
}

void mock_deviations_print(FILE *out) {
    for (int i = 0; i < DEV_COUNT; i++)
        fprintf(out, "%s\t%s\t%s\n", table[i].name, table[i].requirements,
                table[i].description);
}

bool mock_deviates(const struct mock_deviations *dev, enum mock_deviation d) {
    return d < DEV_COUNT && dev->on[d];
}

/* ---- bookkeeping: three small rings of owned strings ---- */

static void entry_clean(struct mock_dev_ring *r, size_t i) {
    free(r->e[i].a);
    free(r->e[i].b);
    free(r->e[i].c);
    memset(&r->e[i], 0, sizeof r->e[i]);
}

static void ring_clean(struct mock_dev_ring *r) {
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++)
        entry_clean(r, i);
    r->next = 0;
}

/* Copies the strings into the next slot; on OOM the slot stays empty (the
 * deviation then simply does not trigger). */
static void ring_put(struct mock_dev_ring *r, const char *a, const char *b, const char *c,
                     bool flag) {
    size_t i = r->next;
    r->next = (r->next + 1) % MOCK_DEV_RING_SIZE;
    entry_clean(r, i);
    r->e[i].a = a != NULL ? strdup(a) : NULL;
    r->e[i].b = b != NULL ? strdup(b) : NULL;
    r->e[i].c = c != NULL ? strdup(c) : NULL;
    r->e[i].flag = flag;
    if ((a != NULL && r->e[i].a == NULL) || (b != NULL && r->e[i].b == NULL) ||
        (c != NULL && r->e[i].c == NULL))
        entry_clean(r, i);
}

void mock_deviations_init(struct mock_deviations *dev, const bool *on) {
    memset(dev, 0, sizeof *dev);
    if (on != NULL)
        memcpy(dev->on, on, sizeof dev->on);
}

void mock_deviations_clean(struct mock_deviations *dev) {
    ring_clean(&dev->recent_users);
    ring_clean(&dev->deleted_devices);
    ring_clean(&dev->dead_tokens);
    memset(dev, 0, sizeof *dev);
}

void mock_dev_note_user(struct mock_deviations *dev, const char *user_id) {
    const bool *on = dev->on;
    if (!on[DEV_LIST_LEAKS_OTHER_USER] && !on[DEV_GET_OTHER_USER_LEAK] &&
        !on[DEV_PUT_OTHER_USER_RENAMES] && !on[DEV_DELETE_OTHER_USER] &&
        !on[DEV_BULK_DELETES_OTHER_USER])
        return;
    struct mock_dev_ring *r = &dev->recent_users;
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++) {
        if (r->e[i].a != NULL && strcmp(r->e[i].a, user_id) == 0)
            return;
    }
    ring_put(r, user_id, NULL, NULL, false);
}

const struct store_device *mock_dev_other_device(const struct mock_deviations *dev,
                                                 struct store *st, const char *user_id,
                                                 const char *device_id,
                                                 const char **owner) {
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++) {
        const char *other = dev->recent_users.e[i].a;
        if (other == NULL || strcmp(other, user_id) == 0)
            continue;
        const struct store_device *found = store_device_get(st, other, device_id);
        if (found != NULL) {
            if (owner != NULL)
                *owner = other;
            return found;
        }
    }
    return NULL;
}

void mock_dev_foreach_other_user(const struct mock_deviations *dev, const char *user_id,
                                 void (*fn)(const char *other, void *arg), void *arg) {
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++) {
        const char *other = dev->recent_users.e[i].a;
        if (other != NULL && strcmp(other, user_id) != 0)
            fn(other, arg);
    }
}

void mock_dev_note_deleted(struct mock_deviations *dev, const char *user_id,
                           const char *device_id) {
    const bool *on = dev->on;
    if (!on[DEV_DELETE_AGAIN_404] && !on[DEV_DELETE_UNKNOWN_404] &&
        !on[DEV_AS_DELETED_DEVICE_ASSERTABLE])
        return;
    if (!mock_dev_was_deleted(dev, user_id, device_id))
        ring_put(&dev->deleted_devices, user_id, device_id, NULL, false);
}

bool mock_dev_was_deleted(const struct mock_deviations *dev, const char *user_id,
                          const char *device_id) {
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++) {
        const char *u = dev->deleted_devices.e[i].a, *d = dev->deleted_devices.e[i].b;
        if (u != NULL && strcmp(u, user_id) == 0 && strcmp(d, device_id) == 0)
            return true;
    }
    return false;
}

void mock_dev_note_dead_token(struct mock_deviations *dev, const char *token,
                              const char *user_id, const char *device_id, bool accepted) {
    ring_put(&dev->dead_tokens, token, user_id, device_id, accepted);
}

int mock_dev_dead_token(const struct mock_deviations *dev, const char *token,
                        const char **user_id, const char **device_id, bool *accepted) {
    int found = 0;
    for (size_t i = 0; i < MOCK_DEV_RING_SIZE; i++) {
        const struct mock_dev_ring *r = &dev->dead_tokens;
        if (r->e[i].a != NULL && mock_ct_equal(r->e[i].a, token)) {
            *user_id = r->e[i].b;
            *device_id = r->e[i].c;
            *accepted = r->e[i].flag;
            found = 1;
        }
    }
    return found;
}

bool mock_dev_limit_due(struct mock_deviations *dev, const char *action) {
    return (strcmp(action, "login") == 0 || strcmp(action, "register") == 0) &&
           ++dev->limited_requests % 10 == 0;
}

char *mock_dev_ascii_only(const char *name) {
    char *ascii = strdup(name);
    for (char *c = ascii; c != NULL && *c != '\0'; c++) {
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    }
    return ascii;
}
