/* device-conformance: the runner. A run, in order:
 *
 *   1. read the options (options.c: one table declares them all);
 *   2. check the whole configuration, every problem reported at once, before
 *      the first request (exit 2);
 *   3. probe the homeserver (probe.c; exit 3 when it cannot be judged);
 *   4. hand the configuration to the test processes as MXDEV_* variables
 *      (criterion runs every test in its own process, which reads them
 *      through mx_env());
 *   5. run the checks under criterion, the report layer listening;
 *   6. exit with the report layer's verdict: SHOULD failures (outside
 *      --strict) and INFO checks do not fail a run.
 *
 * Exit status: 0 conformant, 1 conformance failures or checks not run, 2
 * usage or configuration error, 3 homeserver unreachable or not speaking
 * Matrix, 4 no check judged, 130/143 interrupted (mx_report.h).
 */
#include <criterion/criterion.h>
#include <criterion/options.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appservice.h"
#include "mx_catalog.h"
#include "mx_client.h"
#include "mx_env.h"
#include "mx_explore.h"
#include "mx_record.h"
#include "mx_report.h"
#include "mx_session.h"
#include "options.h"
#include "probe.h"
#include "report_internal.h"
#include "select.h"
#include "server_config.h"

/* ---- the files the configuration names ---- */

static bool is_file(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --spec-dir: the client-server folder of a matrix-spec checkout, or the
 * checkout itself (then its data/api/client-server is used). */
static void check_spec_dir(struct options *o) {
    static char sub[4096];
    if (!o->spec_dir || access(o->spec_dir, R_OK | X_OK) < 0)
        return; /* unset, or already reported */
    if (is_file(o->spec_dir, "device_management.yaml"))
        return;
    snprintf(sub, sizeof(sub), "%s/data/api/client-server", o->spec_dir);
    if (is_file(sub, "device_management.yaml")) {
        o->spec_dir = sub;
        return;
    }
    options_problem(o,
                    "--spec-dir %s: no device_management.yaml in it nor in its "
                    "data/api/client-server (expected a matrix-spec checkout or its "
                    "data/api/client-server folder)",
                    o->spec_dir);
}

/* --expect-fail: every entry the catalogue does not know, each on its own. */
static void check_expect_fail(struct options *o) {
    struct mx_expect_fail xf;
    char err[4096];
    if (!o->expect_fail || access(o->expect_fail, R_OK) < 0)
        return;
    if (mx_expect_fail_load(o->expect_fail, &xf, err, sizeof(err)) == 0) {
        mx_expect_fail_free(&xf);
        return;
    }
    for (char *line = err, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        options_problem(o, "--expect-fail %s", line);
    }
}

/* --baseline: an earlier run's results.json; --write-expect-fail: a file
 * that can be written (its folder exists). */
static void check_baseline(struct options *o) {
    char err[4096];
    json_t *baseline;

    if (o->baseline && access(o->baseline, R_OK) == 0) {
        baseline = mx_baseline_load(o->baseline, err, sizeof(err));
        if (!baseline)
            options_problem(o, "--baseline %s", err);
        json_decref(baseline);
    }
    if (o->write_expect_fail) {
        char *copy = strdup(o->write_expect_fail);
        const char *dir = copy ? dirname(copy) : ".";
        if (!*o->write_expect_fail)
            options_problem(o, "--write-expect-fail: empty file name");
        else if (access(dir, W_OK | X_OK) < 0)
            options_problem(o, "--write-expect-fail %s: folder %s: %s",
                            o->write_expect_fail, dir, strerror(errno));
        free(copy);
    }
}

/* --format json and --quiet: the console stream is the real stdout, kept
 * apart; stdout itself (the header, check lines, exploration, and anything a
 * library prints) goes to /dev/null. Returns the console stream. */
static FILE *take_console(const struct options *o) {
    int keep, devnull;
    FILE *con;

    if (strcmp(o->format, "json") != 0 && !o->quiet)
        return stdout;
    fflush(stdout);
    keep = dup(STDOUT_FILENO);
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    con = keep >= 0 ? fdopen(keep, "w") : NULL;
    if (!con || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
        fprintf(stderr, "error: cannot set up the console for --%s: %s\n",
                o->quiet ? "quiet" : "format json", strerror(errno));
        exit(EXIT_CONFIG);
    }
    fcntl(keep, F_SETFD, FD_CLOEXEC);
    close(devnull);
    return con;
}

static void make_run_id(char *buf, size_t len) {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[8];
    size_t n = len - 1 < sizeof(raw) ? len - 1 : sizeof(raw);
    if (getrandom(raw, n, 0) != (ssize_t)n) {
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)rand_r(&seed);
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
    buf[n] = '\0';
}

/* ---- deadline watchdog ---- */

static void on_watchdog(int sig) {
    (void)sig;
    static const char msg[] =
        "error: the run exceeded its --deadline by its grace period; the homeserver "
        "stopped answering? aborting\n";
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do in a signal handler */
    }
    _exit(EXIT_UNREACHABLE);
}

/* --deadline S: tests that start after S seconds skip themselves
 * (MXDEV_DEADLINE_AT, checked by mx_test_init); criterion kills any single
 * test running longer than S; and should the runner itself still be going
 * S + grace seconds later, it gives up with exit status 3. */
static void arm_deadline(const struct options *o) {
    if (o->deadline_s <= 0)
        return;
    criterion_options.timeout = (double)o->deadline_s;
    long grace = 2 * o->timeout_s + 30;
    signal(SIGALRM, on_watchdog);
    alarm((unsigned)(o->deadline_s * 2 + grace));
}

/* --explore: random operations against the model of a correct server, in
 * this process, before the checks; its result goes into every report. */
static void explore(const struct options *o) {
    struct mx_explore_config cfg = {
        .steps = o->explore_steps,
        .seed = (unsigned long long)o->explore_seed,
        .strict = o->strict,
        .appservice = true,
    };
    char replay[1024] = "";
    char err[512];
    json_t *result = NULL;

    if (cfg.seed == 0 && getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
        cfg.seed = (unsigned long long)time(NULL);
    cfg.seed &= 0x7fffffffffffffffULL; /* --seed takes what it prints */
    if (o->as_registration)
        snprintf(replay, sizeof(replay), "--as-registration %s", o->as_registration);
    cfg.replay_args = replay;
    /* Requirements listed by ID in --expect-fail are known breaks, not
     * divergences to stop on. */
    struct mx_expect_fail xf = {0};
    const char **known = NULL;
    if (o->expect_fail &&
        mx_expect_fail_load(o->expect_fail, &xf, err, sizeof(err)) == 0) {
        size_t n = 0;
        known = calloc(xf.count + 1, sizeof(*known));
        for (size_t i = 0; known && i < xf.count; i++)
            if (!strchr(xf.entries[i].key, '/'))
                known[n++] = xf.entries[i].key;
    }
    cfg.known = known;
    mx_env_reload();
    if (mx_client_global_init() < 0)
        options_die("cannot initialise libcurl");
    printf("\nexploration: %ld steps, seed %llu\n", cfg.steps, cfg.seed);
    if (mx_explore_run(&cfg, &result, err, sizeof(err)) < 0) {
        /* A run that cannot explore is as unjudged as one that cannot probe. */
        mx_arena_free();
        mx_client_global_cleanup();
        options_die("--explore: %s", err);
    }
    mx_explore_print(result, stdout);
    printf("\n");
    fflush(stdout);
    mx_report_add_exploration(result);
    json_decref(result);
    free(known);
    mx_expect_fail_free(&xf);
    mx_arena_free();
    mx_client_global_cleanup();
    mx_env_reload();
}

/* What the reports of a run that ends without judging need to know. */
static void prepare_unjudged(const struct options *o, enum mx_console_mode mode,
                             FILE *console) {
    mx_report_prepare_unjudged(&(struct mx_report_config){
        .dir = o->report_dir,
        .target = o->display_url,
        .spec_version = o->spec_version,
        .strict = o->strict,
        .console_mode = mode,
        .console = console,
    });
}

static int run_criterion(int argc, char **argv, const char *pattern) {
    struct criterion_test_set *tests = criterion_initialize();
    /* The report layer prints one line per check and the reason of each
     * failure; the full messages and transcripts are in the reports.
     * MXDEV_CRITERION_VERBOSE=1 brings criterion's own output back. */
    const char *verbose = getenv("MXDEV_CRITERION_VERBOSE");
    criterion_options.logging_threshold = CRITERION_IMPORTANT;
    /* A logger with no callbacks: criterion skips each log event (its quiet
     * level would also silence the report hooks' own stdout). */
    static struct criterion_logger silent_logger;
    if (!(verbose && strcmp(verbose, "1") == 0))
        criterion_options.logger = &silent_logger;
    criterion_options.short_filename = true;
    /* Our getopt_long pass left its state behind; 0 makes glibc start over. */
    optind = 0;
    int keep_going = criterion_handle_args(argc, argv, true);
    /* --only/--group: tests outside the pattern are never started, so the
     * reports leave them out. */
    if (pattern)
        criterion_options.pattern = pattern;
    if (!keep_going) {
        criterion_finalize(tests);
        return -1;
    }
    criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return 0;
}

/* The sessions the checks handed on to each other end with the run (the
 * report layer calls this before it sums the run's costs). */
static void end_sessions(const char *report_dir) {
    if (mx_client_global_init() < 0)
        return;
    mx_session_end_run(report_dir);
    mx_arena_free();
    mx_client_global_cleanup();
}

/* A malformed MXDEV_* variable is a configuration error (exit 2). */
static void check_env(void) {
    const char *problem = mx_env_problem();
    if (problem)
        options_die("%s", problem);
}

/* The runner records no transcript: it only counts what it sends. */
static const struct mx_client_observer runner_observer = {
    .on_attempt = mx_record_cost_note,
};

int main(int argc, char **argv) {
    struct options o;
    struct appservice as = {0};
    struct probe pr = {0};
    char run_id[9];
    char *pattern = NULL;
    char catalog_err[512];
    int status;

    /* The runner's own requests (the probe, the exploration) go where the
     * configuration says, and count in the run's cost. */
    mx_client_set_config(mx_env_client_config);
    mx_client_set_observer(&runner_observer);
    options_parse(&o, argc, argv);
    if (o.help) {
        options_usage(stdout);
        options_free(&o);
        return 0;
    }
    if (o.list_options) {
        options_list(stdout);
        options_free(&o);
        return 0;
    }
    if (o.version) {
        printf("device-conformance %s\n", MXDEV_VERSION);
        options_free(&o);
        return 0;
    }
    if (o.print_server_config || o.as_registration_out) {
        options_fail_on_problems(&o);
        status = mx_print_server_config(o.print_server_config, o.as_registration_out,
                                        o.homeserver, stdout);
        options_free(&o);
        return status;
    }
    if (mx_catalog_ensure(catalog_err, sizeof(catalog_err)) < 0)
        options_die("requirement catalogue: %s", catalog_err);
    check_env();
    enum mx_console_mode mode = strcmp(o.format ? o.format : "text", "json") == 0
                                    ? MX_CONSOLE_JSON
                                : o.quiet ? MX_CONSOLE_QUIET
                                          : MX_CONSOLE_TEXT;
    FILE *console = stdout;
    /* From here on, a run that ends without judging says so in its reports
     * (no earlier run's reports survive it). */
    prepare_unjudged(&o, mode, NULL);
    select_validate(&o);
    if (o.list_requirements) {
        options_fail_on_problems(&o);
        status = select_list_requirements(&o) < 0 ? EXIT_CONFIG : 0;
        options_free(&o);
        return status;
    }
    if (o.criterion_info_only) {
        options_fail_on_problems(&o);
        run_criterion(o.criterion_argc, o.criterion_argv, NULL);
        options_free(&o);
        return 0;
    }

    /* The whole configuration, before the first request. */
    check_spec_dir(&o);
    check_expect_fail(&o);
    check_baseline(&o);
    if (o.as_registration)
        appservice_load(&o, o.as_registration, &as);
    pattern = select_pattern(&o);
    options_fail_on_problems(&o);
    if (mode != MX_CONSOLE_TEXT) {
        console = take_console(&o);
        prepare_unjudged(&o, mode, console);
    }

    options_export(&o);
    mx_env_reload();
    check_env();
    if (mx_client_global_init() < 0)
        options_die("cannot initialise libcurl");
    probe_server(&o, &as, &pr);
    if (o.require_appservice && !as.usable)
        options_die("--require-appservice: the application service is not usable: %s",
                    as.reason);

    make_run_id(run_id, sizeof(run_id));
    setenv("MXDEV_RUN_ID", run_id, 1);
    if (o.deadline_s > 0) {
        char at[32];
        snprintf(at, sizeof(at), "%ld", (long)time(NULL) + o.deadline_s);
        setenv("MXDEV_DEADLINE_AT", at, 1);
    } else {
        unsetenv("MXDEV_DEADLINE_AT");
    }
    probe_export(&as, &pr);
    if (mx_session_export_run_secret() < 0)
        fprintf(stderr, "warning: no randomness for the run's secret: every check "
                        "registers its own users\n");
    json_object_set_new(pr.capabilities, "run_id", json_string(run_id));
    probe_print_header(&o, &as, &pr);

    /* The test processes start from this process: they must not inherit a
     * connection, or the configuration read before the exports. */
    mx_arena_free();
    mx_client_global_cleanup();
    mx_env_reload();

    struct mx_report_config cfg = {
        .dir = o.report_dir,
        .target = o.display_url,
        .spec_version = o.spec_version,
        .strict = o.strict,
        .expect_fail_file = o.expect_fail,
        .versions = pr.versions,
        .capabilities = pr.capabilities,
        .baseline_file = o.baseline,
        .write_expect_fail = o.write_expect_fail,
        .console_mode = mode,
        .console = console,
        .github = o.github,
        .after_checks = end_sessions,
    };
    char err[4096];
    if (mx_report_init(&cfg, err, sizeof(err)) < 0)
        options_die("%s", err);
    if (mx_report_catch_signals() < 0)
        options_die("cannot set up the SIGINT/SIGTERM handlers: %s", strerror(errno));

    if (o.explore_steps > 0)
        explore(&o);

    arm_deadline(&o);
    if (run_criterion(o.criterion_argc, o.criterion_argv, pattern) < 0)
        status = 0;
    else
        status = mx_report_exit_status();
    alarm(0);

    free(pattern);
    appservice_free(&as);
    probe_free(&pr);
    options_free(&o);
    return status;
}
