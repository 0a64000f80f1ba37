/* The per-check reference model of the server's state (see mx_model.h).
 *
 * The model is plain jansson data, rebuilt for every check:
 *   users:  {user_id: {"preexisting": bool, "as": bool,
 *            "devices": {id: {"name", "known", "named_by", "by_as", "gone",
 *                             "step", "bulk"}},
 *            "tokens": {token: {"device", "dead", "step"}}}}
 *   named:  {device_id: {"put"|"delete": {"by", "method", "status", "step"}}}
 *           the last PUT and the last deletion that named a device without
 *           changing the model (refused, another user's, an unknown ID)
 *   deleted_by: {user_id: true} users that deleted something in this check
 * "gone" and "dead" hold the rule of the step that removed or killed, and
 * "named_by" the rule of the step that set the name.
 */
#include "mx_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_env.h"
#include "mx_record.h"

static json_t *model; /* owned; NULL until the first exchange */

void mx_model_reset(void) {
    json_decref(model);
    model = NULL;
}

static json_t *section(const char *key) {
    json_t *s;

    if (!model)
        model = json_pack("{s:{}, s:{}, s:{}}", "users", "named", "deleted_by");
    s = json_object_get(model, key);
    return s;
}

static json_t *user_entry(const char *user_id, bool create) {
    json_t *users = section("users");
    json_t *u = json_object_get(users, user_id);

    if (!u && create && user_id) {
        u = json_pack("{s:b, s:b, s:{}, s:{}}", "preexisting", 0, "as", 0, "devices",
                      "tokens");
        json_object_set_new(users, user_id, u);
    }
    return u;
}

/* The user a token belongs to in the model (borrowed), or NULL. */
static const char *token_owner(const char *token) {
    const char *user_id;
    json_t *u;

    json_object_foreach(section("users"), user_id, u) {
        if (json_object_get(json_object_get(u, "tokens"), token))
            return user_id;
    }
    return NULL;
}

/* Who made the request: the user (borrowed), whether through the
 * application service, and the token it used. */
static const char *requester(const struct mx_req *req, bool *as, const char **token) {
    *as = req->appservice;
    *token = NULL;
    if (req->appservice)
        return req->assert_user;
    *token = req->token ? req->token : (req->as ? req->as->access_token : NULL);
    if (req->as && (!req->token || token_owner(req->token)))
        return req->as->user_id;
    return *token ? token_owner(*token) : NULL;
}

/* The device ID of a /devices/{id} path (arena), or NULL. */
static const char *path_device(const char *path) {
    static const char prefix[] = "/_matrix/client/v3/devices/";
    const char *seg;

    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    seg = path + sizeof(prefix) - 1;
    return mx_path_decode(seg, strcspn(seg, "?"));
}

static bool path_is(const char *path, const char *want) {
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

static const char *step_text(const struct mx_req *req, const struct mx_resp *r) {
    const char *sum = r->summary ? r->summary : req->method;
    const char *sp = strchr(sum, ' ');
    const char *end = sp ? strchr(sp + 1, ' ') : NULL;
    int head = end ? (int)(end - sum) : (int)strlen(sum);
    return mx_arena_printf("%.*s -> %ld", head, sum, r->status);
}

static bool is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static void add_device(const char *user_id, const char *device_id, const char *token,
                       const char *name, const char *named_by) {
    json_t *u = user_entry(user_id, true);

    json_object_set_new(json_object_get(u, "devices"), device_id,
                        json_pack("{s:s?, s:b, s:s, s:n}", "name", name, "known",
                                  named_by != NULL, "named_by", named_by ? named_by : "",
                                  "gone"));
    if (token)
        json_object_set_new(json_object_get(u, "tokens"), token,
                            json_pack("{s:s, s:n}", "device", device_id, "dead"));
}

static void note_named(const char *device_id, const char *by, const struct mx_req *req,
                       const struct mx_resp *r) {
    json_t *named = section("named");
    json_t *notes = json_object_get(named, device_id);

    if (!notes) {
        notes = json_object();
        json_object_set_new(named, device_id, notes);
    }
    json_object_set_new(notes, strcmp(req->method, "PUT") == 0 ? "put" : "delete",
                        json_pack("{s:s, s:s, s:I, s:s}", "by", by ? by : "", "method",
                                  req->method, "status", (json_int_t)r->status, "step",
                                  step_text(req, r)));
}

/* The last note of a kind about device_id (borrowed), or NULL. */
static json_t *note_of(const char *device_id, const char *kind) {
    return json_object_get(json_object_get(section("named"), device_id), kind);
}

/* Removes a device of user_id and kills its tokens, for the rules given. */
static void remove_device(const char *user_id, const char *device_id, const char *gone,
                          const char *dead, const char *step, bool bulk) {
    json_t *u = user_entry(user_id, false);
    json_t *dev = json_object_get(json_object_get(u, "devices"), device_id);
    const char *token;
    json_t *t;

    if (!dev)
        return;
    json_object_set_new(dev, "gone", json_string(gone));
    json_object_set_new(dev, "step", json_string(step));
    json_object_set_new(dev, "bulk", json_boolean(bulk));
    json_object_foreach(json_object_get(u, "tokens"), token, t) {
        const char *d = json_string_value(json_object_get(t, "device"));
        if (d && strcmp(d, device_id) == 0 && json_is_null(json_object_get(t, "dead"))) {
            json_object_set_new(t, "dead", json_string(dead));
            json_object_set_new(t, "step", json_string(step));
        }
    }
    json_object_set_new(section("deleted_by"), user_id, json_true());
}

static void on_session_response(const struct mx_req *req, const struct mx_resp *r) {
    const char *user_id = json_string_value(json_object_get(r->json, "user_id"));
    const char *device_id = json_string_value(json_object_get(r->json, "device_id"));
    const char *token = json_string_value(json_object_get(r->json, "access_token"));
    const char *name = NULL, *named_by = NULL;

    if (!user_id || !device_id)
        return;
    /* Only login applies initial_device_display_name by a catalogue rule. */
    if (path_is(req->path, MX_V3 "/login") && req->body) {
        name =
            json_string_value(json_object_get(req->body, "initial_device_display_name"));
        named_by = name ? "LIST-NAME" : NULL;
    }
    add_device(user_id, device_id, token, name, named_by);
    if (req->appservice)
        json_object_set_new(user_entry(user_id, true), "as", json_true());
}

static void on_put(const struct mx_req *req, const struct mx_resp *r, const char *user_id,
                   bool as, const char *device_id) {
    json_t *u = user_entry(user_id, false);
    json_t *dev = json_object_get(json_object_get(u, "devices"), device_id);
    json_t *name = req->body ? json_object_get(req->body, "display_name") : NULL;

    if (r->status != 200 && r->status != 201) {
        note_named(device_id, user_id, req, r);
        return;
    }
    if (!dev && as) {
        add_device(user_id, device_id, NULL, json_string_value(name),
                   json_is_string(name) ? "ASC-VISIBLE" : NULL);
        json_object_set_new(user_entry(user_id, true), "as", json_true());
        json_object_set_new(
            json_object_get(json_object_get(user_entry(user_id, false), "devices"),
                            device_id),
            "by_as", json_true());
        return;
    }
    if (!dev) {
        note_named(device_id, user_id, req, r);
        return;
    }
    if (json_is_string(name)) {
        json_object_set(dev, "name", name);
        json_object_set_new(dev, "known", json_true());
        json_object_set_new(dev, "named_by",
                            json_string(as ? "ASC-UPDATE"
                                        : is_ascii(json_string_value(name))
                                            ? "PUT-UPDATE"
                                            : "PUT-UNICODE"));
    } else if (name) {
        /* A name of the wrong type that was accepted: nothing to expect. */
        json_object_set_new(dev, "known", json_false());
    } else if (json_is_true(json_object_get(dev, "known"))) {
        /* The name stands as last seen; changing it now is PUT-EMPTY's. */
        json_object_set_new(dev, "named_by", json_string("PUT-EMPTY"));
    }
}

static void on_delete(const struct mx_req *req, const struct mx_resp *r,
                      const char *user_id, bool as, const char *caller_device,
                      json_t *ids) {
    json_t *u = user_entry(user_id, false);
    bool bulk = strcmp(req->method, "POST") == 0;
    const char *step = step_text(req, r);
    size_t i;
    json_t *id;

    json_array_foreach(ids, i, id) {
        const char *d = json_string_value(id);
        bool own = d && json_object_get(json_object_get(u, "devices"), d);
        if (!d)
            continue;
        if (r->status != 200 || !own) {
            note_named(d, user_id, req, r);
            continue;
        }
        if (as)
            remove_device(user_id, d, bulk ? "ASD-BULK" : "ASD-DELETE", "TOK-AS-DELETE",
                          step, bulk);
        else if (bulk)
            remove_device(user_id, d, "BULK-DELETE", "TOK-BULK", step, bulk);
        else
            remove_device(user_id, d, "UIA-SUCCESS",
                          caller_device && strcmp(caller_device, d) == 0 ? "TOK-SELF"
                                                                         : "TOK-DELETED",
                          step, bulk);
    }
}

static void observe(const struct mx_req *req, const struct mx_resp *r,
                    const char *user_id, const char *device_id);

void mx_model_on_response(const struct mx_req *req, const struct mx_resp *r) {
    const char *token, *user_id, *device_id;
    bool as;

    if (r->status == 0 || !req->path)
        return;
    if (r->status == 200 && strcmp(req->method, "POST") == 0 &&
        (path_is(req->path, MX_V3 "/register") || path_is(req->path, MX_V3 "/login") ||
         path_is(req->path, "/_synapse/admin/v1/register"))) {
        on_session_response(req, r);
        return;
    }
    user_id = requester(req, &as, &token);
    if (!user_id)
        return;
    device_id = path_device(req->path);
    const char *caller_device = NULL;
    if (token) {
        json_t *t =
            json_object_get(json_object_get(user_entry(user_id, true), "tokens"), token);
        caller_device = json_string_value(json_object_get(t, "device"));
        /* A token that passed user-interactive authentication may skip it
         * for a while (a grace period such as Synapse's
         * ui_auth.session_timeout): no session to hand to another check. */
        if (t && r->status / 100 == 2 && req->body && json_object_get(req->body, "auth"))
            json_object_set_new(t, "authenticated", json_true());
    }
    observe(req, r, user_id, device_id);
    if (device_id && strcmp(req->method, "PUT") == 0) {
        on_put(req, r, user_id, as, device_id);
    } else if (device_id && strcmp(req->method, "DELETE") == 0) {
        json_t *ids = json_pack("[s]", device_id);
        on_delete(req, r, user_id, as, caller_device, ids);
        json_decref(ids);
    } else if (strcmp(req->method, "POST") == 0 &&
               path_is(req->path, MX_V3 "/delete_devices") && req->body) {
        on_delete(req, r, user_id, as, caller_device,
                  json_object_get(req->body, "devices"));
    } else if (strcmp(req->method, "POST") == 0 && path_is(req->path, MX_V3 "/logout") &&
               r->status == 200 && caller_device) {
        remove_device(user_id, caller_device, "TOK-LOGOUT", "TOK-LOGOUT",
                      step_text(req, r), false);
    }
}

void mx_model_note_background(const char *user_id, const char *device_id) {
    json_t *u = user_entry(user_id, true);
    json_t *bg = json_object_get(u, "background");

    if (!bg) {
        bg = json_object();
        json_object_set_new(u, "background", bg);
    }
    json_object_set_new(bg, device_id, json_true());
}

void mx_model_note_session(const char *user_id, const char *device_id, const char *token,
                           const char *name) {
    add_device(user_id, device_id, token, name, name ? "LIST-NAME" : NULL);
}

bool mx_model_session_intact(const char *user_id, const char *device_id,
                             const char *token, const char *name) {
    json_t *u = user_entry(user_id, false);
    json_t *dev = json_object_get(json_object_get(u, "devices"), device_id);
    json_t *t = json_object_get(json_object_get(u, "tokens"), token);
    const char *has = json_string_value(json_object_get(dev, "name"));

    return dev && t && json_is_null(json_object_get(dev, "gone")) &&
           json_is_null(json_object_get(t, "dead")) &&
           !json_is_true(json_object_get(t, "authenticated")) &&
           json_is_true(json_object_get(dev, "known")) && has && name &&
           strcmp(has, name) == 0;
}

void mx_model_mark_preexisting(const char *user_id) {
    json_object_set_new(user_entry(user_id, true), "preexisting", json_true());
}

/* ---- the comparison ---- */

/* Charges a difference to rule (whatever check is running). */
static void charge(const char *rule, const struct mx_resp *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void charge(const char *rule, const struct mx_resp *r, const char *fmt, ...) {
    char *text = NULL;
    va_list ap;
    const char *sum = r && r->summary ? r->summary : "";
    const char *sp = strchr(sum, ' ');

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    mx_record_crosscut(
        rule, r ? mx_arena_printf("%.*s", sp ? (int)(sp - sum) : 0, sum) : NULL,
        r && sp ? mx_arena_printf("%.*s", (int)strcspn(sp + 1, " "), sp + 1) : NULL,
        r ? r->status : 0, text ? text : "(out of memory)");
    free(text);
}

/* The running check's own requirement ID (static buffer). */
static const char *own_rule(void) {
    static char id[128];
    const char *cur = mx_current_id(); /* "[ID] " */
    size_t n = strlen(cur);

    if (n < 3)
        return "";
    snprintf(id, sizeof(id), "%.*s", (int)(n - 3), cur + 1);
    return id;
}

/* The rule a vanished device (or its dead token) is charged to, from the
 * last deletion that named it without the model counting it: another
 * user's (DEL-/BULK-OTHER-USER), one answered with the UIA 401
 * (UIA-NOTHING-DONE), or else the running check's own. NULL when no
 * deletion named it. */
static const char *vanished_rule(const char *owner, const char *device_id,
                                 const char **step) {
    json_t *n = note_of(device_id, "delete");
    const char *by = json_string_value(json_object_get(n, "by"));

    *step = json_string_value(json_object_get(n, "step"));
    if (!n)
        return NULL;
    if (by && strcmp(by, owner) != 0)
        return strcmp(json_string_value(json_object_get(n, "method")), "POST") == 0
                   ? "BULK-OTHER-USER"
                   : "DEL-OTHER-USER";
    if (json_integer_value(json_object_get(n, "status")) == 401)
        return "UIA-NOTHING-DONE";
    return own_rule();
}

/* The rule a wrong display name is charged to: another user's PUT on the
 * ID (PUT-OTHER-USER), else the rule of the step that set the name. */
static const char *name_rule(const char *owner, const char *device_id, json_t *dev) {
    const char *by = json_string_value(json_object_get(note_of(device_id, "put"), "by"));

    if (by && strcmp(by, owner) != 0)
        return "PUT-OTHER-USER";
    return json_string_value(json_object_get(dev, "named_by"));
}

static bool same_name(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A name the server showed for a model device: a difference is charged,
 * and from then on the model expects what was seen (so that later steps
 * are judged on their own). */
static void observe_name(const char *user_id, const char *device_id, json_t *shown,
                         const struct mx_resp *r) {
    json_t *dev = json_object_get(json_object_get(user_entry(user_id, false), "devices"),
                                  device_id);
    const char *want = json_string_value(json_object_get(dev, "name"));
    const char *got = json_string_value(json_object_get(shown, "display_name"));

    if (!dev || !json_is_null(json_object_get(dev, "gone")) ||
        !json_is_true(json_object_get(dev, "known")) || same_name(want, got))
        return;
    charge(name_rule(user_id, device_id, dev), r,
           "device %s of %s shows display_name %s%s%s, expected %s%s%s", device_id,
           user_id, got ? "\"" : "", got ? got : "none", got ? "\"" : "",
           want ? "\"" : "", want ? want : "none", want ? "\"" : "");
    json_object_set_new(dev, "name", got ? json_string(got) : json_null());
}

/* Names shown by a GET /devices or GET /devices/{id} of the user. */
static void observe(const struct mx_req *req, const struct mx_resp *r,
                    const char *user_id, const char *device_id) {
    size_t i;
    json_t *entry;

    if (r->status != 200 || !json_is_object(r->json) || strcmp(req->method, "GET") != 0)
        return;
    if (device_id) {
        observe_name(user_id, device_id, r->json, r);
        return;
    }
    if (!path_is(req->path, MX_V3 "/devices"))
        return;
    json_array_foreach(json_object_get(r->json, "devices"), i, entry) {
        const char *d = json_string_value(json_object_get(entry, "device_id"));
        if (d)
            observe_name(user_id, d, entry, r);
    }
}

static const struct mx_resp *get_with(const char *user_id, bool as, const char *token,
                                      const char *path) {
    if (!token && as)
        return MX_SEND(.method = "GET", .path = path, .appservice = true,
                       .assert_user = user_id);
    return MX_SEND(.method = "GET", .path = path, .token = token);
}

static bool listed_in(json_t *listed, const char *device_id) {
    size_t i;
    json_t *entry;

    json_array_foreach(listed, i, entry) {
        const char *d = json_string_value(json_object_get(entry, "device_id"));
        if (d && strcmp(d, device_id) == 0)
            return true;
    }
    return false;
}

/* Whether another device removed by the same bulk step is truly gone: then
 * the step deleted only part of its list (BULK-DELETE's rule). */
static bool bulk_partly_done(json_t *devices, json_t *listed, json_t *dev) {
    const char *step = json_string_value(json_object_get(dev, "step"));
    const char *id;
    json_t *other;

    if (!json_is_true(json_object_get(dev, "bulk")))
        return false;
    json_object_foreach(devices, id, other) {
        const char *s = json_string_value(json_object_get(other, "step"));
        if (other != dev && s && step && strcmp(s, step) == 0 && !listed_in(listed, id))
            return true;
    }
    return false;
}

/* A listed device the model does not know but GET /devices/{id} shows as
 * the user's own: left by an earlier check on a pooled account (one the
 * sweep could not see or delete), not someone else's. */
static bool own_leftover(const char *user_id, bool as, const char *token,
                         const char *device_id) {
    const struct mx_resp *g =
        get_with(user_id, as, token, mx_path(MX_V3 "/devices/%s", device_id));
    const char *got = json_string_value(json_object_get(g->json, "device_id"));

    return g->status == 200 && got && strcmp(got, device_id) == 0;
}

/* One user: the list against the model, then every token. */
static void check_user(const char *user_id, json_t *u, const char *token,
                       const char *caller_device) {
    bool as = json_is_true(json_object_get(u, "as"));
    bool preexisting = json_is_true(json_object_get(u, "preexisting"));
    bool can_list = token || (as && mx_env()->as_token);
    const struct mx_resp *r =
        can_list ? get_with(user_id, as, token, MX_V3 "/devices") : NULL;
    json_t *listed = r ? json_object_get(r->json, "devices") : NULL;
    json_t *devices = json_object_get(u, "devices");
    json_t *missing = json_array(), *strangers = json_array();
    bool unknown_listed = false;
    const char *id, *step, *rule;
    json_t *dev, *entry, *t;
    size_t i;

    /* A listing that does not work is LIST-OK's, judged by its checks. */
    if (!r || r->status != 200 || !json_is_array(listed))
        listed = NULL;
    json_array_foreach(listed, i, entry) {
        const char *d = json_string_value(json_object_get(entry, "device_id"));
        if (!d)
            continue;
        dev = json_object_get(devices, d);
        if (!dev) {
            unknown_listed = true;
            if (!preexisting && !json_object_get(json_object_get(u, "background"), d) &&
                !own_leftover(user_id, as, token, d))
                json_array_append_new(strangers, json_string(d));
            continue;
        }
        if (!json_is_null(json_object_get(dev, "gone")))
            charge(bulk_partly_done(devices, listed, dev)
                       ? "BULK-DELETE"
                       : json_string_value(json_object_get(dev, "gone")),
                   r, "device %s of %s is still listed after %s", d, user_id,
                   json_string_value(json_object_get(dev, "step")));
        else
            observe_name(user_id, d, entry, r);
    }
    json_object_foreach(listed ? devices : NULL, id, dev) {
        if (json_is_null(json_object_get(dev, "gone")) && !listed_in(listed, id)) {
            /* Still readable on its own: the listing left it out. */
            const struct mx_resp *g =
                get_with(user_id, as, token, mx_path(MX_V3 "/devices/%s", id));
            if (g->status == 200)
                charge(caller_device && strcmp(caller_device, id) == 0 ? "LIST-SELF"
                                                                       : "LIST-ALL",
                       r, "GET /devices of %s leaves out its device %s", user_id, id);
            else
                json_array_append_new(missing, json_string(id));
        }
    }
    /* A device the application service created that is not there under its
     * ID while the list holds one the model does not know: made under an ID
     * of the server's choosing. */
    json_array_foreach(missing, i, t) {
        dev = json_object_get(devices, json_string_value(t));
        if (!json_is_true(json_object_get(dev, "by_as")) || !unknown_listed)
            continue;
        charge("ASC-EXACT-ID", r,
               "%s has no device %s, which the application service "
               "created, but another one",
               user_id, json_string_value(t));
        json_array_remove(missing, i);
        json_array_clear(strangers);
        break;
    }
    json_array_foreach(missing, i, t) {
        id = json_string_value(t);
        rule = vanished_rule(user_id, id, &step);
        charge(rule ? rule : "LIST-ALL", r, "device %s of %s is gone%s%s", id, user_id,
               rule ? " after " : " though no step removed it", rule ? step : "");
    }
    /* Listed, yet GET /devices/{id} does not show them as the user's: another
     * user's devices (or none's) in this user's list. */
    json_array_foreach(strangers, i, t) {
        charge("LIST-ISOLATED", r, "%s's list holds device %s, which it does not have",
               user_id, json_string_value(t));
    }
    json_decref(missing);
    json_decref(strangers);

    json_object_foreach(json_object_get(u, "tokens"), id, t) {
        const char *dead = json_string_value(json_object_get(t, "dead"));
        const char *device = json_string_value(json_object_get(t, "device"));
        const struct mx_resp *w =
            MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami", .token = id);
        bool alive = w->status == 200;

        dev = json_object_get(devices, device);
        if (dead && alive) {
            /* A device still listed was never deleted: charged above. */
            if (listed && listed_in(listed, device))
                continue;
            charge(dead, w, "the token of device %s of %s still works after %s", device,
                   user_id, json_string_value(json_object_get(t, "step")));
        } else if (!dead && (w->status == 401 || w->status == 403)) {
            rule = vanished_rule(user_id, device, &step);
            if (rule)
                charge(rule, w, "the token of device %s of %s died after %s", device,
                       user_id, step);
            else if (json_is_true(json_object_get(section("deleted_by"), user_id)))
                charge("TOK-OTHERS-KEEP", w,
                       "the token of device %s of %s died when other devices of the user "
                       "were deleted",
                       device, user_id);
            else
                charge(own_rule(), w, "the token of device %s of %s died", device,
                       user_id);
        }
    }
}

void mx_model_check(void) {
    const char *user_id;
    json_t *u;

    if (!model)
        return;
    json_object_foreach(section("users"), user_id, u) {
        const char *token = NULL, *caller_device = NULL, *tok;
        json_t *t;
        json_object_foreach(json_object_get(u, "tokens"), tok, t) {
            if (json_is_null(json_object_get(t, "dead"))) {
                token = tok;
                caller_device = json_string_value(json_object_get(t, "device"));
                break;
            }
        }
        check_user(user_id, u, token, caller_device);
    }
}
