/* UIA auth objects (mx_uia.h). */
#include "mx_uia.h"

#include <string.h>

json_t *mx_uia_password(const char *user_id, const char *password, const char *session) {
    return json_pack("{s:s, s:{s:s, s:s}, s:s, s:s*}", "type", "m.login.password",
                     "identifier", "type", "m.id.user", "user", user_id, "password",
                     password ? password : "", "session", session);
}

json_t *mx_uia_stage(const struct mx_resp *r, const char *stage,
                     const char *registration_token) {
    json_t *auth = json_pack("{s:s, s:s*}", "type", stage, "session",
                             json_string_value(json_object_get(r->json, "session")));

    if (auth && strcmp(stage, "m.login.registration_token") == 0)
        json_object_set_new(auth, "token", json_string(registration_token));
    return auth;
}
