/* Provisioning: the users and devices a test works with.
 *
 * Every function here belongs to a running test: on failure it fails the test
 * (fatal) with a message naming the request that went wrong, or skips it when
 * a precondition is missing on the server. Everything returned is owned by
 * the test's arena and freed by mx_test_fini(), which also deletes the
 * devices the test made and logs out its sessions.
 */
#ifndef MX_SESSION_H
#define MX_SESSION_H

#include <jansson.h>
#include <stdbool.h>

#include "mx_client.h" /* struct mx_user, struct mx_resp */

struct mx_variants; /* mx_variants.h */

/* TestSuite(group, .init = mx_test_init, .fini = mx_test_fini) in every
 * scenario file. init skips tests whose requirement does not apply at the
 * target version (from the catalogue), fini cleans up. */
void mx_test_init(void);
void mx_test_fini(void);

/* The run's pool: how many password accounts and application-service users
 * the checks of a run share at most (each registered once, by the first
 * check that needs it, and locked by the check using it). Enough for every
 * check of two parallel jobs, with room. */
#define MX_POOL_USERS 6
#define MX_POOL_AS_USERS 4

/* What a whole run (every check, spec 1.17) asks of a server at most, for
 * the advice when a rate limit stops it and for --print-server-config:
 * registrations (the pool), logins (one per device a check makes; with one
 * job all of them may be of one account), and failed password attempts on
 * one account (the checks that send a wrong password on purpose; the
 * ERR-RATELIMIT burst goes to a user ID no account has). tests/test_ratelimit_generous.sh
 * holds a run's counted costs against these. */
#define MX_RUN_REGISTRATIONS (MX_POOL_USERS + MX_POOL_AS_USERS)
#define MX_RUN_LOGINS 160
#define MX_RUN_FAILED_PASSWORDS 12

/* After the run (the runner): logs out the sessions still waiting for a
 * next check in report_dir (see "sessions handed from check to check" in
 * mx_session.c). Returns how many. */
int mx_session_end_run(const char *report_dir);

/* An account with a password and a logged-in device: one of the run's
 * pooled accounts (or a --user account), locked for this check, with no
 * devices but that one; a fresh registration when none is left. The device
 * is the session an earlier check handed on intact (unless
 * --fresh-sessions), else a new login. */
const struct mx_user *mx_user_new(void);
/* A user ID on the server that no account has (arena): for requests that
 * must fail, such as a burst of wrong-password logins, without locking out
 * an account the run uses. Learns the server name from a pooled user when
 * the probe found none. */
const char *mx_unused_user_id(void);
/* Logs the account in again: a new device (device_id and display name
 * optional). */
const struct mx_user *mx_login(const struct mx_user *account, const char *device_id,
                               const char *display_name);

/* The observer's on_rate_limit: a 429 asks for a wait the run cannot afford (why
 * says which bound: MX_RATE_LIMIT_MAX_WAIT_MS, the --deadline, the check's
 * budget). Inside a check it stops the run as a configuration error
 * (mx_record_abort_run(2, ...) with the limit hit, what a run needs and what
 * to change on the server), records the check itself as not run and ends
 * it. Elsewhere (the runner, a check's clean-up) it leaves the 429 to the
 * caller. */
void mx_rate_limit_stop(const char *method, const char *path, const struct mx_resp *r,
                        long wait_ms, const char *why);

/* Runner side: exports MXDEV_RUN_SECRET, a fresh random secret the test
 * processes derive the pooled accounts' passwords from. 0, or -1 when no
 * randomness was to be had (the run then has no pool). */
int mx_session_export_run_secret(void);

/* Skips the running test with the reason, recorded for the reports. */
_Noreturn void mx_skip(const char *reason);

/* Skips the test unless the server accepts the application service. */
void mx_require_appservice(void);
/* Skips the test unless the legacy (UIA) login API exists. */
void mx_require_legacy_login(void);
/* A fresh user in the application service's namespace, registered with
 * m.login.application_service and inhibit_login: no device, no token. Skips
 * when no application service is usable. */
const struct mx_user *mx_as_user_new(void);
/* The AS creates (or updates) device_id for the user with PUT /devices/{id};
 * anything but 200/201 blocks the running check by ASC-CREATE. Returns the
 * response. */
const struct mx_resp *mx_as_put_device(const struct mx_user *u, const char *device_id,
                                       const char *display_name);
/* A token for an AS user's device, through m.login.application_service
 * login; NULL (and the reason in *why) when the server gives none. */
const struct mx_user *mx_as_login(const struct mx_user *u, const char *device_id,
                                  const char **why);

/* The auth object for a password stage: {"type":"m.login.password",
 * "identifier":{"type":"m.id.user","user":...},"password":...,"session":...}
 * New reference. session may be NULL. */
json_t *mx_auth_password(const struct mx_user *who, const char *password,
                         const char *session);

/* Sends method path with body (borrowed; may be NULL) as u; when the answer
 * asks for authentication (a 401 that is not about the token), sends it again
 * with the password stage in that session. Returns the last answer; the
 * first status goes to *first_status when not NULL. */
const struct mx_resp *mx_send_uia(const struct mx_user *u, const char *method,
                                  const char *path, json_t *body, long *first_status);

/* Deletes device_id as user u with a completed UIA (or without one when the
 * server asks none). A precondition of the checks that use it: anything but
 * 200 blocks the running check by UIA-SUCCESS. */
const struct mx_resp *mx_delete_device_uia(const struct mx_user *u,
                                           const char *device_id);
/* The same through POST /delete_devices (blocked by BULK-DELETE); devices
 * is borrowed. */
const struct mx_resp *mx_delete_devices_uia(const struct mx_user *u, json_t *devices);

/* GET /devices as u (as the application service for a user without a
 * token); anything but 200 with a "devices" array blocks the
 * running check by LIST-OK. Borrowed. */
json_t *mx_list_devices(const struct mx_user *u);
/* Whether u has device_id, as the server shows it: GET /devices/{id} as u
 * (the application service for a user without a token) answers 200 with
 * that device_id, or 404; a refused token means no. Any other answer is
 * charged to the GET rule it breaks and the listing decides. */
bool mx_device_present(const struct mx_user *u, const char *device_id);
/* Whether u's GET /devices holds device_id (its display name in *name when
 * name is not NULL). A device that GET /devices/{id} shows but the list
 * leaves out is the listing's fault: the running check is blocked by
 * LIST-SELF (u's own device) or LIST-ALL. */
bool mx_list_holds(const struct mx_user *u, const char *device_id, const char **name);
/* Whether the list holds device_id; the display name of it in *name if found. */
bool mx_devices_contains(json_t *devices, const char *device_id, const char **name);

/* The request variants of (method, path) for the spec version under test
 * (mx_variants.h), with values (borrowed) for the fields the check fills
 * and the fields in skip left out. Without a request schema: one variant,
 * values itself. Owned by the test's arena. */
const struct mx_variants *mx_request_variants(const char *method, const char *path,
                                              const json_t *values,
                                              const char *const *skip);

/* Whether device_id is one this test made for u (login, registration, the
 * application service's PUT): 1 yes, 0 no, -1 unknown because u is a --user
 * account that may hold devices of its own. */
int mx_made_device(const struct mx_user *u, const char *device_id);

/* A unique string for this run and test ("mxdev" + run id + counter), for
 * localparts and device IDs. */
const char *mx_unique(const char *prefix);

/* HMAC-SHA1 of data under key as lower-case hex (41 bytes with the NUL),
 * through OpenSSL's libcrypto. Returns 0, or -1 when HMAC fails. */
int mx_hmac_sha1_hex(const char *key, const unsigned char *data, size_t n, char *hex);
/* Synapse's shared-secret registration MAC over nonce, user, password and
 * "notadmin" (NUL-separated). Returns 0 or -1. */
int mx_shared_secret_mac(const char *secret, const char *nonce, const char *user,
                         const char *password, char hex[41]);

#endif
