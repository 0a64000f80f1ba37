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

/* A spec version ("1.17"); a malformed one is noted and def stands in. */
static int version_var(const char *name, const char *def) {
    const char *v = str_var(name, def);
    int version = mx_version_parse(v);
    if (version < 0) {
        malformed(name, v, "a supported spec version (1.16 .. 1.20)");
        version = mx_version_parse(def);
    }
    return version;
}

/* A default from mx_options.def, written as text there. */
static bool text_flag(const char *def) {
    return def && strcmp(def, "1") == 0;
}

static long text_long(const char *def) {
    return def ? strtol(def, NULL, 0) : 0;
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

    /* Every setting of mx_options.def, by its type; secrets are registered
     * for redaction as they are read. */
#define READ_OPT_FLAG(member, var, def, min, max)                                        \
    env.member = bool_var(var, text_flag(def));
#define READ_OPT_INT(member, var, def, min, max)                                         \
    env.member = long_var(var, text_long(def), min, max);
#define READ_OPT_STRING(member, var, def, min, max) env.member = str_var(var, def);
#define READ_OPT_FILE READ_OPT_STRING
#define READ_OPT_DIR READ_OPT_STRING
#define READ_OPT_ACCOUNTS READ_OPT_STRING
#define READ_OPT_SECRET(member, var, def, min, max)                                      \
    env.member = str_var(var, def);                                                      \
    mx_redact_secret(env.member);
#define READ_OPT_VERSION(member, var, def, min, max) env.member = version_var(var, def);
#define MX_SETTING(name, arg, type, member, var, env_in, def, min, max, ...)             \
    READ_##type(member, var, def, min, max)
#define MX_OPTION(...)
#define MX_ALIAS(...)
#define MX_RUN_VALUE(type, member, var, def, min, max)                                   \
    READ_##type(member, var, def, min, max)
#include "mx_options.def"
#undef MX_SETTING
#undef MX_OPTION
#undef MX_ALIAS
#undef MX_RUN_VALUE
    env.fixtures_dir = getenv("MXDEV_FIXTURES_DIR");
    if (env.fixtures_dir == NULL || env.fixtures_dir[0] == '\0')
        env.fixtures_dir = default_fixtures_dir();

    /* A password in the URL must never reach a report either. */
    mx_redact_url_userinfo(env.homeserver);
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
