/* User-Interactive Authentication sessions of the mock.
 *
 * A session is opened by the first request to a UIA-protected operation and
 * is bound to that operation (method + decoded path) and to the user who
 * opened it. Session IDs are 256-bit random; lookups compare in constant
 * time. Sessions expire after a fixed lifetime. Not thread-safe: callers
 * hold the server's store lock.
 */
#ifndef MOCK_UIA_H
#define MOCK_UIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uia;

#define UIA_SESSION_LIFETIME_MS (10 * 60 * 1000)
/* Live sessions kept at most; opening one more drops the oldest. */
#define UIA_MAX_SESSIONS 1024

struct uia *uia_new(void);
void uia_free(struct uia *u);

/* Opens a session; returns its ID (borrowed, lives as long as the session),
 * or NULL on OOM. now_ms is the current time. */
const char *uia_open(struct uia *u, const char *user_id, const char *method,
                     const char *path, int64_t now_ms);

enum uia_lookup {
    UIA_SESSION_OK = 0,
    UIA_SESSION_UNKNOWN,  /* never issued, expired or already used up */
    UIA_SESSION_MISMATCH, /* exists but belongs to another user or operation */
};
/* Checks that session exists, is not expired, and was opened by user_id for
 * method + path. */
enum uia_lookup uia_check(struct uia *u, const char *session, const char *user_id,
                          const char *method, const char *path, int64_t now_ms);

/* Marks a stage completed in the session; returns 0, or -1 if unknown. */
int uia_complete_stage(struct uia *u, const char *session, const char *stage);
/* Whether a stage is completed. */
bool uia_stage_done(struct uia *u, const char *session, const char *stage);
/* Calls fn for each completed stage, in completion order. */
void uia_foreach_completed(struct uia *u, const char *session,
                           void (*fn)(const char *stage, void *arg), void *arg);
/* Ends the session (after the operation succeeded). */
void uia_close(struct uia *u, const char *session);
/* Drops expired sessions; called now and then by the server. */
void uia_expire(struct uia *u, int64_t now_ms);
/* Number of live sessions (expired ones count until uia_expire). */
size_t uia_count(const struct uia *u);

/* A grace period after a completed UIA (as Synapse's ui_auth.session_timeout,
 * keyed there on the access token; here on the device, which has one):
 * notes that user_id's device_id passed UIA at now_ms (0, or -1 on OOM), and
 * whether it did within the last grace_ms. At most UIA_MAX_SESSIONS devices
 * are remembered; the oldest note goes first. */
int uia_note_passed(struct uia *u, const char *user_id, const char *device_id,
                    int64_t now_ms);
bool uia_passed_within(const struct uia *u, const char *user_id, const char *device_id,
                       int64_t now_ms, int64_t grace_ms);

#endif
