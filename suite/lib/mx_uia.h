/* The auth objects of User-Interactive Authentication
 * (#user-interactive-authentication-api) that the harness and the
 * exploration send. Plain jansson: no criterion. */
#ifndef MX_UIA_H
#define MX_UIA_H

#include <jansson.h>

#include "mx_client.h"

/* {"type":"m.login.password","identifier":{"type":"m.id.user","user":...},
 * "password":...,"session":...}. New reference. password NULL is sent as "";
 * session may be NULL (then left out). */
json_t *mx_uia_password(const char *user_id, const char *password, const char *session);

/* The auth object for a registration stage that asks nothing of the user
 * but, for m.login.registration_token, the token: {"type": stage, "session":
 * the session of challenge r}, plus "token" for that stage. New reference. */
json_t *mx_uia_stage(const struct mx_resp *r, const char *stage,
                     const char *registration_token);

#endif
