/* The official JSON-Schema-Test-Suite (Debian package json-schema-test-suite)
 * against mx_schema_validate, for the keyword files the validator supports.
 *
 * The packaged suite has no draft 2020-12 folder; draft 7 is the nearest.
 * Two kinds of case are skipped, and every skip is listed in the output:
 *  - groups whose schema uses a keyword the validator does not implement
 *    (found by walking the schema; e.g. additionalItems, patternProperties,
 *    maximum); unknown keywords are ignored by design, so these cases would
 *    test keywords we never claimed;
 *  - the groups in known_skips below, where draft 7 means something else
 *    than the 2020-12 subset we implement, or that need remote references or
 *    $id-based resolution. definitions.json is not run at all: both its
 *    cases validate against the draft-07 meta-schema, a remote reference. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mx_schema.h"

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests/draft7"

/* Keywords of draft 7 / 2020-12 that mx_schema does not implement. A member
 * not in this list is either implemented or not a keyword at all (e.g. the
 * "tilda~field" containers that $ref tests point into). */
static const char *const unsupported[] = {"additionalItems",
                                          "contains",
                                          "dependencies",
                                          "dependentRequired",
                                          "dependentSchemas",
                                          "exclusiveMaximum",
                                          "exclusiveMinimum",
                                          "format",
                                          "if",
                                          "then",
                                          "else",
                                          "maxItems",
                                          "maxLength",
                                          "maxProperties",
                                          "maximum",
                                          "minLength",
                                          "minProperties",
                                          "minimum",
                                          "multipleOf",
                                          "not",
                                          "pattern",
                                          "patternProperties",
                                          "propertyNames",
                                          "uniqueItems",
                                          "unevaluatedItems",
                                          "unevaluatedProperties",
                                          "$id",
                                          "$anchor",
                                          "$dynamicRef",
                                          "$recursiveRef",
                                          "contentMediaType",
                                          "contentEncoding",
                                          NULL};

struct known_skip {
    const char *file;
    const char *group;
    const char *why;
};

static const struct known_skip known_skips[] = {
    {"ref.json", "ref overrides any sibling keywords",
     "draft 7 ignores keywords next to $ref; in 2020-12 (our subset) they apply too"},
    {"ref.json", "remote ref, containing refs itself",
     "needs a remote reference (http://json-schema.org/draft-07/schema#)"},
    {"ref.json", "Recursive references between schemas",
     "needs $id-based resolution of relative URIs (tree.json / node.json)"},
    {"ref.json", "$ref prevents a sibling $id from changing the base uri",
     "needs $id-based resolution"},
    {"ref.json", "Location-independent identifier", "needs $id plain-name fragments"},
    {NULL, NULL, NULL},
};

static const char *known_skip_reason(const char *file, const char *group) {
    for (const struct known_skip *k = known_skips; k->file; k++)
        if (strcmp(k->file, file) == 0 && strcmp(k->group, group) == 0)
            return k->why;
    return NULL;
}

static bool is_supported(const char *kw) {
    for (size_t i = 0; unsupported[i]; i++)
        if (strcmp(unsupported[i], kw) == 0)
            return false;
    return true;
}

/* The first unsupported keyword used anywhere in schema, or NULL. The
 * members of "properties", "$defs" and "definitions" are names, not keywords. */
static const char *unsupported_keyword(const json_t *schema) {
    if (json_is_array(schema)) {
        size_t i;
        json_t *v;
        json_array_foreach(schema, i, v) {
            const char *k = unsupported_keyword(v);
            if (k)
                return k;
        }
        return NULL;
    }
    if (!json_is_object(schema))
        return NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)schema, key, v) {
        if (!is_supported(key))
            return key;
        if (strcmp(key, "enum") == 0 || strcmp(key, "const") == 0 ||
            strcmp(key, "default") == 0 || strcmp(key, "examples") == 0)
            continue; /* values, not schemas */
        if (strcmp(key, "properties") == 0 || strcmp(key, "$defs") == 0 ||
            strcmp(key, "definitions") == 0) {
            const char *name;
            json_t *sub;
            json_object_foreach(v, name, sub) {
                const char *k = unsupported_keyword(sub);
                if (k)
                    return k;
            }
            continue;
        }
        const char *k = unsupported_keyword(v);
        if (k)
            return k;
    }
    return NULL;
}

static void run_file(const char *file) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", SUITE_DIR, file);
    if (access(path, R_OK) < 0)
        cr_skip_test("%s is not installed (Debian package json-schema-test-suite)", path);
    json_error_t jerr;
    json_t *groups = json_load_file(path, 0, &jerr);
    cr_assert(json_is_array(groups), "%s: %s", path, jerr.text);

    size_t passed = 0, skipped = 0, failed = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(groups, gi, group) {
        const char *gdesc = json_string_value(json_object_get(group, "description"));
        json_t *schema = json_object_get(group, "schema");
        json_t *tests = json_object_get(group, "tests");
        const char *why = known_skip_reason(file, gdesc);
        const char *kw = why ? NULL : unsupported_keyword(schema);
        if (why || kw) {
            skipped += json_array_size(tests);
            printf("  skip %s / %s (%zu cases): %s%s\n", file, gdesc,
                   json_array_size(tests), why ? why : "uses unsupported keyword ",
                   why ? "" : kw);
            continue;
        }
        size_t ti;
        json_t *t;
        json_array_foreach(tests, ti, t) {
            const char *tdesc = json_string_value(json_object_get(t, "description"));
            bool valid = json_is_true(json_object_get(t, "valid"));
            char err[512] = "";
            int rc =
                mx_schema_validate(schema, json_object_get(t, "data"), err, sizeof(err));
            bool ok = (rc == 0) == valid;
            cr_expect(ok, "%s / %s / %s: expected %s, validator said %s%s%s", file, gdesc,
                      tdesc, valid ? "valid" : "invalid", rc == 0 ? "valid" : "invalid",
                      rc == 0 ? "" : ": ", rc == 0 ? "" : err);
            if (ok)
                passed++;
            else
                failed++;
            /* An invalid verdict always explains itself. */
            if (rc != 0)
                cr_expect(err[0] != '\0', "%s / %s / %s: no error text", file, gdesc,
                          tdesc);
        }
    }
    printf("%s: %zu passed, %zu failed, %zu skipped\n", file, passed, failed, skipped);
    fflush(stdout);
    cr_expect(passed > 0, "%s: no case was run", file);
    json_decref(groups);
}

Test(schema_suite, type) {
    run_file("type.json");
}
Test(schema_suite, properties) {
    run_file("properties.json");
}
Test(schema_suite, required) {
    run_file("required.json");
}
Test(schema_suite, items) {
    run_file("items.json");
}
Test(schema_suite, additionalProperties) {
    run_file("additionalProperties.json");
}
Test(schema_suite, enum_) {
    run_file("enum.json");
}
Test(schema_suite, allOf) {
    run_file("allOf.json");
}
Test(schema_suite, anyOf) {
    run_file("anyOf.json");
}
Test(schema_suite, oneOf) {
    run_file("oneOf.json");
}
Test(schema_suite, const_) {
    run_file("const.json");
}
Test(schema_suite, minItems) {
    run_file("minItems.json");
}
Test(schema_suite, ref) {
    run_file("ref.json");
}
Test(schema_suite, boolean_schema) {
    run_file("boolean_schema.json");
}
