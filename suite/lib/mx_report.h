/* The runner's reports: results.json, junit.xml, results.tap, summary.md and
 * report.html in the report directory, and one console line per check.
 * Built from criterion's report hooks in the runner process plus what each
 * test recorded (mx_record.h). */
#ifndef MX_REPORT_H
#define MX_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* What the console shows: the check lines and closing lines (text), only
 * the closing lines (quiet), or results.json and nothing else (json). */
enum mx_console_mode { MX_CONSOLE_TEXT, MX_CONSOLE_QUIET, MX_CONSOLE_JSON };

struct mx_report_config {
    const char *dir;    /* created when missing */
    const char *target; /* homeserver URL (any user:password@ is redacted) */
    int spec_version;
    bool strict;
    const char *expect_fail_file; /* NULL: none */
    json_t *versions;             /* borrowed: the server's /versions answer */
    /* borrowed: what the probe found; "tls_verification": "off" makes every
     * report say that certificates were not verified. */
    json_t *capabilities;
    const char *baseline_file;     /* an earlier results.json; NULL: none */
    const char *write_expect_fail; /* where to write today's failures; NULL: nowhere */
    enum mx_console_mode console_mode;
    FILE *console; /* borrowed: where the console output goes; NULL: stdout */
    bool github;   /* failures also as GitHub Actions annotation lines */
    /* Called once when every check has ended, before the run's costs are
     * summed, so that what it sends counts (the runner's clean-up); NULL:
     * nothing. */
    void (*after_checks)(const char *report_dir);
};

/* Before criterion runs. Returns 0, or -1 with the reason in err. */
int mx_report_init(const struct mx_report_config *cfg, char *err, size_t err_len);
/* After mx_report_init, before criterion runs: SIGINT and SIGTERM stop the
 * running tests, the rest are not run, the reports are written marked
 * interrupted and mx_report_exit_status() gives 130 or 143. A second signal
 * ends the process at once. Returns 0, or -1 when the handlers could not be
 * set up. */
int mx_report_catch_signals(void);
/* After mx_report_init: the result of --explore (mx_explore_run; borrowed,
 * kept). It goes into every report, and a divergence is charged to its
 * requirement like a cross-cutting observation. */
void mx_report_add_exploration(json_t *result);
/* After criterion ran: 0 conformant; 1 a failure (under strict also a
 * warn or xpass) or a check not run; 4 no check judged; an abort's own exit
 * status (mx_record_abort_run); 130/143 after SIGINT/SIGTERM. */
int mx_report_exit_status(void);

/* For a run that ends before judging anything (exit 2: configuration, exit
 * 3: unreachable server): writes all five reports saying that the run could
 * not judge the server and why, so that no earlier run's reports survive.
 * cfg->dir is created when missing; versions, capabilities and
 * expect_fail_file may be NULL/unset. Returns 0, or -1 (with a warning on
 * stderr) when the reports could not be written. */
int mx_report_write_unjudged(const struct mx_report_config *cfg, int exit_status,
                             const char *reason);
/* Remembers cfg (dir and target copied; console and console_mode kept: under
 * MX_CONSOLE_JSON the unjudged results.json also goes to the console) for
 * mx_report_unjudged_exit(): the runner calls it as soon as the report directory is
 * known. */
void mx_report_prepare_unjudged(const struct mx_report_config *cfg);
/* mx_report_write_unjudged() with the prepared configuration; nothing when
 * none was prepared. For the runner's exit paths (exit 2 and 3). */
void mx_report_unjudged_exit(int exit_status, const char *reason);

#endif
