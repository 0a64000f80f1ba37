/* Random exploration against a reference model.
 *
 * Runs random sequences of device-management operations over a few fresh
 * users and the application service, checks every answer and the state after
 * each mutating step against a model of what a correct server does, and on
 * the first divergence shrinks the sequence to a minimal one that still
 * diverges by the same requirement.
 *
 * Runs outside criterion, in the runner's process: it reads the run's
 * configuration from mx_env(), sends through mx_send() with recording off,
 * and frees the client's arena as it goes. It provisions its own users
 * (POST /register, POST /login), never through mx_session.c.
 */
#ifndef MX_EXPLORE_H
#define MX_EXPLORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mx_explore_config {
    long steps;              /* operations to run, 1 .. 1000000 */
    unsigned long long seed; /* the same seed gives the same operations */
    int users;               /* password users, 2 .. 4 (0: 3) */
    bool appservice;         /* use the application service when mx_env() says it is
                                usable and the spec version is 1.17 or later */
    bool strict;             /* judge SHOULD rules too (else only MUST) */
    bool trace;              /* the result gets "trace": one line per operation */
    long shrink_replays;     /* at most this many replays while shrinking (0: 300) */
    long shrink_ms;          /* and at most this long (0: 60000) */
    long max_ms;             /* the steps stop after this long (0: 600000); the
                                result says "stopped": "time limit" then */
    const char *replay_args; /* appended to the replay command line; may be NULL */
    /* Requirement IDs known to fail on this server (--expect-fail): a break
     * of one of them is no divergence (NULL-terminated; may be NULL). */
    const char *const *known;
};

/* Runs the exploration. On return 0, *result is a new reference:
 *   {"seed", "steps_run", "stopped"?, "spec_version", "users", "appservice", "requests",
 *    "duration_ms", "divergence": null | {"requirement", "step", "expected",
 *    "observed", "minimal": [{"n", "request", "expected", "observed"}],
 *    "minimal_steps", "replays", "replay"}, "trace"?: [...]}
 * (a divergence is charged to a catalogue ID that applies at the target
 * version). Returns -1 with a one-line reason in err when the exploration
 * cannot run (server unreachable, no users can be registered, bad config);
 * *result is NULL then. Every secret it handles is registered with
 * mx_redact_secret() before any text is made from it. */
int mx_explore_run(const struct mx_explore_config *cfg, json_t **result, char *err,
                   size_t err_len);

/* The human section of a result: the outcome and, for a divergence, the
 * minimal sequence as numbered HTTP steps with expected and observed answers,
 * and the replay command. */
void mx_explore_print(const json_t *result, FILE *out);

#endif
