/* Device management, one handler per operation: getDevices, getDevice,
 * updateDevice, deleteDevice, deleteDevices. Translates between JSON and
 * store calls; no storage code here.
 *
 * Deletion needs User-Interactive Authentication from users: the flow
 * [m.login.password] for users with a password. Users without one (made by
 * an application service) are offered [m.login.dummy] rather than a flow
 * they could never complete; their application service deletes without UIA
 * since 1.17. At 1.16 the application service gets the password challenge,
 * which it cannot answer, as the spec of that version implies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "deviations.h"
#include "deviation_filters.h"
#include "errors.h"
#include "handlers.h"
#include "json_text.h"
#include "listing.h"
#include "state.h"
#include "store.h"
#include "uia.h"

/* Longest device ID an application service may create. */
#define MAX_DEVICE_ID 255

static void on_list_device(const struct store_device *dev, void *arg) {
    json_array_append_new(arg, mock_device_json(dev));
}

struct leak_state {
    struct store *st;
    json_t *devices;
};

static void on_leak_user(const char *other, void *arg) {
    struct leak_state *lk = arg;
    store_device_foreach(lk->st, other, on_list_device, lk->devices);
}

/* Whether the listing is built with jansson below (a deviation adds to it,
 * or a filter rewrites it), rather than written straight from the store
 * (listing.c). */
static bool listing_as_json(const struct mock_ctx *ctx) {
    return mock_deviates(ctx->dev, DEV_LIST_LEAKS_OTHER_USER) ||
           mock_deviation_filters_rewrite_body(ctx->dev, "getDevices");
}

void on_get_devices(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    if (!listing_as_json(ctx) &&
        mock_listing_reply(st, ctx->who.user_id, ctx->reply) == 0)
        return;
    struct leak_state lk = {st, json_array()};
    if (lk.devices == NULL) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return;
    }
    store_device_foreach(st, ctx->who.user_id, on_list_device, lk.devices);
    if (mock_deviates(ctx->dev, DEV_LIST_LEAKS_OTHER_USER))
        mock_dev_foreach_other_user(ctx->dev, ctx->who.user_id, on_leak_user, &lk);
    mock_reply_json(ctx->reply, 200, json_pack("{s:o}", "devices", lk.devices));
}

void on_get_device(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    const char *device_id = ctx->match.params[0];
    if (mock_deviates(ctx->dev, DEV_GET_RAW_PATH_ID))
        device_id = ctx->match.raw_params[0];
    const struct store_device *dev = store_device_get(st, ctx->who.user_id, device_id);
    if (dev == NULL && mock_deviates(ctx->dev, DEV_GET_OTHER_USER_LEAK))
        dev = mock_dev_other_device(ctx->dev, st, ctx->who.user_id, device_id, NULL);
    if (dev == NULL) {
        mock_error(ctx->reply, 404, "M_NOT_FOUND", "Device not found");
        return;
    }
    mock_reply_json(ctx->reply, 200, mock_device_json(dev));
}

void on_update_device(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    const char *user_id = ctx->who.user_id;
    const char *device_id = ctx->match.params[0];
    bool by_as = ctx->who.as != NULL;
    char *ascii = NULL;

    const char *name = NULL;
    json_t *jname = json_object_get(ctx->body, "display_name");
    if (jname != NULL && !json_is_string(jname) &&
        !mock_deviates(ctx->dev, DEV_PUT_BAD_TYPE_IGNORED)) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "display_name must be a string");
        return;
    }
    if (json_is_string(jname))
        name = json_string_value(jname);
    if (name != NULL && mock_deviates(ctx->dev, DEV_PUT_ASCII_ONLY))
        name = ascii = mock_dev_ascii_only(name);

    if (store_device_get(st, user_id, device_id) != NULL) {
        int rc = 0;
        if (name != NULL && !(mock_deviates(ctx->dev, DEV_PUT_NAME_NOT_SAVED) && !by_as))
            rc = store_device_set_name(st, user_id, device_id, name);
        else if (name == NULL && mock_deviates(ctx->dev, DEV_PUT_EMPTY_CLEARS_NAME))
            rc = store_device_set_name(st, user_id, device_id, NULL);
        if (rc != 0)
            mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        else
            mock_reply_json(ctx->reply, 200, json_object());
        goto out;
    }

    const char *other = NULL;
    if (name != NULL && mock_deviates(ctx->dev, DEV_PUT_OTHER_USER_RENAMES) &&
        mock_dev_other_device(ctx->dev, st, user_id, device_id, &other) != NULL)
        store_device_set_name(st, other, device_id, name);
    /* Creation is for application services, since 1.17. */
    bool may_create = by_as && ctx->state->cfg->spec_version >= SPEC_V1_17;
    if (!by_as && mock_deviates(ctx->dev, DEV_USER_CAN_CREATE))
        may_create = true;
    if (!may_create) {
        if (!by_as && mock_deviates(ctx->dev, DEV_PUT_UNKNOWN_CREATES))
            store_device_create(st, user_id, device_id, name);
        mock_error(ctx->reply, 404, "M_NOT_FOUND", "Device not found");
        goto out;
    }
    if (strlen(device_id) > MAX_DEVICE_ID) {
        mock_error(ctx->reply, 400, "M_INVALID_PARAM", "The device ID is too long");
        goto out;
    }
    if (mock_rate_limited(ctx, "device_create"))
        goto out;
    char generated[11];
    if (mock_deviates(ctx->dev, DEV_AS_CREATE_OWN_ID)) {
        store_device_id_generate(st, user_id, generated);
        device_id = generated;
    }
    if (mock_deviates(ctx->dev, DEV_AS_CREATE_DROPS_NAME))
        name = NULL;
    if (store_device_create(st, user_id, device_id, name) != 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Could not create the device");
        goto out;
    }
    mock_reply_json(ctx->reply, 201, json_object());
out:
    free(ascii);
}

/* ---- deletion ---- */

enum delete_how { DELETE_SINGLE, DELETE_BULK };

static void on_collect_id(const struct store_device *dev, void *arg) {
    json_array_append_new(arg, json_string(dev->device_id));
}

/* Revokes the tokens of the user's devices other than keep. */
static void revoke_other_tokens(struct store *st, const char *user_id, const char *keep) {
    json_t *ids = json_array();
    if (ids == NULL)
        return;
    store_device_foreach(st, user_id, on_collect_id, ids);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        const char *d = json_string_value(id);
        if (keep == NULL || strcmp(d, keep) != 0)
            store_token_revoke(st, store_device_token(st, user_id, d));
    }
    json_decref(ids);
}

/* Deletes one of the caller's devices (revoking its token). Returns 0 when
 * deleted, 1 when the user had no such device. */
static int delete_one(struct mock_ctx *ctx, const char *device_id, enum delete_how how) {
    struct store *st = ctx->state->store;
    const char *user_id = ctx->who.user_id;
    bool by_as = ctx->who.as != NULL;
    bool self = !by_as && ctx->who.device_id != NULL &&
                strcmp(ctx->who.device_id, device_id) == 0;
    enum mock_deviation keeps = by_as                ? DEV_AS_DELETE_KEEPS_TOKENS
                                : how == DELETE_BULK ? DEV_BULK_DELETE_KEEPS_TOKENS
                                : self               ? DEV_SELF_DELETE_KEEPS_TOKEN
                                                     : DEV_DELETED_TOKEN_SURVIVES;
    bool survives = mock_deviates(ctx->dev, keeps);
    char *token = NULL;
    if (survives || mock_deviates(ctx->dev, DEV_DELETED_TOKEN_SOFT_LOGOUT)) {
        const char *t = store_device_token(st, user_id, device_id);
        token = t != NULL ? strdup(t) : NULL;
    }
    int rc = store_device_delete(st, user_id, device_id);
    if (rc == 0) {
        if (token != NULL)
            mock_dev_note_dead_token(ctx->dev, token, user_id, device_id, survives);
        mock_dev_note_deleted(ctx->dev, user_id, device_id);
        if (mock_deviates(ctx->dev, DEV_DELETE_REVOKES_OTHER_TOKENS))
            revoke_other_tokens(st, user_id, ctx->who.device_id);
    }
    free(token);
    return rc;
}

/* Requires UIA unless the caller is exempt. Returns 0 to go on (*session set
 * to the session to close, or NULL), or -1 with the reply filled. */
static int deletion_auth(struct mock_ctx *ctx, const char *op, bool as_exempt,
                         const char **session) {
    *session = NULL;
    if (ctx->who.as != NULL && as_exempt)
        return 0;
    bool has_password = mock_user_has_password(ctx, ctx->who.user_id);
    if (ctx->who.as == NULL && !has_password &&
        mock_deviates(ctx->dev, DEV_NAMESPACE_USER_NO_UIA))
        return 0;
    /* The application service (1.16) answers for a user without password:
     * it gets the password flow, which it cannot complete. */
    enum mock_uia_kind kind =
        ctx->who.as != NULL || has_password ? MOCK_UIA_PASSWORD : MOCK_UIA_DUMMY;
    /* --uia-grace-ms: a device that passed UIA lately is let through. */
    struct uia *u = ctx->state->uia;
    int64_t grace = ctx->state->cfg->uia_grace_ms;
    if (ctx->who.as == NULL &&
        uia_passed_within(u, ctx->who.user_id, ctx->who.device_id, ctx->now_ms, grace))
        return 0;
    int rc = mock_uia_gate(ctx, kind, ctx->who.user_id, op, session);
    if (rc == 0 && grace > 0 && ctx->who.as == NULL &&
        uia_note_passed(u, ctx->who.user_id, ctx->who.device_id, ctx->now_ms) < 0) {
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        return -1;
    }
    return rc;
}

void on_delete_device(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    const char *user_id = ctx->who.user_id;
    const char *device_id = ctx->match.params[0];
    bool as_exempt = ctx->state->cfg->spec_version >= SPEC_V1_17 &&
                     !mock_deviates(ctx->dev, DEV_AS_DELETE_NEEDS_UIA);

    if (mock_deviates(ctx->dev, DEV_UIA_CHALLENGE_DELETES) &&
        json_object_get(ctx->body, "auth") == NULL)
        delete_one(ctx, device_id, DELETE_SINGLE);
    const char *session;
    if (deletion_auth(ctx, ctx->match.op_path, as_exempt, &session) < 0)
        return;

    int rc = 0;
    if (!mock_deviates(ctx->dev, DEV_UIA_SUCCESS_KEEPS_DEVICE) || session == NULL)
        rc = delete_one(ctx, device_id, DELETE_SINGLE);
    const char *other = NULL;
    if (rc == 1 && mock_deviates(ctx->dev, DEV_DELETE_OTHER_USER) &&
        mock_dev_other_device(ctx->dev, st, user_id, device_id, &other) != NULL)
        store_device_delete(st, other, device_id);
    if (session != NULL)
        uia_close(ctx->state->uia, session);
    bool was_deleted = rc == 1 && mock_dev_was_deleted(ctx->dev, user_id, device_id);
    if ((was_deleted && mock_deviates(ctx->dev, DEV_DELETE_AGAIN_404)) ||
        (rc == 1 && !was_deleted && mock_deviates(ctx->dev, DEV_DELETE_UNKNOWN_404))) {
        mock_error(ctx->reply, 404, "M_NOT_FOUND", "Device not found");
        return;
    }
    mock_reply_json(ctx->reply, 200, json_object());
}

void on_delete_devices(struct mock_ctx *ctx) {
    struct store *st = ctx->state->store;
    const char *user_id = ctx->who.user_id;
    json_t *devices = json_object_get(ctx->body, "devices");
    json_t *none = NULL;
    char *op = NULL;
    if (devices == NULL && mock_deviates(ctx->dev, DEV_BULK_MISSING_OK))
        devices = none = json_array();
    if (devices == NULL) {
        mock_error(ctx->reply, 400, "M_MISSING_PARAM", "Missing devices");
        return;
    }
    size_t i;
    json_t *id;
    bool strings = json_is_array(devices);
    json_array_foreach(devices, i, id) {
        strings = strings && json_is_string(id);
    }
    if (!strings) {
        mock_error(ctx->reply, 400, "M_BAD_JSON", "devices must be an array of strings");
        goto out;
    }

    /* The session binds to the list too: a session opened to delete some
     * devices cannot delete others. */
    char *list = mock_json_text(devices);
    if (list == NULL || asprintf(&op, "%s?devices=%s", ctx->match.op_path, list) < 0) {
        free(list);
        op = NULL;
        mock_error(ctx->reply, 500, "M_UNKNOWN", "Out of memory");
        goto out;
    }
    free(list);
    bool as_exempt = ctx->state->cfg->spec_version >= SPEC_V1_17 &&
                     !mock_deviates(ctx->dev, DEV_AS_DELETE_NEEDS_UIA) &&
                     !mock_deviates(ctx->dev, DEV_AS_BULK_NEEDS_UIA);
    const char *session;
    if (deletion_auth(ctx, op, as_exempt, &session) < 0)
        goto out;

    size_t existing = 0, n = json_array_size(devices);
    /* Counted only for the deviations that answer by it (one lookup per ID). */
    if (mock_deviates(ctx->dev, DEV_BULK_MIXED_400) ||
        mock_deviates(ctx->dev, DEV_BULK_AGAIN_404)) {
        json_array_foreach(devices, i, id) {
            existing += store_device_get(st, user_id, json_string_value(id)) != NULL;
        }
    }
    if (mock_deviates(ctx->dev, DEV_BULK_MIXED_400) && existing > 0 && existing < n) {
        mock_error(ctx->reply, 400, "M_INVALID_PARAM", "Some devices do not exist");
        goto out;
    }
    if (mock_deviates(ctx->dev, DEV_BULK_AGAIN_404) && n > 0 && existing == 0) {
        mock_error(ctx->reply, 404, "M_NOT_FOUND", "No such devices");
        goto out;
    }
    json_array_foreach(devices, i, id) {
        if (i > 0 && mock_deviates(ctx->dev, DEV_BULK_DELETE_FIRST_ONLY))
            break;
        const char *device_id = json_string_value(id), *other = NULL;
        if (delete_one(ctx, device_id, DELETE_BULK) == 1 &&
            mock_deviates(ctx->dev, DEV_BULK_DELETES_OTHER_USER) &&
            mock_dev_other_device(ctx->dev, st, user_id, device_id, &other) != NULL)
            store_device_delete(st, other, device_id);
    }
    if (session != NULL)
        uia_close(ctx->state->uia, session);
    mock_reply_json(ctx->reply, 200, json_object());
out:
    free(op);
    json_decref(none);
}
