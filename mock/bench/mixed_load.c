/* Mixed load against a running mock: N client threads for S seconds, each
 * cycling through login, list, rename, create-as-application-service and
 * delete-as-application-service, checking every answer: the status (a
 * transport error or another status is "failed") and the body (not a JSON
 * object, or without the member the operation returns, is "malformed").
 * Prints the counts; exit 1 when any answer failed or was malformed.
 *
 * usage: mixed-load URL AS_TOKEN NS_PREFIX [--clients N] [--seconds S]
 *
 * Every operation leaves the server's state as it found it (logins reuse the
 * thread's device ID, created devices are deleted again), so resident memory
 * must stay flat however long it runs: the script samples it. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct load_config {
    const char *url;
    const char *as_token;
    const char *ns_prefix;
    int clients;
    int seconds;
    long run_tag;
};

struct load_counts {
    atomic_long ok;
    atomic_long failed;    /* transport error or unexpected status */
    atomic_long malformed; /* expected status, but the body is not what it must be */
    atomic_long by_op[5];
};

static struct load_config cfg = {.clients = 64, .seconds = 60};
static struct load_counts counts;
static const char *const op_names[5] = {"login", "list", "rename", "as-create",
                                        "as-delete"};

struct body_buf {
    char *data;
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *arg) {
    struct body_buf *b = arg;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Performs one request; returns the status (0 on transport failure) and, in
 * *out, the parsed body (new reference, NULL when not a JSON object). */
static long request(CURL *h, const char *method, const char *path, const char *token,
                    json_t *body, json_t **out) {
    char url[1024], auth[512];
    struct body_buf buf = {0};
    struct curl_slist *headers = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    long status = 0;

    snprintf(url, sizeof url, "%s%s", cfg.url, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    if (text) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    *out = NULL;
    if (buf.data) {
        json_t *parsed = json_loads(buf.data, 0, NULL);
        if (json_is_object(parsed))
            *out = parsed;
        else
            json_decref(parsed);
    }
    curl_slist_free_all(headers);
    free(text);
    free(buf.data);
    return status;
}

/* Counts one answer: right status, and a JSON object body that has the
 * member `key` (any object when key is NULL). Steals body. */
static void tally(int op, long status, long want, json_t *body, const char *key) {
    if (status != want) {
        long n = atomic_fetch_add(&counts.failed, 1);
        if (n < 5)
            fprintf(stderr, "mixed-load: %s answered %ld (expected %ld)\n", op_names[op],
                    status, want);
    } else if (body == NULL || (key != NULL && json_object_get(body, key) == NULL)) {
        long n = atomic_fetch_add(&counts.malformed, 1);
        if (n < 5)
            fprintf(stderr, "mixed-load: %s answered %ld with %s\n", op_names[op], status,
                    body == NULL ? "a body that is not a JSON object"
                                 : "a body without the "
                                   "expected member");
    } else {
        atomic_fetch_add(&counts.ok, 1);
        atomic_fetch_add(&counts.by_op[op], 1);
    }
    json_decref(body);
}

static void *on_client(void *arg) {
    int id = (int)(long)arg;
    CURL *h = curl_easy_init();
    char user[128], pass[64], dev[64], as_user[128], path[512];
    char *token = NULL;
    json_t *reply = NULL;
    long st;

    snprintf(user, sizeof user, "load%ld_%d", cfg.run_tag, id);
    snprintf(pass, sizeof pass, "pw-%ld-%d", cfg.run_tag, id);
    snprintf(dev, sizeof dev, "LOADDEV%d", id);
    snprintf(as_user, sizeof as_user, "%s%ld_%d", cfg.ns_prefix, cfg.run_tag, id);

    /* Set-up: a password user and an application-service user. */
    json_t *reg = json_pack("{s:s, s:s, s:s, s:{s:s}}", "username", user, "password",
                            pass, "device_id", dev, "auth", "type", "m.login.dummy");
    st = request(h, "POST", "/_matrix/client/v3/register", NULL, reg, &reply);
    json_decref(reg);
    if (st != 200 || !json_string_value(json_object_get(reply, "access_token"))) {
        fprintf(stderr, "mixed-load: client %d could not register (%ld)\n", id, st);
        atomic_fetch_add(&counts.failed, 1);
        json_decref(reply);
        goto out;
    }
    token = strdup(json_string_value(json_object_get(reply, "access_token")));
    json_decref(reply);
    json_t *as_reg = json_pack("{s:s, s:s, s:b}", "type", "m.login.application_service",
                               "username", as_user, "inhibit_login", 1);
    st = request(h, "POST", "/_matrix/client/v3/register", cfg.as_token, as_reg, &reply);
    json_decref(as_reg);
    if (st == 200 && json_string_value(json_object_get(reply, "user_id")))
        snprintf(as_user, sizeof as_user, "%s",
                 json_string_value(json_object_get(reply, "user_id")));
    json_decref(reply);
    if (st != 200) {
        fprintf(stderr, "mixed-load: client %d could not register %s (%ld)\n", id,
                as_user, st);
        atomic_fetch_add(&counts.failed, 1);
        goto out;
    }

    time_t end = time(NULL) + cfg.seconds;
    for (unsigned long i = 0; time(NULL) < end; i++) {
        int op = (int)(i % 5);
        json_t *body = NULL;
        switch (op) {
            case 0: /* login again on the same device: replaces its token */
                body = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type",
                                 "m.login.password", "identifier", "type", "m.id.user",
                                 "user", user, "password", pass, "device_id", dev);
                st = request(h, "POST", "/_matrix/client/v3/login", NULL, body, &reply);
                if (st == 200 &&
                    json_string_value(json_object_get(reply, "access_token"))) {
                    free(token);
                    token =
                        strdup(json_string_value(json_object_get(reply, "access_token")));
                }
                tally(op, st, 200, reply, "access_token");
                break;
            case 1:
                st = request(h, "GET", "/_matrix/client/v3/devices", token, NULL, &reply);
                tally(op, st, 200, reply, "devices");
                break;
            case 2:
                body =
                    json_pack("{s:s}", "display_name", i % 2 ? "load odd" : "load even");
                snprintf(path, sizeof path, "/_matrix/client/v3/devices/%s", dev);
                st = request(h, "PUT", path, token, body, &reply);
                tally(op, st, 200, reply, NULL);
                break;
            case 3:
                body = json_pack("{s:s}", "display_name", "created under load");
                snprintf(path, sizeof path,
                         "/_matrix/client/v3/devices/ASLOAD%lu?user_id=%s", i, as_user);
                st = request(h, "PUT", path, cfg.as_token, body, &reply);
                tally(op, st, 201, reply, NULL);
                break;
            case 4:
                snprintf(path, sizeof path,
                         "/_matrix/client/v3/devices/ASLOAD%lu?user_id=%s", i - 1,
                         as_user);
                body = json_object();
                st = request(h, "DELETE", path, cfg.as_token, body, &reply);
                tally(op, st, 200, reply, NULL);
                break;
        }
        json_decref(body);
    }
out:
    free(token);
    curl_easy_cleanup(h);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: mixed-load URL AS_TOKEN NS_PREFIX [--clients N] "
                        "[--seconds S]\n");
        return 2;
    }
    cfg.url = argv[1];
    cfg.as_token = argv[2];
    cfg.ns_prefix = argv[3];
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0)
            cfg.clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            cfg.seconds = atoi(argv[i + 1]);
    }
    if (cfg.clients < 1 || cfg.clients > 256 || cfg.seconds < 1 || cfg.seconds > 600) {
        fprintf(stderr, "mixed-load: --clients 1..256, --seconds 1..600\n");
        return 2;
    }
    cfg.run_tag = (long)time(NULL) % 100000;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *threads = calloc((size_t)cfg.clients, sizeof *threads);
    if (!threads)
        return 2;
    for (int i = 0; i < cfg.clients; i++)
        pthread_create(&threads[i], NULL, on_client, (void *)(long)i);
    for (int i = 0; i < cfg.clients; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    curl_global_cleanup();

    long ok = atomic_load(&counts.ok), failed = atomic_load(&counts.failed);
    long malformed = atomic_load(&counts.malformed);
    printf("mixed-load: %d clients, %d s: %ld answers right, %ld failed, %ld malformed "
           "(%.0f requests/s)\n",
           cfg.clients, cfg.seconds, ok, failed, malformed,
           (double)(ok + failed + malformed) / cfg.seconds);
    for (int op = 0; op < 5; op++)
        printf("  %-10s %ld\n", op_names[op], atomic_load(&counts.by_op[op]));
    return failed == 0 && malformed == 0 ? 0 : 1;
}
