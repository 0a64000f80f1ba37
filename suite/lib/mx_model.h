/* A reference model of what the server should hold, per check.
 *
 * Every response a check receives updates the model the way a correct
 * server's state changes: registration and login add a device and a token,
 * a 200/201 PUT sets a name or (for the application service) adds a device,
 * a 200 deletion removes devices and kills their tokens, a logout removes
 * the caller's device. Each change remembers the step that made it and the
 * rule that step stands for. At the end of the check, what the server shows
 * (GET /devices of every user the check touched, whoami for every token) is
 * compared with the model exactly: a device the user never had, a device
 * that should be gone, a device missing, a name not as set, a dead token
 * alive or a live one dead. Each difference is charged to the rule it
 * breaks (mx_record_crosscut), with the step that caused it.
 */
#ifndef MX_MODEL_H
#define MX_MODEL_H

#include <stdbool.h>

#include "mx_client.h"

/* Forgets the previous check's model (mx_test_init). */
void mx_model_reset(void);
/* Updates the model from one exchange (the client's response hook). */
void mx_model_on_response(const struct mx_req *req, const struct mx_resp *r);
/* device_id of user_id is there from before the check (a leftover the run's
 * pool could not remove): neither expected nor a stranger. */
void mx_model_note_background(const char *user_id, const char *device_id);
/* A session handed over from an earlier check (its device named name): in
 * the model as if this check had logged it in. */
void mx_model_note_session(const char *user_id, const char *device_id, const char *token,
                           const char *name);
/* Whether the model holds device_id of user_id, named name, with token
 * alive and never used to pass user-interactive authentication: what the
 * server must still show for the session to be handed on. */
bool mx_model_session_intact(const char *user_id, const char *device_id,
                             const char *token, const char *name);
/* user_id is a --user account: it may hold devices the model never saw. */
void mx_model_mark_preexisting(const char *user_id);
/* Compares the server with the model and records the differences; sends its
 * own requests (call with recording off). mx_test_fini, before clean-up. */
void mx_model_check(void);

#endif
