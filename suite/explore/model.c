/* The reference model: per user the devices a correct server shows (ID,
 * display name), which tokens work and which must be dead, and the open UIA
 * sessions; plus the deterministic PRNG the operations are drawn with. */
#include <stdlib.h>
#include <string.h>

#include "explore_internal.h"

/* splitmix64: small, fast, and the same on every platform (rand() is not). */
unsigned long long x_rng_next(struct x_rng *r) {
    unsigned long long z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

unsigned x_rng_below(struct x_rng *r, unsigned n) {
    return (unsigned)(x_rng_next(r) % n);
}

/* ASCII names and non-ASCII ones (PUT-UNICODE): "Café ☕", "日本語の端末",
 * "Ünïcödé 📱", written as UTF-8 escapes. */
static const char cafe[] = "Caf\xc3\xa9 \xe2\x98\x95";
static const char japanese[] = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
                               "\xe3\x81\xae\xe7\xab\xaf\xe6\x9c\xab";
static const char unicode[] = "\xc3\x9c"
                              "n\xc3\xaf"
                              "c\xc3\xb6"
                              "d\xc3\xa9 \xf0\x9f\x93\xb1";
const char *const x_names[] = {"Laptop", "phone 2", "work station", "x",
                               cafe,     japanese,  unicode};
const size_t x_n_names = sizeof(x_names) / sizeof(x_names[0]);

bool x_is_ascii(const char *s) {
    for (; s && *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

void x_set_str(char **dst, const char *src) {
    char *copy = src ? strdup(src) : NULL;
    free(*dst);
    *dst = copy;
}

void x_model_free(struct x_model *m) {
    for (int u = 0; u < m->n_users; u++) {
        struct x_user *user = &m->users[u];
        for (size_t i = 0; i < user->n_devs; i++) {
            free(user->devs[i].id);
            free(user->devs[i].name);
            free(user->devs[i].token);
        }
        for (size_t i = 0; i < user->n_sessions; i++) {
            free(user->sessions[i].key);
            free(user->sessions[i].session);
        }
        free(user->devs);
        free(user->sessions);
        free(user->user_id);
        free(user->password);
    }
    memset(m, 0, sizeof(*m));
}

struct x_dev *x_dev_by_label(struct x_model *m, int u, int label) {
    if (u < 0 || u >= m->n_users)
        return NULL;
    for (size_t i = 0; i < m->users[u].n_devs; i++)
        if (m->users[u].devs[i].label == label)
            return &m->users[u].devs[i];
    return NULL;
}

struct x_dev *x_dev_by_id(struct x_model *m, int u, const char *id) {
    if (u < 0 || u >= m->n_users || !id)
        return NULL;
    for (size_t i = 0; i < m->users[u].n_devs; i++)
        if (strcmp(m->users[u].devs[i].id, id) == 0)
            return &m->users[u].devs[i];
    return NULL;
}

struct x_dev *x_dev_add(struct x_model *m, int u, int label, const char *id,
                        const char *name, bool name_known, const char *name_req,
                        const char *token) {
    struct x_user *user = &m->users[u];
    if (user->n_devs == user->cap_devs) {
        size_t cap = user->cap_devs ? user->cap_devs * 2 : 8;
        struct x_dev *grown = realloc(user->devs, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        user->devs = grown;
        user->cap_devs = cap;
    }
    struct x_dev *d = &user->devs[user->n_devs];
    memset(d, 0, sizeof(*d));
    d->label = label;
    d->id = strdup(id);
    d->name = name ? strdup(name) : NULL;
    d->name_known = name_known;
    d->name_req = name_req;
    d->live = true;
    d->token = token ? strdup(token) : NULL;
    d->token_live = token != NULL;
    if (!d->id)
        return NULL;
    user->n_devs++;
    return d;
}

size_t x_live_count(const struct x_model *m, int u) {
    size_t n = 0;
    for (size_t i = 0; i < m->users[u].n_devs; i++)
        n += m->users[u].devs[i].live;
    return n;
}

const char *x_session_get(struct x_user *u, const char *key) {
    for (size_t i = 0; i < u->n_sessions; i++)
        if (strcmp(u->sessions[i].key, key) == 0)
            return u->sessions[i].session;
    return NULL;
}

void x_session_drop(struct x_user *u, const char *key) {
    for (size_t i = 0; i < u->n_sessions; i++) {
        if (strcmp(u->sessions[i].key, key) == 0) {
            free(u->sessions[i].key);
            free(u->sessions[i].session);
            u->sessions[i] = u->sessions[--u->n_sessions];
            return;
        }
    }
}

void x_session_set(struct x_user *u, const char *key, const char *session) {
    x_session_drop(u, key);
    if (!session)
        return;
    if (u->n_sessions == u->cap_sessions) {
        size_t cap = u->cap_sessions ? u->cap_sessions * 2 : 8;
        struct x_session *grown = realloc(u->sessions, cap * sizeof(*grown));
        if (!grown)
            return;
        u->sessions = grown;
        u->cap_sessions = cap;
    }
    char *k = strdup(key), *v = strdup(session);
    if (!k || !v) {
        /* Out of memory: the session is forgotten, and the next step that
         * needs it asks for a new one. */
        free(k);
        free(v);
        return;
    }
    u->sessions[u->n_sessions].key = k;
    u->sessions[u->n_sessions].session = v;
    u->n_sessions++;
}
