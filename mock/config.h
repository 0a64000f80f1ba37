/* Configuration of the mock: command-line settings, application-service
 * registrations (YAML, read with libyaml) and the seed file (JSON).
 * Loading lives here; handlers only read the loaded structures. */
#ifndef MOCK_CONFIG_H
#define MOCK_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "deviations.h"
#include "store.h"

/* Spec versions the mock can behave as. Compare with < and >=. */
enum mock_spec_version {
    SPEC_V1_16 = 116,
    SPEC_V1_17 = 117,
    SPEC_V1_18 = 118,
    SPEC_V1_19 = 119,
    SPEC_V1_20 = 120,
};

struct mock_ns_regex {
    char *pattern; /* as written in the registration */
    regex_t re;    /* compiled, anchored: must match the whole user ID */
    bool exclusive;
};

struct mock_appservice {
    char *id;
    char *url; /* NULL when the registration says null */
    char *as_token;
    char *hs_token;
    char *sender_localpart;
    char *sender_user_id; /* "@sender_localpart:server_name" */
    struct mock_ns_regex *users;
    size_t n_users;
    bool rate_limited;
    bool msc4190; /* io.element.msc4190, accepted and recorded */
};

/* Requests per minute per client for limited routes when --rate-limit is
 * given without a number. */
#define MOCK_RATE_LIMIT_DEFAULT_PER_MIN 10

/* String members are heap-allocated (strdup) and freed by mock_config_clean:
 * replace one with free() + strdup(). */
struct mock_config {
    char *listen_addr;                   /* default "127.0.0.1" */
    unsigned listen_port;                /* default 0: the kernel picks one */
    char *server_name;                   /* default "localhost" */
    enum mock_spec_version spec_version; /* default SPEC_V1_17 */
    bool rate_limit;                     /* --rate-limit */
    unsigned rate_limit_per_min; /* requests per minute per client for limited routes */
    char *request_log;           /* path or NULL */
    char *seed_file;             /* path or NULL */
    struct mock_appservice *appservices;
    size_t n_appservices;
    bool deviations[DEV_COUNT]; /* --deviate NAME: the named deviations on */
    long uia_grace_ms; /* --uia-grace-ms: UIA skipped that long after one passed; 0 */
};

/* Parses "1.16".."1.20"; returns 0, or -1 when unsupported. */
int mock_spec_version_parse(const char *text, enum mock_spec_version *out);
/* "1.17" etc.; static string. */
const char *mock_spec_version_name(enum mock_spec_version v);

void mock_config_init(struct mock_config *cfg);
void mock_config_clean(struct mock_config *cfg);

/* Loads one registration file and appends it to cfg->appservices
 * (cfg->server_name must be set first). On failure returns -1 and writes a
 * one-line reason ("FILE:LINE: ...") into err. */
int mock_config_load_appservice(struct mock_config *cfg, const char *path, char *err,
                                size_t err_len);

/* Loads users and devices from a JSON seed file into the store (before the
 * server starts, or with the store lock held):
 * {"users": [{"user_id": "@a:localhost" or "localpart", "password": "...",
 *             "devices": [{"device_id": "...", "display_name": "...",
 *                          "access_token": optional,
 *                          "last_seen_ip": optional, "last_seen_ts": optional}]}]}
 * A localpart gets ":" + cfg->server_name. password may be absent or null.
 * Returns 0, or -1 with a reason in err. */
int mock_config_load_seed(const struct mock_config *cfg, struct store *st,
                          const char *path, char *err, size_t err_len);

/* The application service whose as_token equals token (constant time), or NULL. */
const struct mock_appservice *
mock_config_appservice_by_token(const struct mock_config *cfg, const char *token);
/* Whether user_id lies in the service's user namespaces. */
bool mock_appservice_owns_user(const struct mock_appservice *as, const char *user_id);
/* The application service with an exclusive namespace covering user_id, or NULL. */
const struct mock_appservice *mock_config_exclusive_owner(const struct mock_config *cfg,
                                                          const char *user_id);

#endif
