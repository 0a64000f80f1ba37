/* The report hooks on a run that is cut short: a test stops the run
 * (mx_record_abort_run, as provisioning does when registration is closed),
 * another is kept from running by it, and one is stopped in .init by the
 * deadline the way the harness did before the not_run record. Like
 * test_report_hooks.c this program has its own main: it runs the sample
 * tests, then checks the exit status, the verdicts and the five files. */
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

#define REPORT_TEST "test_report_abort"
#include "report_run.h"

#define WHY "registration is closed and no --user accounts were given"

Test(list, LIST_OK) {}

Test(list, LIST_ALL) {
    mx_record_abort_run(2, WHY);
    mx_record_not_run(WHY);
    cr_skip_test("aborted");
}

Test(list, LIST_SELF) {
    /* What the harness does when it finds the abort document. */
    json_t *doc = mx_record_read_abort(mx_env()->report_dir);
    if (doc) {
        mx_record_not_run(json_string_value(json_object_get(doc, "reason")));
        json_decref(doc);
        cr_skip_test("aborted");
    }
}

static void on_init_deadline(void) {
    cr_assert_fail("[LIST-NAME] not run: the run's --deadline passed before this check "
                   "started");
}

Test(list, LIST_NAME, .init = on_init_deadline) {}

static void check_outputs(const char *dir, int status) {
    static const char *const files[] = {"results.json", "junit.xml", "results.tap",
                                        "summary.md", "report.html"};
    char path[4096];
    json_t *results;
    char *console = slurp(dir, "console.txt");
    const char *first;

    expect_that(status == 2, "the run does not end with the abort's exit status 2");
    snprintf(path, sizeof(path), "%s/results.json", dir);
    results = json_load_file(path, 0, NULL);
    expect_that(results != NULL, "no results.json");
    if (results) {
        expect_that(strcmp(json_string_value(json_object_get(results, "verdict")),
                           "aborted") == 0,
                    "verdict is not aborted");
        expect_that(json_integer_value(json_object_get(results, "exit_status")) == 2,
                    "results.json exit_status is not 2");
        expect_that(strcmp(verdict_of_test(results, "list/LIST_OK"), "pass") == 0,
                    "LIST-OK did not pass");
        expect_that(strcmp(verdict_of_test(results, "list/LIST_ALL"), "not_run") == 0,
                    "the aborting check is not not_run");
        expect_that(strcmp(verdict_of_test(results, "list/LIST_SELF"), "not_run") == 0,
                    "the check after the abort is not not_run");
        expect_that(strcmp(verdict_of_test(results, "list/LIST_NAME"), "not_run") == 0,
                    "the check stopped by the deadline in .init is not not_run");
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *text = slurp(dir, files[i]);
        expect_that(text && strstr(text, WHY),
                    "a report does not give the abort's reason");
        expect_that(!text || !strstr(text, "a bug in the suite"),
                    "a check not run is reported as a crash");
        free(text);
    }
    expect_that(console != NULL, "no console.txt");
    if (console) {
        first = strstr(console, "\naborted: " WHY "\n");
        expect_that(first != NULL, "the closing lines do not start with the reason");
        expect_that(first && !strstr(first + 1, "\naborted: "),
                    "the reason is printed more than once");
        expect_that(strstr(console, "ABORTED") != NULL,
                    "the verdict line is not ABORTED");
    }
    json_decref(results);
    free(console);
}

int main(int argc, char **argv) {
    char dir[] = "/tmp/mxdev-report-abort.XXXXXX";
    char err[512];
    struct criterion_test_set *tests;
    struct mx_report_config cfg = {.target = "http://127.0.0.1:1", .spec_version = 117};
    int status;

    if (!mkdtemp(dir))
        return 99;
    cfg.dir = dir;
    setenv("MXDEV_REPORT_DIR", dir, 1);
    unsetenv("MXDEV_SPEC_DIR");
    mx_env_reload();

    tests = criterion_initialize();
    if (mx_report_init(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "mx_report_init: %s\n", err);
        return 99;
    }
    criterion_options.logging_threshold = CRITERION_IMPORTANT;
    /* One test at a time, in order (criterion sorts by name): LIST_ALL
     * aborts before LIST_SELF starts. */
    criterion_options.jobs = 1;
    status = run_to_console(argc, argv, tests, dir);
    if (status < 0)
        return 99;

    check_outputs(dir, status);
    return finish(dir);
}
