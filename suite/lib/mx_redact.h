/* Secrets never reach a report or a log: every token, password and shared
 * secret the process knows is registered here, and every text that leaves the
 * process goes through mx_redact(). */
#ifndef MX_REDACT_H
#define MX_REDACT_H

#include <stddef.h>

/* Registers a secret (copied); empty and NULL are ignored. */
void mx_redact_secret(const char *secret);
/* Returns a new malloc'd copy of text with every registered secret, every
 * access_token= query value and every "password"/"access_token"/"token"/
 * "as_token"/"hs_token" JSON string value replaced by "<redacted>". */
char *mx_redact(const char *text);
/* Registers the secrets of "scheme://user:password@host...": the password,
 * and the userinfo with its '@' (so that a user name is hidden in URLs, not
 * in all text). A URL without userinfo, or NULL, registers nothing. */
void mx_redact_url_userinfo(const char *url);

#endif
