/* The request log: what the mock received, for explaining a failing check
 * from the server side. */
#include "reqlog.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mock_reqlog {
    FILE *fp;
    pthread_mutex_t lock;
};

struct mock_reqlog *mock_reqlog_open(const char *path, char *err, size_t err_len) {
    struct mock_reqlog *log = calloc(1, sizeof *log);
    if (log == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    log->fp = fopen(path, "a");
    if (log->fp == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        free(log);
        return NULL;
    }
    pthread_mutex_init(&log->lock, NULL);
    return log;
}

void mock_reqlog_close(struct mock_reqlog *log) {
    if (log == NULL)
        return;
    fclose(log->fp);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

void mock_reqlog_redact(const char *uri, char *out, size_t out_len) {
    static const char key[] = "access_token=";
    static const char mask[] = "<redacted>";
    size_t o = 0;
    const char *q = strchr(uri, '?');
    for (const char *p = uri; *p != '\0' && o + 1 < out_len;) {
        /* A parameter starts right after '?' or '&'. */
        bool param_start = q != NULL && p > q && (p[-1] == '?' || p[-1] == '&');
        if (param_start && strncmp(p, key, sizeof key - 1) == 0) {
            for (const char *k = key; *k != '\0' && o + 1 < out_len; k++)
                out[o++] = *k;
            for (const char *m = mask; *m != '\0' && o + 1 < out_len; m++)
                out[o++] = *m;
            p += sizeof key - 1;
            while (*p != '\0' && *p != '&')
                p++;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

void mock_reqlog_write(struct mock_reqlog *log, const char *client, const char *method,
                       const char *uri, unsigned status) {
    if (log == NULL)
        return;
    char path[2048];
    mock_reqlog_redact(uri != NULL ? uri : "", path, sizeof path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log->lock);
    fprintf(log->fp, "%s.%03ldZ %s %s %s %u\n", when, ts.tv_nsec / 1000000L,
            client != NULL ? client : "-", method != NULL ? method : "-", path, status);
    fflush(log->fp);
    pthread_mutex_unlock(&log->lock);
}
