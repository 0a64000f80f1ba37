/* Setting up and tearing down the server's long-lived state. */
#include "state.h"

#include <string.h>

#include "config.h"
#include "ratelimit.h"
#include "store.h"
#include "uia.h"

int mock_state_setup(struct mock_state *state, const struct mock_config *cfg) {
    memset(state, 0, sizeof *state);
    state->cfg = cfg;
    mock_deviations_init(&state->dev, cfg->deviations);
    state->store = store_new();
    state->uia = uia_new();
    if (state->store == NULL || state->uia == NULL)
        goto fail;
    if (cfg->rate_limit) {
        unsigned per_min = cfg->rate_limit_per_min;
        state->ratelimit =
            mock_ratelimit_new(per_min > 0 ? per_min : MOCK_RATE_LIMIT_DEFAULT_PER_MIN);
        if (state->ratelimit == NULL)
            goto fail;
    }
    /* An application service may always act as its sender. */
    for (size_t i = 0; i < cfg->n_appservices; i++) {
        if (store_user_create(state->store, cfg->appservices[i].sender_user_id, NULL) ==
            -2)
            goto fail;
    }
    return 0;
fail:
    mock_state_teardown(state);
    return -1;
}

void mock_state_teardown(struct mock_state *state) {
    store_free(state->store);
    uia_free(state->uia);
    mock_ratelimit_free(state->ratelimit);
    mock_deviations_clean(&state->dev);
    state->store = NULL;
    state->uia = NULL;
    state->ratelimit = NULL;
}
