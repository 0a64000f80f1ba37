/* Sending one request of the exploration and judging what every response
 * must show, whatever the operation (ERR-JSON, ERR-SHAPE, ERR-SCHEMA,
 * ERR-RATELIMIT, AUTH-HEADER); the operations (ops.c) judge their own rules
 * through x_diverge. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore_internal.h"
#include "mx_catalog.h"
#include "mx_env.h"
#include "mx_match.h"
#include "mx_redact.h"
#include "mx_schema.h"
#include "mx_schema_select.h"

#define OBSERVED_MAX 300

/* ---- judging ---- */

bool x_judged(const struct x_run *x, const char *req) {
    const struct mx_requirement *r = mx_catalog_find(req);
    if (!r)
        return true; /* a typo in the table must show, not hide */
    if (!mx_requirement_applies(r, x->spec_version))
        return false;
    if (r->level == MX_INFO)
        return false;
    for (const char *const *k = x->cfg->known; k && *k; k++)
        if (strcmp(*k, req) == 0)
            return false;
    return r->level == MX_MUST || x->cfg->strict;
}

void x_diverge(struct x_run *x, const char *req, const char *expected,
               const char *observed_fmt, ...) {
    if (x->diverged || !x_judged(x, req))
        return;
    char *observed = NULL;
    va_list ap;
    va_start(ap, observed_fmt);
    if (vasprintf(&observed, observed_fmt, ap) < 0)
        observed = NULL;
    va_end(ap);
    x->diverged = true;
    snprintf(x->req, sizeof(x->req), "%s", req);
    x->div_step = x->step;
    x->expected = mx_redact(expected ? expected : "");
    x->observed = mx_redact(observed ? observed : "(out of memory)");
    free(observed);
}

/* Not redacted here (that is the costly part, and most texts are never
 * shown): x_diverge and the result builder redact what leaves. */
const char *x_observed(const struct mx_resp *r) {
    if (r->status == 0)
        return mx_arena_printf("no response: %s", r->transport_error);
    const char *body = r->body ? r->body : "";
    size_t len = strlen(body);
    char *text = mx_arena_printf("%ld %.*s%s", r->status, OBSERVED_MAX, body,
                                 len > OBSERVED_MAX ? "..." : "");
    for (char *p = text; p && *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return text ? text : "(out of memory)";
}

static long retry_wait_ms(const struct mx_resp *r) {
    const char *ra = mx_header(r, "retry-after");
    if (ra) {
        char *end;
        long s = strtol(ra, &end, 10);
        if (end != ra && *end == '\0' && s >= 0)
            return s * 1000;
    }
    json_t *ms = json_object_get(r->json, "retry_after_ms");
    if (json_is_integer(ms) && json_integer_value(ms) >= 0)
        return (long)json_integer_value(ms);
    return 1000;
}

/* Who sends req, in the model's words: "u1/DEVICEID", "the application
 * service as u3", "no token", "a made-up token" (arena string). */
static const char *sender(struct x_run *x, const struct mx_req *req) {
    if (req->appservice) {
        for (int u = 0; u < x->m.n_users; u++)
            if (req->assert_user && strcmp(req->assert_user, x->m.users[u].user_id) == 0)
                return mx_arena_printf("the application service as u%d", u);
        return "the application service";
    }
    if (!req->token)
        return "no token";
    for (int u = 0; u < x->m.n_users; u++)
        for (size_t i = 0; i < x->m.users[u].n_devs; i++) {
            const struct x_dev *d = &x->m.users[u].devs[i];
            if (d->token && strcmp(d->token, req->token) == 0)
                return mx_arena_printf("u%d/%s", u, d->id);
        }
    return "a made-up token";
}

static bool header_token(const struct mx_req *req) {
    return (req->token || req->appservice) && req->token_in == MX_TOKEN_HEADER;
}

const struct mx_resp *x_send(struct x_run *x, const struct mx_req *req,
                             const char *expected) {
    struct mx_req copy = *req;
    const struct mx_resp *r;
    long waited = 0;
    struct mx_error err = {{0}};

    copy.no_retry = true;
    if (!copy.method)
        copy.method = "GET";
    for (;;) {
        r = mx_send(&copy);
        x->requests++;
        if (r->status != 429)
            break;
        const char *code = mx_errcode(r);
        if (!code || strcmp(code, "M_LIMIT_EXCEEDED") != 0)
            x_diverge(x, "ERR-RATELIMIT", "429 with errcode M_LIMIT_EXCEEDED", "%s",
                      x_observed(r));
        long wait = retry_wait_ms(r);
        if (waited + wait > mx_env()->retry_budget_ms)
            break;
        waited += wait;
        mx_sleep_ms(wait);
    }
    if (x->transcript) {
        json_t *entry =
            json_pack("{s:i, s:s, s:s, s:s, s:s}", "n", x->step, "as", sender(x, &copy),
                      "request", r->summary ? r->summary : copy.method, "expected",
                      expected ? expected : "", "observed", x_observed(r));
        json_array_append_new(x->transcript, entry);
    }
    if (r->status == 0) {
        x->fatal = true;
        snprintf(x->err, sizeof(x->err), "%s: %s", r->summary ? r->summary : "request",
                 r->transport_error);
        return r;
    }
    if (mx_match_json_object(r, &err) < 0)
        x_diverge(x, "ERR-JSON", "Content-Type application/json and a JSON object",
                  "%s: %s", err.text, x_observed(r));
    err.text[0] = '\0';
    if (r->status >= 400 && json_is_object(r->json) && mx_match_error_shape(r, &err) < 0)
        x_diverge(x, "ERR-SHAPE", "errcode and error strings", "%s: %s", err.text,
                  x_observed(r));
    if (r->json) {
        char *bare = strndup(copy.path, strcspn(copy.path, "?"));
        const json_t *schema = bare ? mx_schema_for(copy.method, bare, r->status) : NULL;
        char why[512];
        if (schema && mx_schema_validate(schema, r->json, why, sizeof(why)) < 0)
            x_diverge(x, "ERR-SCHEMA", "a body valid against the spec's schema", "%s: %s",
                      why, x_observed(r));
        free(bare);
    }
    const char *code = mx_errcode(r);
    if (r->status == 401 && code && strcmp(code, "M_MISSING_TOKEN") == 0 &&
        header_token(&copy))
        x_diverge(x, "AUTH-HEADER", "the Authorization: Bearer token to be read", "%s",
                  x_observed(r));
    return r;
}
