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
#include <criterion/stats.h>

#include <errno.h>
#include <dirent.h>
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
    json_t *checks;      /* array of check objects, in finishing order */
    json_t *schema_seen; /* {"test","text"} of every schema violation recorded */
    struct seen_test *seen;
    size_t n_seen;
    int exit_status;
} state;

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
    mx_catalog_ensure();
    if (cfg->expect_fail_file &&
        mx_expect_fail_load(cfg->expect_fail_file, &state.expect_fail, err, err_len) < 0)
        return -1;

    load_spec_notes();
    state.dir = strdup(cfg->dir);
    state.target = strdup(cfg->target ? cfg->target : "");
    state.expect_fail_file = cfg->expect_fail_file ? strdup(cfg->expect_fail_file) : NULL;
    state.spec_version = cfg->spec_version;
    state.strict = cfg->strict;
    state.versions = cfg->versions ? json_deep_copy(cfg->versions) : NULL;
    state.capabilities = cfg->capabilities ? json_deep_copy(cfg->capabilities) : NULL;
    state.checks = json_array();
    state.schema_seen = json_array();
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

int mx_report_exit_status(void) {
    return state.finished ? state.exit_status : 0;
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

static const char *const verdict_words[MX_VERDICT_COUNT] = {
    "PASS", "FAIL", "WARN", "SKIP", "INFO", "XFAIL", "XPASS"};
static const char *const verdict_colors[MX_VERDICT_COUNT] = {
    "\033[32m", "\033[1;31m", "\033[33m",  "\033[2m",
    "\033[36m", "\033[35m",   "\033[1;33m"};

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

static void print_check(const json_t *check, enum mx_verdict v) {
    const json_t *list;
    size_t i;
    json_t *m;

    if (state.color)
        fputs(verdict_colors[v], stdout);
    printf("%-6s", verdict_words[v]);
    if (state.color)
        fputs("\033[0m", stdout);
    printf(" %-20s %-52s %lld ms\n", json_string_value(json_object_get(check, "id")),
           json_string_value(json_object_get(check, "test")),
           json_integer_value(json_object_get(check, "duration_ms")));
    if (v == MX_VERDICT_SKIP || v == MX_VERDICT_XFAIL || v == MX_VERDICT_XPASS)
        print_indented(json_string_value(json_object_get(check, "reason")));
    if (v == MX_VERDICT_FAIL || v == MX_VERDICT_WARN || v == MX_VERDICT_XFAIL) {
        list = json_object_get(check, "messages");
        json_array_foreach(list, i, m) {
            if (i == 3) {
                printf("       (%zu more)\n", json_array_size(list) - 3);
                break;
            }
            print_indented(json_string_value(m));
        }
    }
    if (v == MX_VERDICT_FAIL || v == MX_VERDICT_WARN)
        print_spec_notes(json_object_get(check, "spec_notes"));
    if (v == MX_VERDICT_INFO) {
        json_array_foreach(json_object_get(check, "observations"), i, m) {
            print_indented(json_string_value(m));
        }
    }
    fflush(stdout);
}

/* Turns one finished test into a check and prints its line. */
/* Keeps a schema violation that a check's response showed; ERR-SCHEMA is
 * judged on all of them at the end (attribute_schema_violations). */
static const char *member_text(const json_t *obj, const char *key) {
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static void note_schema_violation(const char *test_id, const json_t *rec) {
    char line[1024];
    snprintf(line, sizeof(line), "%s %s -> %lld: %s", member_text(rec, "method"),
             member_text(rec, "path"),
             (long long)json_integer_value(json_object_get(rec, "status")),
             member_text(rec, "text"));
    char *safe = mx_text_safe(line);
    json_array_append_new(state.schema_seen, json_pack("{s:s, s:s}", "test", test_id,
                                                       "text", safe ? safe : ""));
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
    const char *skip_reason = NULL, *description;
    size_t i;
    char note[256];

    if (seen && seen->done)
        goto out;
    /* Skipped and never started: filtered out, not part of this run. */
    if (!seen && stats->test_status == CR_STATUS_SKIPPED)
        goto out;

    mx_test_name_to_id(name, id, sizeof(id));
    snprintf(test_id, sizeof(test_id), "%s/%s", group, name);
    req = mx_catalog_find(id);
    level = req ? req->level : MX_MUST;

    if (how == FINISH_CRASH || stats->crashed || how == FINISH_LEFTOVER) {
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
            note_schema_violation(test_id, rec);
    }

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
    }
    if (v == MX_VERDICT_PASS || v == MX_VERDICT_SKIP)
        json_array_clear(transcript);

    description = test->data && test->data->description && *test->data->description
                      ? test->data->description
                  : req ? req->rule
                        : "";
    {
        char *desc = mx_text_safe(description);
        check = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o}",
                          "test", test_id, "id", id, "group", group, "level",
                          mx_level_name(level), "verdict", mx_verdict_name(v),
                          "duration_ms", (json_int_t)(stats->elapsed_time * 1000.0 + 0.5),
                          "description", desc ? desc : "", "messages", messages, "reason",
                          reason, "observations", observations, "transcript", transcript,
                          "spec_notes", mx_spec_notes_for(state.notes, id, group));
        free(desc);
    }
    messages = observations = transcript = reason = NULL; /* stolen by json_pack */
    json_decref(records);
    if (!check) {
        fprintf(stderr, "error: reports: cannot record %s\n", test_id);
        goto out;
    }
    json_array_append_new(state.checks, check);
    if (seen)
        seen->done = true;
    print_check(check, v);
out:
    json_decref(messages);
    json_decref(observations);
    json_decref(transcript);
    json_decref(reason);
}

ReportHook(PRE_INIT)(struct criterion_test *test) {
    if (state.active)
        seen_find(test, true);
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

/* One line per recorded violation (at most ten, then a count). */
static void append_schema_messages(json_t *messages) {
    size_t n = json_array_size(state.schema_seen), i;
    json_t *seen;
    char line[1400];

    json_array_foreach(state.schema_seen, i, seen) {
        if (i == 10) {
            snprintf(line, sizeof(line), "[ERR-SCHEMA] ... and %zu more", n - i);
            append_text(messages, line);
            break;
        }
        snprintf(line, sizeof(line),
                 "[ERR-SCHEMA] a response in %s does not match the spec's schema: %s",
                 member_text(seen, "test"), member_text(seen, "text"));
        append_text(messages, line);
    }
}

/* ERR-SCHEMA's rule covers every response of the run, so a violation seen
 * by any check fails the ERR-SCHEMA check (which then lists where), while
 * the check that received the response is judged on its own rule only. When
 * the run has no ERR-SCHEMA check (--filter), one is added for the
 * violations. A listed expected failure turns the verdict into xfail. */
static void attribute_schema_violations(void) {
    size_t n = json_array_size(state.schema_seen), i;
    json_t *check;
    bool found = false;

    if (n == 0)
        return;
    const struct mx_requirement *req = mx_catalog_find("ERR-SCHEMA");
    const struct mx_expect_fail_entry *xf =
        mx_expect_fail_find(&state.expect_fail, "ERR-SCHEMA", "err/ERR_SCHEMA");
    enum mx_verdict v = mx_verdict_for(req ? req->level : MX_MUST, MX_OUTCOME_FAILED, xf);
    json_array_foreach(state.checks, i, check) {
        if (strcmp(member_text(check, "id"), "ERR-SCHEMA") != 0)
            continue;
        found = true;
        int was = mx_verdict_parse(json_string_value(json_object_get(check, "verdict")));
        if (was == MX_VERDICT_SKIP)
            continue;
        append_schema_messages(json_object_get(check, "messages"));
        if (was == MX_VERDICT_PASS || was == MX_VERDICT_XPASS) {
            json_object_set_new(check, "verdict", json_string(mx_verdict_name(v)));
            if (v == MX_VERDICT_XFAIL)
                json_object_set_new(check, "reason", xfail_reason(xf));
            print_check(check, v);
        }
    }
    if (found)
        return;
    json_t *messages = json_array();
    append_schema_messages(messages);
    check = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:[], s:[], s:o}",
                      "test", "err/ERR_SCHEMA__observed", "id", "ERR-SCHEMA", "group",
                      "err", "level", mx_level_name(req ? req->level : MX_MUST),
                      "verdict", mx_verdict_name(v), "duration_ms", (json_int_t)0,
                      "description", req ? req->rule : "", "messages", messages, "reason",
                      v == MX_VERDICT_XFAIL ? xfail_reason(xf) : json_null(),
                      "observations", "transcript", "spec_notes",
                      mx_spec_notes_for(state.notes, "ERR-SCHEMA", "err"));
    if (check) {
        json_array_append_new(state.checks, check);
        print_check(check, v);
    }
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
    json_decref(state.schema_seen);
    state.schema_seen = NULL;
    mx_expect_fail_free(&state.expect_fail);
    state.dir = state.target = state.expect_fail_file = NULL;
    state.seen = NULL;
    state.n_seen = 0;
    state.versions = state.capabilities = state.checks = NULL;
    state.active = false;
}

ReportHook(POST_ALL)(struct criterion_global_stats *global) {
    size_t totals[MX_VERDICT_COUNT] = {0};
    struct timespec t1;
    json_t *checks, *totals_obj, *results, *check;
    size_t i;
    long long duration_ms;
    char err[512];

    if (!state.active)
        return;
    for (struct criterion_suite_stats *s = global->suites; s; s = s->next)
        for (struct criterion_test_stats *t = s->tests; t; t = t->next)
            finish_test(t, FINISH_LEFTOVER);
    attribute_schema_violations();

    checks = sorted_checks();
    json_array_foreach(checks, i, check) {
        int v = mx_verdict_parse(json_string_value(json_object_get(check, "verdict")));
        if (v >= 0)
            totals[v]++;
    }
    state.exit_status = mx_exit_status_for(totals, state.strict);
    totals_obj = json_object();
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        json_object_set_new(totals_obj, mx_verdict_name((enum mx_verdict)v),
                            json_integer((json_int_t)totals[v]));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    duration_ms = (long long)(t1.tv_sec - state.t0.tv_sec) * 1000 +
                  (t1.tv_nsec - state.t0.tv_nsec) / 1000000;

    results = json_pack(
        "{s:s, s:s, s:s, s:b, s:s, s:I, s:o, s:o, s:o, s:i, s:o, s:s?}", "tool",
        "device-conformance", "target", state.target, "spec_version",
        mx_version_name(state.spec_version), "strict", state.strict, "started",
        state.started, "duration_ms", (json_int_t)duration_ms, "server_versions",
        state.versions ? json_incref(state.versions) : json_object(), "capabilities",
        state.capabilities ? json_incref(state.capabilities) : json_object(), "totals",
        totals_obj, "exit_status", state.exit_status, "checks", checks, "spec_dir",
        state.spec_dir);
    /* What the run cost the server (issue 16): the sums of the tests'
     * mx_record_cost lines and the runner's own requests. */
    json_t *costs = mx_record_read_costs(state.dir);
    if (results && costs)
        json_object_set(results, "costs", costs);
    if (!results || mx_report_write_files(results, state.dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "error: reports: %s\n", results ? err : "out of memory");
        state.exit_status = 1;
    }

    printf("\n");
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        printf("%s%zu %s", v ? ", " : "", totals[v], mx_verdict_name((enum mx_verdict)v));
    printf(": %s%s\nReports: "
           "%s/{results.json,junit.xml,results.tap,summary.md,report.html}\n",
           state.exit_status == 0 ? "conformant" : "NOT CONFORMANT",
           state.strict ? " (strict)" : "", state.dir);
    printf("cost: %lld registrations, %lld logins, %lld password checks, %lld requests\n",
           (long long)json_integer_value(json_object_get(costs, "registrations")),
           (long long)json_integer_value(json_object_get(costs, "logins")),
           (long long)json_integer_value(json_object_get(costs, "password_checks")),
           (long long)json_integer_value(json_object_get(costs, "requests")));
    fflush(stdout);
    json_decref(costs);
    json_decref(results);
    state.finished = true;
    release_state();
}
