/* The runner side of the reports: criterion's report hooks (they run in the
 * runner process) turn each finished test into a check of the results
 * document, print its console line, and at the end write the report files.
 *
 * Criterion does not report every test the same way: a test that crashes in
 * its body gets TEST_CRASH instead of POST_FINI, and one that crashes in
 * .init or .fini gets neither. PRE_INIT marks the tests that ran, and
 * POST_ALL picks up whatever did not finish normally. Tests filtered out with
 * --filter never get PRE_INIT and are left out of the reports. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/options.h>
#include <criterion/stats.h>

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mx_catalog.h"
#include "mx_env.h"
#include "mx_record.h"
#include "mx_report.h"
#include "report_internal.h"

struct seen_test {
    const struct criterion_test *test;
    bool post_test; /* POST_TEST reported: a later crash was in .fini */
    bool done;      /* its check is in state.checks */
};

enum finish_how { FINISH_NORMAL, FINISH_CRASH, FINISH_LEFTOVER };

static struct {
    bool active;
    bool finished;
    char *dir;
    char *target;
    int spec_version;
    bool strict;
    json_t *versions;     /* own copy, or NULL */
    json_t *capabilities; /* own copy, or NULL */
    char *expect_fail_file;
    struct mx_expect_fail expect_fail;
    char *spec_dir;              /* --spec-dir, or NULL */
    struct mx_spec_notes *notes; /* its version notes, or NULL */
    char started[32];
    struct timespec t0;
    bool color;
    json_t *checks;        /* array of check objects, in finishing order */
    json_t *exploration;   /* --explore's result, or NULL */
    json_t *crosscut_seen; /* {"id","test","text"} of every cross-cutting
                              observation and every block recorded */
    struct seen_test *seen;
    size_t n_seen;
    int exit_status;
    long deadline_at;        /* --deadline as a time(), or 0 */
    json_t *baseline;        /* --baseline: {"group/TEST": verdict}, or NULL */
    char *baseline_file;     /* its path, or NULL */
    char *write_expect_fail; /* --write-expect-fail's path, or NULL */
    enum mx_console_mode console_mode;
    FILE *console; /* borrowed: the console stream (stdout unless redirected) */
    bool github;
    void (*after_checks)(const char *report_dir);
    struct criterion_test_set *test_set; /* borrowed from PRE_ALL to POST_ALL */
} state;

/* SIGINT/SIGTERM (mx_report_catch_signals): the handler may only touch
 * these. abort_doc/abort_file are prepared before criterion runs. */
static volatile sig_atomic_t caught_signal;
static char abort_file[4096];
static char abort_doc[160];
static int wake_pipe[2] = {-1, -1};
static bool signals_wanted; /* mx_report_catch_signals() was called */

/* Removes the regular files in dir (the previous run's side channel). */
static int clear_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat st;

    if (!d)
        return -1;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue; /* a name too long for us was not ours */
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            unlink(path);
    }
    closedir(d);
    return 0;
}

/* The spec's version notes when the run has --spec-dir. Not fatal: the run
 * and its reports stand without them. */
static void load_spec_notes(void) {
    const char *spec_dir = mx_env()->spec_dir;
    char map[4096], why[512];

    if (!spec_dir || !*spec_dir)
        return;
    state.spec_dir = mx_text_clean(spec_dir);
    snprintf(map, sizeof(map), "%s/requirement-operations.tsv", mx_env()->fixtures_dir);
    state.notes = mx_spec_notes_load(spec_dir, map, why, sizeof(why));
    if (!state.notes)
        fprintf(stderr, "warning: reports: no spec version notes: %s\n", why);
    else if (*why)
        fprintf(stderr, "warning: reports: %s\n", why);
}

int mx_report_init(const struct mx_report_config *cfg, char *err, size_t err_len) {
    static const char *const outputs[] = {"results.json", "junit.xml", "results.tap",
                                          "summary.md", "report.html"};
    char path[4096];
    time_t now = time(NULL);
    struct tm tm;
    const char *no_color = getenv("NO_COLOR");

    if (mx_mkdir_p(cfg->dir) < 0) {
        snprintf(err, err_len, "report directory %s: %s", cfg->dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/.tests", cfg->dir);
    if (mx_mkdir_p(path) < 0 || clear_dir(path) < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* A run that dies before the end must not leave the last run's verdict. */
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", cfg->dir, outputs[i]);
        unlink(path);
    }
    if (mx_catalog_ensure(path, sizeof(path)) < 0) {
        snprintf(err, err_len, "requirement catalogue: %s", path);
        return -1;
    }
    if (cfg->expect_fail_file &&
        mx_expect_fail_load(cfg->expect_fail_file, &state.expect_fail, err, err_len) < 0)
        return -1;
    if (cfg->baseline_file) {
        state.baseline = mx_baseline_load(cfg->baseline_file, err, err_len);
        if (!state.baseline)
            return -1;
        state.baseline_file = mx_text_safe(cfg->baseline_file);
    }
    state.write_expect_fail =
        cfg->write_expect_fail ? strdup(cfg->write_expect_fail) : NULL;
    state.console_mode = cfg->console_mode;
    state.console = cfg->console ? cfg->console : stdout;
    state.github = cfg->github;
    state.after_checks = cfg->after_checks;

    load_spec_notes();
    state.dir = strdup(cfg->dir);
    state.target = mx_url_safe(cfg->target ? cfg->target : "");
    state.expect_fail_file = cfg->expect_fail_file ? strdup(cfg->expect_fail_file) : NULL;
    state.spec_version = cfg->spec_version;
    state.strict = cfg->strict;
    state.versions = cfg->versions ? json_deep_copy(cfg->versions) : NULL;
    state.capabilities = cfg->capabilities ? json_deep_copy(cfg->capabilities) : NULL;
    state.checks = json_array();
    state.crosscut_seen = json_array();
    state.deadline_at = mx_env()->deadline_at;
    snprintf(abort_file, sizeof(abort_file), "%s/.tests/abort.json", cfg->dir);
    if (!state.dir || !state.target || !state.checks) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    gmtime_r(&now, &tm);
    strftime(state.started, sizeof(state.started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    clock_gettime(CLOCK_MONOTONIC, &state.t0);
    state.color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    state.active = true;
    return 0;
}

int mx_report_write_unjudged(const struct mx_report_config *cfg, int exit_status,
                             const char *reason) {
    time_t now = time(NULL);
    struct tm tm;
    char started[32], err[512], path[4096];
    const char *version = mx_version_name(cfg->spec_version);
    const char *tls =
        json_string_value(json_object_get(cfg->capabilities, "tls_verification"));
    char *target = mx_url_safe(cfg->target ? cfg->target : "");
    char *why = mx_text_safe(reason ? reason : "unknown");
    json_t *totals = json_object(), *results;
    int rc = -1;

    gmtime_r(&now, &tm);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        json_object_set_new(totals, mx_verdict_name((enum mx_verdict)v), json_integer(0));
    results = json_pack(
        "{s:s, s:s, s:s?, s:b, s:s, s:i, s:O?, s:O?, s:o, s:i, s:[], s:n, s:s, s:s, "
        "s:{s:i, s:i}, s:b, s:{}, s:s}",
        "tool", "device-conformance", "target", target ? target : "", "spec_version",
        strcmp(version, "?") == 0 ? NULL : version, "strict", cfg->strict, "started",
        started, "duration_ms", 0, "server_versions", cfg->versions, "capabilities",
        cfg->capabilities, "totals", totals, "exit_status", exit_status, "checks",
        "spec_dir", "verdict", "not judged", "reason", why ? why : "", "requirements",
        "judged", 0, "applicable", 0, "partial", false, "blocked", "tls_verification",
        tls && strcmp(tls, "off") == 0 ? "off" : "on");
    if (results && !json_is_object(json_object_get(results, "server_versions")))
        json_object_set_new(results, "server_versions", json_object());
    if (results && !json_is_object(json_object_get(results, "capabilities")))
        json_object_set_new(results, "capabilities", json_object());
    if (!results) {
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    if (!cfg->dir || mx_mkdir_p(cfg->dir) < 0) {
        snprintf(err, sizeof(err), "report directory %s: %s",
                 cfg->dir ? cfg->dir : "(none)", strerror(errno));
        goto out;
    }
    /* The side channel of an earlier run is no part of this one. */
    snprintf(path, sizeof(path), "%s/.tests", cfg->dir);
    clear_dir(path);
    rc = mx_report_write_files(results, cfg->dir, err, sizeof(err));
    /* --format json: a script reads the same verdict on stdout. */
    if (cfg->console_mode == MX_CONSOLE_JSON) {
        FILE *con = cfg->console ? cfg->console : stdout;
        json_dumpf(results, con, JSON_INDENT(2));
        fputc('\n', con);
        fflush(con);
    }
out:
    if (rc < 0)
        fprintf(stderr, "warning: reports: %s\n", err);
    json_decref(results);
    free(target);
    free(why);
    return rc;
}

int mx_report_exit_status(void) {
    if (!state.finished)
        return caught_signal ? 128 + (int)caught_signal : 0;
    return state.exit_status;
}

static struct seen_test *seen_find(const struct criterion_test *test, bool create) {
    struct seen_test *grown;

    for (size_t i = 0; i < state.n_seen; i++)
        if (state.seen[i].test == test)
            return &state.seen[i];
    if (!create)
        return NULL;
    grown = realloc(state.seen, (state.n_seen + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    state.seen = grown;
    grown[state.n_seen] = (struct seen_test){test, false, false};
    return &grown[state.n_seen++];
}

/* A copy of a recorded value with every string redacted and cleaned (new
 * reference). */
static json_t *safe_copy(const json_t *value) {
    json_t *out, *v;
    const char *key;
    size_t i;
    char *text;

    switch (json_typeof(value)) {
        case JSON_STRING:
            text = mx_text_safe(json_string_value(value));
            out = json_string(text ? text : "");
            free(text);
            return out;
        case JSON_OBJECT:
            out = json_object();
            json_object_foreach((json_t *)value, key, v) {
                text = mx_text_clean(key);
                json_object_set_new(out, text ? text : "?", safe_copy(v));
                free(text);
            }
            return out;
        case JSON_ARRAY:
            out = json_array();
            json_array_foreach(value, i, v) {
                json_array_append_new(out, safe_copy(v));
            }
            return out;
        default:
            return json_deep_copy(value);
    }
}

/* Appends a redacted, cleaned string to an array. */
static void append_text(json_t *array, const char *text) {
    char *safe = mx_text_safe(text);
    json_array_append_new(array, json_string(safe ? safe : ""));
    free(safe);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path ? path : "", '/');
    return slash ? slash + 1 : (path ? path : "");
}

/* The failed assertions' messages, oldest first (criterion lists the newest
 * first), each with its place in the source. */
static void append_assert_messages(json_t *messages,
                                   const struct criterion_test_stats *stats) {
    const struct criterion_assert_stats *a;
    size_t n = 0, i;
    const struct criterion_assert_stats **list;

    for (a = stats->asserts; a; a = a->next)
        n += !a->passed;
    list = calloc(n ? n : 1, sizeof(*list));
    if (!list)
        return;
    i = n;
    for (a = stats->asserts; a; a = a->next)
        if (!a->passed)
            list[--i] = a;
    for (i = 0; i < n; i++) {
        char line[4096];
        const char *msg =
            list[i]->message && *list[i]->message ? list[i]->message : "assertion failed";
        snprintf(line, sizeof(line), "%s\n(at %s:%u)", msg, base_name(list[i]->file),
                 list[i]->line);
        append_text(messages, line);
    }
    free(list);
}

/* Console words: six columns at most. */
static const char *const verdict_words[MX_VERDICT_COUNT] = {
    "PASS", "FAIL", "WARN", "SKIP", "INFO", "XFAIL", "XPASS", "BLOCKD", "NOTRUN"};
static const char *const verdict_colors[MX_VERDICT_COUNT] = {
    "\033[32m", "\033[1;31m", "\033[33m", "\033[2m",   "\033[36m",
    "\033[35m", "\033[1;33m", "\033[34m", "\033[2;31m"};

static const char *member_text(const json_t *obj, const char *key) {
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static void print_indented(const char *text) {
    fputs("       ", stdout);
    mx_put_first_line(stdout, text, 200);
    fputc('\n', stdout);
}

/* One line for the spec's version notes of a failing check: the operations
 * per version and kind, or the note's text when there is one note. */
static void print_spec_notes(const json_t *notes) {
    char *buf = NULL;
    size_t len = 0, i, j;
    FILE *f;
    json_t *note, *other;

    if (json_array_size(notes) == 0)
        return;
    f = open_memstream(&buf, &len);
    if (!f)
        return;
    fputs("spec:", f);
    if (json_array_size(notes) == 1) {
        note = json_array_get(notes, 0);
        fprintf(f, " %s %s in %s: %s",
                json_string_value(json_object_get(note, "operation")),
                json_string_value(json_object_get(note, "kind")),
                json_string_value(json_object_get(note, "version")),
                json_string_value(json_object_get(note, "text")));
    }
    json_array_foreach(json_array_size(notes) == 1 ? NULL : notes, i, note) {
        const char *kind = json_string_value(json_object_get(note, "kind"));
        const char *version = json_string_value(json_object_get(note, "version"));
        bool first = true, seen = false;
        /* Print each (kind, version) once, at its first note. */
        for (j = 0; j < i && !seen; j++) {
            other = json_array_get(notes, j);
            seen = strcmp(kind, json_string_value(json_object_get(other, "kind"))) == 0 &&
                   strcmp(version,
                          json_string_value(json_object_get(other, "version"))) == 0;
        }
        if (seen)
            continue;
        fprintf(f, "%s %s in %s:", i ? ";" : "", kind, version);
        json_array_foreach(notes, j, other) {
            if (strcmp(kind, json_string_value(json_object_get(other, "kind"))) != 0 ||
                strcmp(version, json_string_value(json_object_get(other, "version"))) !=
                    0)
                continue;
            fprintf(f, "%s %s", first ? "" : ",",
                    json_string_value(json_object_get(other, "operation")));
            first = false;
        }
    }
    if (fclose(f) == 0)
        print_indented(buf);
    free(buf);
}

/* The request that showed a failure, "GET /path -> 403 M_FORBIDDEN", from the
 * harness's "request:"/"response:" lines of a message, else from the last
 * exchange of the transcript. Writes "" when neither is there. */
static void request_of(const json_t *check, char *buf, size_t len) {
    const char *msg =
        json_string_value(json_array_get(json_object_get(check, "messages"), 0));
    const char *req = msg ? strstr(msg, "\n  request:  ") : NULL;
    const json_t *transcript = json_object_get(check, "transcript");
    const json_t *ex, *resp;
    const char *code = NULL;
    json_t *body;

    buf[0] = '\0';
    if (req) {
        /* "  request:  METHOD PATH [BODY]" then "  response: 403, ..." */
        const char *start = req + strlen("\n  request:  ");
        const char *sp = strchr(start, ' ');
        const char *end = sp ? sp + strcspn(sp + 1, " \n") + 1 : NULL;
        const char *resp_line = strstr(start, "\n  response: ");
        const char *no_resp = strstr(start, "\n  no response: ");
        if (end && resp_line)
            snprintf(buf, len, "%.*s -> %ld", (int)(end - start), start,
                     strtol(resp_line + strlen("\n  response: "), NULL, 10));
        else if (end && no_resp)
            snprintf(buf, len, "%.*s -> no response", (int)(end - start), start);
        if (buf[0])
            return;
    }
    ex = json_array_get(transcript, json_array_size(transcript) - 1);
    if (!ex)
        return;
    resp = json_object_get(ex, "response");
    body = json_loads(member_text(resp, "body"), 0, NULL);
    code = json_string_value(json_object_get(body, "errcode"));
    if (json_integer_value(json_object_get(resp, "status")) == 0)
        snprintf(buf, len, "%s %s -> no response: %s",
                 member_text(json_object_get(ex, "request"), "method"),
                 member_text(json_object_get(ex, "request"), "path"),
                 member_text(resp, "transport_error"));
    else
        snprintf(buf, len, "%s %s -> %lld%s%s",
                 member_text(json_object_get(ex, "request"), "method"),
                 member_text(json_object_get(ex, "request"), "path"),
                 (long long)json_integer_value(json_object_get(resp, "status")),
                 code ? " " : "", code ? code : "");
    json_decref(body);
}

/* Whether the first line of text, as the console prints it, names a request
 * and what it got ("... -> 403 ..."). */
static bool shows_request(const char *text) {
    size_t n = strcspn(text ? text : "", "\n");
    const char *arrow = text ? strstr(text, " -> ") : NULL;
    return arrow && (size_t)(arrow - text) < n && (size_t)(arrow - text) < 190;
}

/* ---- --baseline ---- */

enum baseline_mark {
    BASELINE_NONE,
    BASELINE_NEW,      /* passed in the baseline, does not pass now */
    BASELINE_KNOWN,    /* failed in the baseline too */
    BASELINE_FIXED,    /* failed in the baseline, passes now */
    BASELINE_UNJUDGED, /* fails now; the baseline has no verdict on it */
};

/* The verdicts that fail a run with --baseline when the check passed there. */
static bool fails_now(enum mx_verdict v) {
    return v == MX_VERDICT_FAIL || v == MX_VERDICT_BLOCKED || v == MX_VERDICT_NOT_RUN ||
           (state.strict && v == MX_VERDICT_WARN);
}

static bool failed_then(const char *was) {
    static const char *const words[] = {"fail", "warn", "xfail", "blocked", "not_run"};
    for (size_t i = 0; was && i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(was, words[i]) == 0)
            return true;
    return false;
}

/* How the check compares with the baseline; *was is the baseline's verdict
 * (borrowed, NULL when it has none). */
static enum baseline_mark baseline_mark_of(const json_t *check, enum mx_verdict v,
                                           const char **was) {
    const char *w = NULL;

    if (state.baseline)
        w = json_string_value(json_object_get(
            state.baseline, json_string_value(json_object_get(check, "test"))));
    if (was)
        *was = w;
    if (!state.baseline)
        return BASELINE_NONE;
    if (fails_now(v)) {
        if (w && strcmp(w, "pass") == 0)
            return BASELINE_NEW;
        return failed_then(w) ? BASELINE_KNOWN : BASELINE_UNJUDGED;
    }
    if ((v == MX_VERDICT_PASS || v == MX_VERDICT_XPASS) && failed_then(w))
        return BASELINE_FIXED;
    return BASELINE_NONE;
}

static const char *const baseline_words[] = {
    [BASELINE_NONE] = NULL,
    [BASELINE_NEW] = "new failure",
    [BASELINE_KNOWN] = "known",
    [BASELINE_FIXED] = "fixed",
    [BASELINE_UNJUDGED] = "not judged in the baseline",
};

static void print_check(const json_t *check, enum mx_verdict v) {
    const json_t *list = json_object_get(check, "messages");
    size_t i;
    json_t *m;
    bool failing = v == MX_VERDICT_FAIL || v == MX_VERDICT_WARN;
    const char *was = NULL;
    enum baseline_mark mark = baseline_mark_of(check, v, &was);

    if (state.console_mode != MX_CONSOLE_TEXT)
        return;
    if (state.color)
        fputs(verdict_colors[v], stdout);
    printf("%-6s", verdict_words[v]);
    if (state.color)
        fputs("\033[0m", stdout);
    printf(" %-20s %-52s %lld ms\n", json_string_value(json_object_get(check, "id")),
           json_string_value(json_object_get(check, "test")),
           json_integer_value(json_object_get(check, "duration_ms")));
    if (mark != BASELINE_NONE) {
        char line[160];
        snprintf(line, sizeof(line), "baseline: %s%s%s%s", baseline_words[mark],
                 was ? " (was " : "", was ? was : "", was ? ")" : "");
        print_indented(line);
    }
    if (v == MX_VERDICT_SKIP || v == MX_VERDICT_XFAIL || v == MX_VERDICT_XPASS ||
        v == MX_VERDICT_BLOCKED || v == MX_VERDICT_NOT_RUN)
        print_indented(json_string_value(json_object_get(check, "reason")));
    if (failing || v == MX_VERDICT_XFAIL) {
        json_array_foreach(list, i, m) {
            if (i == 3) {
                printf("       (%zu more)\n", json_array_size(list) - 3);
                break;
            }
            print_indented(json_string_value(m));
        }
    }
    if (failing) {
        const char *first = json_string_value(json_array_get(list, 0));
        const char *link = json_string_value(json_object_get(check, "link"));
        char req[600];
        if (!shows_request(first)) {
            request_of(check, req, sizeof(req));
            if (req[0]) {
                char line[640];
                snprintf(line, sizeof(line), "request: %s", req);
                print_indented(line);
            }
        }
        if (link)
            printf("       spec: %s\n", link);
        print_spec_notes(json_object_get(check, "spec_notes"));
    }
    if (v == MX_VERDICT_INFO) {
        json_array_foreach(json_object_get(check, "observations"), i, m) {
            print_indented(json_string_value(m));
        }
    }
    fflush(stdout);
}

/* Keeps a cross-cutting observation (a "crosscut" or "schema" record, or the
 * text of a "blocked" one) for the check(s) of its ID, which are judged on
 * all of them at the end (attribute_crosscuts). */
static void note_crosscut(const char *id, const char *test_id, const json_t *rec) {
    char line[1400];
    const char *method = member_text(rec, "method");
    char *safe;

    if (!*id)
        return;
    if (*method)
        snprintf(line, sizeof(line), "%s %s -> %lld: %s", method,
                 member_text(rec, "path"),
                 (long long)json_integer_value(json_object_get(rec, "status")),
                 member_text(rec, "text"));
    else
        snprintf(line, sizeof(line), "%s", member_text(rec, "text"));
    safe = mx_text_safe(line);
    json_array_append_new(state.crosscut_seen,
                          json_pack("{s:s, s:s, s:s}", "id", id, "test", test_id, "text",
                                    safe ? safe : ""));
    free(safe);
}

/* "listed in FILE: reason" for an xfail/xpass; new reference. */
static json_t *xfail_reason(const struct mx_expect_fail_entry *xf) {
    char *text = mx_text_safe(*xf->reason ? xf->reason : "no reason given");
    char line[1024];
    snprintf(line, sizeof(line), "listed in %s: %s", base_name(state.expect_fail_file),
             text ? text : "");
    free(text);
    return json_string(line);
}

/* The versioned spec link of a requirement (new reference; null when the
 * catalogue has no anchor for it). */
static json_t *link_of(const struct mx_requirement *req) {
    char link[1024];
    if (!req || mx_requirement_link(req, state.spec_version, link, sizeof(link)) < 0)
        return json_null();
    return json_string(link);
}

/* Whether an assertion message is mx_block()'s: "[blocked by ID] ...",
 * perhaps after the harness's "[ID] " prefix. */
static bool is_block_message(const char *msg) {
    if (!msg)
        return false;
    if (msg[0] == '[' && strncmp(msg, "[blocked by ", 12) != 0) {
        const char *close = strchr(msg, ']');
        if (close && close[1] == ' ')
            msg = close + 2;
    }
    return strncmp(msg, "[blocked by ", 12) == 0;
}

/* Failed assertions other than mx_block()'s. */
static size_t other_failures(const struct criterion_test_stats *stats) {
    size_t n = 0;
    for (const struct criterion_assert_stats *a = stats->asserts; a; a = a->next)
        n += !a->passed && !is_block_message(a->message);
    return n;
}

/* The harness before the not_run record: an assertion saying the deadline
 * kept the check from running. */
static bool deadline_message(const struct criterion_test_stats *stats) {
    for (const struct criterion_assert_stats *a = stats->asserts; a; a = a->next)
        if (!a->passed && a->message &&
            strstr(a->message, "not run: the run's --deadline"))
            return true;
    return false;
}

/* Whether the run was cut short: its deadline passed, it was aborted, or a
 * signal stopped it. */
static bool run_cut_short(void) {
    json_t *abort_doc_json;
    bool aborted;

    if (caught_signal || (state.deadline_at > 0 && (long)time(NULL) >= state.deadline_at))
        return true;
    abort_doc_json = mx_record_read_abort(state.dir);
    aborted = abort_doc_json != NULL;
    json_decref(abort_doc_json);
    return aborted;
}

/* Whether the run's selection (criterion's --filter) includes test. */
static bool selected(const struct criterion_test *test) {
    char name[512];

    if (test->data && test->data->disabled)
        return false;
    if (!criterion_options.pattern || !*criterion_options.pattern)
        return true;
    snprintf(name, sizeof(name), "%s/%s", test->category ? test->category : "",
             test->name ? test->name : "");
    return fnmatch(criterion_options.pattern, name, FNM_EXTMATCH) == 0;
}

static void finish_test(const struct criterion_test_stats *stats, enum finish_how how) {
    const struct criterion_test *test = stats->test;
    struct seen_test *seen = seen_find(test, how != FINISH_LEFTOVER);
    const char *group = test->category ? test->category : "";
    const char *name = test->name ? test->name : "";
    char id[128], test_id[512];
    const struct mx_requirement *req;
    enum mx_level level;
    enum mx_outcome outcome;
    const struct mx_expect_fail_entry *xf;
    enum mx_verdict v;
    json_t *records, *rec, *check;
    json_t *messages = json_array(), *observations = json_array();
    json_t *transcript = json_array(), *reason = json_null();
    const char *skip_reason = NULL, *description, *not_run_reason = NULL;
    const char *blocked_by = NULL, *blocked_text = NULL;
    size_t i;
    char note[256];
    bool crashed = how == FINISH_CRASH || stats->crashed || how == FINISH_LEFTOVER;

    if (seen && seen->done)
        goto out;
    /* Never started: filtered out or disabled, so not part of this run;
     * unless the run was cut short before it got to the test. */
    if (!seen && (stats->test_status == CR_STATUS_SKIPPED || how == FINISH_LEFTOVER)) {
        if (!run_cut_short() || !selected(test))
            goto out;
        not_run_reason = caught_signal
                             ? "the run was interrupted before this check started"
                             : "the run was cut short (deadline or abort) "
                               "before this check started";
    }

    mx_test_name_to_id(name, id, sizeof(id));
    snprintf(test_id, sizeof(test_id), "%s/%s", group, name);
    req = mx_catalog_find(id);
    level = req ? req->level : MX_MUST;

    records = mx_record_read(state.dir, group, name);
    json_array_foreach(records, i, rec) {
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        if (!kind)
            continue;
        if (strcmp(kind, "observation") == 0)
            append_text(observations, json_string_value(json_object_get(rec, "text")));
        else if (strcmp(kind, "exchange") == 0)
            json_array_append_new(transcript, safe_copy(rec));
        else if (strcmp(kind, "skip") == 0)
            skip_reason = json_string_value(json_object_get(rec, "reason"));
        else if (strcmp(kind, "schema") == 0)
            note_crosscut("ERR-SCHEMA", test_id, rec);
        else if (strcmp(kind, "crosscut") == 0)
            note_crosscut(member_text(rec, "id"), test_id, rec);
        else if (strcmp(kind, "not_run") == 0)
            not_run_reason = member_text(rec, "reason");
        else if (strcmp(kind, "blocked") == 0 && !blocked_by) {
            blocked_by = member_text(rec, "by");
            blocked_text = member_text(rec, "text");
            note_crosscut(blocked_by, test_id, rec);
        }
    }

    /* A check the run never got to (a not_run record; a deadline, abort or
     * signal that stopped it before it finished) is not run, not a crash. */
    if (!not_run_reason && seen && deadline_message(stats))
        not_run_reason = "the run's --deadline passed before this check started";
    if (!not_run_reason && caught_signal && crashed)
        not_run_reason =
            caught_signal == SIGINT
                ? "the run was interrupted (SIGINT) before this check finished"
                : "the run was interrupted (SIGTERM) before this check finished";
    if (!not_run_reason && how == FINISH_LEFTOVER && !(seen && seen->post_test) &&
        run_cut_short())
        not_run_reason =
            "the run was cut short (deadline or abort) before this check ran";

    if (not_run_reason) {
        outcome = MX_OUTCOME_NOT_RUN;
    } else if (blocked_by && !crashed && other_failures(stats) == 0) {
        outcome = MX_OUTCOME_BLOCKED;
    } else if (crashed) {
        outcome = MX_OUTCOME_CRASHED;
        if (how == FINISH_LEFTOVER)
            snprintf(note, sizeof(note), "the test process crashed during %s",
                     seen && seen->post_test ? "teardown (.fini)" : "setup (.init)");
        else
            snprintf(note, sizeof(note), "the test process crashed (signal %d)",
                     stats->signal);
        strncat(note, ": a bug in the suite, not a verdict on the server",
                sizeof(note) - strlen(note) - 1);
        append_text(messages, note);
    } else if (stats->test_status == CR_STATUS_SKIPPED) {
        outcome = MX_OUTCOME_SKIPPED;
    } else if (stats->test_status == CR_STATUS_FAILED) {
        outcome = MX_OUTCOME_FAILED;
        if (stats->timed_out) {
            snprintf(note, sizeof(note), "timed out after %.1f s", stats->elapsed_time);
            append_text(messages, note);
        } else if (stats->exit_code != 0 && stats->failed_asserts == 0) {
            snprintf(note, sizeof(note), "the test process exited with status %d",
                     stats->exit_code);
            append_text(messages, note);
        }
    } else {
        outcome = MX_OUTCOME_PASSED;
    }
    if (outcome != MX_OUTCOME_NOT_RUN)
        append_assert_messages(messages, stats);
    if (!req)
        append_text(messages, "this test's name maps to no requirement of the catalogue");
    if (level == MX_INFO &&
        (outcome == MX_OUTCOME_FAILED || outcome == MX_OUTCOME_CRASHED))
        json_array_insert_new(
            messages, 0,
            json_string("an INFO check never fails on the server's behaviour: this one "
                        "stopped on its own precondition, which is a bug in the suite "
                        "(or a server it cannot work with)"));

    xf = mx_expect_fail_find(&state.expect_fail, id, test_id);
    v = mx_verdict_for(level, outcome, xf != NULL);
    if (v == MX_VERDICT_SKIP) {
        char *text = mx_text_safe(skip_reason      ? skip_reason
                                  : stats->message ? stats->message
                                                   : "skipped (no reason given)");
        reason = json_string(text ? text : "");
        free(text);
    } else if (v == MX_VERDICT_XFAIL || v == MX_VERDICT_XPASS) {
        reason = xfail_reason(xf);
    } else if (v == MX_VERDICT_BLOCKED) {
        char line[1400];
        snprintf(line, sizeof(line), "blocked by %s: %s", blocked_by, blocked_text);
        char *text = mx_text_safe(line);
        reason = json_string(text ? text : "");
        free(text);
    } else if (v == MX_VERDICT_NOT_RUN) {
        char *text = mx_text_safe(not_run_reason);
        reason = json_string(text ? text : "");
        free(text);
    }
    if (v == MX_VERDICT_PASS || v == MX_VERDICT_SKIP || v == MX_VERDICT_NOT_RUN)
        json_array_clear(transcript);

    description = test->data && test->data->description && *test->data->description
                      ? test->data->description
                  : req ? req->rule
                        : "";
    {
        char *desc = mx_text_safe(description);
        check = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
            "test", test_id, "id", id, "group", group, "level", mx_level_name(level),
            "verdict", mx_verdict_name(v), "duration_ms",
            (json_int_t)(stats->elapsed_time * 1000.0 + 0.5), "description",
            desc ? desc : "", "messages", messages, "reason", reason, "observations",
            observations, "transcript", transcript, "spec_notes",
            mx_spec_notes_for(state.notes, id, group), "link", link_of(req), "blocked_by",
            v == MX_VERDICT_BLOCKED ? json_string(blocked_by) : json_null());
        free(desc);
    }
    messages = observations = transcript = reason = NULL; /* stolen by json_pack */
    json_decref(records);
    if (!check) {
        fprintf(stderr, "error: reports: cannot record %s\n", test_id);
        goto out;
    }
    json_array_append_new(state.checks, check);
    seen = seen_find(test, true);
    if (seen)
        seen->done = true;
    print_check(check, v);
out:
    json_decref(messages);
    json_decref(observations);
    json_decref(transcript);
    json_decref(reason);
}

/* Whether child pid is a test process past criterion's start-up handshake
 * (which stops the child twice and gives up the whole run when the child
 * dies meanwhile): its command line is the worker's, it is not stopped, and
 * it has removed its start-up shared memory. */
static bool running_worker(long pid, char pstate) {
    char path[64], cmd[32] = "";
    FILE *f;
    size_t n;

    if (pstate == 'T' || pstate == 't')
        return false;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(cmd, 1, sizeof(cmd) - 1, f);
    fclose(f);
    cmd[n] = '\0';
    if (strcmp(cmd, "boxfort-worker") != 0)
        return false;
    snprintf(path, sizeof(path), "/dev/shm/bxfi_%ld", pid);
    return access(path, F_OK) < 0 && errno == ENOENT;
}

/* The test processes running (children of this process) get sig: a signal
 * has stopped the run. */
static void stop_workers(int sig) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t self = getpid();

    if (!d)
        return;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        char path[300], buf[512], pstate;
        char *close;
        long pid, ppid;
        FILE *f;
        size_t n;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
        close = strrchr(buf, ')');
        pid = strtol(buf, NULL, 10);
        if (!close || sscanf(close + 1, " %c %ld", &pstate, &ppid) != 2)
            continue;
        if (ppid == (long)self && pid > 0 && running_worker(pid, pstate))
            kill((pid_t)pid, sig);
    }
    closedir(d);
}

ReportHook(PRE_INIT)(struct criterion_test *test) {
    if (!state.active)
        return;
    seen_find(test, true);
    /* Criterion goes on starting tests after a signal: stop each at once
     * (the test process also finds the abort file and stops by itself). */
    if (caught_signal)
        stop_workers(SIGKILL);
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats) {
    struct seen_test *seen;

    if (!state.active)
        return;
    seen = seen_find(stats->test, true);
    if (seen)
        seen->post_test = true;
}

ReportHook(POST_FINI)(struct criterion_test_stats *stats) {
    if (state.active)
        finish_test(stats, FINISH_NORMAL);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats) {
    if (state.active)
        finish_test(stats, FINISH_CRASH);
}

/* One line per observation of id (at most ten, then a count). */
static void append_crosscut_messages(json_t *messages, const char *id) {
    size_t n = 0, i, shown = 0;
    json_t *seen;
    char line[1800];

    json_array_foreach(state.crosscut_seen, i, seen) {
        n += strcmp(member_text(seen, "id"), id) == 0;
    }
    json_array_foreach(state.crosscut_seen, i, seen) {
        if (strcmp(member_text(seen, "id"), id) != 0)
            continue;
        if (shown == 10) {
            snprintf(line, sizeof(line), "[%s] ... and %zu more", id, n - shown);
            append_text(messages, line);
            break;
        }
        snprintf(line, sizeof(line), "[%s] seen in %s: %s", id, member_text(seen, "test"),
                 member_text(seen, "text"));
        append_text(messages, line);
        shown++;
    }
}

/* A cross-cutting rule (error body shape, content type, the response
 * schema, ...) covers every response of the run, and a precondition that
 * blocked a check is an instance of its own rule: so whatever check saw a
 * violation, it is charged to the check(s) of its ID, which then fail (warn
 * for a SHOULD, xfail when listed) and list where each was seen. The check
 * that saw it is judged on its own rule only. When the run has no check of
 * the ID (a selection), one is added for the observations. */
static void charge_id(const char *id) {
    const struct mx_requirement *req = mx_catalog_find(id);
    const char *group = req ? req->group : "unknown";
    char test[256], under[128];
    const struct mx_expect_fail_entry *xf;
    enum mx_verdict v;
    json_t *check, *messages;
    bool found = false;
    size_t i;

    json_array_foreach(state.checks, i, check) {
        int was;
        if (strcmp(member_text(check, "id"), id) != 0)
            continue;
        found = true;
        xf = mx_expect_fail_find(&state.expect_fail, id, member_text(check, "test"));
        v = mx_verdict_for(req ? req->level : MX_MUST, MX_OUTCOME_FAILED, xf != NULL);
        was = mx_verdict_parse(member_text(check, "verdict"));
        append_crosscut_messages(json_object_get(check, "messages"), id);
        if (was == MX_VERDICT_FAIL || was == MX_VERDICT_WARN || was == MX_VERDICT_XFAIL)
            continue;
        /* Whatever it was (pass, skip, blocked, not run), the rule was seen
         * broken: it is judged. */
        json_object_set_new(check, "verdict", json_string(mx_verdict_name(v)));
        json_object_set_new(check, "reason",
                            v == MX_VERDICT_XFAIL ? xfail_reason(xf) : json_null());
        json_object_set_new(check, "blocked_by", json_null());
        print_check(check, v);
    }
    if (found)
        return;
    snprintf(under, sizeof(under), "%s", id);
    for (char *p = under; *p; p++)
        if (*p == '-')
            *p = '_';
    snprintf(test, sizeof(test), "%s/%s__observed", group, under);
    xf = mx_expect_fail_find(&state.expect_fail, id, test);
    v = mx_verdict_for(req ? req->level : MX_MUST, MX_OUTCOME_FAILED, xf != NULL);
    messages = json_array();
    if (!req)
        append_text(messages, "this ID is not in the catalogue: a bug in the suite");
    append_crosscut_messages(messages, id);
    check = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:[], s:[], s:o, "
        "s:o, s:n}",
        "test", test, "id", id, "group", group, "level",
        mx_level_name(req ? req->level : MX_MUST), "verdict", mx_verdict_name(v),
        "duration_ms", (json_int_t)0, "description", req ? req->rule : "", "messages",
        messages, "reason", v == MX_VERDICT_XFAIL ? xfail_reason(xf) : json_null(),
        "observations", "transcript", "spec_notes",
        mx_spec_notes_for(state.notes, id, group), "link", link_of(req), "blocked_by");
    if (check) {
        json_array_append_new(state.checks, check);
        print_check(check, v);
    }
}

static void attribute_crosscuts(void) {
    json_t *done = json_object();
    size_t i;
    json_t *seen;

    json_array_foreach(state.crosscut_seen, i, seen) {
        const char *id = member_text(seen, "id");
        if (json_object_get(done, id))
            continue;
        json_object_set_new(done, id, json_true());
        charge_id(id);
    }
    json_decref(done);
}

/* Catalogue order, then test name: the reports read in the catalogue's
 * order whatever order the tests finished in. */
static size_t catalogue_index(const char *id) {
    size_t n = mx_catalog_count();
    for (size_t i = 0; i < n; i++)
        if (strcmp(mx_catalog_at(i)->id, id) == 0)
            return i;
    return SIZE_MAX;
}

static int on_compare_checks(const void *a, const void *b) {
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    size_t ix = catalogue_index(json_string_value(json_object_get(x, "id")));
    size_t iy = catalogue_index(json_string_value(json_object_get(y, "id")));

    if (ix != iy)
        return ix < iy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "test")),
                  json_string_value(json_object_get(y, "test")));
}

/* The checks sorted (new reference). */
static json_t *sorted_checks(void) {
    size_t n = json_array_size(state.checks), i;
    json_t **items = calloc(n ? n : 1, sizeof(*items));
    json_t *out = json_array();

    if (!items)
        return out;
    for (i = 0; i < n; i++)
        items[i] = json_array_get(state.checks, i);
    qsort(items, n, sizeof(*items), on_compare_checks);
    for (i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

static void release_state(void) {
    free(state.dir);
    free(state.target);
    free(state.expect_fail_file);
    free(state.spec_dir);
    mx_spec_notes_free(state.notes);
    state.spec_dir = NULL;
    state.notes = NULL;
    free(state.seen);
    json_decref(state.versions);
    json_decref(state.capabilities);
    json_decref(state.checks);
    json_decref(state.crosscut_seen);
    state.crosscut_seen = NULL;
    json_decref(state.exploration);
    state.exploration = NULL;
    json_decref(state.baseline);
    state.baseline = NULL;
    free(state.baseline_file);
    free(state.write_expect_fail);
    state.baseline_file = state.write_expect_fail = NULL;
    mx_expect_fail_free(&state.expect_fail);
    state.dir = state.target = state.expect_fail_file = NULL;
    state.seen = NULL;
    state.n_seen = 0;
    state.test_set = NULL;
    state.versions = state.capabilities = state.checks = NULL;
    state.active = false;
}

/* {"judged": N, "applicable": M}: the catalogue's requirements that apply at
 * the spec version, and how many of them a check judged (new reference). */
static json_t *requirements_judged(const json_t *checks) {
    size_t n = mx_catalog_count(), applicable = 0, judged = 0, i, c;
    json_t *check;

    for (i = 0; i < n; i++) {
        const struct mx_requirement *req = mx_catalog_at(i);
        bool seen = false;
        if (!mx_requirement_applies(req, state.spec_version))
            continue;
        applicable++;
        json_array_foreach(checks, c, check) {
            int v = mx_verdict_parse(member_text(check, "verdict"));
            if (!seen && strcmp(member_text(check, "id"), req->id) == 0 && v >= 0 &&
                mx_verdict_is_judged((enum mx_verdict)v))
                seen = true;
        }
        judged += seen;
    }
    return json_pack("{s:I, s:I}", "judged", (json_int_t)judged, "applicable",
                     (json_int_t)applicable);
}

/* {"ID": number of checks it blocked} (new reference). */
static json_t *blocked_summary(const json_t *checks) {
    json_t *out = json_object(), *check;
    size_t i;

    json_array_foreach(checks, i, check) {
        const char *by = json_string_value(json_object_get(check, "blocked_by"));
        if (by)
            json_object_set_new(
                out, by, json_integer(json_integer_value(json_object_get(out, by)) + 1));
    }
    return out;
}

/* "off" when the capabilities say TLS certificates were not verified. */
static const char *tls_verification(void) {
    const char *v =
        json_string_value(json_object_get(state.capabilities, "tls_verification"));
    return v && strcmp(v, "off") == 0 ? "off" : "on";
}

/* Marks every check that differs from the baseline ("baseline": "new
 * failure", "known", "fixed", "not judged in the baseline") and returns the
 * run's "baseline" object (new reference). */
static json_t *apply_baseline(json_t *checks) {
    json_t *news = json_array(), *fixed = json_array(), *unjudged = json_array(), *check;
    size_t i, known = 0;

    json_array_foreach(checks, i, check) {
        int v = mx_verdict_parse(member_text(check, "verdict"));
        const char *was = NULL;
        enum baseline_mark mark =
            v < 0 ? BASELINE_NONE : baseline_mark_of(check, (enum mx_verdict)v, &was);
        json_t *item;

        if (mark == BASELINE_NONE)
            continue;
        json_object_set_new(check, "baseline", json_string(baseline_words[mark]));
        if (mark == BASELINE_KNOWN) {
            known++;
            continue;
        }
        item = json_pack("{s:s, s:s, s:s, s:s?}", "id", member_text(check, "id"), "test",
                         member_text(check, "test"), "verdict",
                         member_text(check, "verdict"), "was", was);
        json_array_append_new(mark == BASELINE_NEW     ? news
                              : mark == BASELINE_FIXED ? fixed
                                                       : unjudged,
                              item);
    }
    return json_pack("{s:s, s:o, s:o, s:I, s:o}", "file", state.baseline_file,
                     "new_failures", news, "fixed", fixed, "still_failing",
                     (json_int_t)known, "not_judged_in_baseline", unjudged);
}

/* Writes text as the message of a workflow command: '%', CR and LF escaped
 * (with property set, also ':' and ','). */
static void put_gh_escaped(FILE *f, const char *text, bool property) {
    for (const char *p = text; *p; p++) {
        if (*p == '%')
            fputs("%25", f);
        else if (*p == '\r')
            fputs("%0D", f);
        else if (*p == '\n')
            fputs("%0A", f);
        else if (property && *p == ':')
            fputs("%3A", f);
        else if (property && *p == ',')
            fputs("%2C", f);
        else
            fputc(*p, f);
    }
}

/* --github: one ::error or ::warning line per failing or warning check. A
 * failure the baseline already had is a warning: it does not fail the run. */
static void put_annotations(FILE *f, const json_t *checks) {
    size_t i;
    json_t *check;

    json_array_foreach(checks, i, check) {
        int v = mx_verdict_parse(member_text(check, "verdict"));
        const char *mark = member_text(check, "baseline");
        const char *msg =
            json_string_value(json_array_get(json_object_get(check, "messages"), 0));
        const char *link = member_text(check, "link");
        bool error;
        char title[300];

        if (v != MX_VERDICT_FAIL && v != MX_VERDICT_WARN)
            continue;
        error = v == MX_VERDICT_FAIL || state.strict;
        if (strcmp(mark, "known") == 0 || strcmp(mark, "not judged in the baseline") == 0)
            error = false;
        snprintf(title, sizeof(title), "%s %s", member_text(check, "id"),
                 member_text(check, "test"));
        fputs(error ? "::error title=" : "::warning title=", f);
        put_gh_escaped(f, title, true);
        fputs("::", f);
        if (*mark && strcmp(mark, "new failure") != 0) {
            put_gh_escaped(f, mark, false);
            put_gh_escaped(f, " (baseline): ", false);
        }
        put_gh_escaped(f, msg ? msg : member_text(check, "reason"), false);
        if (*link) {
            put_gh_escaped(f, "\nspec: ", false);
            put_gh_escaped(f, link, false);
        }
        fputc('\n', f);
    }
    fflush(f);
}

/* The evidence of a failing check on one line: the first line of its first
 * message, with the request that showed it when that line does not name one. */
static void evidence_of(const json_t *check, char *buf, size_t len) {
    const char *msg =
        json_string_value(json_array_get(json_object_get(check, "messages"), 0));
    char req[600];
    size_t n;

    if (!msg || !*msg)
        msg = member_text(check, "reason");
    n = strcspn(msg, "\r\n");
    if (n > 300)
        n = 300;
    snprintf(buf, len, "%.*s", (int)n, msg);
    if (!shows_request(msg)) {
        request_of(check, req, sizeof(req));
        if (req[0]) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s(request: %s)", used ? " " : "", req);
        }
    }
}

static bool xf_failing(int v) {
    return v == MX_VERDICT_FAIL || v == MX_VERDICT_WARN || v == MX_VERDICT_XFAIL;
}

static bool xf_passing(int v) {
    return v == MX_VERDICT_PASS || v == MX_VERDICT_INFO || v == MX_VERDICT_XPASS;
}

/* --write-expect-fail: today's failures in the --expect-fail format. A
 * requirement whose judged checks all fail is listed by ID; one with a
 * passing check too, by the failing checks' group/TEST names. Each entry has
 * the evidence of its checks as the comment lines above it. Blocked checks
 * are left out: their blocker is a failing ID of its own. Returns the
 * number of entries, or -1 with the reason in err. */
static long write_expect_fail_file(const json_t *results, const json_t *checks, char *err,
                                   size_t err_len) {
    char tmp[4200], evidence[1024];
    json_t *by_id = json_object(), *check, *list;
    const char *id;
    size_t i, k;
    long entries = 0;
    FILE *f;

    /* {ID: [checks]} in catalogue order (checks are sorted). */
    json_array_foreach(checks, i, check) {
        id = member_text(check, "id");
        list = json_object_get(by_id, id);
        if (!list) {
            list = json_array();
            json_object_set_new(by_id, id, list);
        }
        json_array_append(list, check);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", state.write_expect_fail);
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_len, "%.400s: %s", tmp, strerror(errno));
        json_decref(by_id);
        return -1;
    }
    fprintf(
        f,
        "# Known failures of %s (spec %s%s), written by device-conformance\n"
        "# --write-expect-fail at the run started %s. Give it back with --expect-fail.\n",
        member_text(results, "target"), member_text(results, "spec_version"),
        state.strict ? ", strict" : "", member_text(results, "started"));
    json_array_foreach(checks, i, check) {
        bool any_fail = false, any_pass = false, first_of_id = true;
        json_t *other;

        id = member_text(check, "id");
        list = json_object_get(by_id, id);
        json_array_foreach(list, k, other) {
            int v = mx_verdict_parse(member_text(other, "verdict"));
            any_fail |= xf_failing(v);
            any_pass |= xf_passing(v);
            if (k == 0 && other != check)
                first_of_id = false;
        }
        if (!any_fail || (!any_pass && !first_of_id))
            continue;
        if (any_pass && !xf_failing(mx_verdict_parse(member_text(check, "verdict"))))
            continue;
        fputc('\n', f);
        json_array_foreach(any_pass ? NULL : list, k, other) {
            if (!xf_failing(mx_verdict_parse(member_text(other, "verdict"))))
                continue;
            evidence_of(other, evidence, sizeof(evidence));
            fprintf(f, "# %s %s: %s\n", member_text(other, "test"),
                    member_text(other, "verdict"), evidence);
        }
        if (any_pass) {
            evidence_of(check, evidence, sizeof(evidence));
            fprintf(f, "# %s: %s\n%s\n", member_text(check, "verdict"), evidence,
                    member_text(check, "test"));
        } else {
            fprintf(f, "%s\n", id);
        }
        entries++;
    }
    json_decref(by_id);
    if (fclose(f) != 0 || rename(tmp, state.write_expect_fail) < 0) {
        snprintf(err, err_len, "%.400s: %s", state.write_expect_fail, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return entries;
}

static void print_closing(FILE *con, const json_t *results,
                          const size_t totals[MX_VERDICT_COUNT], const char *verdict,
                          const char *reason, json_t *blocked, const json_t *baseline,
                          long xf_entries) {
    const char *key;
    json_t *value, *item;
    char *phrase;
    size_t i;

    if (state.console_mode == MX_CONSOLE_TEXT)
        fprintf(con, "\n");
    if (reason)
        fprintf(con, "%s: %s\n", verdict, member_text(results, "reason"));
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        fprintf(con, "%s%zu %s", v ? ", " : "", totals[v],
                mx_verdict_name((enum mx_verdict)v));
    phrase = results ? mx_verdict_phrase(results, false) : NULL;
    fprintf(con, ": %s%s\n", phrase ? phrase : verdict, state.strict ? " (strict)" : "");
    free(phrase);
    if (json_object_size(blocked) > 0) {
        fprintf(con, "blocked: %zu check%s, by", totals[MX_VERDICT_BLOCKED],
                totals[MX_VERDICT_BLOCKED] == 1 ? "" : "s");
        i = 0;
        json_object_foreach(blocked, key, value) {
            fprintf(con, "%s %s (%lld)", i++ ? "," : "", key,
                    (long long)json_integer_value(value));
        }
        fprintf(con, "\n");
    }
    if (baseline) {
        const json_t *news = json_object_get(baseline, "new_failures");
        const json_t *fixed = json_object_get(baseline, "fixed");
        const json_t *unjudged = json_object_get(baseline, "not_judged_in_baseline");
        fprintf(
            con, "baseline %s: %zu new failure%s, %zu fixed, %lld known (baseline)",
            state.baseline_file, json_array_size(news),
            json_array_size(news) == 1 ? "" : "s", json_array_size(fixed),
            (long long)json_integer_value(json_object_get(baseline, "still_failing")));
        if (json_array_size(unjudged))
            fprintf(con, ", %zu failing with no verdict in the baseline",
                    json_array_size(unjudged));
        fprintf(con, ": %s\n",
                json_array_size(news) ? "the run fails on the new failures"
                                      : "no new failure");
        json_array_foreach(news, i, item) {
            fprintf(con, "  new failure: %s %s (%s, passed in the baseline)\n",
                    member_text(item, "id"), member_text(item, "test"),
                    member_text(item, "verdict"));
        }
        json_array_foreach(fixed, i, item) {
            fprintf(con, "  fixed: %s %s (was %s)\n", member_text(item, "id"),
                    member_text(item, "test"), member_text(item, "was"));
        }
    }
    if (xf_entries >= 0)
        fprintf(con, "expect-fail: %ld entr%s written to %s\n", xf_entries,
                xf_entries == 1 ? "y" : "ies", state.write_expect_fail);
    if (strcmp(tls_verification(), "off") == 0)
        fprintf(con, "note: TLS certificates were not verified (--insecure)\n");
    fprintf(con,
            "Reports: %s/{results.json,junit.xml,results.tap,summary.md,report.html}\n",
            state.dir);
}

/* A requirement listed by ID is known broken as a whole: when one of its
 * checks fails (xfail), its other checks that pass (one endpoint or request
 * shape of several) are plain passes, not unexpected ones. xpass stays for a
 * listed requirement none of whose checks fail, and for listed test names. */
static void settle_requirement_xpasses(void) {
    size_t i, j;
    json_t *check, *other;

    json_array_foreach(state.checks, i, check) {
        const char *id = member_text(check, "id");
        bool by_name = false, failing = false;

        if (strcmp(member_text(check, "verdict"), "xpass") != 0)
            continue;
        for (size_t k = 0; k < state.expect_fail.count; k++)
            if (strcmp(state.expect_fail.entries[k].key, member_text(check, "test")) == 0)
                by_name = true;
        if (by_name)
            continue;
        json_array_foreach(state.checks, j, other) {
            if (other != check && strcmp(member_text(other, "id"), id) == 0 &&
                strcmp(member_text(other, "verdict"), "xfail") == 0)
                failing = true;
        }
        if (!failing)
            continue;
        json_object_set_new(check, "verdict", json_string("pass"));
        json_object_set_new(check, "reason",
                            json_string("listed by requirement ID; another check of it "
                                        "fails (xfail), this one passes"));
    }
}

ReportHook(POST_ALL)(struct criterion_global_stats *global) {
    size_t totals[MX_VERDICT_COUNT] = {0};
    struct timespec t1;
    json_t *checks, *totals_obj, *results, *check, *abort_json, *blocked;
    const char *verdict, *reason = NULL;
    char reason_buf[160];
    json_t *baseline = NULL;
    size_t i;
    long long duration_ms;
    char err[512];
    long xf_entries = -2;
    FILE *con;

    if (!state.active)
        return;
    for (struct criterion_suite_stats *s = global->suites; s; s = s->next)
        for (struct criterion_test_stats *t = s->tests; t; t = t->next)
            finish_test(t, FINISH_LEFTOVER);
    /* After a signal criterion ends the run without starting (or listing)
     * the remaining tests: they are not run. */
    if (state.test_set && run_cut_short()) {
        struct criterion_ordered_set_node *sn, *tn;
        for (sn = state.test_set->suites->first; sn; sn = sn->next) {
            struct criterion_suite_set *suite = (void *)(sn + 1);
            for (tn = suite->tests ? suite->tests->first : NULL; tn; tn = tn->next) {
                struct criterion_test_stats none = {0};
                none.test = (struct criterion_test *)(tn + 1);
                none.test_status = CR_STATUS_SKIPPED;
                finish_test(&none, FINISH_LEFTOVER);
            }
        }
    }
    attribute_crosscuts();
    settle_requirement_xpasses();

    checks = sorted_checks();
    json_array_foreach(checks, i, check) {
        int v = mx_verdict_parse(json_string_value(json_object_get(check, "verdict")));
        if (v >= 0)
            totals[v]++;
    }
    state.exit_status = mx_exit_status_for(totals, state.strict);
    verdict = state.exit_status == 0   ? "conformant"
              : state.exit_status == 1 ? "not conformant"
                                       : "no check judged";
    /* --baseline: the verdict on the server stands; only new failures fail
     * the run. */
    if (state.baseline) {
        baseline = apply_baseline(checks);
        if (state.exit_status == 1 &&
            json_array_size(json_object_get(baseline, "new_failures")) == 0)
            state.exit_status = 0;
    }
    abort_json = mx_record_read_abort(state.dir);
    if (caught_signal) {
        /* The handler wrote its own abort document: the signal wins. */
        state.exit_status = 128 + (int)caught_signal;
        verdict = "interrupted";
        snprintf(reason_buf, sizeof(reason_buf),
                 "stopped by %s; checks that did not finish are not_run",
                 caught_signal == SIGINT ? "SIGINT" : "SIGTERM");
        reason = reason_buf;
    } else if (abort_json) {
        json_int_t code = json_integer_value(json_object_get(abort_json, "exit"));
        state.exit_status = code > 0 && code < 256 ? (int)code : 1;
        verdict = "aborted";
        reason = member_text(abort_json, "reason");
    }
    totals_obj = json_object();
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        json_object_set_new(totals_obj, mx_verdict_name((enum mx_verdict)v),
                            json_integer((json_int_t)totals[v]));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    duration_ms = (long long)(t1.tv_sec - state.t0.tv_sec) * 1000 +
                  (t1.tv_nsec - state.t0.tv_nsec) / 1000000;
    blocked = blocked_summary(checks);

    {
        char *safe_reason = reason ? mx_text_safe(reason) : NULL;
        json_t *reqs = requirements_judged(checks);
        json_int_t judged = json_integer_value(json_object_get(reqs, "judged"));
        json_int_t applicable = json_integer_value(json_object_get(reqs, "applicable"));
        results = json_pack(
            "{s:s, s:s, s:s, s:b, s:s, s:I, s:o, s:o, s:o, s:i, s:o, s:s?, s:s, s:s?, "
            "s:o, s:b, s:O, s:s}",
            "tool", "device-conformance", "target", state.target, "spec_version",
            mx_version_name(state.spec_version), "strict", state.strict, "started",
            state.started, "duration_ms", (json_int_t)duration_ms, "server_versions",
            state.versions ? json_incref(state.versions) : json_object(), "capabilities",
            state.capabilities ? json_incref(state.capabilities) : json_object(),
            "totals", totals_obj, "exit_status", state.exit_status, "checks", checks,
            "spec_dir", state.spec_dir, "verdict", verdict, "reason", safe_reason,
            "requirements", reqs, "partial", judged < applicable, "blocked", blocked,
            "tls_verification", tls_verification());
        free(safe_reason);
    }
    if (results && state.exploration)
        json_object_set(results, "exploration", state.exploration);
    if (results && baseline)
        json_object_set(results, "baseline", baseline);
    /* What the run cost the server: the sums of the tests' mx_record_cost
     * lines and the runner's own requests. */
    if (state.after_checks)
        state.after_checks(state.dir);
    json_t *costs = mx_record_read_costs(state.dir);
    if (results && costs)
        json_object_set(results, "costs", costs);
    if (!results || mx_report_write_files(results, state.dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "error: reports: %s\n", results ? err : "out of memory");
        if (state.exit_status == 0)
            state.exit_status = 1;
    }

    if (results && state.write_expect_fail) {
        xf_entries = write_expect_fail_file(results, checks, err, sizeof(err));
        if (xf_entries < 0) {
            fprintf(stderr, "error: --write-expect-fail %s\n", err);
            if (state.exit_status == 0)
                state.exit_status = 1;
        }
    }
    con = state.console;
    if (state.github)
        put_annotations(state.console_mode == MX_CONSOLE_JSON ? stderr : con, checks);
    if (state.console_mode == MX_CONSOLE_JSON) {
        if (results) {
            json_dumpf(results, con, JSON_INDENT(2));
            fputc('\n', con);
        }
    } else {
        print_closing(con, results, totals, verdict, reason, blocked, baseline,
                      xf_entries);
        fprintf(con,
                "cost: %lld registrations, %lld logins, %lld password checks, %lld "
                "requests\n",
                (long long)json_integer_value(json_object_get(costs, "registrations")),
                (long long)json_integer_value(json_object_get(costs, "logins")),
                (long long)json_integer_value(json_object_get(costs, "password_checks")),
                (long long)json_integer_value(json_object_get(costs, "requests")));
    }
    fflush(con);
    json_decref(costs);
    json_decref(results);
    json_decref(baseline);
    json_decref(blocked);
    json_decref(abort_json);
    state.finished = true;
    release_state();
    /* The run is over: signals end the process as usual again, and the
     * watching thread ends. */
    if (signals_wanted) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        close(wake_pipe[1]);
        signals_wanted = false;
    }
}

/* ---- signals ---- */

static void on_stop_signal(int sig) {
    int saved = errno;
    char byte = 1;

    if (caught_signal) {
        /* A second signal: stop now, without reports. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    caught_signal = sig;
    /* Tests that start from now on find this and stop (not run). */
    int fd = open(abort_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
        const char *doc = sig == SIGINT ? abort_doc : abort_doc + 80;
        if (write(fd, doc, strlen(doc)) < 0) {
            /* the reports say interrupted all the same */
        }
        close(fd);
    }
    if (write(wake_pipe[1], &byte, 1) < 0) {
        /* the next test start stops the workers */
    }
    errno = saved;
}

/* Wakes on the handler's byte and stops the running test processes, which
 * criterion then reports as ended by a signal (not_run). */
static void *on_signal_thread(void *arg) {
    char byte;

    ssize_t n;

    (void)arg;
    do {
        n = read(wake_pipe[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    /* End of file: the run ended without a signal. */
    if (n == 1 && caught_signal)
        stop_workers(SIGKILL);
    close(wake_pipe[0]);
    return NULL;
}

/* Criterion sets its own SIGINT/SIGTERM handlers when the run starts (they
 * end the runner at once, without reports): ours go back on top of them. */
static int install_handlers(void) {
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -1;
    return 0;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
    state.test_set = set;
    if (state.active && signals_wanted)
        install_handlers();
}

int mx_report_catch_signals(void) {
    pthread_t thread;
    sigset_t all, old;

    /* Two documents, so that the handler only picks one. */
    snprintf(abort_doc, 80, "{\"exit\":130,\"reason\":\"interrupted by SIGINT\"}");
    snprintf(abort_doc + 80, 80, "{\"exit\":143,\"reason\":\"interrupted by SIGTERM\"}");
    if (pipe2(wake_pipe, O_CLOEXEC) < 0)
        return -1;
    /* The thread must not take the signals itself. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&thread, NULL, on_signal_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    pthread_detach(thread);
    signals_wanted = true;
    return install_handlers();
}

static struct {
    bool set;
    char *dir;
    char *target;
    int spec_version;
    bool strict;
    enum mx_console_mode console_mode;
    FILE *console;
} unjudged_pending;

void mx_report_prepare_unjudged(const struct mx_report_config *cfg) {
    free(unjudged_pending.dir);
    free(unjudged_pending.target);
    unjudged_pending.dir = cfg->dir ? strdup(cfg->dir) : NULL;
    unjudged_pending.target = cfg->target ? strdup(cfg->target) : NULL;
    unjudged_pending.spec_version = cfg->spec_version;
    unjudged_pending.strict = cfg->strict;
    unjudged_pending.console_mode = cfg->console_mode;
    unjudged_pending.console = cfg->console;
    unjudged_pending.set = unjudged_pending.dir != NULL;
}

void mx_report_unjudged_exit(int exit_status, const char *reason) {
    struct mx_report_config cfg = {0};

    if (!unjudged_pending.set)
        return;
    cfg.dir = unjudged_pending.dir;
    cfg.target = unjudged_pending.target;
    cfg.spec_version = unjudged_pending.spec_version;
    cfg.strict = unjudged_pending.strict;
    cfg.console_mode = unjudged_pending.console_mode;
    cfg.console = unjudged_pending.console;
    mx_report_write_unjudged(&cfg, exit_status, reason);
}

void mx_report_add_exploration(json_t *result) {
    json_t *div = json_object_get(result, "divergence");
    const char *req = json_string_value(json_object_get(div, "requirement"));
    char text[1200];

    if (!state.active || !result)
        return;
    json_decref(state.exploration);
    state.exploration = json_incref(result);
    if (!req || !json_is_object(div))
        return;
    snprintf(text, sizeof(text),
             "exploration, seed %s: step %lld, in a minimal sequence of %lld steps: "
             "expected %s, "
             "observed %s; replay: %s",
             json_string_value(json_object_get(result, "seed_text"))
                 ? json_string_value(json_object_get(result, "seed_text"))
                 : "?",
             (long long)json_integer_value(json_object_get(div, "step")),
             (long long)json_array_size(json_object_get(div, "minimal_steps")),
             member_text(div, "expected"), member_text(div, "observed"),
             member_text(div, "replay"));
    json_t *rec = json_pack("{s:s}", "text", text);
    note_crosscut(req, "explore", rec);
    json_decref(rec);
}
