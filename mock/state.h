/* The long-lived state of one mock server, shared by all requests. */
#ifndef MOCK_STATE_H
#define MOCK_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "deviations.h"

struct mock_config;
struct store;
struct uia;
struct mock_ratelimit;
struct mock_reqlog;

/* Nonces of the shared-secret registration (GET /_synapse/admin/v1/register):
 * single use, valid for a minute, at most this many outstanding (the oldest
 * is forgotten first). */
#define MOCK_ADMIN_NONCES 64
#define MOCK_ADMIN_NONCE_TTL_MS 60000
struct mock_admin_nonce {
    char value[33];     /* hex; "" when the slot is free */
    int64_t expires_ms; /* mock_now_ms() time */
};

struct mock_state {
    const struct mock_config *cfg;    /* borrowed */
    struct store *store;              /* owned when made by mock_state_setup */
    struct uia *uia;                  /* idem */
    struct mock_ratelimit *ratelimit; /* NULL: no rate limiting */
    struct mock_reqlog *reqlog;       /* borrowed; NULL: no request log */
    const char *registration_token; /* borrowed; NULL: registration uses m.login.dummy */
    unsigned long n_requests;       /* counted under the store lock */
    const char *shared_secret;      /* borrowed; NULL: no /_synapse/admin/v1/register */
    bool registration_disabled;     /* --no-registration: only appservices register */
    struct mock_admin_nonce admin_nonces[MOCK_ADMIN_NONCES]; /* under the store lock */
    struct mock_deviations dev; /* switched on from cfg->deviations; bookkeeping
                                   under the store lock */
};

/* Builds the store, UIA sessions, the deviations of cfg and (with
 * cfg->rate_limit) the rate limiter, and registers the sender user of every
 * application service. Returns 0, or -1 on out-of-memory (state is then
 * clean). */
int mock_state_setup(struct mock_state *state, const struct mock_config *cfg);
/* Frees what mock_state_setup made. */
void mock_state_teardown(struct mock_state *state);

#endif
