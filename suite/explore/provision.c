/* Fresh users for each exploration run (and each replay while shrinking):
 * POST /register through the dummy or registration-token stage, and for the
 * application service a namespace user with inhibit_login. Not mx_session.c:
 * that file belongs to criterion tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "explore_internal.h"
#include "mx_env.h"
#include "mx_redact.h"
#include "mx_uia.h"

#define MAX_STAGES 6

static void make_password(char *buf, size_t n) {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[32];
    if (n > sizeof(raw) + 1)
        n = sizeof(raw) + 1;
    if (getrandom(raw, n - 1, 0) != (ssize_t)(n - 1))
        for (size_t i = 0; i + 1 < n; i++)
            raw[i] = (unsigned char)(i * 37 + (unsigned)getpid());
    for (size_t i = 0; i + 1 < n; i++)
        buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
    buf[n - 1] = '\0';
}

static bool completed(const struct mx_resp *r, const char *stage) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->json, "completed"), i, c) {
        if (json_is_string(c) && strcmp(json_string_value(c), stage) == 0)
            return true;
    }
    return false;
}

/* The next stage the suite can do in the first flow it can complete. */
static const char *next_stage(const struct mx_resp *r) {
    const char *token = mx_env()->registration_token;
    size_t i, j;
    json_t *flow, *s;
    json_array_foreach(json_object_get(r->json, "flows"), i, flow) {
        bool doable = true;
        const char *next = NULL;
        json_array_foreach(json_object_get(flow, "stages"), j, s) {
            const char *st = json_string_value(s);
            if (!st ||
                !(strcmp(st, "m.login.dummy") == 0 || strcmp(st, "m.login.terms") == 0 ||
                  (token && strcmp(st, "m.login.registration_token") == 0)))
                doable = false;
            else if (!next && !completed(r, st))
                next = st;
        }
        if (doable && next)
            return next;
    }
    return NULL;
}

static int register_password_user(struct x_run *x, struct x_user *u,
                                  const char *localpart) {
    char password[21];
    make_password(password, sizeof(password));
    mx_redact_secret(password);
    json_t *body = json_pack("{s:s, s:s, s:s}", "username", localpart, "password",
                             password, "initial_device_display_name", "explore");
    const struct mx_resp *r = NULL;
    int rc = -1;

    for (int i = 0; i < MAX_STAGES; i++) {
        r = MX_SEND(.method = "POST", .path = MX_V3 "/register", .body = body);
        x->requests++;
        if (r->status != 401)
            break;
        const char *stage = next_stage(r);
        if (!stage)
            break;
        json_object_set_new(body, "auth",
                            mx_uia_stage(r, stage, mx_env()->registration_token));
    }
    const char *user_id = json_string_value(json_object_get(r->json, "user_id"));
    const char *device = json_string_value(json_object_get(r->json, "device_id"));
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    if (r->status == 0) {
        snprintf(x->err, sizeof(x->err), "cannot reach the homeserver: %s",
                 r->transport_error);
        goto out;
    }
    if (r->status != 200 || !user_id || !device || !token) {
        const char *code = mx_errcode(r);
        snprintf(x->err, sizeof(x->err),
                 "the exploration needs fresh users, and POST /register answered %ld%s%s "
                 "(open registration, or a registration token, is needed)",
                 r->status, code ? " " : "", code ? code : "");
        goto out;
    }
    mx_redact_secret(token);
    u->user_id = strdup(user_id);
    u->password = strdup(password);
    if (!x_dev_add(&x->m, (int)(u - x->m.users), -(int)(u - x->m.users) - 1, device,
                   "explore", true, "LIST-NAME", token))
        goto out;
    rc = 0;
out:
    json_decref(body);
    return rc;
}

static int register_as_user(struct x_run *x, struct x_user *u, const char *localpart) {
    json_t *body = json_pack("{s:s, s:s, s:b}", "type", "m.login.application_service",
                             "username", localpart, "inhibit_login", 1);
    const struct mx_resp *r = MX_SEND(.method = "POST", .path = MX_V3 "/register",
                                      .appservice = true, .body = body);
    json_decref(body);
    x->requests++;
    const char *user_id = json_string_value(json_object_get(r->json, "user_id"));
    if (r->status != 200) {
        const char *code = mx_errcode(r);
        snprintf(x->err, sizeof(x->err),
                 "the application service cannot register %s: POST /register answered "
                 "%ld%s%s",
                 localpart, r->status, code ? " " : "", code ? code : "");
        return -1;
    }
    if (user_id) {
        u->user_id = strdup(user_id);
    } else if (mx_env()->server_name) {
        char *id = NULL;
        if (asprintf(&id, "@%s:%s", localpart, mx_env()->server_name) < 0)
            id = NULL;
        u->user_id = id;
    }
    if (!u->user_id) {
        snprintf(x->err, sizeof(x->err),
                 "the application service's registration of %s gave no user_id",
                 localpart);
        return -1;
    }
    u->appservice = true;
    return 0;
}

int x_provision(struct x_run *x) {
    const struct mx_env *env = mx_env();
    int n = x->cfg->users;
    char localpart[160];

    x->m.n_password = n;
    x->m.n_users = n + (x->use_as ? 1 : 0);
    for (int u = 0; u < n; u++) {
        snprintf(localpart, sizeof(localpart), "mxdevx%s_%ld_%u_%d", env->run_id,
                 (long)getpid(), x->replay_no, u);
        for (char *p = localpart; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (register_password_user(x, &x->m.users[u], localpart) < 0)
            goto fail;
    }
    if (x->use_as) {
        snprintf(localpart, sizeof(localpart), "%sx%s_%ld_%u", env->as_user_prefix,
                 env->run_id, (long)getpid(), x->replay_no);
        for (char *p = localpart; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (register_as_user(x, &x->m.users[n], localpart) < 0)
            goto fail;
    }
    mx_arena_free();
    return 0;
fail:
    x->fatal = true;
    mx_arena_free();
    return -1;
}
