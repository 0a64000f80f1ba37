/* The server probe: what the homeserver offers before any check runs
 * (/versions, password login, registration, the application service), for
 * the console header, the reports' capabilities object and the test
 * processes. */
#ifndef MXDEV_PROBE_H
#define MXDEV_PROBE_H

#include <jansson.h>
#include <stdbool.h>

struct options;
struct appservice;

struct probe {
    json_t *versions;               /* owned: the /versions body */
    json_t *capabilities;           /* owned: for the reports */
    bool legacy_login;              /* the checks may provision password users */
    char *login_line;               /* owned: what GET /login showed, for the header */
    char *registration_line;        /* owned: what POST /register showed */
    const char *registration_state; /* "open", "token", "closed", "unknown" */
    char *server_name;              /* owned, NULL when unknown */
};

/* Probes o->url. Exits 3 when the server is unreachable, not HTTP, redirects
 * or does not speak the client-server API; exits 2 when the server's answers
 * show that the configuration cannot work (registration closed and no
 * accounts given, a registration token needed and none given). */
void probe_server(const struct options *o, struct appservice *as, struct probe *pr);

/* The console header of a run. */
void probe_print_header(const struct options *o, const struct appservice *as,
                        const struct probe *pr);

/* Exports what the probe found (MXDEV_AS_*, MXDEV_SERVER_NAME,
 * MXDEV_LEGACY_LOGIN) for the test processes. */
void probe_export(const struct appservice *as, const struct probe *pr);

void probe_free(struct probe *pr);

#endif
