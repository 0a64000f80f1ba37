/* Unit tests of the request-variant generator (mx_variants.c). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "mx_variants.h"

static json_t *schema_of(const char *text) {
    json_error_t jerr;
    json_t *s = json_loads(text, 0, &jerr);
    cr_assert(s != NULL, "bad test schema: %s", jerr.text);
    return s;
}

static const struct mx_variant *find(const struct mx_variants *vs, const char *label) {
    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i].label, label) == 0)
            return &vs->v[i];
    return NULL;
}

static size_t count(const struct mx_variants *vs, bool valid) {
    size_t n = 0;
    for (size_t i = 0; i < vs->n; i++)
        n += vs->v[i].valid == valid;
    return n;
}

Test(variants, update_device_shapes) {
    json_t *schema = schema_of("{\"type\":\"object\",\"properties\":"
                               "{\"display_name\":{\"type\":\"string\"}}}");
    json_t *values = json_pack("{s:s}", "display_name", "phone");
    struct mx_variants vs;
    char err[128];

    cr_assert_eq(mx_variants_build(schema, values, NULL, &vs, err, sizeof(err)), 0);
    const struct mx_variant *minimal = find(&vs, "minimal body {}");
    cr_assert(minimal && minimal->valid && json_object_size(minimal->body) == 0);
    const struct mx_variant *alone = find(&vs, "display_name alone");
    cr_assert(alone && alone->valid);
    cr_assert_str_eq(json_string_value(json_object_get(alone->body, "display_name")),
                     "phone");
    cr_assert(find(&vs, "minimal body and an unknown field") != NULL);
    cr_assert(find(&vs, "all fields and an unknown field") != NULL);
    /* One optional field: "all fields" is "display_name alone", not repeated. */
    cr_assert_null(find(&vs, "all fields"));
    const struct mx_variant *wrong =
        find(&vs, "display_name: a number instead of a string");
    cr_assert(wrong && !wrong->valid);
    cr_assert(json_is_integer(json_object_get(wrong->body, "display_name")));
    cr_assert_eq(count(&vs, true), 4);
    cr_assert_eq(count(&vs, false), 1);
    mx_variants_free(&vs);
    json_decref(schema);
    json_decref(values);
}

Test(variants, required_fields_and_skip) {
    json_t *schema =
        schema_of("{\"type\":\"object\",\"required\":[\"devices\"],\"properties\":{"
                  "\"devices\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                  "\"auth\":{\"allOf\":[{\"type\":\"object\"}]},"
                  "\"note\":{\"type\":\"integer\"}}}");
    json_t *values = json_pack("{s:[s]}", "devices", "D1");
    static const char *const skip[] = {"auth", NULL};
    struct mx_variants vs;
    char err[128];

    cr_assert_eq(mx_variants_build(schema, values, skip, &vs, err, sizeof(err)), 0);
    for (size_t i = 0; i < vs.n; i++)
        cr_assert_null(json_object_get(vs.v[i].body, "auth"), "%s carries auth",
                       vs.v[i].label);
    const struct mx_variant *minimal = find(&vs, "minimal body {\"devices\":[\"D1\"]}");
    cr_assert(minimal && minimal->valid, "no minimal variant");
    const struct mx_variant *note = find(&vs, "note alone");
    cr_assert(note && note->valid &&
              json_is_integer(json_object_get(note->body, "note")));
    const struct mx_variant *missing = find(&vs, "without the required devices");
    cr_assert(missing && !missing->valid && !json_object_get(missing->body, "devices"));
    const struct mx_variant *items =
        find(&vs, "devices: an array of numbers instead of strings");
    cr_assert(items && !items->valid);
    cr_assert(find(&vs, "note: a string instead of a number or boolean") != NULL);
    mx_variants_free(&vs);
    json_decref(schema);
    json_decref(values);
}

Test(variants, not_an_object_schema) {
    json_t *schema = json_string("nope");
    struct mx_variants vs;
    char err[128] = "";

    cr_assert_eq(mx_variants_build(schema, NULL, NULL, &vs, err, sizeof(err)), -1);
    cr_assert(strstr(err, "object schema") != NULL, "%s", err);
    cr_assert_eq(vs.n, 0);
    json_decref(schema);
}
