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
/* {"kind":"observation","text":...} */
void mx_record_observation(const char *text);
/* {"kind":"skip","reason":...} (written before cr_skip_test). */
void mx_record_skip(const char *reason);

/* Creates dir and its missing parents (mode 0777 before umask); 0, or -1
 * with errno set. */
int mx_mkdir_p(const char *dir);

/* Runner side: the lines recorded for a test, as a JSON array (new
 * reference; empty array when none). */
json_t *mx_record_read(const char *report_dir, const char *group, const char *test);

#endif
