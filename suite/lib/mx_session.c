/* Provisioning of users and devices for tests, and their clean-up. */
#include "mx_session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mx_assert.h"
#include "mx_catalog.h"
#include "mx_client.h"
#include "mx_crosscut.h"
#include "mx_env.h"
#include "mx_model.h"
#include "mx_record.h"
#include "mx_redact.h"
#include "mx_schema_select.h"
#include "mx_uia.h"
#include "mx_variants.h"

#define MAX_UIA_STEPS 8

/* What a test created, so fini can remove it. Owned here (not the arena),
 * freed by mx_test_fini. */
struct tracked {
    char *user_id;
    char *password; /* NULL for application-service users */
    bool appservice;
    bool preexisting;   /* a --user account: it may hold devices of its own */
    json_t *devices;    /* device IDs the test created (strings) */
    json_t *tokens;     /* access tokens of those devices */
    json_t *background; /* devices an earlier check left that the sweep could
                           not delete: there, but none of this check's */
};

/* The run's pool of test users (see "the pool" below): how many accounts of
 * each kind. */
enum pool_kind { POOL_PASSWORD, POOL_AS };
static const char *const pool_names[] = {"user", "as"};
static const size_t pool_slots[] = {MX_POOL_USERS, MX_POOL_AS_USERS};

#define MAX_ACCOUNT_LOCKS 16
#define SESSION_NAME "device-conformance"
#define MAX_HANDED 8

/* A session this check may hand on (see "sessions handed from check to
 * check"; malloc'd strings, freed by fini). */
struct handed {
    char *key; /* "pool-user-<slot>" or "user-<index>" */
    char *user_id;
    char *device_id;
    char *token;
};

/* What provisioning holds for the running check: empty when a check starts,
 * emptied again by mx_test_fini (check_state_clear). */
static struct {
    struct tracked *tracked; /* what the check created, for clean-up */
    size_t n_tracked;
    size_t next_preconfigured; /* --user accounts: the next one the check takes */
    bool in_cleanup;           /* fini cleans up: a rate limit then ends nothing */
    /* Locks held on pooled and --user accounts (see lock_account and
     * pool_lock), released by fini. */
    int account_locks[MAX_ACCOUNT_LOCKS];
    size_t n_account_locks;
    long pool_top[2]; /* the highest slot of each pool_kind held (-1: none) */
    struct handed handed[MAX_HANDED];
    size_t n_handed;
} check = {.pool_top = {-1, -1}};
/* Unique names within this process (its pid is part of them too). */
static unsigned unique_counter;

/* Sessions handed from check to check (see that section below). */
static void sessions_set_aside(void);
static void sessions_hand_on(void);

/* ---- small helpers ---- */

static struct tracked *track_user(const char *user_id, const char *password, bool as) {
    for (size_t i = 0; i < check.n_tracked; i++)
        if (strcmp(check.tracked[i].user_id, user_id) == 0)
            return &check.tracked[i];
    struct tracked *grown =
        realloc(check.tracked, (check.n_tracked + 1) * sizeof(*check.tracked));
    if (!grown)
        return NULL;
    check.tracked = grown;
    struct tracked *t = &check.tracked[check.n_tracked++];
    t->user_id = strdup(user_id);
    t->password = password ? strdup(password) : NULL;
    t->appservice = as;
    t->preexisting = false;
    t->devices = json_array();
    t->tokens = json_array();
    t->background = json_array();
    return t;
}

static void track_device(const struct mx_user *u, const char *device_id,
                         const char *token) {
    struct tracked *t = track_user(u->user_id, u->password, u->appservice_user);
    if (!t)
        return;
    if (device_id) {
        bool known = false;
        size_t i;
        json_t *d;
        json_array_foreach(t->devices, i, d) {
            if (strcmp(json_string_value(d), device_id) == 0)
                known = true;
        }
        if (!known)
            json_array_append_new(t->devices, json_string(device_id));
    }
    if (token)
        json_array_append_new(t->tokens, json_string(token));
}

static void random_alnum(char *buf, size_t n) {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[64];
    if (n > sizeof(raw))
        n = sizeof(raw);
    if (getrandom(raw, n, 0) != (ssize_t)n) {
        /* getrandom cannot fail for small sizes on Linux; fall back anyway. */
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)(rand() ^ (int)getpid());
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
}

static char *lowercase_localpart(const char *s) {
    char *out = mx_arena_strdup(s);
    for (char *p = out; p && *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                   *p == '_' || *p == '=' || *p == '-' || *p == '/'))
            *p = '_';
    }
    return out;
}

static const char *localpart_of(const char *user_id) {
    if (!user_id)
        return NULL;
    const char *colon = strchr(user_id, ':');
    const char *start = user_id[0] == '@' ? user_id + 1 : user_id;
    if (!colon)
        return mx_arena_strdup(start);
    char *lp = mx_arena_keep(strndup(start, (size_t)(colon - start)));
    return lp;
}

static struct mx_user *user_alloc(void) {
    struct mx_user *u = mx_arena_keep(calloc(1, sizeof(*u)));
    cr_assert(u != NULL, "out of memory");
    return u;
}

/* The string member key of r's body, arena copy; NULL when absent. */
static const char *body_string(const struct mx_resp *r, const char *key) {
    return mx_arena_strdup(json_string_value(json_object_get(r->json, key)));
}

const char *mx_unique(const char *prefix) {
    unique_counter++;
    return mx_arena_printf("%s%s_%ld_%u", prefix ? prefix : "mxdev", mx_env()->run_id,
                           (long)getpid(), unique_counter);
}

/* The --user entries (MXDEV_USERS, "@a:hs=PASSWORD" lines): how many, and
 * the index-th as a new malloc'd string (NULL when there is none). */
static size_t preconfigured_entry(const char *users, size_t index, char **entry) {
    size_t n = 0;
    const char *line = users;
    if (entry)
        *entry = NULL;
    while (line && *line) {
        size_t len = strcspn(line, "\n");
        if (len > 0) {
            if (entry && n == index)
                *entry = strndup(line, len);
            n++;
        }
        line += len;
        if (*line == '\n')
            line++;
    }
    return n;
}

/* Registers the password of every --user account for redaction. */
static void redact_preconfigured(void) {
    const char *users = mx_env()->users;
    size_t n = preconfigured_entry(users, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        char *entry;
        preconfigured_entry(users, i, &entry);
        char *eq = entry ? strchr(entry, '=') : NULL;
        if (eq)
            mx_redact_secret(eq + 1);
        free(entry);
    }
}

/* ---- test fixtures ---- */

/* Ends the running check as "not run" with the reason: a check the run
 * kept from running is not a pass, not a failure, and not a harmless skip
 * either: the run did not judge the rule. */
static _Noreturn void not_run(const char *reason) {
    mx_record_not_run(reason);
    mx_record_cost();
    cr_skip_test("%s", reason);
}

/* Ends the check as not run when the run was stopped (mx_record_abort_run)
 * or its --deadline has passed; when says at which point. */
static void check_run_goes_on(const char *when) {
    const struct mx_env *env = mx_env();
    json_t *stop = mx_record_read_abort(env->report_dir);
    if (stop) {
        json_decref(stop);
        not_run(mx_arena_printf("not run: the run was stopped %s (the run's reason says "
                                "why)",
                                when));
    }
    if (env->deadline_at > 0 && (long)time(NULL) >= env->deadline_at)
        not_run(mx_arena_printf("not run: the run's --deadline passed %s", when));
}

/* What the harness does with every exchange of a check (mx_client.h). */
static const struct mx_client_observer check_observer = {
    .on_attempt = mx_record_cost_note,
    .on_exchange = mx_crosscut_on_exchange,
    .on_rate_limit = mx_rate_limit_stop,
    .on_response = mx_crosscut_on_response,
};

void mx_test_init(void) {
    const struct mx_env *env = mx_env();
    char id[128];
    char err[512];

    mx_client_set_config(mx_env_client_config);
    mx_client_set_observer(&check_observer);
    mx_client_set_recording(true);
    mx_model_reset();
    mx_client_reset_retry_budget();
    /* A test process may be a fork of the runner, whose probe was counted. */
    mx_record_cost_reset();
    redact_preconfigured();
    if (!criterion_current_test)
        return;
    cr_assert(mx_env_problem() == NULL, "configuration: %s", mx_env_problem());
    cr_assert(mx_catalog_ensure(err, sizeof(err)) == 0, "requirement catalogue: %s", err);
    check_run_goes_on("before this check started");
    mx_test_name_to_id(criterion_current_test->name, id, sizeof(id));
    const struct mx_requirement *req = mx_catalog_find(id);
    cr_assert(req != NULL,
              "test %s names requirement %s, which is not in the catalogue "
              "(fixtures/requirements.tsv)",
              criterion_current_test->name, id);
    if (!mx_requirement_applies(req, env->spec_version)) {
        char why[160];
        const char *at = mx_version_name(env->spec_version);
        if (req->since && req->until)
            snprintf(why, sizeof(why), "not applicable at spec %s: applies from %s to %s",
                     at, mx_version_name(req->since), mx_version_name(req->until));
        else if (req->since)
            snprintf(why, sizeof(why), "not applicable at spec %s: applies since %s", at,
                     mx_version_name(req->since));
        else
            snprintf(why, sizeof(why), "not applicable at spec %s: applies until %s", at,
                     mx_version_name(req->until));
        mx_record_skip(why);
        cr_skip_test("%s", why);
    }
}

/* UIA-completes a deletion request for clean-up; errors are ignored. */
static long cleanup_delete(const char *token, const char *user_id, const char *password,
                           json_t *devices) {
    json_t *body = json_pack("{s:O}", "devices", devices);
    const struct mx_resp *r = MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices",
                                      .token = token, .body = body);
    const char *session = json_string_value(json_object_get(r->json, "session"));
    if (r->status == 401 && json_object_get(r->json, "flows") && password) {
        json_object_set_new(body, "auth", mx_uia_password(user_id, password, session));
        r = MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices", .token = token,
                    .body = body);
    }
    json_decref(body);
    return r->status;
}

/* Frees what the check held and releases its accounts: only now, with the
 * check's devices gone, may another check use them. */
static void check_state_clear(void) {
    for (size_t i = 0; i < check.n_tracked; i++) {
        free(check.tracked[i].user_id);
        free(check.tracked[i].password);
        json_decref(check.tracked[i].devices);
        json_decref(check.tracked[i].tokens);
        json_decref(check.tracked[i].background);
    }
    free(check.tracked);
    for (size_t i = 0; i < check.n_account_locks; i++)
        close(check.account_locks[i]);
    memset(&check, 0, sizeof(check));
    check.pool_top[POOL_PASSWORD] = check.pool_top[POOL_AS] = -1;
}

void mx_test_fini(void) {
    const struct mx_env *env = mx_env();

    /* Clean-up is best effort and stays out of the test's transcript. */
    mx_client_set_recording(false);
    /* First, what the server shows against what the check did to it. */
    mx_model_check();
    check.in_cleanup = true;
    sessions_set_aside();
    for (size_t i = 0; i < check.n_tracked; i++) {
        struct tracked *t = &check.tracked[i];
        if (json_array_size(t->devices) == 0)
            continue;
        if (t->appservice) {
            if (env->as_token) {
                json_t *body = json_pack("{s:O}", "devices", t->devices);
                MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices",
                        .appservice = true, .assert_user = t->user_id, .body = body);
                json_decref(body);
            }
            continue;
        }
        /* Logging a session out deletes its device without a password check
         * (the costly part of a deletion with UIA). A token the test already
         * deleted answers 401, which is fine. Should a logout fail otherwise,
         * a still-valid token deletes the rest with UIA. */
        bool all_out = true;
        size_t j;
        json_t *tok;
        json_array_foreach(t->tokens, j, tok) {
            const struct mx_resp *r =
                MX_SEND(.method = "POST", .path = MX_V3 "/logout",
                        .token = json_string_value(tok), .raw_body = "{}");
            if (r->status != 200 && r->status != 401)
                all_out = false;
        }
        json_array_foreach(t->tokens, j, tok) {
            if (all_out)
                break;
            if (cleanup_delete(json_string_value(tok), t->user_id, t->password,
                               t->devices) == 200)
                break;
        }
    }
    sessions_hand_on();
    check_state_clear();
    mx_record_cost();
    mx_arena_free();
    mx_client_set_recording(true);
}

/* ---- registration ---- */

static bool stage_supported(const char *stage) {
    const struct mx_env *env = mx_env();
    if (strcmp(stage, "m.login.dummy") == 0 || strcmp(stage, "m.login.terms") == 0)
        return true;
    if (strcmp(stage, "m.login.registration_token") == 0)
        return env->registration_token != NULL;
    return false;
}

/* The first flow of a UIA 401 whose stages the suite can all complete. */
static json_t *pick_flow(const struct mx_resp *r) {
    json_t *flows = json_object_get(r->json, "flows");
    size_t i, j;
    json_t *flow, *stage;
    json_array_foreach(flows, i, flow) {
        json_t *stages = json_object_get(flow, "stages");
        bool ok = json_is_array(stages);
        json_array_foreach(stages, j, stage) {
            if (!json_is_string(stage) || !stage_supported(json_string_value(stage)))
                ok = false;
        }
        if (ok)
            return stages;
    }
    return NULL;
}

static bool stage_completed(const struct mx_resp *r, const char *stage) {
    json_t *completed = json_object_get(r->json, "completed");
    size_t i;
    json_t *c;
    json_array_foreach(completed, i, c) {
        if (json_is_string(c) && strcmp(json_string_value(c), stage) == 0)
            return true;
    }
    return false;
}

/* Registration through the client API, completing the UIA stages the suite
 * knows. Returns the last response (200 on success). */
static const struct mx_resp *register_client_api(const char *localpart,
                                                 const char *password, const char **why) {
    json_t *body =
        json_pack("{s:s, s:s, s:s}", "username", localpart, "password", password,
                  "initial_device_display_name", "device-conformance");
    const struct mx_resp *r =
        MX_SEND(.method = "POST", .path = MX_V3 "/register", .body = body);
    json_t *flow = NULL;
    const char *last_stage = NULL;

    for (int step = 0; step < MAX_UIA_STEPS && r->status == 401; step++) {
        if (!json_object_get(r->json, "flows"))
            break;
        if (last_stage && !stage_completed(r, last_stage)) {
            *why = mx_arena_printf("the server did not accept the %s stage", last_stage);
            break;
        }
        if (!flow)
            flow = json_incref(pick_flow(r));
        if (!flow) {
            char *flows = json_dumps(json_object_get(r->json, "flows"), JSON_COMPACT);
            *why = mx_arena_printf(
                "no registration flow the suite can complete (offered: %s; "
                "give --registration-token or --shared-secret)",
                flows ? flows : "?");
            free(flows);
            break;
        }
        const char *next = NULL;
        size_t i;
        json_t *s;
        json_array_foreach(flow, i, s) {
            if (!next && !stage_completed(r, json_string_value(s)))
                next = json_string_value(s);
        }
        if (!next)
            break;
        json_object_set_new(body, "auth",
                            mx_uia_stage(r, next, mx_env()->registration_token));
        last_stage = next;
        r = MX_SEND(.method = "POST", .path = MX_V3 "/register", .body = body);
    }
    json_decref(flow);
    json_decref(body);
    return r;
}

int mx_hmac_sha1_hex(const char *key, const unsigned char *data, size_t n, char *hex) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha1(), key, (int)strlen(key), data, n, mac, &len) || len != 20)
        return -1;
    for (unsigned i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    return 0;
}

int mx_shared_secret_mac(const char *secret, const char *nonce, const char *user,
                         const char *password, char hex[41]) {
    /* nonce \0 user \0 password \0 "notadmin" */
    size_t n = strlen(nonce) + strlen(user) + strlen(password) + 8 + 3;
    unsigned char *msg = malloc(n);
    if (!msg)
        return -1;
    size_t off = 0;
    const char *parts[] = {nonce, user, password, "notadmin"};
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(parts[i]);
        memcpy(msg + off, parts[i], l);
        off += l;
        if (i < 3)
            msg[off++] = '\0';
    }
    int rc = mx_hmac_sha1_hex(secret, msg, off, hex);
    free(msg);
    return rc;
}

/* The admin API takes no device name, and a nameless device reads back
 * differently (Synapse lists display_name null): the device gets the name
 * the client API would have given it, so that no check's outcome depends on
 * how its user was provisioned. Best effort. */
static void name_admin_device(const struct mx_resp *r) {
    const char *device_id = json_string_value(json_object_get(r->json, "device_id"));
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    if (!device_id || !token)
        return;
    mx_redact_secret(token);
    MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", device_id),
            .token = token, .raw_body = "{\"display_name\":\"device-conformance\"}");
}

/* Synapse's shared-secret registration (/_synapse/admin/v1/register). */
static const struct mx_resp *
register_shared_secret(const char *localpart, const char *password, const char **why) {
    const char *secret = mx_env()->shared_secret;
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = "/_synapse/admin/v1/register");
    const char *nonce = json_string_value(json_object_get(r->json, "nonce"));
    if (r->status != 200 || !nonce) {
        *why =
            mx_arena_printf("shared-secret registration: GET /_synapse/admin/v1/register "
                            "gave %ld and no nonce",
                            r->status);
        return r;
    }
    char hex[41];
    if (mx_shared_secret_mac(secret, nonce, localpart, password, hex) < 0) {
        *why = "shared-secret registration: HMAC-SHA1 failed";
        return r;
    }
    json_t *body = json_pack("{s:s, s:s, s:s, s:b, s:s}", "nonce", nonce, "username",
                             localpart, "password", password, "admin", 0, "mac", hex);
    r = MX_SEND(.method = "POST", .path = "/_synapse/admin/v1/register", .body = body);
    json_decref(body);
    if (r->status != 200) {
        *why = "shared-secret registration was refused";
        return r;
    }
    name_admin_device(r);
    return r;
}

/* ---- locks on shared accounts ---- */

/* Opens (creating) the lock file <report_dir>/.tests/<name>; fails the test
 * when it cannot. The lock files live in the run's side-channel directory,
 * cleared at each start. */
static int open_lock(const char *name, const char *what) {
    const struct mx_env *env = mx_env();
    char path[4096];
    snprintf(path, sizeof(path), "%s/.tests", env->report_dir);
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        cr_assert_fail("%scannot create %s to lock %s: %s", mx_current_id(), path, what,
                       strerror(errno));
    snprintf(path, sizeof(path), "%s/.tests/%s", env->report_dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        cr_assert_fail("%scannot open %s to lock %s: %s", mx_current_id(), path, what,
                       strerror(errno));
    return fd;
}

/* Takes the exclusive lock on fd, waiting for it when block; the lock is
 * held until fini (or the process ends). Returns false (fd closed) when
 * !block and another test holds it. */
static bool hold_lock(int fd, bool block, const char *what) {
    int rc;
    cr_assert(check.n_account_locks < MAX_ACCOUNT_LOCKS,
              "%stoo many accounts in one test", mx_current_id());
    do {
        rc = flock(fd, LOCK_EX | (block ? 0 : LOCK_NB));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        close(fd);
        if (!block && err == EWOULDBLOCK)
            return false;
        cr_assert_fail("%scannot lock %s: %s", mx_current_id(), what, strerror(err));
    }
    check.account_locks[check.n_account_locks++] = fd;
    return true;
}

/* --user accounts are shared by all tests of the run, and tests run in
 * parallel: a test holds an exclusive lock on each account it uses until its
 * clean-up is done, so no other test's devices come and go under its checks
 * (counts of GET /devices, deletions). Every test takes accounts in the
 * order given (index 0 first), so two tests never wait on each other in a
 * circle. */
static void lock_account(size_t index, const char *user_id) {
    char name[64];
    snprintf(name, sizeof(name), "account-%zu.lock", index);
    /* Blocks until the test using the account has finished (its process
     * ending releases the lock too). */
    hold_lock(open_lock(name, user_id), true, user_id);
    check_run_goes_on(
        mx_arena_printf("while this check waited for --user account %s", user_id));
}

/* ---- sessions handed from check to check ----
 *
 * A login is a password check, the costliest thing a run asks of a server
 * (bcrypt at Synapse's default 12 rounds: about 0.4 s of its CPU). So the
 * session a check gets with a pooled or --user account goes to the next
 * check that locks the account, provided the check left it as it found it:
 * the model and the server both show the device, under its name, with its
 * token alive. The devices a check makes beyond it are its own and logged
 * out at its end, and the next check starts from the same state a fresh
 * login would give it. --fresh-sessions logs every check in anew.
 *
 * While no check holds the account, the session waits in
 * <report_dir>/.tests/session-<key>.json (mode 0600); mx_session_end_run
 * logs the last ones out. */

static const char *run_secret(void);

/* Only under the runner, which clears the folder the sessions wait in. */
static bool handing_sessions(void) {
    return run_secret() && !mx_env()->fresh_sessions;
}

static void session_path(char *buf, size_t len, const char *key) {
    snprintf(buf, len, "%s/.tests/session-%s.json", mx_env()->report_dir, key);
}

/* Whether the server still shows u's device under SESSION_NAME to u's token,
 * as u's: unrecorded, best effort. */
static bool session_alive(const char *user_id, const char *device_id, const char *token) {
    const struct mx_resp *w =
        MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami", .token = token);
    const char *who = json_string_value(json_object_get(w->json, "user_id"));
    const char *dev = json_string_value(json_object_get(w->json, "device_id"));
    if (w->status != 200 || !who || strcmp(who, user_id) != 0 ||
        (dev && strcmp(dev, device_id) != 0))
        return false;
    const struct mx_resp *g = MX_SEND(.method = "GET", .token = token,
                                      .path = mx_path(MX_V3 "/devices/%s", device_id));
    const char *name = json_string_value(json_object_get(g->json, "display_name"));
    return g->status == 200 && name && strcmp(name, SESSION_NAME) == 0;
}

static void session_logout(const char *token) {
    MX_SEND(.method = "POST", .path = MX_V3 "/logout", .token = token, .raw_body = "{}");
}

/* u (logged in under SESSION_NAME) may go to the next check that locks key. */
static void session_offer(const char *key, const struct mx_user *u) {
    if (!handing_sessions() || check.n_handed >= MAX_HANDED || !u->device_id ||
        !u->access_token)
        return;
    struct handed *h = &check.handed[check.n_handed++];
    h->key = strdup(key);
    h->user_id = strdup(u->user_id);
    h->device_id = strdup(u->device_id);
    h->token = strdup(u->access_token);
}

/* The session an earlier check handed on for key, as account's logged-in
 * device (offered on again); NULL when there is none or it does not work
 * any more (then it is logged out). */
static const struct mx_user *session_take(const char *key,
                                          const struct mx_user *account) {
    char path[4096];
    const struct mx_user *taken = NULL;

    if (!handing_sessions())
        return NULL;
    session_path(path, sizeof(path), key);
    json_t *doc = json_load_file(path, 0, NULL);
    if (!doc)
        return NULL;
    unlink(path);
    const char *user_id = json_string_value(json_object_get(doc, "user_id"));
    const char *device_id = json_string_value(json_object_get(doc, "device_id"));
    const char *token = json_string_value(json_object_get(doc, "access_token"));
    if (!user_id || !device_id || !token || strcmp(user_id, account->user_id) != 0)
        goto out;
    mx_redact_secret(token);
    mx_client_set_recording(false);
    bool alive = session_alive(user_id, device_id, token);
    if (!alive)
        session_logout(token);
    mx_client_set_recording(true);
    if (!alive)
        goto out;
    struct mx_user *u = user_alloc();
    *u = *account;
    u->device_id = mx_arena_strdup(device_id);
    u->access_token = mx_arena_strdup(token);
    track_device(u, u->device_id, u->access_token);
    mx_model_note_session(u->user_id, u->device_id, u->access_token, SESSION_NAME);
    session_offer(key, u);
    taken = u;
out:
    json_decref(doc);
    return taken;
}

/* Removes the string s from the array a, where it is. */
static void remove_string(json_t *a, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (strcmp(json_string_value(v), s) == 0) {
            json_array_remove(a, i);
            return;
        }
    }
}

/* Fini, before clean-up: the offered sessions are not the check's to log out. */
static void sessions_set_aside(void) {
    for (size_t i = 0; i < check.n_handed; i++) {
        struct tracked *t = track_user(check.handed[i].user_id, NULL, false);
        if (!t)
            continue;
        remove_string(t->devices, check.handed[i].device_id);
        remove_string(t->tokens, check.handed[i].token);
    }
}

/* Writes h to its file for the next check (mode 0600: it holds a token).
 * Returns whether it is there. */
static bool session_save(const struct handed *h) {
    char path[4096], tmp[4200];
    bool saved = false;

    session_path(path, sizeof(path), h->key);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    json_t *doc = json_pack("{s:s, s:s, s:s}", "user_id", h->user_id, "device_id",
                            h->device_id, "access_token", h->token);
    int fd = doc ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    if (fd < 0)
        goto out;
    saved = json_dumpfd(doc, fd, JSON_COMPACT) == 0;
    saved = close(fd) == 0 && saved && rename(tmp, path) == 0;
    if (!saved)
        unlink(tmp);
out:
    json_decref(doc);
    return saved;
}

/* Fini, after clean-up: each offered session that the model and the server
 * both show intact waits for the next check; the others are logged out. */
static void sessions_hand_on(void) {
    for (size_t i = 0; i < check.n_handed; i++) {
        struct handed *h = &check.handed[i];
        bool kept =
            mx_model_session_intact(h->user_id, h->device_id, h->token, SESSION_NAME) &&
            session_alive(h->user_id, h->device_id, h->token) && session_save(h);
        if (!kept)
            session_logout(h->token);
        free(h->key);
        free(h->user_id);
        free(h->device_id);
        free(h->token);
    }
    check.n_handed = 0;
}

int mx_session_end_run(const char *report_dir) {
    char dir[4096], path[8192];
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/.tests", report_dir);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    mx_client_set_recording(false);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "session-", 8) != 0 || len < 5 ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        json_t *doc = json_load_file(path, 0, NULL);
        const char *token = json_string_value(json_object_get(doc, "access_token"));
        if (token) {
            mx_redact_secret(token);
            session_logout(token);
            n++;
        }
        json_decref(doc);
        unlink(path);
    }
    closedir(d);
    return n;
}

/* ---- registration of a password user ---- */

/* Registers localpart with password through the client API, else through
 * the shared-secret admin API. Returns the user with the device the
 * registration made, or NULL with the reason in *why and the last answer
 * in *last. */
static struct mx_user *register_account(const char *localpart, const char *password,
                                        const struct mx_resp **last, const char **why) {
    const struct mx_env *env = mx_env();
    const char *reason = NULL;

    const struct mx_resp *r = register_client_api(localpart, password, &reason);
    if (r->status != 200 && env->shared_secret) {
        reason = NULL;
        r = register_shared_secret(localpart, password, &reason);
    }
    *last = r;
    if (r->status != 200) {
        const char *code = mx_errcode(r);
        *why = reason ? reason
                      : mx_arena_printf("%s answered %ld%s%s",
                                        env->shared_secret ? "shared-secret registration"
                                                           : "POST /register",
                                        r->status, code ? " " : "", code ? code : "");
        return NULL;
    }
    struct mx_user *u = user_alloc();
    u->user_id = body_string(r, "user_id");
    u->device_id = body_string(r, "device_id");
    u->access_token = body_string(r, "access_token");
    u->password = password;
    u->localpart = u->user_id ? localpart_of(u->user_id) : localpart;
    cr_assert(u->user_id && u->device_id && u->access_token, "%s",
              mx_msg(r, "registration gave no user_id, device_id or access_token"));
    mx_redact_secret(u->access_token);
    track_device(u, u->device_id, u->access_token);
    return u;
}

/* A user registered for this check alone, with a random password. When
 * registration fails: with --user accounts the check skips (it needs more
 * accounts than were given), otherwise it fails, naming the ways to give
 * the suite accounts. accounts_held is how many this check has already. */
static const struct mx_user *fresh_user(size_t accounts_held) {
    const struct mx_env *env = mx_env();
    char pw[25];
    const struct mx_resp *r = NULL;
    const char *why = NULL;

    random_alnum(pw, sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';
    const char *password = mx_arena_strdup(pw);
    mx_redact_secret(password);
    const char *localpart = lowercase_localpart(mx_unique("mxdev"));
    const struct mx_user *u = register_account(localpart, password, &r, &why);
    if (u)
        return u;
    if (env->users) {
        size_t total = preconfigured_entry(env->users, 0, NULL);
        mx_skip(mx_arena_printf(
            "needs %zu distinct accounts: no fresh user could be registered (%s) and "
            "only %zu --user account%s given",
            accounts_held + 1, why, total, total == 1 ? " was" : "s were"));
    }
    cr_assert_fail("%s", mx_msg(r,
                                "cannot register a test user: %s (give "
                                "--registration-token, --shared-secret or --user "
                                "accounts)",
                                why));
    return NULL; /* not reached: cr_assert_fail ends the test */
}

/* The next --user account, logged in with its password (a new device); a
 * fresh registration when the accounts are used up. */
static const struct mx_user *preconfigured_user(void) {
    const char *users = mx_env()->users;
    size_t total = preconfigured_entry(users, 0, NULL);
    if (check.next_preconfigured >= total)
        return fresh_user(check.next_preconfigured);
    char *entry = NULL;
    preconfigured_entry(users, check.next_preconfigured, &entry);
    entry = mx_arena_keep(entry);
    char *eq = entry ? strchr(entry, '=') : NULL;
    cr_assert(eq != NULL, "%s--user entry %zu is not @localpart:server=PASSWORD",
              mx_current_id(), check.next_preconfigured + 1);
    *eq = '\0';
    lock_account(check.next_preconfigured, entry);
    check.next_preconfigured++;
    struct mx_user *account = user_alloc();
    account->user_id = entry;
    account->localpart = localpart_of(entry);
    account->password = eq + 1;
    mx_redact_secret(account->password);
    const char *key = mx_arena_printf("user-%zu", check.next_preconfigured - 1);
    const struct mx_user *u = session_take(key, account);
    if (!u) {
        u = mx_login(account, NULL, SESSION_NAME);
        session_offer(key, u);
    }
    struct tracked *t = track_user(u->user_id, u->password, false);
    if (t)
        t->preexisting = true;
    mx_model_mark_preexisting(u->user_id);
    return u;
}

/* ---- the pool ----
 *
 * Registering accounts is what a run costs a homeserver most (password
 * hashing, and registration rate limits), so the checks of a run share a
 * small pool of accounts, registered by the first check that needs each
 * one. A check still gets fresh devices (a login of its own) and sees only
 * the devices it makes: it holds an exclusive lock on each pooled account
 * until its clean-up is done, and first deletes whatever an earlier check
 * left behind. Locks are taken in one order (password accounts by slot,
 * then application-service users by slot), and a check waits only for a
 * slot above every slot it holds, so checks never wait in a circle; when no
 * such slot is left, the check registers an account of its own.
 *
 * The pool's passwords are derived from MXDEV_RUN_SECRET (the runner's
 * random secret, see mx_session_export_run_secret) and never written down.
 * Without the secret (a test binary run by hand) there is no pool. */

static const char *run_secret(void) {
    const char *s = getenv("MXDEV_RUN_SECRET");
    return s && s[0] ? s : NULL;
}

static bool pool_enabled(void) {
    return run_secret() && mx_env()->run_id;
}

/* Locks a slot of kind: a free one above the slots of that kind the check
 * holds, else waits for the next one when the lock order allows it.
 * Returns the slot, or -1 when there is none to have. */
static long pool_lock(enum pool_kind kind) {
    char name[64];
    char what[64];
    size_t from = (size_t)(check.pool_top[kind] + 1);
    /* Password accounts come before application-service users in the lock
     * order: a check holding one of the latter never waits for the former. */
    bool may_wait = kind == POOL_AS || check.pool_top[POOL_AS] < 0;

    snprintf(what, sizeof(what), "pooled account (%s)", pool_names[kind]);
    for (size_t i = from; i < pool_slots[kind]; i++) {
        snprintf(name, sizeof(name), "pool-%s-%zu.lock", pool_names[kind], i);
        if (hold_lock(open_lock(name, what), false, what)) {
            check.pool_top[kind] = (long)i;
            return (long)i;
        }
    }
    if (!may_wait || from >= pool_slots[kind])
        return -1;
    snprintf(name, sizeof(name), "pool-%s-%zu.lock", pool_names[kind], from);
    hold_lock(open_lock(name, what), true, what);
    check.pool_top[kind] = (long)from;
    check_run_goes_on("while this check waited for a pooled account");
    return (long)from;
}

/* <report_dir>/.tests/pool-<kind>-<slot>.json: the user ID the slot's
 * account was registered as. */
static void pool_state_path(char *buf, size_t len, enum pool_kind kind, long slot) {
    snprintf(buf, len, "%s/.tests/pool-%s-%ld.json", mx_env()->report_dir,
             pool_names[kind], slot);
}

/* The user ID of a registered slot (arena), NULL when not registered yet. */
static const char *pool_registered(enum pool_kind kind, long slot) {
    char path[4096];
    pool_state_path(path, sizeof(path), kind, slot);
    json_t *doc = json_load_file(path, 0, NULL);
    const char *user_id =
        mx_arena_strdup(json_string_value(json_object_get(doc, "user_id")));
    json_decref(doc);
    return user_id;
}

/* Notes that the slot's account exists (written while its lock is held). */
static void pool_remember(enum pool_kind kind, long slot, const char *user_id) {
    char path[4096], tmp[4200];
    pool_state_path(path, sizeof(path), kind, slot);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    json_t *doc = json_pack("{s:s}", "user_id", user_id);
    if (doc && json_dump_file(doc, tmp, JSON_COMPACT) == 0)
        rename(tmp, path);
    json_decref(doc);
}

/* The slot's localpart: "mxdev<run id>_pool<slot>" (after prefix). */
static const char *pool_localpart(const char *prefix, long slot) {
    return lowercase_localpart(
        mx_arena_printf("%s%s_pool%ld", prefix, mx_env()->run_id, slot));
}

/* The password of a pooled account: HMAC-SHA1 of its localpart under the
 * run's secret, so every check can log in and none stores it. */
static const char *pool_password(const char *localpart) {
    char hex[41];
    cr_assert(mx_hmac_sha1_hex(run_secret(), (const unsigned char *)localpart,
                               strlen(localpart), hex) == 0,
              "%sHMAC-SHA1 failed", mx_current_id());
    const char *pw = mx_arena_strdup(hex);
    mx_redact_secret(pw);
    return pw;
}

/* The devices of a pooled account other than keep (an earlier check's
 * leftovers: its clean-up failed or never ran) are deleted, unrecorded, so
 * that the check sees only the devices it makes. Best effort: what cannot be
 * deleted stays. */
static void pool_sweep(const struct mx_user *u) {
    mx_client_set_recording(false);
    const struct mx_resp *r =
        u->appservice_user ? MX_SEND(.method = "GET", .path = MX_V3 "/devices",
                                     .appservice = true, .assert_user = u->user_id)
                           : MX_SEND(.method = "GET", .path = MX_V3 "/devices", .as = u);
    json_t *left = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r->json, "devices"), i, d) {
        const char *id = json_string_value(json_object_get(d, "device_id"));
        if (id && !(u->device_id && strcmp(id, u->device_id) == 0))
            json_array_append_new(left, json_string(id));
    }
    if (json_array_size(left) > 0 && u->appservice_user) {
        json_t *body = json_pack("{s:O}", "devices", left);
        MX_SEND(.method = "POST", .path = MX_V3 "/delete_devices", .appservice = true,
                .assert_user = u->user_id, .body = body);
        json_decref(body);
    } else if (json_array_size(left) > 0) {
        cleanup_delete(u->access_token, u->user_id, u->password, left);
    }
    /* What could not be deleted stays in the background of this check: the
     * model and the listing checks must not take it for a stranger. */
    if (json_array_size(left) > 0) {
        r = u->appservice_user
                ? MX_SEND(.method = "GET", .path = MX_V3 "/devices", .appservice = true,
                          .assert_user = u->user_id)
                : MX_SEND(.method = "GET", .path = MX_V3 "/devices", .as = u);
        struct tracked *t = track_user(u->user_id, u->password, u->appservice_user);
        json_array_foreach(json_object_get(r->json, "devices"), i, d) {
            const char *id = json_string_value(json_object_get(d, "device_id"));
            if (!id || (u->device_id && strcmp(id, u->device_id) == 0))
                continue;
            if (t)
                json_array_append_new(t->background, json_string(id));
            mx_model_note_background(u->user_id, id);
        }
    }
    json_decref(left);
    mx_client_set_recording(true);
}

/* The account of a password slot with a new device: registered (its first
 * device serves) when no check has registered it yet, else logged in. */
static const struct mx_user *pool_password_user(long slot) {
    const char *localpart = pool_localpart("mxdev", slot);
    const char *password = pool_password(localpart);
    const char *user_id = pool_registered(POOL_PASSWORD, slot);
    if (!user_id) {
        const struct mx_resp *r = NULL;
        const char *why = NULL;
        const struct mx_user *u = register_account(localpart, password, &r, &why);
        const char *code = mx_errcode(r);
        if (u) {
            pool_remember(POOL_PASSWORD, slot, u->user_id);
            return u;
        }
        /* A check that registered the slot but ended before noting it. */
        cr_assert(code && strcmp(code, "M_USER_IN_USE") == 0 && mx_env()->server_name,
                  "%s",
                  mx_msg(r,
                         "cannot register a test user: %s (give --registration-token, "
                         "--shared-secret or --user accounts)",
                         why));
        user_id = mx_arena_printf("@%s:%s", localpart, mx_env()->server_name);
    }
    struct mx_user *account = user_alloc();
    account->user_id = user_id;
    account->localpart = localpart_of(user_id);
    account->password = password;
    const char *key = mx_arena_printf("pool-user-%ld", slot);
    const struct mx_user *u = session_take(key, account);
    if (!u) {
        u = mx_login(account, NULL, SESSION_NAME);
        session_offer(key, u);
    }
    if (!pool_registered(POOL_PASSWORD, slot))
        pool_remember(POOL_PASSWORD, slot, user_id);
    pool_sweep(u);
    return u;
}

const struct mx_user *mx_user_new(void) {
    mx_require_legacy_login();
    /* Accounts the operator gave are the run's accounts. */
    if (mx_env()->users)
        return preconfigured_user();
    long slot = pool_enabled() ? pool_lock(POOL_PASSWORD) : -1;
    if (slot >= 0)
        return pool_password_user(slot);
    return fresh_user(0);
}

const char *mx_unused_user_id(void) {
    const char *server = mx_env()->server_name;
    if (!server) {
        const char *uid = mx_user_new()->user_id;
        server = strchr(uid, ':') ? strchr(uid, ':') + 1 : NULL;
    }
    cr_assert(server != NULL, "%scannot tell the server name", mx_current_id());
    return mx_arena_printf("@%s:%s", lowercase_localpart(mx_unique("mxdevnobody")),
                           server);
}

const struct mx_user *mx_login(const struct mx_user *account, const char *device_id,
                               const char *display_name) {
    mx_require_legacy_login();
    cr_assert(account && account->password, "%smx_login needs an account with a password",
              mx_current_id());
    json_t *body = json_pack(
        "{s:s, s:{s:s, s:s}, s:s, s:s*, s:s*}", "type", "m.login.password", "identifier",
        "type", "m.id.user", "user", account->user_id, "password", account->password,
        "device_id", device_id, "initial_device_display_name", display_name);
    const struct mx_resp *r =
        MX_SEND(.method = "POST", .path = MX_V3 "/login", .body = body);
    json_decref(body);
    cr_assert(r->status == 200, "%s", mx_msg(r, "cannot log %s in", account->user_id));
    struct mx_user *u = user_alloc();
    *u = *account;
    u->device_id = body_string(r, "device_id");
    u->access_token = body_string(r, "access_token");
    cr_assert(u->device_id && u->access_token, "%s",
              mx_msg(r, "login gave no device_id or access_token"));
    mx_redact_secret(u->access_token);
    track_device(u, u->device_id, u->access_token);
    return u;
}

/* ---- rate limits the run cannot wait out ---- */

void mx_rate_limit_stop(const char *method, const char *path, const struct mx_resp *r,
                        long wait_ms, const char *why) {
    if (!criterion_current_test)
        return;
    const char *code = mx_errcode(r);
    const char *retry_after = mx_header(r, "retry-after");
    json_t *ms = r->json ? json_object_get(r->json, "retry_after_ms") : NULL;
    char *reason = mx_arena_printf(
        "the server's rate limit makes this run impossible: %s %.*s answered 429%s%s "
        "asking for a wait of %ld s (retry_after_ms: %s, Retry-After: %s), %s. A full "
        "run makes up to %d registrations and %d logins from one client address "
        "within a minute or two (all of them may be of one account) and up to %d "
        "failed password attempts on one account; rate limits that allow that only with "
        "waits "
        "over %d s are a configuration error of the test server. Raise them there: "
        "Synapse: rc_login.address, rc_login.account, rc_login.failed_attempts and "
        "rc_registration (per_second and burst_count); Conduit family and Dendrite: "
        "see their rate-limit settings. `device-conformance --print-server-config "
        "synapse|conduit|dendrite` prints settings that work",
        method, (int)strcspn(path, "?"), path, code ? " " : "", code ? code : "",
        (wait_ms + 999) / 1000,
        json_is_integer(ms) ? mx_arena_printf("%lld", (long long)json_integer_value(ms))
                            : "absent",
        retry_after ? retry_after : "absent", why, MX_RUN_REGISTRATIONS, MX_RUN_LOGINS,
        MX_RUN_FAILED_PASSWORDS, MX_RATE_LIMIT_MAX_WAIT_MS / 1000);
    mx_record_abort_run(2, reason ? reason : "the server's rate limit stopped the run");
    if (check.in_cleanup)
        return;
    not_run(mx_arena_printf("not run: %s", reason ? reason : "rate limited"));
}

int mx_session_export_run_secret(void) {
    unsigned char raw[24];
    char hex[2 * sizeof(raw) + 1];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        unsetenv("MXDEV_RUN_SECRET");
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(hex + 2 * i, "%02x", raw[i]);
    mx_redact_secret(hex);
    return setenv("MXDEV_RUN_SECRET", hex, 1);
}

/* ---- preconditions ---- */

_Noreturn void mx_skip(const char *reason) {
    mx_record_skip(reason);
    cr_skip_test("%s", reason);
}

void mx_require_appservice(void) {
    const struct mx_env *env = mx_env();
    if (!env->as_available || !env->as_token)
        mx_skip(env->as_skip_reason);
}

void mx_require_legacy_login(void) {
    if (!mx_env()->legacy_login)
        mx_skip("the server offers no m.login.password login (legacy login API "
                "absent, e.g. OAuth-only); password users cannot be provisioned");
}

/* ---- application service ---- */

/* Registers localpart in the application service's namespace with
 * inhibit_login: no device, no token. A pooled slot (may_exist) may have
 * been registered by a check that ended before noting it: M_USER_IN_USE is
 * then that account. */
static struct mx_user *as_register(const char *localpart, bool may_exist) {
    const struct mx_env *env = mx_env();
    json_t *body = json_pack("{s:s, s:s, s:b}", "type", "m.login.application_service",
                             "username", localpart, "inhibit_login", 1);
    const struct mx_resp *r = MX_SEND(.method = "POST", .path = MX_V3 "/register",
                                      .appservice = true, .body = body);
    json_decref(body);
    const char *code = mx_errcode(r);
    bool taken = may_exist && code && strcmp(code, "M_USER_IN_USE") == 0;
    cr_assert(r->status == 200 || taken, "%s",
              mx_msg(r, "the application service cannot register %s in its namespace",
                     localpart));
    struct mx_user *u = user_alloc();
    u->user_id = taken ? NULL : body_string(r, "user_id");
    if (!u->user_id && env->server_name)
        u->user_id = mx_arena_printf("@%s:%s", localpart, env->server_name);
    cr_assert(u->user_id != NULL, "%s", mx_msg(r, "registration gave no user_id"));
    return u;
}

const struct mx_user *mx_as_user_new(void) {
    const struct mx_env *env = mx_env();
    struct mx_user *u = NULL;
    mx_require_appservice();
    long slot = pool_enabled() ? pool_lock(POOL_AS) : -1;
    if (slot >= 0) {
        const char *user_id = pool_registered(POOL_AS, slot);
        if (user_id) {
            u = user_alloc();
            u->user_id = user_id;
            u->appservice_user = true;
            pool_sweep(u);
        } else {
            u = as_register(pool_localpart(env->as_user_prefix, slot), true);
            pool_remember(POOL_AS, slot, u->user_id);
        }
    } else {
        u = as_register(lowercase_localpart(mx_unique(env->as_user_prefix)), false);
    }
    u->localpart = localpart_of(u->user_id);
    u->appservice_user = true;
    track_user(u->user_id, NULL, true);
    return u;
}

const struct mx_resp *mx_as_put_device(const struct mx_user *u, const char *device_id,
                                       const char *display_name) {
    mx_require_appservice();
    json_t *body = json_object();
    if (display_name)
        json_object_set_new(body, "display_name", json_string(display_name));
    const struct mx_resp *r =
        MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", device_id),
                .appservice = true, .assert_user = u->user_id, .body = body);
    json_decref(body);
    /* Track first: a server that created it despite an odd answer is cleaned too. */
    track_device(u, device_id, NULL);
    if (r->status != 200 && r->status != 201)
        mx_block(r, "ASC-CREATE",
                 "the application service cannot create device %s for %s", device_id,
                 u->user_id);
    if (!mx_device_present(u, device_id)) {
        /* Made under another ID, or not to be seen at all. */
        bool other = json_array_size(mx_list_devices(u)) > 0;
        mx_block(r, other ? "ASC-EXACT-ID" : "ASC-VISIBLE",
                 "after the application service's PUT answered %ld, %s has no device %s",
                 r->status, u->user_id, device_id);
    }
    return r;
}

const struct mx_user *mx_as_login(const struct mx_user *u, const char *device_id,
                                  const char **why) {
    mx_require_appservice();
    json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:s*}", "type",
                             "m.login.application_service", "identifier", "type",
                             "m.id.user", "user", u->user_id, "device_id", device_id);
    const struct mx_resp *r = MX_SEND(.method = "POST", .path = MX_V3 "/login",
                                      .appservice = true, .body = body);
    json_decref(body);
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    if (r->status != 200 || !token) {
        if (why) {
            const char *code = mx_errcode(r);
            *why =
                mx_arena_printf("the server gives namespace users no token: POST /login "
                                "m.login.application_service answered %ld%s%s%s",
                                r->status, code ? " " : "", code ? code : "",
                                r->status == 0 ? r->transport_error : "");
        }
        return NULL;
    }
    struct mx_user *s = user_alloc();
    *s = *u;
    s->access_token = mx_arena_strdup(token);
    s->device_id = body_string(r, "device_id");
    mx_redact_secret(s->access_token);
    track_device(s, s->device_id, s->access_token);
    return s;
}

/* ---- UIA ---- */

json_t *mx_auth_password(const struct mx_user *who, const char *password,
                         const char *session) {
    return mx_uia_password(who->user_id, password, session);
}

/* A 401 about the token (missing or unknown), not a UIA challenge. */
static bool token_refused(const struct mx_resp *r) {
    const char *code = mx_errcode(r);
    return r->status == 401 && code &&
           (strcmp(code, "M_UNKNOWN_TOKEN") == 0 || strcmp(code, "M_MISSING_TOKEN") == 0);
}

const struct mx_resp *mx_send_uia(const struct mx_user *u, const char *method,
                                  const char *path, json_t *body, long *first_status) {
    const struct mx_resp *r =
        MX_SEND(.method = method, .path = path, .as = u, .body = body);

    if (first_status)
        *first_status = r->status;
    /* A 401 about the token is not a UIA challenge. One without flows still
     * asks for authentication (its form is UIA-CHALLENGE's, judged by the
     * cross-cutting hook): the password stage is tried all the same. */
    if (r->status != 401 || token_refused(r))
        return r;
    cr_assert(
        u->password != NULL, "%s",
        mx_msg(r, "%s is an application-service user: no password for UIA", u->user_id));
    const char *session = json_string_value(json_object_get(r->json, "session"));
    json_t *with_auth = body ? json_deep_copy(body) : json_object();
    json_object_set_new(with_auth, "auth", mx_auth_password(u, u->password, session));
    const struct mx_resp *first = r;
    r = MX_SEND(.method = method, .path = path, .as = u, .body = with_auth);
    json_decref(with_auth);
    /* The token worked for the first request and is refused now: that 401
     * did more than ask for authentication. */
    if (token_refused(r))
        mx_block(first, "UIA-NOTHING-DONE",
                 "the token of %s was refused right after the UIA 401 of %s %s",
                 u->user_id, method, path);
    return r;
}

/* Blocks the check, charged to REQ, when device_id of u is still there
 * after WHAT answered 200. A device deleting itself has no token left to
 * look with. */
static void block_if_kept(const struct mx_resp *r, const char *req,
                          const struct mx_user *u, const char *device_id,
                          const char *what) {
    if ((!u->device_id || strcmp(u->device_id, device_id) != 0) &&
        mx_device_present(u, device_id))
        mx_block(r, req, "device %s of %s is still there after %s answered 200",
                 device_id, u->user_id, what);
}

const struct mx_resp *mx_delete_device_uia(const struct mx_user *u,
                                           const char *device_id) {
    const struct mx_resp *r =
        mx_send_uia(u, "DELETE", mx_path(MX_V3 "/devices/%s", device_id), NULL, NULL);
    if (r->status != 200)
        mx_block(r, "UIA-SUCCESS", "cannot delete device %s of %s (UIA with password)",
                 device_id, u->user_id);
    block_if_kept(r, "UIA-SUCCESS", u, device_id, "its deletion");
    return r;
}

const struct mx_resp *mx_delete_devices_uia(const struct mx_user *u, json_t *devices) {
    json_t *body = json_pack("{s:O}", "devices", devices);
    const struct mx_resp *r = mx_send_uia(u, "POST", MX_V3 "/delete_devices", body, NULL);
    json_decref(body);
    if (r->status != 200)
        mx_block(r, "BULK-DELETE", "cannot delete devices of %s (UIA with password)",
                 u->user_id);
    size_t i;
    json_t *id;
    json_array_foreach(devices, i, id) {
        if (json_is_string(id))
            block_if_kept(r, "BULK-DELETE", u, json_string_value(id),
                          "POST /delete_devices");
    }
    return r;
}

/* GET path as u: with u's token, or as the application service asserting u
 * when u has none. */
static const struct mx_resp *get_as(const struct mx_user *u, const char *path) {
    if (!u->access_token && u->appservice_user)
        return MX_SEND(.method = "GET", .path = path, .appservice = true,
                       .assert_user = u->user_id);
    return MX_SEND(.method = "GET", .path = path, .as = u);
}

bool mx_device_present(const struct mx_user *u, const char *device_id) {
    const struct mx_resp *r = get_as(u, mx_path(MX_V3 "/devices/%s", device_id));
    const char *got = json_string_value(json_object_get(r->json, "device_id"));
    bool listed;

    if (r->status == 200 && got && strcmp(got, device_id) == 0)
        return true;
    if (r->status == 404 || token_refused(r))
        return false;
    /* GET gave no clear answer: the listing decides, and the odd answer is
     * charged to the GET rule it breaks. */
    listed = mx_devices_contains(mx_list_devices(u), device_id, NULL);
    if (listed)
        mx_crosscut("GET-OK", r,
                    "GET /devices/{id} of existing device %s answered %ld%s%s", device_id,
                    r->status, got ? " with device_id " : "", got ? got : "");
    else
        mx_crosscut("GET-UNKNOWN", r,
                    "GET /devices/{id} of %s, which the user does not have, answered %ld "
                    "instead of 404",
                    device_id, r->status);
    return listed;
}

bool mx_list_holds(const struct mx_user *u, const char *device_id, const char **name) {
    json_t *devices = mx_list_devices(u);
    bool self = u->device_id && strcmp(u->device_id, device_id) == 0;

    if (mx_devices_contains(devices, device_id, name))
        return true;
    if (mx_device_present(u, device_id))
        mx_block(NULL, self ? "LIST-SELF" : "LIST-ALL",
                 "GET /devices of %s leaves out device %s, which GET /devices/{id} shows",
                 u->user_id, device_id);
    return false;
}

json_t *mx_list_devices(const struct mx_user *u) {
    const struct mx_resp *r = get_as(u, MX_V3 "/devices");
    json_t *devices = json_object_get(r->json, "devices");

    /* A refused token is not a broken listing: whether that token should
     * still work is the running check's own question. */
    if (token_refused(r))
        cr_assert_fail("%s", mx_msg(r, "the token of device %s of %s was refused",
                                    u->device_id ? u->device_id : "?", u->user_id));
    if (r->status != 200 || !json_is_array(devices))
        mx_block(r, "LIST-OK", "cannot list the devices of %s", u->user_id);
    return devices;
}

bool mx_devices_contains(json_t *devices, const char *device_id, const char **name) {
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d) {
        const char *id = json_string_value(json_object_get(d, "device_id"));
        if (id && device_id && strcmp(id, device_id) == 0) {
            if (name)
                *name = json_string_value(json_object_get(d, "display_name"));
            return true;
        }
    }
    if (name)
        *name = NULL;
    return false;
}

static void on_free_variants(void *p) {
    mx_variants_free(p);
    free(p);
}

const struct mx_variants *mx_request_variants(const char *method, const char *path,
                                              const json_t *values,
                                              const char *const *skip) {
    const json_t *schema = mx_request_schema_for(method, path);
    struct mx_variants *vs = mx_arena_keep_fn(calloc(1, sizeof(*vs)), on_free_variants);
    char err[256];

    cr_assert(vs != NULL, "out of memory");
    if (!schema) {
        vs->v = calloc(1, sizeof(*vs->v));
        cr_assert(vs->v != NULL, "out of memory");
        vs->n = 1;
        vs->v[0].body = json_deep_copy(values);
        vs->v[0].valid = true;
        snprintf(vs->v[0].label, sizeof(vs->v[0].label),
                 "the usual body (no request "
                 "schema for %s %s)",
                 method, path);
        return vs;
    }
    cr_assert(mx_variants_build(schema, values, skip, vs, err, sizeof(err)) == 0,
              "%srequest variants of %s %s: %s", mx_current_id(), method, path, err);
    return vs;
}

int mx_made_device(const struct mx_user *u, const char *device_id) {
    for (size_t i = 0; i < check.n_tracked; i++) {
        size_t j;
        json_t *d;
        if (strcmp(check.tracked[i].user_id, u->user_id) != 0)
            continue;
        if (check.tracked[i].preexisting)
            return -1;
        json_array_foreach(check.tracked[i].background, j, d) {
            if (strcmp(json_string_value(d), device_id) == 0)
                return -1;
        }
        json_array_foreach(check.tracked[i].devices, j, d) {
            if (strcmp(json_string_value(d), device_id) == 0)
                return 1;
        }
        return 0;
    }
    return 0;
}
