/* The report hooks end to end, without a homeserver: this program has its own
 * main, which sets up the report layer as the runner does, runs the sample
 * tests below (most fail on purpose, in every way the hooks must tell apart),
 * and then checks the verdicts and files they produced. Its exit status is
 * that of the checks, not of the sample tests. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../report/report_hooks.c"
#include "../report/report_escape.c"
#include "../report/report_spec.c"
#include "../report/report_text.c"
#include "../report/report_write.c"

#include "mx_env.h"
#include "mx_record.h"
#include "mx_redact.h"
#include "mx_schema.h"

#define REPORT_TEST "test_report_hooks"
#include "report_run.h"

#define SECRET "s3cr3t-token-value"

static void on_init_skip(void) {
    mx_record_skip("no application service configured");
    cr_skip_test("no application service configured");
}

Test(list, LIST_OK) {
    mx_record_exchange("GET", "/_matrix/client/v3/devices?access_token=" SECRET, NULL,
                       200, "application/json", "{\"devices\":[]}", 1.5);
    /* A cross-cutting rule with no check in this run: a synthesized
     * err/ERR_JSON__observed check fails; LIST-OK itself still passes. */
    mx_record_crosscut("ERR-JSON", "GET", "/_matrix/client/v3/devices", 200,
                       "Content-Type text/plain");
}

/* Passes on its own; the ERR-SHAPE observations of other checks fail it. */
Test(err, ERR_SHAPE) {}

/* Cannot reach its question: blocked by LIST-SELF, charged to LIST-SELF
 * (not in this run: synthesized). */
Test(get, GET_OK) {
    mx_record_exchange("GET", "/_matrix/client/v3/devices", NULL, 500, "application/json",
                       "{\"errcode\":\"M_UNKNOWN\"}", 1.0);
    mx_record_blocked("LIST-SELF", "GET /devices answered 500");
    cr_assert_fail("[GET-OK] [blocked by LIST-SELF] GET /devices answered 500");
}

/* An assertion of its own failed first: a plain failure. */
Test(get, GET_ENCODED) {
    cr_expect(0, "[GET-ENCODED] its own rule broke first");
    mx_record_blocked("LIST-SELF", "GET /devices answered 500 again");
    cr_assert_fail("[GET-ENCODED] [blocked by LIST-SELF] GET /devices answered 500");
}

/* Never started its work. */
Test(put, PUT_EMPTY) {
    mx_record_not_run("the run's --deadline passed before this check started");
    cr_skip_test("not run");
}

/* Today's harness: the deadline stops the check with an assertion. */
Test(put, PUT_UNICODE) {
    cr_assert_fail("[PUT-UNICODE] not run: the run's --deadline passed before this check "
                   "started");
}

Test(uia, UIA_WRONG_PASSWORD__delete_devices) {
    mx_record_exchange(
        "POST", "/_matrix/client/v3/delete_devices",
        "{\"auth\":{\"type\":\"m.login.password\",\"password\":\"hunter2\"}}", 200,
        "application/json", "{}", 2.0);
    mx_record_crosscut("ERR-SHAPE", "POST", "/_matrix/client/v3/delete_devices", 400,
                       "no \"error\" string");
    cr_expect(0, "expected 401, got 200 <&>\nsecond line");
    cr_expect(0, "token " SECRET " leaked");
}

Test(put, PUT_UNKNOWN_ERRCODE) {
    cr_assert(0, "errcode M_FORBIDDEN, expected M_NOT_FOUND");
}

Test(put, PUT_LONG_NAME) {
    mx_record_observation("a 200-character name was stored");
}

Test(ver, VER_VERSIONS) {
    cr_assert(0, "no /versions answer");
}

Test(asc, ASC_CREATE, .init = on_init_skip) {}

Test(get, GET_UNKNOWN) {
    exit(4);
}

Test(del, DEL_UNKNOWN) {
    cr_assert(0, "404");
}

Test(del, DEL_IDEMPOTENT) {}

Test(del, BULK_DELETE) {}

/* The run had --spec-dir (a small spec written by main): its version notes
 * reach the checks of the groups that exercise the noted operations, per
 * fixtures/requirement-operations.tsv, and the summary and HTML show them. */
static void check_spec_notes(const char *dir, const json_t *results) {
    const json_t *put = check_of_test(results, "put/PUT_UNKNOWN_ERRCODE");
    const json_t *list = check_of_test(results, "list/LIST_OK");
    const json_t *uia = check_of_test(results, "uia/UIA_WRONG_PASSWORD__delete_devices");
    const json_t *notes = json_object_get(put, "spec_notes");
    const json_t *note = json_array_get(notes, 0);
    char *summary = slurp(dir, "summary.md"), *html = slurp(dir, "report.html");

    expect_that(json_is_string(json_object_get(results, "spec_dir")),
                "results.json has no spec_dir");
    expect_that(json_array_size(notes) == 1, "PUT-UNKNOWN-ERRCODE: not one spec note");
    expect_that(
        note &&
            strcmp(json_string_value(json_object_get(note, "operation")),
                   "updateDevice") == 0 &&
            strcmp(json_string_value(json_object_get(note, "version")), "1.17") == 0 &&
            strcmp(json_string_value(json_object_get(note, "kind")), "changed") == 0 &&
            strcmp(json_string_value(json_object_get(note, "text")),
                   "The ability to create new devices was added.") == 0,
        "PUT-UNKNOWN-ERRCODE: wrong spec note");
    expect_that(json_array_size(json_object_get(list, "spec_notes")) == 0,
                "LIST-OK: a spec note where the spec has none");
    expect_that(json_array_size(json_object_get(uia, "spec_notes")) == 0,
                "UIA-WRONG-PASSWORD: a spec note where the spec has none");
    expect_that(summary && strstr(summary,
                                  "- **1.17** `updateDevice` changed: The "
                                  "ability to create new devices was added. "
                                  "Requirements: `ERR-JSON` (fail), `ERR-SHAPE` (fail), "
                                  "`PUT-EMPTY` (not_run), `PUT-UNICODE` "
                                  "(not_run), `PUT-UNKNOWN-ERRCODE` (warn)"),
                "summary.md: no spec version note for PUT-UNKNOWN-ERRCODE");
    /* The badge follows the ID (after its spec link, when it has one). */
    bool badge = false;
    for (const char *at = html ? strstr(html, "<code>PUT-UNKNOWN-ERRCODE</code>") : NULL;
         at && !badge; at = strstr(at + 1, "<code>PUT-UNKNOWN-ERRCODE</code>")) {
        const char *next = strstr(at, "<details class=\"sn\">");
        const char *row_end = strstr(at, "</td>");
        badge = next && (!row_end || next < row_end);
    }
    expect_that(badge, "report.html: no spec note badge next to PUT-UNKNOWN-ERRCODE");
    free(summary);
    free(html);
}

#define LINK                                                                             \
    "https://spec.matrix.org/v1.17/client-server-api/"                                   \
    "#user-interactive-authentication-api"

/* Cross-cutting charges, blocked and not-run checks, links, and the console. */
static void check_new_verdicts(const char *dir) {
    char path[4096];
    json_t *results;
    const json_t *c;
    char *console = slurp(dir, "console.txt");
    const char *m;

    snprintf(path, sizeof(path), "%s/results.json", dir);
    results = json_load_file(path, 0, NULL);
    if (!results || !console) {
        expect_that(false, "no results.json or console.txt");
        goto out;
    }
    c = check_of_test(results, "err/ERR_SHAPE");
    m = json_string_value(json_array_get(json_object_get(c, "messages"), 0));
    expect_that(m && strcmp(m,
                            "[ERR-SHAPE] seen in uia/UIA_WRONG_PASSWORD__delete_devices: "
                            "POST /_matrix/client/v3/delete_devices -> 400: no "
                            "\"error\" string") == 0,
                "ERR-SHAPE does not say where its violation was seen");
    c = check_of_test(results, "uia/UIA_WRONG_PASSWORD__delete_devices");
    expect_that(json_array_size(json_object_get(c, "messages")) == 2,
                "the check that saw a cross-cut violation got it among its own messages");
    expect_that(strcmp(json_string_value(json_object_get(c, "link")), LINK) == 0,
                "UIA-WRONG-PASSWORD has no versioned spec link");
    c = check_of_test(results, "get/GET_OK");
    expect_that(strcmp(json_string_value(json_object_get(c, "reason")),
                       "blocked by LIST-SELF: GET /devices answered 500") == 0,
                "GET-OK: wrong blocked reason");
    expect_that(
        strcmp(json_string_value(json_object_get(c, "blocked_by")), "LIST-SELF") == 0,
        "GET-OK: no blocked_by");
    c = check_of_test(results, "list/LIST_SELF__observed");
    expect_that(json_array_size(json_object_get(c, "messages")) == 2,
                "LIST-SELF does not list both checks it blocked");
    expect_that(json_integer_value(json_object_get(json_object_get(results, "blocked"),
                                                   "LIST-SELF")) == 1,
                "results.json blocked summary");
    expect_that(json_is_true(json_object_get(results, "partial")), "not partial");
    expect_that(strcmp(json_string_value(json_object_get(results, "verdict")),
                       "not conformant") == 0,
                "verdict is not \"not conformant\"");
    expect_that(strstr(console, "\nBLOCKD GET-OK ") != NULL, "no BLOCKD console line");
    expect_that(strstr(console, "\nNOTRUN PUT-EMPTY ") != NULL, "no NOTRUN console line");
    expect_that(strstr(console, "       spec: " LINK "\n") != NULL,
                "no spec link under the failing console line");
    expect_that(strstr(console,
                       "       request: POST /_matrix/client/v3/delete_devices -> "
                       "200\n") != NULL,
                "the failing console line does not name its request");
    expect_that(
        strstr(console, "NOT CONFORMANT (partial: 13 of 67 requirements judged)") != NULL,
        "no partial verdict on the console");
    expect_that(strstr(console, "\nblocked: 1 check, by LIST-SELF (1)\n") != NULL,
                "the closing lines do not say what blocked");
    expect_that(strstr(console, "hunter3") == NULL, "the URL's password on the console");
    {
        char *summary = slurp(dir, "summary.md"), *html = slurp(dir, "report.html");
        expect_that(summary && strstr(summary, "**Blocked:** 1 check, by LIST-SELF (1)"),
                    "summary.md does not say what blocked");
        expect_that(html && strstr(html, "<b>Blocked:</b> 1 check, by LIST-SELF (1)"),
                    "report.html does not say what blocked");
        free(summary);
        free(html);
    }
out:
    json_decref(results);
    free(console);
}

/* A run that could not judge the server replaces an earlier run's reports
 * with its own, in a report folder that did not exist yet. */
static void check_unjudged(const char *base) {
    char dir[4096], path[4200];
    struct mx_report_config cfg = {.target = "https://bob:hunter3@example.org",
                                   .spec_version = 117};
    static const char *const files[] = {"results.json", "junit.xml", "results.tap",
                                        "summary.md", "report.html"};
    json_t *results;

    snprintf(dir, sizeof(dir), "%s/new/reports", base);
    cfg.dir = dir;
    expect_that(mx_report_write_unjudged(&cfg, 3, "cannot reach it: refused") == 0,
                "mx_report_write_unjudged failed");
    snprintf(path, sizeof(path), "%s/results.json", dir);
    results = json_load_file(path, 0, NULL);
    expect_that(results &&
                    json_integer_value(json_object_get(results, "exit_status")) == 3 &&
                    strcmp(json_string_value(json_object_get(results, "verdict")),
                           "not judged") == 0,
                "unjudged results.json: wrong exit status or verdict");
    json_decref(results);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *text = slurp(dir, files[i]);
        expect_that(text && strstr(text, "cannot reach it: refused"),
                    "an unjudged report does not say why");
        expect_that(!text || !strstr(text, "hunter3"),
                    "an unjudged report has the password");
        free(text);
    }
    {
        char *tap = slurp(dir, "results.tap"), *junit = slurp(dir, "junit.xml");
        expect_that(tap && strstr(tap, "Bail out! cannot reach it"), "no TAP Bail out!");
        expect_that(junit && strstr(junit, "<error message="), "no JUnit <error>");
        free(tap);
        free(junit);
    }
}

static void check_outputs(const char *dir, int status) {
    static const struct {
        const char *test, *verdict;
    } want[] = {
        {"list/LIST_OK", "pass"},
        {"uia/UIA_WRONG_PASSWORD__delete_devices", "fail"},
        {"put/PUT_UNKNOWN_ERRCODE", "warn"},
        {"put/PUT_LONG_NAME", "info"},
        {"ver/VER_VERSIONS", "fail"}, /* an INFO check that failed: the suite's bug */
        {"asc/ASC_CREATE", "skip"},
        {"get/GET_UNKNOWN", "fail"},
        {"del/DEL_UNKNOWN", "xfail"},
        {"del/DEL_IDEMPOTENT", "xpass"},
        {"del/BULK_DELETE", "pass"},
        {"err/ERR_SHAPE", "fail"},
        {"err/ERR_JSON__observed", "fail"},
        {"get/GET_OK", "blocked"},
        {"get/GET_ENCODED", "fail"},
        {"list/LIST_SELF__observed", "fail"},
        {"put/PUT_EMPTY", "not_run"},
        {"put/PUT_UNICODE", "not_run"},
    };
    static const char *const files[] = {"results.json", "junit.xml", "results.tap",
                                        "summary.md", "report.html"};
    char path[4096], err[512];
    json_error_t jerr;
    json_t *results, *schema;

    expect_that(status == 1, "exit status is not 1");
    check_new_verdicts(dir);
    snprintf(path, sizeof(path), "%s/results.json", dir);
    results = json_load_file(path, 0, &jerr);
    expect_that(results != NULL, "results.json missing or not JSON");
    if (!results)
        return;
    snprintf(path, sizeof(path), "%s/report-schema.json", mx_env()->fixtures_dir);
    schema = json_load_file(path, 0, &jerr);
    expect_that(schema && mx_schema_validate(schema, results, err, sizeof(err)) == 0,
                "results.json does not validate against report-schema.json");
    expect_that(json_array_size(json_object_get(results, "checks")) == 17,
                "not 17 checks");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *got = verdict_of_test(results, want[i].test);
        if (strcmp(got, want[i].verdict) != 0) {
            fprintf(stderr, "test_report_hooks: %s: verdict %s, want %s\n", want[i].test,
                    got, want[i].verdict);
            problems++;
        }
    }
    check_spec_notes(dir, results);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *text = slurp(dir, files[i]);
        expect_that(text != NULL, files[i]);
        if (!text)
            continue;
        expect_that(strstr(text, SECRET) == NULL, "a registered secret reached a report");
        expect_that(strstr(text, "hunter2") == NULL, "a password reached a report");
        expect_that(strstr(text, "hunter3") == NULL,
                    "the password of the homeserver URL reached a report");
        expect_that(strstr(text, LINK) != NULL, "a report misses the spec link");
        expect_that(strstr(text, "not verified") != NULL ||
                        strstr(text, "\"tls_verification\": \"off\"") != NULL,
                    "a report does not say that certificates were not verified");
        expect_that(strstr(text, "partial: 13 of 67 requirements judged") != NULL ||
                        strstr(text, "\"partial\": true") != NULL,
                    "a report does not give the partial verdict");
        expect_that(strstr(text, "UIA-WRONG-PASSWORD") != NULL,
                    "a report misses the failure");
        free(text);
    }
    json_decref(schema);
    json_decref(results);
}

int main(int argc, char **argv) {
    char dir[] = "/tmp/mxdev-report-hooks.XXXXXX";
    char xf_path[4096], err[512], spec_dir[4096], spec_path[4200];
    FILE *xf;
    struct criterion_test_set *tests;
    json_t *versions = json_pack("{s:[s]}", "versions", "v1.17");
    json_t *capabilities =
        json_pack("{s:b, s:s}", "appservice", 0, "tls_verification", "off");
    struct mx_report_config cfg = {.target = "http://alice:hunter3@127.0.0.1:1",
                                   .spec_version = 117,
                                   .strict = false,
                                   .versions = versions,
                                   .capabilities = capabilities};
    int status;

    if (!mkdtemp(dir))
        return 99;
    snprintf(xf_path, sizeof(xf_path), "%s/expect-fail.txt", dir);
    xf = fopen(xf_path, "w");
    if (!xf)
        return 99;
    fputs("DEL-UNKNOWN  # known 404\ndel/DEL_IDEMPOTENT\n", xf);
    fclose(xf);
    /* A spec folder with one version note, on the operation of the put group. */
    snprintf(spec_dir, sizeof(spec_dir), "%s/spec", dir);
    snprintf(spec_path, sizeof(spec_path), "%s/device_management.yaml", spec_dir);
    if (mkdir(spec_dir, 0700) < 0)
        return 99;
    xf = fopen(spec_path, "w");
    if (!xf)
        return 99;
    fputs("openapi: 3.1.0\n"
          "servers: [{url: \"https://localhost/_matrix/client/v3\"}]\n"
          "paths:\n"
          "  \"/devices/{deviceId}\":\n"
          "    put:\n"
          "      operationId: updateDevice\n"
          "      x-changedInMatrixVersion:\n"
          "        \"1.17\": The ability to create new devices was added.\n"
          "      responses: {}\n",
          xf);
    fclose(xf);
    setenv("MXDEV_SPEC_DIR", spec_dir, 1);
    cfg.dir = dir;
    cfg.expect_fail_file = xf_path;
    /* The test processes write their side channel where the runner reads. */
    setenv("MXDEV_REPORT_DIR", dir, 1);
    mx_env_reload();
    mx_redact_secret(SECRET);

    if (mx_catalog_ensure(err, sizeof(err)) < 0) {
        fprintf(stderr, "requirement catalogue: %s\n", err);
        return 2;
    }

    tests = criterion_initialize();
    if (mx_report_init(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "mx_report_init: %s\n", err);
        return 99;
    }
    json_decref(versions);
    json_decref(capabilities);
    criterion_options.logging_threshold = CRITERION_IMPORTANT;
    fputs("test_report_hooks: most sample tests below fail on purpose\n", stderr);
    /* The console lines go to console.txt for the checks below. */
    status = run_to_console(argc, argv, tests, dir);
    if (status < 0)
        return 99;

    check_outputs(dir, status);
    check_unjudged(dir);
    return finish(dir);
}
