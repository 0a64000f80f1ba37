/* What the report tests that run whole sample suites share
 * (test_report_abort.c, test_report_hooks.c): running the tests with stdout
 * in console.txt, reading the report files back, and counting problems.
 * Define REPORT_TEST (the program's name) before including this, after the
 * report sources. */
#ifndef REPORT_RUN_H
#define REPORT_RUN_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int problems;

static inline void expect_that(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, REPORT_TEST ": %s\n", what);
        problems++;
    }
}

/* dir/name read whole (new, NUL-terminated), or NULL. */
static inline char *slurp(const char *dir, const char *name) {
    char path[4096], *buf = NULL;
    FILE *f;
    long n;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return NULL;
    f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc((size_t)n + 1, 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The check of results.json run as test ("group/NAME"; borrowed), or NULL. */
static inline const json_t *check_of_test(const json_t *results, const char *test) {
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(results, "checks"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "test")), test) == 0)
            return c;
    }
    return NULL;
}

static inline const char *verdict_of_test(const json_t *results, const char *test) {
    const json_t *c = check_of_test(results, test);

    return c ? json_string_value(json_object_get(c, "verdict")) : "(missing)";
}

/* Runs the tests with the runner's stdout in dir/console.txt; returns the
 * run's exit status, or -1 when stdout cannot be redirected. */
static inline int run_to_console(int argc, char *argv[], struct criterion_test_set *tests,
                                 const char *dir) {
    char console[4200];
    int status, saved_stdout;

    snprintf(console, sizeof(console), "%s/console.txt", dir);
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    if (saved_stdout < 0 || !freopen(console, "w", stdout))
        return -1;
    if (criterion_handle_args(argc, argv, true))
        criterion_run_all_tests(tests);
    criterion_finalize(tests);
    status = mx_report_exit_status();
    fflush(stdout);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    return status;
}

/* The program's exit status: 0 and dir removed when there was no problem,
 * else 1 and dir kept for a look. */
static inline int finish(const char *dir) {
    if (problems == 0) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, REPORT_TEST ": %d problem(s); reports kept in %s\n", problems,
                dir);
    }
    return problems == 0 ? 0 : 1;
}

#endif
