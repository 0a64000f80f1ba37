/* Unit tests of the report layer's pure parts: verdicts, text cleaning and
 * escaping, the expect-fail list, and the writers on a small results
 * document. The report sources are compiled into the runner only, so they
 * are included here directly.
 *
 * With MXDEV_RESULTS_JSON set (tests/test_reports.sh does), the test
 * report_format/results_file validates that file against
 * fixtures/report-schema.json with the suite's schema validator. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../report/report_escape.c"
#include "../report/report_spec.c"
#include "../report/report_text.c"
#include "../report/report_write.c"

#include "mx_env.h"
#include "mx_schema.h"

/* Runs writer into a string (new malloc'd). */
static char *render(int (*writer)(const json_t *, FILE *), const json_t *doc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    cr_assert_not_null(f);
    cr_assert_eq(writer(doc, f), 0);
    fclose(f);
    return buf;
}

static char *xml_of(const char *text) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    mx_put_xml(f, text);
    fclose(f);
    return buf;
}

Test(report_format, verdicts) {
    cr_assert_eq(mx_verdict_for(MX_MUST, MX_OUTCOME_FAILED, false), MX_VERDICT_FAIL);
    cr_assert_eq(mx_verdict_for(MX_SHOULD, MX_OUTCOME_FAILED, false), MX_VERDICT_WARN);
    cr_assert_eq(mx_verdict_for(MX_INFO, MX_OUTCOME_FAILED, false), MX_VERDICT_FAIL);
    cr_assert_eq(mx_verdict_for(MX_INFO, MX_OUTCOME_PASSED, false), MX_VERDICT_INFO);
    cr_assert_eq(mx_verdict_for(MX_MUST, MX_OUTCOME_PASSED, false), MX_VERDICT_PASS);
    cr_assert_eq(mx_verdict_for(MX_SHOULD, MX_OUTCOME_CRASHED, false), MX_VERDICT_FAIL);
    cr_assert_eq(mx_verdict_for(MX_MUST, MX_OUTCOME_SKIPPED, true), MX_VERDICT_SKIP);
    cr_assert_eq(mx_verdict_for(MX_MUST, MX_OUTCOME_FAILED, true), MX_VERDICT_XFAIL);
    cr_assert_eq(mx_verdict_for(MX_SHOULD, MX_OUTCOME_PASSED, true), MX_VERDICT_XPASS);
    cr_assert_eq(mx_verdict_for(MX_MUST, MX_OUTCOME_BLOCKED, true), MX_VERDICT_BLOCKED);
    cr_assert_eq(mx_verdict_for(MX_SHOULD, MX_OUTCOME_NOT_RUN, false),
                 MX_VERDICT_NOT_RUN);
    for (int v = 0; v < MX_VERDICT_COUNT; v++)
        cr_assert_eq(mx_verdict_parse(mx_verdict_name((enum mx_verdict)v)), v);
    cr_assert_eq(mx_verdict_parse("nope"), -1);
}

Test(report_format, exit_status) {
    size_t t[MX_VERDICT_COUNT] = {0};

    t[MX_VERDICT_PASS] = 3;
    t[MX_VERDICT_SKIP] = 1;
    t[MX_VERDICT_INFO] = 1;
    t[MX_VERDICT_XFAIL] = 1;
    cr_assert_eq(mx_exit_status_for(t, true), 0);
    t[MX_VERDICT_WARN] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 0);
    cr_assert_eq(mx_exit_status_for(t, true), 1);
    t[MX_VERDICT_WARN] = 0;
    t[MX_VERDICT_XPASS] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 0);
    cr_assert_eq(mx_exit_status_for(t, true), 1);
    t[MX_VERDICT_XPASS] = 0;
    t[MX_VERDICT_NOT_RUN] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 1,
                 "a check not run leaves a rule unjudged");
    t[MX_VERDICT_NOT_RUN] = 0;
    t[MX_VERDICT_BLOCKED] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 0, "blocked fails through its blocker");
    t[MX_VERDICT_FAIL] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 1);
}

/* No check judged the server: no verdict, a status of its own. */
Test(report_format, exit_status_nothing_judged) {
    size_t t[MX_VERDICT_COUNT] = {0};

    cr_assert_eq(mx_exit_status_for(t, false), MX_EXIT_NO_CHECK_JUDGED,
                 "a filter that matched nothing");
    t[MX_VERDICT_SKIP] = 5;
    t[MX_VERDICT_NOT_RUN] = 2;
    t[MX_VERDICT_BLOCKED] = 1;
    cr_assert_eq(mx_exit_status_for(t, true), MX_EXIT_NO_CHECK_JUDGED);
    t[MX_VERDICT_INFO] = 1;
    cr_assert_eq(mx_exit_status_for(t, false), 1, "judged, but checks were not run");
}

Test(report_format, url_credentials) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"http://user:secret@host:8008/x", "http://***@host:8008/x"},
        {"https://a@b@host", "https://***@host"},
        {"http://host/path@x", "http://host/path@x"},
        {"http://127.0.0.1:8008", "http://127.0.0.1:8008"},
        {"cannot reach http://u:p@h:1: refused; see https://x:y@z/",
         "cannot reach http://***@h:1: refused; see https://***@z/"},
        {"no url here", "no url here"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = mx_url_safe(cases[i].in);
        cr_assert_str_eq(got, cases[i].out);
        free(got);
    }
}

Test(report_format, text_clean) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
         "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"},
        {"a\xFFz", "a\xEF\xBF\xBDz"},                             /* stray byte */
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xE2\x9C", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* truncated */
        {"a\x01\x1b[31mb", "a\xEF\xBF\xBD\xEF\xBF\xBD[31mb"},
        {"l1\r\nl2\tx", "l1\nl2\tx"},
        {"\xEF\xBF\xBE", "\xEF\xBF\xBD"}, /* U+FFFE is no XML character */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = mx_text_clean(cases[i].in);
        cr_assert_str_eq(out, cases[i].out, "case %zu", i);
        json_t *j = json_string(out);
        cr_assert_not_null(j, "valid UTF-8 for jansson, case %zu", i);
        json_decref(j);
        free(out);
    }
    char *empty = mx_text_clean(NULL);
    cr_assert_str_eq(empty, "");
    free(empty);
}

Test(report_format, xml_escape) {
    char *s = xml_of("<a href=\"x\">&'</a> ]]>");
    cr_assert_str_eq(s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; ]]&gt;");
    free(s);
}

Test(report_format, markdown_and_first_line) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    mx_put_md(f, "a|b\\c\nd<e");
    fputc('#', f);
    mx_put_first_line(f, "first\nsecond", 100);
    fputc('#', f);
    mx_put_first_line(f, "\xC3\xA9\xC3\xA9", 3); /* cut inside the second é */
    fclose(f);
    cr_assert_str_eq(buf, "a\\|b\\\\c d&lt;e#first#\xC3\xA9...");
    free(buf);
}

static char *write_temp(const char *text) {
    char *path = strdup("/tmp/mxdev-xf.XXXXXX");
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(report_format, expect_fail_list) {
    char *path =
        write_temp("# known: the server sends M_FORBIDDEN\n"
                   "PUT-UNKNOWN-ERRCODE\n"
                   "\n"
                   "uia/UIA_SESSION_BOUND__delete_devices  # sessions not bound\n"
                   "DEL-UNKNOWN\n");
    struct mx_expect_fail xf;
    char err[256];
    const struct mx_expect_fail_entry *e;

    cr_assert_eq(mx_expect_fail_load(path, &xf, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(xf.count, 3);
    e = mx_expect_fail_find(&xf, "PUT-UNKNOWN-ERRCODE", "put/PUT_UNKNOWN_ERRCODE");
    cr_assert_not_null(e);
    cr_assert_str_eq(e->reason, "known: the server sends M_FORBIDDEN");
    e = mx_expect_fail_find(&xf, "UIA-SESSION-BOUND",
                            "uia/UIA_SESSION_BOUND__delete_devices");
    cr_assert_not_null(e);
    cr_assert_str_eq(e->reason, "sessions not bound");
    cr_assert_null(
        mx_expect_fail_find(&xf, "UIA-SESSION-BOUND", "uia/UIA_SESSION_BOUND__logout"));
    e = mx_expect_fail_find(&xf, "DEL-UNKNOWN", "del/DEL_UNKNOWN");
    cr_assert_str_eq(e->reason, "");
    mx_expect_fail_free(&xf);
    unlink(path);
    free(path);
}

Test(report_format, expect_fail_errors) {
    static const char *const bad[] = {"NOT-A-REQUIREMENT\n", "uia/NOPE__x\n",
                                      "get/UIA_SUCCESS\n", "LIST-OK LIST-ALL\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *path = write_temp(bad[i]);
        struct mx_expect_fail xf;
        char err[256] = "";
        cr_assert_eq(mx_expect_fail_load(path, &xf, err, sizeof(err)), -1, "%s", bad[i]);
        cr_assert_not_null(strstr(err, ":1: "), "%s", err);
        cr_assert_eq(xf.count, 0);
        unlink(path);
        free(path);
    }
}

/* A results document with one check of each interesting verdict. */
static json_t *sample_results(bool strict) {
    json_error_t error;
    size_t i;
    json_t *check;
    json_t *doc = json_pack_ex(
        &error, 0,
        "{s:s, s:s, s:s, s:b, s:s, s:i, s:{s:[s]}, s:{}, "
        "s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:i, s:["
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[], s:n, s:[], s:[]},"
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[s], s:n, s:[], s:[{s:s, s:{s:s, s:s, "
        "s:s},"
        " s:{s:i, s:s, s:s}, s:f}]},"
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[s], s:n, s:[], s:[]},"
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[], s:s, s:[], s:[]},"
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[], s:n, s:[s], s:[]}]}",
        "tool", "device-conformance", "target", "http://127.0.0.1:1/<&>", "spec_version",
        "1.17", "strict", strict, "started", "2025-01-01T00:00:00Z", "duration_ms", 1234,
        "server_versions", "versions", "v1.17", "capabilities", "totals", "pass", 1,
        "fail", 1, "warn", 1, "skip", 1, "info", 1, "xfail", 0, "xpass", 0, "exit_status",
        1, "checks",
        /* pass */
        "test", "list/LIST_OK", "id", "LIST-OK", "group", "list", "level", "MUST",
        "verdict", "pass", "duration_ms", 5, "description", "d", "messages", "reason",
        "observations", "transcript",
        /* fail with a transcript */
        "test", "uia/UIA_WRONG_PASSWORD__delete_devices", "id", "UIA-WRONG-PASSWORD",
        "group", "uia", "level", "MUST", "verdict", "fail", "duration_ms", 12,
        "description", "wrong password <b>", "messages",
        "expected 401, got 200 & \"ok\"\n(at uia.c:10)", "reason", "observations",
        "transcript", "kind", "exchange", "request", "method", "POST", "path",
        "/_matrix/client/v3/delete_devices", "body",
        "{\"auth\":{\"password\":\"<redacted>\"}}", "response", "status", 200,
        "content_type", "application/json", "body", "{}", "ms", 3.5,
        /* warn */
        "test", "put/PUT_UNKNOWN_ERRCODE", "id", "PUT-UNKNOWN-ERRCODE", "group", "put",
        "level", "SHOULD", "verdict", "warn", "duration_ms", 7, "description", "d",
        "messages", "errcode M_FORBIDDEN | not M_NOT_FOUND", "reason", "observations",
        "transcript",
        /* skip */
        "test", "asc/ASC_CREATE", "id", "ASC-CREATE", "group", "asc", "level", "MUST",
        "verdict", "skip", "duration_ms", 0, "description", "d", "messages", "reason",
        "no appservice # configured", "observations", "transcript",
        /* info */
        "test", "ver/VER_VERSIONS", "id", "VER-VERSIONS", "group", "ver", "level", "INFO",
        "verdict", "info", "duration_ms", 2, "description", "d", "messages", "reason",
        "observations", "versions: v1.17", "transcript");
    cr_assert_not_null(doc, "%s", error.text);
    json_array_foreach(json_object_get(doc, "checks"), i, check) {
        json_object_set_new(check, "spec_notes", json_array());
        json_object_set_new(check, "link", json_null());
        json_object_set_new(check, "blocked_by", json_null());
    }
    json_object_set_new(json_object_get(doc, "totals"), "blocked", json_integer(0));
    json_object_set_new(json_object_get(doc, "totals"), "not_run", json_integer(0));
    json_object_set_new(doc, "verdict", json_string("not conformant"));
    json_object_set_new(doc, "reason", json_null());
    json_object_set_new(doc, "requirements",
                        json_pack("{s:i, s:i}", "judged", 5, "applicable", 5));
    json_object_set_new(doc, "partial", json_false());
    json_object_set_new(doc, "blocked", json_object());
    json_object_set_new(doc, "tls_verification", json_string("on"));
    return doc;
}

/* The sample as a run with --spec-dir: two notes on the passing check and
 * one of them on the failing check. */
static json_t *sample_with_notes(void) {
    json_t *doc = sample_results(false);
    json_t *checks = json_object_get(doc, "checks");
    json_t *changed =
        json_pack("{ss ss ss ss}", "operation", "updateDevice", "version", "1.17", "kind",
                  "changed", "text", "The ability to create <new> devices was added.");
    json_t *added = json_pack("{ss ss ss ss}", "operation", "getDevices", "version",
                              "1.1", "kind", "added", "text", "The endpoint was added.");

    json_object_set_new(doc, "spec_dir", json_string("/spec/v1.17/client-server"));
    json_array_append(json_object_get(json_array_get(checks, 0), "spec_notes"), added);
    json_array_append(json_object_get(json_array_get(checks, 0), "spec_notes"), changed);
    json_array_append(json_object_get(json_array_get(checks, 1), "spec_notes"), changed);
    json_decref(changed);
    json_decref(added);
    return doc;
}

static json_t *load_schema(void) {
    char path[4096];
    json_error_t error;
    json_t *schema;

    snprintf(path, sizeof(path), "%s/report-schema.json", mx_env()->fixtures_dir);
    schema = json_load_file(path, 0, &error);
    cr_assert_not_null(schema, "%s: %s", path, error.text);
    return schema;
}

Test(report_format, sample_validates) {
    json_t *schema = load_schema(), *doc = sample_results(false);
    char err[512];

    cr_assert_eq(mx_schema_validate(schema, doc, err, sizeof(err)), 0, "%s", err);
    json_object_set_new(json_array_get(json_object_get(doc, "checks"), 0), "verdict",
                        json_string("great"));
    cr_assert_eq(mx_schema_validate(schema, doc, err, sizeof(err)), -1);
    json_decref(doc);

    doc = sample_with_notes();
    cr_assert_eq(mx_schema_validate(schema, doc, err, sizeof(err)), 0, "%s", err);
    json_object_set_new(
        json_array_get(json_object_get(json_array_get(json_object_get(doc, "checks"), 1),
                                       "spec_notes"),
                       0),
        "kind", json_string("moved"));
    cr_assert_eq(mx_schema_validate(schema, doc, err, sizeof(err)), -1);
    json_decref(doc);
    json_decref(schema);
}

Test(report_format, junit) {
    json_t *doc = sample_results(false);
    char *xml = render(mx_report_write_junit, doc);

    cr_assert_not_null(strstr(xml, "<testsuites name=\"device-conformance\" tests=\"5\" "
                                   "failures=\"1\" errors=\"0\" skipped=\"1\""),
                       "%s", xml);
    cr_assert_not_null(strstr(xml, "<testsuite name=\"uia\" tests=\"1\" failures=\"1\""));
    cr_assert_not_null(
        strstr(
            xml,
            "message=\"UIA-WRONG-PASSWORD: expected 401, got 200 &amp; &quot;ok&quot;\""),
        "%s", xml);
    cr_assert_not_null(strstr(xml, "&lt;redacted&gt;"));
    cr_assert_not_null(strstr(xml, "<skipped message=\"no appservice # configured\"/>"));
    cr_assert_null(strstr(xml, "<&>"));
    free(xml);
    json_decref(doc);

    /* Under strict a warning is a failure. */
    doc = sample_results(true);
    xml = render(mx_report_write_junit, doc);
    cr_assert_not_null(strstr(xml, "tests=\"5\" failures=\"2\""), "%s", xml);
    free(xml);
    json_decref(doc);
}

Test(report_format, tap) {
    json_t *doc = sample_results(false);
    char *tap = render(mx_report_write_tap, doc);

    cr_assert_not_null(strstr(tap, "TAP version 13\n1..5\n"), "%s", tap);
    cr_assert_not_null(strstr(tap, "ok 1 - LIST-OK list/LIST_OK\n"));
    cr_assert_not_null(strstr(
        tap, "not ok 2 - UIA-WRONG-PASSWORD uia/UIA_WRONG_PASSWORD__delete_devices\n"
             "  ---\n  verdict: fail\n"));
    cr_assert_not_null(
        strstr(tap, "ok 3 - PUT-UNKNOWN-ERRCODE put/PUT_UNKNOWN_ERRCODE\n"));
    cr_assert_not_null(strstr(tap,
                              "ok 4 - ASC-CREATE asc/ASC_CREATE # SKIP no appservice "
                              "\\# configured\n"));
    free(tap);
    json_decref(doc);
}

Test(report_format, summary) {
    json_t *doc = sample_results(false);
    char *md = render(mx_report_write_summary, doc);

    cr_assert_not_null(strstr(md, "**NOT CONFORMANT** (exit 1): 1 pass, 1 fail, 1 warn"),
                       "%s", md);
    cr_assert_not_null(strstr(md,
                              "## Failures\n\n- `UIA-WRONG-PASSWORD` — "
                              "`uia/UIA_WRONG_PASSWORD__delete_devices` — expected 401"));
    cr_assert_not_null(strstr(md, "errcode M_FORBIDDEN \\| not M_NOT_FOUND"));
    cr_assert_not_null(strstr(md, "| uia | 0/1 | 0/0 | 0 | 0 |"));
    cr_assert_not_null(strstr(md, "| put | 0/0 | 0/1 | 0 | 0 |"));
    cr_assert_not_null(strstr(md, "| asc | 0/0 | 0/0 | 0 | 1 |"));
    cr_assert_not_null(strstr(md, "| ver | 0/0 | 0/0 | 1 | 0 |"));
    cr_assert_null(strstr(md, "Spec version notes"), "no notes without --spec-dir");
    free(md);
    json_decref(doc);
}

Test(report_format, summary_spec_notes) {
    json_t *doc = sample_with_notes();
    char *md = render(mx_report_write_summary, doc);

    cr_assert_not_null(strstr(md, "\n## Spec version notes\n\n"), "%s", md);
    cr_assert_not_null(strstr(md, "`/spec/v1.17/client-server`"), "%s", md);
    cr_assert_not_null(strstr(md, "- **1.1** `getDevices` added: The endpoint was added. "
                                  "Requirements: `LIST-OK`\n"),
                       "%s", md);
    cr_assert_not_null(strstr(md, "- **1.17** `updateDevice` changed: The ability to "
                                  "create &lt;new> devices was added. Requirements: "
                                  "`LIST-OK`, `UIA-WRONG-PASSWORD` (fail)\n"),
                       "%s", md);
    free(md);
    json_decref(doc);

    /* A spec without notes on these operations says so in one line. */
    doc = sample_results(false);
    json_object_set_new(doc, "spec_dir", json_string("/spec/v1.16"));
    md = render(mx_report_write_summary, doc);
    cr_assert_not_null(strstr(md, "## Spec version notes\n\nThe spec in `/spec/v1.16` "
                                  "has no "),
                       "%s", md);
    free(md);
    json_decref(doc);
}

Test(report_format, html_spec_notes) {
    json_t *doc = sample_with_notes();
    char *html = render(mx_report_write_html, doc);

    /* A badge per version and kind next to the check, its text on hover. */
    cr_assert_not_null(strstr(html, "<code>LIST-OK</code><details class=\"sn\"><summary "
                                    "title=\"getDevices: The endpoint was added.\">1.1 "
                                    "added</summary>"),
                       "%s", html);
    cr_assert_not_null(strstr(html,
                              "<summary title=\"updateDevice: The ability to create "
                              "&lt;new&gt; devices was added.\">1.17 changed"),
                       "%s", html);
    /* Expanded: the failing check's details and the notes section. */
    cr_assert_not_null(strstr(html, "<li>Spec note: <code>updateDevice</code> changed in "
                                    "1.17: The ability"),
                       "%s", html);
    cr_assert_not_null(strstr(html, "<h2 id=\"spec-notes\">Spec version notes</h2>"));
    cr_assert_not_null(strstr(html, "<a class=\"cell v-fail\" href=\"#t-uia/"
                                    "UIA_WRONG_PASSWORD__delete_devices\">"
                                    "UIA-WRONG-PASSWORD</a>"),
                       "%s", html);
    cr_assert_null(strstr(html, "<new>"));
    free(html);
    json_decref(doc);

    doc = sample_results(false);
    html = render(mx_report_write_html, doc);
    cr_assert_null(strstr(html, "class=\"sn\""));
    cr_assert_null(strstr(html, "spec-notes"));
    free(html);
    json_decref(doc);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void remove_dir(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A spec folder small enough to read at a glance: one added and two changed
 * notes, the second given with a line break. */
static const char tiny_spec[] = "openapi: 3.1.0\n"
                                "info: {title: t, version: \"1\"}\n"
                                "servers:\n"
                                "  - url: \"{protocol}://{hostname}{basePath}\"\n"
                                "    variables:\n"
                                "      protocol: {default: https}\n"
                                "      hostname: {default: localhost}\n"
                                "      basePath: {default: /_matrix/client/v3}\n"
                                "paths:\n"
                                "  /devices:\n"
                                "    get:\n"
                                "      operationId: getDevices\n"
                                "      x-addedInMatrixVersion: \"1.1\"\n"
                                "      responses: {}\n"
                                "  \"/devices/{deviceId}\":\n"
                                "    put:\n"
                                "      operationId: updateDevice\n"
                                "      x-changedInMatrixVersion:\n"
                                "        \"1.17\": |-\n"
                                "          The ability to create\n"
                                "          new devices was added.\n"
                                "        \"1.9\": Something older.\n"
                                "      responses: {}\n";

Test(report_format, spec_notes_from_files) {
    char dir[] = "/tmp/mxdev-notes.XXXXXX", map[4200], err[512];
    struct mx_spec_notes *notes;
    json_t *list;

    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "device_management.yaml", tiny_spec);
    write_file(dir, "map.tsv",
               "# comment\nput\tupdateDevice\nlist\tgetDevices\n"
               "LIST-NAME\t-\nget\tgetDevice,renamedOp\n");
    snprintf(map, sizeof(map), "%s/map.tsv", dir);

    /* Without the optional files a missing operation is not reported: it may
     * live in one of them. */
    notes = mx_spec_notes_load(dir, map, err, sizeof(err));
    cr_assert_not_null(notes, "%s", err);
    cr_assert_str_eq(err, "");
    list = mx_spec_notes_for(notes, "PUT-UPDATE", "put");
    cr_assert_eq(json_array_size(list), 2, "%s", json_dumps(list, 0));
    cr_assert_str_eq(str(json_array_get(list, 0), "version"), "1.9", "oldest first");
    cr_assert_str_eq(str(json_array_get(list, 1), "version"), "1.17");
    cr_assert_str_eq(str(json_array_get(list, 1), "kind"), "changed");
    cr_assert_str_eq(str(json_array_get(list, 1), "operation"), "updateDevice");
    cr_assert_str_eq(str(json_array_get(list, 1), "text"),
                     "The ability to create new devices was added.");
    json_decref(list);
    list = mx_spec_notes_for(notes, "LIST-OK", "list");
    cr_assert_eq(json_array_size(list), 1);
    cr_assert_str_eq(str(json_array_get(list, 0), "kind"), "added");
    cr_assert_str_eq(str(json_array_get(list, 0), "version"), "1.1");
    json_decref(list);
    list = mx_spec_notes_for(notes, "LIST-NAME", "list"); /* the ID row wins */
    cr_assert_eq(json_array_size(list), 0);
    json_decref(list);
    list = mx_spec_notes_for(notes, "UIA-SUCCESS", "uia"); /* no row */
    cr_assert_eq(json_array_size(list), 0);
    json_decref(list);
    mx_spec_notes_free(notes);
    list = mx_spec_notes_for(NULL, "PUT-UPDATE", "put");
    cr_assert_eq(json_array_size(list), 0);
    json_decref(list);

    /* With every file present, an operation no file defines is named. */
    write_file(dir, "whoami.yaml", "openapi: 3.1.0\npaths: {}\n");
    write_file(dir, "logout.yaml", "openapi: 3.1.0\npaths: {}\n");
    write_file(dir, "versions.yaml", "openapi: 3.1.0\npaths: {}\n");
    notes = mx_spec_notes_load(dir, map, err, sizeof(err));
    cr_assert_not_null(notes, "%s", err);
    cr_assert_not_null(strstr(err, "defines no operation getDevice, renamedOp"), "%s",
                       err);
    mx_spec_notes_free(notes);

    /* No spec there: no notes, and why. */
    write_file(dir, "device_management.yaml", "paths: [\n");
    cr_assert_null(mx_spec_notes_load(dir, map, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "device_management.yaml"), "%s", err);
    remove_dir(dir);
}

Test(report_format, spec_notes_map) {
    static const char *const bad[] = {"NOT-A-GROUP\tgetDevices\n", "put updateDevice\n",
                                      "put\tupdate Device\n", "put\t\n",
                                      "put\tupdateDevice\nput\tgetDevice\n"};
    char path[4096], err[512];
    json_t *map;
    const struct mx_requirement *req;

    /* The real mapping: valid, every group has a row, and only operations
     * of the files the reports load. */
    snprintf(path, sizeof(path), "%s/requirement-operations.tsv", mx_env()->fixtures_dir);
    cr_assert_eq(mx_spec_notes_parse_map(path, &map, err, sizeof(err)), 0, "%s", err);
    for (size_t i = 0; i < mx_catalog_count(); i++) {
        req = mx_catalog_at(i);
        cr_assert_not_null(json_object_get(map, req->group), "no row for group %s",
                           req->group);
    }
    cr_assert_eq(json_array_size(json_object_get(map, "err")), 5);
    cr_assert_eq(json_array_size(json_object_get(map, "auth")), 5);
    json_decref(map);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tmp = write_temp(bad[i]);
        map = NULL;
        cr_assert_eq(mx_spec_notes_parse_map(tmp, &map, err, sizeof(err)), -1, "%s",
                     bad[i]);
        cr_assert_null(map);
        cr_assert_not_null(strstr(err, ":1: ") ? err : strstr(err, ":2: "), "%s", err);
        unlink(tmp);
        free(tmp);
    }
}

Test(report_format, html) {
    json_t *doc = sample_results(false);
    char *html = render(mx_report_write_html, doc);

    cr_assert_not_null(strstr(html, "<!DOCTYPE html>"));
    cr_assert_not_null(strstr(html, "http://127.0.0.1:1/&lt;&amp;&gt;"));
    cr_assert_not_null(strstr(html, "NOT CONFORMANT"));
    cr_assert_not_null(strstr(html, "<a class=\"cell v-fail\" href=\"#t-uia/"
                                    "UIA_WRONG_PASSWORD__delete_devices\""),
                       "%s", html);
    cr_assert_not_null(strstr(html, "<a class=\"cell v-none\""));
    cr_assert_not_null(strstr(html, "<details open>"));
    cr_assert_not_null(strstr(html, "&lt;b&gt;"));
    cr_assert_null(strstr(html, "<b>\n"));
    cr_assert_null(strstr(html, "src=\""), "no external assets");
    cr_assert_null(strstr(html, "href=\"http"), "no external assets");
    free(html);
    json_decref(doc);
}

Test(report_format, results_file) {
    const char *path = getenv("MXDEV_RESULTS_JSON");
    json_t *schema, *doc;
    json_error_t error;
    char err[512];

    if (!path || !*path)
        cr_skip_test("MXDEV_RESULTS_JSON not set");
    schema = load_schema();
    doc = json_load_file(path, 0, &error);
    cr_assert_not_null(doc, "%s: %s", path, error.text);
    cr_assert_eq(mx_schema_validate(schema, doc, err, sizeof(err)), 0, "%s: %s", path,
                 err);
    json_decref(doc);
    json_decref(schema);
}
