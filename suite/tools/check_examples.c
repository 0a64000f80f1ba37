/* check-examples: validates every example of the spec's device management
 * API against the schema it illustrates, and optionally replays the
 * response examples against the reference mock to show whether it answers
 * with a body of the same shape.
 *
 *   check-examples --spec-dir DIR [--mock URL] [--report-dir DIR]
 *   check-examples --spec-dir DIR --write-seed FILE
 *
 * One line per example: "OK|FAIL <file>#<pointer> [reason]"; replays add
 * "OK|FAIL|SKIP <file>#<pointer> replay ...". Writes <report-dir>/examples.json.
 * Exit: 0 everything valid, 1 something invalid, 2 usage or load error.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mx_schema.h"
#include "mx_spec.h"

/* The account the seed file creates and the replay logs in as. The mock is
 * loopback-only test data, so fixed credentials are fine. */
#define SEED_LOCALPART "mxdev_examples"
#define SEED_PASSWORD "mxdev-examples-password"
#define SEED_DEVICE "MXDEVEXAMPLES"
#define SEED_TOKEN "mxdev_examples_token_for_the_mock_only"

#define REPLAY_TIMEOUT_S 10L

struct options {
    const char *spec_dir;
    const char *mock;
    const char *report_dir;
    const char *write_seed;
};

static void usage(FILE *out) {
    fprintf(out, "usage: check-examples --spec-dir DIR [--mock URL] [--report-dir DIR]\n"
                 "       check-examples --spec-dir DIR --write-seed FILE\n"
                 "\n"
                 "  --spec-dir DIR    data/api/client-server folder of a matrix-spec "
                 "checkout\n"
                 "  --mock URL        replay response examples against this mock "
                 "(started\n"
                 "                    with --seed FILE from --write-seed)\n"
                 "  --report-dir DIR  where examples.json goes (default: reports)\n"
                 "  --write-seed FILE write a mock seed file made from the examples and "
                 "exit\n");
}

static int parse_options(int argc, char **argv, struct options *o) {
    static const struct option longopts[] = {
        {"spec-dir", required_argument, NULL, 's'},
        {"mock", required_argument, NULL, 'm'},
        {"report-dir", required_argument, NULL, 'r'},
        {"write-seed", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    o->report_dir = "reports";
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
            case 's':
                o->spec_dir = optarg;
                break;
            case 'm':
                o->mock = optarg;
                break;
            case 'r':
                o->report_dir = optarg;
                break;
            case 'w':
                o->write_seed = optarg;
                break;
            case 'h':
                usage(stdout);
                exit(0);
            default:
                usage(stderr);
                return -1;
        }
    }
    if (optind != argc || !o->spec_dir) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -1;
        buf[i] = path[i];
    }
    return 0;
}

/* ---- seed file ---------------------------------------------------------- */

/* Adds every object with a "device_id" found inside v to devices. */
static void collect_devices(const json_t *v, json_t *devices, json_t *seen) {
    const char *k;
    const json_t *sub;
    size_t i;

    if (json_is_object(v)) {
        const char *id = json_string_value(json_object_get(v, "device_id"));
        const char *name = json_string_value(json_object_get(v, "display_name"));

        if (id && !json_object_get(seen, id)) {
            json_t *dev = json_pack("{ss}", "device_id", id);

            if (dev && name)
                json_object_set_new(dev, "display_name", json_string(name));
            /* The mock reports what it was seeded with until the device is
             * used, so the example's last-seen data can come back verbatim. */
            if (dev && json_is_string(json_object_get(v, "last_seen_ip")))
                json_object_set(dev, "last_seen_ip", json_object_get(v, "last_seen_ip"));
            if (dev && json_is_integer(json_object_get(v, "last_seen_ts")))
                json_object_set(dev, "last_seen_ts", json_object_get(v, "last_seen_ts"));
            if (dev)
                json_array_append_new(devices, dev);
            json_object_set_new(seen, id, json_true());
        }
        json_object_foreach((json_t *)v, k, sub) collect_devices(sub, devices, seen);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, sub) collect_devices(sub, devices, seen);
    }
}

static int write_seed(const struct mx_spec *spec, const char *file) {
    json_t *devices = json_array();
    json_t *seen = json_object();
    json_t *seed = NULL;
    int rc = -1;

    if (!devices || !seen)
        goto out;
    json_array_append_new(devices, json_pack("{ss ss ss}", "device_id", SEED_DEVICE,
                                             "display_name", "check-examples",
                                             "access_token", SEED_TOKEN));
    json_object_set_new(seen, SEED_DEVICE, json_true());
    for (size_t i = 0; i < mx_spec_example_count(spec); i++) {
        const struct mx_spec_example *ex = mx_spec_example_at(spec, i);

        if (!strcmp(ex->kind, "response"))
            collect_devices(ex->value, devices, seen);
    }
    seed = json_pack("{s[{ss ss sO}]}", "users", "user_id", SEED_LOCALPART, "password",
                     SEED_PASSWORD, "devices", devices);
    if (seed && json_dump_file(seed, file, JSON_INDENT(2)) == 0)
        rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "check-examples: cannot write %s\n", file);
    json_decref(seed);
    json_decref(devices);
    json_decref(seen);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------- */

struct buf {
    char *data;
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct buf *b = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);

    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Sends one request with the seed account's token. Returns 0 with *status
 * and *json (new reference, NULL when the body is not JSON), or -1 with a
 * reason in err. */
static int http_call(const char *base, const char *method, const char *path,
                     const json_t *body, long *status, json_t **json, char *err,
                     size_t err_len) {
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    struct buf resp = {NULL, 0};
    char *url = NULL, *payload = NULL;
    CURLcode res;
    int rc = -1;

    *status = 0;
    *json = NULL;
    if (!curl || asprintf(&url, "%s%s", base, path) < 0) {
        url = NULL;
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    headers = curl_slist_append(headers, "Authorization: Bearer " SEED_TOKEN);
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload ? payload : "{}");
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REPLAY_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        snprintf(err, err_len, "%s %s: %s", method, path, curl_easy_strerror(res));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (resp.data)
        *json = json_loadb(resp.data, resp.len, 0, NULL);
    rc = 0;
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(resp.data);
    free(payload);
    free(url);
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

/* A request body for the operation from the spec's own examples: the media
 * type's example, then its first named example, then the schema's example,
 * then an object of the required properties' examples. New reference. */
static json_t *request_body_of(const json_t *op) {
    const json_t *media =
        json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"),
                        "application/json");
    const json_t *schema = json_object_get(media, "schema");
    const json_t *v, *examples = json_object_get(media, "examples");
    const char *k;
    json_t *body;
    size_t i;

    if (!json_object_get(op, "requestBody"))
        return NULL;
    v = json_object_get(media, "example");
    if (v)
        return json_deep_copy(v);
    json_object_foreach((json_t *)examples, k, v) {
        if (json_object_get(v, "value"))
            return json_deep_copy(json_object_get(v, "value"));
    }
    v = json_object_get(schema, "example");
    if (v)
        return json_deep_copy(v);
    body = json_object();
    json_array_foreach(json_object_get(schema, "required"), i, v) {
        const char *name = json_string_value(v);
        const json_t *prop = json_object_get(json_object_get(schema, "properties"), name);
        const json_t *ex = json_object_get(prop, "example");

        if (name && ex)
            json_object_set_new(body, name, json_deep_copy(ex));
    }
    return body;
}

/* Whether a 401 body offers the password stage; returns its session. */
static const char *password_session(const json_t *body) {
    const json_t *flow, *stage;
    size_t i, j;

    json_array_foreach(json_object_get(body, "flows"), i, flow) {
        json_array_foreach(json_object_get(flow, "stages"), j, stage) {
            if (json_is_string(stage) &&
                !strcmp(json_string_value(stage), "m.login.password"))
                return json_string_value(json_object_get(body, "session"));
        }
    }
    return NULL;
}

static const char *const id_keys[] = {"device_id", "user_id", "room_id", "event_id"};

/* The live array element that corresponds to example element `want`: the one
 * with the same identifier, else the one at the same index. */
static const json_t *counterpart(const json_t *live_arr, const json_t *want, size_t idx) {
    for (size_t k = 0; k < sizeof id_keys / sizeof *id_keys; k++) {
        const json_t *id = json_object_get(want, id_keys[k]);
        const json_t *cand;
        size_t i;

        if (!id)
            continue;
        json_array_foreach(live_arr, i, cand) {
            if (json_equal(json_object_get(cand, id_keys[k]), id))
                return cand;
        }
        return NULL;
    }
    return json_array_get(live_arr, idx);
}

/* Records in missing / extra the pointers of keys that only the example or
 * only the live body has, recursing into objects and arrays of objects. */
static void compare_keys(const json_t *ex, const json_t *live, const char *ptr,
                         json_t *missing, json_t *extra) {
    const char *k;
    const json_t *v;
    size_t i;
    char sub[1024];

    if (json_is_object(ex) && json_is_object(live)) {
        json_object_foreach((json_t *)ex, k, v) {
            snprintf(sub, sizeof sub, "%s/%s", ptr, k);
            if (!json_object_get(live, k))
                json_array_append_new(missing, json_string(sub));
            else
                compare_keys(v, json_object_get(live, k), sub, missing, extra);
        }
        json_object_foreach((json_t *)live, k, v) {
            snprintf(sub, sizeof sub, "%s/%s", ptr, k);
            if (!json_object_get(ex, k))
                json_array_append_new(extra, json_string(sub));
        }
    } else if (json_is_array(ex) && json_is_array(live)) {
        json_array_foreach(ex, i, v) {
            const json_t *peer = counterpart(live, v, i);

            snprintf(sub, sizeof sub, "%s/%zu", ptr, i);
            if (peer)
                compare_keys(v, peer, sub, missing, extra);
            else if (json_is_object(v))
                json_array_append_new(missing, json_string(sub));
        }
    }
}

static void join_strings(const json_t *arr, char *out, size_t len) {
    const json_t *v;
    size_t i, n = 0;

    out[0] = '\0';
    json_array_foreach(arr, i, v) {
        int w = snprintf(out + n, len - n, "%s%s", i ? ", " : "", json_string_value(v));

        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}

/* Replays one response example; returns a new report object with
 * "verdict" ok / fail / skip. */
static json_t *replay(const struct mx_spec *spec, const struct mx_spec_example *ex,
                      const char *mock) {
    const json_t *op = mx_spec_operation(spec, ex->method, ex->path);
    char *path = mx_spec_example_path(spec, ex->method, ex->path);
    json_t *report = json_object(), *body = NULL, *live = NULL;
    json_t *missing = json_array(), *extra = json_array();
    char err[512] = "", request[1024];
    const char *verdict = "fail";
    long status = 0;

    snprintf(request, sizeof request, "%s %s", ex->method, path ? path : ex->path);
    if (!path) {
        verdict = "skip";
        snprintf(err, sizeof err, "a path parameter has no example");
        goto out;
    }
    if (ex->status == 201) {
        /* Creating a device needs the application service's token and a
         * user in its namespace: the suite's asc tests cover that. */
        verdict = "skip";
        snprintf(err, sizeof err, "creation needs an application service");
        goto out;
    }
    body = strcmp(ex->method, "GET") ? request_body_of(op) : NULL;
    if (http_call(mock, ex->method, path, body, &status, &live, err, sizeof err) < 0)
        goto out;
    if (status == 401 && password_session(live)) {
        json_t *auth =
            json_pack("{ss s{ssss} ss ss}", "type", "m.login.password", "identifier",
                      "type", "m.id.user", "user", SEED_LOCALPART, "password",
                      SEED_PASSWORD, "session", password_session(live));

        if (!body)
            body = json_object();
        json_object_set_new(body, "auth", auth);
        json_decref(live);
        live = NULL;
        if (http_call(mock, ex->method, path, body, &status, &live, err, sizeof err) < 0)
            goto out;
    }
    if (status != ex->status) {
        snprintf(err, sizeof err, "status %ld, the example is for %ld", status,
                 ex->status);
        goto out;
    }
    if (!live) {
        snprintf(err, sizeof err, "status %ld with a body that is not JSON", status);
        goto out;
    }
    if (ex->schema && mx_schema_validate(ex->schema, live, err, sizeof err) < 0) {
        char why[sizeof err];

        snprintf(why, sizeof why, "%s", err);
        snprintf(err, sizeof err, "live body invalid: %.400s", why);
        goto out;
    }
    compare_keys(ex->value, live, "", missing, extra);
    if (json_array_size(missing) || json_array_size(extra)) {
        char m[200], x[200];

        join_strings(missing, m, sizeof m);
        join_strings(extra, x, sizeof x);
        snprintf(err, sizeof err, "keys differ: only in example [%s], only live [%s]", m,
                 x);
        goto out;
    }
    verdict = "ok";
    snprintf(err, sizeof err, "body valid, same keys");
out:
    json_object_set_new(report, "verdict", json_string(verdict));
    json_object_set_new(report, "request", json_string(request));
    json_object_set_new(report, "status", status ? json_integer(status) : json_null());
    json_object_set_new(report, "reason", json_string(err));
    json_object_set_new(report, "keys_only_in_example", missing);
    json_object_set_new(report, "keys_only_live", extra);
    json_object_set_new(report, "live_body", live ? live : json_null());
    json_decref(body);
    free(path);
    return report;
}

/* Order of replays: reads first, then updates, then deletions, so a
 * deletion cannot remove the device a later read expects. */
static int method_rank(const char *method) {
    if (!strcasecmp(method, "GET"))
        return 0;
    if (!strcasecmp(method, "PUT"))
        return 1;
    if (!strcasecmp(method, "POST"))
        return 2;
    return 3;
}

/* ---- main ------------------------------------------------------------- */

static json_t *example_record(const struct mx_spec_example *ex, bool ok,
                              const char *why) {
    return json_pack("{ss ss ss ss ss* ss* ss* so ss ss* sO}", "location", ex->location,
                     "file", ex->file, "pointer", ex->pointer, "kind", ex->kind, "method",
                     ex->method, "path", ex->path, "operation_id", ex->operation_id,
                     "status", ex->status ? json_integer(ex->status) : json_null(),
                     "verdict", ok ? "ok" : "fail", "reason", why, "value", ex->value);
}

static int write_report(const struct options *o, json_t *records, size_t ok, size_t bad,
                        size_t replay_fail) {
    char path[4096];
    json_t *doc;
    int rc;

    if (make_dirs(o->report_dir) < 0) {
        fprintf(stderr, "check-examples: cannot create %s: %s\n", o->report_dir,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/examples.json", o->report_dir);
    doc = json_pack("{ss ss so s{sIsIsI} sO}", "tool", "check-examples", "spec_dir",
                    o->spec_dir, "mock", o->mock ? json_string(o->mock) : json_null(),
                    "totals", "ok", (json_int_t)ok, "fail", (json_int_t)bad,
                    "replay_fail", (json_int_t)replay_fail, "examples", records);
    rc = doc ? json_dump_file(doc, path, JSON_INDENT(2)) : -1;
    if (rc < 0)
        fprintf(stderr, "check-examples: cannot write %s\n", path);
    json_decref(doc);
    return rc;
}

int main(int argc, char **argv) {
    struct options o = {0};
    struct mx_spec *spec = NULL;
    json_t *records = NULL;
    json_error_t jerr;
    size_t ok = 0, bad = 0, replay_fail = 0, n;
    int status = 2;

    if (parse_options(argc, argv, &o) < 0)
        return 2;
    spec = mx_spec_load(o.spec_dir, &jerr);
    if (!spec) {
        if (jerr.line > 0)
            fprintf(stderr, "check-examples: %s/%s:%d: %s\n", o.spec_dir, jerr.source,
                    jerr.line, jerr.text);
        else
            fprintf(stderr, "check-examples: %s: %s\n", o.spec_dir, jerr.text);
        return 2;
    }
    if (o.write_seed) {
        status = write_seed(spec, o.write_seed) < 0 ? 2 : 0;
        goto out;
    }
    records = json_array();
    n = mx_spec_example_count(spec);
    for (size_t i = 0; i < n; i++) {
        const struct mx_spec_example *ex = mx_spec_example_at(spec, i);
        char why[512];
        bool valid = mx_spec_check_example(ex, why, sizeof why) == 0;

        if (valid)
            ok++;
        else
            bad++;
        if (valid && !ex->schema)
            printf("OK %s (%s)\n", ex->location, why);
        else if (valid)
            printf("OK %s\n", ex->location);
        else
            printf("FAIL %s %s\n", ex->location, why);
        json_array_append_new(records, example_record(ex, valid, valid ? NULL : why));
    }
    if (o.mock) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "check-examples: cannot initialise libcurl\n");
            goto out;
        }
        for (int rank = 0; rank <= 3; rank++) {
            for (size_t i = 0; i < n; i++) {
                const struct mx_spec_example *ex = mx_spec_example_at(spec, i);
                json_t *r;
                const char *v;
                json_int_t answer;
                char got[32];

                if (strcmp(ex->kind, "response") || ex->status < 200 ||
                    ex->status > 299 || method_rank(ex->method) != rank)
                    continue;
                r = replay(spec, ex, o.mock);
                v = json_string_value(json_object_get(r, "verdict"));
                answer = json_integer_value(json_object_get(r, "status"));
                if (answer)
                    snprintf(got, sizeof got, "%lld", (long long)answer);
                else if (!strcmp(v, "skip"))
                    snprintf(got, sizeof got, "not sent");
                else
                    snprintf(got, sizeof got, "no answer");
                printf("%s %s replay %s -> %s: %s\n",
                       !strcmp(v, "ok")     ? "OK"
                       : !strcmp(v, "skip") ? "SKIP"
                                            : "FAIL",
                       ex->location, json_string_value(json_object_get(r, "request")),
                       got, json_string_value(json_object_get(r, "reason")));
                if (!strcmp(v, "fail"))
                    replay_fail++;
                json_object_set_new(json_array_get(records, i), "replay", r);
            }
        }
        curl_global_cleanup();
    }
    printf("%zu examples: %zu valid, %zu invalid", n, ok, bad);
    if (o.mock)
        printf(", %zu replays failed", replay_fail);
    printf("\n");
    if (write_report(&o, records, ok, bad, replay_fail) < 0)
        goto out;
    status = bad || replay_fail ? 1 : 0;
out:
    json_decref(records);
    mx_spec_free(spec);
    return status;
}
