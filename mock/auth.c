/* Access tokens, application-service identity assertion, and the HTTP side
 * of User-Interactive Authentication. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "deviations.h"
#include "errors.h"
#include "random.h"
#include "routes.h"
#include "state.h"
#include "store.h"
#include "uia.h"

char *mock_qualify_user(const struct mock_ctx *ctx, const char *text) {
    if (text[0] == '@')
        return strdup(text);
    char *out = NULL;
    if (asprintf(&out, "@%s:%s", text, ctx->state->cfg->server_name) < 0)
        return NULL;
    return out;
}

/* The token of "Bearer <token>" (scheme case-insensitive), or NULL. */
static const char *bearer_token(const char *header) {
    while (*header == ' ')
        header++;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return *header != '\0' ? header : NULL;
}

static int set_identity(struct mock_ctx *ctx, const char *user_id,
                        const char *device_id) {
    ctx->who.user_id = strdup(user_id);
    ctx->who.device_id = device_id != NULL ? strdup(device_id) : NULL;
    if (ctx->who.user_id == NULL || (device_id != NULL && ctx->who.device_id == NULL)) {
        mock_identity_clean(&ctx->who);
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return -1;
    }
    mock_dev_note_user(ctx->dev, user_id);
    return 0;
}

/* Identity assertion by an application service: ?user_id= (default: its
 * sender) and, since 1.17, ?device_id=. */
static int assert_identity(struct mock_ctx *ctx, const struct mock_appservice *as) {
    struct store *st = ctx->state->store;
    const char *user_id = mock_query_get(&ctx->query, "user_id");
    if (user_id == NULL)
        user_id = as->sender_user_id;
    bool is_sender = strcmp(user_id, as->sender_user_id) == 0;
    if (!is_sender && !mock_appservice_owns_user(as, user_id) &&
        !mock_deviates(ctx->dev, DEV_AS_ANY_USER)) {
        mock_error(ctx->reply, 403, "M_FORBIDDEN",
                   "Application service cannot masquerade as this user");
        return -1;
    }
    /* Registration asserts the sender; everything else needs a real user. */
    if (!(ctx->match.route->flags & MOCK_ROUTE_NEW_USER) &&
        !store_user_exists(st, user_id)) {
        mock_error(ctx->reply, 403, "M_FORBIDDEN",
                   "Application service has not registered this user");
        return -1;
    }
    const char *device_id = mock_query_get(&ctx->query, "device_id");
    if (device_id != NULL && ctx->state->cfg->spec_version < SPEC_V1_17)
        device_id = NULL; /* device masquerading arrived in 1.17 */
    if (device_id != NULL && store_device_get(st, user_id, device_id) == NULL) {
        if (mock_deviates(ctx->dev, DEV_AS_DELETED_DEVICE_ASSERTABLE) &&
            mock_dev_was_deleted(ctx->dev, user_id, device_id)) {
            /* accepted as if it still existed */
        } else if (mock_deviates(ctx->dev, DEV_UNKNOWN_DEVICE_IGNORED)) {
            device_id = NULL;
        } else {
            mock_error(ctx->reply, 400, "M_UNKNOWN_DEVICE",
                       "The asserted user has no device with this ID");
            return -1;
        }
    }
    if (set_identity(ctx, user_id, device_id) < 0)
        return -1;
    ctx->who.as = as;
    return 0;
}

static int unknown_token(struct mock_ctx *ctx, bool known_deleted) {
    json_t *body =
        mock_error(ctx->reply, 401, "M_UNKNOWN_TOKEN", "Unrecognised access token");
    bool soft = known_deleted && mock_deviates(ctx->dev, DEV_DELETED_TOKEN_SOFT_LOGOUT);
    if (body != NULL)
        json_object_set_new(body, "soft_logout", json_boolean(soft));
    return -1;
}

int mock_authenticate(struct mock_ctx *ctx) {
    const struct mock_route *route = ctx->match.route;
    const struct mock_config *cfg = ctx->state->cfg;
    if (route->auth == MOCK_AUTH_NONE)
        return 0;

    const char *token = NULL;
    bool use_header = !((route->flags & MOCK_ROUTE_DEVICE_API) &&
                        mock_deviates(ctx->dev, DEV_HEADER_TOKEN_IGNORED));
    if (use_header && ctx->req->authorization != NULL)
        token = bearer_token(ctx->req->authorization);
    /* Query-string tokens were removed after 1.19. */
    bool use_query = cfg->spec_version <= SPEC_V1_19 ||
                     mock_deviates(ctx->dev, DEV_QUERY_TOKEN_ACCEPTED);
    if (mock_deviates(ctx->dev, DEV_QUERY_TOKEN_IGNORED))
        use_query = false;
    if (token == NULL && use_query)
        token = mock_query_get(&ctx->query, "access_token");
    if (token != NULL && token[0] == '\0')
        token = NULL;

    if (token == NULL) {
        if (route->auth == MOCK_AUTH_OPTIONAL)
            return 0;
        mock_error(ctx->reply, 401, "M_MISSING_TOKEN", "Missing access token");
        return -1;
    }

    const struct mock_appservice *as = mock_config_appservice_by_token(cfg, token);
    if (as != NULL)
        return assert_identity(ctx, as);

    struct store_token_owner owner;
    if (store_token_lookup(ctx->state->store, token, &owner) == 0)
        return set_identity(ctx, owner.user_id, owner.device_id);

    const char *dead_user, *dead_device;
    bool accepted = false;
    int known = mock_dev_dead_token(ctx->dev, token, &dead_user, &dead_device, &accepted);
    if (known && accepted)
        return set_identity(ctx, dead_user, dead_device);
    return unknown_token(ctx, known);
}

void mock_auth_mark_seen(struct mock_ctx *ctx) {
    if (ctx->who.user_id == NULL || ctx->who.device_id == NULL)
        return;
    store_device_seen(ctx->state->store, ctx->who.user_id, ctx->who.device_id,
                      ctx->req->client_ip != NULL ? ctx->req->client_ip : "unknown",
                      ctx->now_ms);
}

bool mock_user_has_password(struct mock_ctx *ctx, const char *user_id) {
    /* The store does not say whether a user has a password; the only
     * passwordless users the mock makes are application-service users, and
     * those live in a service's namespace. */
    const struct mock_config *cfg = ctx->state->cfg;
    for (size_t i = 0; i < cfg->n_appservices; i++) {
        if (mock_appservice_owns_user(&cfg->appservices[i], user_id) ||
            strcmp(cfg->appservices[i].sender_user_id, user_id) == 0)
            return false;
    }
    return true;
}

/* ---- User-Interactive Authentication ---- */

static const char *stage_of(enum mock_uia_kind kind) {
    switch (kind) {
        case MOCK_UIA_PASSWORD:
            return "m.login.password";
        case MOCK_UIA_REGISTRATION_TOKEN:
            return "m.login.registration_token";
        case MOCK_UIA_DUMMY:
            break;
    }
    return "m.login.dummy";
}

static json_t *flows_of(enum mock_uia_kind kind) {
    return json_pack("[{s:[s]}]", "stages", stage_of(kind));
}

static void on_completed_stage(const char *stage, void *arg) {
    json_array_append_new(arg, json_string(stage));
}

/* Fills the UIA 401: flows, params, session, completed; with errcode and
 * error when a stage failed. */
static void challenge(struct mock_ctx *ctx, enum mock_uia_kind kind, const char *user_id,
                      const char *op, const char *session, const char *errcode,
                      const char *message) {
    struct uia *u = ctx->state->uia;
    json_t *body;
    if (errcode != NULL) {
        body = mock_error(ctx->reply, 401, errcode, "%s", message);
        if (body == NULL)
            return;
        if (mock_deviates(ctx->dev, DEV_UIA_NEW_SESSION)) {
            const char *fresh = uia_open(u, user_id, ctx->req->method, op, ctx->now_ms);
            if (fresh != NULL)
                session = fresh;
        }
    } else {
        body = json_object();
        mock_reply_json(ctx->reply, 401, body);
        if (body == NULL)
            return;
    }
    json_t *completed = json_array();
    if (completed != NULL)
        uia_foreach_completed(u, session, on_completed_stage, completed);
    if (json_object_set_new(body, "flows", flows_of(kind)) < 0 ||
        json_object_set_new(body, "params", json_object()) < 0 ||
        json_object_set_new(body, "session", json_string(session)) < 0 ||
        json_object_set_new(body, "completed", completed) < 0)
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
}

/* Checks an m.login.password stage for user_id. Returns 0, -1 when the
 * credentials do not prove user_id, -2 (reply filled) on a malformed stage. */
static int check_password(struct mock_ctx *ctx, json_t *auth, const char *user_id) {
    const char *who = NULL, *password = NULL;
    json_t *ident = json_object_get(auth, "identifier");
    if (ident != NULL) {
        const char *type = NULL;
        if (!json_is_object(ident) || mock_body_string(ctx, ident, "type", &type) < 0 ||
            mock_body_string(ctx, ident, "user", &who) < 0) {
            mock_error(ctx->reply, 400, "M_BAD_JSON", "identifier must be an m.id.user");
            return -2;
        }
        if (type == NULL || strcmp(type, "m.id.user") != 0 || who == NULL)
            return -1;
    } else if (mock_body_string(ctx, auth, "user", &who) < 0) {
        return -2;
    }
    if (mock_body_string(ctx, auth, "password", &password) < 0)
        return -2;
    if (password == NULL)
        return -1;
    /* Without an identifier the stage speaks for the session's user. */
    char *claimed = who != NULL ? mock_qualify_user(ctx, who) : strdup(user_id);
    if (claimed == NULL)
        return -1;
    int rc = -1;
    if (strcmp(claimed, user_id) == 0) {
        if (store_user_password_ok(ctx->state->store, user_id, password) ||
            mock_deviates(ctx->dev, DEV_UIA_ACCEPT_WRONG_PASSWORD))
            rc = 0;
    } else if (mock_deviates(ctx->dev, DEV_UIA_ANY_USER) &&
               store_user_password_ok(ctx->state->store, claimed, password)) {
        rc = 0;
    }
    free(claimed);
    return rc;
}

int mock_uia_gate(struct mock_ctx *ctx, enum mock_uia_kind kind, const char *user_id,
                  const char *op, const char **session_out) {
    struct uia *u = ctx->state->uia;
    const char *method = ctx->req->method;
    const char *stage = stage_of(kind);

    json_t *auth = json_object_get(ctx->body, "auth");
    if (auth != NULL && !json_is_object(auth)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "auth must be an object");
        return -1;
    }
    const char *session = NULL;
    if (auth != NULL && mock_body_string(ctx, auth, "session", &session) < 0)
        return -1;
    if (session != NULL) {
        enum uia_lookup found = uia_check(u, session, user_id, method, op, ctx->now_ms);
        if (found == UIA_SESSION_MISMATCH &&
            !mock_deviates(ctx->dev, DEV_UIA_SESSION_UNBOUND)) {
            mock_error(ctx->reply, 403, "M_FORBIDDEN",
                       "This session was opened for another operation");
            return -1;
        }
        /* An unknown or expired session is as good as none: the stage in
         * this request can still open and complete a fresh one. */
        if (found == UIA_SESSION_UNKNOWN)
            session = NULL;
    }
    if (session == NULL) {
        session = uia_open(u, user_id, method, op, ctx->now_ms);
        if (session == NULL) {
            mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
            return -1;
        }
    }
    if (auth == NULL) {
        challenge(ctx, kind, user_id, op, session, NULL, NULL);
        return -1;
    }

    const char *type = NULL;
    if (mock_body_string(ctx, auth, "type", &type) < 0)
        return -1;
    if (type == NULL) {
        /* A request naming only the session continues it. */
        if (uia_stage_done(u, session, stage))
            goto done;
        challenge(ctx, kind, user_id, op, session, NULL, NULL);
        return -1;
    }
    if (strcmp(type, stage) != 0) {
        if (kind == MOCK_UIA_PASSWORD && strcmp(type, "m.login.dummy") == 0 &&
            mock_deviates(ctx->dev, DEV_UIA_ACCEPT_DUMMY))
            goto done;
        challenge(ctx, kind, user_id, op, session, "M_UNRECOGNIZED",
                  "This stage is not offered");
        return -1;
    }
    switch (kind) {
        case MOCK_UIA_PASSWORD: {
            int rc = check_password(ctx, auth, user_id);
            if (rc == -2)
                return -1;
            if (rc < 0) {
                challenge(ctx, kind, user_id, op, session, "M_FORBIDDEN",
                          "Invalid password");
                return -1;
            }
            break;
        }
        case MOCK_UIA_REGISTRATION_TOKEN: {
            const char *token = NULL;
            if (mock_body_string(ctx, auth, "token", &token) < 0)
                return -1;
            if (!mock_ct_equal(token, ctx->state->registration_token)) {
                challenge(ctx, kind, user_id, op, session, "M_FORBIDDEN",
                          "Invalid registration token");
                return -1;
            }
            break;
        }
        case MOCK_UIA_DUMMY:
            break;
    }
    if (uia_complete_stage(u, session, stage) < 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return -1;
    }
done:
    *session_out = session;
    return 0;
}
