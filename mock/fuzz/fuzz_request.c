/* libFuzzer harness: arbitrary requests through mock_dispatch, the same
 * request logic the server runs, without libmicrohttpd.
 *
 * Input layout (one request per input):
 *   METHOD \n URI \n AUTHORIZATION \n BODY...
 * An empty AUTHORIZATION line means no header. Missing lines are empty.
 * The state is built once with the bundled application-service registration
 * and a seeded user whose token the corpus knows, so authenticated paths are
 * reached; the seeded device comes back whenever an input deleted it, and the
 * whole state is rebuilt every REBUILD_EVERY inputs so memory stays bounded.
 *
 * Oracle, besides the sanitizers: every reply has a valid HTTP status and a
 * JSON body that parses whenever the content type says JSON.
 *
 *   CC=clang cmake -S . -B build-fuzz -DMXDEV_FUZZ=ON
 *   cmake --build build-fuzz --target mock_fuzz_request
 *   build-fuzz/mock/mock_fuzz_request -dict=mock/fuzz/request.dict \
 *       -max_total_time=60 mock/fuzz/corpus */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dispatch.h"
#include "store.h"

#define FUZZ_USER "@fuzz:localhost"
#define FUZZ_PASSWORD "fuzz-password"
#define FUZZ_DEVICE "FUZZDEVICE"
#define FUZZ_TOKEN "fuzz_token"
#define FUZZ_OTHER_DEVICE "OTHERDEVICE"
#define REBUILD_EVERY 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mock_config cfg;
static struct mock_state state;
static bool ready;
static unsigned long since_rebuild;

static void die(const char *what) {
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

/* Puts the seeded user, devices and token back (idempotent). */
static void reseed(void) {
    store_lock(state.store);
    if (!store_user_exists(state.store, FUZZ_USER) &&
        store_user_create(state.store, FUZZ_USER, FUZZ_PASSWORD) != 0)
        die("cannot create the seeded user");
    if (store_device_get(state.store, FUZZ_USER, FUZZ_DEVICE) == NULL &&
        store_device_create(state.store, FUZZ_USER, FUZZ_DEVICE, "fuzzing") != 0)
        die("cannot create the seeded device");
    if (store_device_get(state.store, FUZZ_USER, FUZZ_OTHER_DEVICE) == NULL &&
        store_device_create(state.store, FUZZ_USER, FUZZ_OTHER_DEVICE, NULL) != 0)
        die("cannot create the second device");
    struct store_token_owner owner;
    if (store_token_lookup(state.store, FUZZ_TOKEN, &owner) != 0 &&
        store_token_insert(state.store, FUZZ_USER, FUZZ_DEVICE, FUZZ_TOKEN) != 0)
        die("cannot bind the seeded token");
    store_unlock(state.store);
}

static void setup(void) {
    char err[512];
    mock_config_init(&cfg);
    if (mock_config_load_appservice(&cfg, MXDEV_FIXTURES_DIR "/appservice.yaml", err,
                                    sizeof err) != 0)
        die(err);
    if (mock_state_setup(&state, &cfg) != 0)
        die("mock_state_setup failed");
    reseed();
    ready = true;
}

/* Copies the next '\n'-terminated field into a new NUL-terminated string. */
static char *next_field(const uint8_t **p, const uint8_t *end) {
    const uint8_t *start = *p;
    const uint8_t *nl = memchr(start, '\n', (size_t)(end - start));
    const uint8_t *stop = nl != NULL ? nl : end;
    size_t len = (size_t)(stop - start);
    char *s = malloc(len + 1);
    if (s == NULL)
        die("out of memory");
    memcpy(s, start, len);
    s[len] = '\0';
    *p = nl != NULL ? nl + 1 : end;
    return s;
}

static void check_reply(const struct mock_reply *reply) {
    if (reply->status < 100 || reply->status > 599)
        die("status out of range");
    if (reply->body_len > 0 && reply->body == NULL)
        die("body_len without body");
    if (reply->body != NULL && reply->body_len > 0 && reply->content_type != NULL &&
        strstr(reply->content_type, "json") != NULL) {
        json_error_t jerr;
        json_t *parsed = json_loadb(reply->body, reply->body_len, 0, &jerr);
        if (parsed == NULL) {
            fprintf(stderr, "reply %u is not JSON: %s\n%.*s\n", reply->status, jerr.text,
                    (int)reply->body_len, reply->body);
            die("invalid JSON reply");
        }
        json_decref(parsed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready)
        setup();
    if (++since_rebuild >= REBUILD_EVERY) {
        mock_state_teardown(&state);
        memset(&state, 0, sizeof state);
        if (mock_state_setup(&state, &cfg) != 0)
            die("mock_state_setup failed");
        since_rebuild = 0;
    }
    reseed();

    const uint8_t *p = data;
    const uint8_t *end = data + size;
    char *method = next_field(&p, end);
    char *uri = next_field(&p, end);
    char *authorization = next_field(&p, end);
    size_t body_len = (size_t)(end - p);
    /* An exact-size copy, so that reading past the body is caught. */
    char *body = body_len > 0 ? malloc(body_len) : NULL;
    if (body_len > 0 && body == NULL)
        die("out of memory");
    if (body != NULL)
        memcpy(body, p, body_len);

    struct mock_request req = {
        .method = method,
        .uri = uri,
        .authorization = authorization[0] != '\0' ? authorization : NULL,
        .client_ip = "127.0.0.1",
        .body = body,
        .body_len = body_len,
    };
    /* The transport drops oversized bodies before dispatch. */
    if (body_len > MOCK_MAX_BODY) {
        req.body = NULL;
        req.body_len = 0;
        req.body_too_large = true;
    }

    struct mock_reply reply;
    memset(&reply, 0, sizeof reply);
    mock_dispatch(&state, &req, &reply);
    check_reply(&reply);
    mock_reply_clean(&reply);

    free(body);
    free(authorization);
    free(uri);
    free(method);
    return 0;
}
