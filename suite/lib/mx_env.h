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

/* The C type of a setting's field, by its type in mx_options.def. */
#define MX_ENV_FIELD_OPT_FLAG bool
#define MX_ENV_FIELD_OPT_STRING const char *
#define MX_ENV_FIELD_OPT_INT long
#define MX_ENV_FIELD_OPT_FILE const char *
#define MX_ENV_FIELD_OPT_DIR const char *
#define MX_ENV_FIELD_OPT_SECRET const char *   /* registered as a secret */
#define MX_ENV_FIELD_OPT_VERSION int           /* 116..120 */
#define MX_ENV_FIELD_OPT_ACCOUNTS const char * /* "@a:hs=PASSWORD" lines, or NULL */

struct mx_env {
    /* The options the checks read (MX_SETTING) and what the runner hands
     * them (MX_RUN_VALUE): one field each, named by its member, read from
     * its MXDEV_* variable. */
#define MX_ENV_FIELD(type, member) MX_ENV_FIELD_##type member;
#define MX_SETTING(name, arg, type, member, ...) MX_ENV_FIELD(type, member)
#define MX_OPTION(...)
#define MX_ALIAS(...)
#define MX_RUN_VALUE(type, member, ...) MX_ENV_FIELD(type, member)
#include "mx_options.def"
#undef MX_SETTING
#undef MX_OPTION
#undef MX_ALIAS
#undef MX_RUN_VALUE
#undef MX_ENV_FIELD
    /* MXDEV_FIXTURES_DIR, else next to the program (<bindir>/../share/<name>)
     * or the source checkout. */
    const char *fixtures_dir;
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
