/* Request variants from a request body schema (see mx_variants.h). */
#include "mx_variants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNKNOWN_FIELD "mxdev_unknown_field"

/* The "type" of a property schema (directly, or through allOf), or NULL. */
static const char *type_of(const json_t *prop) {
    const char *t = json_string_value(json_object_get(prop, "type"));
    size_t i;
    json_t *sub;

    if (t)
        return t;
    json_array_foreach(json_object_get(prop, "allOf"), i, sub) {
        t = type_of(sub);
        if (t)
            return t;
    }
    return NULL;
}

/* A valid value for a property with no caller-given value (new reference). */
static json_t *value_for(const json_t *prop) {
    const char *t = type_of(prop);

    if (!t || strcmp(t, "string") == 0)
        return json_string("mxdev variant value");
    if (strcmp(t, "integer") == 0 || strcmp(t, "number") == 0)
        return json_integer(1);
    if (strcmp(t, "boolean") == 0)
        return json_true();
    if (strcmp(t, "array") == 0)
        return json_array();
    return json_object();
}

/* A value of a type the property does not allow (new reference), and its
 * description; NULL when the property's type is unknown. */
static json_t *wrong_value_for(const json_t *prop, const char **what) {
    const char *t = type_of(prop);
    const char *items = type_of(json_object_get(prop, "items"));

    if (!t)
        return NULL;
    if (strcmp(t, "string") == 0) {
        *what = "a number instead of a string";
        return json_integer(42);
    }
    if (strcmp(t, "array") == 0 && items && strcmp(items, "string") == 0) {
        *what = "an array of numbers instead of strings";
        return json_pack("[i]", 42);
    }
    if (strcmp(t, "array") == 0 || strcmp(t, "object") == 0) {
        *what = strcmp(t, "array") == 0 ? "a string instead of an array"
                                        : "a string instead of an object";
        return json_string("mxdev wrong type");
    }
    *what = "a string instead of a number or boolean";
    return json_string("mxdev wrong type");
}

static bool skipped(const char *name, const char *const *skip) {
    for (const char *const *s = skip; s && *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

static bool is_required(const json_t *schema, const char *name) {
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(schema, "required"), i, r) {
        if (json_is_string(r) && strcmp(json_string_value(r), name) == 0)
            return true;
    }
    return false;
}

/* Appends a variant; steals body. Returns 0 or -1 (out of memory). */
static int add(struct mx_variants *vs, json_t *body, bool valid, const char *field,
               const char *fmt, const char *arg) {
    struct mx_variant *grown;

    if (!body)
        return -1;
    /* The same body twice is one variant (e.g. no optional field at all). */
    for (size_t i = 0; i < vs->n; i++) {
        if (json_equal(vs->v[i].body, body)) {
            json_decref(body);
            return 0;
        }
    }
    grown = realloc(vs->v, (vs->n + 1) * sizeof(*grown));
    if (!grown) {
        json_decref(body);
        return -1;
    }
    vs->v = grown;
    memset(&vs->v[vs->n], 0, sizeof(vs->v[vs->n]));
    vs->v[vs->n].body = body;
    vs->v[vs->n].valid = valid;
    snprintf(vs->v[vs->n].field, sizeof(vs->v[vs->n].field), "%s", field ? field : "");
    snprintf(vs->v[vs->n].label, sizeof(vs->v[vs->n].label), fmt, arg ? arg : "");
    vs->n++;
    return 0;
}

/* Text of a body for labels, cut short (static buffer). */
static const char *shown(const json_t *body) {
    static char buf[64];
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

    snprintf(buf, sizeof(buf), "%s", text ? text : "?");
    if (text && strlen(text) >= sizeof(buf))
        memcpy(buf + sizeof(buf) - 4, "...", 4);
    free(text);
    return buf;
}

int mx_variants_build(const json_t *schema, const json_t *values, const char *const *skip,
                      struct mx_variants *out, char *err, size_t err_len) {
    const json_t *props = json_object_get(schema, "properties");
    json_t *fields = json_object(); /* name -> valid value */
    json_t *required = json_object();
    json_t *minimal = NULL, *all = NULL, *body;
    const char *name, *what;
    json_t *prop, *val;
    size_t optional = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(schema) || (props && !json_is_object(props))) {
        snprintf(err, err_len, "the request schema is not an object schema");
        goto out;
    }
    json_object_foreach((json_t *)props, name, prop) {
        if (skipped(name, skip))
            continue;
        val = json_object_get(values, name);
        json_object_set_new(fields, name, val ? json_deep_copy(val) : value_for(prop));
        if (is_required(schema, name))
            json_object_set(required, name, json_object_get(fields, name));
        else
            optional++;
    }
    minimal = json_deep_copy(required);
    all = json_deep_copy(fields);
    if (add(out, json_deep_copy(minimal), true, "", "minimal body %s", shown(minimal)) <
        0)
        goto oom;
    json_object_foreach(fields, name, val) {
        if (json_object_get(required, name))
            continue;
        body = json_deep_copy(minimal);
        json_object_set(body, name, val);
        if (add(out, body, true, name, "%s alone", name) < 0)
            goto oom;
    }
    if (optional > 1 && add(out, json_deep_copy(all), true, "", "all fields%s", "") < 0)
        goto oom;
    body = json_deep_copy(minimal);
    json_object_set_new(body, UNKNOWN_FIELD,
                        json_string("servers ignore unknown fields"));
    if (add(out, body, true, UNKNOWN_FIELD, "minimal body and an unknown field%s", "") <
        0)
        goto oom;
    body = json_deep_copy(all);
    json_object_set_new(body, UNKNOWN_FIELD,
                        json_string("servers ignore unknown fields"));
    if (add(out, body, true, UNKNOWN_FIELD, "all fields and an unknown field%s", "") < 0)
        goto oom;
    /* The 400 family: a wrong type for each field, each required one left out. */
    json_object_foreach((json_t *)props, name, prop) {
        json_t *wrong;
        char label[96];

        if (skipped(name, skip))
            continue;
        wrong = wrong_value_for(prop, &what);
        if (!wrong)
            continue;
        body = json_deep_copy(all);
        json_object_set_new(body, name, wrong);
        snprintf(label, sizeof(label), "%s: %s", name, what);
        if (add(out, body, false, name, "%s", label) < 0)
            goto oom;
    }
    json_object_foreach(required, name, val) {
        body = json_deep_copy(all);
        json_object_del(body, name);
        if (add(out, body, false, name, "without the required %s", name) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, err_len, "out of memory");
    mx_variants_free(out);
out:
    json_decref(fields);
    json_decref(required);
    json_decref(minimal);
    json_decref(all);
    return rc;
}

bool mx_variant_has(const struct mx_variant *v, const char *field) {
    return json_object_get(v->body, field) != NULL;
}

void mx_variants_free(struct mx_variants *vs) {
    for (size_t i = 0; i < vs->n; i++)
        json_decref(vs->v[i].body);
    free(vs->v);
    vs->v = NULL;
    vs->n = 0;
}
