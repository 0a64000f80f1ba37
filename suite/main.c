/* device-conformance: the runner.
 *
 * Parses the options, probes the homeserver, exports the outcome as MXDEV_*
 * environment variables (criterion runs every test in its own process, which
 * reads them through mx_env()), sets up the reports and hands the remaining
 * arguments to criterion. The exit status comes from the report layer, not
 * from criterion: SHOULD failures (outside --strict) and INFO checks do not
 * fail a run.
 *
 * Exit status: 0 conformant, 1 conformance failures, 2 usage or
 * configuration error, 3 homeserver unreachable or not speaking Matrix.
 */
#include <criterion/criterion.h>
#include <criterion/options.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mx_catalog.h"
#include "mx_client.h"
#include "mx_env.h"
#include "mx_redact.h"
#include "mx_report.h"
#include "mx_session.h"
#include "mx_yaml.h"
#include "server_config.h"

#define EXIT_CONFIG 2
#define EXIT_UNREACHABLE 3

struct options {
    const char *homeserver;
    const char *as_registration;
    int spec_version;
    bool strict;
    long timeout_s;
    const char *report_dir;
    const char *expect_fail;
    char *registration_token; /* owned */
    char *shared_secret;      /* owned */
    json_t *users;            /* "@a:hs=PASSWORD" strings */
    long settle_ms;
    long deadline_s;
    bool insecure;
    const char *cacert;
    bool require_appservice;
    const char *spec_dir;
    const char *print_server_config; /* --print-server-config NAME */
    const char *as_registration_out; /* --as-registration-out FILE */
};

/* What the application-service registration file gives the suite. */
struct appservice {
    bool given;
    bool usable;
    char reason[512];
    char *as_token;         /* owned */
    char *sender_localpart; /* owned */
    char *regex;            /* owned */
    char *user_prefix;      /* owned */
};

enum {
    OPT_HOMESERVER = 256,
    OPT_AS_REGISTRATION,
    OPT_SPEC_VERSION,
    OPT_STRICT,
    OPT_TIMEOUT,
    OPT_REPORT_DIR,
    OPT_EXPECT_FAIL,
    OPT_REGISTRATION_TOKEN,
    OPT_REGISTRATION_TOKEN_FILE,
    OPT_SHARED_SECRET,
    OPT_SHARED_SECRET_FILE,
    OPT_USER,
    OPT_USER_FILE,
    OPT_SETTLE_MS,
    OPT_DEADLINE,
    OPT_INSECURE,
    OPT_CACERT,
    OPT_REQUIRE_APPSERVICE,
    OPT_SPEC_DIR,
    OPT_VERSION,
    OPT_PRINT_SERVER_CONFIG,
    OPT_AS_REGISTRATION_OUT,
};

static const struct option long_options[] = {
    {"homeserver", required_argument, NULL, OPT_HOMESERVER},
    {"as-registration", required_argument, NULL, OPT_AS_REGISTRATION},
    {"spec-version", required_argument, NULL, OPT_SPEC_VERSION},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
    {"expect-fail", required_argument, NULL, OPT_EXPECT_FAIL},
    {"registration-token", required_argument, NULL, OPT_REGISTRATION_TOKEN},
    {"registration-token-file", required_argument, NULL, OPT_REGISTRATION_TOKEN_FILE},
    {"shared-secret", required_argument, NULL, OPT_SHARED_SECRET},
    {"shared-secret-file", required_argument, NULL, OPT_SHARED_SECRET_FILE},
    {"user", required_argument, NULL, OPT_USER},
    {"user-file", required_argument, NULL, OPT_USER_FILE},
    {"settle-ms", required_argument, NULL, OPT_SETTLE_MS},
    {"deadline", required_argument, NULL, OPT_DEADLINE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"require-appservice", no_argument, NULL, OPT_REQUIRE_APPSERVICE},
    {"spec-dir", required_argument, NULL, OPT_SPEC_DIR},
    {"print-server-config", required_argument, NULL, OPT_PRINT_SERVER_CONFIG},
    {"as-registration-out", required_argument, NULL, OPT_AS_REGISTRATION_OUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f) {
    fputs(
        "usage: device-conformance [OPTIONS] [-- CRITERION-OPTIONS]\n"
        "\n"
        "Checks a Matrix homeserver's device management API (client-server spec)\n"
        "against the requirement catalogue, and writes reports.\n"
        "\n"
        "  --homeserver URL          base URL of the server (default: "
        "$MATRIX_HOMESERVER)\n"
        "  --as-registration FILE    application-service registration YAML the server\n"
        "                            loads; enables the application-service checks\n"
        "  --require-appservice      fail (exit 2) when the application service is not\n"
        "                            usable instead of skipping its checks\n"
        "  --spec-version V          spec version to judge by: 1.16 .. 1.20 (default "
        "1.17)\n"
        "  --strict                  SHOULD failures (and unexpected passes) fail the "
        "run\n"
        "  --timeout S               per-request timeout in seconds (default 10)\n"
        "  --settle-ms N             how long a deleted device's token may keep working\n"
        "                            before it counts as a failure (default 0)\n"
        "  --deadline S              overall time budget in seconds: tests that have "
        "not\n"
        "                            started by then are skipped, and no single test "
        "may\n"
        "                            run longer than S\n"
        "  --report-dir DIR          where reports go (default reports)\n"
        "  --expect-fail FILE        known failures: requirement IDs or group/TEST, "
        "each\n"
        "                            with a '#' reason\n"
        "  --registration-token T    token for m.login.registration_token registration\n"
        "                            (or $MXDEV_REGISTRATION_TOKEN)\n"
        "  --registration-token-file F  the same, read from a file\n"
        "  --shared-secret S         Synapse registration shared secret, to register\n"
        "                            test users through the admin API\n"
        "                            (or $MXDEV_SHARED_SECRET)\n"
        "  --shared-secret-file F    the same, read from a file\n"
        "  --user @a:hs=PASSWORD     an existing account to use when registration is\n"
        "                            closed (repeatable; give at least two)\n"
        "  --user-file F             the same, one per line ('#' comments); without\n"
        "                            either, $MXDEV_USERS (one per line)\n"
        "  --insecure                do not verify TLS certificates\n"
        "  --cacert FILE             CA bundle for TLS verification\n"
        "  --spec-dir DIR            judge response bodies by the schemas of a\n"
        "                            matrix-spec checkout (data/api/client-server)\n"
        "                            instead of fixtures/schemas\n"
        "  --print-server-config S   print what a test server needs (registration,\n"
        "                            rate limits, application service) for S: synapse,\n"
        "                            dendrite, conduit (conduwuit, continuwuity); exit\n"
        "  --as-registration-out F   with --print-server-config: write an application-\n"
        "                            service registration with fresh tokens to F\n"
        "  -h, --help                this text\n"
        "  --version                 the suite's version\n"
        "\n"
        "Everything after \"--\" (or from the first unknown option on) goes to\n"
        "criterion, e.g. -- --filter 'uia/*' -j4, or -- --list.\n"
        "\n"
        "Exit status: 0 conformant, 1 conformance failures, 2 usage or configuration\n"
        "error (also a rate limit the run cannot wait out: a 429 asking for more than\n"
        "30 s), 3 homeserver unreachable or not speaking the Matrix client-server API.\n",
        f);
}

static void config_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void config_error(const char *fmt, ...) {
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    exit(EXIT_CONFIG);
}

static long parse_long(const char *opt, const char *text, long min, long max) {
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < min || n > max)
        config_error("%s \"%s\": expected an integer from %ld to %ld", opt, text, min,
                     max);
    return n;
}

/* The first line of a file, trailing whitespace removed; new malloc'd string. */
static char *read_secret_file(const char *opt, const char *path) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f)
        config_error("%s %s: %s", opt, path, strerror(errno));
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n <= 0) {
        free(line);
        config_error("%s %s: the file is empty", opt, path);
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        line[--n] = '\0';
    if (n == 0) {
        free(line);
        config_error("%s %s: the first line is empty", opt, path);
    }
    return line;
}

/* A whole file as a new malloc'd string (at most 1 MiB). */
static char *read_text_file(const char *opt, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        config_error("%s %s: %s", opt, path, strerror(errno));
    char *text = calloc(1, 1024 * 1024 + 1);
    size_t n = text ? fread(text, 1, 1024 * 1024, f) : 0;
    bool more = text && fgetc(f) != EOF;
    fclose(f);
    if (!text)
        config_error("%s %s: out of memory", opt, path);
    if (more) {
        free(text);
        config_error("%s %s: larger than 1 MiB", opt, path);
    }
    text[n] = '\0';
    return text;
}

/* One "@localpart:server=PASSWORD" account; its password is a secret. */
static void add_user(struct options *o, const char *origin, const char *entry) {
    const char *eq = strchr(entry, '=');
    const char *colon = strchr(entry, ':');
    if (entry[0] != '@' || !eq || !colon || colon > eq || eq[1] == '\0' ||
        strchr(entry, '\n'))
        config_error("%s: expected @localpart:server=PASSWORD", origin);
    mx_redact_secret(eq + 1);
    json_array_append_new(o->users, json_string(entry));
}

/* Accounts one per line (blank lines and '#' comments skipped); frees text. */
static void add_users_text(struct options *o, const char *origin, char *text) {
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        while (n > 0 &&
               (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        line += strspn(line, " \t");
        if (line[0] == '\0' || line[0] == '#')
            continue;
        add_user(o, origin, line);
    }
    free(text);
}

static bool known_long_option(const char *arg, bool *takes_value) {
    size_t n = strcspn(arg, "=");
    for (const struct option *o = long_options; o->name; o++) {
        if (strlen(o->name) == n && strncmp(o->name, arg, n) == 0) {
            *takes_value = o->has_arg == required_argument && arg[n] != '=';
            return true;
        }
    }
    return false;
}

/* How many leading arguments (after argv[0]) are ours: the rest, from the
 * first unknown option or "--" on, belongs to criterion. */
static int our_prefix(int argc, char **argv, int *rest) {
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        bool value = false;
        if (strcmp(a, "--") == 0) {
            *rest = i + 1;
            return i;
        }
        if (strcmp(a, "-h") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || !known_long_option(a + 2, &value))
            break;
        i += value ? 2 : 1;
    }
    if (i > argc)
        i = argc;
    *rest = i;
    return i;
}

static void parse_options(int argc, char **argv, struct options *o) {
    int c;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
        switch (c) {
            case OPT_HOMESERVER:
                o->homeserver = optarg;
                break;
            case OPT_AS_REGISTRATION:
                o->as_registration = optarg;
                break;
            case OPT_SPEC_VERSION:
                o->spec_version = mx_version_parse(optarg);
                if (o->spec_version < 0)
                    config_error(
                        "--spec-version \"%s\": expected 1.16, 1.17, 1.18, 1.19 or 1.20",
                        optarg);
                break;
            case OPT_STRICT:
                o->strict = true;
                break;
            case OPT_TIMEOUT:
                o->timeout_s = parse_long("--timeout", optarg, 1, 3600);
                break;
            case OPT_REPORT_DIR:
                if (!optarg[0])
                    config_error("--report-dir: empty directory name");
                o->report_dir = optarg;
                break;
            case OPT_EXPECT_FAIL:
                if (access(optarg, R_OK) < 0)
                    config_error("--expect-fail %s: %s", optarg, strerror(errno));
                o->expect_fail = optarg;
                break;
            case OPT_REGISTRATION_TOKEN:
                free(o->registration_token);
                o->registration_token = strdup(optarg);
                break;
            case OPT_REGISTRATION_TOKEN_FILE:
                free(o->registration_token);
                o->registration_token =
                    read_secret_file("--registration-token-file", optarg);
                break;
            case OPT_SHARED_SECRET:
                free(o->shared_secret);
                o->shared_secret = strdup(optarg);
                break;
            case OPT_SHARED_SECRET_FILE:
                free(o->shared_secret);
                o->shared_secret = read_secret_file("--shared-secret-file", optarg);
                break;
            case OPT_USER:
                add_user(o, "--user", optarg);
                break;
            case OPT_USER_FILE:
                add_users_text(o, "--user-file", read_text_file("--user-file", optarg));
                break;
            case OPT_SETTLE_MS:
                o->settle_ms = parse_long("--settle-ms", optarg, 0, 600000);
                break;
            case OPT_DEADLINE:
                o->deadline_s = parse_long("--deadline", optarg, 1, 7 * 24 * 3600);
                break;
            case OPT_INSECURE:
                o->insecure = true;
                break;
            case OPT_CACERT:
                if (access(optarg, R_OK) < 0)
                    config_error("--cacert %s: %s", optarg, strerror(errno));
                o->cacert = optarg;
                break;
            case OPT_REQUIRE_APPSERVICE:
                o->require_appservice = true;
                break;
            case OPT_SPEC_DIR:
                if (access(optarg, R_OK | X_OK) < 0)
                    config_error("--spec-dir %s: %s", optarg, strerror(errno));
                o->spec_dir = optarg;
                break;
            case OPT_PRINT_SERVER_CONFIG:
                o->print_server_config = optarg;
                break;
            case OPT_AS_REGISTRATION_OUT:
                o->as_registration_out = optarg;
                break;
            case 'h':
                usage(stdout);
                exit(0);
            case OPT_VERSION:
                printf("device-conformance %s\n", MXDEV_VERSION);
                exit(0);
            default:
                /* getopt has printed what was wrong. */
                fputs("see device-conformance --help\n", stderr);
                exit(EXIT_CONFIG);
        }
    }
    if (optind < argc)
        config_error("unexpected argument \"%s\"", argv[optind]);
}

/* ---- application-service registration ---- */

/* "@prefix.*" or "@prefix.*:server" (the server part may escape its dots):
 * the literal localpart prefix; NULL when the regex has another shape. */
static char *prefix_from_regex(const char *regex) {
    const char *p = regex;
    if (*p == '^')
        p++;
    if (*p != '@')
        return NULL;
    p++;
    char *out = malloc(strlen(p) + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    while (*p && !(p[0] == '.' && p[1] == '*')) {
        char ch = *p;
        if (ch == '\\' && p[1] == '.') {
            ch = '.';
            p++;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                     ch == '-' || ch == '=' || ch == '/')) {
            free(out);
            return NULL;
        }
        out[n++] = ch;
        p++;
    }
    out[n] = '\0';
    if (!(p[0] == '.' && p[1] == '*') || n == 0) {
        free(out);
        return NULL;
    }
    p += 2;
    /* What follows may only be the server part, or the end. */
    if (*p == '$')
        p++;
    if (*p != '\0' && *p != ':') {
        free(out);
        return NULL;
    }
    return out;
}

static void as_unusable(struct appservice *as, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void as_unusable(struct appservice *as, const char *fmt, ...) {
    va_list ap;
    as->usable = false;
    va_start(ap, fmt);
    vsnprintf(as->reason, sizeof(as->reason), fmt, ap);
    va_end(ap);
}

static void load_appservice(const char *path, struct appservice *as) {
    json_error_t jerr;
    as->given = true;
    json_t *doc = mx_yaml_load_file(path, &jerr);
    if (!doc)
        config_error("--as-registration %s:%d: %s", path, jerr.line, jerr.text);
    const char *token = json_string_value(json_object_get(doc, "as_token"));
    const char *sender = json_string_value(json_object_get(doc, "sender_localpart"));
    json_t *users = json_object_get(json_object_get(doc, "namespaces"), "users");
    const char *regex =
        json_string_value(json_object_get(json_array_get(users, 0), "regex"));
    if (!token || !token[0])
        config_error("--as-registration %s: no as_token", path);
    if (!sender || !sender[0])
        config_error("--as-registration %s: no sender_localpart", path);
    as->as_token = strdup(token);
    as->sender_localpart = strdup(sender);
    mx_redact_secret(as->as_token);
    const char *hs_token = json_string_value(json_object_get(doc, "hs_token"));
    mx_redact_secret(hs_token);
    if (!regex) {
        as_unusable(as, "the application-service registration has no users namespace "
                        "(namespaces.users[0].regex)");
    } else {
        as->regex = strdup(regex);
        as->user_prefix = prefix_from_regex(regex);
        if (!as->user_prefix)
            as_unusable(
                as,
                "the users namespace regex \"%s\" is not of the form \"@prefix.*\" "
                "(or \"@prefix.*:server\"), so the suite cannot name users inside it",
                regex);
        else
            as->usable = true;
    }
    json_decref(doc);
}

/* ---- probe ---- */

struct probe {
    json_t *versions;     /* the /versions body */
    json_t *capabilities; /* for the reports */
    bool legacy_login;
    char *server_name; /* owned, NULL when unknown */
};

static void probe_server(const struct options *o, struct appservice *as,
                         struct probe *pr) {
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = "/_matrix/client/versions", .no_retry = false);
    if (r->status == 0) {
        fprintf(stderr, "error: cannot reach %s: %s\n", o->homeserver,
                r->transport_error);
        exit(EXIT_UNREACHABLE);
    }
    json_t *versions = json_object_get(r->json, "versions");
    if (r->status != 200 || !json_is_object(r->json) || !json_is_array(versions)) {
        fprintf(stderr,
                "error: %s does not speak the Matrix client-server API: GET "
                "/_matrix/client/versions answered %ld (%s)%s\n",
                o->homeserver, r->status,
                r->content_type ? r->content_type : "no Content-Type",
                r->json ? ", without a \"versions\" array" : ", not JSON");
        exit(EXIT_UNREACHABLE);
    }
    pr->versions = json_deep_copy(r->json);

    json_t *caps = json_object();
    pr->capabilities = caps;

    /* Legacy login: the suite provisions password users through it. */
    r = MX_SEND(.method = "GET", .path = MX_V3 "/login");
    json_t *flows = json_object_get(r->json, "flows");
    json_t *types = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(flows, i, f) {
        const char *t = json_string_value(json_object_get(f, "type"));
        if (t) {
            json_array_append_new(types, json_string(t));
            if (strcmp(t, "m.login.password") == 0)
                pr->legacy_login = true;
        }
    }
    /* Only a clear answer means "no legacy login" (an OAuth-only server says
     * 404 M_UNRECOGNIZED); a broken answer must not turn every check into a
     * skip, so the checks run and show what is wrong. */
    bool clear_answer =
        (r->status == 200 && json_is_array(flows)) ||
        ((r->status == 404 || r->status == 405) && json_is_object(r->json));
    if (!pr->legacy_login && !clear_answer) {
        pr->legacy_login = true;
        json_object_set_new(
            caps, "legacy_login_note",
            json_string(
                "GET /login gave no clear answer; the checks run and will show it"));
    }
    json_object_set_new(caps, "legacy_login", json_boolean(pr->legacy_login));
    json_object_set_new(caps, "login_flows", types);
    if (!pr->legacy_login)
        json_object_set_new(caps, "legacy_login_reason",
                            json_string(r->status == 200
                                            ? "GET /login offers no m.login.password flow"
                                            : "GET /login gives no login flows"));

    /* Application service: whoami as its sender with the as_token. */
    json_t *asc = json_object();
    json_object_set_new(caps, "appservice", asc);
    if (!as->given) {
        as_unusable(as, "no application-service registration given (--as-registration)");
    } else if (as->usable) {
        r = MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami",
                    .token = as->as_token);
        const char *uid = json_string_value(json_object_get(r->json, "user_id"));
        if (r->status == 200 && uid && strchr(uid, ':')) {
            pr->server_name = strdup(strchr(uid, ':') + 1);
            /* The contract's check: the sender asserted explicitly. */
            char *sender = NULL;
            if (asprintf(&sender, "@%s:%s", as->sender_localpart, pr->server_name) < 0)
                sender = NULL;
            r = MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami",
                        .token = as->as_token, .assert_user = sender);
            free(sender);
            if (r->status != 200) {
                const char *code = mx_errcode(r);
                as_unusable(
                    as,
                    "the server rejects the application service asserting its own "
                    "sender: GET /account/whoami?user_id=... answered %ld%s%s",
                    r->status, code ? " " : "", code ? code : "");
            }
        } else if (r->status == 0) {
            as_unusable(as, "whoami with the as_token failed: %s", r->transport_error);
        } else {
            const char *code = mx_errcode(r);
            as_unusable(as,
                        "the server does not accept the as_token (GET /account/whoami "
                        "answered %ld%s%s): is the registration file in the server's "
                        "app_service_config_files?",
                        r->status, code ? " " : "", code ? code : "");
        }
    }
    json_object_set_new(asc, "available", json_boolean(as->usable));
    json_object_set_new(asc, "reason",
                        as->usable ? json_null() : json_string(as->reason));
    if (as->user_prefix)
        json_object_set_new(asc, "user_prefix", json_string(as->user_prefix));
    if (as->regex)
        json_object_set_new(asc, "namespace", json_string(as->regex));

    /* Without an application service, a --user tells the server name. */
    if (!pr->server_name && json_array_size(o->users) > 0) {
        const char *u = json_string_value(json_array_get(o->users, 0));
        const char *colon = strchr(u, ':');
        const char *eq = strchr(u, '=');
        pr->server_name = strndup(colon + 1, (size_t)(eq - colon - 1));
    }
    json_object_set_new(caps, "server_name",
                        pr->server_name ? json_string(pr->server_name) : json_null());
    json_object_set_new(caps, "registration_token", json_boolean(o->registration_token));
    json_object_set_new(caps, "shared_secret", json_boolean(o->shared_secret));
    json_object_set_new(caps, "preconfigured_users",
                        json_integer((json_int_t)json_array_size(o->users)));
}

static void print_header(const struct options *o, const struct appservice *as,
                         const struct probe *pr) {
    printf("device-conformance %s\n", MXDEV_VERSION);
    printf("  target:        %s\n", o->homeserver);
    printf("  spec version:  %s%s\n", mx_version_name(o->spec_version),
           o->strict ? " (strict: SHOULD failures fail the run)" : "");
    printf("  server offers:");
    json_t *versions = json_object_get(pr->versions, "versions");
    size_t i;
    json_t *v;
    bool advertised = false;
    char want[16];
    snprintf(want, sizeof(want), "v%s", mx_version_name(o->spec_version));
    json_array_foreach(versions, i, v) {
        if (json_is_string(v)) {
            printf(" %s", json_string_value(v));
            if (strcmp(json_string_value(v), want) == 0)
                advertised = true;
        }
    }
    printf("\n");
    if (!advertised)
        printf("  note:          the server does not advertise %s\n", want);
    json_t *unstable = json_object_get(pr->versions, "unstable_features");
    const char *key;
    json_t *val;
    int shown = 0;
    json_object_foreach(unstable, key, val) {
        if (json_is_true(val) && (strstr(key, "4190") || strstr(key, "3861") ||
                                  strstr(key, "4326") || strstr(key, "2965"))) {
            printf("%s %s", shown ? "," : "  unstable:     ", key);
            shown++;
        }
    }
    if (shown)
        printf("\n");
    printf("  server name:   %s\n", pr->server_name ? pr->server_name : "(unknown)");
    if (as->usable)
        printf("  appservice:    yes (users %s)\n", as->regex);
    else
        printf("  appservice:    no; its checks are skipped: %s\n", as->reason);
    if (pr->legacy_login)
        printf("  password login: yes\n");
    else
        printf("  password login: no; checks needing password users are skipped\n");
    printf("  registration:  %s%s%s\n", "client API",
           o->registration_token ? " with a registration token" : "",
           o->shared_secret ? ", shared-secret admin API" : "");
    if (json_array_size(o->users))
        printf(
            "  --user:        %zu account%s, used when registration fails (checks using "
            "them run one at a time)\n",
            json_array_size(o->users), json_array_size(o->users) == 1 ? "" : "s");
    printf("  reports:       %s\n", o->report_dir);
    fflush(stdout);
}

/* ---- environment for the test processes ---- */

static void export_var(const char *name, const char *value) {
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void export_long(const char *name, long value) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", value);
    setenv(name, buf, 1);
}

/* Connection settings, needed before the probe's first request. */
static void export_connection(const struct options *o) {
    export_var("MXDEV_HOMESERVER", o->homeserver);
    export_long("MXDEV_TIMEOUT", o->timeout_s);
    export_var("MXDEV_INSECURE", o->insecure ? "1" : "0");
    export_var("MXDEV_CACERT", o->cacert);
    export_var("MXDEV_SPEC_VERSION", mx_version_name(o->spec_version));
    export_var("MXDEV_REPORT_DIR", o->report_dir);
    export_var("MXDEV_SPEC_DIR", o->spec_dir);
}

static void export_run(const struct options *o, const struct appservice *as,
                       const struct probe *pr, const char *run_id) {
    export_var("MXDEV_STRICT", o->strict ? "1" : "0");
    export_long("MXDEV_SETTLE_MS", o->settle_ms);
    export_var("MXDEV_RUN_ID", run_id);
    export_var("MXDEV_AS_AVAILABLE", as->usable ? "1" : "0");
    export_var("MXDEV_AS_SKIP_REASON", as->usable ? NULL : as->reason);
    export_var("MXDEV_AS_TOKEN", as->usable ? as->as_token : NULL);
    export_var("MXDEV_AS_USER_PREFIX", as->user_prefix);
    export_var("MXDEV_SERVER_NAME", pr->server_name);
    export_var("MXDEV_LEGACY_LOGIN", pr->legacy_login ? "1" : "0");
    export_var("MXDEV_REGISTRATION_TOKEN", o->registration_token);
    export_var("MXDEV_SHARED_SECRET", o->shared_secret);
    if (json_array_size(o->users) > 0) {
        size_t len = 1, i;
        json_t *u;
        json_array_foreach(o->users, i, u) len += strlen(json_string_value(u)) + 1;
        char *joined = calloc(1, len);
        if (joined) {
            json_array_foreach(o->users, i, u) {
                strcat(joined, json_string_value(u));
                strcat(joined, "\n");
            }
            export_var("MXDEV_USERS", joined);
            free(joined);
        }
    } else {
        export_var("MXDEV_USERS", NULL);
    }
    if (o->deadline_s > 0)
        export_long("MXDEV_DEADLINE_AT", (long)time(NULL) + o->deadline_s);
    else
        export_var("MXDEV_DEADLINE_AT", NULL);
}

static void make_run_id(char *buf, size_t len) {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[8];
    size_t n = len - 1 < sizeof(raw) ? len - 1 : sizeof(raw);
    if (getrandom(raw, n, 0) != (ssize_t)n) {
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)rand_r(&seed);
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
    buf[n] = '\0';
}

/* ---- deadline watchdog ---- */

static void on_watchdog(int sig) {
    (void)sig;
    static const char msg[] =
        "error: the run exceeded its --deadline by its grace period; the homeserver "
        "stopped answering? aborting\n";
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do in a signal handler */
    }
    _exit(EXIT_UNREACHABLE);
}

/* --deadline S: tests that start after S seconds skip themselves
 * (MXDEV_DEADLINE_AT, checked by mx_test_init); criterion kills any single
 * test running longer than S; and should the runner itself still be going
 * S + grace seconds later, it gives up with exit status 3. */
static void arm_deadline(const struct options *o) {
    if (o->deadline_s <= 0)
        return;
    criterion_options.timeout = (double)o->deadline_s;
    long grace = 2 * o->timeout_s + 30;
    signal(SIGALRM, on_watchdog);
    alarm((unsigned)(o->deadline_s * 2 + grace));
}

/* Whether criterion's own arguments ask only for information (--list,
 * --help, --version), which needs no homeserver. */
static bool criterion_info_only(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "-l") == 0 ||
            strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "--version") == 0)
            return true;
    }
    return false;
}

static int run_criterion(int argc, char **argv) {
    struct criterion_test_set *tests = criterion_initialize();
    /* The report layer prints one line per check and the reason of each
     * failure; the full messages and transcripts are in the reports.
     * MXDEV_CRITERION_VERBOSE=1 brings criterion's own output back. */
    const char *verbose = getenv("MXDEV_CRITERION_VERBOSE");
    criterion_options.logging_threshold = CRITERION_IMPORTANT;
    /* A logger with no callbacks: criterion skips each log event (its quiet
     * level would also silence the report hooks' own stdout). */
    static struct criterion_logger silent_logger;
    if (!(verbose && strcmp(verbose, "1") == 0))
        criterion_options.logger = &silent_logger;
    criterion_options.short_filename = true;
    /* Our getopt_long pass left its state behind; 0 makes glibc start over. */
    optind = 0;
    int keep_going = criterion_handle_args(argc, argv, true);
    if (!keep_going) {
        criterion_finalize(tests);
        return -1;
    }
    criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return 0;
}

int main(int argc, char **argv) {
    struct options o = {
        .spec_version = 117,
        .timeout_s = 10,
        .report_dir = "reports",
        .users = json_array(),
    };
    struct appservice as = {0};
    struct probe pr = {0};
    char run_id[9];
    int rest = argc;
    int ours = our_prefix(argc, argv, &rest);

    /* Criterion's arguments: argv[0] plus everything after ours. */
    int crit_argc = 1 + (argc - rest);
    char **crit_argv = calloc((size_t)crit_argc + 1, sizeof(*crit_argv));
    if (!crit_argv)
        return EXIT_CONFIG;
    crit_argv[0] = argv[0];
    for (int i = rest; i < argc; i++)
        crit_argv[1 + i - rest] = argv[i];

    parse_options(ours, argv, &o);
    if (o.as_registration_out && !o.print_server_config)
        config_error("--as-registration-out needs --print-server-config");
    if (o.print_server_config) {
        free(crit_argv);
        return mx_print_server_config(o.print_server_config, o.as_registration_out,
                                      o.homeserver, stdout);
    }

    if (criterion_info_only(crit_argc, crit_argv)) {
        int rc = run_criterion(crit_argc, crit_argv);
        free(crit_argv);
        return rc < 0 ? 0 : 0;
    }

    if (!o.homeserver)
        o.homeserver = getenv("MATRIX_HOMESERVER");
    if (!o.homeserver || !o.homeserver[0])
        config_error("no homeserver: give --homeserver URL or set MATRIX_HOMESERVER");
    if (strncmp(o.homeserver, "http://", 7) != 0 &&
        strncmp(o.homeserver, "https://", 8) != 0)
        config_error("--homeserver \"%s\": expected an http:// or https:// URL",
                     o.homeserver);
    char *hs = strdup(o.homeserver);
    size_t hl = strlen(hs);
    while (hl > 0 && hs[hl - 1] == '/')
        hs[--hl] = '\0';
    o.homeserver = hs;
    if (!o.registration_token && getenv("MXDEV_REGISTRATION_TOKEN") &&
        getenv("MXDEV_REGISTRATION_TOKEN")[0])
        o.registration_token = strdup(getenv("MXDEV_REGISTRATION_TOKEN"));
    if (!o.shared_secret && getenv("MXDEV_SHARED_SECRET") &&
        getenv("MXDEV_SHARED_SECRET")[0])
        o.shared_secret = strdup(getenv("MXDEV_SHARED_SECRET"));
    if (json_array_size(o.users) == 0 && getenv("MXDEV_USERS") &&
        getenv("MXDEV_USERS")[0]) {
        char *users = strdup(getenv("MXDEV_USERS"));
        if (!users)
            config_error("out of memory");
        add_users_text(&o, "$MXDEV_USERS", users);
    }
    mx_redact_secret(o.registration_token);
    mx_redact_secret(o.shared_secret);
    if (o.as_registration)
        load_appservice(o.as_registration, &as);
    mx_catalog_ensure();

    export_connection(&o);
    mx_env_reload();
    if (mx_client_global_init() < 0) {
        fprintf(stderr, "error: cannot initialise libcurl\n");
        return EXIT_CONFIG;
    }
    probe_server(&o, &as, &pr);
    if (o.require_appservice && !as.usable)
        config_error("--require-appservice: the application service is not usable: %s",
                     as.reason);

    make_run_id(run_id, sizeof(run_id));
    export_run(&o, &as, &pr, run_id);
    if (mx_session_export_run_secret() < 0)
        fprintf(stderr, "warning: no randomness for the run's secret: every check "
                        "registers its own users\n");
    json_object_set_new(pr.capabilities, "run_id", json_string(run_id));
    print_header(&o, &as, &pr);

    /* The test processes start from this process: they must not inherit a
     * connection, or the configuration read before the exports. */
    mx_arena_free();
    mx_client_global_cleanup();
    mx_env_reload();

    struct mx_report_config cfg = {
        .dir = o.report_dir,
        .target = o.homeserver,
        .spec_version = o.spec_version,
        .strict = o.strict,
        .expect_fail_file = o.expect_fail,
        .versions = pr.versions,
        .capabilities = pr.capabilities,
    };
    char err[512];
    if (mx_report_init(&cfg, err, sizeof(err)) < 0)
        config_error("%s", err);

    arm_deadline(&o);
    int status;
    if (run_criterion(crit_argc, crit_argv) < 0)
        status = 0;
    else
        status = mx_report_exit_status();
    alarm(0);

    free(crit_argv);
    free(hs);
    free(o.registration_token);
    free(o.shared_secret);
    json_decref(o.users);
    free(as.as_token);
    free(as.sender_localpart);
    free(as.regex);
    free(as.user_prefix);
    json_decref(pr.versions);
    json_decref(pr.capabilities);
    free(pr.server_name);
    return status;
}
