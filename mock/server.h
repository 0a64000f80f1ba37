/* The HTTP side of the mock: a libmicrohttpd daemon that hands each request
 * to mock_dispatch. No endpoint logic here. */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include <stddef.h>

struct mock_state;
struct mock_server;

/**
 * Starts serving state on addr:port (port 0: the kernel picks one).
 * @param state  borrowed; must outlive the server
 * @param addr   numeric IPv4 or IPv6 address
 * @param err    receives a one-line reason on failure
 * @return a new server, or NULL on failure
 */
struct mock_server *mock_server_start(struct mock_state *state, const char *addr,
                                      unsigned port, char *err, size_t err_len);
/* The same over https: cert_pem and key_pem are the PEM texts of the
 * server's certificate (chain) and private key (both copied). Fails when
 * libmicrohttpd lacks TLS support or the pair is unusable. */
struct mock_server *mock_server_start_tls(struct mock_state *state, const char *addr,
                                          unsigned port, const char *cert_pem,
                                          const char *key_pem, char *err, size_t err_len);
/* The port actually bound. */
unsigned mock_server_port(const struct mock_server *srv);
/* Stops the daemon (waits for requests in progress) and frees srv. */
void mock_server_stop(struct mock_server *srv);

#endif
