/* The server probe: a handful of requests before the checks, each reported as
 * what the server answered, never as what the suite hoped for. */
#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "appservice.h"
#include "mx_catalog.h"
#include "mx_client.h"
#include "mx_redact.h"
#include "mx_report.h"
#include "options.h"

/* A new string from printf arguments; NULL on OOM. */
static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *vformat(const char *fmt, va_list ap) {
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    return s;
}

static char *format(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

static void unreachable(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void unreachable(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    char *safe = text ? mx_redact(text) : NULL;
    fprintf(stderr, "error: %s\n", safe ? safe : "the homeserver cannot be probed");
    mx_report_unjudged_exit(EXIT_UNREACHABLE,
                            text ? text : "the homeserver cannot be probed");
    free(safe);
    free(text);
    exit(EXIT_UNREACHABLE);
}

/* libcurl's words for an answer that is not HTTP at all. */
static bool not_http(const char *transport_error) {
    static const char *const signs[] = {"HTTP/0.9",           "Unsupported HTTP",
                                        "Weird server reply", "Invalid status line",
                                        "Nonsupported",       NULL};
    for (size_t i = 0; signs[i]; i++)
        if (strstr(transport_error, signs[i]))
            return true;
    return false;
}

/* " 403 M_FORBIDDEN" style suffix of a response; static storage. */
static const char *status_words(const struct mx_resp *r) {
    static char buf[128];
    const char *code = mx_errcode(r);
    snprintf(buf, sizeof(buf), "%ld%s%s", r->status, code ? " " : "", code ? code : "");
    return buf;
}

static void probe_versions(const struct options *o, struct probe *pr) {
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = "/_matrix/client/versions");
    if (r->status == 0 && not_http(r->transport_error))
        unreachable("%s is not an HTTP server: it answered GET /_matrix/client/versions "
                    "with bytes that are not an HTTP response",
                    o->display_url);
    if (r->status == 0)
        unreachable("cannot reach %s: %s", o->display_url, r->transport_error);
    if (r->status >= 300 && r->status < 400) {
        const char *where = mx_header(r, "location");
        static const char tail[] = "/_matrix/client/versions";
        size_t n = where ? strlen(where) : 0, t = sizeof(tail) - 1;
        /* A redirect of the whole server names the base URL to use. */
        int base = n > t && strcmp(where + n - t, tail) == 0 ? (int)(n - t) : 0;
        unreachable(
            "%s answered GET /_matrix/client/versions with %ld, a redirect to %s; "
            "the suite does not follow redirects: point --homeserver at the final "
            "URL%s%.*s%s",
            o->display_url, r->status, where ? where : "(no Location header)",
            base ? " (" : "", base, base ? where : "", base ? ")" : "");
    }
    json_t *versions = json_object_get(r->json, "versions");
    if (r->status != 200 || !json_is_object(r->json) || !json_is_array(versions))
        unreachable("%s does not speak the Matrix client-server API: GET "
                    "/_matrix/client/versions answered %ld (%s)%s",
                    o->display_url, r->status,
                    r->content_type ? r->content_type : "no Content-Type",
                    r->json ? ", without a \"versions\" array" : ", not JSON");
    pr->versions = json_deep_copy(r->json);
}

/* Legacy login: the suite provisions password users through it. */
static void probe_login(struct probe *pr) {
    json_t *caps = pr->capabilities;
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = MX_V3 "/login");
    json_t *flows = json_object_get(r->json, "flows");
    json_t *types = json_array();
    size_t i;
    json_t *f;
    bool password = false;
    json_array_foreach(flows, i, f) {
        const char *t = json_string_value(json_object_get(f, "type"));
        if (t) {
            json_array_append_new(types, json_string(t));
            if (strcmp(t, "m.login.password") == 0)
                password = true;
        }
    }
    /* Only a clear answer means "no legacy login" (an OAuth-only server says
     * 404 M_UNRECOGNIZED); a broken answer must not turn every check into a
     * skip, so the checks run and show what is wrong. */
    bool clear = (r->status == 200 && json_is_array(flows)) ||
                 ((r->status == 404 || r->status == 405) && json_is_object(r->json));
    const char *state;
    if (password) {
        state = "yes";
        pr->legacy_login = true;
        pr->login_line = format("yes (GET /login lists m.login.password)");
    } else if (clear) {
        state = "no";
        pr->legacy_login = false;
        if (r->status == 200)
            pr->login_line = format("no (GET /login offers no m.login.password flow); "
                                    "checks needing password users are skipped");
        else
            pr->login_line = format("no (GET /login answered %s); checks needing "
                                    "password users are skipped",
                                    status_words(r));
        json_object_set_new(caps, "legacy_login_reason",
                            json_string(r->status == 200
                                            ? "GET /login offers no m.login.password flow"
                                            : "GET /login gives no login flows"));
    } else {
        state = "unclear";
        pr->legacy_login = true;
        if (r->status == 0)
            pr->login_line = format("unclear (GET /login: %s); the checks run and will "
                                    "show it",
                                    r->transport_error);
        else
            pr->login_line =
                format("unclear (GET /login answered %s%s); the checks run "
                       "and will show it",
                       status_words(r), r->status == 200 ? " without a flows array" : "");
        json_object_set_new(
            caps, "legacy_login_note",
            json_string(
                "GET /login gave no clear answer; the checks run and will show it"));
    }
    json_object_set_new(caps, "password_login", json_string(state));
    json_object_set_new(caps, "legacy_login", json_boolean(pr->legacy_login));
    json_object_set_new(caps, "login_flows", types);
}

/* POST /register with an empty body creates no account: an open server
 * answers 401 with its flows, a closed one 403 M_FORBIDDEN. */
static void probe_registration(struct probe *pr) {
    json_t *body = json_object();
    const struct mx_resp *r =
        MX_SEND(.method = "POST", .path = MX_V3 "/register", .body = body);
    const char *first_code = mx_errcode(r);
    if (r->status == 400 && first_code && strcmp(first_code, "M_MISSING_PARAM") == 0) {
        /* Some servers want the parameters before they name the flows; without
         * an "auth" object no account is created either way. */
        unsigned char raw[12] = {0};
        char password[40];
        if (getrandom(raw, sizeof(raw), 0) < 0)
            raw[0] = (unsigned char)time(NULL);
        size_t n = (size_t)snprintf(password, sizeof(password), "probe-");
        for (size_t i = 0; i < sizeof(raw); i++)
            n += (size_t)snprintf(password + n, sizeof(password) - n, "%02x", raw[i]);
        mx_redact_secret(password);
        json_object_set_new(body, "password", json_string(password));
        r = MX_SEND(.method = "POST", .path = MX_V3 "/register", .body = body);
    }
    json_decref(body);
    json_t *reg = json_object();
    json_t *flow_names = json_array();
    json_t *flows = json_object_get(r->json, "flows");
    const char *code = mx_errcode(r);
    size_t i;
    json_t *f;
    bool every_flow_token = json_array_size(flows) > 0;
    json_array_foreach(flows, i, f) {
        json_t *stages = json_object_get(f, "stages");
        size_t k;
        json_t *s;
        bool token = false;
        char *joined = NULL;
        json_array_foreach(stages, k, s) {
            const char *name = json_string_value(s);
            if (!name)
                continue;
            if (strcmp(name, "m.login.registration_token") == 0)
                token = true;
            char *longer =
                format("%s%s%s", joined ? joined : "", joined ? " + " : "", name);
            free(joined);
            joined = longer;
        }
        if (!token)
            every_flow_token = false;
        json_array_append_new(flow_names, json_string(joined ? joined : "(no stages)"));
        free(joined);
    }
    char *list = NULL;
    json_array_foreach(flow_names, i, f) {
        char *longer =
            format("%s%s%s", list ? list : "", list ? ", " : "", json_string_value(f));
        free(list);
        list = longer;
    }
    if (r->status == 401 && json_array_size(flows) > 0) {
        pr->registration_state = every_flow_token ? "token" : "open";
        pr->registration_line =
            every_flow_token
                ? format("token required (m.login.registration_token; flows: %s)", list)
                : format("open (flows: %s)", list);
    } else if (r->status == 403) {
        pr->registration_state = "closed";
        pr->registration_line = format("closed (%s)", status_words(r));
    } else if (r->status == 0) {
        pr->registration_state = "unknown";
        pr->registration_line =
            format("no answer (%s); the checks run and will show it", r->transport_error);
    } else {
        pr->registration_state = "unknown";
        pr->registration_line = format("unclear (POST /register answered %s); the checks "
                                       "run and will show it",
                                       status_words(r));
    }
    free(list);
    json_object_set_new(reg, "state", json_string(pr->registration_state));
    json_object_set_new(reg, "flows", flow_names);
    json_object_set_new(reg, "status", json_integer(r->status));
    json_object_set_new(reg, "errcode", code ? json_string(code) : json_null());
    json_object_set_new(pr->capabilities, "registration", reg);
}

/* Application service: whoami as its sender with the as_token. */
static void probe_appservice(struct appservice *as, struct probe *pr) {
    json_t *asc = json_object();
    json_object_set_new(pr->capabilities, "appservice", asc);
    if (!as->given) {
        appservice_unusable(
            as, "no application-service registration given (--as-registration)");
    } else if (as->usable) {
        const struct mx_resp *r =
            MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami",
                    .token = as->as_token);
        const char *uid = json_string_value(json_object_get(r->json, "user_id"));
        if (r->status == 200 && uid && strchr(uid, ':')) {
            pr->server_name = strdup(strchr(uid, ':') + 1);
            /* The server must accept the sender asserted explicitly. */
            char *sender = format("@%s:%s", as->sender_localpart, pr->server_name);
            r = MX_SEND(.method = "GET", .path = MX_V3 "/account/whoami",
                        .token = as->as_token, .assert_user = sender);
            free(sender);
            if (r->status != 200)
                appservice_unusable(
                    as,
                    "the server rejects the application service asserting its own "
                    "sender: GET /account/whoami?user_id=... answered %s",
                    status_words(r));
        } else if (r->status == 0) {
            appservice_unusable(as, "whoami with the as_token failed: %s",
                                r->transport_error);
        } else {
            appservice_unusable(as,
                                "the server does not accept the as_token (GET "
                                "/account/whoami answered %s): is the registration file "
                                "in the server's app_service_config_files?",
                                status_words(r));
        }
    }
    json_object_set_new(asc, "available", json_boolean(as->usable));
    json_object_set_new(asc, "reason",
                        as->usable ? json_null() : json_string(as->reason));
    if (as->user_prefix)
        json_object_set_new(asc, "user_prefix", json_string(as->user_prefix));
    if (as->regex)
        json_object_set_new(asc, "namespace", json_string(as->regex));
}

/* Registration that cannot give the suite accounts, with none given, makes
 * every check fail for the same reason: say so once, before any check. */
static void check_accounts(const struct options *o, const struct probe *pr) {
    bool accounts = json_array_size(o->users) > 0 || o->shared_secret;
    if (accounts)
        return;
    json_t *reg = json_object_get(pr->capabilities, "registration");
    const char *code = json_string_value(json_object_get(reg, "errcode"));
    if (strcmp(pr->registration_state, "closed") == 0)
        options_die(
            "registration is closed on %s (POST /register answered %lld%s%s) and no "
            "test accounts were given: give accounts with --user @a:hs=PASSWORD "
            "(twice), --user-file F or $MXDEV_USERS, or Synapse's shared secret "
            "with --shared-secret S or --shared-secret-file F (or "
            "$MXDEV_SHARED_SECRET)",
            o->display_url, (long long)json_integer_value(json_object_get(reg, "status")),
            code ? " " : "", code ? code : "");
    if (strcmp(pr->registration_state, "token") == 0 && !o->registration_token)
        options_die(
            "registration on %s needs a registration token "
            "(m.login.registration_token) and none was given: give it with "
            "--registration-token T, --registration-token-file F or "
            "$MXDEV_REGISTRATION_TOKEN, or give accounts with --user, --user-file, "
            "$MXDEV_USERS or --shared-secret(-file)",
            o->display_url);
}

void probe_server(const struct options *o, struct appservice *as, struct probe *pr) {
    probe_versions(o, pr);
    pr->capabilities = json_object();
    probe_login(pr);
    probe_registration(pr);
    probe_appservice(as, pr);

    json_t *caps = pr->capabilities;
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
    json_object_set_new(caps, "tls_verification",
                        json_string(o->insecure ? "off" : "on"));
    check_accounts(o, pr);
}

void probe_print_header(const struct options *o, const struct appservice *as,
                        const struct probe *pr) {
    printf("device-conformance %s\n", MXDEV_VERSION);
    printf("  target:        %s\n", o->display_url);
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
    printf("  password login: %s\n", pr->login_line ? pr->login_line : "?");
    printf("  registration:  %s\n", pr->registration_line ? pr->registration_line : "?");
    if (o->registration_token || o->shared_secret)
        printf("  provisioning:  %s%s%s\n",
               o->registration_token ? "with a registration token" : "",
               o->registration_token && o->shared_secret ? ", " : "",
               o->shared_secret ? "shared-secret admin API" : "");
    if (json_array_size(o->users))
        printf(
            "  --user:        %zu account%s, used when registration fails (checks using "
            "them run one at a time)\n",
            json_array_size(o->users), json_array_size(o->users) == 1 ? "" : "s");
    printf("  tls verification: %s\n",
           o->insecure ? "off (--insecure): certificates were not verified" : "on");
    printf("  reports:       %s\n", o->report_dir);
    fflush(stdout);
}

static void export_var(const char *name, const char *value) {
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

void probe_export(const struct appservice *as, const struct probe *pr) {
    export_var("MXDEV_AS_AVAILABLE", as->usable ? "1" : "0");
    export_var("MXDEV_AS_SKIP_REASON", as->usable ? NULL : as->reason);
    export_var("MXDEV_AS_TOKEN", as->usable ? as->as_token : NULL);
    export_var("MXDEV_AS_USER_PREFIX", as->user_prefix);
    export_var("MXDEV_SERVER_NAME", pr->server_name);
    export_var("MXDEV_LEGACY_LOGIN", pr->legacy_login ? "1" : "0");
}

void probe_free(struct probe *pr) {
    json_decref(pr->versions);
    json_decref(pr->capabilities);
    free(pr->login_line);
    free(pr->registration_line);
    free(pr->server_name);
}
