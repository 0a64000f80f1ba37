/* The operations: how each is drawn from the model's state, sent, and judged,
 * and the state comparison after mutating steps. Every difference is charged
 * to the catalogue rule it breaks, chosen by the step that caused it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore_internal.h"
#include "mx_env.h"
#include "mx_match.h"
#include "mx_redact.h"
#include "mx_uia.h"

static const char *const kind_names[OP_KIND_COUNT] = {
    [OP_LOGIN] = "login",
    [OP_PUT] = "put",
    [OP_GET] = "get",
    [OP_LIST] = "list",
    [OP_DEL_NOAUTH] = "delete-noauth",
    [OP_DEL_BADAUTH] = "delete-badauth",
    [OP_DEL_OK] = "delete",
    [OP_BULK_MISSING] = "bulk-missing",
    [OP_SESSION_BOUND] = "session-bound",
    [OP_LOGOUT] = "logout",
    [OP_WHOAMI_ALL] = "whoami-all",
    [OP_AUTH_PROBE] = "auth-probe",
    [OP_AS_CREATE] = "as-create",
    [OP_AS_UPDATE] = "as-update",
    [OP_AS_DELETE] = "as-delete",
    [OP_AS_LOGIN] = "as-login",
    [OP_AS_WHOAMI] = "as-whoami",
    [OP_AS_OUTSIDE] = "as-outside",
    [OP_AS_LIST] = "as-list",
    [OP_NS_DELETE] = "ns-delete",
};

char *x_op_describe(const struct x_op *op) {
    char buf[512];
    int len =
        snprintf(buf, sizeof(buf), "%d %s u%d", op->n, kind_names[op->kind], op->user);
    if (op->caller)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, " by d%d", op->caller);
    for (int i = 0; i < op->n_t && len < (int)sizeof(buf) - 32; i++)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s u%d:%s%d",
                        i ? "," : " on", op->t[i].user, op->t[i].label ? "d" : "unknown",
                        op->t[i].label ? op->t[i].label : i);
    if (op->variant && len < (int)sizeof(buf) - 16)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, " v%d", op->variant);
    if (op->name >= 0 && len < (int)sizeof(buf) - 16)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, " name%d", op->name);
    if (op->bulk && len < (int)sizeof(buf) - 8)
        snprintf(buf + len, sizeof(buf) - (size_t)len, " bulk");
    return strdup(buf);
}

/* ---- drawing operations ---- */

enum pick { PICK_LIVE, PICK_DEAD, PICK_TOKEN, PICK_NOTOKEN };

static bool dev_fits(const struct x_dev *d, enum pick how) {
    switch (how) {
        case PICK_LIVE:
            return d->live;
        case PICK_DEAD:
            return !d->live;
        case PICK_TOKEN:
            return d->live && d->token_live;
        case PICK_NOTOKEN:
            return d->live && !d->token;
    }
    return false;
}

/* A random device of user u that fits; its label, or 0 when none. */
static int pick_dev(struct x_run *x, struct x_rng *rng, int u, enum pick how) {
    struct x_user *user = &x->m.users[u];
    unsigned n = 0;
    for (size_t i = 0; i < user->n_devs; i++)
        n += dev_fits(&user->devs[i], how);
    if (n == 0)
        return 0;
    unsigned k = x_rng_below(rng, n);
    for (size_t i = 0; i < user->n_devs; i++) {
        if (dev_fits(&user->devs[i], how) && k-- == 0)
            return user->devs[i].label;
    }
    return 0;
}

/* Another user than u with a live device; -1 when none. */
static int pick_other_user(struct x_run *x, struct x_rng *rng, int u) {
    int cand[X_MAX_USERS], n = 0;
    for (int v = 0; v < x->m.n_users; v++)
        if (v != u && x_live_count(&x->m, v) > 0)
            cand[n++] = v;
    return n ? cand[x_rng_below(rng, (unsigned)n)] : -1;
}

/* A target for user u's operation: own live (weight own), own dead,
 * unknown, or another user's device (foreign). 0 on success. */
static int pick_target(struct x_run *x, struct x_rng *rng, int u, unsigned own,
                       unsigned dead, unsigned unknown, unsigned foreign,
                       struct x_ref *ref) {
    unsigned roll = x_rng_below(rng, own + dead + unknown + foreign);
    ref->user = u;
    ref->label = 0;
    if (roll < own) {
        ref->label = pick_dev(x, rng, u, PICK_LIVE);
        return ref->label ? 0 : -1;
    }
    roll -= own;
    if (roll < dead) {
        ref->label = pick_dev(x, rng, u, PICK_DEAD);
        return ref->label ? 0 : -1;
    }
    roll -= dead;
    if (roll < unknown)
        return 0;
    int v = pick_other_user(x, rng, u);
    if (v < 0)
        return -1;
    ref->user = v;
    ref->label = pick_dev(x, rng, v, PICK_LIVE);
    return 0;
}

/* Whether target i of op names the same device as an earlier target. */
static bool repeats_target(const struct x_op *op, int i) {
    for (int j = 0; j < i; j++)
        if (op->t[j].label && op->t[j].user == op->t[i].user &&
            op->t[j].label == op->t[i].label)
            return true;
    return false;
}

struct weight {
    enum x_kind kind;
    unsigned weight;
};

static const struct weight weights[] = {
    {OP_LOGIN, 8},         {OP_PUT, 14},        {OP_GET, 10},       {OP_LIST, 6},
    {OP_DEL_NOAUTH, 4},    {OP_DEL_BADAUTH, 5}, {OP_DEL_OK, 9},     {OP_BULK_MISSING, 1},
    {OP_SESSION_BOUND, 1}, {OP_LOGOUT, 3},      {OP_WHOAMI_ALL, 3}, {OP_AUTH_PROBE, 3},
    {OP_AS_CREATE, 6},     {OP_AS_UPDATE, 4},   {OP_AS_DELETE, 5},  {OP_AS_LOGIN, 3},
    {OP_AS_WHOAMI, 4},     {OP_AS_OUTSIDE, 1},  {OP_AS_LIST, 2},    {OP_NS_DELETE, 2},
};

static bool kind_enabled(const struct x_run *x, enum x_kind k) {
    if (k >= OP_AS_CREATE)
        return x->use_as;
    if (k == OP_SESSION_BOUND)
        return x->cfg->strict;
    return true;
}

/* Fills op for kind; -1 when the model's state does not allow it now. */
static int fill_op(struct x_run *x, struct x_rng *rng, enum x_kind kind,
                   struct x_op *op) {
    int np = x->m.n_password;
    int as = np; /* the application-service user */
    op->kind = kind;
    if (kind < OP_AS_CREATE) {
        op->user = (int)x_rng_below(rng, (unsigned)np);
        if (kind != OP_LOGIN) {
            op->caller = pick_dev(x, rng, op->user, PICK_TOKEN);
            if (!op->caller)
                return -1;
        }
    } else {
        op->user = as;
    }
    switch (kind) {
        case OP_LOGIN:
            if (x_live_count(&x->m, op->user) >= X_MAX_LIVE)
                return -1;
            op->variant =
                (int)x_rng_below(rng, 6); /* 0..3 server ID, 4 XD<n>, 5 encoded */
            if (x_rng_below(rng, 10) < 7)
                op->name = (int)x_rng_below(rng, (unsigned)x_n_names);
            return 0;
        case OP_PUT:
            op->variant =
                (int)x_rng_below(rng, 10); /* 0..5 name, 6..7 {}, 8 type, 9 text */
            if (op->variant <= 5)
                op->name = (int)x_rng_below(rng, (unsigned)x_n_names);
            op->n_t = 1;
            return pick_target(x, rng, op->user, 6, 1, 1, 2, &op->t[0]);
        case OP_GET:
            op->n_t = 1;
            return pick_target(x, rng, op->user, 6, 1, 1, 2, &op->t[0]);
        case OP_LIST:
        case OP_WHOAMI_ALL:
        case OP_LOGOUT:
        case OP_BULK_MISSING:
            return 0;
        case OP_AUTH_PROBE:
            op->variant = (int)x_rng_below(rng, 3);
            return 0;
        case OP_DEL_NOAUTH:
        case OP_DEL_BADAUTH:
        case OP_DEL_OK:
            if (kind == OP_DEL_BADAUTH)
                op->variant = (int)x_rng_below(rng, 3);
            op->bulk = x_rng_below(rng, 3) == 0;
            op->n_t = op->bulk ? 1 + (int)x_rng_below(rng, 3) : 1;
            for (int i = 0; i < op->n_t; i++) {
                if (kind == OP_DEL_OK
                        ? pick_target(x, rng, op->user, 6, 2, 1, 2, &op->t[i])
                        : pick_target(x, rng, op->user, 8, 0, 1, 1, &op->t[i]))
                    return -1;
                if (repeats_target(op, i))
                    return -1;
            }
            return 0;
        case OP_SESSION_BOUND:
            op->n_t = 2;
            op->t[0].user = op->t[1].user = op->user;
            op->t[0].label = pick_dev(x, rng, op->user, PICK_LIVE);
            op->t[1].label = pick_dev(x, rng, op->user, PICK_LIVE);
            return op->t[0].label && op->t[1].label && op->t[0].label != op->t[1].label
                       ? 0
                       : -1;
        case OP_AS_CREATE:
            if (x_live_count(&x->m, as) >= X_MAX_LIVE)
                return -1;
            op->variant = (int)x_rng_below(rng, 4) == 0; /* 1: an ID to encode */
            op->name = (int)x_rng_below(rng, (unsigned)x_n_names);
            return 0;
        case OP_AS_UPDATE:
            op->n_t = 1;
            op->t[0].user = as;
            op->t[0].label = pick_dev(x, rng, as, PICK_LIVE);
            op->name = (int)x_rng_below(rng, (unsigned)x_n_names);
            return op->t[0].label ? 0 : -1;
        case OP_AS_DELETE:
            op->bulk = x_rng_below(rng, 3) == 0;
            op->n_t = op->bulk ? 1 + (int)x_rng_below(rng, 3) : 1;
            for (int i = 0; i < op->n_t; i++) {
                if (pick_target(x, rng, as, 6, 2, 1, op->bulk ? 1 : 0, &op->t[i]))
                    return -1;
                if (repeats_target(op, i))
                    return -1;
            }
            return 0;
        case OP_AS_LOGIN:
            if (x->m.as_login_unsupported)
                return -1;
            op->n_t = 1;
            op->t[0].user = as;
            op->t[0].label = x_rng_below(rng, 2) ? pick_dev(x, rng, as, PICK_NOTOKEN) : 0;
            if (!op->t[0].label && x_live_count(&x->m, as) >= X_MAX_LIVE)
                return -1;
            return 0;
        case OP_AS_WHOAMI:
            op->n_t = 1;
            return pick_target(x, rng, as, 6, 2, 1, 0, &op->t[0]);
        case OP_AS_OUTSIDE:
            op->n_t = 1;
            op->t[0].user = (int)x_rng_below(rng, (unsigned)np);
            return 0;
        case OP_AS_LIST:
            return 0;
        case OP_NS_DELETE:
            op->caller = pick_dev(x, rng, as, PICK_TOKEN);
            op->n_t = 1;
            op->t[0].user = as;
            op->t[0].label = pick_dev(x, rng, as, PICK_LIVE);
            return op->caller && op->t[0].label ? 0 : -1;
        case OP_KIND_COUNT:
            break;
    }
    return -1;
}

void x_gen_op(struct x_run *x, struct x_rng *rng, int n, struct x_op *op) {
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
        if (kind_enabled(x, weights[i].kind))
            total += weights[i].weight;
    for (int attempt = 0; attempt < 64; attempt++) {
        memset(op, 0, sizeof(*op));
        op->n = n;
        op->name = -1;
        unsigned roll = x_rng_below(rng, total);
        enum x_kind kind = OP_LOGIN;
        for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
            if (!kind_enabled(x, weights[i].kind))
                continue;
            if (roll < weights[i].weight) {
                kind = weights[i].kind;
                break;
            }
            roll -= weights[i].weight;
        }
        if (fill_op(x, rng, kind, op) == 0)
            return;
    }
    /* Nothing else fits: a new device for the first user. */
    memset(op, 0, sizeof(*op));
    op->n = n;
    op->name = -1;
    op->kind = OP_LOGIN;
}

/* ---- helpers for running ---- */

static const char *unknown_id(struct x_run *x, const struct x_op *op, int i) {
    return mx_arena_printf("XNX%s%d_%d", x->tag, op->n, i);
}

/* The ID a reference names, and its device (NULL for an unknown ID).
 * Returns -1 when the referenced device does not exist in this run. */
static int resolve(struct x_run *x, const struct x_op *op, int i, const char **id,
                   struct x_dev **dev) {
    const struct x_ref *ref = &op->t[i];
    *dev = NULL;
    if (ref->label == 0) {
        *id = unknown_id(x, op, i);
        return 0;
    }
    *dev = x_dev_by_label(&x->m, ref->user, ref->label);
    if (!*dev)
        return -1;
    *id = (*dev)->id;
    return 0;
}

/* resolve() for target 0, and whether it is a live device of the acting
 * user (own) or of another user (foreign). */
static int resolve_first(struct x_run *x, const struct x_op *op, const char **id,
                         struct x_dev **d, bool *own, bool *foreign) {
    if (resolve(x, op, 0, id, d) < 0)
        return -1;
    *own = *d && op->t[0].user == op->user && (*d)->live;
    *foreign = *d && op->t[0].user != op->user && (*d)->live;
    return 0;
}

static const char *token_of(struct x_run *x, int u, int label) {
    struct x_dev *d = x_dev_by_label(&x->m, u, label);
    return d && d->live && d->token_live ? d->token : NULL;
}

static bool errcode_is(const struct mx_resp *r, const char *a, const char *b) {
    const char *code = mx_errcode(r);
    return code && ((a && strcmp(code, a) == 0) || (b && strcmp(code, b) == 0));
}

static bool same_name(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *quoted(const char *s) {
    return s ? mx_arena_printf("\"%s\"", s) : "(none)";
}

/* Whose live device has this ID, other than user u; -1 when nobody's. */
static int other_owner(struct x_run *x, int u, const char *id) {
    for (int v = 0; v < x->m.n_users; v++) {
        struct x_dev *d = x_dev_by_id(&x->m, v, id);
        if (v != u && d && d->live)
            return v;
    }
    return -1;
}

static void kill_dev(struct x_run *x, struct x_dev *d, const char *kill_req,
                     const char *tok_req, bool by_as) {
    d->live = false;
    d->token_live = false;
    d->kill_req = kill_req;
    d->tok_req = tok_req;
    d->killed_at = x->step;
    d->killed_by_as = by_as;
}

/* ---- the state comparison ---- */

/* What a step did, for charging what differs after it. */
struct x_ctx {
    int actor;                /* user who acted */
    int lister;               /* preferred label to list with (the caller) */
    const char *keep_own;     /* an untouched device of the actor gone, token dead */
    const char *keep_foreign; /* the same for another user */
    const char *extra_id;     /* an ID the step named that must not appear */
    const char *extra_req;
    int created_user, created_label; /* a device the step made */
    const char *created_req;
    const char *created_exact_req; /* made, but under another ID */
    const char *foreign_name_req;  /* another user's name changed */
    int name_user, name_label;     /* a device whose name the step set/kept */
    const char *name_req;
    bool tokens;     /* check token liveness of the user's devices */
    bool all_tokens; /* also the tokens that died in earlier steps */
};

static void ctx_init(struct x_ctx *c, const struct x_op *op) {
    memset(c, 0, sizeof(*c));
    c->actor = op->user;
    c->lister = op->caller;
    c->created_user = -1;
    c->name_user = -1;
}

/* The expected listing, for messages (arena string). */
static const char *model_list(struct x_run *x, int u) {
    struct x_user *user = &x->m.users[u];
    char *text = mx_arena_strdup("200 devices [");
    bool first = true;
    for (size_t i = 0; i < user->n_devs && text; i++) {
        const struct x_dev *d = &user->devs[i];
        if (!d->live)
            continue;
        text = mx_arena_printf("%s%s%s %s", text, first ? "" : ", ", d->id,
                               d->name_known ? quoted(d->name) : "(any name)");
        first = false;
    }
    return text ? mx_arena_printf("%s]", text) : "200";
}

static struct x_dev *first_token_dev(struct x_run *x, int u) {
    struct x_user *user = &x->m.users[u];
    for (size_t i = 0; i < user->n_devs; i++)
        if (user->devs[i].live && user->devs[i].token_live)
            return &user->devs[i];
    return NULL;
}

static const struct mx_resp *send_as_user(struct x_run *x, int u, const struct x_dev *via,
                                          const char *method, const char *path,
                                          const char *expected) {
    struct x_user *user = &x->m.users[u];
    if (!via)
        return x_send(x,
                      &(struct mx_req){.method = method,
                                       .path = path,
                                       .appservice = true,
                                       .assert_user = user->user_id},
                      expected);
    return x_send(x,
                  &(struct mx_req){.method = method, .path = path, .token = via->token},
                  expected);
}

/* Whether the server still has device d of u by GET /devices/{id}. */
static bool device_found(struct x_run *x, int u, const struct x_dev *via,
                         const struct x_dev *d) {
    const struct mx_resp *r = send_as_user(
        x, u, via, "GET", mx_path(MX_V3 "/devices/%s", d->id), "200 or 404 (look-up)");
    return r->status == 200;
}

static const char *keep_req(const struct x_ctx *c, int u) {
    const char *req = u == c->actor ? c->keep_own : c->keep_foreign;
    return req ? req : "TOK-OTHERS-KEEP";
}

static void check_tokens(struct x_run *x, const struct x_ctx *c, int u) {
    struct x_user *user = &x->m.users[u];
    for (size_t i = 0; i < user->n_devs && !x->diverged && !x->fatal; i++) {
        struct x_dev *d = &user->devs[i];
        if (!d->token)
            continue;
        if (d->token_live) {
            const char *exp =
                mx_arena_printf("200 user_id %s device_id %s", user->user_id, d->id);
            const struct mx_resp *r = x_send(
                x, &(struct mx_req){.path = MX_V3 "/account/whoami", .token = d->token},
                exp);
            const char *uid = json_string_value(json_object_get(r->json, "user_id"));
            const char *did = json_string_value(json_object_get(r->json, "device_id"));
            if (r->status != 200)
                x_diverge(x, keep_req(c, u), exp, "token of %s: %s", d->id,
                          x_observed(r));
            else if (!uid || strcmp(uid, user->user_id) != 0 || !did ||
                     strcmp(did, d->id) != 0)
                x_diverge(x, "AUTH-HEADER", exp, "%s", x_observed(r));
        } else if (c->all_tokens || d->killed_at == x->step) {
            const char *exp =
                mx_arena_printf("401 M_UNKNOWN_TOKEN (device %s deleted)", d->id);
            const struct mx_resp *r = x_send(
                x, &(struct mx_req){.path = MX_V3 "/account/whoami", .token = d->token},
                exp);
            /* Still working breaks the deleting step's rule; refused in
             * another form than 401 M_UNKNOWN_TOKEN breaks AUTH-UNKNOWN's. */
            if (r->status >= 200 && r->status < 300)
                x_diverge(x, d->tok_req ? d->tok_req : "TOK-DELETED", exp, "%s",
                          x_observed(r));
            else if (r->status != 401 || !errcode_is(r, "M_UNKNOWN_TOKEN", NULL))
                x_diverge(x, "AUTH-UNKNOWN", exp, "%s", x_observed(r));
            else if (json_is_true(json_object_get(r->json, "soft_logout")))
                x_diverge(x, "TOK-NO-SOFT", "401 without soft_logout true", "%s",
                          x_observed(r));
        }
    }
}

/* GET /devices of user u compared exactly with the model; then tokens. */
static void check_user(struct x_run *x, const struct x_ctx *c, int u) {
    struct x_user *user = &x->m.users[u];
    struct x_dev *via = NULL;
    bool *seen = NULL;

    if (x->diverged || x->fatal)
        return;
    if (!user->appservice) {
        via = u == c->actor ? x_dev_by_label(&x->m, u, c->lister) : NULL;
        if (!via || !via->live || !via->token_live)
            via = first_token_dev(x, u);
        if (!via)
            goto tokens; /* nobody left to look with */
    }
    const char *exp = model_list(x, u);
    const struct mx_resp *r = send_as_user(x, u, via, "GET", MX_V3 "/devices", exp);
    json_t *list = json_object_get(r->json, "devices");
    if (r->status == 401 && via) {
        x_diverge(x, keep_req(c, u), exp, "token of %s: %s", via->id, x_observed(r));
        return;
    }
    if (r->status != 200 || !json_is_array(list)) {
        x_diverge(x, "LIST-OK", exp, "%s", x_observed(r));
        return;
    }
    seen = calloc(user->n_devs + 1, sizeof(*seen));
    if (!seen)
        return;
    const char *extra_ctx = NULL, *extra_foreign = NULL, *extra_unknown = NULL;
    struct x_dev *zombie = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *id = json_string_value(json_object_get(e, "device_id"));
        if (!id) {
            x_diverge(x, "LIST-OK", exp, "an entry without device_id: %s", x_observed(r));
            goto out;
        }
        struct x_dev *d = x_dev_by_id(&x->m, u, id);
        if (d) {
            seen[d - user->devs] = true;
            if (!d->live && !zombie)
                zombie = d;
        } else if (c->extra_id && strcmp(id, c->extra_id) == 0) {
            extra_ctx = id;
        } else if (other_owner(x, u, id) >= 0) {
            extra_foreign = id;
        } else if (!extra_unknown) {
            extra_unknown = id;
        }
    }
    /* The device the step made, missing. */
    if (c->created_user == u) {
        struct x_dev *d = x_dev_by_label(&x->m, u, c->created_label);
        if (d && d->live && !seen[d - user->devs]) {
            const char *req = extra_unknown && c->created_exact_req ? c->created_exact_req
                              : c->created_req                      ? c->created_req
                              : via == d                            ? "LIST-SELF"
                                                                    : "LIST-ALL";
            x_diverge(x, req, exp, "no %s in %s", d->id, x_observed(r));
            goto out;
        }
    }
    if (zombie) {
        if (c->extra_id && strcmp(zombie->id, c->extra_id) == 0)
            x_diverge(x, c->extra_req, exp, "deleted %s listed again: %s", zombie->id,
                      x_observed(r));
        else
            x_diverge(x, zombie->kill_req ? zombie->kill_req : "LIST-ISOLATED",
                      mx_arena_printf("%s (step %d deleted %s)", exp, zombie->killed_at,
                                      zombie->id),
                      "%s", x_observed(r));
        goto out;
    }
    for (size_t k = 0; k < user->n_devs; k++) {
        struct x_dev *d = &user->devs[k];
        if (!d->live || seen[k])
            continue;
        /* Gone for real, or only left out of the list? */
        if (d == via)
            x_diverge(x, "LIST-SELF", exp, "the caller %s is missing: %s", d->id,
                      x_observed(r));
        else if (device_found(x, u, via, d))
            x_diverge(x, "LIST-ALL", exp, "%s is missing (GET /devices/{id} has it): %s",
                      d->id, x_observed(r));
        else
            x_diverge(x, keep_req(c, u), exp, "%s is gone: %s", d->id, x_observed(r));
        goto out;
    }
    if (extra_ctx) {
        x_diverge(x, c->extra_req, exp, "%s appeared: %s", extra_ctx, x_observed(r));
        goto out;
    }
    if (extra_foreign || extra_unknown) {
        x_diverge(x, "LIST-ISOLATED", exp, "%s is not %s's: %s",
                  extra_foreign ? extra_foreign : extra_unknown, user->user_id,
                  x_observed(r));
        goto out;
    }
    /* Names. */
    json_array_foreach(list, i, e) {
        const char *id = json_string_value(json_object_get(e, "device_id"));
        struct x_dev *d = x_dev_by_id(&x->m, u, id);
        const char *name = json_string_value(json_object_get(e, "display_name"));
        if (!d || !d->live)
            continue;
        if (!d->name_known) {
            x_set_str(&d->name, name);
            d->name_known = true;
            continue;
        }
        if (same_name(name, d->name))
            continue;
        const char *req = d->name_req ? d->name_req : "PUT-UPDATE";
        if (c->name_user == u && c->name_label == d->label && c->name_req)
            req = c->name_req;
        else if (u != c->actor && c->foreign_name_req)
            req = c->foreign_name_req;
        x_diverge(x, req, exp, "%s has display_name %s: %s", d->id, quoted(name),
                  x_observed(r));
        goto out;
    }
tokens:
    if (c->tokens)
        check_tokens(x, c, u);
out:
    free(seen);
}

/* Checks the actor and every other user the step's targets belong to. */
static void check_after(struct x_run *x, const struct x_ctx *c, const struct x_op *op) {
    bool done[X_MAX_USERS] = {false};
    check_user(x, c, c->actor);
    done[c->actor] = true;
    for (int i = 0; i < op->n_t; i++) {
        int v = op->t[i].user;
        if (v >= 0 && v < x->m.n_users && !done[v]) {
            done[v] = true;
            check_user(x, c, v);
        }
    }
}

/* ---- UIA ---- */

/* Judges a UIA challenge of a password user's deletion. 0 when it is one. */
static int judge_challenge(struct x_run *x, const struct mx_resp *r) {
    struct mx_error err = {{0}};
    if (r->status != 401) {
        x_diverge(x, "UIA-CHALLENGE", "401 with flows (authentication asked)", "%s",
                  x_observed(r));
        return -1;
    }
    if (mx_match_uia_challenge(r, &err) < 0) {
        x_diverge(x, "UIA-CHALLENGE", "401 with flows of stages", "%s: %s", err.text,
                  x_observed(r));
        return -1;
    }
    static const char *const password_only[] = {"m.login.password", NULL};
    err.text[0] = '\0';
    if (mx_match_uia_flow(r, password_only, &err) < 0)
        x_diverge(x, "UIA-PASSWORD-FLOW", "a flow [\"m.login.password\"]", "%s",
                  x_observed(r));
    return 0;
}

struct deletion {
    const char *method;
    const char *path;
    json_t *body; /* borrowed; NULL for DELETE without body */
    const char *key;
    const char *token;
};

static const struct mx_resp *send_deletion(struct x_run *x, const struct deletion *del,
                                           json_t *auth, const char *expected) {
    json_t *body = del->body ? json_deep_copy(del->body) : json_object();
    if (auth)
        json_object_set(body, "auth", auth);
    const struct mx_resp *r =
        x_send(x,
               &(struct mx_req){.method = del->method,
                                .path = del->path,
                                .token = del->token,
                                .body = (auth || del->body) ? body : NULL},
               expected);
    json_decref(body);
    return r;
}

/* The session for del: the open one, or a challenge now. Returns 0 with
 * *session (model-owned or arena; may be NULL when the server names none),
 * -1 on a divergence. */
static int open_session(struct x_run *x, const struct x_op *op, const struct x_ctx *c,
                        const struct deletion *del, const char **session) {
    struct x_user *user = &x->m.users[op->user];
    *session = x_session_get(user, del->key);
    if (*session)
        return 0;
    const struct mx_resp *r = send_deletion(x, del, NULL, "401 with flows");
    if (x->fatal || judge_challenge(x, r) < 0)
        return -1;
    *session = mx_arena_strdup(json_string_value(json_object_get(r->json, "session")));
    if (*session)
        x_session_set(user, del->key, *session);
    /* The challenge alone must change nothing: looked at before the next
     * request, so that what it did is not charged to that one. */
    struct x_ctx after = *c;
    after.keep_own = after.keep_foreign = "UIA-NOTHING-DONE";
    after.tokens = false;
    check_after(x, &after, op);
    return x->diverged || x->fatal ? -1 : 0;
}

/* ---- the operations ---- */

static void op_login(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    const char *want_id = NULL;
    const char *name = op->name >= 0 ? x_names[op->name] : NULL;
    if (op->variant == 4)
        want_id = mx_arena_printf("XD%s%d", x->tag, op->n);
    else if (op->variant == 5)
        want_id = mx_arena_printf("XD%s%d \xc3\xa9/x", x->tag, op->n);
    json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s*, s:s*}", "type",
                             "m.login.password", "identifier", "type", "m.id.user",
                             "user", user->user_id, "password", user->password,
                             "device_id", want_id, "initial_device_display_name", name);
    const struct mx_resp *r = x_send(
        x, &(struct mx_req){.method = "POST", .path = MX_V3 "/login", .body = body},
        "200 with access_token and device_id");
    json_decref(body);
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    const char *id = json_string_value(json_object_get(r->json, "device_id"));
    if (x->fatal || x->diverged)
        return;
    if (r->status != 200 || !token || !id || (want_id && strcmp(id, want_id) != 0)) {
        x_diverge(x, "LIST-ALL",
                  want_id ? mx_arena_printf("200 with device_id %s", want_id)
                          : "200 with access_token and device_id",
                  "%s", x_observed(r));
        return;
    }
    mx_redact_secret(token);
    struct x_dev *d =
        x_dev_add(&x->m, op->user, op->n, id, name, name != NULL, "LIST-NAME", token);
    if (!d)
        return;
    d->needs_encoding = op->variant == 5;
    c->created_user = op->user;
    c->created_label = op->n;
    c->tokens = true;
    check_after(x, c, op);
}

static void op_put(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    const char *id;
    struct x_dev *d;
    bool own, foreign;
    if (resolve_first(x, op, &id, &d, &own, &foreign) < 0)
        return;
    const char *name = op->name >= 0 ? x_names[op->name] : NULL;
    json_t *body = NULL;
    const char *raw = NULL;
    if (op->variant <= 5)
        body = json_pack("{s:s}", "display_name", name);
    else if (op->variant <= 7)
        body = json_object();
    else if (op->variant == 8)
        body = json_pack("{s:i}", "display_name", 42);
    else
        raw = "display_name: not json";
    const char *exp;
    if (own)
        exp = op->variant <= 7   ? "200"
              : op->variant == 8 ? "400 M_BAD_JSON or M_INVALID_PARAM"
                                 : "400 M_NOT_JSON";
    else
        exp = op->variant <= 7 ? "404 M_NOT_FOUND" : "400 or 404";
    const struct mx_resp *r =
        x_send(x,
               &(struct mx_req){.method = "PUT",
                                .path = mx_path(MX_V3 "/devices/%s", id),
                                .token = token_of(x, op->user, op->caller),
                                .body = body,
                                .raw_body = raw},
               exp);
    json_decref(body);
    if (x->fatal || x->diverged)
        return;
    const char *put_req = !name || x_is_ascii(name) ? "PUT-UPDATE" : "PUT-UNICODE";
    if (own) {
        const char *req = op->variant <= 5   ? put_req
                          : op->variant <= 7 ? "PUT-EMPTY"
                          : op->variant == 8 ? "PUT-BAD-TYPE"
                                             : "PUT-NOT-JSON";
        bool ok = op->variant <= 7 ? r->status == 200
                  : op->variant == 8
                      ? r->status == 400 && errcode_is(r, "M_BAD_JSON", "M_INVALID_PARAM")
                      : r->status == 400 && errcode_is(r, "M_NOT_JSON", NULL);
        if (!ok) {
            x_diverge(x, req, exp, "%s", x_observed(r));
            return;
        }
        if (op->variant <= 5) {
            x_set_str(&d->name, name);
            d->name_known = true;
            d->name_req = put_req;
        }
        c->name_user = op->user;
        c->name_label = d->label;
        c->name_req = req;
    } else {
        /* The answer to an ID the user has no device under, another user's
         * or none, is PUT-UNKNOWN's rule; PUT-OTHER-USER's is that the other
         * user's device keeps its name (checked after the step). */
        const char *req = "PUT-UNKNOWN";
        if (op->variant <= 7 && r->status != 404) {
            x_diverge(x, req, exp, "%s", x_observed(r));
            return;
        }
        if (op->variant > 7 && r->status != 400 && r->status != 404) {
            x_diverge(x, req, exp, "%s", x_observed(r));
            return;
        }
        if (r->status == 404 && !errcode_is(r, "M_NOT_FOUND", NULL)) {
            x_diverge(x, "PUT-UNKNOWN-ERRCODE", exp, "%s", x_observed(r));
            if (x->diverged)
                return;
        }
        if (!foreign) {
            c->extra_id = id;
            c->extra_req = "PUT-UNKNOWN";
        }
        c->foreign_name_req = "PUT-OTHER-USER";
    }
    check_after(x, c, op);
}

static void op_get(struct x_run *x, const struct x_op *op) {
    const char *id;
    struct x_dev *d;
    bool own, foreign;
    if (resolve_first(x, op, &id, &d, &own, &foreign) < 0)
        return;
    const char *exp = own ? mx_arena_printf("200 device_id %s display_name %s", id,
                                            d->name_known ? quoted(d->name) : "(any)")
                          : "404 M_NOT_FOUND";
    const struct mx_resp *r =
        x_send(x,
               &(struct mx_req){.method = "GET",
                                .path = mx_path(MX_V3 "/devices/%s", id),
                                .token = token_of(x, op->user, op->caller)},
               exp);
    if (x->fatal || x->diverged)
        return;
    if (own) {
        const char *got = json_string_value(json_object_get(r->json, "device_id"));
        const char *name = json_string_value(json_object_get(r->json, "display_name"));
        if (r->status != 200 || !got || strcmp(got, id) != 0) {
            x_diverge(x, d->needs_encoding ? "GET-ENCODED" : "GET-OK", exp, "%s",
                      x_observed(r));
        } else if (!d->name_known) {
            x_set_str(&d->name, name);
            d->name_known = true;
        } else if (!same_name(name, d->name)) {
            x_diverge(x, d->name_req ? d->name_req : "PUT-UPDATE", exp, "%s",
                      x_observed(r));
        }
        return;
    }
    if (r->status != 404)
        x_diverge(x, foreign ? "GET-OTHER-USER" : "GET-UNKNOWN", exp, "%s",
                  x_observed(r));
    else if (!errcode_is(r, "M_NOT_FOUND", NULL))
        x_diverge(x, "GET-UNKNOWN-ERRCODE", exp, "%s", x_observed(r));
}

/* The deletion request of op (single or bulk) as user u with token. */
static int build_deletion(struct x_run *x, const struct x_op *op, const char *token,
                          const char *assert_user, struct deletion *del, json_t **body) {
    *body = NULL;
    if (!op->bulk) {
        const char *id;
        struct x_dev *d;
        if (resolve(x, op, 0, &id, &d) < 0)
            return -1;
        del->method = "DELETE";
        del->path = assert_user ? mx_arena_printf("%s?user_id=%s",
                                                  mx_path(MX_V3 "/devices/%s", id),
                                                  mx_path("%s", assert_user))
                                : mx_path(MX_V3 "/devices/%s", id);
        del->key = mx_arena_printf("D %s", id);
    } else {
        json_t *ids = json_array();
        for (int i = 0; i < op->n_t; i++) {
            const char *id;
            struct x_dev *d;
            if (resolve(x, op, i, &id, &d) < 0) {
                json_decref(ids);
                return -1;
            }
            json_array_append_new(ids, json_string(id));
        }
        char *list = json_dumps(ids, JSON_COMPACT);
        del->key = mx_arena_printf("B %s", list ? list : "");
        free(list);
        *body = json_pack("{s:o}", "devices", ids);
        del->method = "POST";
        del->path = assert_user ? mx_arena_printf(MX_V3 "/delete_devices?user_id=%s",
                                                  mx_path("%s", assert_user))
                                : MX_V3 "/delete_devices";
    }
    del->body = *body;
    del->token = token;
    return 0;
}

/* Which rule the status of a successful deletion answers to, and applies
 * the deletion to the model. */
static const char *apply_deletion(struct x_run *x, const struct x_op *op, bool by_as) {
    int live = 0, other = 0;
    for (int i = 0; i < op->n_t; i++) {
        struct x_dev *d =
            op->t[i].label ? x_dev_by_label(&x->m, op->t[i].user, op->t[i].label) : NULL;
        if (d && op->t[i].user == op->user && d->live)
            live++;
        else
            other++;
    }
    const char *status_req;
    if (!op->bulk) {
        struct x_dev *d =
            op->t[0].label ? x_dev_by_label(&x->m, op->t[0].user, op->t[0].label) : NULL;
        bool own = d && op->t[0].user == op->user;
        status_req = own && d->live ? (by_as ? "ASD-DELETE" : "UIA-SUCCESS")
                     : own          ? "DEL-IDEMPOTENT"
                     : d            ? "DEL-OTHER-USER"
                                    : "DEL-UNKNOWN";
    } else {
        status_req = live == 0   ? "BULK-IDEMPOTENT"
                     : other > 0 ? "BULK-MIXED"
                     : by_as     ? "ASD-BULK"
                                 : "BULK-DELETE";
    }
    for (int i = 0; i < op->n_t; i++) {
        struct x_dev *d =
            op->t[i].label ? x_dev_by_label(&x->m, op->t[i].user, op->t[i].label) : NULL;
        if (!d || op->t[i].user != op->user || !d->live)
            continue;
        const char *kill = by_as ? (op->bulk ? "ASD-BULK" : "ASD-DELETE")
                                 : (op->bulk ? "BULK-DELETE" : "UIA-SUCCESS");
        const char *tok = by_as                    ? "TOK-AS-DELETE"
                          : op->bulk               ? "TOK-BULK"
                          : d->label == op->caller ? "TOK-SELF"
                                                   : "TOK-DELETED";
        kill_dev(x, d, kill, tok, by_as);
    }
    return status_req;
}

static void op_delete(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    struct deletion del;
    json_t *body;
    const char *token = token_of(x, op->user, op->caller);
    if (build_deletion(x, op, token, NULL, &del, &body) < 0)
        return;
    c->tokens = true;
    if (op->kind == OP_DEL_NOAUTH) {
        const struct mx_resp *r = send_deletion(x, &del, NULL, "401 with flows");
        if (!x->fatal && judge_challenge(x, r) == 0) {
            const char *s = json_string_value(json_object_get(r->json, "session"));
            if (s)
                x_session_set(user, del.key, s);
        }
        c->keep_own = c->keep_foreign = "UIA-NOTHING-DONE";
        goto check;
    }
    const char *session;
    if (open_session(x, op, c, &del, &session) < 0)
        goto out;
    if (op->kind == OP_DEL_BADAUTH) {
        json_t *auth;
        const char *req, *exp;
        if (op->variant == 0) {
            auth = mx_uia_password(user->user_id, mx_arena_printf("wrong-%d", op->n),
                                   session);
            req = "UIA-WRONG-PASSWORD";
            exp = "401 M_FORBIDDEN with flows";
        } else if (op->variant == 1) {
            auth = json_pack("{s:s, s:s*}", "type", "m.login.dummy", "session", session);
            req = "UIA-NOT-OFFERED";
            exp = "401 (m.login.dummy is not offered)";
        } else {
            const struct x_user *other = &x->m.users[(op->user + 1) % x->m.n_password];
            auth = mx_uia_password(other->user_id, other->password, session);
            req = "UIA-OTHER-USER";
            exp = "not 200 (another user's credentials)";
        }
        const struct mx_resp *r = send_deletion(x, &del, auth, exp);
        json_decref(auth);
        if (x->fatal)
            goto out;
        bool ok = op->variant == 2 ? r->status != 200
                  : op->variant == 1
                      ? r->status == 401
                      : r->status == 401 && errcode_is(r, "M_FORBIDDEN", NULL) &&
                            json_is_array(json_object_get(r->json, "flows"));
        if (!ok) {
            x_diverge(x, req, exp, "%s", x_observed(r));
            goto out;
        }
        const char *echoed = json_string_value(json_object_get(r->json, "session"));
        if (op->variant == 0 && session && (!echoed || strcmp(echoed, session) != 0))
            x_diverge(x, "UIA-SESSION-ECHO", mx_arena_printf("session %s", session), "%s",
                      x_observed(r));
        /* A session in which another user's valid credentials were shown is
         * one the spec says nothing more about (a server may refuse it from
         * then on, as Synapse does with 403 "Invalid auth"): later steps
         * open a fresh one. */
        if (op->variant == 2)
            x_session_drop(user, del.key);
        c->keep_own = c->keep_foreign = req;
        goto check;
    }
    /* OP_DEL_OK */
    json_t *auth = mx_uia_password(user->user_id, user->password, session);
    const struct mx_resp *r = send_deletion(x, &del, auth, "200");
    json_decref(auth);
    if (x->fatal)
        goto out;
    x_session_drop(user, del.key);
    bool foreign_single = !op->bulk && op->t[0].label && op->t[0].user != op->user;
    const char *status_req = apply_deletion(x, op, false);
    if (r->status != 200 && !(foreign_single && r->status == 404)) {
        x_diverge(x, status_req, "200", "%s", x_observed(r));
        goto out;
    }
    c->keep_own = "TOK-OTHERS-KEEP";
    c->keep_foreign = op->bulk ? "BULK-OTHER-USER" : "DEL-OTHER-USER";
check:
    check_after(x, c, op);
out:
    json_decref(body);
}

static void op_bulk_missing(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    const char *token = token_of(x, op->user, op->caller);
    const char *exp = "400 M_BAD_JSON or M_MISSING_PARAM (possibly after a UIA 401)";
    json_t *body = json_object();
    const struct mx_resp *r = x_send(x,
                                     &(struct mx_req){.method = "POST",
                                                      .path = MX_V3 "/delete_devices",
                                                      .token = token,
                                                      .body = body},
                                     exp);
    if (!x->fatal && r->status == 401 && json_object_get(r->json, "flows")) {
        const char *session = json_string_value(json_object_get(r->json, "session"));
        json_object_set_new(body, "auth",
                            mx_uia_password(user->user_id, user->password, session));
        r = x_send(x,
                   &(struct mx_req){.method = "POST",
                                    .path = MX_V3 "/delete_devices",
                                    .token = token,
                                    .body = body},
                   exp);
    }
    json_decref(body);
    if (x->fatal)
        return;
    if (r->status != 400 || !errcode_is(r, "M_BAD_JSON", "M_MISSING_PARAM")) {
        x_diverge(x, "BULK-MISSING", exp, "%s", x_observed(r));
        return;
    }
    c->keep_own = "BULK-MISSING";
    c->tokens = true;
    check_after(x, c, op);
}

static void op_session_bound(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    struct x_op a = *op, b = *op;
    struct deletion da, db;
    json_t *ba, *bb;
    const char *token = token_of(x, op->user, op->caller);
    a.n_t = 1;
    b.n_t = 1;
    b.t[0] = op->t[1];
    if (build_deletion(x, &a, token, NULL, &da, &ba) < 0 ||
        build_deletion(x, &b, token, NULL, &db, &bb) < 0)
        return;
    const char *session;
    if (open_session(x, op, c, &da, &session) == 0 && session) {
        json_t *auth = mx_uia_password(user->user_id, user->password, session);
        const char *exp = "not 200 (the session was opened for another device)";
        const struct mx_resp *r = send_deletion(x, &db, auth, exp);
        json_decref(auth);
        x_session_drop(user, da.key);
        if (!x->fatal && r->status == 200) {
            x_diverge(x, "UIA-SESSION-BOUND", exp, "%s", x_observed(r));
            /* Outside strict the model follows what a lax server did. */
            if (!x->diverged)
                apply_deletion(x, &b, false);
        }
        c->keep_own = "UIA-SESSION-BOUND";
        c->tokens = true;
        check_after(x, c, op);
    }
}

static void op_logout(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_dev *d = x_dev_by_label(&x->m, op->user, op->caller);
    const struct mx_resp *r = x_send(x,
                                     &(struct mx_req){.method = "POST",
                                                      .path = MX_V3 "/logout",
                                                      .token = d->token,
                                                      .raw_body = "{}"},
                                     "200");
    if (x->fatal)
        return;
    if (r->status != 200) {
        x_diverge(x, "TOK-LOGOUT", "200", "%s", x_observed(r));
        return;
    }
    kill_dev(x, d, "TOK-LOGOUT", "TOK-LOGOUT", false);
    c->tokens = true;
    check_after(x, c, op);
}

static void op_auth_probe(struct x_run *x, const struct x_op *op) {
    const char *token = token_of(x, op->user, op->caller);
    const struct mx_resp *r;
    if (op->variant == 0) {
        r = x_send(x, &(struct mx_req){.path = MX_V3 "/devices"}, "401 M_MISSING_TOKEN");
        if (!x->fatal && (r->status != 401 || !errcode_is(r, "M_MISSING_TOKEN", NULL)))
            x_diverge(x, "AUTH-MISSING", "401 M_MISSING_TOKEN", "%s", x_observed(r));
    } else if (op->variant == 1) {
        const char *made_up = mx_arena_printf("mxdevx_never_issued_%d", op->n);
        r = x_send(x, &(struct mx_req){.path = MX_V3 "/devices", .token = made_up},
                   "401 M_UNKNOWN_TOKEN");
        if (!x->fatal && (r->status != 401 || !errcode_is(r, "M_UNKNOWN_TOKEN", NULL)))
            x_diverge(x, "AUTH-UNKNOWN", "401 M_UNKNOWN_TOKEN", "%s", x_observed(r));
    } else if (x->spec_version >= 120) {
        r = x_send(x,
                   &(struct mx_req){.path = MX_V3 "/devices",
                                    .token = token,
                                    .token_in = MX_TOKEN_QUERY},
                   "401 M_MISSING_TOKEN (query tokens removed)");
        if (!x->fatal && (r->status != 401 || !errcode_is(r, "M_MISSING_TOKEN", NULL)))
            x_diverge(x, "AUTH-QUERY-REMOVED", "401 M_MISSING_TOKEN", "%s",
                      x_observed(r));
    } else {
        r = x_send(x,
                   &(struct mx_req){.path = MX_V3 "/devices",
                                    .token = token,
                                    .token_in = MX_TOKEN_QUERY},
                   "200");
        if (!x->fatal && r->status != 200)
            x_diverge(x, "AUTH-QUERY", "200", "%s", x_observed(r));
    }
}

static const char *as_path(const char *path, const char *user_id) {
    return mx_arena_printf("%s?user_id=%s", path, mx_path("%s", user_id));
}

static void op_as_put(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    const char *name = x_names[op->name];
    json_t *body = json_pack("{s:s}", "display_name", name);
    bool create = op->kind == OP_AS_CREATE;
    struct x_dev *d = NULL;
    const char *id;
    if (create) {
        id = op->variant ? mx_arena_printf("XAS%s%d \xc3\xbc/x", x->tag, op->n)
                         : mx_arena_printf("XAS%s%d", x->tag, op->n);
    } else {
        d = x_dev_by_label(&x->m, op->user, op->t[0].label);
        if (!d || !d->live) {
            json_decref(body);
            return;
        }
        id = d->id;
    }
    const char *exp = create ? "201" : "200";
    const struct mx_resp *r = x_send(
        x,
        &(struct mx_req){.method = "PUT",
                         .path = as_path(mx_path(MX_V3 "/devices/%s", id), user->user_id),
                         .appservice = true,
                         .body = body},
        exp);
    json_decref(body);
    if (x->fatal)
        return;
    if (r->status != (create ? 201 : 200)) {
        x_diverge(x, create ? "ASC-CREATE" : "ASC-UPDATE", exp, "%s", x_observed(r));
        return;
    }
    if (create) {
        d = x_dev_add(&x->m, op->user, op->n, id, name, true, "ASC-VISIBLE", NULL);
        if (!d)
            return;
        d->needs_encoding = op->variant != 0;
        c->created_user = op->user;
        c->created_label = op->n;
        c->created_req = "ASC-VISIBLE";
        c->created_exact_req = "ASC-EXACT-ID";
        c->name_req = "ASC-VISIBLE";
    } else {
        x_set_str(&d->name, name);
        d->name_known = true;
        d->name_req = "ASC-UPDATE";
        c->name_req = "ASC-UPDATE";
    }
    c->name_user = op->user;
    c->name_label = d->label;
    check_after(x, c, op);
}

static void op_as_delete(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    struct deletion del;
    json_t *body;
    if (build_deletion(x, op, NULL, user->user_id, &del, &body) < 0)
        return;
    const struct mx_resp *r = x_send(
        x,
        &(struct mx_req){
            .method = del.method, .path = del.path, .appservice = true, .body = body},
        "200 (no UIA for the application service)");
    json_decref(body);
    if (x->fatal)
        return;
    const char *status_req = apply_deletion(x, op, true);
    /* Authentication asked of the application service breaks its exemption,
     * whatever the IDs. */
    if (r->status == 401)
        status_req = op->bulk ? "ASD-BULK" : "ASD-DELETE";
    if (r->status != 200) {
        x_diverge(x, status_req, "200 (no UIA for the application service)", "%s",
                  x_observed(r));
        return;
    }
    c->keep_own = "TOK-OTHERS-KEEP";
    c->keep_foreign = "BULK-OTHER-USER";
    c->tokens = true;
    check_after(x, c, op);
}

static void op_as_login(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *user = &x->m.users[op->user];
    struct x_dev *d = NULL;
    if (op->t[0].label) {
        d = x_dev_by_label(&x->m, op->user, op->t[0].label);
        if (!d || !d->live || d->token)
            return;
    }
    json_t *body = json_pack(
        "{s:s, s:{s:s, s:s}, s:s*}", "type", "m.login.application_service", "identifier",
        "type", "m.id.user", "user", user->user_id, "device_id", d ? d->id : NULL);
    const struct mx_resp *r = x_send(
        x,
        &(struct mx_req){
            .method = "POST", .path = MX_V3 "/login", .appservice = true, .body = body},
        "200 with access_token (or the server gives namespace users no token)");
    json_decref(body);
    if (x->fatal || x->diverged)
        return;
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    const char *id = json_string_value(json_object_get(r->json, "device_id"));
    if (r->status != 200 || !token || !id) {
        /* TOK-AS-DELETE is not checkable on such a server (its rule says so). */
        x->m.as_login_unsupported = true;
        return;
    }
    mx_redact_secret(token);
    if (d && strcmp(id, d->id) != 0) {
        x_diverge(x, "TOK-AS-DELETE", mx_arena_printf("200 with device_id %s", d->id),
                  "%s", x_observed(r));
        return;
    }
    if (d) {
        x_set_str(&d->token, token);
        d->token_live = true;
    } else {
        d = x_dev_add(&x->m, op->user, op->n, id, NULL, false, "LIST-NAME", token);
        if (!d)
            return;
        c->created_user = op->user;
        c->created_label = op->n;
    }
    c->tokens = true;
    check_after(x, c, op);
}

static void op_as_whoami(struct x_run *x, const struct x_op *op) {
    struct x_user *user = &x->m.users[op->user];
    const char *id;
    struct x_dev *d;
    if (resolve(x, op, 0, &id, &d) < 0)
        return;
    const char *path = mx_arena_printf(MX_V3 "/account/whoami?user_id=%s&device_id=%s",
                                       mx_path("%s", user->user_id), mx_path("%s", id));
    bool live = d && d->live;
    const char *exp =
        live ? mx_arena_printf("200 device_id %s", id) : "400 M_UNKNOWN_DEVICE";
    const struct mx_resp *r =
        x_send(x, &(struct mx_req){.path = path, .appservice = true}, exp);
    if (x->fatal)
        return;
    if (live) {
        const char *got = json_string_value(json_object_get(r->json, "device_id"));
        if (r->status != 200 || !got || strcmp(got, id) != 0)
            x_diverge(x, "ASC-MASQUERADE", exp, "%s", x_observed(r));
    } else if (r->status != 400 || !errcode_is(r, "M_UNKNOWN_DEVICE", NULL)) {
        x_diverge(x, d && d->killed_by_as ? "ASD-GONE" : "ASC-UNKNOWN-DEVICE", exp, "%s",
                  x_observed(r));
    }
}

static void op_as_outside(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    struct x_user *victim = &x->m.users[op->t[0].user];
    const char *id = mx_arena_printf("XOUT%s%d", x->tag, op->n);
    const char *exp = "403 M_EXCLUSIVE or M_FORBIDDEN";
    const struct mx_resp *r =
        x_send(x,
               &(struct mx_req){
                   .method = "PUT",
                   .path = as_path(mx_path(MX_V3 "/devices/%s", id), victim->user_id),
                   .appservice = true,
                   .raw_body = "{\"display_name\":\"outside\"}"},
               exp);
    if (x->fatal)
        return;
    if (r->status != 403 || !errcode_is(r, "M_EXCLUSIVE", "M_FORBIDDEN")) {
        x_diverge(x, "ASC-OUTSIDE", exp, "%s", x_observed(r));
        return;
    }
    c->actor = op->t[0].user;
    c->lister = 0;
    c->extra_id = id;
    c->extra_req = "ASC-OUTSIDE";
    check_user(x, c, op->t[0].user);
}

static void op_ns_delete(struct x_run *x, const struct x_op *op, struct x_ctx *c) {
    const char *id;
    struct x_dev *d;
    if (resolve(x, op, 0, &id, &d) < 0)
        return;
    const char *exp = "401 (the user's own token still needs UIA)";
    const struct mx_resp *r =
        x_send(x,
               &(struct mx_req){.method = "DELETE",
                                .path = mx_path(MX_V3 "/devices/%s", id),
                                .token = token_of(x, op->user, op->caller)},
               exp);
    if (x->fatal)
        return;
    if (r->status != 401 || errcode_is(r, "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN")) {
        x_diverge(x, "ASD-USER-STILL-UIA", exp, "%s", x_observed(r));
        return;
    }
    c->keep_own = "ASD-USER-STILL-UIA";
    c->tokens = true;
    check_after(x, c, op);
}

int x_exec_op(struct x_run *x, const struct x_op *op) {
    struct x_ctx c;
    ctx_init(&c, op);

    /* Preconditions in this run's model (a shortened replay may lack them). */
    if (op->user >= x->m.n_users)
        return 1;
    if (op->caller && !token_of(x, op->user, op->caller))
        return 1;
    for (int i = 0; i < op->n_t; i++) {
        if (op->t[i].user >= x->m.n_users)
            return 1;
        if (op->t[i].label && !x_dev_by_label(&x->m, op->t[i].user, op->t[i].label))
            return 1;
    }
    switch (op->kind) {
        case OP_LOGIN:
            op_login(x, op, &c);
            break;
        case OP_PUT:
            op_put(x, op, &c);
            break;
        case OP_GET:
            op_get(x, op);
            break;
        case OP_LIST:
            check_user(x, &c, op->user);
            break;
        case OP_DEL_NOAUTH:
        case OP_DEL_BADAUTH:
        case OP_DEL_OK:
            op_delete(x, op, &c);
            break;
        case OP_BULK_MISSING:
            op_bulk_missing(x, op, &c);
            break;
        case OP_SESSION_BOUND:
            op_session_bound(x, op, &c);
            break;
        case OP_LOGOUT:
            op_logout(x, op, &c);
            break;
        case OP_WHOAMI_ALL:
            c.all_tokens = true;
            check_tokens(x, &c, op->user);
            break;
        case OP_AUTH_PROBE:
            op_auth_probe(x, op);
            break;
        case OP_AS_CREATE:
        case OP_AS_UPDATE:
            op_as_put(x, op, &c);
            break;
        case OP_AS_DELETE:
            op_as_delete(x, op, &c);
            break;
        case OP_AS_LOGIN:
            op_as_login(x, op, &c);
            break;
        case OP_AS_WHOAMI:
            op_as_whoami(x, op);
            break;
        case OP_AS_OUTSIDE:
            op_as_outside(x, op, &c);
            break;
        case OP_AS_LIST:
            check_user(x, &c, op->user);
            break;
        case OP_NS_DELETE:
            op_ns_delete(x, op, &c);
            break;
        case OP_KIND_COUNT:
            return 1;
    }
    return 0;
}
