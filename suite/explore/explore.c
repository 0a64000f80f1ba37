/* The exploration loop: draw an operation from the model, run it, check it;
 * on the first divergence shrink the sequence by replaying shortened
 * versions against fresh users, and build the result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "explore_internal.h"
#include "mx_catalog.h"
#include "mx_env.h"
#include "mx_redact.h"

/* A transcript entry as it may leave the process: new reference. */
static json_t *redacted_entry(const json_t *e) {
    json_t *out = json_object();
    const char *keys[] = {"as", "request", "expected", "observed"};
    json_object_set(out, "n", json_object_get(e, "n"));
    for (size_t i = 0; i < 4; i++) {
        char *text = mx_redact(json_string_value(json_object_get(e, keys[i])));
        json_object_set_new(out, keys[i], json_string(text ? text : ""));
        free(text);
    }
    return out;
}

/* ---- runs ---- */

struct op_list {
    struct x_op *ops;
    size_t n, cap;
};

static int ops_push(struct op_list *l, const struct x_op *op) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct x_op *grown = realloc(l->ops, cap * sizeof(*grown));
        if (!grown)
            return -1;
        l->ops = grown;
        l->cap = cap;
    }
    l->ops[l->n++] = *op;
    return 0;
}

static void run_init(struct x_run *x, const struct mx_explore_config *cfg,
                     unsigned replay_no) {
    const struct mx_env *env = mx_env();
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->spec_version = env->spec_version;
    x->use_as =
        cfg->appservice && env->as_available && env->as_token && env->spec_version >= 117;
    x->replay_no = replay_no;
    snprintf(x->tag, sizeof(x->tag), "%.16s%ldr%u_", env->run_id, (long)getpid(),
             replay_no);
    x->transcript = json_array();
}

static void run_free(struct x_run *x) {
    x_model_free(&x->m);
    json_decref(x->transcript);
    free(x->expected);
    free(x->observed);
    x->transcript = NULL;
    x->expected = x->observed = NULL;
}

/* Replays ops against fresh users. Returns 1 when it diverged by want (the
 * index of the diverging op in *hit), 0 when not, -1 on a fatal problem. */
static int replay(struct x_run *x, const struct op_list *ops, const char *want,
                  size_t *hit) {
    if (x_provision(x) < 0)
        return -1;
    for (size_t i = 0; i < ops->n; i++) {
        x->step = ops->ops[i].n;
        x_exec_op(x, &ops->ops[i]);
        mx_arena_free();
        if (x->fatal)
            return -1;
        if (x->diverged) {
            *hit = i;
            return strcmp(x->req, want) == 0;
        }
    }
    return 0;
}

struct shrink {
    long replays;
    long requests;
    json_t *transcript; /* of the smallest diverging replay (new reference) */
    char *expected, *observed;
    int step;
    json_t *setup; /* "u0 = @user:server" of that replay (new reference) */
};

/* The users a run registered, for the minimal sequence's reader. */
static json_t *setup_of(const struct x_run *x) {
    json_t *setup = json_array();
    for (int u = 0; u < x->m.n_users; u++)
        json_array_append_new(setup,
                              json_sprintf("u%d = %s%s", u, x->m.users[u].user_id,
                                           x->m.users[u].appservice
                                               ? " (the application service's user)"
                                               : ""));
    return setup;
}

/* Delta debugging by chunk removal, bounded in replays and time. cur holds
 * the diverging sequence and is shortened in place. */
static void shrink(const struct mx_explore_config *cfg, struct op_list *cur,
                   const char *want, unsigned *replay_no, struct shrink *out) {
    long max_replays = cfg->shrink_replays > 0 ? cfg->shrink_replays : 300;
    double deadline = mx_now_ms() + (double)(cfg->shrink_ms > 0 ? cfg->shrink_ms : 60000);
    size_t chunk = cur->n / 2 ? cur->n / 2 : 1;
    struct op_list cand = {0};

    /* The full sequence first: from fresh users it must diverge alike. */
    bool first = true;
    for (;;) {
        bool progress = false;
        for (size_t start = 0; start < cur->n || first;) {
            if (out->replays >= max_replays || mx_now_ms() > deadline)
                goto out;
            cand.n = 0;
            for (size_t i = 0; i < cur->n; i++)
                if (first || i < start || i >= start + chunk)
                    if (ops_push(&cand, &cur->ops[i]) < 0)
                        goto out;
            if (cand.n == 0) {
                start += chunk;
                continue;
            }
            struct x_run x;
            size_t hit = 0;
            run_init(&x, cfg, ++*replay_no);
            int rc = replay(&x, &cand, want, &hit);
            out->replays++;
            out->requests += x.requests;
            if (rc == 1) {
                cur->n = 0;
                for (size_t i = 0; i <= hit; i++)
                    ops_push(cur, &cand.ops[i]);
                json_decref(out->transcript);
                out->transcript = json_incref(x.transcript);
                free(out->expected);
                free(out->observed);
                out->expected = strdup(x.expected);
                out->observed = strdup(x.observed);
                out->step = x.div_step;
                json_decref(out->setup);
                out->setup = setup_of(&x);
                progress = !first;
            } else if (!first) {
                start += chunk;
            }
            run_free(&x);
            mx_arena_free();
            if (rc < 0 || (first && rc != 1))
                goto out; /* not reproducible from fresh users */
            if (first) {
                first = false;
                chunk = cur->n / 2 ? cur->n / 2 : 1;
                start = 0;
            }
            if (chunk > cur->n)
                chunk = cur->n ? cur->n : 1;
        }
        if (!progress) {
            if (chunk <= 1)
                break;
            chunk /= 2;
        }
    }
out:
    free(cand.ops);
}

static char *replay_command(const struct mx_explore_config *cfg, long steps) {
    const struct mx_env *env = mx_env();
    char *cmd = NULL;
    if (asprintf(&cmd,
                 "device-conformance --homeserver %s --spec-version %s --explore %ld "
                 "--seed %llu%s%s%s",
                 env->homeserver ? env->homeserver : "URL",
                 mx_version_name(env->spec_version), steps, cfg->seed,
                 cfg->strict ? " --strict" : "", cfg->replay_args ? " " : "",
                 cfg->replay_args ? cfg->replay_args : "") < 0)
        return NULL;
    return cmd;
}

int mx_explore_run(const struct mx_explore_config *cfg_in, json_t **result, char *err,
                   size_t err_len) {
    struct mx_explore_config cfg = *cfg_in;
    struct x_run x;
    struct x_rng rng = {cfg.seed};
    struct op_list ops = {0};
    json_t *trace = NULL;
    unsigned replay_no = 0;
    char cat_err[512];
    double t0 = mx_now_ms();
    int rc = -1;

    *result = NULL;
    if (cfg.users == 0)
        cfg.users = 3;
    if (cfg.steps < 1 || cfg.steps > 1000000 || cfg.users < 2 || cfg.users > 4) {
        snprintf(err, err_len,
                 "exploration: steps must be 1 .. 1000000 and users 2 .. 4 (got %ld, %d)",
                 cfg.steps, cfg.users);
        return -1;
    }
    if (!mx_env()->legacy_login) {
        snprintf(err, err_len,
                 "exploration: the server offers no password login (legacy login API), "
                 "which the exploration's users need");
        return -1;
    }
    if (mx_catalog_ensure(cat_err, sizeof(cat_err)) < 0) {
        snprintf(err, err_len, "exploration: requirement catalogue: %s", cat_err);
        return -1;
    }
    mx_client_set_recording(false);
    run_init(&x, &cfg, replay_no);
    if (cfg.trace)
        trace = json_array();
    if (x_provision(&x) < 0) {
        snprintf(err, err_len, "exploration: %s", x.err);
        goto out;
    }
    long steps_run = 0;
    bool out_of_time = false;
    double stop_at = t0 + (double)(cfg.max_ms > 0 ? cfg.max_ms : 600000);
    for (long i = 1; i <= cfg.steps; i++) {
        if (mx_now_ms() > stop_at) {
            out_of_time = true;
            break;
        }
        struct x_op op;
        x.step = (int)i;
        x_gen_op(&x, &rng, (int)i, &op);
        if (ops_push(&ops, &op) < 0) {
            snprintf(err, err_len, "exploration: out of memory");
            goto out;
        }
        if (trace) {
            char *line = x_op_describe(&op);
            json_array_append_new(trace, json_string(line ? line : "?"));
            free(line);
        }
        x_exec_op(&x, &op);
        steps_run = i;
        mx_arena_free();
        /* Only the recent steps' exchanges are kept for the fallback. */
        if (json_array_size(x.transcript) > 4000)
            json_array_clear(x.transcript);
        if (x.fatal) {
            snprintf(err, err_len, "exploration stopped at step %ld: %s", i, x.err);
            goto out;
        }
        if (x.diverged)
            break;
    }

    /* JSON readers keep integers exact up to 2^53: a larger seed is given as
     * a string, and seed_text always is one. */
    json_t *res = json_pack(
        "{s:o, s:I, s:s, s:i, s:b}", "seed",
        cfg.seed <= 9007199254740991ULL ? json_integer((json_int_t)cfg.seed)
                                        : json_sprintf("%llu", cfg.seed),
        "steps_run", (json_int_t)steps_run, "spec_version",
        mx_version_name(x.spec_version), "users", cfg.users, "appservice", x.use_as);
    char seed_text[32];
    snprintf(seed_text, sizeof(seed_text), "%llu", cfg.seed);
    json_object_set_new(res, "seed_text", json_string(seed_text));
    if (out_of_time)
        json_object_set_new(res, "stopped", json_string("time limit"));
    if (!x.diverged) {
        json_object_set_new(res, "divergence", json_null());
    } else {
        struct shrink sh = {0};
        char want[64];
        snprintf(want, sizeof(want), "%s", x.req);
        shrink(&cfg, &ops, want, &replay_no, &sh);
        x.requests += sh.requests;
        json_t *minimal = json_array();
        json_t *steps = json_array();
        json_t *src = sh.transcript ? sh.transcript : x.transcript;
        size_t i;
        json_t *e;
        json_array_foreach(src, i, e) {
            /* Without a successful replay only the diverging step is shown. */
            if (!sh.transcript &&
                json_integer_value(json_object_get(e, "n")) != x.div_step)
                continue;
            json_array_append_new(minimal, redacted_entry(e));
        }
        if (sh.transcript) {
            for (size_t k = 0; k < ops.n; k++) {
                char *line = x_op_describe(&ops.ops[k]);
                json_array_append_new(steps, json_string(line ? line : "?"));
                free(line);
            }
        }
        char *cmd = replay_command(&cfg, steps_run);
        json_object_set_new(
            res, "divergence",
            json_pack("{s:s, s:i, s:s, s:s, s:o, s:o, s:b, s:I, s:s*}", "requirement",
                      x.req, "step", sh.transcript ? sh.step : x.div_step, "expected",
                      sh.transcript ? sh.expected : x.expected, "observed",
                      sh.transcript ? sh.observed : x.observed, "minimal", minimal,
                      "minimal_steps", steps, "reproduced", sh.transcript != NULL,
                      "replays", (json_int_t)sh.replays, "replay", cmd));
        free(cmd);
        json_object_set_new(json_object_get(res, "divergence"), "setup",
                            sh.setup ? sh.setup : setup_of(&x));
        json_decref(sh.transcript);
        free(sh.expected);
        free(sh.observed);
    }
    json_object_set_new(res, "requests", json_integer(x.requests));
    json_object_set_new(res, "duration_ms", json_integer((json_int_t)(mx_now_ms() - t0)));
    if (trace)
        json_object_set(res, "trace", trace);
    *result = res;
    rc = 0;
out:
    run_free(&x);
    json_decref(trace);
    free(ops.ops);
    mx_arena_free();
    mx_client_set_recording(true);
    return rc;
}

void mx_explore_print(const json_t *result, FILE *out) {
    json_t *div = json_object_get(result, "divergence");
    fprintf(out, "exploration: seed %s, %lld steps, %lld requests, %lld ms, spec %s%s\n",
            json_string_value(json_object_get(result, "seed_text")),
            (long long)json_integer_value(json_object_get(result, "steps_run")),
            (long long)json_integer_value(json_object_get(result, "requests")),
            (long long)json_integer_value(json_object_get(result, "duration_ms")),
            json_string_value(json_object_get(result, "spec_version")),
            json_is_true(json_object_get(result, "appservice"))
                ? ", with the application service"
                : "");
    if (json_object_get(result, "stopped"))
        fprintf(out, "  stopped early: %s\n",
                json_string_value(json_object_get(result, "stopped")));
    if (!json_is_object(div)) {
        fprintf(out, "  no divergence from the model\n");
        return;
    }
    fprintf(out, "  DIVERGENCE at step %lld, charged to %s\n",
            (long long)json_integer_value(json_object_get(div, "step")),
            json_string_value(json_object_get(div, "requirement")));
    fprintf(out, "    expected: %s\n",
            json_string_value(json_object_get(div, "expected")));
    fprintf(out, "    observed: %s\n",
            json_string_value(json_object_get(div, "observed")));
    json_t *minimal = json_object_get(div, "minimal");
    fprintf(out, "  %s (%zu HTTP requests after registering fresh users:",
            json_is_true(json_object_get(div, "reproduced"))
                ? "minimal sequence"
                : "the diverging step (not reproduced from fresh users)",
            json_array_size(minimal));
    size_t k;
    json_t *u;
    json_array_foreach(json_object_get(div, "setup"), k, u) {
        fprintf(out, "%s%s", k ? ", " : " ", json_string_value(u));
    }
    fprintf(out, "):\n");
    size_t i;
    json_t *e;
    json_array_foreach(minimal, i, e) {
        fprintf(out, "  %3zu. [step %lld, %s] %s\n", i + 1,
                (long long)json_integer_value(json_object_get(e, "n")),
                json_string_value(json_object_get(e, "as")),
                json_string_value(json_object_get(e, "request")));
        fprintf(out, "       expected: %s\n",
                json_string_value(json_object_get(e, "expected")));
        fprintf(out, "       observed: %s\n",
                json_string_value(json_object_get(e, "observed")));
    }
    fprintf(out, "  replay: %s\n", json_string_value(json_object_get(div, "replay")));
}
