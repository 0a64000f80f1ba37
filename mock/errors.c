/* The reply, and Matrix error bodies: {"errcode": "M_...", "error": "human text"}. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mock_reply_clean(struct mock_reply *reply) {
    json_decref(reply->json);
    if (reply->body_release != NULL)
        reply->body_release(reply->body_owner);
    else
        free(reply->body);
    memset(reply, 0, sizeof *reply);
}

void mock_reply_json(struct mock_reply *reply, unsigned status, json_t *body) {
    json_decref(reply->json);
    reply->json = body;
    reply->status = body != NULL ? status : 500;
}

json_t *mock_error(struct mock_reply *reply, unsigned status, const char *errcode,
                   const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    json_t *body = json_object();
    if (body == NULL)
        goto fail;
    if (json_object_set_new(body, "errcode", json_string(errcode)) < 0)
        goto fail;
    /* error text may quote client input that is not UTF-8. */
    json_t *msg = json_string(text);
    if (msg == NULL)
        msg = json_string("request refused");
    if (json_object_set_new(body, "error", msg) < 0)
        goto fail;
    mock_reply_json(reply, status, body);
    return body;
fail:
    json_decref(body);
    mock_reply_json(reply, 500, NULL);
    return NULL;
}

void mock_error_rate_limited(struct mock_reply *reply, int64_t retry_after_ms) {
    if (retry_after_ms < 1)
        retry_after_ms = 1;
    json_t *body =
        mock_error(reply, 429, "M_LIMIT_EXCEEDED", "Too many requests; retry later");
    if (body != NULL)
        json_object_set_new(body, "retry_after_ms", json_integer(retry_after_ms));
    reply->retry_after_s = (unsigned)((retry_after_ms + 999) / 1000);
}
