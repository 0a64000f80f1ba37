/* The run's configuration, read once per process from MXDEV_* variables. */
#include "mx_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mx_redact.h"
#include "mx_version.h"

static struct mx_env env;
static bool loaded;
static char problem[256]; /* the first malformed variable, "" when none */

static const char *str_var(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && v[0]) ? v : fallback;
}

/* Notes the first malformed variable; its default stands in for it. */
static void malformed(const char *name, const char *value, const char *want) {
    if (!problem[0])
        snprintf(problem, sizeof(problem), "%s=\"%s\" is not %s", name, value, want);
}

static bool bool_var(const char *name, bool fallback) {
    const char *v = getenv(name);
    if (!v || !v[0])
        return fallback;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
        return true;
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
        return false;
    malformed(name, v, "a boolean (1/0)");
    return fallback;
}

static long long_var(const char *name, long fallback, long min, long max) {
    const char *v = getenv(name);
    if (!v || !v[0])
        return fallback;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        char want[96];
        snprintf(want, sizeof(want), "an integer in [%ld, %ld]", min, max);
        malformed(name, v, want);
        return fallback;
    }
    return n;
}

/* true when DIR holds the catalogue, i.e. is a usable fixtures folder. */
static bool has_catalogue(const char *dir) {
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/requirements.tsv", dir);
    return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

/* Where the data lives unless MXDEV_FIXTURES_DIR says: next to an installed
 * program (<bindir>/MXDEV_DATA_FROM_BIN, e.g. /usr/bin/../share/<name>), else
 * the source checkout the build came from, which only exists on the build
 * machine. An installed program must never need that checkout, so it comes
 * second. When neither holds the catalogue, the installed location is
 * returned so that the error names where the data was expected. */
static const char *default_fixtures_dir(void) {
    static char dir[4096];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            int m = snprintf(dir, sizeof(dir), "%s/%s", exe, MXDEV_DATA_FROM_BIN);
            if (m > 0 && (size_t)m < sizeof(dir) && has_catalogue(dir))
                return dir;
        }
    }
    if (has_catalogue(MXDEV_FIXTURES_DIR))
        return MXDEV_FIXTURES_DIR;
    return dir[0] != '\0' ? dir : MXDEV_FIXTURES_DIR;
}

const struct mx_env *mx_env(void) {
    if (loaded)
        return &env;
    loaded = true;
    problem[0] = '\0';

    env.homeserver = str_var("MXDEV_HOMESERVER", NULL);
    const char *sv = str_var("MXDEV_SPEC_VERSION", "1.17");
    env.spec_version = mx_version_parse(sv);
    if (env.spec_version < 0) {
        malformed("MXDEV_SPEC_VERSION", sv, "a supported spec version (1.16 .. 1.20)");
        env.spec_version = mx_version_parse("1.17");
    }
    env.strict = bool_var("MXDEV_STRICT", false);
    env.timeout_s = long_var("MXDEV_TIMEOUT", 10, 1, 3600);
    env.settle_ms = long_var("MXDEV_SETTLE_MS", 0, 0, 600000);
    env.fresh_sessions = bool_var("MXDEV_FRESH_SESSIONS", false);
    env.report_dir = str_var("MXDEV_REPORT_DIR", "reports");
    env.fixtures_dir = getenv("MXDEV_FIXTURES_DIR");
    if (env.fixtures_dir == NULL || env.fixtures_dir[0] == '\0')
        env.fixtures_dir = default_fixtures_dir();
    env.run_id = str_var("MXDEV_RUN_ID", "local");
    env.as_available = bool_var("MXDEV_AS_AVAILABLE", false);
    env.as_skip_reason =
        str_var("MXDEV_AS_SKIP_REASON",
                "no application service registration (--as-registration)");
    env.as_token = str_var("MXDEV_AS_TOKEN", NULL);
    env.as_user_prefix = str_var("MXDEV_AS_USER_PREFIX", "_mxdevconf_");
    env.server_name = str_var("MXDEV_SERVER_NAME", NULL);
    env.legacy_login = bool_var("MXDEV_LEGACY_LOGIN", true);
    env.registration_token = str_var("MXDEV_REGISTRATION_TOKEN", NULL);
    env.shared_secret = str_var("MXDEV_SHARED_SECRET", NULL);
    env.insecure = bool_var("MXDEV_INSECURE", false);
    env.cacert = str_var("MXDEV_CACERT", NULL);
    env.retry_budget_ms = long_var("MXDEV_RETRY_BUDGET_MS", 30000, 0, 3600000);
    env.spec_dir = str_var("MXDEV_SPEC_DIR", NULL);
    env.users = str_var("MXDEV_USERS", NULL);
    env.deadline_at = long_var("MXDEV_DEADLINE_AT", 0, 0, 0x7fffffffL);

    /* Secrets that reach the process must never reach a report. */
    mx_redact_url_userinfo(env.homeserver);
    mx_redact_secret(env.as_token);
    mx_redact_secret(env.registration_token);
    mx_redact_secret(env.shared_secret);
    return &env;
}

const char *mx_env_problem(void) {
    mx_env();
    return problem[0] ? problem : NULL;
}

const struct mx_client_config *mx_env_client_config(void) {
    static struct mx_client_config cfg;
    const struct mx_env *e = mx_env();

    cfg.homeserver = e->homeserver;
    cfg.timeout_s = e->timeout_s;
    cfg.as_token = e->as_token;
    cfg.insecure = e->insecure;
    cfg.cacert = e->cacert;
    cfg.retry_budget_ms = e->retry_budget_ms;
    cfg.deadline_at = e->deadline_at;
    return &cfg;
}

void mx_env_reload(void) {
    loaded = false;
}

bool mx_env_version_in(int since, int until) {
    int v = mx_env()->spec_version;
    return (since == 0 || v >= since) && (until == 0 || v <= until);
}
