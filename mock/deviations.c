/* The deviation table and the bounded bookkeeping some deviations need. */
#include "deviations.h"

#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "store.h"

static const struct mock_deviation_info table[DEV_COUNT] = {
    [DEV_TEXT_PLAIN] = {"text-plain", "ERR-JSON",
                        "every response says Content-Type: text/plain (body unchanged)"},
    [DEV_ERROR_WITHOUT_ERROR_FIELD] = {"error-without-error-field", "ERR-SHAPE",
                                       "error bodies carry errcode but no error string"},
    [DEV_LAST_SEEN_TS_STRING] = {"last-seen-ts-string", "ERR-SCHEMA,LIST-OK",
                                 "devices report last_seen_ts as a string"},
    [DEV_UNRECOGNIZED_NOT_FOUND] =
        {"unrecognized-not-found", "ERR-UNRECOGNIZED",
         "unknown paths and wrong methods give 404 M_NOT_FOUND"},
    [DEV_NO_CORS] = {"no-cors", "ERR-CORS",
                     "no Access-Control-Allow-* headers on any response"},
    [DEV_RATE_LIMIT_WRONG_ERRCODE] =
        {"rate-limit-wrong-errcode", "ERR-RATELIMIT",
         "429 answers say M_FORBIDDEN; without --rate-limit every 10th login/register "
         "request of a client gets such a 429"},
    [DEV_MISSING_TOKEN_UNKNOWN] = {"missing-token-unknown", "AUTH-MISSING",
                                   "a request without token gets 401 M_UNKNOWN_TOKEN"},
    [DEV_UNKNOWN_TOKEN_FORBIDDEN] = {"unknown-token-forbidden", "AUTH-UNKNOWN",
                                     "an unknown token gets 403 M_FORBIDDEN"},
    [DEV_HEADER_TOKEN_IGNORED] =
        {"header-token-ignored", "AUTH-HEADER",
         "the device endpoints ignore Authorization: Bearer (query token only)"},
    [DEV_QUERY_TOKEN_IGNORED] = {"query-token-ignored", "AUTH-QUERY",
                                 "?access_token= is ignored at every spec version"},
    [DEV_QUERY_TOKEN_ACCEPTED] =
        {"query-token-accepted", "AUTH-QUERY-REMOVED",
         "?access_token= still accepted at 1.20 (visible with --spec-version 1.20)"},
    [DEV_LIST_IP_NUMBER] = {"list-ip-number", "LIST-OK,ERR-SCHEMA",
                            "GET /devices entries give last_seen_ip as a number"},
    [DEV_LIST_OMITS_SELF] = {"list-omits-self", "LIST-SELF",
                             "GET /devices leaves out the calling device"},
    [DEV_LIST_OMITS_NEWEST] =
        {"list-omits-newest", "LIST-ALL",
         "GET /devices leaves out the user's newest device unless it is the caller"},
    [DEV_LIST_LEAKS_OTHER_USER] =
        {"list-leaks-other-user", "LIST-ISOLATED",
         "GET /devices also lists the devices of recently active other users"},
    [DEV_LIST_PHANTOM_DEVICE] =
        {"list-phantom-device", "LIST-ISOLATED",
         "GET /devices also lists a device of another user that no test made "
         "(PHANTOMDEV, of the mock's own @mxdev-phantom)"},
    [DEV_LOGIN_IGNORES_INITIAL_NAME] =
        {"login-ignores-initial-name", "LIST-NAME",
         "login and register ignore initial_device_display_name"},
    [DEV_GET_ID_LOWERCASED] = {"get-id-lowercased", "GET-OK",
                               "GET /devices/{id} answers with device_id lower-cased"},
    [DEV_GET_UNKNOWN_403] = {"get-unknown-403", "GET-UNKNOWN,GET-OTHER-USER",
                             "GET /devices/{id} of a device the user lacks gives 403"},
    [DEV_GET_UNKNOWN_ERRCODE] = {"get-unknown-errcode", "GET-UNKNOWN-ERRCODE",
                                 "GET /devices/{id} 404 carries M_UNKNOWN"},
    [DEV_GET_OTHER_USER_LEAK] =
        {"get-other-user-leak", "GET-OTHER-USER",
         "GET /devices/{id} returns a recently active other user's device"},
    [DEV_GET_RAW_PATH_ID] =
        {"get-raw-path-id", "GET-ENCODED",
         "GET /devices/{id} looks the ID up without percent-decoding it"},
    [DEV_PUT_NAME_NOT_SAVED] =
        {"put-name-not-saved", "PUT-UPDATE,PUT-UNICODE",
         "a user's PUT /devices/{id} answers 200 but keeps the name"},
    [DEV_PUT_EMPTY_CLEARS_NAME] = {"put-empty-clears-name", "PUT-EMPTY",
                                   "PUT /devices/{id} without display_name clears it"},
    [DEV_PUT_ASCII_ONLY] = {"put-ascii-only", "PUT-UNICODE",
                            "PUT /devices/{id} stores non-ASCII bytes as '?'"},
    [DEV_PUT_UNKNOWN_CREATES] =
        {"put-unknown-creates", "PUT-UNKNOWN,ASC-USER-CANNOT",
         "a user's PUT on an unknown ID answers 404 but creates the device"},
    [DEV_PUT_UNKNOWN_FORBIDDEN] = {"put-unknown-forbidden", "PUT-UNKNOWN-ERRCODE",
                                   "a user's PUT on an unknown ID gives 404 M_FORBIDDEN"},
    [DEV_PUT_UNKNOWN_NO_NAME_OK] =
        {"put-unknown-no-name-ok", "PUT-UNKNOWN,ASC-USER-CANNOT",
         "a user's PUT without display_name (e.g. {}) on an unknown ID answers 200 as if "
         "the device existed"},
    [DEV_PUT_OTHER_USER_RENAMES] =
        {"put-other-user-renames", "PUT-OTHER-USER",
         "PUT on a recently active other user's device ID renames their device"},
    [DEV_NOT_JSON_BAD_JSON] = {"not-json-bad-json", "PUT-NOT-JSON",
                               "a body that is not JSON gives 400 M_BAD_JSON"},
    [DEV_PUT_BAD_TYPE_IGNORED] = {"put-bad-type-ignored", "PUT-BAD-TYPE",
                                  "a non-string display_name is ignored with 200"},
    [DEV_AS_CREATE_200] = {"as-create-200", "ASC-CREATE",
                           "device creation by the AS answers 200 instead of 201"},
    [DEV_AS_CREATE_OWN_ID] = {"as-create-own-id", "ASC-EXACT-ID",
                              "device creation by the AS makes a device with a new ID"},
    [DEV_AS_CREATE_DROPS_NAME] = {"as-create-drops-name", "ASC-VISIBLE",
                                  "device creation by the AS drops the display name"},
    [DEV_AS_UPDATE_201] = {"as-update-201", "ASC-UPDATE",
                           "an AS PUT on an existing device answers 201"},
    [DEV_USER_CAN_CREATE] = {"user-can-create", "ASC-USER-CANNOT,PUT-UNKNOWN",
                             "a user's PUT on an unknown ID creates it with 201"},
    [DEV_AS_ANY_USER] = {"as-any-user", "ASC-OUTSIDE",
                         "the AS may assert any user ID, in its namespace or not"},
    [DEV_WHOAMI_NO_DEVICE] = {"whoami-no-device", "ASC-MASQUERADE",
                              "whoami omits the device_id the AS asserted"},
    [DEV_UNKNOWN_DEVICE_IGNORED] =
        {"unknown-device-ignored", "ASC-UNKNOWN-DEVICE,ASD-GONE",
         "an asserted device_id the user lacks is ignored (no 400 M_UNKNOWN_DEVICE)"},
    [DEV_AS_DELETED_DEVICE_ASSERTABLE] =
        {"as-deleted-device-assertable", "ASD-GONE",
         "a device deleted by the AS can still be asserted with ?device_id="},
    [DEV_AS_DELETE_NEEDS_UIA] =
        {"as-delete-needs-uia", "ASD-DELETE,ASD-BULK",
         "the AS must complete UIA to delete devices (as in 1.16)"},
    [DEV_AS_BULK_NEEDS_UIA] = {"as-bulk-needs-uia", "ASD-BULK",
                               "the AS must complete UIA for POST /delete_devices"},
    [DEV_NAMESPACE_USER_NO_UIA] =
        {"namespace-user-no-uia", "ASD-USER-STILL-UIA",
         "a namespace user's own token deletes devices without UIA"},
    [DEV_UIA_NO_FLOWS] =
        {"uia-no-flows", "UIA-CHALLENGE",
         "the UIA 401 of a device deletion carries errcode/error but no flows"},
    [DEV_UIA_CHALLENGE_DELETES] =
        {"uia-challenge-deletes", "UIA-NOTHING-DONE",
         "the first delete without auth deletes, then answers 401"},
    [DEV_UIA_PASSWORD_TWO_STAGE] = {"uia-password-two-stage", "UIA-PASSWORD-FLOW",
                                    "the only flow offered is [m.login.password, "
                                    "m.login.terms] (password suffices)"},
    [DEV_UIA_ACCEPT_WRONG_PASSWORD] = {"uia-accept-wrong-password", "UIA-WRONG-PASSWORD",
                                       "UIA accepts any password"},
    [DEV_UIA_ANY_USER] = {"uia-any-user", "UIA-OTHER-USER",
                          "UIA accepts any user's valid credentials"},
    [DEV_UIA_ACCEPT_DUMMY] = {"uia-accept-dummy", "UIA-NOT-OFFERED",
                              "device deletion accepts the m.login.dummy stage"},
    [DEV_UIA_SUCCESS_KEEPS_DEVICE] =
        {"uia-success-keeps-device", "UIA-SUCCESS",
         "DELETE /devices/{id} with UIA done answers 200 but keeps the device"},
    [DEV_UIA_NEW_SESSION] = {"uia-new-session", "UIA-SESSION-ECHO",
                             "every UIA 401 names a new session"},
    [DEV_UIA_SESSION_UNBOUND] = {"uia-session-unbound", "UIA-SESSION-BOUND",
                                 "a UIA session completes any operation of its user"},
    [DEV_DELETE_AGAIN_404] = {"delete-again-404", "DEL-IDEMPOTENT",
                              "deleting an already deleted device gives 404"},
    [DEV_DELETE_UNKNOWN_404] = {"delete-unknown-404", "DEL-UNKNOWN",
                                "deleting a never-existing device gives 404"},
    [DEV_DELETE_OTHER_USER] =
        {"delete-other-user", "DEL-OTHER-USER",
         "DELETE /devices/{id} deletes a recently active other user's device"},
    [DEV_BULK_DELETE_FIRST_ONLY] = {"bulk-delete-first-only", "BULK-DELETE",
                                    "POST /delete_devices deletes only the first ID"},
    [DEV_BULK_AGAIN_404] =
        {"bulk-again-404", "BULK-IDEMPOTENT",
         "POST /delete_devices gives 404 when no listed device exists"},
    [DEV_BULK_MIXED_400] =
        {"bulk-mixed-400", "BULK-MIXED",
         "POST /delete_devices with existing and missing IDs gives 400, deletes none"},
    [DEV_BULK_DELETES_OTHER_USER] =
        {"bulk-deletes-other-user", "BULK-OTHER-USER",
         "POST /delete_devices deletes listed devices of recently active other users"},
    [DEV_BULK_MISSING_OK] = {"bulk-missing-ok", "BULK-MISSING",
                             "POST /delete_devices without devices answers 200"},
    [DEV_DELETED_TOKEN_SURVIVES] =
        {"deleted-token-survives", "TOK-DELETED",
         "a device deleted by another device with DELETE /devices/{id} keeps a "
         "working token"},
    [DEV_DELETED_TOKEN_SOFT_LOGOUT] =
        {"deleted-token-soft-logout", "TOK-NO-SOFT",
         "the token of a deleted device gets 401 with soft_logout true"},
    [DEV_DELETE_REVOKES_OTHER_TOKENS] = {"delete-revokes-other-tokens", "TOK-OTHERS-KEEP",
                                         "deleting a device revokes the tokens of the "
                                         "user's other devices but the caller's"},
    [DEV_SELF_DELETE_KEEPS_TOKEN] =
        {"self-delete-keeps-token", "TOK-SELF",
         "a device that deletes itself keeps a working token"},
    [DEV_BULK_DELETE_KEEPS_TOKENS] =
        {"bulk-delete-keeps-tokens", "TOK-BULK",
         "devices deleted by POST /delete_devices keep working tokens"},
    [DEV_AS_DELETE_KEEPS_TOKENS] = {"as-delete-keeps-tokens", "TOK-AS-DELETE",
                                    "devices deleted by the AS keep working tokens"},
    [DEV_LOGOUT_KEEPS_DEVICE] = {"logout-keeps-device", "TOK-LOGOUT",
                                 "POST /logout revokes the token but keeps the device"},
};

static bool enabled[DEV_COUNT];

bool mock_deviates(enum mock_deviation d) {
    return d < DEV_COUNT && enabled[d];
}

int mock_deviation_enable(const char *name) {
    for (int i = 0; i < DEV_COUNT; i++) {
        if (table[i].name != NULL && strcmp(table[i].name, name) == 0) {
            enabled[i] = true;
            return 0;
        }
    }
    return -1;
}

const struct mock_deviation_info *mock_deviation_info(enum mock_deviation d) {
    return d < DEV_COUNT ? &table[d] : NULL;
}

void mock_deviations_print(FILE *out) {
    for (int i = 0; i < DEV_COUNT; i++)
        fprintf(out, "%s\t%s\t%s\n", table[i].name, table[i].requirements,
                table[i].description);
}

/* ---- bookkeeping: three small rings of owned strings ---- */

#define RING_SIZE 64

struct ring_entry {
    char *a, *b, *c;
    bool flag;
};

struct ring {
    struct ring_entry e[RING_SIZE];
    size_t next;
};

static struct ring recent_users, deleted_devices, dead_tokens;

static void entry_clean(struct ring_entry *e) {
    free(e->a);
    free(e->b);
    free(e->c);
    memset(e, 0, sizeof *e);
}

static void ring_clean(struct ring *r) {
    for (size_t i = 0; i < RING_SIZE; i++)
        entry_clean(&r->e[i]);
    r->next = 0;
}

/* Copies the strings into the next slot; on OOM the slot stays empty (the
 * deviation then simply does not trigger). */
static void ring_put(struct ring *r, const char *a, const char *b, const char *c,
                     bool flag) {
    struct ring_entry *e = &r->e[r->next];
    r->next = (r->next + 1) % RING_SIZE;
    entry_clean(e);
    e->a = a != NULL ? strdup(a) : NULL;
    e->b = b != NULL ? strdup(b) : NULL;
    e->c = c != NULL ? strdup(c) : NULL;
    e->flag = flag;
    if ((a != NULL && e->a == NULL) || (b != NULL && e->b == NULL) ||
        (c != NULL && e->c == NULL))
        entry_clean(e);
}

void mock_deviations_reset(void) {
    memset(enabled, 0, sizeof enabled);
    ring_clean(&recent_users);
    ring_clean(&deleted_devices);
    ring_clean(&dead_tokens);
}

bool mock_dev_tracks_users(void) {
    return enabled[DEV_LIST_LEAKS_OTHER_USER] || enabled[DEV_GET_OTHER_USER_LEAK] ||
           enabled[DEV_PUT_OTHER_USER_RENAMES] || enabled[DEV_DELETE_OTHER_USER] ||
           enabled[DEV_BULK_DELETES_OTHER_USER];
}

void mock_dev_note_user(const char *user_id) {
    for (size_t i = 0; i < RING_SIZE; i++) {
        if (recent_users.e[i].a != NULL && strcmp(recent_users.e[i].a, user_id) == 0)
            return;
    }
    ring_put(&recent_users, user_id, NULL, NULL, false);
}

const char *mock_dev_other_owner(struct store *st, const char *user_id,
                                 const char *device_id) {
    for (size_t i = 0; i < RING_SIZE; i++) {
        const char *other = recent_users.e[i].a;
        if (other != NULL && strcmp(other, user_id) != 0 &&
            store_device_get(st, other, device_id) != NULL)
            return other;
    }
    return NULL;
}

void mock_dev_foreach_other_user(const char *user_id,
                                 void (*fn)(const char *other, void *arg), void *arg) {
    for (size_t i = 0; i < RING_SIZE; i++) {
        const char *other = recent_users.e[i].a;
        if (other != NULL && strcmp(other, user_id) != 0)
            fn(other, arg);
    }
}

void mock_dev_note_deleted(const char *user_id, const char *device_id) {
    if (!mock_dev_was_deleted(user_id, device_id))
        ring_put(&deleted_devices, user_id, device_id, NULL, false);
}

bool mock_dev_was_deleted(const char *user_id, const char *device_id) {
    for (size_t i = 0; i < RING_SIZE; i++) {
        const struct ring_entry *e = &deleted_devices.e[i];
        if (e->a != NULL && strcmp(e->a, user_id) == 0 && strcmp(e->b, device_id) == 0)
            return true;
    }
    return false;
}

void mock_dev_note_dead_token(const char *token, const char *user_id,
                              const char *device_id, bool accepted) {
    ring_put(&dead_tokens, token, user_id, device_id, accepted);
}

int mock_dev_dead_token(const char *token, const char **user_id, const char **device_id,
                        bool *accepted) {
    int found = 0;
    for (size_t i = 0; i < RING_SIZE; i++) {
        const struct ring_entry *e = &dead_tokens.e[i];
        if (e->a != NULL && mock_ct_equal(e->a, token)) {
            *user_id = e->b;
            *device_id = e->c;
            *accepted = e->flag;
            found = 1;
        }
    }
    return found;
}
