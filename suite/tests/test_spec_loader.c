/* Unit tests of the YAML loader, the spec loader and check-examples, over
 * the spec's own files (/work/shared/spec/<version>/client-server) and over
 * broken copies written to a temporary directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mx_schema.h"
#include "mx_spec.h"
#include "mx_yaml.h"

#ifndef MXDEV_SHARED_SPEC_DIR
#define MXDEV_SHARED_SPEC_DIR ""
#endif

static const char *const versions[] = {"v1.16", "v1.17", "v1.18", "v1.19", "main"};

#define GET_DEVICE_EXAMPLE                                                               \
    "device_management.yaml#/paths/~1devices~1{deviceId}/get/responses/200/content/"     \
    "application~1json/examples/response/value"
#define GET_DEVICES_EXAMPLE                                                              \
    "device_management.yaml#/paths/~1devices/get/responses/200/content/"                 \
    "application~1json/examples/response/value"

/* The folder holding v1.16/, v1.17/, ...: $MXDEV_SHARED_SPEC_DIR, else the
 * one next to the source tree; skips the test when neither exists. */
static const char *spec_root(void) {
    const char *root = getenv("MXDEV_SHARED_SPEC_DIR");
    struct stat st;

    if (!root || !*root)
        root = MXDEV_SHARED_SPEC_DIR;
    if (!*root || stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
        cr_skip_test("no spec checkouts at \"%s\" (set MXDEV_SHARED_SPEC_DIR)", root);
    return root;
}

static void version_dir(char *buf, size_t len, const char *version) {
    snprintf(buf, len, "%s/%s/client-server", spec_root(), version);
}

static struct mx_spec *load_version(const char *version) {
    char dir[4096];
    json_error_t err;
    struct mx_spec *spec;

    version_dir(dir, sizeof dir, version);
    spec = mx_spec_load(dir, &err);
    cr_assert_not_null(spec, "%s: %s:%d: %s", version, err.source, err.line, err.text);
    return spec;
}

static const struct mx_spec_example *find_example(const struct mx_spec *spec,
                                                  const char *location) {
    for (size_t i = 0; i < mx_spec_example_count(spec); i++) {
        const struct mx_spec_example *ex = mx_spec_example_at(spec, i);

        if (!strcmp(ex->location, location))
            return ex;
    }
    return NULL;
}

/* ---- temporary copies of a spec folder ---------------------------------- */

static int on_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir) {
    nftw(dir, on_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static char *read_text(const char *path) {
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    long n;

    cr_assert_not_null(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    text = calloc(1, (size_t)n + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return text;
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[4096];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "wb");
    cr_assert_not_null(fp, "cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
}

/* Replaces occurrence number `nth` (1-based) of from with to; new string. */
static char *replace_nth(const char *text, const char *from, const char *to, int nth) {
    const char *at = text;
    char *out;

    for (int i = 0; i < nth; i++) {
        at = strstr(i ? at + 1 : at, from);
        cr_assert_not_null(at, "\"%s\" occurs fewer than %d times", from, nth);
    }
    out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
    cr_assert_not_null(out);
    sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* A temp folder with device_management.yaml = text and definitions/ linked
 * to the v1.17 originals. Returns the folder (static buffer). */
static const char *make_copy(const char *text) {
    static char dir[64];
    char src[4096], link[4200];

    snprintf(dir, sizeof dir, "%s", "/tmp/mxdev-spec-XXXXXX");
    version_dir(src, sizeof src, "v1.17");
    strcat(src, "/definitions");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(link, sizeof link, "%s/definitions", dir);
    cr_assert_eq(symlink(src, link), 0, "symlink: %s", strerror(errno));
    write_text(dir, "device_management.yaml", text);
    return dir;
}

static char *original_v117(void) {
    char path[4096];

    version_dir(path, sizeof path, "v1.17");
    strcat(path, "/device_management.yaml");
    return read_text(path);
}

/* ---- loading the real files --------------------------------------------- */

Test(spec_loader, every_version_loads_with_operations_and_no_refs,
     .description = "device_management.yaml of every spec version loads, every $ref "
                    "is resolved and the five operations are present") {
    static const char *const ops[][3] = {
        {"GET", "/devices", "getDevices"},
        {"GET", "/devices/{deviceId}", "getDevice"},
        {"PUT", "/devices/{deviceId}", "updateDevice"},
        {"DELETE", "/devices/{deviceId}", "deleteDevice"},
        {"POST", "/delete_devices", "deleteDevices"},
    };

    for (size_t v = 0; v < sizeof versions / sizeof *versions; v++) {
        struct mx_spec *spec = load_version(versions[v]);
        char *dump = json_dumps(mx_spec_document(spec, "device_management.yaml"), 0);

        cr_assert_not_null(dump);
        cr_expect_null(strstr(dump, "\"$ref\""), "%s: a $ref is left", versions[v]);
        cr_expect_null(strstr(dump, "x-recursive-ref"), "%s: unexpected cycle",
                       versions[v]);
        free(dump);
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
            const json_t *op = mx_spec_operation(spec, ops[i][0], ops[i][1]);

            cr_expect_not_null(op, "%s: %s %s missing", versions[v], ops[i][0],
                               ops[i][1]);
            cr_expect_str_eq(json_string_value(json_object_get(op, "operationId")),
                             ops[i][2], "%s: %s %s", versions[v], ops[i][0], ops[i][1]);
        }
        mx_spec_free(spec);
    }
}

Test(spec_loader, examples_found_with_pointers_and_valid,
     .description = "every version's examples are found, located by file and JSON "
                    "pointer, and satisfy their schemas") {
    for (size_t v = 0; v < sizeof versions / sizeof *versions; v++) {
        struct mx_spec *spec = load_version(versions[v]);
        const struct mx_spec_example *ex;

        cr_expect_geq(mx_spec_example_count(spec), 15, "%s: only %zu examples",
                      versions[v], mx_spec_example_count(spec));
        ex = find_example(spec, GET_DEVICE_EXAMPLE);
        cr_assert_not_null(ex, "%s: getDevice example not found", versions[v]);
        cr_expect_str_eq(ex->kind, "response");
        cr_expect_str_eq(ex->method, "GET");
        cr_expect_str_eq(ex->operation_id, "getDevice");
        cr_expect_eq(ex->status, 200);
        cr_expect_str_eq(json_string_value(json_object_get(ex->value, "device_id")),
                         "QBUAZIFURK");
        cr_expect_not_null(find_example(spec, GET_DEVICES_EXAMPLE), "%s", versions[v]);
        cr_expect_not_null(find_example(spec,
                                        "definitions/client_device.yaml#/properties/"
                                        "last_seen_ts/example"),
                           "%s: schema-level examples of referenced files", versions[v]);
        cr_expect_not_null(find_example(spec, "definitions/auth_data.yaml#/example"),
                           "%s", versions[v]);
        for (size_t i = 0; i < mx_spec_example_count(spec); i++) {
            char err[512];

            ex = mx_spec_example_at(spec, i);
            cr_expect_eq(mx_spec_check_example(ex, err, sizeof err), 0, "%s: %s: %s",
                         versions[v], ex->location, err);
            cr_expect_not_null(ex->schema, "%s: %s has no schema", versions[v],
                               ex->location);
        }
        mx_spec_free(spec);
    }
}

Test(spec_loader, schemas_and_version_annotations,
     .description = "response schemas are found by template or concrete path, and "
                    "x-changedInMatrixVersion appears from 1.17 on") {
    struct mx_spec *old = load_version("v1.16");
    struct mx_spec *cur = load_version("v1.17");
    const json_t *s;
    const json_t *changed;
    char *path;

    s = mx_spec_schema_for(cur, "get", "/_matrix/client/v3/devices/ABC%2FDEF?x=1", 200);
    cr_assert_not_null(s);
    cr_expect_not_null(json_object_get(json_object_get(s, "properties"), "last_seen_ts"));
    s = mx_spec_schema_for(cur, "POST", "/delete_devices", 401);
    cr_assert_not_null(s);
    cr_expect_not_null(json_object_get(json_object_get(s, "properties"), "flows"));
    cr_expect_null(mx_spec_schema_for(cur, "GET", "/devices/X", 404),
                   "the 404 response has no content");
    cr_expect_null(mx_spec_schema_for(cur, "GET", "/nowhere", 200));
    cr_expect_not_null(mx_spec_schema_for(cur, "PUT", "/devices/{deviceId}", 201));
    cr_expect_null(mx_spec_schema_for(old, "PUT", "/devices/{deviceId}", 201));

    changed = mx_spec_changed_in(cur, "PUT", "/devices/{deviceId}");
    cr_assert_not_null(changed);
    cr_expect_not_null(json_object_get(changed, "1.17"));
    cr_expect_not_null(mx_spec_changed_in(cur, "DELETE", "/devices/{deviceId}"));
    cr_expect_null(mx_spec_changed_in(cur, "GET", "/devices"));
    cr_expect_null(mx_spec_changed_in(old, "PUT", "/devices/{deviceId}"));
    cr_expect_null(mx_spec_added_in(cur, "GET", "/devices"));

    cr_expect_str_eq(mx_spec_base_path(cur, "GET", "/devices"), "/_matrix/client/v3");
    path = mx_spec_example_path(cur, "DELETE", "/devices/{deviceId}");
    cr_expect_str_eq(path, "/_matrix/client/v3/devices/QBUAZIFURK");
    free(path);
    mx_spec_free(old);
    mx_spec_free(cur);
}

Test(spec_loader, runtime_lookup_from_env,
     .description = "mx_spec_response_schema() answers from $MXDEV_SPEC_DIR, including "
                    "the neighbouring API files") {
    char dir[4096];

    version_dir(dir, sizeof dir, "v1.17");
    setenv("MXDEV_SPEC_DIR", dir, 1);
    cr_expect_not_null(mx_spec_response_schema("GET", "/_matrix/client/v3/devices", 200));
    cr_expect_not_null(mx_spec_response_schema("POST", "/_matrix/client/v3/login", 200));
    cr_expect_not_null(mx_spec_response_schema("GET", "/_matrix/client/versions", 200));
    cr_expect_null(mx_spec_response_schema("GET", "/_matrix/client/v3/nowhere", 200));

    /* A 401 may be the UIA challenge or a standard error (missing token). */
    const json_t *s401 =
        mx_spec_response_schema("DELETE", "/_matrix/client/v3/devices/X", 401);
    static const char *const bodies[] = {
        "{\"errcode\": \"M_MISSING_TOKEN\", \"error\": \"Missing access token\"}",
        "{\"flows\": [{\"stages\": [\"m.login.password\"]}], \"session\": \"s\"}",
        "{\"session\": \"s\"}"};
    char err[256];

    cr_assert_not_null(s401);
    for (size_t i = 0; i < 3; i++) {
        json_t *body = json_loads(bodies[i], 0, NULL);

        cr_assert_not_null(body);
        cr_expect_eq(mx_schema_validate(s401, body, err, sizeof err), i < 2 ? 0 : -1,
                     "%s: %s", bodies[i], err);
        json_decref(body);
    }
}

/* ---- broken copies --------------------------------------------------------- */

Test(spec_loader, broken_example_is_reported_where_it_is,
     .description = "an example that violates its schema is reported with its file, "
                    "JSON pointer and the failing member") {
    char *orig = original_v117();
    /* The second occurrence is the getDevice example (the first is getDevices). */
    char *text = replace_nth(orig, "\"last_seen_ts\": 1474491775024",
                             "\"last_seen_ts\": \"1474491775024\"", 2);
    const char *dir = make_copy(text);
    json_error_t jerr;
    struct mx_spec *spec = mx_spec_load(dir, &jerr);
    size_t invalid = 0;

    cr_assert_not_null(spec, "%s:%d: %s", jerr.source, jerr.line, jerr.text);
    for (size_t i = 0; i < mx_spec_example_count(spec); i++) {
        const struct mx_spec_example *ex = mx_spec_example_at(spec, i);
        char err[512];

        if (mx_spec_check_example(ex, err, sizeof err) == 0)
            continue;
        invalid++;
        cr_expect_str_eq(ex->location, GET_DEVICE_EXAMPLE);
        cr_expect_not_null(strstr(err, "/last_seen_ts"), "reason: %s", err);
    }
    cr_expect_eq(invalid, 1);
    mx_spec_free(spec);

#ifdef MXDEV_CHECK_EXAMPLES
    {
        char cmd[8192], line[2048];
        int found = 0, status;
        FILE *out;

        snprintf(cmd, sizeof cmd, "'%s' --spec-dir '%s' --report-dir '%s/report'",
                 MXDEV_CHECK_EXAMPLES, dir, dir);
        /* The tool links criterion too: without this, it would take itself
         * for a sandboxed test of ours and abort. */
        unsetenv("BXFI_MAP");
        out = popen(cmd, "r");
        cr_assert_not_null(out);
        while (fgets(line, sizeof line, out)) {
            if (!strncmp(line, "FAIL " GET_DEVICE_EXAMPLE " /last_seen_ts",
                         strlen("FAIL " GET_DEVICE_EXAMPLE " /last_seen_ts")))
                found++;
            else
                cr_expect(strncmp(line, "FAIL", 4), "unexpected: %s", line);
        }
        status = pclose(out);
        cr_expect_eq(found, 1, "check-examples did not report the broken example");
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit status %d",
                  status);
        snprintf(cmd, sizeof cmd, "%s/report/examples.json", dir);
        json_t *report = json_load_file(cmd, 0, NULL);
        cr_assert_not_null(report, "no %s", cmd);
        cr_expect_eq(json_integer_value(
                         json_object_get(json_object_get(report, "totals"), "fail")),
                     1);
        json_decref(report);
    }
#endif
    remove_tree(dir);
    free(text);
    free(orig);
}

Test(spec_loader, unresolvable_ref_names_its_location,
     .description = "a $ref to a missing file fails the load and names where it is") {
    char *orig = original_v117();
    char *text = replace_nth(orig, "$ref: definitions/client_device.yaml",
                             "$ref: definitions/no_such_file.yaml", 1);
    const char *dir = make_copy(text);
    json_error_t jerr;
    struct mx_spec *spec = mx_spec_load(dir, &jerr);

    cr_expect_null(spec);
    cr_expect_not_null(strstr(jerr.text, "device_management.yaml#/paths/~1devices/get/"),
                       "text: %s", jerr.text);
    cr_expect_not_null(strstr(jerr.text, "no_such_file.yaml"), "text: %s", jerr.text);
    mx_spec_free(spec);
    remove_tree(dir);
    free(text);
    free(orig);
}

Test(spec_loader, yaml_error_has_line,
     .description = "bad YAML is reported with its line") {
    char *orig = original_v117();
    /* Line numbers of the original: the "paths:" key is the 18th line. */
    char *text = replace_nth(orig, "paths:\n", "paths:\n  - [unclosed\n", 1);
    const char *dir = make_copy(text);
    json_error_t jerr;
    struct mx_spec *spec = mx_spec_load(dir, &jerr);

    cr_expect_null(spec);
    cr_expect_str_eq(jerr.source, "device_management.yaml");
    cr_expect(jerr.line >= 19 && jerr.line <= 20, "line %d: %s", jerr.line, jerr.text);
    mx_spec_free(spec);
    remove_tree(dir);
    free(text);
    free(orig);
}

Test(spec_loader, recursive_ref_is_cut,
     .description = "a schema that refers to itself loads, with the cycle cut") {
    static const char doc[] =
        "openapi: 3.1.0\n"
        "paths:\n"
        "  /tree:\n"
        "    get:\n"
        "      responses:\n"
        "        \"200\":\n"
        "          content:\n"
        "            application/json:\n"
        "              schema:\n"
        "                $ref: \"#/components/schemas/node\"\n"
        "              example: {\"name\": \"a\", \"child\": {\"name\": \"b\"}}\n"
        "components:\n"
        "  schemas:\n"
        "    node:\n"
        "      type: object\n"
        "      properties:\n"
        "        name: {type: string}\n"
        "        child:\n"
        "          $ref: \"#/components/schemas/node\"\n";
    const char *dir = make_copy(doc);
    json_error_t jerr;
    struct mx_spec *spec = mx_spec_load(dir, &jerr);
    char *dump;
    char err[256];

    cr_assert_not_null(spec, "%s:%d: %s", jerr.source, jerr.line, jerr.text);
    dump = json_dumps(mx_spec_document(spec, "device_management.yaml"), 0);
    cr_expect_null(strstr(dump, "\"$ref\""));
    cr_expect_not_null(strstr(dump, "x-recursive-ref"));
    free(dump);
    cr_assert_eq(mx_spec_example_count(spec), 1);
    cr_expect_eq(mx_spec_check_example(mx_spec_example_at(spec, 0), err, sizeof err), 0,
                 "%s", err);
    mx_spec_free(spec);
    remove_tree(dir);
}

/* ---- YAML core schema ------------------------------------------------------ */

static json_t *yaml(const char *text) {
    json_error_t err;
    json_t *v = mx_yaml_loadb(text, strlen(text), &err);

    cr_assert_not_null(v, "%d:%d: %s", err.line, err.column, err.text);
    return v;
}

Test(yaml, core_schema_typing,
     .description = "plain scalars are typed by the YAML 1.2 core schema, quoted ones "
                    "stay strings") {
    json_t *v = yaml("a: 1\nb: -0x1\nc: 0x1F\nd: 0o17\ne: 1.5\nf: ~\ng: null\nh: True\n"
                     "i: false\nj: '1'\nk: \"true\"\nl: 1.2.3.4\nm:\nn: !!str 12\n"
                     "o: yes\np: [1, x]\n\"200\": ok\n");
    json_t *want = json_loads("{\"a\":1,\"b\":\"-0x1\",\"c\":31,\"d\":15,\"e\":1.5,"
                              "\"f\":null,\"g\":null,\"h\":true,\"i\":false,\"j\":\"1\","
                              "\"k\":\"true\",\"l\":\"1.2.3.4\",\"m\":null,\"n\":\"12\","
                              "\"o\":\"yes\",\"p\":[1,\"x\"],\"200\":\"ok\"}",
                              0, NULL);

    cr_assert_not_null(want);
    cr_expect(json_equal(v, want), "got %s", json_dumps(v, JSON_COMPACT));
    json_decref(v);
    json_decref(want);
}

Test(yaml, errors_carry_lines, .description = "YAML errors name their line") {
    static const char *const bad[] = {"a: 1\nb: 2\na: 3\n", "a: 1\nb: [1, 2\nc: 3\n",
                                      "a: 1\nb: .inf\n", "a: 1\nb: *nowhere\n"};
    static const int line[] = {3, 3, 2, 2};

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_error_t err;
        json_t *v = mx_yaml_loadb(bad[i], strlen(bad[i]), &err);

        cr_expect_null(v, "case %zu parsed", i);
        cr_expect_eq(err.line, line[i], "case %zu: line %d: %s", i, err.line, err.text);
        json_decref(v);
    }
}

Test(yaml, anchors_and_empty,
     .description = "aliases share values; an empty file is null") {
    json_t *v = yaml("a: &x {b: 1}\nc: *x\n");

    cr_expect(json_equal(json_object_get(v, "a"), json_object_get(v, "c")));
    json_decref(v);
    v = yaml("");
    cr_expect(json_is_null(v));
    json_decref(v);
}
