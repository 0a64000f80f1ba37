/* Criterion glue: the only suite header that calls cr_*. Fatal mx_assert_*
 * for status codes and preconditions, non-fatal mx_expect_* for independent
 * body fields, so one run reports every wrong field. Every message starts with
 * the requirement ID of the running test and names the request. */
#ifndef MX_ASSERT_H
#define MX_ASSERT_H

#include <criterion/criterion.h>

#include "mx_client.h"
#include "mx_match.h"

/* "[GET-UNKNOWN] " for the running test; static buffer. */
const char *mx_current_id(void);
/* Whether the running check is one of requirement id's own. */
bool mx_running_check_is(const char *id);
/* One-screen description of a response for failure messages: request,
 * status, errcode and the body (truncated), secrets redacted. Arena-owned. */
const char *mx_describe(const struct mx_resp *r);

#define MX_CHECK_(crfn, call, r)                                                         \
    do {                                                                                 \
        struct mx_error mx_err_ = {{0}};                                                 \
        int mx_rc_ = (call);                                                             \
        crfn(mx_rc_ == 0, "%s%s\n%s", mx_current_id(), mx_err_.text, mx_describe(r));    \
    } while (0)

#define mx_assert_status(r, st)                                                          \
    MX_CHECK_(cr_assert, mx_match_status((r), (st), &mx_err_), (r))
#define mx_expect_status(r, st)                                                          \
    MX_CHECK_(cr_expect, mx_match_status((r), (st), &mx_err_), (r))
/* An error status. The body's standard shape is ERR-SHAPE's rule, judged on
 * every response by the cross-cutting hook (mx_crosscut.h), not here. */
#define mx_assert_error(r, st) mx_assert_status((r), (st))
/* errcode among the given alternatives: mx_expect_errcode(r, "M_BAD_JSON", ...). */
#define mx_expect_errcode(r, ...)                                                        \
    MX_CHECK_(                                                                           \
        cr_expect,                                                                       \
        mx_match_errcode_in((r), (const char *const[]){__VA_ARGS__, NULL}, &mx_err_),    \
        (r))
#define mx_assert_errcode(r, ...)                                                        \
    MX_CHECK_(                                                                           \
        cr_assert,                                                                       \
        mx_match_errcode_in((r), (const char *const[]){__VA_ARGS__, NULL}, &mx_err_),    \
        (r))
#define mx_expect_json_object(r)                                                         \
    MX_CHECK_(cr_expect, mx_match_json_object((r), &mx_err_), (r))
#define mx_expect_uia_challenge(r)                                                       \
    MX_CHECK_(cr_expect, mx_match_uia_challenge((r), &mx_err_), (r))
#define mx_assert_uia_challenge(r)                                                       \
    MX_CHECK_(cr_assert, mx_match_uia_challenge((r), &mx_err_), (r))
#define mx_expect_schema(r) MX_CHECK_(cr_expect, mx_match_schema_ok((r), &mx_err_), (r))

/* A plain condition about server state, with the response that shows it:
 * mx_expect_that(found, r, "device %s still listed", id). r may be NULL. */
#define mx_expect_that(cond, r, ...) cr_expect((cond), "%s", mx_msg((r), __VA_ARGS__))
#define mx_assert_that(cond, r, ...) cr_assert((cond), "%s", mx_msg((r), __VA_ARGS__))
/* "[ID] <formatted text>\n<mx_describe(r)>"; arena-owned. */
const char *mx_msg(const struct mx_resp *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Ends the running check as "blocked by <by>": a precondition it needs (a
 * listing, a deletion, the server reading its token) broke, and that
 * precondition is an instance of requirement `by`, which the runner charges
 * with what r shows. The check's verdict is "blocked" unless one of its own
 * assertions failed before. r may be NULL. */
_Noreturn void mx_block(const struct mx_resp *r, const char *by, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* INFO checks: what the server did, for the reports. printf-like. */
void mx_observe(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
