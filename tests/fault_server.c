/* A deliberately broken "homeserver" for the robustness tests: it listens on
 * 127.0.0.1, port 0, prints "listening on http://127.0.0.1:PORT", and answers
 * every request except GET /_matrix/client/versions the broken way its mode
 * says. /versions answers properly unless the mode is "all-*", so the suite
 * passes its probe and then meets the fault in every check.
 *
 * Modes: hang, html502, reset, truncated, garbage, all-hang, all-html502,
 * all-garbage (bytes that are not HTTP, even for /versions), redirect (every
 * request, /versions too, answered 301 to https://matrix.example.org/...).
 * It exits by itself after --lifetime seconds (default 120). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *mode = "hang";

static const char versions_body[] = "{\"versions\":[\"v1.16\",\"v1.17\"]}";
static const char html502_body[] =
    "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>\n";

static const char truncated_reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n"
    "Connection: close\r\n\r\n{\"devices\": [{\"device_id\"";

static const char garbage_reply[] = "\x01\x02 this is not HTTP at all \xff\xfe\r\n\r\n";

static const char redirect_reply[] =
    "HTTP/1.1 301 Moved Permanently\r\n"
    "Location: https://matrix.example.org/_matrix/client/versions\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

static void send_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* A complete response with the right Content-Length. */
static void send_reply(int fd, const char *status, const char *type, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Reads until the end of the request head; returns 0, or -1 when the peer left. */
static int read_head(int fd, char *buf, size_t size) {
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = recv(fd, buf + used, size - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return 0;
    }
    return 0;
}

static void hang(int fd) {
    char sink[512];
    /* Holds the connection until the client gives up. */
    while (recv(fd, sink, sizeof sink, 0) > 0)
        ;
}

static void *on_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    char head[8192];
    if (read_head(fd, head, sizeof head) != 0)
        goto out;
    bool all = strncmp(mode, "all-", 4) == 0;
    const char *m = all ? mode + 4 : mode;
    if (strcmp(m, "redirect") == 0) {
        send_all(fd, redirect_reply, sizeof redirect_reply - 1);
    } else if (!all && strncmp(head, "GET /_matrix/client/versions ", 29) == 0) {
        send_reply(fd, "200 OK", "application/json", versions_body);
    } else if (strcmp(m, "hang") == 0) {
        hang(fd);
    } else if (strcmp(m, "html502") == 0) {
        send_reply(fd, "502 Bad Gateway", "text/html", html502_body);
    } else if (strcmp(m, "truncated") == 0) {
        send_all(fd, truncated_reply, sizeof truncated_reply - 1);
    } else if (strcmp(m, "garbage") == 0) {
        send_all(fd, garbage_reply, sizeof garbage_reply - 1);
    } else if (strcmp(m, "reset") == 0) {
        /* SO_LINGER 0 turns close() into a TCP reset. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    unsigned lifetime = 120;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc)
            lifetime = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-')
            mode = argv[i];
        else {
            fprintf(stderr, "usage: fault-server [MODE] [--lifetime S]\n");
            return 2;
        }
    }
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(srv, 64) != 0 || getsockname(srv, (struct sockaddr *)&addr, &len) != 0) {
        perror("fault-server");
        return 1;
    }
    printf("listening on http://127.0.0.1:%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    alarm(lifetime); /* bounded: never outlives a forgotten test */
    for (;;) {
        int fd = accept(srv, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, on_connection, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}
