/* --print-server-config: what a test server needs for a run of the suite.
 *
 * Prints, ready to paste into the server's configuration, the registration
 * and rate-limit settings a run needs and how to install the application
 * service, then the matching suite command line. The application-service
 * registration, with freshly generated tokens, only ever goes to a file.
 */
#ifndef MX_SERVER_CONFIG_H
#define MX_SERVER_CONFIG_H

#include <stdio.h>

/* Prints the configuration for server ("synapse", "dendrite", or "conduit"
 * with its forks "conduwuit" and "continuwuity") to out. as_out,
 * when not NULL, is where the application-service registration is written
 * (mode 0600; an existing file is an error, never overwritten). homeserver
 * (may be NULL) goes into the printed command line. Returns the exit status:
 * 0, or 2 with a one-line error on stderr (unknown server, file not
 * writable). */
int mx_print_server_config(const char *server, const char *as_out, const char *homeserver,
                           FILE *out);

#endif
