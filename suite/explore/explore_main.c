/* explore-run: the exploration alone, for tests and benchmarks.
 *
 * Takes the run's configuration from the same MXDEV_* variables the runner
 * exports (MXDEV_HOMESERVER, MXDEV_SPEC_VERSION, MXDEV_AS_AVAILABLE,
 * MXDEV_AS_TOKEN, MXDEV_AS_USER_PREFIX, MXDEV_SERVER_NAME, MXDEV_RUN_ID,
 * MXDEV_REGISTRATION_TOKEN, ...), runs mx_explore_run(), prints the human
 * section and writes the result JSON.
 *
 * Exit status: 0 no divergence, 1 a divergence, 2 usage error, 3 the
 * exploration could not run (server unreachable, registration refused).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_client.h"
#include "mx_env.h"
#include "mx_explore.h"

static void usage(FILE *f) {
    fputs(
        "usage: explore-run [--steps N] [--seed S] [--users N] [--no-appservice]\n"
        "                   [--strict] [--trace] [--json FILE] [--replay-args TEXT]\n"
        "                   [--shrink-replays N] [--shrink-ms MS] [--max-ms MS]\n"
        "\n"
        "Random exploration of a homeserver's device management against the\n"
        "suite's reference model. The server and the application service come\n"
        "from the MXDEV_* environment variables the runner exports\n"
        "(MXDEV_HOMESERVER, MXDEV_SPEC_VERSION, MXDEV_AS_AVAILABLE, MXDEV_AS_TOKEN,\n"
        "MXDEV_AS_USER_PREFIX, MXDEV_SERVER_NAME, MXDEV_RUN_ID, ...).\n"
        "\n"
        "  --steps N          operations to run (default 2000)\n"
        "  --seed S           PRNG seed (default 1); the same seed, the same operations\n"
        "  --users N          password users, 2 .. 4 (default 3)\n"
        "  --no-appservice    leave the application service out\n"
        "  --strict           judge SHOULD rules too\n"
        "  --trace            put every operation into the result (\"trace\")\n"
        "  --json FILE        write the result JSON there (default: stdout, after\n"
        "                     the human section)\n"
        "  --replay-args T    appended to the printed replay command\n"
        "  --shrink-replays N, --shrink-ms MS  bounds of the shrinking\n"
        "                     (default 300 replays, 60000 ms)\n"
        "  --max-ms MS        stop drawing steps after MS (default 600000)\n"
        "\n"
        "Exit status: 0 no divergence, 1 divergence, 2 usage error, 3 could not run.\n",
        f);
}

static int parse_num(const char *opt, const char *text, unsigned long long max,
                     unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v > max) {
        fprintf(stderr, "error: %s \"%s\": expected an integer from 0 to %llu\n", opt,
                text, max);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"steps", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"users", required_argument, NULL, 'u'},
        {"no-appservice", no_argument, NULL, 'A'},
        {"strict", no_argument, NULL, 't'},
        {"trace", no_argument, NULL, 'T'},
        {"json", required_argument, NULL, 'j'},
        {"replay-args", required_argument, NULL, 'r'},
        {"shrink-replays", required_argument, NULL, 'R'},
        {"shrink-ms", required_argument, NULL, 'M'},
        {"max-ms", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mx_explore_config cfg = {
        .steps = 2000, .seed = 1, .users = 3, .appservice = true};
    const char *json_path = NULL;
    unsigned long long v;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
            case 's':
                if (parse_num("--steps", optarg, 1000000, &v) < 0)
                    return 2;
                if (v == 0) {
                    fprintf(stderr, "error: --steps: expected 1 .. 1000000\n");
                    return 2;
                }
                cfg.steps = (long)v;
                break;
            case 'S':
                if (parse_num("--seed", optarg, ~0ULL, &v) < 0)
                    return 2;
                cfg.seed = v;
                break;
            case 'u':
                if (parse_num("--users", optarg, 4, &v) < 0 || v < 2) {
                    fprintf(stderr, "error: --users: expected 2 .. 4\n");
                    return 2;
                }
                cfg.users = (int)v;
                break;
            case 'A':
                cfg.appservice = false;
                break;
            case 't':
                cfg.strict = true;
                break;
            case 'T':
                cfg.trace = true;
                break;
            case 'j':
                json_path = optarg;
                break;
            case 'r':
                cfg.replay_args = optarg;
                break;
            case 'R':
                if (parse_num("--shrink-replays", optarg, 100000, &v) < 0)
                    return 2;
                cfg.shrink_replays = (long)v;
                break;
            case 'M':
                if (parse_num("--shrink-ms", optarg, 3600000, &v) < 0)
                    return 2;
                cfg.shrink_ms = (long)v;
                break;
            case 'X':
                if (parse_num("--max-ms", optarg, 86400000, &v) < 0)
                    return 2;
                cfg.max_ms = (long)v;
                break;
            case 'h':
                usage(stdout);
                return 0;
            default:
                fputs("see explore-run --help\n", stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return 2;
    }
    if (mx_env_problem()) {
        fprintf(stderr, "error: %s\n", mx_env_problem());
        return 2;
    }
    if (!mx_env()->homeserver) {
        fprintf(stderr, "error: MXDEV_HOMESERVER is not set\n");
        return 2;
    }
    if (mx_client_global_init() < 0) {
        fprintf(stderr, "error: cannot initialise libcurl\n");
        return 3;
    }
    mx_client_set_config(mx_env_client_config);

    json_t *result = NULL;
    char err[512];
    int status = 3;
    if (mx_explore_run(&cfg, &result, err, sizeof(err)) < 0) {
        fprintf(stderr, "error: %s\n", err);
        goto out;
    }
    mx_explore_print(result, stdout);
    if (json_path) {
        if (json_dump_file(result, json_path, JSON_INDENT(2)) < 0) {
            fprintf(stderr, "error: cannot write %s\n", json_path);
            goto out;
        }
    } else {
        json_dumpf(result, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    }
    status = json_is_object(json_object_get(result, "divergence")) ? 1 : 0;
out:
    json_decref(result);
    mx_arena_free();
    mx_client_global_cleanup();
    return status;
}
