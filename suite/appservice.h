/* The application-service registration file (--as-registration): what it
 * gives the suite, and whether the suite can use it. */
#ifndef MXDEV_APPSERVICE_H
#define MXDEV_APPSERVICE_H

#include <stdbool.h>

struct options;

struct appservice {
    bool given;
    bool usable;
    char reason[512];       /* why not usable */
    char *as_token;         /* owned; a secret */
    char *sender_localpart; /* owned */
    char *regex;            /* owned: namespaces.users[0].regex */
    char *user_prefix;      /* owned: the literal localpart prefix of regex */
};

/* Loads path into as; a file the suite cannot read or that lacks as_token or
 * sender_localpart is a problem added to o. Its tokens become secrets. */
void appservice_load(struct options *o, const char *path, struct appservice *as);

/* Marks as unusable with the reason (printf-like). */
void appservice_unusable(struct appservice *as, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void appservice_free(struct appservice *as);

#endif
