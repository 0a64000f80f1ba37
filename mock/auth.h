/* Who a request speaks for: access tokens (Authorization: Bearer, or
 * ?access_token= up to spec 1.19), application-service identity assertion
 * (?user_id=, and ?device_id= since 1.17), and the HTTP side of
 * User-Interactive Authentication (the 401 challenge and stage checks). */
#ifndef MOCK_AUTH_H
#define MOCK_AUTH_H

#include <stdbool.h>

#include "handler.h"

/* Resolves the request's token according to ctx->match.route->auth into
 * ctx->who. Returns 0, or -1 with the error reply (401/403/400) filled.
 * Changes no state. */
int mock_authenticate(struct mock_ctx *ctx);

/* Records the request on the caller's device (last_seen_ip/ts). */
void mock_auth_mark_seen(struct mock_ctx *ctx);

/* The stages a UIA-protected operation asks for. */
enum mock_uia_kind {
    MOCK_UIA_PASSWORD,           /* device deletion by a user with a password */
    MOCK_UIA_DUMMY,              /* registration; deletion by a user without password */
    MOCK_UIA_REGISTRATION_TOKEN, /* registration with --registration-token */
};

/* Runs User-Interactive Authentication for the operation op (method + path
 * the session is bound to) on behalf of user_id, reading ctx->body["auth"].
 * Returns 0 when the flow is complete (*session then names the session to
 * close with uia_close after the operation succeeded; borrowed), or -1 with
 * the 401 challenge / error reply filled. */
int mock_uia_gate(struct mock_ctx *ctx, enum mock_uia_kind kind, const char *user_id,
                  const char *op, const char **session);

/* "@text:server_name" unless text already starts with '@'. Returns a new
 * string, or NULL on OOM. */
char *mock_qualify_user(const struct mock_ctx *ctx, const char *text);

/* Whether user_id can answer an m.login.password stage. Users registered by
 * an application service have no password. */
bool mock_user_has_password(struct mock_ctx *ctx, const char *user_id);

#endif
