/* Configuration loading: application-service registrations (YAML, through
 * libyaml's document API) and the seed file (JSON, through jansson).
 * Handlers never parse files; they read what is loaded here. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "random.h"

static const struct {
    const char *name;
    enum mock_spec_version version;
} spec_versions[] = {
    {"1.16", SPEC_V1_16}, {"1.17", SPEC_V1_17}, {"1.18", SPEC_V1_18},
    {"1.19", SPEC_V1_19}, {"1.20", SPEC_V1_20},
};

#define N_SPEC_VERSIONS (sizeof spec_versions / sizeof spec_versions[0])

int mock_spec_version_parse(const char *text, enum mock_spec_version *out) {
    if (text == NULL)
        return -1;
    /* /versions advertises "v1.17"; accept that spelling as well. */
    if (text[0] == 'v')
        text++;
    for (size_t i = 0; i < N_SPEC_VERSIONS; i++) {
        if (strcmp(text, spec_versions[i].name) == 0) {
            *out = spec_versions[i].version;
            return 0;
        }
    }
    return -1;
}

const char *mock_spec_version_name(enum mock_spec_version v) {
    for (size_t i = 0; i < N_SPEC_VERSIONS; i++) {
        if (spec_versions[i].version == v)
            return spec_versions[i].name;
    }
    return "unknown";
}

void mock_config_init(struct mock_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->listen_addr = strdup("127.0.0.1");
    cfg->server_name = strdup("localhost");
    cfg->spec_version = SPEC_V1_17;
    cfg->rate_limit_per_min = MOCK_RATE_LIMIT_DEFAULT_PER_MIN;
}

static void appservice_clean(struct mock_appservice *as) {
    free(as->id);
    free(as->url);
    free(as->as_token);
    free(as->hs_token);
    free(as->sender_localpart);
    free(as->sender_user_id);
    for (size_t i = 0; i < as->n_users; i++) {
        free(as->users[i].pattern);
        regfree(&as->users[i].re);
    }
    free(as->users);
    memset(as, 0, sizeof *as);
}

void mock_config_clean(struct mock_config *cfg) {
    free(cfg->listen_addr);
    free(cfg->server_name);
    free(cfg->request_log);
    free(cfg->seed_file);
    for (size_t i = 0; i < cfg->n_appservices; i++)
        appservice_clean(&cfg->appservices[i]);
    free(cfg->appservices);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- application-service registrations ---- */

struct yaml_ctx {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t err_len;
};

/* Writes "FILE:LINE: message" for node (or line 1 without one); returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
yaml_fail(struct yaml_ctx *ctx, const yaml_node_t *node, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line = node != NULL ? node->start_mark.line + 1 : 1;
    if (ctx->err != NULL && ctx->err_len > 0)
        snprintf(ctx->err, ctx->err_len, "%s:%zu: %s", ctx->path, line, msg);
    return -1;
}

/* The text of a scalar node, or NULL for other nodes. libyaml allows NUL
 * bytes inside scalars ("\0" escapes); those are refused as well, since
 * every consumer treats the value as a C string. */
static const char *scalar_text(const yaml_node_t *node) {
    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    const char *text = (const char *)node->data.scalar.value;
    if (strlen(text) != node->data.scalar.length)
        return NULL;
    return text;
}

/* Whether node is YAML's null: a plain (unquoted) ~, null, Null, NULL or
 * nothing. A quoted "null" is a string. */
static bool is_null(const yaml_node_t *node) {
    const char *text = scalar_text(node);
    if (text == NULL || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (strcmp(text, nulls[i]) == 0)
            return true;
    }
    return false;
}

/* YAML 1.1 booleans, as the PyYAML-based homeservers read them. */
static int get_bool(struct yaml_ctx *ctx, const yaml_node_t *node, const char *key,
                    bool *out) {
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    const char *text = scalar_text(node);
    if (text != NULL && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (strcmp(text, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcmp(text, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return yaml_fail(ctx, node, "%s must be true or false", key);
}

/* Copies a non-empty string value into *out (replacing nothing: *out must be
 * NULL). Returns 0 or -1 with the error written. */
static int get_string(struct yaml_ctx *ctx, const yaml_node_t *node, const char *key,
                      char **out) {
    const char *text = scalar_text(node);
    if (text == NULL && node != NULL && node->type == YAML_SCALAR_NODE)
        return yaml_fail(ctx, node, "%s must not contain NUL bytes", key);
    if (text == NULL || is_null(node))
        return yaml_fail(ctx, node, "%s must be a string", key);
    if (text[0] == '\0')
        return yaml_fail(ctx, node, "%s must not be empty", key);
    *out = strdup(text);
    if (*out == NULL)
        return yaml_fail(ctx, node, "out of memory");
    return 0;
}

static int compile_user_regex(struct yaml_ctx *ctx, const yaml_node_t *node,
                              const char *pattern, bool exclusive,
                              struct mock_appservice *as) {
    struct mock_ns_regex *grown = realloc(as->users, (as->n_users + 1) * sizeof *grown);
    if (grown == NULL)
        return yaml_fail(ctx, node, "out of memory");
    as->users = grown;
    struct mock_ns_regex *ns = &as->users[as->n_users];
    memset(ns, 0, sizeof *ns);

    /* Namespaces match the whole user ID, as the spec's regexes are meant. */
    size_t len = strlen(pattern) + sizeof "^()$";
    char *anchored = malloc(len);
    if (anchored == NULL)
        return yaml_fail(ctx, node, "out of memory");
    snprintf(anchored, len, "^(%s)$", pattern);
    int rc = regcomp(&ns->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char why[128];
        regerror(rc, &ns->re, why, sizeof why);
        return yaml_fail(ctx, node, "bad users regex \"%s\": %s", pattern, why);
    }
    ns->pattern = strdup(pattern);
    if (ns->pattern == NULL) {
        regfree(&ns->re);
        return yaml_fail(ctx, node, "out of memory");
    }
    ns->exclusive = exclusive;
    as->n_users++;
    return 0;
}

static int load_user_namespace(struct yaml_ctx *ctx, yaml_node_t *entry,
                               struct mock_appservice *as) {
    if (entry->type != YAML_MAPPING_NODE)
        return yaml_fail(ctx, entry, "namespaces.users entries must be mappings");
    const char *regex = NULL;
    yaml_node_t *regex_node = NULL;
    bool exclusive = false;
    bool have_exclusive = false;
    for (yaml_node_pair_t *p = entry->data.mapping.pairs.start;
         p < entry->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *key = scalar_text(k);
        if (key == NULL)
            continue;
        if (strcmp(key, "regex") == 0) {
            regex = scalar_text(v);
            if (regex == NULL || is_null(v) || regex[0] == '\0')
                return yaml_fail(ctx, v, "regex must be a non-empty string");
            regex_node = v;
        } else if (strcmp(key, "exclusive") == 0) {
            if (get_bool(ctx, v, "exclusive", &exclusive) < 0)
                return -1;
            have_exclusive = true;
        }
    }
    if (regex == NULL)
        return yaml_fail(ctx, entry, "missing regex");
    if (!have_exclusive)
        return yaml_fail(ctx, entry, "missing exclusive");
    return compile_user_regex(ctx, regex_node, regex, exclusive, as);
}

static int load_namespaces(struct yaml_ctx *ctx, yaml_node_t *node,
                           struct mock_appservice *as) {
    if (node->type != YAML_MAPPING_NODE)
        return yaml_fail(ctx, node, "namespaces must be a mapping");
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *key = scalar_text(k);
        /* aliases and rooms are accepted and ignored: the suite only needs
         * user namespaces. */
        if (key == NULL || strcmp(key, "users") != 0 || is_null(v))
            continue;
        if (v->type != YAML_SEQUENCE_NODE)
            return yaml_fail(ctx, v, "namespaces.users must be a list");
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top; it++) {
            if (load_user_namespace(ctx, yaml_document_get_node(ctx->doc, *it), as) < 0)
                return -1;
        }
    }
    return 0;
}

enum as_key {
    KEY_ID,
    KEY_URL,
    KEY_AS_TOKEN,
    KEY_HS_TOKEN,
    KEY_SENDER,
    KEY_NAMESPACES,
    KEY_RATE_LIMITED,
    KEY_MSC4190,
    N_KEYS
};

static const char *const as_key_names[N_KEYS] = {
    "id",         "url",          "as_token",           "hs_token", "sender_localpart",
    "namespaces", "rate_limited", "io.element.msc4190",
};

/* Keys every registration must have (url may be null, but must be there). */
static const enum as_key required_keys[] = {KEY_ID,       KEY_URL,    KEY_AS_TOKEN,
                                            KEY_HS_TOKEN, KEY_SENDER, KEY_NAMESPACES};

static int load_value(struct yaml_ctx *ctx, enum as_key key, yaml_node_t *v,
                      struct mock_appservice *as) {
    switch (key) {
        case KEY_ID:
            return get_string(ctx, v, "id", &as->id);
        case KEY_URL:
            if (is_null(v))
                return 0;
            return get_string(ctx, v, "url", &as->url);
        case KEY_AS_TOKEN:
            return get_string(ctx, v, "as_token", &as->as_token);
        case KEY_HS_TOKEN:
            return get_string(ctx, v, "hs_token", &as->hs_token);
        case KEY_SENDER:
            return get_string(ctx, v, "sender_localpart", &as->sender_localpart);
        case KEY_NAMESPACES:
            return load_namespaces(ctx, v, as);
        case KEY_RATE_LIMITED:
            return get_bool(ctx, v, "rate_limited", &as->rate_limited);
        case KEY_MSC4190:
            return get_bool(ctx, v, "io.element.msc4190", &as->msc4190);
        case N_KEYS:
            break;
    }
    return 0;
}

static int load_registration(struct yaml_ctx *ctx, const struct mock_config *cfg,
                             struct mock_appservice *as) {
    yaml_node_t *root = yaml_document_get_root_node(ctx->doc);
    if (root == NULL)
        return yaml_fail(ctx, NULL, "empty registration");
    if (root->type != YAML_MAPPING_NODE)
        return yaml_fail(ctx, root, "registration must be a mapping");

    bool seen[N_KEYS] = {false};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *key = scalar_text(k);
        if (key == NULL)
            return yaml_fail(ctx, k, "keys must be strings");
        enum as_key which = N_KEYS;
        for (int i = 0; i < N_KEYS; i++) {
            if (strcmp(key, as_key_names[i]) == 0)
                which = (enum as_key)i;
        }
        if (which == N_KEYS)
            continue; /* unknown keys are allowed, as homeservers allow them */
        if (seen[which])
            return yaml_fail(ctx, k, "duplicate key %s", key);
        seen[which] = true;
        if (load_value(ctx, which, v, as) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof required_keys / sizeof required_keys[0]; i++) {
        if (!seen[required_keys[i]])
            return yaml_fail(ctx, root, "missing %s", as_key_names[required_keys[i]]);
    }

    for (size_t i = 0; i < cfg->n_appservices; i++) {
        if (strcmp(cfg->appservices[i].id, as->id) == 0)
            return yaml_fail(ctx, root, "id %s is already registered", as->id);
        if (mock_ct_equal(cfg->appservices[i].as_token, as->as_token))
            return yaml_fail(ctx, root, "as_token is already used by %s",
                             cfg->appservices[i].id);
    }

    const char *server = cfg->server_name != NULL ? cfg->server_name : "localhost";
    size_t len = strlen(as->sender_localpart) + strlen(server) + 3;
    as->sender_user_id = malloc(len);
    if (as->sender_user_id == NULL)
        return yaml_fail(ctx, root, "out of memory");
    snprintf(as->sender_user_id, len, "@%s:%s", as->sender_localpart, server);
    return 0;
}

int mock_config_load_appservice(struct mock_config *cfg, const char *path, char *err,
                                size_t err_len) {
    struct mock_appservice as;
    memset(&as, 0, sizeof as);
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false;
    bool have_doc = false;
    int rc = -1;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "%s: out of memory", path);
        goto out;
    }
    have_parser = true;
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        if (err != NULL && err_len > 0) {
            if (parser.error == YAML_READER_ERROR)
                snprintf(err, err_len, "%s: byte %zu: %s", path, parser.problem_offset,
                         parser.problem != NULL ? parser.problem : "unreadable");
            else if (parser.context != NULL)
                /* Name where the construct began too: an unclosed quote is
                 * only noticed at the end of the file. */
                snprintf(err, err_len, "%s:%zu: %s (%s started at line %zu)", path,
                         parser.problem_mark.line + 1,
                         parser.problem != NULL ? parser.problem : "invalid YAML",
                         parser.context, parser.context_mark.line + 1);
            else
                snprintf(err, err_len, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                         parser.problem != NULL ? parser.problem : "invalid YAML");
        }
        goto out;
    }
    have_doc = true;

    struct yaml_ctx ctx = {.path = path, .doc = &doc, .err = err, .err_len = err_len};
    if (load_registration(&ctx, cfg, &as) < 0)
        goto out;

    struct mock_appservice *grown =
        realloc(cfg->appservices, (cfg->n_appservices + 1) * sizeof *grown);
    if (grown == NULL) {
        yaml_fail(&ctx, NULL, "out of memory");
        goto out;
    }
    cfg->appservices = grown;
    cfg->appservices[cfg->n_appservices++] = as;
    memset(&as, 0, sizeof as); /* now owned by cfg */
    rc = 0;

out:
    appservice_clean(&as);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

const struct mock_appservice *
mock_config_appservice_by_token(const struct mock_config *cfg, const char *token) {
    if (token == NULL)
        return NULL;
    const struct mock_appservice *found = NULL;
    /* No early exit: the time taken does not say which service matched. */
    for (size_t i = 0; i < cfg->n_appservices; i++) {
        if (mock_ct_equal(token, cfg->appservices[i].as_token))
            found = &cfg->appservices[i];
    }
    return found;
}

bool mock_appservice_owns_user(const struct mock_appservice *as, const char *user_id) {
    if (as == NULL || user_id == NULL)
        return false;
    for (size_t i = 0; i < as->n_users; i++) {
        if (regexec(&as->users[i].re, user_id, 0, NULL, 0) == 0)
            return true;
    }
    return false;
}

const struct mock_appservice *mock_config_exclusive_owner(const struct mock_config *cfg,
                                                          const char *user_id) {
    if (user_id == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_appservices; i++) {
        const struct mock_appservice *as = &cfg->appservices[i];
        for (size_t j = 0; j < as->n_users; j++) {
            if (as->users[j].exclusive &&
                regexec(&as->users[j].re, user_id, 0, NULL, 0) == 0)
                return as;
        }
    }
    return NULL;
}

/* ---- seed file ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
seed_fail(char *err, size_t err_len, const char *path, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "%s: %s", path, msg);
    return -1;
}

/* Optional string member: absent and null give NULL; other types fail. */
static int opt_string(json_t *obj, const char *key, const char **out) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    /* JSON strings may hold \u0000; the store uses C strings. */
    if (strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static int seed_device(const char *path, struct store *st, const char *user_id,
                       json_t *dev, size_t ui, size_t di, char *err, size_t err_len) {
    const char *device_id, *display_name, *token, *ip;
    if (!json_is_object(dev))
        return seed_fail(err, err_len, path, "users[%zu].devices[%zu]: not an object", ui,
                         di);
    if (opt_string(dev, "device_id", &device_id) < 0 || device_id == NULL ||
        device_id[0] == '\0')
        return seed_fail(err, err_len, path,
                         "users[%zu].devices[%zu]: missing device_id (non-empty string)",
                         ui, di);
    if (opt_string(dev, "display_name", &display_name) < 0)
        return seed_fail(err, err_len, path,
                         "users[%zu].devices[%zu]: display_name must be a string", ui,
                         di);
    if (opt_string(dev, "access_token", &token) < 0 ||
        (token != NULL && token[0] == '\0'))
        return seed_fail(
            err, err_len, path,
            "users[%zu].devices[%zu]: access_token must be a non-empty string", ui, di);
    if (opt_string(dev, "last_seen_ip", &ip) < 0)
        return seed_fail(err, err_len, path,
                         "users[%zu].devices[%zu]: last_seen_ip must be a string", ui,
                         di);
    json_t *ts = json_object_get(dev, "last_seen_ts");
    if (ts != NULL && !json_is_null(ts) && !json_is_integer(ts))
        return seed_fail(err, err_len, path,
                         "users[%zu].devices[%zu]: last_seen_ts must be an integer", ui,
                         di);

    int rc = store_device_create(st, user_id, device_id, display_name);
    if (rc == -1)
        return seed_fail(err, err_len, path,
                         "users[%zu].devices[%zu]: duplicate device %s", ui, di,
                         device_id);
    if (rc < 0)
        return seed_fail(err, err_len, path, "out of memory");
    if (ip != NULL || json_is_integer(ts))
        store_device_seen(st, user_id, device_id, ip,
                          json_is_integer(ts) ? (int64_t)json_integer_value(ts) : 0);
    if (token != NULL) {
        rc = store_token_insert(st, user_id, device_id, token);
        if (rc == -1)
            return seed_fail(err, err_len, path,
                             "users[%zu].devices[%zu]: access_token already in use", ui,
                             di);
        if (rc < 0)
            return seed_fail(err, err_len, path, "out of memory");
    }
    return 0;
}

static int seed_user(const struct mock_config *cfg, const char *path, struct store *st,
                     json_t *user, size_t ui, char *err, size_t err_len) {
    const char *id, *password;
    char *full = NULL;
    int rc = -1;

    if (!json_is_object(user))
        return seed_fail(err, err_len, path, "users[%zu]: not an object", ui);
    if (opt_string(user, "user_id", &id) < 0 || id == NULL || id[0] == '\0')
        return seed_fail(err, err_len, path,
                         "users[%zu]: missing user_id (non-empty string)", ui);
    if (opt_string(user, "password", &password) < 0)
        return seed_fail(err, err_len, path, "users[%zu]: password must be a string", ui);
    json_t *devices = json_object_get(user, "devices");
    if (devices != NULL && !json_is_null(devices) && !json_is_array(devices))
        return seed_fail(err, err_len, path, "users[%zu]: devices must be an array", ui);

    if (id[0] == '@') {
        const char *colon = strchr(id, ':');
        if (colon == NULL || colon == id + 1 || colon[1] == '\0')
            return seed_fail(err, err_len, path, "users[%zu]: bad user ID %s", ui, id);
        full = strdup(id);
    } else {
        const char *server = cfg->server_name != NULL ? cfg->server_name : "localhost";
        size_t len = strlen(id) + strlen(server) + 3;
        full = malloc(len);
        if (full != NULL)
            snprintf(full, len, "@%s:%s", id, server);
    }
    if (full == NULL) {
        seed_fail(err, err_len, path, "out of memory");
        goto out;
    }

    int created = store_user_create(st, full, password);
    if (created == -1) {
        seed_fail(err, err_len, path, "users[%zu]: duplicate user %s", ui, full);
        goto out;
    }
    if (created < 0) {
        seed_fail(err, err_len, path, "out of memory");
        goto out;
    }
    size_t di;
    json_t *dev;
    json_array_foreach(devices, di, dev) {
        if (seed_device(path, st, full, dev, ui, di, err, err_len) < 0)
            goto out;
    }
    rc = 0;

out:
    free(full);
    return rc;
}

int mock_config_load_seed(const struct mock_config *cfg, struct store *st,
                          const char *path, char *err, size_t err_len) {
    json_error_t jerr;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                     jerr.text);
        return -1;
    }
    int rc = -1;
    json_t *users = json_object_get(root, "users");
    if (!json_is_array(users)) {
        seed_fail(err, err_len, path, "missing \"users\" array");
        goto out;
    }
    size_t ui;
    json_t *user;
    json_array_foreach(users, ui, user) {
        if (seed_user(cfg, path, st, user, ui, err, err_len) < 0)
            goto out;
    }
    rc = 0;

out:
    json_decref(root);
    return rc;
}
