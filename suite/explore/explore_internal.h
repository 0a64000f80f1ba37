/* Shared by the exploration's files: the model (model.c), sending and
 * judging every exchange (judge.c), the operations (ops.c), provisioning
 * (provision.c) and the driver loop (explore.c). Each file calls only into
 * the files named before it. */
#ifndef EXPLORE_INTERNAL_H
#define EXPLORE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mx_client.h"
#include "mx_explore.h"

#define X_MAX_USERS 6   /* password users plus application-service users */
#define X_MAX_LIVE 6    /* live devices per user the generator allows */
#define X_MAX_TARGETS 4 /* IDs in one bulk deletion */

/* ---- deterministic PRNG (splitmix64) ---- */

struct x_rng {
    unsigned long long state;
};

unsigned long long x_rng_next(struct x_rng *r);
/* Uniform in [0, n); n > 0. */
unsigned x_rng_below(struct x_rng *r, unsigned n);

/* ---- the model ---- */

/* One device as a correct server must show it. Labels are step-local: the
 * step number of the operation that created the device (the registration
 * device of user u has label -(u + 1)), so that a replay of a shortened
 * sequence still names the same devices. */
struct x_dev {
    int label;
    char *id;             /* the server's device ID (owned) */
    char *name;           /* expected display_name; NULL: none (owned) */
    bool name_known;      /* false: the server chose; learnt at the next listing */
    const char *name_req; /* the rule that set the name */
    bool needs_encoding;  /* the ID needs percent-encoding in a path */
    bool live;
    char *token; /* its access token, NULL when it never had one (owned) */
    bool token_live;
    const char *kill_req; /* why it must be gone: the deleting step's rule */
    const char *tok_req;  /* why its token must be dead */
    int killed_at;        /* step that deleted it */
    bool killed_by_as;
};

/* An open UIA session of a deletion request ("D <id>" or "B <json list>"). */
struct x_session {
    char *key;
    char *session;
};

struct x_user {
    char *user_id;  /* owned */
    char *password; /* owned; NULL for application-service users */
    bool appservice;
    struct x_dev *devs;
    size_t n_devs, cap_devs;
    struct x_session *sessions;
    size_t n_sessions, cap_sessions;
};

struct x_model {
    struct x_user users[X_MAX_USERS];
    int n_users; /* password users first, then application-service users */
    int n_password;
    bool as_login_unsupported; /* the server gives namespace users no token */
};

void x_model_free(struct x_model *m);
/* The device of user u with label, or NULL. Borrowed. */
struct x_dev *x_dev_by_label(struct x_model *m, int u, int label);
/* The device of user u with server ID id, or NULL. Borrowed. */
struct x_dev *x_dev_by_id(struct x_model *m, int u, const char *id);
/* Adds a live device (strings copied); NULL on OOM. */
struct x_dev *x_dev_add(struct x_model *m, int u, int label, const char *id,
                        const char *name, bool name_known, const char *name_req,
                        const char *token);
size_t x_live_count(const struct x_model *m, int u);
/* Sessions: the open session for key, or NULL; set replaces; drop removes. */
const char *x_session_get(struct x_user *u, const char *key);
void x_session_set(struct x_user *u, const char *key, const char *session);
void x_session_drop(struct x_user *u, const char *key);
/* Replaces *dst with a copy of src (NULL allowed). */
void x_set_str(char **dst, const char *src);

/* Display names the operations use: ASCII and non-ASCII. */
extern const char *const x_names[];
extern const size_t x_n_names;
bool x_is_ascii(const char *s);

/* ---- operations ---- */

enum x_kind {
    OP_LOGIN,
    OP_PUT,
    OP_GET,
    OP_LIST,
    OP_DEL_NOAUTH,
    OP_DEL_BADAUTH,
    OP_DEL_OK,
    OP_BULK_MISSING,
    OP_SESSION_BOUND,
    OP_LOGOUT,
    OP_WHOAMI_ALL,
    OP_AUTH_PROBE,
    OP_AS_CREATE,
    OP_AS_UPDATE,
    OP_AS_DELETE,
    OP_AS_LOGIN,
    OP_AS_WHOAMI,
    OP_AS_OUTSIDE,
    OP_AS_LIST,
    OP_NS_DELETE,
    OP_KIND_COUNT
};

/* A device named by an operation: user and label; label 0 means an ID no
 * device has ("XNX<tag><step>_<i>"). */
struct x_ref {
    int user;
    int label;
};

/* One operation, replayable: everything is in step-local terms. */
struct x_op {
    enum x_kind kind;
    int n;       /* step number (1-based); a device it creates gets label n */
    int user;    /* the acting user */
    int caller;  /* label of the device whose token sends it; 0: none */
    int variant; /* kind-specific */
    int name;    /* index into x_names, -1: none */
    bool bulk;   /* POST /delete_devices rather than DELETE /devices/{id} */
    struct x_ref t[X_MAX_TARGETS];
    int n_t;
};

/* One run over fresh users: the model, counters and the first divergence. */
struct x_run {
    const struct mx_explore_config *cfg;
    int spec_version;
    bool use_as;
    struct x_model m;
    unsigned replay_no;
    char tag[48]; /* in every ID the run invents: unique per process and replay */
    long requests;
    int step;           /* the running step's number */
    json_t *transcript; /* [{n, request, expected, observed}] of this run */
    /* the first divergence */
    bool diverged;
    char req[64];
    int div_step;
    char *expected, *observed; /* owned */
    /* a problem that stops the run (not a divergence) */
    bool fatal;
    char err[512];
};

/* Fills op with a random operation for step n, chosen from the model's
 * state only (never from server-generated values or timing). */
void x_gen_op(struct x_run *x, struct x_rng *rng, int n, struct x_op *op);
/* Runs op against the server and checks it. Returns 0 when run, 1 when its
 * preconditions do not hold in this run's model (skipped, nothing sent). */
int x_exec_op(struct x_run *x, const struct x_op *op);
/* "u1 PUT d12 name=3" etc.: the op in step-local words (new string). */
char *x_op_describe(const struct x_op *op);

/* ---- judging every exchange (judge.c) ---- */

/* Records the first divergence (later ones are ignored), unless the rule
 * does not apply at the target version, or is a SHOULD outside strict. */
void x_diverge(struct x_run *x, const char *req, const char *expected,
               const char *observed_fmt, ...) __attribute__((format(printf, 4, 5)));
/* Whether a divergence by req would count (version, level, strictness). */
bool x_judged(const struct x_run *x, const char *req);

/* Sends req: waits out 429 (judging ERR-RATELIMIT), judges ERR-JSON,
 * ERR-SHAPE, ERR-SCHEMA and AUTH-HEADER, and appends to the transcript with
 * the expected text. A transport failure sets x->fatal. Arena-owned. */
const struct mx_resp *x_send(struct x_run *x, const struct mx_req *req,
                             const char *expected);
/* "404 M_NOT_FOUND {...}" for messages (arena string). */
const char *x_observed(const struct mx_resp *r);

/* ---- provisioning (provision.c) ---- */

/* Registers the run's users afresh (password users and, when used, the
 * application-service user). Returns 0, or -1 with x->fatal and x->err. */
int x_provision(struct x_run *x);

#endif
