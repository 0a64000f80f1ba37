/* Cross-cutting rules judged on every response (see mx_crosscut.h). */
#include "mx_crosscut.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_assert.h"
#include "mx_match.h"
#include "mx_model.h"
#include "mx_record.h"
#include "mx_schema.h"
#include "mx_schema_select.h"

void mx_crosscut_on_exchange(const struct mx_req *req, const char *sent_path,
                             const char *body, struct mx_resp *r) {
    const char *path = req->path ? req->path : "/";

    mx_record_exchange(req->method, sent_path, body, r->status, r->content_type,
                       r->status ? r->body : r->transport_error, r->elapsed_ms);
    if (r->status != 0 && r->json) {
        char *bare = strndup(path, strcspn(path, "?#"));
        const json_t *schema = bare ? mx_schema_for(req->method, bare, r->status) : NULL;
        char err[512];
        if (schema && mx_schema_validate(schema, r->json, err, sizeof(err)) < 0) {
            r->schema_error = strdup(err);
            mx_record_schema(req->method, bare, r->status, err);
        }
        free(bare);
    }
}

/* "METHOD /path" of a response's summary (arena-owned). */
static const char *request_line(const struct mx_resp *r, const char **path) {
    const char *sum = r->summary ? r->summary : "";
    const char *sp = strchr(sum, ' ');
    const char *end = sp ? strchr(sp + 1, ' ') : NULL;
    char *method = mx_arena_printf("%.*s", sp ? (int)(sp - sum) : (int)strlen(sum), sum);

    *path = sp ? mx_arena_printf("%.*s", end ? (int)(end - sp - 1) : (int)strlen(sp + 1),
                                 sp + 1)
               : "";
    return method;
}

void mx_crosscut(const char *id, const struct mx_resp *r, const char *fmt, ...) {
    char *text = NULL;
    const char *path = "";
    const char *method;
    va_list ap;

    if (mx_running_check_is(id))
        return;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    method = r ? request_line(r, &path) : NULL;
    mx_record_crosscut(id, method, r ? path : NULL, r ? r->status : 0,
                       text ? text : "(out of memory)");
    free(text);
}

static bool is_json_content_type(const char *ct) {
    size_t n;

    if (!ct)
        return false;
    n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

/* DELETE /devices/{id} or POST /delete_devices: the requests UIA guards. */
static bool is_deletion(const struct mx_req *req) {
    static const char devices[] = "/_matrix/client/v3/devices/";
    static const char bulk[] = "/_matrix/client/v3/delete_devices";

    if (strcmp(req->method, "DELETE") == 0)
        return strncmp(req->path, devices, sizeof(devices) - 1) == 0;
    return strcmp(req->method, "POST") == 0 &&
           strncmp(req->path, bulk, sizeof(bulk) - 1) == 0 &&
           (req->path[sizeof(bulk) - 1] == '\0' || req->path[sizeof(bulk) - 1] == '?');
}

static bool token_in_header(const struct mx_req *req) {
    bool has_token = req->token || req->appservice || (req->as && req->as->access_token);
    return has_token && req->token_in == MX_TOKEN_HEADER;
}

void mx_crosscut_on_response(const struct mx_req *req, const struct mx_resp *r) {
    struct mx_error err = {{0}};
    const char *code;

    /* What a correct server now holds, whatever else this answer shows. */
    mx_model_on_response(req, r);
    /* Only the client-server API's JSON endpoints, and only real answers. */
    if (r->status == 0 || !req->path || strncmp(req->path, "/_matrix/client/", 16) != 0)
        return;
    if (strcmp(req->method, "OPTIONS") == 0 || strcmp(req->method, "HEAD") == 0)
        return;
    code = mx_errcode(r);

    if (!is_json_content_type(r->content_type))
        mx_crosscut("ERR-JSON", r, "Content-Type: got %s, expected application/json",
                    r->content_type ? r->content_type : "none");
    else if (!json_is_object(r->json))
        mx_crosscut("ERR-JSON", r, "body: %s, expected a JSON object",
                    r->json ? "JSON but not an object" : "not JSON");

    if (r->status >= 400 && json_is_object(r->json) && mx_match_error_shape(r, &err) < 0)
        mx_crosscut("ERR-SHAPE", r, "%s", err.text);
    err.text[0] = '\0';

    if (r->status == 429 && !(code && strcmp(code, "M_LIMIT_EXCEEDED") == 0))
        mx_crosscut("ERR-RATELIMIT", r, "429 with errcode %s, expected M_LIMIT_EXCEEDED",
                    code ? code : "(none)");

    /* Every 401 of a deletion that is not about the token is a UIA answer,
     * and its form (flows of stages, params, session) is UIA-CHALLENGE's. */
    if (r->status == 401 && is_deletion(req) &&
        !(code && (strcmp(code, "M_UNKNOWN_TOKEN") == 0 ||
                   strcmp(code, "M_MISSING_TOKEN") == 0)) &&
        mx_match_uia_challenge(r, &err) < 0)
        mx_crosscut("UIA-CHALLENGE", r, "%s", err.text);

    /* A bearer token answered as if no token had been sent: the server does
     * not read the Authorization header, and nothing this check asks of it
     * can be judged. */
    if (r->status == 401 && code && strcmp(code, "M_MISSING_TOKEN") == 0 &&
        token_in_header(req) && !mx_running_check_is("AUTH-HEADER"))
        mx_block(r, "AUTH-HEADER",
                 "the server answered a request that carried Authorization: Bearer as if "
                 "it had no token");
}
