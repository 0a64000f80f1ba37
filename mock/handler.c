/* The helpers of the handler interface. */
#include "handler.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deviations.h"
#include "errors.h"
#include "ratelimit.h"
#include "state.h"

int64_t mock_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mock_identity_clean(struct mock_identity *who) {
    free(who->user_id);
    free(who->device_id);
    memset(who, 0, sizeof *who);
}

int mock_body_string(struct mock_ctx *ctx, json_t *obj, const char *key,
                     const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "%s must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

bool mock_rate_limited(struct mock_ctx *ctx, const char *action) {
    struct mock_state *state = ctx->state;
    const char *ip = ctx->req->client_ip != NULL ? ctx->req->client_ip : "unknown";
    if (state->ratelimit != NULL) {
        int64_t wait_ms = mock_ratelimit_take(state->ratelimit, ip, action, ctx->now_ms);
        if (wait_ms > 0) {
            mock_error_rate_limited(ctx->reply, wait_ms);
            return true;
        }
        return false;
    }
    /* Without --rate-limit the deviation still has to show a 429: every
     * 10th login/register request gets one. */
    if (mock_deviates(ctx->dev, DEV_RATE_LIMIT_WRONG_ERRCODE) &&
        mock_dev_limit_due(ctx->dev, action)) {
        mock_error_rate_limited(ctx->reply, 1000);
        return true;
    }
    return false;
}
