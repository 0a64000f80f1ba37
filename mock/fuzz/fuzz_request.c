/* libFuzzer harness: arbitrary requests through mock_dispatch, the same
 * request logic the server runs, without libmicrohttpd.
 *
 * Input layout (one request per input):
 *   METHOD \n URI \n AUTHORIZATION \n BODY...
 * An empty AUTHORIZATION line means no header. Missing lines are empty.
 * The configuration (the bundled application-service registration) is
 * loaded once; the state is built afresh for every input, with a seeded user
 * whose token the corpus knows, so authenticated paths are reached. A fresh
 * state makes every crash reproducible from its input alone, and as each
 * input then frees all it allocates, LeakSanitizer only scans when
 * something really leaked.
 *
 * Oracle, besides the sanitizers: every reply has a valid HTTP status and a
 * JSON body that parses whenever the content type says JSON.
 *
 *   CC=clang cmake -S . -B build-fuzz -DMXDEV_FUZZ=ON
 *   cmake --build build-fuzz --target mock_fuzz_request
 * MXDEV_FUZZ_TRACE=1 prints every reply (run single inputs to check the corpus).
 *
 *   mkdir -p /tmp/corpus && build-fuzz/mock/mock_fuzz_request \
 *       -dict=mock/fuzz/request.dict -max_total_time=60 /tmp/corpus mock/fuzz/corpus
 */
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
/* A user in the bundled application service's namespace, so that requests
 * made with its as_token and ?user_id= reach the handlers. */
#define FUZZ_AS_USER "@_mxdevconf_fuzz:localhost"
#define FUZZ_AS_DEVICE "ASDEVICE"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mock_config cfg;
static struct mock_state state;
static bool ready;
static bool trace; /* MXDEV_FUZZ_TRACE=1: print each reply, for corpus work */

static void die(const char *what) {
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

/* The seeded users: FUZZ_USER with two devices, one bound to FUZZ_TOKEN, and
 * FUZZ_AS_USER with one device. */
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
    if (store_user_create(state.store, FUZZ_AS_USER, NULL) != 0 ||
        store_device_create(state.store, FUZZ_AS_USER, FUZZ_AS_DEVICE, NULL) != 0)
        die("cannot create the application-service user");
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
    /* Runs the limiter on every limited route; the state is fresh per input,
     * so it never refuses and outcomes stay reproducible. */
    cfg.rate_limit = true;
    cfg.rate_limit_per_min = 1000;
    trace = getenv("MXDEV_FUZZ_TRACE") != NULL;
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
    memset(&state, 0, sizeof state);
    if (mock_state_setup(&state, &cfg) != 0)
        die("mock_state_setup failed");
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
    if (trace)
        fprintf(stderr, "%s %s -> %u %.*s\n", method, uri, reply.status,
                (int)(reply.body_len < 160 ? reply.body_len : 160),
                reply.body != NULL ? reply.body : "");
    mock_reply_clean(&reply);
    mock_state_teardown(&state);

    free(body);
    free(authorization);
    free(uri);
    free(method);
    return 0;
}
