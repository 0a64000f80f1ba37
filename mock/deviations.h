/* Named deviations: each bends exactly one rule of the requirement catalogue
 * (fixtures/requirements.tsv) in a way a black-box client can see, so that
 * the conformance suite can be shown to catch it. Each one is a small
 * `if (mock_deviates(DEV_X))` inside the handler it bends.
 *
 * The set is chosen at start-up (--deviate NAME) and read-only while the
 * server runs. The bookkeeping some deviations need (recently seen users,
 * deleted devices, tokens of deleted devices) is kept here, bounded, and is
 * only touched with the store lock held. */
#ifndef MOCK_DEVIATIONS_H
#define MOCK_DEVIATIONS_H

#include <stdbool.h>
#include <stdio.h>

struct store;

enum mock_deviation {
    DEV_TEXT_PLAIN,
    DEV_ERROR_WITHOUT_ERROR_FIELD,
    DEV_LAST_SEEN_TS_STRING,
    DEV_UNRECOGNIZED_NOT_FOUND,
    DEV_NO_CORS,
    DEV_RATE_LIMIT_WRONG_ERRCODE,
    DEV_MISSING_TOKEN_UNKNOWN,
    DEV_UNKNOWN_TOKEN_FORBIDDEN,
    DEV_HEADER_TOKEN_IGNORED,
    DEV_QUERY_TOKEN_IGNORED,
    DEV_QUERY_TOKEN_ACCEPTED,
    DEV_LIST_IP_NUMBER,
    DEV_LIST_OMITS_SELF,
    DEV_LIST_OMITS_NEWEST,
    DEV_LIST_LEAKS_OTHER_USER,
    DEV_LIST_PHANTOM_DEVICE,
    DEV_LOGIN_IGNORES_INITIAL_NAME,
    DEV_GET_ID_LOWERCASED,
    DEV_GET_UNKNOWN_403,
    DEV_GET_UNKNOWN_ERRCODE,
    DEV_GET_OTHER_USER_LEAK,
    DEV_GET_RAW_PATH_ID,
    DEV_PUT_NAME_NOT_SAVED,
    DEV_PUT_EMPTY_CLEARS_NAME,
    DEV_PUT_ASCII_ONLY,
    DEV_PUT_UNKNOWN_CREATES,
    DEV_PUT_UNKNOWN_FORBIDDEN,
    DEV_PUT_UNKNOWN_NO_NAME_OK,
    DEV_PUT_OTHER_USER_RENAMES,
    DEV_NOT_JSON_BAD_JSON,
    DEV_PUT_BAD_TYPE_IGNORED,
    DEV_AS_CREATE_200,
    DEV_AS_CREATE_OWN_ID,
    DEV_AS_CREATE_DROPS_NAME,
    DEV_AS_UPDATE_201,
    DEV_USER_CAN_CREATE,
    DEV_AS_ANY_USER,
    DEV_WHOAMI_NO_DEVICE,
    DEV_UNKNOWN_DEVICE_IGNORED,
    DEV_AS_DELETED_DEVICE_ASSERTABLE,
    DEV_AS_DELETE_NEEDS_UIA,
    DEV_AS_BULK_NEEDS_UIA,
    DEV_NAMESPACE_USER_NO_UIA,
    DEV_UIA_NO_FLOWS,
    DEV_UIA_CHALLENGE_DELETES,
    DEV_UIA_PASSWORD_TWO_STAGE,
    DEV_UIA_ACCEPT_WRONG_PASSWORD,
    DEV_UIA_ANY_USER,
    DEV_UIA_ACCEPT_DUMMY,
    DEV_UIA_SUCCESS_KEEPS_DEVICE,
    DEV_UIA_NEW_SESSION,
    DEV_UIA_SESSION_UNBOUND,
    DEV_DELETE_AGAIN_404,
    DEV_DELETE_UNKNOWN_404,
    DEV_DELETE_OTHER_USER,
    DEV_BULK_DELETE_FIRST_ONLY,
    DEV_BULK_AGAIN_404,
    DEV_BULK_MIXED_400,
    DEV_BULK_DELETES_OTHER_USER,
    DEV_BULK_MISSING_OK,
    DEV_DELETED_TOKEN_SURVIVES,
    DEV_DELETED_TOKEN_SOFT_LOGOUT,
    DEV_DELETE_REVOKES_OTHER_TOKENS,
    DEV_SELF_DELETE_KEEPS_TOKEN,
    DEV_BULK_DELETE_KEEPS_TOKENS,
    DEV_AS_DELETE_KEEPS_TOKENS,
    DEV_LOGOUT_KEEPS_DEVICE,
    DEV_COUNT
};

struct mock_deviation_info {
    const char *name;         /* the --deviate NAME */
    const char *requirements; /* comma-separated requirement IDs it breaks */
    const char *description;
};

/* Whether deviation d is switched on. */
bool mock_deviates(enum mock_deviation d);
/* Switches the named deviation on; returns 0, or -1 when the name is unknown. */
int mock_deviation_enable(const char *name);
/* Switches every deviation off and frees the bookkeeping. */
void mock_deviations_reset(void);
/* The table row of d (static). */
const struct mock_deviation_info *mock_deviation_info(enum mock_deviation d);
/* Prints NAME<TAB>REQ-IDS<TAB>description, one line per deviation. */
void mock_deviations_print(FILE *out);

/* ---- bookkeeping, all under the store lock ---- */

/* Whether any switched-on deviation needs the recently active users. */
bool mock_dev_tracks_users(void);
/* Remembers user_id as recently active (for the deviations that leak into
 * or act on another user's devices). */
void mock_dev_note_user(const char *user_id);
/* A recently active user other than user_id who has device_id (borrowed),
 * or NULL. */
const char *mock_dev_other_owner(struct store *st, const char *user_id,
                                 const char *device_id);
/* Calls fn for each recently active user other than user_id. */
void mock_dev_foreach_other_user(const char *user_id,
                                 void (*fn)(const char *other, void *arg), void *arg);

/* Remembers that (user_id, device_id) was deleted. */
void mock_dev_note_deleted(const char *user_id, const char *device_id);
bool mock_dev_was_deleted(const char *user_id, const char *device_id);

/* Remembers the token of a deleted device; accepted says whether the token
 * is still to be honoured (a surviving token) or only known as deleted. */
void mock_dev_note_dead_token(const char *token, const char *user_id,
                              const char *device_id, bool accepted);
/* Finds a remembered token: returns 1 and sets *user_id / *device_id
 * (borrowed) / *accepted, or 0. */
int mock_dev_dead_token(const char *token, const char **user_id, const char **device_id,
                        bool *accepted);

#endif
