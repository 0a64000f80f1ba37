/* libmicrohttpd glue: collect each request (raw target, Authorization, peer
 * address, body up to MOCK_MAX_BODY) in per-request state, dispatch it, and
 * send the reply. Per-request state is made in the URI log callback (which
 * sees the target before any decoding) and freed in one place, the
 * completion callback.
 *
 * Limits: every request that goes over one of the mock's own limits
 * (dispatch.h) gets a JSON Matrix error (413/414/431): at once for the
 * request's head, after the body has been read and dropped for a body. Beyond
 * CONNECTION_MEMORY, libmicrohttpd itself answers 414/431 (HTML body) or closes the
 * connection. */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "dispatch.h"

#define THREAD_POOL_MAX 8
#define CONNECTION_TIMEOUT_S 30
/* libmicrohttpd keeps a connection's request line, header lines, header
 * records (about 60 bytes each) and reply headers in one pool of this size;
 * it must hold a request at every one of the mock's own limits with room
 * to spare, so that those requests reach the mock and get its JSON answer. */
#define CONNECTION_MEMORY (128 * 1024)
#define CONNECTION_MEMORY_INCREMENT 4096

/* One polling thread per core, at most THREAD_POOL_MAX: handlers are short
 * and serialised by the store's lock, so more threads than cores only add
 * context switches (worse tail latency) and malloc arenas (more memory). */
static unsigned thread_pool_size(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > THREAD_POOL_MAX ? THREAD_POOL_MAX : (unsigned)n;
}

struct mock_server {
    struct MHD_Daemon *daemon;
    struct mock_state *state;
    unsigned port;
    char *tls_cert, *tls_key; /* PEM, owned; NULL for plain http */
};

struct request_state {
    char *uri;    /* as sent, owned */
    bool started; /* the first access-handler call (headers only) happened */
    char *body;   /* owned */
    size_t len, cap;
    bool too_large; /* the body went over MOCK_MAX_BODY and was dropped */
    bool refused;   /* answered before its end (a limit); the rest is dropped */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
    (void)cls;
    (void)con;
    struct request_state *rs = calloc(1, sizeof *rs);
    if (rs != NULL)
        rs->uri = strdup(uri != NULL ? uri : "");
    /* libmicrohttpd (0.9.75 and later 0.9.x) next splits the query string
     * into argument records in the connection's memory pool. When the pool
     * runs out (about 500 "a=b" pairs in the default 32 KiB), it queues a
     * 431, but the request-line parser then overwrites that state and waits
     * for header lines in a freed buffer: the client hears nothing until
     * the connection timeout. The mock never reads those records (dispatch
     * parses the copy above), so end the string libmicrohttpd is about to
     * parse: no argument record is made, whatever the query holds. uri
     * points into the connection's writable read buffer, right before the
     * library writes into it itself. */
    char *q = uri != NULL ? strchr(uri, '?') : NULL;
    if (q != NULL)
        q[1] = '\0';
    return rs;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)con;
    (void)toe;
    struct request_state *rs = *req_cls;
    if (rs == NULL)
        return;
    free(rs->uri);
    free(rs->body);
    free(rs);
    *req_cls = NULL;
}

/* Appends upload data, or drops it once the body is too large. */
static void append_body(struct request_state *rs, const char *data, size_t n) {
    if (rs->too_large)
        return;
    if (rs->len + n > MOCK_MAX_BODY) {
        rs->too_large = true;
        free(rs->body);
        rs->body = NULL;
        rs->len = rs->cap = 0;
        return;
    }
    if (rs->len + n > rs->cap) {
        size_t cap = rs->cap > 0 ? rs->cap : 1024;
        while (cap < rs->len + n)
            cap *= 2;
        char *grown = realloc(rs->body, cap);
        if (grown == NULL) {
            rs->too_large = true; /* the nearest honest answer to OOM */
            return;
        }
        rs->body = grown;
        rs->cap = cap;
    }
    memcpy(rs->body + rs->len, data, n);
    rs->len += n;
}

struct header_tally {
    unsigned count;
    size_t bytes;
};

static enum MHD_Result tally_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_len, const char *value, size_t value_len) {
    (void)kind;
    (void)key;
    (void)value;
    struct header_tally *t = cls;
    t->count++;
    t->bytes += key_len + value_len;
    return MHD_YES;
}

/* The first limit the request's head breaks, as the status to answer, or
 * 0. errcode and why describe it. */
static unsigned head_over_limit(struct MHD_Connection *con,
                                const struct request_state *rs, const char **errcode,
                                char *why, size_t why_len) {
    *errcode = "M_TOO_LARGE";
    size_t target = strlen(rs->uri);
    if (target > MOCK_MAX_TARGET) {
        snprintf(why, why_len, "The request target has %zu bytes; the limit is %d",
                 target, MOCK_MAX_TARGET);
        return 414;
    }
    struct header_tally t = {0, 0};
    MHD_get_connection_values_n(con, MHD_HEADER_KIND, tally_header, &t);
    if (t.count > MOCK_MAX_HEADERS) {
        snprintf(why, why_len, "The request has %u header fields; the limit is %d",
                 t.count, MOCK_MAX_HEADERS);
        return 431;
    }
    if (t.bytes > MOCK_MAX_HEADER_BYTES) {
        snprintf(why, why_len,
                 "The request's header fields hold %zu bytes; the limit is %d", t.bytes,
                 MOCK_MAX_HEADER_BYTES);
        return 431;
    }
    /* A body announced over the limit is refused at once only when the
     * client waits for "100 Continue" before sending it; otherwise the body
     * is read and dropped, and refused at its end, because closing on a
     * client that is still sending makes its kernel reset the connection
     * and lose the answer. */
    const char *cl =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *expect =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    if (cl != NULL && expect != NULL && strcasecmp(expect, "100-continue") == 0) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end != cl && n > MOCK_MAX_BODY) {
            snprintf(why, why_len, "The request body exceeds %d bytes", MOCK_MAX_BODY);
            return 413;
        }
    }
    return 0;
}

static void client_address(struct MHD_Connection *con, char *out, size_t out_len) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, out_len, "unknown");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)out_len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  out, (socklen_t)out_len);
}

/* Queues reply; its body moves into the response (no copy: a listing of
 * 10,000 devices is a megabyte), so reply->body is NULL afterwards. A
 * shared body's release moves along with it. */
static enum MHD_Result send_reply(struct MHD_Connection *con, struct mock_reply *reply) {
    struct MHD_Response *resp;
    if (reply->body_release != NULL) /* shared: released when sent */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            reply->body_len, reply->body, reply->body_release, reply->body_owner);
    else
        resp = MHD_create_response_from_buffer(reply->body_len, reply->body,
                                               MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        return MHD_NO;
    reply->body = NULL;
    reply->body_release = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
    if (reply->cors) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                                MOCK_CORS_ALLOW_ORIGIN);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                MOCK_CORS_ALLOW_METHODS);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                MOCK_CORS_ALLOW_HEADERS);
    }
    if (reply->allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (reply->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", reply->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result ret = MHD_queue_response(con, reply->status, resp);
    /* The queue holds its own reference. */
    MHD_destroy_response(resp);
    return ret;
}

/* Answers a request refused before its end without dispatching it. */
static enum MHD_Result refuse(struct mock_server *srv, struct MHD_Connection *con,
                              const char *method, const struct request_state *rs,
                              unsigned status, const char *errcode, const char *why) {
    char ip[INET6_ADDRSTRLEN];
    client_address(con, ip, sizeof ip);
    struct mock_request req = {
        .method = method,
        .uri = rs->uri,
        .client_ip = ip,
        .body = rs->body,
        .body_len = rs->len,
        .body_too_large = rs->too_large,
    };
    struct mock_reply reply;
    mock_dispatch_refuse(srv->state, &req, status, errcode, why, &reply);
    enum MHD_Result ret = send_reply(con, &reply);
    mock_reply_clean(&reply);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
    (void)version;
    struct mock_server *srv = cls;
    struct request_state *rs = *req_cls;
    if (rs == NULL || rs->uri == NULL)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (rs->refused) {
        *upload_data_size = 0; /* answered already: drop what still arrives */
        return MHD_YES;
    }
    if (!rs->started) {
        rs->started = true;
        char why[160];
        const char *errcode;
        unsigned status = head_over_limit(con, rs, &errcode, why, sizeof why);
        if (status != 0) {
            rs->refused = true;
            return refuse(srv, con, method, rs, status, errcode, why);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        append_body(rs, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    char ip[INET6_ADDRSTRLEN];
    client_address(con, ip, sizeof ip);
    struct mock_request req = {
        .method = method,
        .uri = rs->uri[0] != '\0' ? rs->uri : url,
        .authorization = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION),
        .client_ip = ip,
        .body = rs->body,
        .body_len = rs->len,
        .body_too_large = rs->too_large,
    };
    struct mock_reply reply;
    mock_dispatch(srv->state, &req, &reply);
    enum MHD_Result ret = send_reply(con, &reply);
    mock_reply_clean(&reply);
    return ret;
}

struct mock_server *mock_server_start(struct mock_state *state, const char *addr,
                                      unsigned port, char *err, size_t err_len) {
    return mock_server_start_tls(state, addr, port, NULL, NULL, err, err_len);
}

struct mock_server *mock_server_start_tls(struct mock_state *state, const char *addr,
                                          unsigned port, const char *cert_pem,
                                          const char *key_pem, char *err,
                                          size_t err_len) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, err_len, "listen address %s is not a numeric IP address", addr);
        return NULL;
    }
    if (port > 65535) {
        snprintf(err, err_len, "port %u is out of range", port);
        return NULL;
    }
    if ((cert_pem == NULL) != (key_pem == NULL)) {
        snprintf(err, err_len, "TLS needs both a certificate and a key");
        return NULL;
    }
    if (cert_pem != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, err_len, "this libmicrohttpd was built without TLS support");
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    struct mock_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    srv->state = state;
    if (cert_pem != NULL) {
        /* libmicrohttpd keeps pointers to the PEM texts while it runs. */
        srv->tls_cert = strdup(cert_pem);
        srv->tls_key = strdup(key_pem);
        if (srv->tls_cert == NULL || srv->tls_key == NULL) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
    }
    /* The TLS options come last: with NULL PEM texts MHD_OPTION_END ends
     * the list before them. */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)srv,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size(), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_CONNECTION_MEMORY_INCREMENT,
        (size_t)CONNECTION_MEMORY_INCREMENT,
        srv->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        if (cert_pem != NULL)
            snprintf(err, err_len,
                     "cannot listen on %s:%u with TLS (is the key the certificate's, "
                     "both in PEM?)",
                     addr, port);
        else
            snprintf(err, err_len, "cannot listen on %s:%u", addr, port);
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : port;
    return srv;
fail:
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
    return NULL;
}

unsigned mock_server_port(const struct mock_server *srv) {
    return srv->port;
}

void mock_server_stop(struct mock_server *srv) {
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}
