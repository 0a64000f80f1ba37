/* Non-fatal expectations about what the server shows, shared by the
 * scenarios. Each sends its own requests as the user given and reports
 * through mx_expect_that, so the running check goes on and can still clean
 * up. The `after` and `because` phrases finish the failure message. */
#ifndef MX_EXPECT_H
#define MX_EXPECT_H

#include <jansson.h>

#include "mx_client.h"
#include "mx_session.h"

/* u's device device_id is gone: GET /devices/{id} no longer shows it and
 * GET /devices does not list it. after names the request that deleted it
 * ("the deletion"). */
void mx_expect_device_gone(const struct mx_user *u, const char *device_id,
                           const char *after);

/* owner's device device_id is still there (GET /devices/{id}). */
void mx_expect_device_kept(const struct mx_user *owner, const char *device_id,
                           const char *because);

/* dev's token still works: GET /account/whoami with it answers 200. Returns
 * that answer (borrowed), or NULL when it was not 200. */
const struct mx_resp *mx_expect_token_works(const struct mx_user *dev,
                                            const char *because);

/* dev's token still works and whoami still names dev's device. */
void mx_expect_token_alive(const struct mx_user *dev, const char *because);

/* The body of r has the string member key equal to expected. context, when
 * not NULL, starts the failure message. */
void mx_expect_member(const struct mx_resp *r, const char *key, const char *expected,
                      const char *context);

#endif
