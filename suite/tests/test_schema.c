/* mx_schema: messages with JSON pointers, cross-file $ref, and the
 * endpoints.json lookup (most specific status wins), on test schemas in
 * suite/tests/data/schemas. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_match.h"
#include "mx_schema.h"
#include "mx_schema_select.h"

static void init(void) {
    static char dir[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/data", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    setenv("MXDEV_FIXTURES_DIR", dir, 1);
    unsetenv("MXDEV_SPEC_DIR");
}

TestSuite(schema, .init = init);

static json_t *parse(const char *text) {
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    cr_assert_not_null(j, "bad test JSON: %s", text);
    return j;
}

static void expect_invalid(const char *schema_text, const char *inst_text,
                           const char *needle) {
    json_t *s = parse(schema_text), *i = parse(inst_text);
    char err[512] = "";
    cr_expect_eq(mx_schema_validate(s, i, err, sizeof(err)), -1, "%s accepted %s",
                 schema_text, inst_text);
    cr_expect(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
    json_decref(s);
    json_decref(i);
}

static void expect_valid(const char *schema_text, const char *inst_text) {
    json_t *s = parse(schema_text), *i = parse(inst_text);
    char err[512] = "";
    cr_expect_eq(mx_schema_validate(s, i, err, sizeof(err)), 0, "%s rejected %s: %s",
                 schema_text, inst_text, err);
    json_decref(s);
    json_decref(i);
}

Test(schema, messages_name_the_place) {
    const char *devs =
        "{\"type\":\"object\",\"properties\":{\"devices\":{\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/$defs/d\"}}},\"$defs\":{\"d\":{\"type\":\"object\","
        "\"required\":[\"device_id\"],\"properties\":{\"last_seen_ts\":"
        "{\"type\":\"integer\"}}}}}";
    expect_valid(devs, "{\"devices\":[{\"device_id\":\"A\",\"last_seen_ts\":5}]}");
    expect_invalid(devs, "{\"devices\":[{\"device_id\":\"A\"},{\"x\":1}]}",
                   "/devices/1: required member \"device_id\" is missing");
    expect_invalid(devs, "{\"devices\":[{\"device_id\":\"A\",\"last_seen_ts\":\"5\"}]}",
                   "/devices/0/last_seen_ts: expected integer, got string");
    expect_invalid(devs, "[]", "(root): expected object, got array");
    expect_invalid("{\"properties\":{\"a/b~c\":{\"type\":\"null\"}}}", "{\"a/b~c\":1}",
                   "/a~1b~0c: expected null, got integer");
    expect_invalid("{\"type\":[\"string\",\"null\"]}", "1", "expected string or null");
    expect_invalid("{\"additionalProperties\":false,\"properties\":{\"a\":{}}}",
                   "{\"a\":1,\"b\":2}", "/b: member not allowed");
    expect_invalid("{\"enum\":[\"x\",\"y\"]}", "\"z\"",
                   "value not in enum [\"x\",\"y\"]");
    expect_invalid("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "true",
                   "matches none of anyOf (first alternative: (root): expected string");
    expect_invalid("{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1",
                   "matches 2 of oneOf's alternatives");
    expect_invalid("{\"minItems\":2}", "[1]", "array has 1 items, expected at least 2");
    expect_invalid("{\"$ref\":\"#/$defs/nowhere\"}", "1", "points nowhere");
    expect_invalid("{\"$ref\":\"#\"}", "1", "nesting deeper than");
    expect_invalid("{\"$ref\":\"http://example.org/x.json\"}", "1", "cannot be resolved");
    expect_valid("{\"type\":\"integer\"}", "1.0");
    expect_valid("{\"const\":1}", "1.0");
    expect_valid("{\"unknownKeyword\":{\"type\":\"string\"}}", "1");
}

Test(schema, lookup_by_endpoint_and_status) {
    const char *dev = "/_matrix/client/v3/devices/ABC%2FD";
    const json_t *s200 = mx_schema_for("GET", dev, 200);
    const json_t *s404 = mx_schema_for("GET", dev, 404);
    const json_t *s403 = mx_schema_for("GET", dev, 403);
    cr_assert_not_null(s200);
    cr_expect_eq(s200, mx_schema_load("device.json"));
    cr_expect_eq(s404, mx_schema_load("not_found.json"), "exact 404 beats 4xx");
    cr_expect_eq(s403, mx_schema_load("error.json"), "4xx applies to 403");
    cr_expect_null(mx_schema_for("GET", dev, 500), "no 5xx/default for this path");
    cr_expect_eq(mx_schema_for("get", "/_matrix/client/v3/devices", 200),
                 mx_schema_load("devices.json"), "integer status and method case");
    cr_expect_eq(mx_schema_for("GET", "/_matrix/client/v3/devices", 502),
                 mx_schema_load("error.json"), "default");
    cr_expect_null(mx_schema_for("PUT", dev, 200));
    cr_expect_null(mx_schema_for("GET", "/_matrix/client/v3/devices/A/B", 200));
    cr_expect_null(mx_schema_for("GET", "/_matrix/client/v3/devices/", 200));
    cr_expect_null(mx_schema_load("missing.json"));
}

Test(schema, cross_file_refs_and_match_schema) {
    json_t *good = parse("{\"devices\":[{\"device_id\":\"A\",\"display_name\":null}]}");
    json_t *bad = parse("{\"devices\":[{\"device_id\":7}]}");
    json_t *extra = parse("{\"devices\":[{\"device_id\":\"A\"}],\"x\":1}");
    struct mx_error e = {{0}};
    cr_expect_eq(mx_match_schema(good, "devices.json", &e), 0, "%s", e.text);
    struct mx_error e2 = {{0}};
    cr_expect_eq(mx_match_schema(bad, "devices.json", &e2), -1);
    cr_expect(
        strstr(e2.text, "schema devices.json: /devices/0/device_id: expected string") !=
            NULL,
        "%s", e2.text);
    struct mx_error e3 = {{0}};
    cr_expect_eq(mx_match_schema(extra, "devices.json", &e3), -1);
    cr_expect(strstr(e3.text, "/x: member not allowed") != NULL, "%s", e3.text);
    struct mx_error e4 = {{0}};
    cr_expect_eq(mx_match_schema(good, "missing.json", &e4), -1);
    cr_expect(strstr(e4.text, "cannot be loaded") != NULL, "%s", e4.text);
    json_t *nf = parse("{\"errcode\":\"M_FORBIDDEN\",\"error\":\"\"}");
    struct mx_error e5 = {{0}};
    cr_expect_eq(mx_match_schema(nf, "not_found.json", &e5), -1);
    cr_expect(strstr(e5.text, "/errcode: expected the constant \"M_NOT_FOUND\"") != NULL,
              "%s", e5.text);
    json_decref(good);
    json_decref(bad);
    json_decref(extra);
    json_decref(nf);
}

Test(schema, project_schemas_parse) {
    /* The real fixtures: every file endpoints.json names loads. */
    setenv("MXDEV_FIXTURES_DIR", MXDEV_FIXTURES_DIR, 1);
    const json_t *s = mx_schema_for("GET", "/_matrix/client/v3/devices", 200);
    if (!s)
        cr_skip_test("fixtures/schemas/endpoints.json not there yet");
    json_t *list = json_load_file(MXDEV_FIXTURES_DIR "/schemas/endpoints.json", 0, NULL);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *file = json_string_value(json_object_get(e, "schema"));
        cr_expect_not_null(mx_schema_load(file), "%s does not load", file);
    }
    json_decref(list);
}
