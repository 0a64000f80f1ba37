/* UIA sessions: a list in opening order, capped so that a client opening
 * sessions in a loop cannot grow memory without bound (the oldest goes).
 * Lookups compare the requested ID against every live session in constant
 * time; with the cap that is cheap, and no early exit leaks which prefix
 * matched. */
#include "uia.h"

#include <stdlib.h>
#include <string.h>

#include "random.h"

struct uia_session {
    struct uia_session *prev, *next;
    char id[MOCK_SECRET_HEX_LEN + 1];
    char *user_id;
    char *method;
    char *path;
    int64_t expires_ms;
    char **stages; /* completed, in completion order */
    size_t n_stages;
};

/* A device that passed UIA, and when (see uia_note_passed). */
struct uia_pass {
    char *user_id;
    char *device_id;
    int64_t at_ms;
};

struct uia {
    struct uia_session *first, *last;
    size_t count;
    struct uia_pass *passes; /* ring of UIA_MAX_SESSIONS, allocated on first use */
    size_t n_passes, next_pass;
};

struct uia *uia_new(void) {
    return calloc(1, sizeof(struct uia));
}

static void session_free(struct uia_session *s) {
    for (size_t i = 0; i < s->n_stages; i++)
        free(s->stages[i]);
    free(s->stages);
    free(s->user_id);
    free(s->method);
    free(s->path);
    free(s);
}

static void session_unlink(struct uia *u, struct uia_session *s) {
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        u->first = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    else
        u->last = s->prev;
    u->count--;
    session_free(s);
}

void uia_free(struct uia *u) {
    if (u == NULL)
        return;
    while (u->first != NULL)
        session_unlink(u, u->first);
    for (size_t i = 0; i < u->n_passes; i++) {
        free(u->passes[i].user_id);
        free(u->passes[i].device_id);
    }
    free(u->passes);
    free(u);
}

const char *uia_open(struct uia *u, const char *user_id, const char *method,
                     const char *path, int64_t now_ms) {
    if (user_id == NULL || method == NULL || path == NULL)
        return NULL;
    struct uia_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    if (mock_random_hex(s->id, MOCK_SECRET_BYTES) < 0)
        goto fail;
    s->user_id = strdup(user_id);
    s->method = strdup(method);
    s->path = strdup(path);
    if (s->user_id == NULL || s->method == NULL || s->path == NULL)
        goto fail;
    s->expires_ms = now_ms + UIA_SESSION_LIFETIME_MS;
    if (u->count >= UIA_MAX_SESSIONS)
        session_unlink(u, u->first);
    s->prev = u->last;
    if (u->last != NULL)
        u->last->next = s;
    else
        u->first = s;
    u->last = s;
    u->count++;
    return s->id;

fail:
    session_free(s);
    return NULL;
}

static struct uia_session *session_find(struct uia *u, const char *session) {
    if (session == NULL)
        return NULL;
    struct uia_session *found = NULL;
    for (struct uia_session *s = u->first; s != NULL; s = s->next) {
        if (mock_ct_equal(session, s->id))
            found = s;
    }
    return found;
}

enum uia_lookup uia_check(struct uia *u, const char *session, const char *user_id,
                          const char *method, const char *path, int64_t now_ms) {
    struct uia_session *s = session_find(u, session);
    if (s == NULL)
        return UIA_SESSION_UNKNOWN;
    if (now_ms >= s->expires_ms) {
        session_unlink(u, s);
        return UIA_SESSION_UNKNOWN;
    }
    if (user_id == NULL || method == NULL || path == NULL ||
        strcmp(s->user_id, user_id) != 0 || strcmp(s->method, method) != 0 ||
        strcmp(s->path, path) != 0)
        return UIA_SESSION_MISMATCH;
    return UIA_SESSION_OK;
}

int uia_complete_stage(struct uia *u, const char *session, const char *stage) {
    struct uia_session *s = session_find(u, session);
    if (s == NULL || stage == NULL)
        return -1;
    for (size_t i = 0; i < s->n_stages; i++) {
        if (strcmp(s->stages[i], stage) == 0)
            return 0;
    }
    char **grown = realloc(s->stages, (s->n_stages + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    s->stages = grown;
    s->stages[s->n_stages] = strdup(stage);
    if (s->stages[s->n_stages] == NULL)
        return -1;
    s->n_stages++;
    return 0;
}

bool uia_stage_done(struct uia *u, const char *session, const char *stage) {
    struct uia_session *s = session_find(u, session);
    if (s == NULL || stage == NULL)
        return false;
    for (size_t i = 0; i < s->n_stages; i++) {
        if (strcmp(s->stages[i], stage) == 0)
            return true;
    }
    return false;
}

void uia_foreach_completed(struct uia *u, const char *session,
                           void (*fn)(const char *stage, void *arg), void *arg) {
    struct uia_session *s = session_find(u, session);
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_stages; i++)
        fn(s->stages[i], arg);
}

void uia_close(struct uia *u, const char *session) {
    struct uia_session *s = session_find(u, session);
    if (s != NULL)
        session_unlink(u, s);
}

void uia_expire(struct uia *u, int64_t now_ms) {
    struct uia_session *s = u->first;
    while (s != NULL) {
        struct uia_session *next = s->next;
        if (now_ms >= s->expires_ms)
            session_unlink(u, s);
        s = next;
    }
}

size_t uia_count(const struct uia *u) {
    return u->count;
}

static struct uia_pass *pass_find(const struct uia *u, const char *user_id,
                                  const char *device_id) {
    for (size_t i = 0; i < u->n_passes; i++)
        if (strcmp(u->passes[i].user_id, user_id) == 0 &&
            strcmp(u->passes[i].device_id, device_id) == 0)
            return &u->passes[i];
    return NULL;
}

int uia_note_passed(struct uia *u, const char *user_id, const char *device_id,
                    int64_t now_ms) {
    if (user_id == NULL || device_id == NULL)
        return 0;
    struct uia_pass *p = pass_find(u, user_id, device_id);
    if (p != NULL) {
        p->at_ms = now_ms;
        return 0;
    }
    if (u->passes == NULL) {
        u->passes = calloc(UIA_MAX_SESSIONS, sizeof *u->passes);
        if (u->passes == NULL)
            return -1;
    }
    char *uid = strdup(user_id), *did = strdup(device_id);
    if (uid == NULL || did == NULL) {
        free(uid);
        free(did);
        return -1;
    }
    p = &u->passes[u->next_pass];
    free(p->user_id);
    free(p->device_id);
    *p = (struct uia_pass){uid, did, now_ms};
    u->next_pass = (u->next_pass + 1) % UIA_MAX_SESSIONS;
    if (u->n_passes < UIA_MAX_SESSIONS)
        u->n_passes++;
    return 0;
}

bool uia_passed_within(const struct uia *u, const char *user_id, const char *device_id,
                       int64_t now_ms, int64_t grace_ms) {
    if (user_id == NULL || device_id == NULL || grace_ms <= 0)
        return false;
    const struct uia_pass *p = pass_find(u, user_id, device_id);
    return p != NULL && now_ms - p->at_ms < grace_ms;
}
