/* Matchers: judgements about responses, independent of the test framework. */
#include "mx_match.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_schema.h"

void mx_error_set(struct mx_error *err, const char *fmt, ...) {
    /* The first error wins. */
    if (!err || err->text[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

static int no_response(const struct mx_resp *r, const char *what, struct mx_error *err) {
    if (!r) {
        mx_error_set(err, "expected %s, but there is no response", what);
        return -1;
    }
    if (r->status == 0) {
        mx_error_set(err, "expected %s, but no HTTP response arrived: %s", what,
                     r->transport_error[0] ? r->transport_error
                                           : "unknown transport error");
        return -1;
    }
    return 0;
}

/* " (errcode M_X)" for the message, or "". */
static void errcode_suffix(const struct mx_resp *r, char *buf, size_t len) {
    const char *code = mx_errcode(r);
    if (code)
        snprintf(buf, len, " (errcode %s)", code);
    else
        buf[0] = '\0';
}

int mx_match_status(const struct mx_resp *r, long status, struct mx_error *err) {
    char what[32];
    snprintf(what, sizeof(what), "HTTP %ld", status);
    if (no_response(r, what, err) < 0)
        return -1;
    if (r->status == status)
        return 0;
    char suffix[160];
    errcode_suffix(r, suffix, sizeof(suffix));
    mx_error_set(err, "status: got %ld%s, expected %ld", r->status, suffix, status);
    return -1;
}

int mx_match_status_in(const struct mx_resp *r, const long *statuses,
                       struct mx_error *err) {
    char list[256] = "";
    size_t used = 0;
    for (const long *s = statuses; *s; s++) {
        int n = snprintf(list + used, sizeof(list) - used, "%s%ld",
                         s == statuses ? "" : " or ", *s);
        if (n < 0 || (size_t)n >= sizeof(list) - used)
            break;
        used += (size_t)n;
    }
    char what[300];
    snprintf(what, sizeof(what), "HTTP %s", list);
    if (no_response(r, what, err) < 0)
        return -1;
    for (const long *s = statuses; *s; s++)
        if (r->status == *s)
            return 0;
    char suffix[160];
    errcode_suffix(r, suffix, sizeof(suffix));
    mx_error_set(err, "status: got %ld%s, expected %s", r->status, suffix, list);
    return -1;
}

static bool is_json_content_type(const char *ct) {
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

int mx_match_json_object(const struct mx_resp *r, struct mx_error *err) {
    if (no_response(r, "a JSON object body", err) < 0)
        return -1;
    if (!is_json_content_type(r->content_type)) {
        mx_error_set(err, "Content-Type: got %s%s%s, expected application/json",
                     r->content_type ? "\"" : "",
                     r->content_type ? r->content_type : "none",
                     r->content_type ? "\"" : "");
        return -1;
    }
    if (!r->json) {
        mx_error_set(err, "body: not JSON (%zu bytes), expected a JSON object",
                     r->body_len);
        return -1;
    }
    if (!json_is_object(r->json)) {
        mx_error_set(err, "body: JSON but not an object, expected a JSON object");
        return -1;
    }
    return 0;
}

int mx_match_error_shape(const struct mx_resp *r, struct mx_error *err) {
    if (no_response(r, "a standard error body", err) < 0)
        return -1;
    if (!json_is_object(r->json)) {
        mx_error_set(err, "error body: %s, expected a JSON object with errcode and error",
                     r->json ? "JSON but not an object" : "not JSON");
        return -1;
    }
    json_t *errcode = json_object_get(r->json, "errcode");
    json_t *error = json_object_get(r->json, "error");
    /* A UIA challenge carries errcode only when a stage failed. */
    bool uia = r->status == 401 && json_object_get(r->json, "flows") != NULL;
    if (uia && !errcode)
        return 0;
    if (!json_is_string(errcode)) {
        mx_error_set(err, "error body: \"errcode\" %s, expected a string",
                     errcode ? "is not a string" : "is missing");
        return -1;
    }
    if (!json_is_string(error)) {
        mx_error_set(err, "error body: \"error\" %s, expected a string",
                     error ? "is not a string" : "is missing");
        return -1;
    }
    return 0;
}

/* Whether code is expected behind an unstable prefix ("ORG.X.M_FOO"). */
static bool unstable_of(const char *code, const char *expected) {
    size_t cl = strlen(code), el = strlen(expected);
    return cl > el + 1 && code[cl - el - 1] == '.' &&
           strcmp(code + cl - el, expected) == 0;
}

int mx_match_errcode_in(const struct mx_resp *r, const char *const *errcodes,
                        struct mx_error *err) {
    char list[512] = "";
    size_t used = 0;
    for (const char *const *e = errcodes; *e; e++) {
        int n = snprintf(list + used, sizeof(list) - used, "%s%s",
                         e == errcodes ? "" : " or ", *e);
        if (n < 0 || (size_t)n >= sizeof(list) - used)
            break;
        used += (size_t)n;
    }
    char what[600];
    snprintf(what, sizeof(what), "errcode %s", list);
    if (no_response(r, what, err) < 0)
        return -1;
    const char *code = mx_errcode(r);
    if (!code) {
        mx_error_set(err, "errcode: %s, expected %s",
                     !json_is_object(r->json) ? "none (body is not a JSON object)"
                     : json_object_get(r->json, "errcode") ? "not a string"
                                                           : "missing",
                     list);
        return -1;
    }
    for (const char *const *e = errcodes; *e; e++)
        if (strcmp(code, *e) == 0)
            return 0;
    for (const char *const *e = errcodes; *e; e++) {
        if (unstable_of(code, *e)) {
            mx_error_set(
                err, "errcode: got %s, an unstable-prefixed code; expected the stable %s",
                code, *e);
            return -1;
        }
    }
    mx_error_set(err, "errcode: got %s, expected %s", code, list);
    return -1;
}

int mx_match_uia_challenge(const struct mx_resp *r, struct mx_error *err) {
    if (mx_match_status(r, 401, err) < 0)
        return -1;
    if (!json_is_object(r->json)) {
        mx_error_set(err, "UIA 401: body is %s, expected a JSON object with \"flows\"",
                     r->json ? "JSON but not an object" : "not JSON");
        return -1;
    }
    json_t *flows = json_object_get(r->json, "flows");
    if (!json_is_array(flows) || json_array_size(flows) == 0) {
        mx_error_set(err, "UIA 401: \"flows\" %s, expected a non-empty array",
                     !flows                  ? "is missing"
                     : !json_is_array(flows) ? "is not an array"
                                             : "is empty");
        return -1;
    }
    size_t i;
    json_t *flow;
    json_array_foreach(flows, i, flow) {
        json_t *stages = json_object_get(flow, "stages");
        if (!json_is_object(flow) || !json_is_array(stages)) {
            mx_error_set(err, "UIA 401: flows[%zu] %s", i,
                         !json_is_object(flow) ? "is not an object"
                                               : "has no \"stages\" array");
            return -1;
        }
        size_t j;
        json_t *stage;
        json_array_foreach(stages, j, stage) {
            if (!json_is_string(stage)) {
                mx_error_set(err, "UIA 401: flows[%zu].stages[%zu] is not a string", i,
                             j);
                return -1;
            }
        }
    }
    json_t *params = json_object_get(r->json, "params");
    if (params && !json_is_object(params)) {
        mx_error_set(err, "UIA 401: \"params\" is not an object");
        return -1;
    }
    json_t *session = json_object_get(r->json, "session");
    if (session && !json_is_string(session)) {
        mx_error_set(err, "UIA 401: \"session\" is not a string");
        return -1;
    }
    json_t *completed = json_object_get(r->json, "completed");
    if (completed && !json_is_array(completed)) {
        mx_error_set(err, "UIA 401: \"completed\" is not an array");
        return -1;
    }
    return 0;
}

static bool flow_equals(json_t *flow, const char *const *stages) {
    json_t *list = json_object_get(flow, "stages");
    size_t n = 0;
    while (stages[n])
        n++;
    if (!json_is_array(list) || json_array_size(list) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        if (!s || strcmp(s, stages[i]) != 0)
            return false;
    }
    return true;
}

int mx_match_uia_flow(const struct mx_resp *r, const char *const *stages,
                      struct mx_error *err) {
    if (mx_match_uia_challenge(r, err) < 0)
        return -1;
    json_t *flows = json_object_get(r->json, "flows");
    size_t i;
    json_t *flow;
    json_array_foreach(flows, i, flow) {
        if (flow_equals(flow, stages))
            return 0;
    }
    json_t *want = json_array();
    for (const char *const *s = stages; *s; s++)
        json_array_append_new(want, json_string(*s));
    char *w = json_dumps(want, JSON_COMPACT);
    char *got = json_dumps(flows, JSON_COMPACT);
    mx_error_set(err, "UIA 401: no flow with stages exactly %s; flows: %.600s",
                 w ? w : "?", got ? got : "?");
    free(w);
    free(got);
    json_decref(want);
    return -1;
}

int mx_match_schema(const json_t *body, const char *schema_file, struct mx_error *err) {
    const json_t *schema = mx_schema_load(schema_file);
    if (!schema) {
        mx_error_set(err, "schema %s: cannot be loaded", schema_file);
        return -1;
    }
    if (!body) {
        mx_error_set(err, "schema %s: the body is not JSON", schema_file);
        return -1;
    }
    char text[768];
    if (mx_schema_validate(schema, body, text, sizeof(text)) < 0) {
        mx_error_set(err, "schema %s: %s", schema_file, text);
        return -1;
    }
    return 0;
}

int mx_match_schema_ok(const struct mx_resp *r, struct mx_error *err) {
    if (no_response(r, "a body valid against the spec's schema", err) < 0)
        return -1;
    if (r->schema_error) {
        mx_error_set(err, "body does not match the spec's schema: %s", r->schema_error);
        return -1;
    }
    return 0;
}

int mx_match_string_member(const json_t *obj, const char *key, const char *expected,
                           struct mx_error *err) {
    if (!json_is_object(obj)) {
        mx_error_set(err, "\"%s\": expected \"%s\", but the body is not a JSON object",
                     key, expected);
        return -1;
    }
    json_t *v = json_object_get(obj, key);
    if (!v) {
        mx_error_set(err, "\"%s\": missing, expected \"%s\"", key, expected);
        return -1;
    }
    if (!json_is_string(v)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        mx_error_set(err, "\"%s\": got %.200s (not a string), expected \"%s\"", key,
                     got ? got : "?", expected);
        free(got);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == strlen(expected) && memcmp(s, expected, len) == 0)
        return 0;
    mx_error_set(err,
                 "\"%s\": got \"%.300s\" (%zu bytes), expected \"%.300s\" (%zu bytes)",
                 key, s, len, expected, strlen(expected));
    return -1;
}
