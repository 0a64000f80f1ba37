/* The run's configuration as every test process sees it.
 *
 * The runner's main() parses the options, probes the server, and exports the
 * outcome as MXDEV_* environment variables before criterion starts the tests
 * (test processes are separate, so the environment is how it reaches them).
 * mx_env() reads those variables once per process.
 */
#ifndef MX_ENV_H
#define MX_ENV_H

#include <stdbool.h>

#include "mx_client.h"

struct mx_env {
    const char *homeserver;   /* MXDEV_HOMESERVER: base URL, no trailing slash */
    int spec_version;         /* MXDEV_SPEC_VERSION: 116..120 */
    bool strict;              /* MXDEV_STRICT */
    long timeout_s;           /* MXDEV_TIMEOUT: per request */
    long settle_ms;           /* MXDEV_SETTLE_MS: polling budget for token invalidation */
    const char *report_dir;   /* MXDEV_REPORT_DIR */
    const char *fixtures_dir; /* MXDEV_FIXTURES_DIR, else <bindir>/../share/<name> */
    const char *run_id;       /* MXDEV_RUN_ID: unique per run, in every localpart */
    /* Application service (from --as-registration), when usable. */
    bool as_available;          /* MXDEV_AS_AVAILABLE: as_token accepted by the server */
    const char *as_skip_reason; /* MXDEV_AS_SKIP_REASON when not available */
    const char *as_token;       /* MXDEV_AS_TOKEN */
    const char
        *as_user_prefix; /* MXDEV_AS_USER_PREFIX: localpart prefix inside its namespace */
    const char *server_name; /* MXDEV_SERVER_NAME: domain of user IDs */
    /* Capabilities found by the probe. */
    bool legacy_login; /* MXDEV_LEGACY_LOGIN: GET /login answers with flows */
    /* Provisioning secrets. */
    const char *registration_token; /* MXDEV_REGISTRATION_TOKEN */
    const char *shared_secret;      /* MXDEV_SHARED_SECRET */
    bool insecure;                  /* MXDEV_INSECURE */
    const char *cacert;             /* MXDEV_CACERT */
    long retry_budget_ms; /* MXDEV_RETRY_BUDGET_MS: total wait on 429 per test */
    /* Added by the harness (after the fields above, which stay stable). */
    const char *spec_dir; /* MXDEV_SPEC_DIR (--spec-dir): schemas from the spec's YAML */
    const char *users;    /* MXDEV_USERS: "@a:hs=PASSWORD" lines (--user), or NULL */
    long deadline_at;     /* MXDEV_DEADLINE_AT: epoch seconds after which tests skip; 0 */
    bool fresh_sessions;  /* MXDEV_FRESH_SESSIONS: no session handed between checks */
};

/* Never NULL. A malformed variable keeps its default; mx_env_problem()
 * says which. */
const struct mx_env *mx_env(void);
/* "MXDEV_TIMEOUT=\"x\" is not an integer in [1, 3600]" for the first
 * malformed variable of the last load, or NULL. The runner exits 2 on it;
 * a check fails. */
const char *mx_env_problem(void);

/* The client's settings from this configuration (mx_client_set_config's
 * source; static storage, refreshed on every call so that a reload shows). */
const struct mx_client_config *mx_env_client_config(void);

/* Forgets what mx_env() read, so the next call reads the variables again
 * (the runner exports the probe's outcome after its own first requests). */
void mx_env_reload(void);

/* True when the run targets a spec version in [since, until]; 0 means open. */
bool mx_env_version_in(int since, int until);

#endif
