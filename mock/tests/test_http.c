/* The mock over real HTTP: libcurl against a server started in-process on
 * 127.0.0.1 port 0. Covers what only the transport shows (413 on a large
 * body, headers, CORS preflight, 404/405) and concurrency. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>

#include "config.h"
#include "dispatch.h"
#include "server.h"
#include "store.h"

#define V3 "/_matrix/client/v3"
#define AS_TOKEN "mxdev_as_token_for_the_bundled_mock_only"

static struct mock_config cfg;
static struct mock_state state;
static struct mock_server *srv;
static char base[64];

static void start(void) {
    char err[256];
    mock_config_init(&cfg);
    cr_assert_eq(mock_config_load_appservice(&cfg, MXDEV_FIXTURES_DIR "/appservice.yaml",
                                             err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(mock_state_setup(&state, &cfg), 0);
    srv = mock_server_start(&state, "127.0.0.1", 0, err, sizeof err);
    cr_assert_not_null(srv, "%s", err);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", mock_server_port(srv));
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void stop(void) {
    mock_server_stop(srv);
    mock_state_teardown(&state);
    mock_config_clean(&cfg);
    curl_global_cleanup();
}

TestSuite(http, .init = start, .fini = stop);

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg) {
    struct buf *b = arg;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

struct response {
    long status;
    json_t *json; /* new reference, or NULL */
    struct buf headers;
    struct buf body;
};

static void response_clean(struct response *r) {
    json_decref(r->json);
    free(r->headers.data);
    free(r->body.data);
    memset(r, 0, sizeof *r);
}

/* Performs one request; token and body may be NULL. Returns 0 or -1 (curl
 * failure). Thread-safe. */
static int request(const char *method, const char *path, const char *token,
                   const char *body, size_t body_len, struct response *r) {
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    char url[1024], auth[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *hdrs = NULL;
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return -1;
    if (r->body.data != NULL)
        r->json = json_loads(r->body.data, 0, NULL);
    return 0;
}

static int request_str(const char *method, const char *path, const char *token,
                       const char *body, struct response *r) {
    return request(method, path, token, body, body != NULL ? strlen(body) : 0, r);
}

static bool has_header(const struct response *r, const char *line) {
    return r->headers.data != NULL && strcasestr(r->headers.data, line) != NULL;
}

static const char *errcode(const struct response *r) {
    return json_string_value(json_object_get(r->json, "errcode"));
}

/* Registers localpart (password "pw") through UIA m.login.dummy; returns the
 * access token (new string) and fills device (11 bytes). */
static char *register_user(const char *localpart, char device[64]) {
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"username\":\"%s\",\"password\":\"pw\",\"auth\":{\"type\":\"m.login.dummy\"}}",
        localpart);
    struct response r;
    if (request_str("POST", V3 "/register", NULL, body, &r) < 0 || r.status != 200) {
        response_clean(&r);
        return NULL;
    }
    char *token = strdup(json_string_value(json_object_get(r.json, "access_token")));
    snprintf(device, 64, "%s", json_string_value(json_object_get(r.json, "device_id")));
    response_clean(&r);
    return token;
}

Test(http, body_over_64k_is_413) {
    char device[64];
    char *token = register_user("big", device);
    cr_assert_not_null(token);
    size_t n = MOCK_MAX_BODY + 100;
    char *big = malloc(n);
    cr_assert_not_null(big);
    memset(big, ' ', n);
    memcpy(big, "{\"display_name\":\"", 17);
    big[n - 2] = '"';
    big[n - 1] = '}';
    char path[128];
    snprintf(path, sizeof path, V3 "/devices/%s", device);
    struct response r;
    cr_assert_eq(request("PUT", path, token, big, n, &r), 0);
    cr_expect_eq(r.status, 413);
    cr_expect_str_eq(errcode(&r), "M_TOO_LARGE");
    cr_expect(has_header(&r, "Content-Type: application/json"));
    response_clean(&r);
    /* Exactly the limit is fine (and then not JSON-valid: 400, not 413). */
    cr_assert_eq(request("PUT", path, token, big, MOCK_MAX_BODY, &r), 0);
    cr_expect_eq(r.status, 400);
    cr_expect_str_eq(errcode(&r), "M_NOT_JSON");
    response_clean(&r);
    free(big);
    free(token);
}

Test(http, cors_preflight) {
    const char *paths[] = {V3 "/devices", V3 "/devices/ANY", V3 "/delete_devices"};
    for (size_t i = 0; i < 3; i++) {
        struct response r;
        cr_assert_eq(request_str("OPTIONS", paths[i], NULL, NULL, &r), 0);
        cr_expect_eq(r.status, 200, "%s", paths[i]);
        cr_expect(has_header(&r, "Access-Control-Allow-Origin: *"), "%s", paths[i]);
        cr_expect(has_header(&r, "Access-Control-Allow-Methods:"), "%s", paths[i]);
        cr_expect(has_header(&r, "Access-Control-Allow-Headers:"), "%s", paths[i]);
        response_clean(&r);
    }
    /* Every response carries the CORS header, errors included. */
    struct response r;
    cr_assert_eq(request_str("GET", V3 "/devices", NULL, NULL, &r), 0);
    cr_expect_eq(r.status, 401);
    cr_expect(has_header(&r, "Access-Control-Allow-Origin: *"));
    response_clean(&r);
}

Test(http, wrong_method_405) {
    struct response r;
    cr_assert_eq(request_str("PATCH", V3 "/devices", NULL, NULL, &r), 0);
    cr_expect_eq(r.status, 405);
    cr_expect_str_eq(errcode(&r), "M_UNRECOGNIZED");
    cr_expect(has_header(&r, "Allow: GET"));
    response_clean(&r);
}

Test(http, unknown_path_404) {
    struct response r;
    cr_assert_eq(request_str("GET", V3 "/no/such/thing", NULL, NULL, &r), 0);
    cr_expect_eq(r.status, 404);
    cr_expect_str_eq(errcode(&r), "M_UNRECOGNIZED");
    cr_expect(json_is_string(json_object_get(r.json, "error")));
    cr_expect(has_header(&r, "Content-Type: application/json"));
    response_clean(&r);
}

Test(http, non_json_body_400) {
    char device[64];
    char *token = register_user("nj", device);
    cr_assert_not_null(token);
    char path[128];
    snprintf(path, sizeof path, V3 "/devices/%s", device);
    const char *bodies[] = {"not json", "{\"display_name\":\"\xff\"}", "{\"a\":1", "{}x"};
    for (size_t i = 0; i < 4; i++) {
        struct response r;
        cr_assert_eq(request_str("PUT", path, token, bodies[i], &r), 0);
        cr_expect_eq(r.status, 400, "body %zu", i);
        cr_expect_str_eq(errcode(&r), "M_NOT_JSON", "body %zu", i);
        response_clean(&r);
    }
    struct response r;
    cr_assert_eq(request_str("PUT", path, token, "[1]", &r), 0);
    cr_expect_eq(r.status, 400);
    cr_expect_str_eq(errcode(&r), "M_BAD_JSON");
    response_clean(&r);
    free(token);
}

Test(http, as_creates_device_with_encoded_id) {
    struct response r;
    cr_assert_eq(request_str("POST", V3 "/register", AS_TOKEN,
                             "{\"type\":\"m.login.application_service\","
                             "\"username\":\"_mxdevconf_t1\",\"inhibit_login\":true}",
                             &r),
                 0);
    cr_expect_eq(r.status, 200);
    response_clean(&r);
    const char *path = V3 "/devices/A%20B%2F%C3%A9?user_id=%40_mxdevconf_t1%3Alocalhost";
    cr_assert_eq(request_str("PUT", path, AS_TOKEN, "{\"display_name\":\"n\"}", &r), 0);
    cr_expect_eq(r.status, 201);
    response_clean(&r);
    cr_assert_eq(request_str("PUT", path, AS_TOKEN, "{\"display_name\":\"m\"}", &r), 0);
    cr_expect_eq(r.status, 200);
    response_clean(&r);
    cr_assert_eq(request_str("GET", path, AS_TOKEN, NULL, &r), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "device_id")),
                     "A B/\xC3\xA9");
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "display_name")), "m");
    response_clean(&r);
    cr_assert_eq(request_str("DELETE", path, AS_TOKEN, NULL, &r), 0);
    cr_expect_eq(r.status, 200);
    response_clean(&r);
    cr_assert_eq(request_str("GET", path, AS_TOKEN, NULL, &r), 0);
    cr_expect_eq(r.status, 404);
    response_clean(&r);
}

#define N_CLIENTS 32
#define N_ROUNDS 20

struct client {
    int index;
    int failures;
    char first_failure[256];
};

static void *run_client(void *arg) {
    struct client *c = arg;
    char localpart[32], device[64], path[160], body[64];
    snprintf(localpart, sizeof localpart, "conc%d", c->index);
    char *token = register_user(localpart, device);
    if (token == NULL) {
        c->failures++;
        snprintf(c->first_failure, sizeof c->first_failure, "register failed");
        return NULL;
    }
    snprintf(path, sizeof path, V3 "/devices/%s", device);
    for (int i = 0; i < N_ROUNDS; i++) {
        struct response r;
        snprintf(body, sizeof body, "{\"display_name\":\"name %d\"}", i);
        int rc = request_str("PUT", path, token, body, &r);
        long put_status = r.status;
        response_clean(&r);
        int rc2 = request_str("GET", V3 "/devices", token, NULL, &r);
        json_t *devices = json_object_get(r.json, "devices");
        const char *name = json_string_value(
            json_object_get(json_array_get(devices, 0), "display_name"));
        bool ok = rc == 0 && rc2 == 0 && put_status == 200 && r.status == 200 &&
                  json_array_size(devices) == 1 && name != NULL;
        char want[32];
        snprintf(want, sizeof want, "name %d", i);
        ok = ok && strcmp(name, want) == 0;
        if (!ok && c->failures++ == 0)
            snprintf(c->first_failure, sizeof c->first_failure,
                     "round %d: PUT %ld, GET %ld %s", i, put_status, r.status,
                     r.body.data != NULL ? r.body.data : "");
        response_clean(&r);
    }
    free(token);
    return NULL;
}

Test(http, concurrent_clients_list_and_rename) {
    pthread_t threads[N_CLIENTS];
    struct client clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = (struct client){.index = i};
        cr_assert_eq(pthread_create(&threads[i], NULL, run_client, &clients[i]), 0);
    }
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < N_CLIENTS; i++)
        cr_expect_eq(clients[i].failures, 0, "client %d: %d failures, first: %s", i,
                     clients[i].failures, clients[i].first_failure);
}
