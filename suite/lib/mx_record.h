/* The side channel from a test process to the runner's reports.
 *
 * Criterion runs each test in its own process; what the reports need beyond
 * pass/fail (observations of INFO checks, the request/response transcript,
 * the reason for a skip) is appended by the test process, one JSON object per
 * line, to <report_dir>/.tests/<group>.<test>.jsonl, and read back by the
 * report hooks in the runner. Everything written is redacted first. */
#ifndef MX_RECORD_H
#define MX_RECORD_H

#include <jansson.h>

/* {"kind":"exchange","request":{method,path,body},"response":{status,
 *  content_type,body},"ms":...}; body text truncated to 4 KiB. When no
 *  response arrived, status is 0 and resp_body is the transport error, also
 *  written as "transport_error". Outside a criterion test this does nothing. */
void mx_record_exchange(const char *method, const char *path, const char *req_body,
                        long status, const char *content_type, const char *resp_body,
                        double elapsed_ms);
/* {"kind":"schema","method","path","status","text"}: a response body that
 * does not match the spec's schema. The runner counts these against
 * ERR-SCHEMA, whichever check received the response. */
void mx_record_schema(const char *method, const char *path, long status,
                      const char *text);
/* {"kind":"crosscut","id":ID,"method","path","status","text"}: a response
 * that breaks a cross-cutting rule (error body shape, content type, UIA
 * challenge format, the errcode of a refused token, ...) seen by whatever
 * check received it. The runner charges it to ID's own check (as for
 * ERR-SCHEMA), never to the check that happened to see it. method/path may
 * be NULL when no single request shows it. */
void mx_record_crosscut(const char *id, const char *method, const char *path, long status,
                        const char *text);
/* {"kind":"blocked","by":ID,"text":...}: the running check could not reach
 * its own question because a precondition broke, and that precondition is an
 * instance of requirement ID. The runner gives the check the verdict
 * "blocked" (unless one of its own assertions failed before) and charges the
 * text to ID as a cross-cutting observation. Call mx_block() (mx_assert.h),
 * which records and then ends the test. */
void mx_record_blocked(const char *by, const char *text);
/* {"kind":"not_run","reason":...}: the check never started its work (the
 * run's --deadline passed, or the run was aborted). */
void mx_record_not_run(const char *reason);

/* A run-level stop: the first caller writes <report_dir>/.tests/abort.json
 * {"exit":status,"reason":...} (later callers leave it as it is). Checks
 * that start afterwards are "not run", and the runner ends with that exit
 * status and the reason in every report. For problems that make the whole
 * run meaningless (a rate limit the run cannot wait out, closed
 * registration): configuration errors, exit 2. */
void mx_record_abort_run(int exit_status, const char *reason);
/* The abort document (new reference) or NULL when the run was not aborted. */
json_t *mx_record_read_abort(const char *report_dir);

/* {"kind":"observation","text":...} */
void mx_record_observation(const char *text);
/* {"kind":"skip","reason":...} (written before cr_skip_test). */
void mx_record_skip(const char *reason);

/* The server-side cost of a run: what is expensive on a homeserver is
 * counted per process. mx_record_cost_note() is called for every HTTP
 * request sent (mx_send) and sorts it: a registration (POST .../register or
 * the admin register answered 200), a login (POST .../login answered 200), a
 * password check (a login with a "password", or a UIA "auth" carrying one,
 * whatever the answer), and every request. */
void mx_record_cost_note(const char *method, const char *path, const char *req_body,
                         long status);
/* {"kind":"cost","registrations","logins","password_checks","requests"}: what
 * this process noted since its last call, appended to the running test's
 * record (nothing when nothing was noted); the counts start again at zero.
 * mx_test_init and mx_test_fini call it. */
void mx_record_cost(void);
/* Forgets what was noted (a test process starting from a forked runner). */
void mx_record_cost_reset(void);
/* Runner side: the sum of every cost line under <report_dir>/.tests plus
 * what the calling process noted itself (the runner's probe). New reference
 * {"registrations":R,"logins":L,"password_checks":P,"requests":N}. */
json_t *mx_record_read_costs(const char *report_dir);

/* Creates dir and its missing parents (mode 0777 before umask); 0, or -1
 * with errno set. */
int mx_mkdir_p(const char *dir);

/* Runner side: the lines recorded for a test, as a JSON array (new
 * reference; empty array when none). */
json_t *mx_record_read(const char *report_dir, const char *group, const char *test);

#endif
