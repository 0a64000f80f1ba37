/* --print-server-config: the registration, rate-limit and application-service
 * settings a test server needs, per server family.
 *
 * Synapse's keys are verified: tests/test_synapse.sh starts the project's
 * Synapse with this very output and runs the suite against it. The Conduit
 * family's and Dendrite's come from their documentation (continuwuity's
 * conduwuit-example.toml, Dendrite's dendrite-sample.yaml) and say so in
 * the output.
 */
#include "server_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "mx_client.h"
#include "mx_session.h"

#define EXIT_CONFIG 2
#define PLACEHOLDER_PATH "/path/to/mxdev-appservice.yaml"

/* 32 random bytes as 64 hex digits; -1 when no randomness was to be had. */
static int random_token(char hex[65]) {
    unsigned char raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* Writes the application-service registration with fresh tokens to path
 * (created with mode 0600, never overwritten). 0, or -1 with the reason on
 * stderr. */
static int write_registration(const char *path) {
    char as_token[65], hs_token[65];
    int fd = -1;
    FILE *f = NULL;
    int rc = -1;

    if (random_token(as_token) < 0 || random_token(hs_token) < 0) {
        fprintf(stderr, "error: --as-registration-out: no randomness for the tokens\n");
        goto fail;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "error: --as-registration-out %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (never overwritten: remove it or pick another name)"
                                : "");
        goto fail;
    }
    f = fdopen(fd, "w");
    if (!f) {
        fprintf(stderr, "error: --as-registration-out %s: %s\n", path, strerror(errno));
        goto fail;
    }
    fd = -1; /* f owns it now */
    fprintf(f,
            "# Application-service registration for device-conformance, written by\n"
            "# --print-server-config with fresh random tokens: keep it as secret as a\n"
            "# password. The server loads it, the suite reads it (--as-registration).\n"
            "# The namespace @_mxdevconf_.* is exclusive: no human account may have a\n"
            "# localpart starting with _mxdevconf_.\n"
            "id: mxdev-conformance\n"
            "# The suite never receives transactions.\n"
            "url: null\n"
            "as_token: %s\n"
            "hs_token: %s\n"
            "sender_localpart: _mxdevconf_bot\n"
            "rate_limited: false\n"
            "namespaces:\n"
            "  users:\n"
            "    - regex: \"@_mxdevconf_.*\"\n"
            "      exclusive: true\n"
            "  aliases: []\n"
            "  rooms: []\n"
            "# Device management for application services (MSC4190); Synapse before\n"
            "# 1.141 needs it, later releases have it on for every service.\n"
            "io.element.msc4190: true\n",
            as_token, hs_token);
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "error: --as-registration-out %s: %s\n", path, strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    /* Nothing of the tokens stays behind in this process's memory. */
    memset(as_token, 0, sizeof(as_token));
    memset(hs_token, 0, sizeof(hs_token));
    return rc;
}

/* What a run needs, in words shared by every server family. */
static void print_needs(FILE *out) {
    fprintf(out,
            "# A run registers up to %d accounts (%d with a password, %d in the\n"
            "# application service's namespace), makes up to %d logins from one client\n"
            "# address within a minute or two (with one job all of them may be of one\n"
            "# account) and up to %d failed password attempts per account. A 429 that\n"
            "# asks for a wait over %d s stops the run (exit 2).\n",
            MX_RUN_REGISTRATIONS, MX_POOL_USERS, MX_POOL_AS_USERS, MX_RUN_LOGINS,
            MX_RUN_FAILED_PASSWORDS, MX_RATE_LIMIT_MAX_WAIT_MS / 1000);
}

static void print_synapse(FILE *out, const char *as_path) {
    fprintf(out,
            "# device-conformance %s: what a Synapse test server needs.\n"
            "# Paste into homeserver.yaml and restart Synapse. Verified against Synapse\n"
            "# 1.160.0 (the project's Synapse tier starts Synapse with this output).\n"
            "#\n",
            MXDEV_VERSION);
    print_needs(out);
    fprintf(
        out,
        "#\n"
        "# Registration: open, on a test server. Or keep it closed and give the suite\n"
        "# the shared secret (registration_shared_secret_path: FILE holding a random\n"
        "# secret, then --shared-secret-file FILE), or a registration token\n"
        "# (registration_requires_token: true, a token from the admin API\n"
        "# /_synapse/admin/v1/registration_tokens/new, then\n"
        "# --registration-token-file FILE).\n"
        "enable_registration: true\n"
        "enable_registration_without_verification: true\n"
        "# Rate limits: Synapse's defaults allow 5 logins per address and per\n"
        "# account, then one every ~330 s, and 3 registrations, then one every ~6 s.\n"
        "# failed_attempts stays low on purpose: the suite's ERR-RATELIMIT check\n"
        "# provokes a real 429 with it.\n"
        "rc_registration:\n"
        "  per_second: 10\n"
        "  burst_count: 100\n"
        "rc_login:\n"
        "  address:\n"
        "    per_second: 20\n"
        "    burst_count: 500\n"
        "  account:\n"
        "    per_second: 20\n"
        "    burst_count: 500\n"
        "  failed_attempts:\n"
        "    per_second: 1\n"
        "    burst_count: 20\n"
        "# Optional, for a throw-away server: cheaper password hashing makes runs\n"
        "# faster (each login and UIA step hashes a password).\n"
        "# bcrypt_rounds: 4\n"
        "# The application service (device management for its users, MSC4190).\n"
        "app_service_config_files:\n"
        "  - %s\n",
        as_path);
}

static void print_dendrite(FILE *out, const char *as_path) {
    fprintf(out,
            "# device-conformance %s: what a Dendrite test server needs.\n"
            "# Merge into dendrite.yaml and restart Dendrite. NOT VERIFIED by the\n"
            "# project's tests: the keys are those of Dendrite's documented sample\n"
            "# configuration (dendrite-sample.yaml); please report what differs.\n"
            "#\n",
            MXDEV_VERSION);
    print_needs(out);
    fprintf(out,
            "#\n"
            "# Registration: the shared secret (Dendrite offers Synapse's\n"
            "# /_synapse/admin/v1/register with it); give the suite the same secret\n"
            "# with --shared-secret-file FILE. Rate limiting: off on a test server\n"
            "# (its documented limit is per host: threshold slots, each freed after\n"
            "# cooloff_ms; appservice users are exempt).\n"
            "client_api:\n"
            "  registration_shared_secret: \"PUT-A-RANDOM-SECRET-HERE\"\n"
            "  rate_limiting:\n"
            "    enabled: false\n"
            "    threshold: 20\n"
            "    cooloff_ms: 500\n"
            "app_service_api:\n"
            "  config_files:\n"
            "    - %s\n"
            "# Optional, for a throw-away server: cheaper password hashing.\n"
            "# user_api:\n"
            "#   bcrypt_cost: 4\n",
            as_path);
}

static void print_conduit(FILE *out, const char *as_path) {
    fprintf(out,
            "# device-conformance %s: what a Conduit-family test server (Conduit,\n"
            "# conduwuit, continuwuity) needs. NOT VERIFIED by the project's tests: the\n"
            "# keys are those of continuwuity's documented example configuration\n"
            "# (conduwuit-example.toml) and Conduit's; please report what differs.\n"
            "#\n",
            MXDEV_VERSION);
    print_needs(out);
    fprintf(out,
            "# The documented configuration has no rate limits for logins or\n"
            "# registrations to raise.\n"
            "#\n"
            "# Registration with a token (the suite completes the\n"
            "# m.login.registration_token stage): put a random token here and give the\n"
            "# suite the same one with --registration-token-file FILE.\n"
            "[global]\n"
            "allow_registration = true\n"
            "registration_token = \"PUT-A-RANDOM-TOKEN-HERE\"\n"
            "# The application service: these servers take registrations in their\n"
            "# admin room, not from a file. Send there the contents of\n"
            "#   %s\n"
            "# in a code block after the command:\n"
            "#   continuwuity, conduwuit: !admin appservices register\n"
            "#   Conduit: @conduit:YOUR.SERVER.NAME: register-appservice\n",
            as_path);
}

int mx_print_server_config(const char *server, const char *as_out, const char *homeserver,
                           FILE *out) {
    enum { SYNAPSE, DENDRITE, CONDUIT } family;
    char resolved[PATH_MAX];
    const char *as_path = PLACEHOLDER_PATH;

    if (strcmp(server, "synapse") == 0)
        family = SYNAPSE;
    else if (strcmp(server, "dendrite") == 0)
        family = DENDRITE;
    else if (strcmp(server, "conduit") == 0 || strcmp(server, "conduwuit") == 0 ||
             strcmp(server, "continuwuity") == 0)
        family = CONDUIT;
    else {
        fprintf(stderr,
                "error: --print-server-config \"%s\": expected synapse, dendrite, "
                "conduit, conduwuit or continuwuity (see --help)\n",
                server);
        return EXIT_CONFIG;
    }
    if (as_out) {
        if (write_registration(as_out) < 0)
            return EXIT_CONFIG;
        as_path = realpath(as_out, resolved) ? resolved : as_out;
    }
    switch (family) {
        case SYNAPSE:
            print_synapse(out, as_path);
            break;
        case DENDRITE:
            print_dendrite(out, as_path);
            break;
        case CONDUIT:
            print_conduit(out, as_path);
            break;
    }
    fprintf(out,
            "#\n"
            "# %s\n"
            "# Then run the suite with the same registration file:\n"
            "#   device-conformance --homeserver %s --as-registration %s\n",
            as_out ? "The application-service registration (fresh random tokens) is in "
                     "that file."
                   : "Add --as-registration-out FILE to have the registration written "
                     "with fresh random tokens.",
            homeserver ? homeserver : "https://YOUR-TEST-SERVER", as_path);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "error: --print-server-config: cannot write the output: %s\n",
                strerror(errno));
        return EXIT_CONFIG;
    }
    return 0;
}
