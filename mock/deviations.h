/* Named deviations: the list is mock/deviations.def (one row each); this
 * header derives the enum from it and keeps the switches and the bounded
 * bookkeeping some deviations need (recently seen users, deleted devices,
 * tokens of deleted devices, a request counter). All of it lives in
 * struct mock_state; the switches are set at start-up (--deviate NAME) and
 * read-only while the server runs, the bookkeeping is only touched with the
 * store lock held. */
#ifndef MOCK_DEVIATIONS_H
#define MOCK_DEVIATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct store;
struct store_device;

enum mock_deviation {
#define DEVIATION(id, name, requirements, kind, description) DEV_##id,
#include "deviations.def"
#undef DEVIATION
    DEV_COUNT
};

/* Where a deviation acts (the KIND column of deviations.def). */
enum mock_deviation_kind {
    MOCK_DEV_SHAPE = 1, /* a filter rewrites the reply (deviation_filters.c) */
    MOCK_DEV_STATE = 2, /* a handler decides differently */
    MOCK_DEV_BOTH = MOCK_DEV_SHAPE | MOCK_DEV_STATE,
};

struct mock_deviation_info {
    const char *name;         /* the --deviate NAME */
    const char *requirements; /* comma-separated requirement IDs it breaks */
    enum mock_deviation_kind kind;
    const char *description;
};

/* A bounded ring of remembered string triples (owned). */
#define MOCK_DEV_RING_SIZE 64
struct mock_dev_ring {
    struct {
        char *a, *b, *c;
        bool flag;
    } e[MOCK_DEV_RING_SIZE];
    size_t next;
};

/* The deviations of one server: which are on, and their bookkeeping. */
struct mock_deviations {
    bool on[DEV_COUNT];
    struct mock_dev_ring recent_users;    /* a: user ID */
    struct mock_dev_ring deleted_devices; /* a: user ID, b: device ID */
    struct mock_dev_ring dead_tokens; /* a: token, b: user, c: device; flag: accepted */
    unsigned long limited_requests;   /* login/register requests seen */
};

/* The table row of d (static), or NULL. */
const struct mock_deviation_info *mock_deviation_info(enum mock_deviation d);
/* Finds the deviation called name; returns 0, or -1 when the name is unknown. */
int mock_deviation_parse(const char *name, enum mock_deviation *out);
/* Prints NAME<TAB>REQ-IDS<TAB>description, one line per deviation. */
void mock_deviations_print(FILE *out);

/* Starts dev with the switches of on (DEV_COUNT flags; NULL: all off). */
void mock_deviations_init(struct mock_deviations *dev, const bool *on);
/* Frees the bookkeeping and switches everything off. */
void mock_deviations_clean(struct mock_deviations *dev);

/* Whether deviation d is switched on. */
bool mock_deviates(const struct mock_deviations *dev, enum mock_deviation d);

/* ---- bookkeeping, all under the store lock ---- */

/* Remembers user_id as recently active when a switched-on deviation leaks
 * into or acts on other users' devices. */
void mock_dev_note_user(struct mock_deviations *dev, const char *user_id);
/* The device device_id of a recently active user other than user_id
 * (borrowed from the store), or NULL; *owner (may be NULL) gets that user. */
const struct store_device *mock_dev_other_device(const struct mock_deviations *dev,
                                                 struct store *st, const char *user_id,
                                                 const char *device_id,
                                                 const char **owner);
/* Calls fn for each recently active user other than user_id. */
void mock_dev_foreach_other_user(const struct mock_deviations *dev, const char *user_id,
                                 void (*fn)(const char *other, void *arg), void *arg);

/* Remembers that (user_id, device_id) was deleted, when a switched-on
 * deviation asks about it later. */
void mock_dev_note_deleted(struct mock_deviations *dev, const char *user_id,
                           const char *device_id);
bool mock_dev_was_deleted(const struct mock_deviations *dev, const char *user_id,
                          const char *device_id);

/* Remembers the token of a deleted device; accepted says whether the token
 * is still to be honoured (a surviving token) or only known as deleted. */
void mock_dev_note_dead_token(struct mock_deviations *dev, const char *token,
                              const char *user_id, const char *device_id, bool accepted);
/* Finds a remembered token: returns 1 and sets *user_id / *device_id
 * (borrowed) / *accepted, or 0. */
int mock_dev_dead_token(const struct mock_deviations *dev, const char *token,
                        const char **user_id, const char **device_id, bool *accepted);

/* Counts a login/register request; true for every 10th. */
bool mock_dev_limit_due(struct mock_deviations *dev, const char *action);
/* A new copy of name with every non-ASCII byte replaced by '?', or NULL. */
char *mock_dev_ascii_only(const char *name);

#endif
