/* What the scenario files share: the usual arrangement of a check, and
 * non-fatal expectations about what the server shows. The expectations send
 * their own requests as the user given and report through mx_expect_that, so
 * the running check goes on and can still clean up; their `after` and
 * `because` phrases finish the failure message. */
#ifndef MX_SCENARIO_H
#define MX_SCENARIO_H

#include <jansson.h>

#include "mx_client.h"
#include "mx_session.h"

/* A fresh password user, logged in once (*owner), and a second device of
 * that user, returned: what most deletion checks start from. Skips the check
 * when the server has no password login (mx_require_legacy_login). */
const struct mx_user *mx_user_and_device(const struct mx_user **owner);

/* The same user with two more devices (*d1, *d2), what the bulk deletion
 * checks start from. Returns their IDs as the array POST /delete_devices
 * takes (borrowed: the arena keeps it). */
json_t *mx_user_and_two_devices(const struct mx_user **owner, const struct mx_user **d1,
                                const struct mx_user **d2);

/* A fresh user of the application service's namespace with one device the
 * application service created (mx_as_put_device: device_id, display name
 * name). Skips the check when no application service is usable. */
const struct mx_user *mx_as_user_with_device(const char *device_id, const char *name);

/* A request by the application service acting as u (identity assertion,
 * ?user_id=), and as u's device device_id (?device_id=) when that is not
 * NULL. body borrowed, may be NULL. */
const struct mx_resp *mx_as_send(const char *method, const char *path,
                                 const struct mx_user *u, const char *device_id,
                                 json_t *body);

/* DELETE /devices/{device_id} by the application service acting as u, with
 * an empty JSON body: no UIA. */
const struct mx_resp *mx_as_delete_device(const struct mx_user *u, const char *device_id);

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
