/* Private to the report layer: verdicts, text cleaning and escaping, the
 * expect-fail list, and the writers of the report files. Nothing here knows
 * criterion; report_hooks.c turns criterion's statistics into the results
 * document (results.json, fixtures/report-schema.json), and every other file is
 * written from that document alone. */
#ifndef MX_REPORT_INTERNAL_H
#define MX_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mx_catalog.h"
#include "report_escape.h"

/* Verdict words as in results.json; the order is the order of the totals. */
enum mx_verdict {
    MX_VERDICT_PASS,
    MX_VERDICT_FAIL,
    MX_VERDICT_WARN,
    MX_VERDICT_SKIP,
    MX_VERDICT_INFO,
    MX_VERDICT_XFAIL,
    MX_VERDICT_XPASS,
    /* The check could not reach its own question: a precondition, itself a
     * requirement, broke (that requirement is charged with it). */
    MX_VERDICT_BLOCKED,
    /* The check never started its work: --deadline, an abort, a signal. */
    MX_VERDICT_NOT_RUN,
    MX_VERDICT_COUNT
};

/* The run's exit statuses beyond 0 and 1 (the runner's 2 and 3 are
 * configuration errors and an unreachable server). */
#define MX_EXIT_NO_CHECK_JUDGED 4

/* What criterion saw of one test. A crash (signal, or a crash in .init or
 * .fini) is the suite's own bug whatever the level. */
enum mx_outcome {
    MX_OUTCOME_PASSED,
    MX_OUTCOME_FAILED,
    MX_OUTCOME_SKIPPED,
    MX_OUTCOME_CRASHED,
    MX_OUTCOME_BLOCKED, /* ended by mx_block() and nothing else */
    MX_OUTCOME_NOT_RUN
};

/* "pass", "fail", ... */
const char *mx_verdict_name(enum mx_verdict v);
/* Trims leading and trailing white space in place; returns the start. */
char *mx_trim(char *s);
/* The inverse of mx_verdict_name; -1 when unknown. */
int mx_verdict_parse(const char *name);
enum mx_verdict mx_verdict_for(enum mx_level level, enum mx_outcome outcome,
                               bool expected_to_fail);
/* Whether a check with verdict v judged the server (pass, fail, warn, info,
 * xfail, xpass). */
bool mx_verdict_is_judged(enum mx_verdict v);
/* 1 when any fail, or under strict any warn or xpass; else
 * MX_EXIT_NO_CHECK_JUDGED when no check judged the server; else 1 when a
 * check was not run; else 0. */
int mx_exit_status_for(const size_t totals[MX_VERDICT_COUNT], bool strict);
/* Whether a verdict counts as a failure in JUnit and TAP. */
bool mx_verdict_is_failure(enum mx_verdict v, bool strict);

/* Returns a new malloc'd copy of text that is valid UTF-8 (each invalid byte
 * becomes U+FFFD) with no control characters but tab and newline (others,
 * and U+FFFE/U+FFFF, become U+FFFD; CR is dropped), so that it can go into
 * JSON, XML and HTML. NULL text gives "". NULL only on OOM. */
char *mx_text_clean(const char *text);
/* mx_text_clean after mx_redact, with the user:password@ part of every URL
 * in the text replaced by "<redacted>@": every text from a test goes through
 * this. */
char *mx_text_safe(const char *text);
/* The same, named for the homeserver URL. */
char *mx_url_safe(const char *text);
/* mx_put_xml and mx_put_md (report_escape.h) take clean text
 * (mx_text_clean). */
/* Writes the first line of text (at most max bytes, cut on a UTF-8 boundary,
 * "..." appended when cut). */
void mx_put_first_line(FILE *f, const char *text, size_t max);

/* The --expect-fail list: requirement IDs or "group/TEST_NAME", each with the
 * reason from its '#' comment (on the same line, or the comment lines just
 * above). */
struct mx_expect_fail_entry {
    char *key;
    char *reason; /* "" when none was given */
};
struct mx_expect_fail {
    struct mx_expect_fail_entry *entries; /* owned */
    size_t count;
};

/* Parses path; every key must be a catalogue ID or a test name whose group
 * and ID are in the catalogue. Returns 0, or -1 with "FILE:LINE: reason" in
 * err, one line per bad entry (every bad entry, not only the first; out left
 * empty). */
int mx_expect_fail_load(const char *path, struct mx_expect_fail *out, char *err,
                        size_t err_len);
/* The entry for a check (by ID or by "group/name"), or NULL. Borrowed. */
const struct mx_expect_fail_entry *mx_expect_fail_find(const struct mx_expect_fail *xf,
                                                       const char *id, const char *test);
void mx_expect_fail_free(struct mx_expect_fail *xf);

/* --baseline: reads the results.json of an earlier run into a new object
 * {"group/TEST": "verdict", ...}. Returns NULL with the reason in err when the
 * file is not JSON, not a device-conformance results.json, or records a run
 * that judged nothing. */
json_t *mx_baseline_load(const char *path, char *err, size_t err_len);

/* Version notes from the spec's own files (--spec-dir): which
 * x-addedInMatrixVersion and x-changedInMatrixVersion entries touch a
 * requirement, through fixtures/requirement-operations.tsv (key: a group or
 * a requirement ID, which wins over its group; value: operationIds). */
struct mx_spec_notes;

/* Parses the mapping file into a new object {key: [operationId, ...]} (keys
 * checked against the catalogue). Returns 0, or -1 with "FILE:LINE: reason"
 * in err. */
int mx_spec_notes_parse_map(const char *path, json_t **out, char *err, size_t err_len);
/* Loads the spec in spec_dir (device_management.yaml, plus whoami, logout and
 * versions when present) and the mapping file. Returns new notes for
 * mx_spec_notes_free(), or NULL with the reason in err. An operation the
 * mapping names but the spec lacks is reported in err while the notes are
 * still returned (err is "" otherwise). */
struct mx_spec_notes *mx_spec_notes_load(const char *spec_dir, const char *map_path,
                                         char *err, size_t err_len);
/* The notes for a requirement (new reference: an array of {"operation",
 * "version", "kind", "text"}, empty when none; NULL notes give []). */
json_t *mx_spec_notes_for(const struct mx_spec_notes *notes, const char *id,
                          const char *group);
void mx_spec_notes_free(struct mx_spec_notes *notes);

/* The writers. results is the results.json document (borrowed). Each returns
 * 0, or -1 when writing failed. */
int mx_report_write_junit(const json_t *results, FILE *f);
int mx_report_write_tap(const json_t *results, FILE *f);
int mx_report_write_summary(const json_t *results, FILE *f);
int mx_report_write_html(const json_t *results, FILE *f);
/* The run's verdict as one phrase (new malloc'd string): "conformant",
 * "NOT CONFORMANT", "NO CHECK JUDGED", ... (upper case for all but a plain
 * "conformant" unless upper), with "(partial: N of M requirements judged)"
 * when the run left requirements unjudged. */
char *mx_verdict_phrase(const json_t *results, bool upper);
/* Writes results.json, junit.xml, results.tap, summary.md and report.html
 * into dir, each through a temporary file renamed into place. Returns 0, or
 * -1 with the reason in err. */
int mx_report_write_files(const json_t *results, const char *dir, char *err,
                          size_t err_len);

#endif
