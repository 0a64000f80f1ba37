/* Message helpers behind the mx_assert_* / mx_expect_* macros. */
#include "mx_assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_catalog.h"
#include "mx_record.h"
#include "mx_redact.h"

#define BODY_SHOWN 600

const char *mx_current_id(void) {
    static char buf[160];
    if (!criterion_current_test || !criterion_current_test->name)
        return "";
    char id[128];
    mx_test_name_to_id(criterion_current_test->name, id, sizeof(id));
    snprintf(buf, sizeof(buf), "[%s] ", id);
    return buf;
}

bool mx_running_check_is(const char *id) {
    char running[128];

    if (!criterion_current_test || !criterion_current_test->name)
        return false;
    mx_test_name_to_id(criterion_current_test->name, running, sizeof(running));
    return strcmp(running, id) == 0;
}

const char *mx_describe(const struct mx_resp *r) {
    if (!r)
        return "";
    char *body = NULL;
    char *out = NULL;

    if (r->status == 0) {
        if (asprintf(&out, "  request:  %s\n  no response: %s",
                     r->summary ? r->summary : "?", r->transport_error) < 0)
            out = NULL;
        return out ? mx_arena_keep(out) : "";
    }
    body = mx_redact(r->body ? r->body : "");
    size_t len = body ? strlen(body) : 0;
    size_t shown = len;
    if (shown > BODY_SHOWN) {
        shown = BODY_SHOWN;
        /* Keep UTF-8 sequences whole. */
        while (shown > 0 && ((unsigned char)body[shown] & 0xC0) == 0x80)
            shown--;
    }
    char retries[48] = "";
    if (r->retries > 0)
        snprintf(retries, sizeof(retries), ", after %d rate-limit retries", r->retries);
    if (asprintf(&out,
                 "  request:  %s\n  response: %ld, Content-Type %s (%.0f ms%s)\n  body: "
                 "%.*s%s",
                 r->summary ? r->summary : "?", r->status,
                 r->content_type ? r->content_type : "none", r->elapsed_ms, retries,
                 (int)shown, body ? body : "", shown < len ? " ...[truncated]" : "") < 0)
        out = NULL;
    free(body);
    return out ? mx_arena_keep(out) : "";
}

/* "POST /_matrix/client/v3/register -> no response: connection reset" or
 * "GET /... -> 502 text/html" or "-> 401 M_UNKNOWN_TOKEN": what happened, in a
 * few words, for the first line of a failure. Arena-owned; "" without r. */
static const char *outcome(const struct mx_resp *r) {
    if (!r)
        return "";
    const char *sum = r->summary ? r->summary : "";
    /* The summary is "METHOD PATH [BODY]": keep the method and the path. */
    const char *sp = strchr(sum, ' ');
    const char *end = sp ? strchr(sp + 1, ' ') : NULL;
    int head = end ? (int)(end - sum) : (int)strlen(sum);
    const char *code = mx_errcode(r);
    char *out = NULL;
    int n;
    if (r->status == 0)
        n = asprintf(&out, " (%.*s -> no response: %s)", head, sum, r->transport_error);
    else
        n = asprintf(&out, " (%.*s -> %ld %s)", head, sum, r->status,
                     code ? code : (r->content_type ? r->content_type : "no body type"));
    return n < 0 ? "" : mx_arena_keep(out);
}

/* The formatted text as a new malloc'd string, NULL on OOM. */
static char *format_v(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *format_v(const char *fmt, va_list ap) {
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    return text;
}

const char *mx_msg(const struct mx_resp *r, const char *fmt, ...) {
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    char *text = format_v(fmt, ap);
    va_end(ap);
    char *red = mx_redact(text ? text : "");
    const char *desc = mx_describe(r);
    if (asprintf(&out, "%s%s%s%s%s", mx_current_id(), red ? red : "", outcome(r),
                 desc[0] ? "\n" : "", desc) < 0)
        out = NULL;
    free(text);
    free(red);
    return out ? mx_arena_keep(out) : "(out of memory)";
}

void mx_observe(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = format_v(fmt, ap);
    va_end(ap);
    if (text) {
        mx_record_observation(text);
        /* Visible in criterion's own output with --verbose, too. */
        char *red = mx_redact(text);
        cr_log_info("%s%s", mx_current_id(), red ? red : "");
        free(red);
    }
    free(text);
}

_Noreturn void mx_block(const struct mx_resp *r, const char *by, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    char *text = format_v(fmt, ap);
    va_end(ap);
    /* The runner charges the first line (what the server did) to `by`. */
    char *line = mx_arena_printf("%s%s", text ? text : "", outcome(r));
    free(text);
    /* A check is never blocked by its own rule: that is a plain failure. */
    if (mx_running_check_is(by))
        cr_assert_fail("%s%s\n%s", mx_current_id(), line ? line : "", mx_describe(r));
    mx_record_blocked(by, line ? line : "");
    const char *desc = mx_describe(r);
    cr_assert_fail("[blocked by %s] %s%s%s", by, line ? line : "", desc[0] ? "\n" : "",
                   desc);
    abort(); /* cr_assert_fail does not return */
}
