/* Account operations the suite needs around device management: versions,
 * login, registration, logout, whoami. One handler per operation. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "deviations.h"
#include "errors.h"
#include "handlers.h"
#include "random.h"
#include "state.h"
#include "store.h"
#include "uia.h"

/* Longest device ID accepted from a client. */
#define MAX_DEVICE_ID 255
/* Longest full user ID (the spec's limit). */
#define MAX_USER_ID 255

void on_versions(struct mock_ctx *ctx) {
    int minor = (int)ctx->state->cfg->spec_version - 100;
    json_t *versions = json_array();
    for (int i = 1; versions != NULL && i <= minor; i++) {
        char v[16];
        snprintf(v, sizeof v, "v1.%d", i);
        json_array_append_new(versions, json_string(v));
    }
    json_t *unstable = json_object();
    if (ctx->state->cfg->spec_version >= SPEC_V1_17)
        json_object_set_new(unstable, "io.element.msc4190", json_true());
    mock_reply_json(
        ctx->reply, 200,
        json_pack("{s:o*,s:o*}", "versions", versions, "unstable_features", unstable));
}

void on_login_flows(struct mock_ctx *ctx) {
    mock_reply_json(ctx->reply, 200,
                    json_pack("{s:[{s:s},{s:s}]}", "flows", "type", "m.login.password",
                              "type", "m.login.application_service"));
}

/* Validates an optional client-chosen device ID. Returns 0, or -1 with the
 * 400 filled. */
static int check_device_id(struct mock_ctx *ctx, const char *device_id) {
    if (device_id != NULL &&
        (device_id[0] == '\0' || strlen(device_id) > MAX_DEVICE_ID)) {
        mock_error(ctx->reply, 400, "M_INVALID_PARAM",
                   "device_id must be 1 to %d bytes long", MAX_DEVICE_ID);
        return -1;
    }
    return 0;
}

/* Gives user_id a device (device_id, or a new one; an existing device keeps
 * its name and gets a new token, the old one being revoked) and answers
 * {user_id, access_token, device_id}. */
static void start_session(struct mock_ctx *ctx, const char *user_id,
                          const char *device_id, const char *display_name) {
    struct store *st = ctx->state->store;
    char generated[11];
    if (device_id == NULL) {
        store_device_id_generate(st, user_id, generated);
        device_id = generated;
    }
    if (mock_deviates(ctx->dev, DEV_LOGIN_IGNORES_INITIAL_NAME))
        display_name = NULL;
    if (store_device_get(st, user_id, device_id) == NULL &&
        store_device_create(st, user_id, device_id, display_name) != 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not create the device");
        return;
    }
    const char *token = store_token_issue(st, user_id, device_id);
    if (token == NULL) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not issue a token");
        return;
    }
    store_device_seen(st, user_id, device_id,
                      ctx->req->client_ip != NULL ? ctx->req->client_ip : "unknown",
                      ctx->now_ms);
    mock_dev_note_user(ctx->dev, user_id);
    mock_reply_json(ctx->reply, 200,
                    json_pack("{s:s,s:s,s:s,s:s}", "user_id", user_id, "access_token",
                              token, "device_id", device_id, "home_server",
                              ctx->state->cfg->server_name));
}

/* The user named by a login request: identifier {type: m.id.user, user} or
 * the legacy top-level "user". Returns 0 with *user (borrowed) set, or -1
 * with the 400 filled. */
static int login_user(struct mock_ctx *ctx, const char **user) {
    json_t *ident = json_object_get(ctx->body, "identifier");
    *user = NULL;
    if (ident != NULL) {
        const char *type = NULL;
        if (!json_is_object(ident)) {
            mock_error(ctx->reply, 400, "M_BAD_JSON", "identifier must be an object");
            return -1;
        }
        if (mock_body_string(ctx, ident, "type", &type) < 0 ||
            mock_body_string(ctx, ident, "user", user) < 0)
            return -1;
        if (type == NULL || strcmp(type, "m.id.user") != 0) {
            mock_error(ctx->reply, 400, "M_UNKNOWN", "Unknown identifier type");
            return -1;
        }
    } else if (mock_body_string(ctx, ctx->body, "user", user) < 0) {
        return -1;
    }
    if (*user == NULL || (*user)[0] == '\0') {
        mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing identifier user");
        return -1;
    }
    return 0;
}

void on_login(struct mock_ctx *ctx) {
    const char *type, *user, *password = NULL, *device_id, *name;
    char *user_id = NULL;
    if (mock_body_string(ctx, ctx->body, "type", &type) < 0 ||
        mock_body_string(ctx, ctx->body, "device_id", &device_id) < 0 ||
        mock_body_string(ctx, ctx->body, "initial_device_display_name", &name) < 0 ||
        check_device_id(ctx, device_id) < 0)
        return;
    if (type == NULL) {
        mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing login type");
        return;
    }
    bool by_password = strcmp(type, "m.login.password") == 0;
    if (!by_password && strcmp(type, "m.login.application_service") != 0) {
        mock_error(ctx->reply, 400, "M_UNKNOWN", "Unknown login type");
        return;
    }
    if (login_user(ctx, &user) < 0)
        return;
    user_id = mock_qualify_user(ctx, user);
    if (user_id == NULL) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return;
    }
    if (by_password) {
        if (mock_body_string(ctx, ctx->body, "password", &password) < 0)
            goto out;
        if (password == NULL) {
            mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing password");
            goto out;
        }
        if (!store_user_password_ok(ctx->state->store, user_id, password)) {
            mock_error(ctx->reply, 403, "M_FORBIDDEN", "Invalid username or password");
            goto out;
        }
    } else {
        if (ctx->who.as == NULL) {
            if (ctx->who.user_id == NULL)
                mock_error(ctx->reply, 401, "M_MISSING_TOKEN",
                           "This login type needs the application service's token");
            else
                mock_error(ctx->reply, 403, "M_FORBIDDEN",
                           "This login type is for application services");
            goto out;
        }
        if (!mock_appservice_owns_user(ctx->who.as, user_id) ||
            !store_user_exists(ctx->state->store, user_id)) {
            mock_error(ctx->reply, 403, "M_FORBIDDEN",
                       "The user is not a registered user of this application service");
            goto out;
        }
    }
    start_session(ctx, user_id, device_id, name);
out:
    free(user_id);
}

/* Allowed localpart characters for new users. */
static bool localpart_ok(const char *s) {
    if (s[0] == '\0')
        return false;
    for (; *s != '\0'; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '=' || c == '-' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

/* Registration fields shared by both kinds of registration. */
struct reg_request {
    const char *username, *password, *device_id, *name, *type;
    bool inhibit_login;
};

static int read_registration(struct mock_ctx *ctx, struct reg_request *r) {
    memset(r, 0, sizeof *r);
    const char *kind = mock_query_get(&ctx->query, "kind");
    if (kind != NULL && strcmp(kind, "user") != 0) {
        if (strcmp(kind, "guest") == 0)
            mock_error(ctx->reply, 403, "M_GUEST_ACCESS_FORBIDDEN",
                       "Guest access is disabled");
        else
            mock_error(ctx->reply, 400, "M_INVALID_PARAM", "Unknown kind");
        return -1;
    }
    if (mock_body_string(ctx, ctx->body, "username", &r->username) < 0 ||
        mock_body_string(ctx, ctx->body, "password", &r->password) < 0 ||
        mock_body_string(ctx, ctx->body, "device_id", &r->device_id) < 0 ||
        mock_body_string(ctx, ctx->body, "initial_device_display_name", &r->name) < 0 ||
        mock_body_string(ctx, ctx->body, "type", &r->type) < 0 ||
        check_device_id(ctx, r->device_id) < 0)
        return -1;
    json_t *inhibit = json_object_get(ctx->body, "inhibit_login");
    if (inhibit != NULL && !json_is_boolean(inhibit)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "inhibit_login must be a boolean");
        return -1;
    }
    r->inhibit_login = json_is_true(inhibit);
    return 0;
}

/* Checks a requested localpart and builds the user ID. Returns a new string,
 * or NULL with the 400 filled. */
static char *new_user_id(struct mock_ctx *ctx, const char *localpart) {
    if (!localpart_ok(localpart)) {
        mock_error(ctx->reply, 400, "M_INVALID_USERNAME",
                   "User ID may only contain a-z, 0-9, '.', '_', '=', '-' and '/'");
        return NULL;
    }
    char *user_id = mock_qualify_user(ctx, localpart);
    if (user_id == NULL) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return NULL;
    }
    if (strlen(user_id) > MAX_USER_ID) {
        mock_error(ctx->reply, 400, "M_INVALID_USERNAME", "User ID is too long");
        free(user_id);
        return NULL;
    }
    if (store_user_exists(ctx->state->store, user_id)) {
        mock_error(ctx->reply, 400, "M_USER_IN_USE", "User ID already taken");
        free(user_id);
        return NULL;
    }
    return user_id;
}

/* new_user_id for registrations that are not an application service's own:
 * a name in an exclusive namespace is refused with M_EXCLUSIVE. */
static char *new_client_user_id(struct mock_ctx *ctx, const char *localpart) {
    char *user_id = new_user_id(ctx, localpart);
    if (user_id != NULL &&
        mock_config_exclusive_owner(ctx->state->cfg, user_id) != NULL) {
        mock_error(ctx->reply, 400, "M_EXCLUSIVE",
                   "This user ID is reserved by an application service");
        free(user_id);
        return NULL;
    }
    return user_id;
}

static void finish_registration(struct mock_ctx *ctx, const struct reg_request *r,
                                const char *user_id) {
    if (r->inhibit_login)
        mock_reply_json(ctx->reply, 200, json_pack("{s:s}", "user_id", user_id));
    else
        start_session(ctx, user_id, r->device_id, r->name);
}

void on_register(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    struct reg_request r;
    char *user_id = NULL;
    if (read_registration(ctx, &r) < 0)
        return;

    if (r.type != NULL && strcmp(r.type, "m.login.application_service") == 0) {
        if (ctx->who.as == NULL) {
            if (ctx->who.user_id == NULL)
                mock_error(
                    ctx->reply, 401, "M_MISSING_TOKEN",
                    "This registration type needs the application service's token");
            else
                mock_error(ctx->reply, 403, "M_FORBIDDEN",
                           "This registration type is for application services");
            return;
        }
        if (r.username == NULL) {
            mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing username");
            return;
        }
        user_id = new_user_id(ctx, r.username);
        if (user_id == NULL)
            return;
        if (!mock_appservice_owns_user(ctx->who.as, user_id)) {
            mock_error(ctx->reply, 400, "M_EXCLUSIVE",
                       "The user ID is outside the application service's namespace");
            goto out;
        }
        if (store_user_create(st, user_id, NULL) != 0) {
            mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not create the user");
            goto out;
        }
        finish_registration(ctx, &r, user_id);
        goto out;
    }

    if (ctx->state->registration_disabled) {
        mock_error(ctx->reply, 403, "M_FORBIDDEN", "registration is disabled");
        return;
    }
    if (r.password == NULL) {
        mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing password");
        return;
    }
    char generated[2 * 6 + 2] = "u";
    if (r.username == NULL) {
        if (mock_random_hex(generated + 1, 6) < 0) {
            mock_error(ctx->reply, 500, "M_UNKNOWN", "No randomness");
            return;
        }
        r.username = generated;
    }
    user_id = new_client_user_id(ctx, r.username);
    if (user_id == NULL)
        return;
    enum mock_uia_kind kind = ctx->state->registration_token != NULL
                                  ? MOCK_UIA_REGISTRATION_TOKEN
                                  : MOCK_UIA_DUMMY;
    const char *session = NULL;
    /* Nobody is logged in yet: the session belongs to the empty user. */
    if (mock_uia_gate(ctx, kind, "", ctx->match.op_path, &session) < 0)
        goto out;
    if (store_user_create(st, user_id, r.password) != 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not create the user");
        goto out;
    }
    uia_close(ctx->state->uia, session);
    finish_registration(ctx, &r, user_id);
out:
    free(user_id);
}

void on_logout(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    const char *user_id = ctx->who.user_id, *device_id = ctx->who.device_id;
    if (device_id != NULL) {
        if (mock_deviates(ctx->dev, DEV_LOGOUT_KEEPS_DEVICE))
            store_token_revoke(st, store_device_token(st, user_id, device_id));
        else
            store_device_delete(st, user_id, device_id);
    }
    mock_reply_json(ctx->reply, 200, json_object());
}

static void on_collect_id(const struct store_device *dev, void *arg) {
    json_array_append_new(arg, json_string(dev->device_id));
}

void on_logout_all(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    json_t *ids = json_array();
    if (ids == NULL) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return;
    }
    store_device_foreach(st, ctx->who.user_id, on_collect_id, ids);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        store_device_delete(st, ctx->who.user_id, json_string_value(id));
    }
    json_decref(ids);
    mock_reply_json(ctx->reply, 200, json_object());
}

void on_whoami(struct mock_ctx *ctx) {
    json_t *body = json_pack("{s:s,s:b}", "user_id", ctx->who.user_id, "is_guest", 0);
    if (body != NULL && ctx->who.device_id != NULL)
        json_object_set_new(body, "device_id", json_string(ctx->who.device_id));
    mock_reply_json(ctx->reply, 200, body);
}

/* ---- shared-secret registration (Synapse's /_synapse/admin/v1/register) ---- */

/* Without --shared-secret the endpoint does not exist. Returns true (404
 * filled) then. */
static bool admin_register_off(struct mock_ctx *ctx) {
    if (ctx->state->shared_secret != NULL)
        return false;
    mock_error(ctx->reply, 404, "M_UNRECOGNIZED", "Unrecognized request");
    return true;
}

void on_admin_register_nonce(struct mock_ctx *ctx) {
    if (admin_register_off(ctx))
        return;
    /* A free or expired slot, else the one that expires first. */
    struct mock_admin_nonce *slot = &ctx->state->admin_nonces[0];
    for (size_t i = 0; i < MOCK_ADMIN_NONCES; i++) {
        struct mock_admin_nonce *n = &ctx->state->admin_nonces[i];
        if (n->value[0] == '\0' || n->expires_ms <= ctx->now_ms) {
            slot = n;
            break;
        }
        if (n->expires_ms < slot->expires_ms)
            slot = n;
    }
    if (mock_random_hex(slot->value, (sizeof slot->value - 1) / 2) < 0) {
        slot->value[0] = '\0';
        mock_error(ctx->reply, 500, "M_UNKNOWN", "No randomness");
        return;
    }
    slot->expires_ms = ctx->now_ms + MOCK_ADMIN_NONCE_TTL_MS;
    mock_reply_json(ctx->reply, 200, json_pack("{s:s}", "nonce", slot->value));
}

/* Consumes nonce: true when it was handed out and has not expired. Every
 * slot is compared, so the time taken does not tell which one matched. */
static bool take_nonce(struct mock_ctx *ctx, const char *nonce) {
    bool found = false;
    for (size_t i = 0; i < MOCK_ADMIN_NONCES; i++) {
        struct mock_admin_nonce *n = &ctx->state->admin_nonces[i];
        bool same = n->value[0] != '\0' && mock_ct_equal(n->value, nonce);
        if (same) {
            found = n->expires_ms > ctx->now_ms;
            n->value[0] = '\0';
        }
    }
    return found;
}

/* Hex HMAC-SHA1 under the shared secret of the NUL-separated parts, as
 * Synapse computes it. Returns 0, or -1 on failure. */
static int admin_mac(const char *secret, const char *const *parts, size_t n_parts,
                     char hex[2 * 20 + 1]) {
    size_t total = 0;
    for (size_t i = 0; i < n_parts; i++)
        total += strlen(parts[i]) + 1;
    unsigned char *msg = malloc(total);
    if (msg == NULL)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < n_parts; i++) {
        size_t len = strlen(parts[i]);
        if (i > 0)
            msg[off++] = '\0';
        memcpy(msg + off, parts[i], len);
        off += len;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bool ok =
        HMAC(EVP_sha1(), secret, (int)strlen(secret), msg, off, mac, &mac_len) != NULL &&
        mac_len == 20;
    free(msg);
    if (!ok)
        return -1;
    mock_hex_encode(mac, mac_len, hex);
    return 0;
}

void on_admin_register(struct mock_ctx *ctx) {
    const char *nonce, *username, *password, *mac, *displayname, *user_type;
    char *user_id = NULL;
    if (admin_register_off(ctx))
        return;
    if (mock_body_string(ctx, ctx->body, "nonce", &nonce) < 0 ||
        mock_body_string(ctx, ctx->body, "username", &username) < 0 ||
        mock_body_string(ctx, ctx->body, "password", &password) < 0 ||
        mock_body_string(ctx, ctx->body, "mac", &mac) < 0 ||
        mock_body_string(ctx, ctx->body, "displayname", &displayname) < 0 ||
        mock_body_string(ctx, ctx->body, "user_type", &user_type) < 0)
        return;
    json_t *admin = json_object_get(ctx->body, "admin");
    if (admin != NULL && !json_is_boolean(admin) && !json_is_null(admin)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "admin must be a boolean");
        return;
    }
    if (nonce == NULL || username == NULL || password == NULL || mac == NULL) {
        mock_error(ctx->reply, 400, "M_MISSING_PARAM",
                   "nonce, username, password and mac are required");
        return;
    }
    /* Like Synapse: a nonce is gone once presented, whatever happens next. */
    if (!take_nonce(ctx, nonce)) {
        mock_error(ctx->reply, 400, "M_UNKNOWN", "unrecognised nonce");
        return;
    }
    const char *parts[] = {nonce, username, password,
                           json_is_true(admin) ? "admin" : "notadmin", user_type};
    char want[2 * 20 + 1];
    if (admin_mac(ctx->state->shared_secret, parts, user_type != NULL ? 5 : 4, want) <
        0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not compute the MAC");
        return;
    }
    if (!mock_ct_equal(want, mac)) {
        mock_error(ctx->reply, 403, "M_FORBIDDEN", "HMAC incorrect");
        return;
    }
    user_id = new_client_user_id(ctx, username);
    if (user_id == NULL)
        return;
    if (store_user_create(ctx->state->store, user_id, password) != 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not create the user");
        goto out;
    }
    /* The mock keeps no profiles or admin flags: displayname and admin only
     * take part in validation and the MAC. */
    start_session(ctx, user_id, NULL, NULL);
out:
    free(user_id);
}
