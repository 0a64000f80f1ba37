/* The runner's reports: results.json, junit.xml, results.tap, summary.md and
 * report.html in the report directory, and one console line per check.
 * Built from criterion's report hooks in the runner process plus what each
 * test recorded (mx_record.h). */
#ifndef MX_REPORT_H
#define MX_REPORT_H

#include <jansson.h>
#include <stdbool.h>

struct mx_report_config {
    const char *dir;    /* created when missing */
    const char *target; /* homeserver URL */
    int spec_version;
    bool strict;
    const char *expect_fail_file; /* NULL: none */
    json_t *versions;             /* borrowed: the server's /versions answer */
    json_t *capabilities;         /* borrowed: what the probe found */
};

/* Before criterion runs. Returns 0, or -1 with the reason in err. */
int mx_report_init(const struct mx_report_config *cfg, char *err, size_t err_len);
/* After criterion ran: 0 when every applicable MUST check (and under strict
 * every SHOULD check, and no xpass) passed, else 1. */
int mx_report_exit_status(void);

#endif
