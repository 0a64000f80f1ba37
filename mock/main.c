/* mock-homeserver: command line, start-up, signal handling, shutdown. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "deviations.h"
#include "dispatch.h"
#include "reqlog.h"
#include "server.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: mock-homeserver [options]\n"
    "An in-memory Matrix homeserver for the device-management conformance suite.\n"
    "\n"
    "  --listen ADDR:PORT        address to bind (default 127.0.0.1:0, port 0 = any)\n"
    "  --server-name NAME        server name in user IDs (default localhost)\n"
    "  --appservice FILE         application-service registration (repeatable)\n"
    "  --spec-version V          1.16 | 1.17 | 1.18 | 1.19 | 1.20 (default 1.17)\n"
    "  --rate-limit[=N]          limit login, register and AS device creation to N\n"
    "                            requests per minute per client (default N 10)\n"
    "  --registration-token T    registration needs m.login.registration_token T\n"
    "  --shared-secret S         serve Synapse's shared-secret registration\n"
    "                            (/_synapse/admin/v1/register, HMAC-SHA1 nonce scheme)\n"
    "  --uia-grace-ms N          after a device passes UIA, let its deletions through\n"
    "                            without UIA for N ms (as Synapse's\n"
    "                            ui_auth.session_timeout; default 0: never)\n"
    "  --no-registration         POST /register refuses clients (403 M_FORBIDDEN);\n"
    "                            application services still register users\n"
    "  --request-log FILE        append one JSON object a line per request: method,\n"
    "                            path, status, user and device, body (secrets\n"
    "                            redacted, cut at 2 KiB)\n"
    "  --tls-cert FILE           serve https with this PEM certificate (chain)\n"
    "  --tls-key FILE            and this PEM private key (both needed)\n"
    "  --seed FILE               load users and devices from a JSON file\n"
    "  --deviate NAME            break one named rule on purpose (repeatable)\n"
    "  --list-deviations         print NAME<TAB>REQ-IDS<TAB>description and exit\n"
    "  --help, --version\n"
    "\n"
    "Prints \"listening on http://ADDR:PORT\" (https with --tls-cert) once ready;\n"
    "stops on SIGINT/SIGTERM.\n"
    "\n"
    "Limits (answered with a JSON Matrix error, errcode M_TOO_LARGE):\n"
    "  request target (path and query)  16 KiB      414\n"
    "  header fields                    100         431\n"
    "  header names and values          16 KiB      431 (Authorization included)\n"
    "  request body                     64 KiB      413 (at once with Expect:\n"
    "                                               100-continue, else once read)\n"
    "Past 128 KiB of request head, libmicrohttpd answers 414/431 itself or\n"
    "closes the connection. An idle connection is closed after 30 s.\n";

enum {
    OPT_LISTEN = 256,
    OPT_SERVER_NAME,
    OPT_APPSERVICE,
    OPT_SPEC_VERSION,
    OPT_RATE_LIMIT,
    OPT_REGISTRATION_TOKEN,
    OPT_SHARED_SECRET,
    OPT_NO_REGISTRATION,
    OPT_UIA_GRACE_MS,
    OPT_REQUEST_LOG,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_SEED,
    OPT_DEVIATE,
    OPT_LIST_DEVIATIONS,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option long_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
    {"appservice", required_argument, NULL, OPT_APPSERVICE},
    {"spec-version", required_argument, NULL, OPT_SPEC_VERSION},
    {"rate-limit", optional_argument, NULL, OPT_RATE_LIMIT},
    {"registration-token", required_argument, NULL, OPT_REGISTRATION_TOKEN},
    {"shared-secret", required_argument, NULL, OPT_SHARED_SECRET},
    {"no-registration", no_argument, NULL, OPT_NO_REGISTRATION},
    {"uia-grace-ms", required_argument, NULL, OPT_UIA_GRACE_MS},
    {"request-log", required_argument, NULL, OPT_REQUEST_LOG},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"seed", required_argument, NULL, OPT_SEED},
    {"deviate", required_argument, NULL, OPT_DEVIATE},
    {"list-deviations", no_argument, NULL, OPT_LIST_DEVIATIONS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

struct options {
    struct mock_config cfg;
    const char **appservice_files; /* borrowed from argv */
    size_t n_appservice_files;
    const char *registration_token;
    const char *shared_secret;
    bool no_registration;
    const char *tls_cert, *tls_key; /* file names, borrowed from argv */
};

static int replace_string(char **slot, const char *value) {
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Parses "ADDR:PORT", "[V6]:PORT" or "ADDR" (port 0). */
static int parse_listen(struct mock_config *cfg, const char *text) {
    char addr[128];
    const char *port_text = NULL;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || (size_t)(end - text - 1) >= sizeof addr)
            return -1;
        memcpy(addr, text + 1, (size_t)(end - text - 1));
        addr[end - text - 1] = '\0';
        if (end[1] == ':')
            port_text = end + 2;
        else if (end[1] != '\0')
            return -1;
    } else {
        const char *colon = strrchr(text, ':');
        size_t n = colon != NULL ? (size_t)(colon - text) : strlen(text);
        if (n == 0 || n >= sizeof addr)
            return -1;
        memcpy(addr, text, n);
        addr[n] = '\0';
        port_text = colon != NULL ? colon + 1 : NULL;
    }
    unsigned long port = 0;
    if (port_text != NULL) {
        char *end;
        errno = 0;
        port = strtoul(port_text, &end, 10);
        if (port_text[0] == '\0' || *end != '\0' || errno != 0 || port > 65535)
            return -1;
    }
    if (replace_string(&cfg->listen_addr, addr) < 0)
        return -1;
    cfg->listen_port = (unsigned)port;
    return 0;
}

static int parse_rate(const char *text, unsigned *out) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || n == 0 || n > 1000000)
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* Returns 0 to run, 1 to exit successfully, EXIT_USAGE on a bad argument. */
static int parse_args(int argc, char **argv, struct options *o) {
    o->appservice_files = calloc((size_t)argc, sizeof *o->appservice_files);
    if (o->appservice_files == NULL) {
        fprintf(stderr, "mock-homeserver: out of memory\n");
        return EXIT_USAGE;
    }
    opterr = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, ":", long_options, &idx);
        if (c == -1)
            break;
        const char *arg = optarg;
        int bad = 0;
        switch (c) {
            case OPT_LISTEN:
                bad = parse_listen(&o->cfg, arg);
                break;
            case OPT_SERVER_NAME:
                bad = arg[0] == '\0' || replace_string(&o->cfg.server_name, arg) < 0;
                break;
            case OPT_APPSERVICE:
                o->appservice_files[o->n_appservice_files++] = arg;
                break;
            case OPT_SPEC_VERSION:
                bad = mock_spec_version_parse(arg, &o->cfg.spec_version);
                break;
            case OPT_RATE_LIMIT:
                o->cfg.rate_limit = true;
                if (arg != NULL)
                    bad = parse_rate(arg, &o->cfg.rate_limit_per_min);
                break;
            case OPT_UIA_GRACE_MS: {
                unsigned ms = 0;
                bad = parse_rate(arg, &ms);
                o->cfg.uia_grace_ms = ms;
                break;
            }
            case OPT_REGISTRATION_TOKEN:
                bad = arg[0] == '\0';
                o->registration_token = arg;
                break;
            case OPT_SHARED_SECRET:
                bad = arg[0] == '\0';
                o->shared_secret = arg;
                break;
            case OPT_NO_REGISTRATION:
                o->no_registration = true;
                break;
            case OPT_REQUEST_LOG:
                bad = replace_string(&o->cfg.request_log, arg) < 0;
                break;
            case OPT_TLS_CERT:
                bad = arg[0] == '\0';
                o->tls_cert = arg;
                break;
            case OPT_TLS_KEY:
                bad = arg[0] == '\0';
                o->tls_key = arg;
                break;
            case OPT_SEED:
                bad = replace_string(&o->cfg.seed_file, arg) < 0;
                break;
            case OPT_DEVIATE: {
                enum mock_deviation d;
                if (mock_deviation_parse(arg, &d) < 0) {
                    fprintf(stderr,
                            "mock-homeserver: unknown deviation '%s' (see "
                            "--list-deviations)\n",
                            arg);
                    return EXIT_USAGE;
                }
                o->cfg.deviations[d] = true;
                break;
            }
            case OPT_LIST_DEVIATIONS:
                mock_deviations_print(stdout);
                return 1;
            case OPT_HELP:
                fputs(usage_text, stdout);
                return 1;
            case OPT_VERSION:
                printf("mock-homeserver %s\n", MXDEV_VERSION);
                return 1;
            case ':':
                fprintf(stderr, "mock-homeserver: %s needs a value\n", argv[optind - 1]);
                return EXIT_USAGE;
            default:
                fprintf(stderr, "mock-homeserver: unknown option '%s' (see --help)\n",
                        argv[optind - 1]);
                return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "mock-homeserver: invalid value '%s' for --%s\n",
                    arg != NULL ? arg : "", idx >= 0 ? long_options[idx].name : "?");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mock-homeserver: unexpected argument '%s' (see --help)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "mock-homeserver: --tls-cert and --tls-key go together\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Reads a whole (small) file. Returns a new NUL-terminated string, or NULL
 * with a one-line reason in err. */
static char *read_text_file(const char *path, char *err, size_t err_len) {
    char *text = NULL;
    size_t len = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (len + n > 1024 * 1024) {
            snprintf(err, err_len, "%s: larger than 1 MiB", path);
            goto fail;
        }
        char *grown = realloc(text, len + n + 1);
        if (grown == NULL) {
            snprintf(err, err_len, "%s: out of memory", path);
            goto fail;
        }
        text = grown;
        memcpy(text + len, chunk, n);
        len += n;
        text[len] = '\0';
    }
    if (ferror(fp)) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (text == NULL || strstr(text, "-----BEGIN ") == NULL) {
        snprintf(err, err_len, "%s: not a PEM file", path);
        goto fail;
    }
    fclose(fp);
    return text;
fail:
    fclose(fp);
    free(text);
    return NULL;
}

int main(int argc, char **argv) {
    struct options o;
    memset(&o, 0, sizeof o);
    mock_config_init(&o.cfg);
    struct mock_state state;
    memset(&state, 0, sizeof state);
    struct mock_reqlog *reqlog = NULL;
    struct mock_server *srv = NULL;
    char *tls_cert = NULL, *tls_key = NULL;
    char err[512];
    int status = EXIT_USAGE;

    int rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        status = rc == 1 ? 0 : EXIT_USAGE;
        goto out;
    }
    /* Registrations after all options: their sender IDs use --server-name. */
    for (size_t i = 0; i < o.n_appservice_files; i++) {
        if (mock_config_load_appservice(&o.cfg, o.appservice_files[i], err, sizeof err) <
            0) {
            fprintf(stderr, "mock-homeserver: %s\n", err);
            goto out;
        }
    }
    if (o.tls_cert != NULL) {
        tls_cert = read_text_file(o.tls_cert, err, sizeof err);
        tls_key = tls_cert != NULL ? read_text_file(o.tls_key, err, sizeof err) : NULL;
        if (tls_key == NULL) {
            fprintf(stderr, "mock-homeserver: TLS %s\n", err);
            goto out;
        }
    }
    if (o.cfg.request_log != NULL) {
        reqlog = mock_reqlog_open(o.cfg.request_log, err, sizeof err);
        if (reqlog == NULL) {
            fprintf(stderr, "mock-homeserver: request log %s\n", err);
            goto out;
        }
    }
    if (mock_state_setup(&state, &o.cfg) < 0) {
        fprintf(stderr, "mock-homeserver: out of memory\n");
        status = 1;
        goto out;
    }
    state.reqlog = reqlog;
    state.registration_token = o.registration_token;
    state.shared_secret = o.shared_secret;
    state.registration_disabled = o.no_registration;
    if (o.cfg.seed_file != NULL &&
        mock_config_load_seed(&o.cfg, state.store, o.cfg.seed_file, err, sizeof err) <
            0) {
        fprintf(stderr, "mock-homeserver: %s\n", err);
        goto out;
    }

    /* The daemon's threads inherit this mask, so only sigwait sees the
     * signals. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    srv = mock_server_start_tls(&state, o.cfg.listen_addr, o.cfg.listen_port, tls_cert,
                                tls_key, err, sizeof err);
    if (srv == NULL) {
        fprintf(stderr, "mock-homeserver: %s\n", err);
        goto out;
    }
    bool v6 = strchr(o.cfg.listen_addr, ':') != NULL;
    printf("listening on %s://%s%s%s:%u\n", tls_cert != NULL ? "https" : "http",
           v6 ? "[" : "", o.cfg.listen_addr, v6 ? "]" : "", mock_server_port(srv));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    status = 0;

out:
    mock_server_stop(srv);
    mock_state_teardown(&state);
    mock_reqlog_close(reqlog);
    mock_config_clean(&o.cfg);
    free(o.appservice_files);
    free(tls_cert);
    if (tls_key != NULL)
        memset(tls_key, 0, strlen(tls_key)); /* no key text left in freed memory */
    free(tls_key);
    return status;
}
