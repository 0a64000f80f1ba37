/* The report files, each written from the results document alone:
 * junit.xml, results.tap, summary.md, report.html (and results.json itself).
 * Every string in the document is already redacted and clean (valid UTF-8,
 * no control characters), so the writers only escape. */
#include "report_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Accessors that treat a missing member as empty. */
static const char *str(const json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static long long num(const json_t *obj, const char *key) {
    return json_integer_value(json_object_get(obj, key));
}

static enum mx_verdict verdict_of(const json_t *check) {
    int v = mx_verdict_parse(str(check, "verdict"));
    return v < 0 ? MX_VERDICT_FAIL : (enum mx_verdict)v;
}

static bool is_strict(const json_t *results) {
    return json_is_true(json_object_get(results, "strict"));
}

/* Whether the run judged the server at all and ran to its end: a verdict of
 * conformant or not. Otherwise (not judged, no check judged, interrupted,
 * aborted) every report says so up front. */
static bool run_judged(const json_t *results) {
    const char *v = str(results, "verdict");
    return !*v || strcmp(v, "conformant") == 0 || strcmp(v, "not conformant") == 0;
}

static bool tls_off(const json_t *results) {
    return strcmp(str(results, "tls_verification"), "off") == 0 ||
           strcmp(str(json_object_get(results, "capabilities"), "tls_verification"),
                  "off") == 0;
}

static const char tls_note[] =
    "TLS certificates were not verified (--insecure): the server's identity is unproven";

/* Closes f, a memory stream writing into *buf: the text (new malloc'd
 * string), or NULL when writing failed. */
static char *close_text(FILE *f, char **buf) {
    if (fclose(f) != 0) {
        free(*buf);
        return NULL;
    }
    return *buf;
}

char *mx_verdict_phrase(const json_t *results, bool upper) {
    const char *v = str(results, "verdict");
    const json_t *reqs = json_object_get(results, "requirements");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    if (!*v)
        v = num(results, "exit_status") == 0 ? "conformant" : "not conformant";
    if (upper || strcmp(v, "conformant") != 0) {
        for (const char *p = v; *p; p++)
            fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, f);
    } else {
        fputs(v, f);
    }
    if (json_is_true(json_object_get(results, "partial")) &&
        strcmp(v, "not judged") != 0 && strcmp(v, "no check judged") != 0)
        fprintf(f, " (partial: %lld of %lld requirements judged)", num(reqs, "judged"),
                num(reqs, "applicable"));
    return close_text(f, &buf);
}

/* "2 checks, by LIST-SELF (1), UIA-CHALLENGE (1)" through put, or nothing
 * when no check was blocked. Returns whether it wrote. */
static bool put_blocked(FILE *f, const json_t *results,
                        void (*put)(FILE *, const char *)) {
    const json_t *blocked = json_object_get(results, "blocked");
    const char *id;
    json_t *count;
    long long n = num(json_object_get(results, "totals"), "blocked");
    size_t i = 0;

    if (json_object_size(blocked) == 0)
        return false;
    fprintf(f, "%lld check%s, by", n, n == 1 ? "" : "s");
    json_object_foreach((json_t *)blocked, id, count) {
        fputs(i++ ? ", " : " ", f);
        put(f, id);
        fprintf(f, " (%lld)", (long long)json_integer_value(count));
    }
    return true;
}

/* The test name without its group: "uia/X" -> "X". */
static const char *test_name(const json_t *check) {
    const char *t = str(check, "test");
    const char *slash = strchr(t, '/');
    return slash ? slash + 1 : t;
}

static const char *first_message(const json_t *check) {
    const char *m =
        json_string_value(json_array_get(json_object_get(check, "messages"), 0));
    if (m)
        return m;
    m = json_string_value(json_object_get(check, "reason"));
    return m ? m : "";
}

/* The first line of the first message (new malloc'd string). */
static char *first_line(const json_t *check) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    mx_put_first_line(f, first_message(check), 300);
    return close_text(f, &buf);
}

/* Writes the first message line escaped by put (mx_put_xml or mx_put_md). */
static void put_first_line(FILE *f, const json_t *check,
                           void (*put)(FILE *, const char *)) {
    char *line = first_line(check);
    put(f, line ? line : "");
    free(line);
}

/* The distinct groups of the checks, in order of first appearance (new
 * reference, an array of strings). */
static json_t *groups_of(const json_t *checks) {
    json_t *groups = json_array();
    size_t i, j;
    json_t *check, *g;

    json_array_foreach(checks, i, check) {
        bool seen = false;
        json_array_foreach(groups, j, g) {
            if (strcmp(json_string_value(g), str(check, "group")) == 0)
                seen = true;
        }
        if (!seen)
            json_array_append_new(groups, json_string(str(check, "group")));
    }
    return groups;
}

static bool same_note(const json_t *a, const json_t *b) {
    return strcmp(str(a, "operation"), str(b, "operation")) == 0 &&
           strcmp(str(a, "version"), str(b, "version")) == 0 &&
           strcmp(str(a, "kind"), str(b, "kind")) == 0;
}

/* The distinct spec version notes of the checks, in order of first
 * appearance, each with the checks it touches (new reference: an array of
 * {"note": note, "checks": [check, ...]}). */
static json_t *notes_index(const json_t *checks) {
    json_t *index = json_array();
    size_t i, j, k;
    json_t *check, *note, *entry;

    json_array_foreach(checks, i, check) {
        json_array_foreach(json_object_get(check, "spec_notes"), j, note) {
            json_t *found = NULL;
            json_array_foreach(index, k, entry) {
                if (same_note(json_object_get(entry, "note"), note)) {
                    found = entry;
                    break;
                }
            }
            if (!found) {
                found = json_pack("{sO s[]}", "note", note, "checks");
                json_array_append_new(index, found);
            }
            json_array_append(json_object_get(found, "checks"), check);
        }
    }
    return index;
}

/* Whether check is the first of the list with its requirement ID. */
static bool first_with_id(const json_t *list, size_t at) {
    const char *id = str(json_array_get(list, at), "id");
    for (size_t i = 0; i < at; i++)
        if (strcmp(str(json_array_get(list, i), "id"), id) == 0)
            return false;
    return true;
}

/* The verdict of a requirement among list's checks: the worst of them. */
static enum mx_verdict worst_for_id(const json_t *list, const char *id);

/* Writes a body of an exchange, pretty-printed when it is JSON. */
static void put_body(FILE *f, const char *prefix, const char *body) {
    json_t *parsed;
    char *pretty = NULL;
    const char *text = body;

    if (!body || !*body)
        return;
    parsed = json_loads(body, JSON_DECODE_ANY, NULL);
    if (parsed) {
        pretty = json_dumps(parsed, JSON_INDENT(2) | JSON_ENCODE_ANY);
        json_decref(parsed);
        if (pretty)
            text = pretty;
    }
    fputs(prefix, f);
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1])
            fputs(prefix, f);
    }
    fputc('\n', f);
    free(pretty);
}

/* The transcript as plain text (new malloc'd string, "" when empty). */
static char *transcript_text(const json_t *check) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    size_t i;
    json_t *ex;

    if (!f)
        return NULL;
    json_array_foreach(json_object_get(check, "transcript"), i, ex) {
        const json_t *req = json_object_get(ex, "request");
        const json_t *resp = json_object_get(ex, "response");
        if (i > 0)
            fputc('\n', f);
        fprintf(f, "> %s %s\n", str(req, "method"), str(req, "path"));
        put_body(f, "> ", str(req, "body"));
        if (num(resp, "status") == 0)
            fprintf(f, "< no response: %s\n", str(resp, "transport_error"));
        else
            fprintf(f, "< %lld %s (%.0f ms)\n", num(resp, "status"),
                    str(resp, "content_type"),
                    json_number_value(json_object_get(ex, "ms")));
        put_body(f, "< ", str(resp, "body"));
    }
    return close_text(f, &buf);
}

/* The full failure text: every message, the observations, the transcript. */
static char *failure_text(const json_t *check) {
    char *buf = NULL, *tr;
    size_t len = 0, i;
    FILE *f = open_memstream(&buf, &len);
    json_t *m;

    if (!f)
        return NULL;
    json_array_foreach(json_object_get(check, "messages"), i, m) {
        fprintf(f, "%s\n", json_string_value(m));
    }
    if (*str(check, "link"))
        fprintf(f, "spec: %s\n", str(check, "link"));
    json_array_foreach(json_object_get(check, "observations"), i, m) {
        fprintf(f, "observed: %s\n", json_string_value(m));
    }
    tr = transcript_text(check);
    if (tr && *tr)
        fprintf(f, "\nTranscript:\n%s", tr);
    free(tr);
    return close_text(f, &buf);
}

/* The run's verdict, partial verdict, reason and TLS note as properties. */
/* --baseline: one sentence through put ("against FILE: N new failures ..."),
 * or nothing when the run had no baseline. Returns whether it wrote. */
static bool put_baseline_sentence(FILE *f, const json_t *results,
                                  void (*put)(FILE *, const char *)) {
    const json_t *b = json_object_get(results, "baseline");
    size_t news = json_array_size(json_object_get(b, "new_failures"));
    size_t unjudged = json_array_size(json_object_get(b, "not_judged_in_baseline"));
    char text[300];

    if (!json_is_object(b))
        return false;
    put(f, "against ");
    put(f, str(b, "file"));
    snprintf(text, sizeof(text),
             ": %zu new failure%s (passed there, not now: %s), %zu fixed, %lld known "
             "(failing there too: they do not fail the run)",
             news, news == 1 ? "" : "s", news ? "they fail the run" : "none",
             json_array_size(json_object_get(b, "fixed")), num(b, "still_failing"));
    put(f, text);
    if (unjudged) {
        snprintf(
            text, sizeof(text),
            ", %zu failing with no verdict in the baseline (they do not fail the run)",
            unjudged);
        put(f, text);
    }
    return true;
}

/* The checks the baseline sets apart, one item each through item(). */
static void put_baseline_items(FILE *f, const json_t *results,
                               void (*item)(FILE *, const char *, const json_t *)) {
    const json_t *b = json_object_get(results, "baseline");
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(b, "new_failures"), i, c)
        item(f, "new failure", c);
    json_array_foreach(json_object_get(b, "fixed"), i, c) item(f, "fixed", c);
    json_array_foreach(json_object_get(b, "not_judged_in_baseline"), i, c)
        item(f, "failing, no verdict in the baseline", c);
}

static void put_md_baseline_item(FILE *f, const char *kind, const json_t *c) {
    fprintf(f, "- %s: `%s` — `%s` — %s", kind, str(c, "id"), str(c, "test"),
            str(c, "verdict"));
    if (*str(c, "was"))
        fprintf(f, " (was %s)", str(c, "was"));
    fputc('\n', f);
}

static void put_html_baseline_item(FILE *f, const char *kind, const json_t *c) {
    mx_putf(f, mx_put_xml, "<li>%s: <code>%s</code> <code>%s</code> %s", kind,
            str(c, "id"), str(c, "test"), str(c, "verdict"));
    if (*str(c, "was"))
        mx_putf(f, mx_put_xml, " (was %s)", str(c, "was"));
    fputs("</li>\n", f);
}

static void put_junit_run_properties(FILE *f, const json_t *results) {
    char *phrase = mx_verdict_phrase(results, false);

    mx_putf(f, mx_put_xml, "      <property name=\"verdict\" value=\"%s\"/>\n",
            phrase ? phrase : str(results, "verdict"));
    free(phrase);
    if (*str(results, "reason"))
        mx_putf(f, mx_put_xml, "      <property name=\"reason\" value=\"%s\"/>\n",
                str(results, "reason"));
    if (tls_off(results))
        mx_putf(f, mx_put_xml,
                "      <property name=\"tls_verification\" value=\"off: %s\"/>\n",
                tls_note);
    if (json_is_object(json_object_get(results, "baseline"))) {
        fputs("      <property name=\"baseline\" value=\"", f);
        put_baseline_sentence(f, results, mx_put_xml);
        fputs("\"/>\n", f);
    }
}

/* A run without a verdict (not judged, no check judged, interrupted,
 * aborted) is one test case in error, so that no CI shows it green. */
static void put_junit_run_error(FILE *f, const json_t *results) {
    char *phrase = mx_verdict_phrase(results, true);

    mx_putf(f, mx_put_xml,
            "  <testsuite name=\"run\" tests=\"1\" failures=\"0\" errors=\"1\" "
            "skipped=\"0\" time=\"0\" timestamp=\"%s\">\n    <properties>\n"
            "      <property name=\"target\" value=\"%s\"/>\n",
            str(results, "started"), str(results, "target"));
    put_junit_run_properties(f, results);
    fputs("    </properties>\n    <testcase classname=\"run\" name=\"verdict\" "
          "time=\"0\">\n      <error message=\"",
          f);
    mx_put_xml(f, phrase);
    if (*str(results, "reason"))
        mx_putf(f, mx_put_xml, ": %s", str(results, "reason"));
    fprintf(f, "\" type=\"%s\">the run gave no verdict on the server (exit %lld)",
            strcmp(str(results, "verdict"), "not judged") == 0 ? "not judged"
                                                               : str(results, "verdict"),
            num(results, "exit_status"));
    fputs("</error>\n    </testcase>\n  </testsuite>\n", f);
    free(phrase);
}

int mx_report_write_junit(const json_t *results, FILE *f) {
    const json_t *checks = json_object_get(results, "checks");
    bool strict = is_strict(results);
    json_t *groups = groups_of(checks);
    size_t gi, i, all_failures = 0, all_skipped = 0;
    double all_time = 0;
    json_t *g, *check;

    json_array_foreach(checks, i, check) {
        enum mx_verdict v = verdict_of(check);
        all_failures += mx_verdict_is_failure(v, strict);
        all_skipped += v == MX_VERDICT_SKIP || v == MX_VERDICT_XFAIL ||
                       v == MX_VERDICT_BLOCKED || v == MX_VERDICT_NOT_RUN;
        all_time += num(check, "duration_ms") / 1000.0;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"device-conformance\" tests=\"%zu\" failures=\"%zu\" "
            "errors=\"%d\" skipped=\"%zu\" time=\"%.3f\">\n",
            json_array_size(checks) + !run_judged(results), all_failures,
            !run_judged(results), all_skipped, all_time);
    if (!run_judged(results))
        put_junit_run_error(f, results);
    json_array_foreach(groups, gi, g) {
        const char *group = json_string_value(g);
        size_t tests = 0, failures = 0, skipped = 0;
        double time = 0;

        json_array_foreach(checks, i, check) {
            enum mx_verdict v;
            if (strcmp(str(check, "group"), group) != 0)
                continue;
            v = verdict_of(check);
            tests++;
            failures += mx_verdict_is_failure(v, strict);
            skipped += v == MX_VERDICT_SKIP || v == MX_VERDICT_XFAIL ||
                       v == MX_VERDICT_BLOCKED || v == MX_VERDICT_NOT_RUN;
            time += num(check, "duration_ms") / 1000.0;
        }
        mx_putf(f, mx_put_xml,
                "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                "skipped=\"%zu\" ",
                group, tests, failures, skipped);
        fprintf(f, "time=\"%.3f\" ", time);
        mx_putf(f, mx_put_xml,
                "timestamp=\"%s\">\n    <properties>\n"
                "      <property name=\"target\" value=\"%s\"/>\n"
                "      <property name=\"spec_version\" value=\"%s\"/>\n"
                "      <property name=\"strict\" value=\"%s\"/>\n",
                str(results, "started"), str(results, "target"),
                str(results, "spec_version"), strict ? "true" : "false");
        put_junit_run_properties(f, results);
        fputs("    </properties>\n", f);
        json_array_foreach(checks, i, check) {
            enum mx_verdict v;
            size_t j;
            json_t *o;
            if (strcmp(str(check, "group"), group) != 0)
                continue;
            v = verdict_of(check);
            mx_putf(f, mx_put_xml, "    <testcase classname=\"%s\" name=\"%s\"", group,
                    test_name(check));
            fprintf(f, " time=\"%.3f\">\n", num(check, "duration_ms") / 1000.0);
            if (mx_verdict_is_failure(v, strict)) {
                char *text = failure_text(check);
                fputs("      <failure message=\"", f);
                if (strcmp(str(check, "baseline"), "known") == 0)
                    fputs("known (baseline): ", f);
                mx_putf(f, mx_put_xml, "%s: ", str(check, "id"));
                put_first_line(f, check, mx_put_xml);
                fprintf(f, "\" type=\"%s %s\">", str(check, "level"), mx_verdict_name(v));
                mx_putf(f, mx_put_xml, "%s</failure>\n", text);
                free(text);
            } else if (v == MX_VERDICT_SKIP || v == MX_VERDICT_XFAIL ||
                       v == MX_VERDICT_BLOCKED || v == MX_VERDICT_NOT_RUN) {
                fputs("      <skipped message=\"", f);
                if (v == MX_VERDICT_XFAIL)
                    fputs("expected failure: ", f);
                if (v == MX_VERDICT_NOT_RUN)
                    fputs("not run: ", f);
                mx_put_xml(f, str(check, "reason"));
                fputs("\"/>\n", f);
            }
            if (v == MX_VERDICT_WARN || v == MX_VERDICT_XPASS || v == MX_VERDICT_INFO ||
                v == MX_VERDICT_XFAIL) {
                fprintf(f, "      <system-out>verdict: %s (%s)\n", mx_verdict_name(v),
                        str(check, "id"));
                if (*str(check, "link"))
                    mx_putf(f, mx_put_xml, "spec: %s\n", str(check, "link"));
                json_array_foreach(json_object_get(check, "messages"), j, o)
                    mx_putf(f, mx_put_xml, "%s\n", json_string_value(o));
                json_array_foreach(json_object_get(check, "observations"), j, o)
                    mx_putf(f, mx_put_xml, "observed: %s\n", json_string_value(o));
                fputs("</system-out>\n", f);
            }
            fputs("    </testcase>\n", f);
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    json_decref(groups);
    return ferror(f) ? -1 : 0;
}

/* A YAML scalar: a JSON string is a valid YAML double-quoted scalar. */
static void put_yaml_string(FILE *f, const char *s) {
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(text ? text : "\"\"", f);
    free(text);
    json_decref(j);
}

/* First line of text for a TAP directive or description: no '#'. */
static void put_tap_text(FILE *f, const char *text) {
    for (const char *p = text; *p && *p != '\n'; p++) {
        if (*p == '#')
            fputc('\\', f);
        fputc(*p, f);
    }
}

/* A TAP comment's text: one line. */
static void put_tap_plain(FILE *f, const char *text) {
    fwrite(text, 1, strcspn(text, "\n"), f);
}

/* The check's array member key as a YAML list of strings; nothing when it
 * is empty. */
static void put_yaml_list(FILE *f, const json_t *check, const char *key) {
    size_t i;
    json_t *o;

    if (json_array_size(json_object_get(check, key)) > 0)
        fprintf(f, "  %s:\n", key);
    json_array_foreach(json_object_get(check, key), i, o)
        mx_putf(f, put_yaml_string, "    - %s\n", json_string_value(o));
}

int mx_report_write_tap(const json_t *results, FILE *f) {
    const json_t *checks = json_object_get(results, "checks");
    bool strict = is_strict(results);
    size_t i;
    json_t *check;

    if (strcmp(str(results, "verdict"), "not judged") == 0) {
        fputs("TAP version 13\nBail out! ", f);
        put_tap_text(f, str(results, "reason"));
        fputc('\n', f);
        return ferror(f) ? -1 : 0;
    }
    fprintf(f, "TAP version 13\n1..%zu\n", json_array_size(checks));
    if (tls_off(results))
        fprintf(f, "# %s\n", tls_note);
    if (json_is_object(json_object_get(results, "baseline"))) {
        fputs("# baseline: ", f);
        put_baseline_sentence(f, results, put_tap_plain);
        fputc('\n', f);
    }
    json_array_foreach(checks, i, check) {
        enum mx_verdict v = verdict_of(check);
        bool bad = mx_verdict_is_failure(v, strict) || v == MX_VERDICT_XFAIL;

        fprintf(f, "%s %zu - %s %s", bad ? "not ok" : "ok", i + 1, str(check, "id"),
                str(check, "test"));
        if (v == MX_VERDICT_SKIP || v == MX_VERDICT_BLOCKED) {
            fputs(" # SKIP ", f);
            put_tap_text(f, str(check, "reason"));
        } else if (v == MX_VERDICT_NOT_RUN) {
            fputs(" # SKIP not run: ", f);
            put_tap_text(f, str(check, "reason"));
        } else if (v == MX_VERDICT_XFAIL || v == MX_VERDICT_XPASS) {
            fputs(v == MX_VERDICT_XFAIL ? " # TODO expected failure: "
                                        : " # TODO expected failure, but it passed: ",
                  f);
            put_tap_text(f, str(check, "reason"));
        } else if (bad && strcmp(str(check, "baseline"), "known") == 0) {
            fputs(" # TODO known failure (baseline)", f);
        } else if (bad &&
                   strcmp(str(check, "baseline"), "not judged in the baseline") == 0) {
            fputs(" # TODO failing, no verdict in the baseline", f);
        }
        fputc('\n', f);
        if (v == MX_VERDICT_PASS || v == MX_VERDICT_SKIP || v == MX_VERDICT_BLOCKED ||
            v == MX_VERDICT_NOT_RUN)
            continue;
        fprintf(f, "  ---\n  verdict: %s\n  level: %s\n  duration_ms: %lld\n",
                mx_verdict_name(v), str(check, "level"), num(check, "duration_ms"));
        if (*str(check, "link"))
            mx_putf(f, put_yaml_string, "  link: %s\n", str(check, "link"));
        put_yaml_list(f, check, "messages");
        put_yaml_list(f, check, "observations");
        fputs("  ...\n", f);
    }
    {
        char *phrase = mx_verdict_phrase(results, false);
        fprintf(f, "# verdict: %s (exit %lld)\n", phrase ? phrase : "",
                num(results, "exit_status"));
        free(phrase);
    }
    if (!run_judged(results)) {
        fputs("Bail out! ", f);
        put_tap_text(f, str(results, "verdict"));
        if (*str(results, "reason")) {
            fputs(": ", f);
            put_tap_text(f, str(results, "reason"));
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* The paragraphs under a report's verdict line, in the same order in
 * summary.md and report.html; each text's %s are escaped with put. */
struct run_notes {
    void (*put)(FILE *, const char *);
    const char *not_judged;  /* the reason of a run that judged nothing */
    const char *reason;      /* verdict, reason */
    const char *no_verdict;  /* no check judged */
    const char *partial;     /* judged, applicable, spec version */
    const char *blocked[2];  /* around put_blocked() */
    const char *tls;         /* the note */
    const char *baseline[3]; /* before and after the sentence, after the items */
    void (*baseline_item)(FILE *, const char *, const json_t *);
};

static const struct run_notes md_notes = {
    mx_put_md,
    NULL, /* summary.md says it in its first line and stops */
    "\n%s: %s\n",
    "\nNo check judged the server (every check skipped or not run, or the selection "
    "matched nothing): this run gives no verdict.\n",
    "\nPartial verdict: %lld of the %lld requirements that apply at spec %s were "
    "judged (a selection, or skipped checks).\n",
    {"\n**Blocked:** ", ": each could not reach its own question because that "
                        "requirement broke (it is charged there).\n"},
    "\n**Note:** %s.\n",
    {"\n## Baseline\n\nCompared ", ".\n\n", ""},
    put_md_baseline_item,
};

static const struct run_notes html_notes = {
    mx_put_xml,
    "<p id=\"reason\">The run could not judge the server: %s</p>\n",
    "<p id=\"reason\">%s: %s</p>\n",
    "<p id=\"reason\">No check judged the server (every check skipped or not run, or "
    "the selection matched nothing): this run gives no verdict.</p>\n",
    "<p id=\"partial\">Partial verdict: %lld of the %lld requirements that apply at "
    "spec %s were judged.</p>\n",
    {"<p id=\"blocked\"><b>Blocked:</b> ", ".</p>\n"},
    "<p id=\"tls\"><b>Note:</b> %s.</p>\n",
    {"<section id=\"baseline\"><h2>Baseline</h2>\n<p>Compared ", ".</p>\n<ul>\n",
     "</ul></section>\n"},
    put_html_baseline_item,
};

static void put_run_notes(FILE *f, const json_t *results, const struct run_notes *n) {
    const json_t *reqs = json_object_get(results, "requirements");

    if (strcmp(str(results, "verdict"), "not judged") == 0 && n->not_judged)
        mx_putf(f, n->put, n->not_judged, str(results, "reason"));
    else if (*str(results, "reason"))
        mx_putf(f, n->put, n->reason, str(results, "verdict"), str(results, "reason"));
    if (num(results, "exit_status") == MX_EXIT_NO_CHECK_JUDGED &&
        strcmp(str(results, "verdict"), "no check judged") == 0)
        fputs(n->no_verdict, f);
    if (json_is_true(json_object_get(results, "partial")))
        mx_putf(f, n->put, n->partial, num(reqs, "judged"), num(reqs, "applicable"),
                str(results, "spec_version"));
    if (json_object_size(json_object_get(results, "blocked")) > 0) {
        fputs(n->blocked[0], f);
        put_blocked(f, results, n->put);
        fputs(n->blocked[1], f);
    }
    if (tls_off(results))
        mx_putf(f, n->put, n->tls, tls_note);
    if (json_is_object(json_object_get(results, "baseline"))) {
        fputs(n->baseline[0], f);
        put_baseline_sentence(f, results, n->put);
        fputs(n->baseline[1], f);
        put_baseline_items(f, results, n->baseline_item);
        fputs(n->baseline[2], f);
    }
}

static const char *const totals_order[] = {"pass",  "fail",  "warn",    "skip",    "info",
                                           "xfail", "xpass", "blocked", "not_run", NULL};

static void put_md_list(FILE *f, const json_t *checks, enum mx_verdict want,
                        const char *heading) {
    size_t i, n = 0;
    json_t *check;

    json_array_foreach(checks, i, check) {
        if (verdict_of(check) != want)
            continue;
        if (n++ == 0)
            fprintf(f, "\n## %s\n\n", heading);
        fprintf(f, "- `%s` — `%s` — ", str(check, "id"), str(check, "test"));
        /* --baseline: whether this one fails the run. */
        if (*str(check, "baseline"))
            fprintf(f, "*%s (baseline)* — ", str(check, "baseline"));
        if (want == MX_VERDICT_BLOCKED || want == MX_VERDICT_NOT_RUN)
            mx_put_md(f, str(check, "reason"));
        else
            put_first_line(f, check, mx_put_md);
        if (*str(check, "link"))
            fprintf(f, " ([spec](%s))", str(check, "link"));
        fputc('\n', f);
    }
}

/* The spec's version notes (--spec-dir) with the requirements each touches;
 * nothing without --spec-dir. */
static void put_md_spec_notes(FILE *f, const json_t *results) {
    const json_t *checks = json_object_get(results, "checks");
    json_t *index, *entry, *list;
    size_t i, j;

    if (!json_is_string(json_object_get(results, "spec_dir")))
        return;
    index = notes_index(checks);
    fputs("\n## Spec version notes\n\n", f);
    if (json_array_size(index) == 0) {
        mx_putf(f, mx_put_md,
                "The spec in `%s` has no `x-addedInMatrixVersion` or "
                "`x-changedInMatrixVersion` note on the operations these checks "
                "exercise.\n",
                str(results, "spec_dir"));
        json_decref(index);
        return;
    }
    mx_putf(f, mx_put_md,
            "From the `x-addedInMatrixVersion` and `x-changedInMatrixVersion` entries of "
            "the spec in `%s`: each note lists the requirements whose checks exercise "
            "that operation (with the verdict when it is not pass).\n\n",
            str(results, "spec_dir"));
    json_array_foreach(index, i, entry) {
        const json_t *note = json_object_get(entry, "note");
        list = json_object_get(entry, "checks");
        fprintf(f, "- **%s** `%s` %s: ", str(note, "version"), str(note, "operation"),
                str(note, "kind"));
        mx_putf(f, mx_put_md, "%s Requirements:", str(note, "text"));
        for (j = 0; j < json_array_size(list); j++) {
            const char *id = str(json_array_get(list, j), "id");
            enum mx_verdict v;
            if (!first_with_id(list, j))
                continue;
            v = worst_for_id(list, id);
            fprintf(f, "%s `%s`", j ? "," : "", id);
            if (v != MX_VERDICT_PASS)
                fprintf(f, " (%s)", mx_verdict_name(v));
        }
        fputs("\n", f);
    }
    json_decref(index);
}

/* The --explore section: its outcome, and a divergence as its minimal
 * sequence of numbered steps with the replay command. */
static void put_md_exploration(FILE *f, const json_t *ex) {
    const json_t *div = json_object_get(ex, "divergence");
    size_t i;
    json_t *step;

    if (!json_is_object(ex))
        return;
    fprintf(f, "\n## Exploration\n\nSeed `%s`, %lld steps, %lld requests: ",
            str(ex, "seed_text"), num(ex, "steps_run"), num(ex, "requests"));
    if (!json_is_object(div)) {
        fputs("no divergence from the model of a correct server.\n", f);
        return;
    }
    mx_putf(f, mx_put_md,
            "diverged from the model, charged to `%s`. Minimal sequence:\n\n",
            str(div, "requirement"));
    json_array_foreach(json_object_get(div, "minimal"), i, step)
        mx_putf(f, mx_put_md, "%lld. `%s`: expected %s, observed %s\n", num(step, "n"),
                str(step, "request"), str(step, "expected"), str(step, "observed"));
    mx_putf(f, mx_put_md, "\nReplay: `%s`\n", str(div, "replay"));
}

int mx_report_write_summary(const json_t *results, FILE *f) {
    const json_t *checks = json_object_get(results, "checks");
    const json_t *totals = json_object_get(results, "totals");
    json_t *groups = groups_of(checks);
    size_t gi, i;
    json_t *g, *check;

    char *phrase = mx_verdict_phrase(results, true);

    mx_putf(f, mx_put_md, "# Device management conformance: %s", str(results, "target"));
    if (strcmp(str(results, "verdict"), "not judged") == 0) {
        mx_putf(f, mx_put_md,
                "\n\n**NOT JUDGED** (exit %lld): the run could not judge the server: %s",
                num(results, "exit_status"), str(results, "reason"));
        fprintf(f, ". Spec %s, started %s.\n", str(results, "spec_version"),
                str(results, "started"));
        if (tls_off(results))
            fprintf(f, "\n**Note:** %s.\n", tls_note);
        free(phrase);
        json_decref(groups);
        return ferror(f) ? -1 : 0;
    }
    fputs("\n\n**", f);
    /* "CONFORMANT (partial: ...)": the bold part is the verdict word. */
    {
        const char *paren = phrase ? strstr(phrase, " (partial") : NULL;
        if (paren)
            fprintf(f, "%.*s**%s", (int)(paren - phrase), phrase, paren);
        else
            fprintf(f, "%s**", phrase ? phrase : "");
    }
    free(phrase);
    fprintf(f, " (exit %lld):", num(results, "exit_status"));
    for (i = 0; totals_order[i]; i++)
        fprintf(f, "%s %lld %s", i ? "," : "", num(totals, totals_order[i]),
                totals_order[i]);
    fprintf(f, ". Spec %s, strict %s, started %s, %.1f s.\n",
            str(results, "spec_version"), is_strict(results) ? "on" : "off",
            str(results, "started"), num(results, "duration_ms") / 1000.0);
    put_run_notes(f, results, &md_notes);

    put_md_exploration(f, json_object_get(results, "exploration"));
    put_md_list(f, checks, MX_VERDICT_FAIL, "Failures");
    put_md_list(f, checks, MX_VERDICT_XPASS, "Listed as expected to fail, but passed");
    put_md_list(f, checks, MX_VERDICT_WARN, "Warnings (SHOULD)");
    put_md_list(f, checks, MX_VERDICT_BLOCKED,
                "Blocked (by the failure of another requirement)");
    put_md_list(f, checks, MX_VERDICT_NOT_RUN, "Not run");

    fputs("\n## Compliance by requirement group\n\n"
          "| group | MUST pass/total | SHOULD pass/total | INFO | skipped |\n"
          "|---|---|---|---|---|\n",
          f);
    json_array_foreach(groups, gi, g) {
        const char *group = json_string_value(g);
        size_t must = 0, must_ok = 0, should = 0, should_ok = 0, info = 0, skipped = 0;

        json_array_foreach(checks, i, check) {
            enum mx_verdict v = verdict_of(check);
            const char *level = str(check, "level");
            if (strcmp(str(check, "group"), group) != 0)
                continue;
            if (v == MX_VERDICT_SKIP || v == MX_VERDICT_BLOCKED ||
                v == MX_VERDICT_NOT_RUN) {
                skipped++;
            } else if (strcmp(level, "MUST") == 0) {
                must++;
                must_ok += v == MX_VERDICT_PASS || v == MX_VERDICT_XPASS;
            } else if (strcmp(level, "SHOULD") == 0) {
                should++;
                should_ok += v == MX_VERDICT_PASS || v == MX_VERDICT_XPASS;
            } else {
                info += v == MX_VERDICT_INFO;
                /* A failed INFO check is a failure: count it with MUST. */
                must += v != MX_VERDICT_INFO;
            }
        }
        fprintf(f, "| %s | %zu/%zu | %zu/%zu | %zu | %zu |\n", group, must_ok, must,
                should_ok, should, info, skipped);
    }
    json_decref(groups);
    put_md_spec_notes(f, results);
    return ferror(f) ? -1 : 0;
}

/* Verdict precedence when one requirement has several checks. */
static int severity(int v) {
    static const int rank[MX_VERDICT_COUNT] = {
        [MX_VERDICT_SKIP] = 0, [MX_VERDICT_NOT_RUN] = 1, [MX_VERDICT_BLOCKED] = 2,
        [MX_VERDICT_PASS] = 3, [MX_VERDICT_INFO] = 4,    [MX_VERDICT_XFAIL] = 5,
        [MX_VERDICT_WARN] = 6, [MX_VERDICT_XPASS] = 7,   [MX_VERDICT_FAIL] = 8};
    return v < 0 ? -1 : rank[v];
}

static enum mx_verdict worst_for_id(const json_t *list, const char *id) {
    int worst = -1;
    size_t i;
    json_t *check;

    json_array_foreach(list, i, check) {
        int v = (int)verdict_of(check);
        if (strcmp(str(check, "id"), id) == 0 && severity(v) > severity(worst))
            worst = v;
    }
    return worst < 0 ? MX_VERDICT_SKIP : (enum mx_verdict)worst;
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Device management conformance</title>\n<style>\n"
    "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72em;padding:1em;"
    "color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid "
    "#ddd}\n"
    "code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#f6f6f6;padding:.6em;"
    "overflow:auto;white-space:pre-wrap;word-break:break-word}\n"
    ".verdict{font-size:1.2em;font-weight:bold;padding:.3em .6em;display:inline-block;"
    "color:#fff}\n"
    ".ok{background:#2e7d32}.bad{background:#c62828}\n"
    "#totals{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em}\n"
    "#totals button{border:0;padding:.35em .7em;cursor:pointer;font:inherit;"
    "border-radius:3px}\n"
    "#totals button[aria-pressed=true]{outline:3px solid #222}\n"
    ".matrix{display:flex;flex-wrap:wrap;gap:3px;margin:.3em 0 .8em}\n"
    ".cell{display:inline-block;padding:.2em .45em;font:12px ui-monospace,monospace;"
    "text-decoration:none;border-radius:2px}\n"
    ".v-pass{background:#c8e6c9;color:#1b5e20}.v-fail{background:#ef9a9a;color:#7f0000}\n"
    ".v-warn{background:#ffe082;color:#6d4c00}.v-skip{background:#e0e0e0;color:#555}\n"
    ".v-info{background:#bbdefb;color:#0d47a1}.v-xfail{background:#e1bee7;color:#4a148c}"
    "\n"
    ".v-blocked{background:#b0bec5;color:#263238}.v-not_run{background:#f5f5f5;"
    "color:#b71c1c;border:1px dashed #b71c1c}\n"
    ".v-xpass{background:#ffcc80;color:#7a3e00}.v-none{background:repeating-linear-"
    "gradient(45deg,#eee,#eee 4px,#fff 4px,#fff 8px);color:#888}\n"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;"
    "padding:.25em .4em;text-align:left;vertical-align:top}\n"
    "td.num{text-align:right;white-space:nowrap}\n"
    "details{margin:.4em 0;border:1px solid #ddd;padding:.3em .6em}summary{cursor:"
    "pointer}\n"
    ".legend .cell{margin-right:.3em}\n"
    "details.sn{display:inline-block;border:0;padding:0;margin:0 0 0 .3em;"
    "vertical-align:baseline}\n"
    "details.sn>summary{list-style:none;display:inline-block;font:11px ui-monospace,"
    "monospace;padding:0 .35em;border:1px solid #8e24aa;border-radius:3px;color:#6a1b9a;"
    "background:#f3e5f5}\n"
    "details.sn>summary::-webkit-details-marker{display:none}\n"
    "details.sn[open]{display:block}details.sn>div{font-size:12px;color:#444;"
    "margin:.2em 0}\n"
    "</style>\n</head>\n<body>\n";

/* The filter: a totals button shows only the checks of its verdict. */
static const char html_script[] =
    "<script>\n"
    "(function () {\n"
    "  var buttons = document.querySelectorAll('#totals button');\n"
    "  var rows = document.querySelectorAll('#checks tbody tr');\n"
    "  function show(v) {\n"
    "    for (var i = 0; i < rows.length; i++)\n"
    "      rows[i].hidden = v !== null && rows[i].getAttribute('data-v') !== v;\n"
    "    for (var j = 0; j < buttons.length; j++)\n"
    "      buttons[j].setAttribute('aria-pressed',\n"
    "        String(buttons[j].getAttribute('data-v') === v));\n"
    "  }\n"
    "  var current = null;\n"
    "  for (var k = 0; k < buttons.length; k++)\n"
    "    buttons[k].addEventListener('click', function (e) {\n"
    "      var v = e.currentTarget.getAttribute('data-v');\n"
    "      current = current === v ? null : v;\n"
    "      show(current);\n"
    "    });\n"
    "})();\n"
    "</script>\n";

/* One note as text: "updateDevice changed in 1.17: ...". */
static void put_html_note(FILE *f, const json_t *note) {
    mx_putf(f, mx_put_xml, "<code>%s</code> %s in %s: %s", str(note, "operation"),
            str(note, "kind"), str(note, "version"), str(note, "text"));
}

/* Whether two notes have the same version and kind (one badge). */
static bool same_badge(const json_t *a, const json_t *b) {
    return strcmp(str(a, "version"), str(b, "version")) == 0 &&
           strcmp(str(a, "kind"), str(b, "kind")) == 0;
}

/* The check's spec version notes as badges, one per version and kind: the
 * notes' text shows on hover (title) and when the badge is opened. */
static void put_html_note_badges(FILE *f, const json_t *check) {
    const json_t *notes = json_object_get(check, "spec_notes");
    size_t i, j;
    json_t *note, *other;

    json_array_foreach(notes, i, note) {
        bool seen = false;
        for (j = 0; j < i && !seen; j++)
            seen = same_badge(note, json_array_get(notes, j));
        if (seen)
            continue;
        fputs("<details class=\"sn\"><summary title=\"", f);
        json_array_foreach(notes, j, other) {
            if (same_badge(note, other))
                mx_putf(f, mx_put_xml, j > i ? "&#10;%s: %s" : "%s: %s",
                        str(other, "operation"), str(other, "text"));
        }
        mx_putf(f, mx_put_xml, "\">%s %s</summary>", str(note, "version"),
                str(note, "kind"));
        json_array_foreach(notes, j, other) {
            if (!same_badge(note, other))
                continue;
            fputs("<div>", f);
            put_html_note(f, other);
            fputs("</div>", f);
        }
        fputs("</details>", f);
    }
}

/* The spec's version notes with the requirements each touches (linked to
 * their checks); nothing without --spec-dir. */
static void put_html_spec_notes(FILE *f, const json_t *results) {
    json_t *index, *entry, *list;
    size_t i, j;

    if (!json_is_string(json_object_get(results, "spec_dir")))
        return;
    index = notes_index(json_object_get(results, "checks"));
    fputs("<h2 id=\"spec-notes\">Spec version notes</h2>\n<p>From the "
          "<code>x-addedInMatrixVersion</code> and <code>x-changedInMatrixVersion</code> "
          "entries of the spec in <code>",
          f);
    mx_put_xml(f, str(results, "spec_dir"));
    if (json_array_size(index) == 0) {
        fputs("</code>: none on the operations these checks exercise.</p>\n", f);
        json_decref(index);
        return;
    }
    fputs("</code>, with the requirements whose checks exercise each operation.</p>\n"
          "<ul>\n",
          f);
    json_array_foreach(index, i, entry) {
        list = json_object_get(entry, "checks");
        fputs("<li>", f);
        put_html_note(f, json_object_get(entry, "note"));
        fputs("<br>", f);
        for (j = 0; j < json_array_size(list); j++) {
            const json_t *check = json_array_get(list, j);
            enum mx_verdict v;
            if (!first_with_id(list, j))
                continue;
            v = worst_for_id(list, str(check, "id"));
            mx_putf(f, mx_put_xml, "<a class=\"cell v-%s\" href=\"#t-%s\">%s</a> ",
                    mx_verdict_name(v), str(check, "test"), str(check, "id"));
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
    json_decref(index);
}

static void put_html_transcript(FILE *f, const json_t *check) {
    size_t n = json_array_size(json_object_get(check, "transcript"));
    char *text;

    if (n == 0)
        return;
    text = transcript_text(check);
    mx_putf(f, mx_put_xml,
            "<details><summary>Transcript (%zu exchange%s)</summary><pre>%s", n,
            n == 1 ? "" : "s", text);
    fputs("</pre></details>\n", f);
    free(text);
}

/* " spec" linked to the check's place in the spec, when it has one. */
static void put_html_spec_link(FILE *f, const json_t *check) {
    if (*str(check, "link"))
        mx_putf(f, mx_put_xml, " <a class=\"spec\" href=\"%s\">spec</a>",
                str(check, "link"));
}

static void put_html_check_details(FILE *f, const json_t *check, bool open) {
    size_t j;
    json_t *o;

    fprintf(f, "<details%s><summary><span class=\"cell v-%s\">%s</span> ",
            open ? " open" : "", str(check, "verdict"), str(check, "verdict"));
    mx_putf(f, mx_put_xml, "<code>%s</code> — <code>%s</code> — ", str(check, "id"),
            str(check, "test"));
    if (*str(check, "baseline"))
        mx_putf(f, mx_put_xml, "<em>%s (baseline)</em> — ", str(check, "baseline"));
    put_first_line(f, check, mx_put_xml);
    mx_putf(f, mx_put_xml, "</summary>\n<p>%s", str(check, "description"));
    put_html_spec_link(f, check);
    fputs("</p>\n", f);
    if (json_array_size(json_object_get(check, "spec_notes")) > 0) {
        fputs("<ul class=\"spec-notes\">", f);
        json_array_foreach(json_object_get(check, "spec_notes"), j, o) {
            fputs("<li>Spec note: ", f);
            put_html_note(f, o);
            fputs("</li>", f);
        }
        fputs("</ul>\n", f);
    }
    if (json_array_size(json_object_get(check, "messages")) > 0) {
        fputs("<pre>", f);
        json_array_foreach(json_object_get(check, "messages"), j, o)
            mx_putf(f, mx_put_xml, "%s\n", json_string_value(o));
        fputs("</pre>\n", f);
    }
    json_array_foreach(json_object_get(check, "observations"), j, o)
        mx_putf(f, mx_put_xml, "<p>Observed: %s</p>\n", json_string_value(o));
    put_html_transcript(f, check);
    fputs("</details>\n", f);
}

/* The coverage matrix: every catalogue requirement, coloured by the worst
 * verdict among its checks ("none" when no check ran). */
static void put_html_matrix(FILE *f, const json_t *checks) {
    size_t n = mx_catalog_count(), i, c;
    const char *group = NULL;
    json_t *check;

    fputs("<h2>Coverage by requirement</h2>\n<p class=\"legend\">", f);
    for (i = 0; totals_order[i]; i++)
        fprintf(f, "<span class=\"cell v-%s\">%s</span>", totals_order[i],
                totals_order[i]);
    fputs("<span class=\"cell v-none\">no check</span></p>\n", f);
    for (i = 0; i < n; i++) {
        const struct mx_requirement *req = mx_catalog_at(i);
        int worst = -1;
        const char *anchor = NULL;

        if (!group || strcmp(group, req->group) != 0) {
            fputs(group ? "</div>\n" : "", f);
            mx_putf(f, mx_put_xml, "<h3>%s</h3>\n<div class=\"matrix\">", req->group);
            group = req->group;
        }
        json_array_foreach(checks, c, check) {
            int v;
            if (strcmp(str(check, "id"), req->id) != 0)
                continue;
            v = (int)verdict_of(check);
            if (severity(v) > severity(worst)) {
                worst = v;
                anchor = str(check, "test");
            }
        }
        fprintf(f, "<a class=\"cell v-%s\" ",
                worst < 0 ? "none" : mx_verdict_name((enum mx_verdict)worst));
        if (anchor)
            mx_putf(f, mx_put_xml, "href=\"#t-%s\" ", anchor);
        mx_putf(f, mx_put_xml, "title=\"%s %s: %s\">%s</a>", mx_level_name(req->level),
                worst < 0 ? "no check" : mx_verdict_name((enum mx_verdict)worst),
                req->rule, req->id);
    }
    if (group)
        fputs("</div>\n", f);
}

int mx_report_write_html(const json_t *results, FILE *f) {
    const json_t *checks = json_object_get(results, "checks");
    const json_t *totals = json_object_get(results, "totals");
    /* Exit 0 with known failures (--baseline) is still not conformant. */
    bool conformant = num(results, "exit_status") == 0 &&
                      strcmp(str(results, "verdict"), "not conformant") != 0;
    size_t i, j, shown = 0;
    json_t *check, *o;

    fputs(html_head, f);
    mx_putf(f, mx_put_xml,
            "<h1>Device management conformance</h1>\n<p>Target <code>%s</code>, spec %s, "
            "strict %s, started %s",
            str(results, "target"), str(results, "spec_version"),
            is_strict(results) ? "on" : "off", str(results, "started"));
    fprintf(f, ", %.1f s.</p>\n", num(results, "duration_ms") / 1000.0);
    {
        char *phrase = mx_verdict_phrase(results, true);
        fprintf(f, "<p id=\"verdict\" class=\"verdict %s\">", conformant ? "ok" : "bad");
        mx_put_xml(f, strcmp(str(results, "verdict"), "not judged") == 0 ? "NOT JUDGED"
                      : phrase                                           ? phrase
                                                                         : "");
        fprintf(f, " (exit %lld)</p>\n", num(results, "exit_status"));
        free(phrase);
    }
    put_run_notes(f, results, &html_notes);
    fputs("<ul id=\"totals\">", f);
    for (i = 0; totals_order[i]; i++)
        fprintf(f,
                "<li><button type=\"button\" class=\"v-%s\" data-v=\"%s\" "
                "aria-pressed=\"false\"><b>%lld</b> %s</button></li>",
                totals_order[i], totals_order[i], num(totals, totals_order[i]),
                totals_order[i]);
    fputs("</ul>\n", f);

    put_html_matrix(f, checks);
    put_html_spec_notes(f, results);

    fputs("<h2>Failures and warnings</h2>\n", f);
    json_array_foreach(checks, i, check) {
        enum mx_verdict v = verdict_of(check);
        if (v != MX_VERDICT_FAIL && v != MX_VERDICT_WARN && v != MX_VERDICT_XPASS)
            continue;
        put_html_check_details(f, check, v == MX_VERDICT_FAIL);
        shown++;
    }
    if (shown == 0)
        fputs("<p>None.</p>\n", f);

    fputs("<h2>All checks</h2>\n<table id=\"checks\">\n<thead><tr><th>verdict</th>"
          "<th>requirement</th><th>level</th><th>test</th><th>ms</th><th>notes</th>"
          "</tr></thead>\n<tbody>\n",
          f);
    json_array_foreach(checks, i, check) {
        const char *v = str(check, "verdict");
        mx_putf(f, mx_put_xml, "<tr id=\"t-%s\" ", str(check, "test"));
        fprintf(f, "data-v=\"%s\"><td><span class=\"cell v-%s\">%s</span></td>", v, v, v);
        mx_putf(f, mx_put_xml, "<td><code>%s</code>", str(check, "id"));
        put_html_spec_link(f, check);
        put_html_note_badges(f, check);
        fprintf(f, "</td><td>%s</td>", str(check, "level"));
        mx_putf(f, mx_put_xml, "<td><code>%s</code></td><td class=\"num\">%lld</td><td>",
                test_name(check), num(check, "duration_ms"));
        if (json_is_string(json_object_get(check, "reason")))
            mx_put_xml(f, str(check, "reason"));
        json_array_foreach(json_object_get(check, "observations"), j, o)
            mx_putf(f, mx_put_xml, j ? "<br>%s" : "%s", json_string_value(o));
        if (strcmp(v, "info") != 0 && strcmp(v, "skip") != 0 && strcmp(v, "pass") != 0 &&
            strcmp(v, "blocked") != 0 && strcmp(v, "not_run") != 0) {
            fputs(" ", f);
            put_first_line(f, check, mx_put_xml);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
    fputs(html_script, f);
    fputs("</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}

static int write_one(const json_t *results, const char *dir, const char *name,
                     int (*writer)(const json_t *, FILE *), char *err, size_t err_len) {
    char path[4096], tmp[4096];
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_len, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    rc = writer(results, f);
    if (fclose(f) != 0 || rc < 0) {
        snprintf(err, err_len, "%s: write failed", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

static int write_json(const json_t *results, FILE *f) {
    if (json_dumpf(results, f, JSON_INDENT(2)) < 0)
        return -1;
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

int mx_report_write_files(const json_t *results, const char *dir, char *err,
                          size_t err_len) {
    static const struct {
        const char *name;
        int (*writer)(const json_t *, FILE *);
    } files[] = {{"results.json", write_json},
                 {"junit.xml", mx_report_write_junit},
                 {"results.tap", mx_report_write_tap},
                 {"summary.md", mx_report_write_summary},
                 {"report.html", mx_report_write_html}};
    int rc = 0;

    /* Write every file even when one fails: the others are still useful. */
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (write_one(results, dir, files[i].name, files[i].writer, err, err_len) < 0)
            rc = -1;
    return rc;
}
