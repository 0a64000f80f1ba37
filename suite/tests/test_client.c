/* mx_send against a scripted HTTP server in a thread of the test process:
 * what is sent (auth, query, body), what is captured, 429 handling,
 * redirects, transport errors, what the observer is told, and the harness's
 * schema check through it. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mx_client.h"
#include "mx_crosscut.h"
#include "mx_env.h"

#define MAX_SCRIPT 8

/* One server per test process (criterion runs each test in its own). */
static struct {
    int fd;
    int port;
    const char *script[MAX_SCRIPT]; /* full responses; NULL: hold the connection */
    int n_script;
    char requests[MAX_SCRIPT][4096];
    int n_requests;
    pthread_t thread;
} srv;

static void read_request(int c, char *buf, size_t len) {
    size_t got = 0;
    long want = -1;
    while (got + 1 < len) {
        ssize_t n = read(c, buf + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        if (want < 0) {
            char *cl = strcasestr(buf, "content-length:");
            want = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if ((long)(got - (size_t)(end + 4 - buf)) >= want)
            break;
    }
    buf[got] = '\0';
}

static void *on_serve(void *arg) {
    (void)arg;
    for (int i = 0; i < srv.n_script; i++) {
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        read_request(c, srv.requests[i], sizeof(srv.requests[i]));
        srv.n_requests = i + 1;
        if (!srv.script[i]) {
            /* Hold: let the client time out, then close. */
            char b[64];
            while (read(c, b, sizeof(b)) > 0)
                ;
            close(c);
            continue;
        }
        if (write(c, srv.script[i], strlen(srv.script[i])) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void start(int n, ...) {
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        srv.script[i] = va_arg(ap, const char *);
    va_end(ap);
    srv.n_script = n;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(srv.fd, 8), 0);
    socklen_t alen = sizeof(a);
    getsockname(srv.fd, (struct sockaddr *)&a, &alen);
    srv.port = ntohs(a.sin_port);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    setenv("MXDEV_HOMESERVER", url, 1);
    mx_env_reload();
    pthread_create(&srv.thread, NULL, on_serve, NULL);
}

/* The harness's judgement of every exchange (transcript and schema). */
static const struct mx_client_observer harness_observer = {
    .on_exchange = mx_crosscut_on_exchange,
};

static void init(void) {
    static char dir[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/data", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    setenv("MXDEV_FIXTURES_DIR", dir, 1);
    setenv("MXDEV_TIMEOUT", "1", 1);
    setenv("MXDEV_REPORT_DIR", "/tmp/mxdev-test-client-reports", 1);
    unsetenv("MXDEV_SPEC_DIR");
    unsetenv("MXDEV_RETRY_BUDGET_MS");
    mx_client_set_config(mx_env_client_config);
    mx_client_set_observer(&harness_observer);
}

static void fini(void) {
    mx_arena_free();
    mx_client_global_cleanup();
}

TestSuite(client, .init = init, .fini = fini, .timeout = 20);

static const char *reply(int status, const char *extra_headers, const char *body) {
    char *s = NULL;
    if (asprintf(
            &s,
            "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sConnection: close\r\n"
            "Content-Length: %zu\r\n\r\n%s",
            status, extra_headers, strlen(body), body) < 0)
        return NULL;
    return mx_arena_keep(s);
}

Test(client, sends_auth_query_and_body_and_captures_the_answer) {
    start(1, reply(200, "X-Custom: v\r\n", "{\"ok\":true}"));
    json_t *body = json_pack("{s:s}", "display_name", "caf\xc3\xa9");
    const struct mx_resp *r =
        MX_SEND(.method = "PUT", .path = mx_path(MX_V3 "/devices/%s", "A B"),
                .token = "tok123", .assert_user = "@a:hs", .assert_device = "D/E",
                .body = body);
    json_decref(body);
    pthread_join(srv.thread, NULL);
    cr_assert_eq(r->status, 200, "%s", r->transport_error);
    cr_expect(json_is_true(json_object_get(r->json, "ok")));
    cr_expect_str_eq(mx_header(r, "X-Custom"), "v");
    cr_expect_str_eq(r->content_type, "application/json");
    cr_expect_str_eq(r->transport_error, "");
    const char *req = srv.requests[0];
    cr_expect(strstr(req, "PUT /_matrix/client/v3/devices/A%20B?user_id=%40a%3Ahs&"
                          "device_id=D%2FE HTTP/1.1\r\n") == req,
              "%s", req);
    cr_expect(strstr(req, "Authorization: Bearer tok123\r\n") != NULL, "%s", req);
    cr_expect(strstr(req, "Content-Type: application/json\r\n") != NULL, "%s", req);
    cr_expect(strstr(req, "\r\n\r\n{\"display_name\":\"caf\xc3\xa9\"}") != NULL, "%s",
              req);
    cr_expect(strstr(r->summary, "PUT /_matrix/client/v3/devices/A%20B?user_id=") ==
                  r->summary,
              "%s", r->summary);
}

Test(client, query_token_is_redacted_in_the_summary) {
    start(1, reply(200, "", "{}"));
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = MX_V3 "/devices",
                                      .token = "qtok", .token_in = MX_TOKEN_QUERY);
    pthread_join(srv.thread, NULL);
    cr_expect(
        strstr(srv.requests[0], "GET /_matrix/client/v3/devices?access_token=qtok ") ==
            srv.requests[0],
        "%s", srv.requests[0]);
    cr_expect_null(strcasestr(srv.requests[0], "authorization:"));
    cr_expect_null(strstr(r->summary, "qtok"), "%s", r->summary);
}

Test(client, waits_out_429_then_succeeds) {
    start(3,
          reply(429, "Retry-After: 0\r\n",
                "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"\"}"),
          reply(429, "",
                "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"\",\"retry_after_ms\":5}"),
          reply(200, "", "{}"));
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x");
    pthread_join(srv.thread, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_eq(r->retries, 2);
    cr_expect_eq(srv.n_requests, 3);
}

Test(client, no_retry_and_budget_return_the_429) {
    start(1, reply(429, "Retry-After: 0\r\n",
                   "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"\"}"));
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x", .no_retry = true);
    pthread_join(srv.thread, NULL);
    cr_expect_eq(r->status, 429);
    cr_expect_eq(r->retries, 0);
    close(srv.fd);

    /* A wait longer than the budget is not waited out. */
    start(1, reply(429, "Retry-After: 3600\r\n",
                   "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"\"}"));
    r = MX_SEND(.method = "GET", .path = "/x");
    pthread_join(srv.thread, NULL);
    cr_expect_eq(r->status, 429);
    cr_expect_eq(r->retries, 0);
}

/* What the observer was told. */
static struct {
    int attempts, exchanges, responses, rate_limits;
    long last_status;
    char sent_path[256];
    long wait_ms;
} seen;

static void on_attempt(const char *method, const char *path, const char *body,
                       long status) {
    (void)method, (void)path, (void)body;
    seen.attempts++;
    seen.last_status = status;
}

static void on_exchange(const struct mx_req *req, const char *sent_path, const char *body,
                        struct mx_resp *r) {
    (void)req, (void)body, (void)r;
    seen.exchanges++;
    snprintf(seen.sent_path, sizeof(seen.sent_path), "%s", sent_path);
}

static void on_rate_limit(const char *method, const char *path, const struct mx_resp *r,
                          long wait_ms, const char *why) {
    (void)method, (void)path, (void)r, (void)why;
    seen.rate_limits++;
    seen.wait_ms = wait_ms;
}

static void on_response(const struct mx_req *req, const struct mx_resp *r) {
    (void)req, (void)r;
    seen.responses++;
}

static const struct mx_client_observer counting = {
    .on_attempt = on_attempt,
    .on_exchange = on_exchange,
    .on_rate_limit = on_rate_limit,
    .on_response = on_response,
};

Test(client, observer_sees_every_attempt_and_each_exchange_once) {
    mx_client_set_observer(&counting);
    start(2, reply(429, "Retry-After: 0\r\n", "{\"errcode\":\"M_LIMIT_EXCEEDED\"}"),
          reply(200, "", "{}"));
    MX_SEND(.method = "GET", .path = "/x", .token = "t", .token_in = MX_TOKEN_QUERY);
    pthread_join(srv.thread, NULL);
    cr_expect_eq(seen.attempts, 2);
    cr_expect_eq(seen.last_status, 200);
    cr_expect_eq(seen.exchanges, 1);
    cr_expect_eq(seen.responses, 1);
    cr_expect_eq(seen.rate_limits, 0);
    cr_expect_str_eq(seen.sent_path, "/x?access_token=t");
    close(srv.fd);

    /* Not recording: attempts and an unaffordable wait only. */
    mx_client_set_recording(false);
    start(1, reply(429, "Retry-After: 3600\r\n", "{\"errcode\":\"M_LIMIT_EXCEEDED\"}"));
    MX_SEND(.method = "GET", .path = "/x");
    pthread_join(srv.thread, NULL);
    mx_client_set_recording(true);
    cr_expect_eq(seen.attempts, 3);
    cr_expect_eq(seen.exchanges, 1);
    cr_expect_eq(seen.responses, 1);
    cr_expect_eq(seen.rate_limits, 1);
    cr_expect_eq(seen.wait_ms, 3600000L);
}

Test(client, redirects_are_reported_not_followed) {
    start(1, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n");
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x");
    pthread_join(srv.thread, NULL);
    cr_expect_eq(r->status, 302);
    cr_expect_str_eq(mx_header(r, "location"), "http://127.0.0.1:1/elsewhere");
    cr_expect_null(r->json);
    cr_expect_str_eq(r->body, "");
}

Test(client, html_is_kept_as_text) {
    start(1, "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 13\r\n"
             "Connection: close\r\n\r\n<html></html>");
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x");
    pthread_join(srv.thread, NULL);
    cr_expect_eq(r->status, 404);
    cr_expect_null(r->json);
    cr_expect_str_eq(r->body, "<html></html>");
    cr_expect_eq(r->body_len, 13);
}

Test(client, connection_refused) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t alen = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd); /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("MXDEV_HOMESERVER", url, 1);
    mx_env_reload();
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x");
    cr_expect_eq(r->status, 0);
    cr_expect_str_eq(r->transport_error, "connection refused");
    cr_expect_str_eq(r->body, "");
}

Test(client, timeout) {
    start(1, (const char *)NULL);
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = "/x");
    cr_expect_eq(r->status, 0);
    cr_expect_str_eq(r->transport_error, "timed out after 1 s");
    shutdown(srv.fd, SHUT_RDWR);
    pthread_join(srv.thread, NULL);
}

Test(client, raw_body_and_schema_check) {
    start(2, reply(200, "", "{\"device_id\":5}"),
          reply(200, "", "{\"device_id\":\"A\"}"));
    const struct mx_resp *r = MX_SEND(.method = "GET", .path = MX_V3 "/devices/A?x=1");
    cr_expect_not_null(r->schema_error);
    cr_expect(strstr(r->schema_error ? r->schema_error : "",
                     "/device_id: expected string") != NULL,
              "%s", r->schema_error);
    r = MX_SEND(.method = "POST", .path = MX_V3 "/devices/A", .raw_body = "{not json",
                .content_type = "text/plain");
    pthread_join(srv.thread, NULL);
    cr_expect_null(r->schema_error, "no schema for POST");
    cr_expect(strstr(srv.requests[1], "Content-Type: text/plain\r\n") != NULL, "%s",
              srv.requests[1]);
    cr_expect(strstr(srv.requests[1], "\r\n\r\n{not json") != NULL, "%s",
              srv.requests[1]);
}
