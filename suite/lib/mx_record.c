/* The side channel from test processes to the runner: one JSON line per
 * event in <report_dir>/.tests/<group>.<test>.jsonl. */
#include "mx_record.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mx_env.h"
#include "mx_redact.h"

#define MAX_BODY 4096

int mx_mkdir_p(const char *dir) {
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(buf)) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int record_path(char *buf, size_t len, const char *report_dir, const char *group,
                       const char *test) {
    int n = snprintf(buf, len, "%s/.tests/%s.%s.jsonl", report_dir, group, test);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* Appends obj (stolen) as one line to the running test's file. */
static void append(json_t *obj) {
    char path[4096];
    char dir[4096];
    char *line = NULL;
    int fd = -1;

    if (!obj || !criterion_current_test || !criterion_current_suite)
        goto out;
    const char *report_dir = mx_env()->report_dir;
    snprintf(dir, sizeof(dir), "%s/.tests", report_dir);
    if (mx_mkdir_p(dir) < 0)
        goto out;
    if (record_path(path, sizeof(path), report_dir, criterion_current_suite->name,
                    criterion_current_test->name) < 0)
        goto out;
    line = json_dumps(obj, JSON_COMPACT);
    if (!line)
        goto out;
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps' terminator becomes the newline */
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        goto out;
    /* One write per line so lines from one process never interleave. */
    if (write(fd, line, n + 1) < 0)
        goto out;
out:
    if (fd >= 0)
        close(fd);
    free(line);
    json_decref(obj);
}

/* Redacted, truncated text as a new JSON string (null for NULL). */
static json_t *text_value(const char *text) {
    if (!text)
        return json_null();
    char *red = mx_redact(text);
    if (!red)
        return json_null();
    size_t n = strlen(red);
    json_t *v;
    if (n > MAX_BODY) {
        /* Cut on a UTF-8 character boundary so the string stays valid. */
        size_t cut = MAX_BODY;
        while (cut > 0 && ((unsigned char)red[cut] & 0xC0) == 0x80)
            cut--;
        char *t = NULL;
        if (asprintf(&t, "%.*s... [%zu bytes in all]", (int)cut, red, n) < 0)
            t = NULL;
        v = t ? json_string(t) : NULL;
        free(t);
    } else {
        v = json_string(red);
    }
    if (!v) /* not valid UTF-8 */
        v = json_string("<body is not valid UTF-8>");
    free(red);
    return v;
}

void mx_record_exchange(const char *method, const char *path, const char *req_body,
                        long status, const char *content_type, const char *resp_body,
                        double elapsed_ms) {
    if (!criterion_current_test)
        return;
    json_t *request = json_pack("{s:s?, s:o, s:o}", "method", method, "path",
                                text_value(path), "body", text_value(req_body));
    json_t *response =
        json_pack("{s:I, s:s?, s:o}", "status", (json_int_t)status, "content_type",
                  content_type, "body", status ? text_value(resp_body) : json_string(""));
    if (response && status == 0)
        json_object_set_new(response, "transport_error", text_value(resp_body));
    append(json_pack("{s:s, s:o, s:o, s:f}", "kind", "exchange", "request", request,
                     "response", response, "ms", elapsed_ms));
}

void mx_record_schema(const char *method, const char *path, long status,
                      const char *text) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:s?, s:o, s:I, s:o}", "kind", "schema", "method", method,
                     "path", text_value(path), "status", (json_int_t)status, "text",
                     text_value(text)));
}

void mx_record_crosscut(const char *id, const char *method, const char *path, long status,
                        const char *text) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:s, s:s?, s:o, s:I, s:o}", "kind", "crosscut", "id", id,
                     "method", method, "path", text_value(path), "status",
                     (json_int_t)status, "text", text_value(text)));
}

void mx_record_blocked(const char *by, const char *text) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:s, s:o}", "kind", "blocked", "by", by, "text",
                     text_value(text)));
}

void mx_record_not_run(const char *reason) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:o}", "kind", "not_run", "reason", text_value(reason)));
}

static int abort_path(char *buf, size_t len, const char *report_dir) {
    int n = snprintf(buf, len, "%s/.tests/abort.json", report_dir);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

void mx_record_abort_run(int exit_status, const char *reason) {
    char path[4096], dir[4096];
    char *text = NULL;
    json_t *doc = NULL;
    int fd = -1;
    const char *report_dir = mx_env()->report_dir;

    snprintf(dir, sizeof(dir), "%s/.tests", report_dir);
    if (mx_mkdir_p(dir) < 0 || abort_path(path, sizeof(path), report_dir) < 0)
        goto out;
    doc = json_pack("{s:i, s:o}", "exit", exit_status, "reason", text_value(reason));
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!text)
        goto out;
    /* O_EXCL: the first stop wins; its reason is the one reported. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        goto out;
    if (write(fd, text, strlen(text)) < 0)
        goto out;
out:
    if (fd >= 0)
        close(fd);
    free(text);
    json_decref(doc);
}

json_t *mx_record_read_abort(const char *report_dir) {
    char path[4096];
    json_t *doc;

    if (abort_path(path, sizeof(path), report_dir) < 0)
        return NULL;
    doc = json_load_file(path, 0, NULL);
    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

void mx_record_observation(const char *text) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:o}", "kind", "observation", "text", text_value(text)));
}

void mx_record_skip(const char *reason) {
    if (!criterion_current_test)
        return;
    append(json_pack("{s:s, s:o}", "kind", "skip", "reason", text_value(reason)));
}

json_t *mx_record_read(const char *report_dir, const char *group, const char *test) {
    json_t *arr = json_array();
    char path[4096];
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;

    if (!arr || record_path(path, sizeof(path), report_dir, group, test) < 0)
        goto out;
    f = fopen(path, "r");
    if (!f)
        goto out;
    while (getline(&line, &cap, f) >= 0) {
        json_t *obj = json_loads(line, 0, NULL);
        /* A line cut short by a crashing test is dropped, not fatal. */
        if (json_is_object(obj))
            json_array_append_new(arr, obj);
        else
            json_decref(obj);
    }
out:
    free(line);
    if (f)
        fclose(f);
    return arr;
}

/* ---- cost ---- */

static struct { long registrations, logins, password_checks, requests; } cost;

static const char *const cost_keys[] = {"registrations", "logins", "password_checks",
                                        "requests"};

/* Whether path (query ignored) ends in suffix. */
static bool path_ends(const char *path, const char *suffix) {
    size_t n = strcspn(path, "?#");
    size_t m = strlen(suffix);
    return n >= m && strncmp(path + n - m, suffix, m) == 0;
}

void mx_record_cost_note(const char *method, const char *path, const char *req_body,
                         long status) {
    cost.requests++;
    if (!method || !path || strcmp(method, "POST") != 0)
        return;
    bool login = path_ends(path, "/login");
    if (status == 200 && (path_ends(path, "/register") || login))
        *(login ? &cost.logins : &cost.registrations) += 1;
    if (!req_body || !strstr(req_body, "password"))
        return;
    json_t *body = json_loads(req_body, 0, NULL);
    json_t *auth = json_object_get(body, "auth");
    if ((login && json_is_string(json_object_get(body, "password"))) ||
        json_is_string(json_object_get(auth, "password")))
        cost.password_checks++;
    json_decref(body);
}

void mx_record_cost_reset(void) {
    memset(&cost, 0, sizeof(cost));
}

void mx_record_cost(void) {
    if (cost.requests > 0 && criterion_current_test)
        append(json_pack("{s:s, s:I, s:I, s:I, s:I}", "kind", "cost", cost_keys[0],
                         (json_int_t)cost.registrations, cost_keys[1],
                         (json_int_t)cost.logins, cost_keys[2],
                         (json_int_t)cost.password_checks, cost_keys[3],
                         (json_int_t)cost.requests));
    mx_record_cost_reset();
}

/* Adds the cost lines of one record file to sums. */
static void add_costs(const char *path, json_int_t sums[4]) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;

    if (!f)
        return;
    while (getline(&line, &cap, f) >= 0) {
        if (!strstr(line, "\"kind\":\"cost\""))
            continue;
        json_t *obj = json_loads(line, 0, NULL);
        for (int i = 0; i < 4; i++)
            sums[i] += json_integer_value(json_object_get(obj, cost_keys[i]));
        json_decref(obj);
    }
    free(line);
    fclose(f);
}

json_t *mx_record_read_costs(const char *report_dir) {
    json_int_t sums[4] = {cost.registrations, cost.logins, cost.password_checks,
                          cost.requests};
    char dir[4096], path[4096];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "%s/.tests", report_dir);
    d = opendir(dir);
    for (e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 6, ".jsonl") != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        add_costs(path, sums);
    }
    if (d)
        closedir(d);
    return json_pack("{s:I, s:I, s:I, s:I}", cost_keys[0], sums[0], cost_keys[1], sums[1],
                     cost_keys[2], sums[2], cost_keys[3], sums[3]);
}
