/* A small JSON Schema validator (the keywords listed in mx_schema.h) and the
 * schema files it resolves "$ref"s in. Which schema applies to a response is
 * mx_schema_select.c's question. */
#include "mx_schema.h"
#include "mx_jsonptr.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_env.h"

#define MAX_DEPTH 64
#define PTR_MAX 512

struct ctx {
    const json_t *root; /* document that "#..." references resolve in */
    char *err;          /* NULL: quiet (inside anyOf/oneOf branches) */
    size_t err_len;
    int depth;
};

static void fail(struct ctx *c, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct ctx *c, const char *ptr, const char *fmt, ...) {
    if (!c->err || c->err[0])
        return;
    int n = snprintf(c->err, c->err_len, "%s: ", ptr[0] ? ptr : "(root)");
    if (n < 0 || (size_t)n >= c->err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
    va_end(ap);
}

static const char *type_of(const json_t *v) {
    switch (json_typeof(v)) {
        case JSON_OBJECT:
            return "object";
        case JSON_ARRAY:
            return "array";
        case JSON_STRING:
            return "string";
        case JSON_INTEGER:
            return "integer";
        case JSON_REAL:
            return "number";
        case JSON_TRUE:
        case JSON_FALSE:
            return "boolean";
        case JSON_NULL:
            return "null";
    }
    return "?";
}

static bool is_type(const json_t *v, const char *type) {
    if (strcmp(type, "integer") == 0) {
        if (json_is_integer(v))
            return true;
        /* 1.0 is an integer in JSON Schema. */
        double d = json_is_real(v) ? json_real_value(v) : 0.5;
        return isfinite(d) && d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d;
    }
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    return strcmp(type, type_of(v)) == 0;
}

/* JSON Schema equality: numbers by value (1 == 1.0), containers deeply. */
static bool values_equal(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *key;
        json_t *va;
        json_object_foreach((json_t *)a, key, va) {
            json_t *vb = json_object_get(b, key);
            if (!vb || !values_equal(va, vb))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* ptr + "/" + escaped token, into out. */
static void ptr_child(char *out, const char *ptr, const char *token) {
    size_t n = strlen(ptr);
    if (n >= PTR_MAX - 1) {
        snprintf(out, PTR_MAX, "%s", ptr);
        return;
    }
    memcpy(out, ptr, n);
    out[n++] = '/';
    for (const char *t = token; *t && n < PTR_MAX - 3; t++) {
        if (*t == '~') {
            out[n++] = '~';
            out[n++] = '0';
        } else if (*t == '/') {
            out[n++] = '~';
            out[n++] = '1';
        } else {
            out[n++] = *t;
        }
    }
    out[n] = '\0';
}

static void ptr_index(char *out, const char *ptr, size_t i) {
    char idx[32];
    snprintf(idx, sizeof(idx), "%zu", i);
    ptr_child(out, ptr, idx);
}

static int validate(struct ctx *c, const json_t *schema, const json_t *inst,
                    const char *ptr);

static int check_ref(struct ctx *c, const char *ref, const json_t *inst,
                     const char *ptr) {
    const json_t *doc = c->root;
    const char *hash = strchr(ref, '#');
    const char *frag = hash ? hash + 1 : "";
    if (ref[0] != '#') {
        /* "other.json#/..." relative to the schema directory. */
        char file[256];
        size_t n = hash ? (size_t)(hash - ref) : strlen(ref);
        if (n == 0 || n >= sizeof(file) || memchr(ref, ':', n)) {
            fail(c, ptr, "$ref \"%s\" cannot be resolved (only local references)", ref);
            return -1;
        }
        memcpy(file, ref, n);
        file[n] = '\0';
        doc = mx_schema_load(file);
        if (!doc) {
            fail(c, ptr, "$ref \"%s\": schema file %s not found", ref, file);
            return -1;
        }
    }
    const json_t *target = mx_json_pointer_get(doc, frag);
    if (!target) {
        fail(c, ptr, "$ref \"%s\" points nowhere", ref);
        return -1;
    }
    struct ctx sub = *c;
    sub.root = doc;
    int rc = validate(&sub, target, inst, ptr);
    return rc;
}

static int check_type(struct ctx *c, const json_t *type, const json_t *inst,
                      const char *ptr) {
    if (json_is_string(type)) {
        if (is_type(inst, json_string_value(type)))
            return 0;
        fail(c, ptr, "expected %s, got %s", json_string_value(type), type_of(inst));
        return -1;
    }
    if (json_is_array(type)) {
        size_t i;
        json_t *t;
        char names[128] = "";
        size_t used = 0;
        json_array_foreach(type, i, t) {
            if (json_is_string(t) && is_type(inst, json_string_value(t)))
                return 0;
            int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? " or " : "",
                             json_string_value(t) ? json_string_value(t) : "?");
            if (n > 0 && (size_t)n < sizeof(names) - used)
                used += (size_t)n;
        }
        fail(c, ptr, "expected %s, got %s", names, type_of(inst));
        return -1;
    }
    return 0;
}

/* Whether inst validates against schema, without touching c's error. */
static bool quietly_valid(struct ctx *c, const json_t *schema, const json_t *inst,
                          const char *ptr, char *err, size_t err_len) {
    struct ctx sub = *c;
    sub.err = err;
    sub.err_len = err_len;
    if (err && err_len)
        err[0] = '\0';
    return validate(&sub, schema, inst, ptr) == 0;
}

/* "required": every member named there is in inst. */
static int check_required(struct ctx *c, const json_t *schema, const json_t *inst,
                          const char *ptr) {
    int rc = 0;
    size_t i;
    json_t *k;

    json_array_foreach(json_object_get(schema, "required"), i, k) {
        if (json_is_string(k) && !json_object_get(inst, json_string_value(k))) {
            fail(c, ptr, "required member \"%s\" is missing", json_string_value(k));
            rc = -1;
        }
    }
    return rc;
}

static int check_object(struct ctx *c, const json_t *schema, const json_t *inst,
                        const char *ptr) {
    int rc = check_required(c, schema, inst, ptr);
    char child[PTR_MAX];
    json_t *props = json_object_get(schema, "properties");
    json_t *additional = json_object_get(schema, "additionalProperties");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)inst, key, value) {
        json_t *ps = json_is_object(props) ? json_object_get(props, key) : NULL;
        ptr_child(child, ptr, key);
        if (ps) {
            if (validate(c, ps, value, child) < 0)
                rc = -1;
        } else if (json_is_false(additional)) {
            fail(c, child, "member not allowed (additionalProperties is false)");
            rc = -1;
        } else if (json_is_object(additional)) {
            if (validate(c, additional, value, child) < 0)
                rc = -1;
        }
    }
    return rc;
}

static int check_array(struct ctx *c, const json_t *schema, const json_t *inst,
                       const char *ptr) {
    int rc = 0;
    char child[PTR_MAX];
    json_t *items = json_object_get(schema, "items");
    json_t *prefix = json_object_get(schema, "prefixItems");
    json_t *min = json_object_get(schema, "minItems");
    size_t start = 0;

    if (json_is_number(min) && (double)json_array_size(inst) < json_number_value(min)) {
        fail(c, ptr, "array has %zu items, expected at least %g", json_array_size(inst),
             json_number_value(min));
        rc = -1;
    }
    /* Tuples: "prefixItems" (2020-12) or an array-valued "items" (draft 7). */
    json_t *tuple = json_is_array(prefix) ? prefix : json_is_array(items) ? items : NULL;
    if (tuple) {
        for (size_t i = 0; i < json_array_size(tuple) && i < json_array_size(inst); i++) {
            ptr_index(child, ptr, i);
            if (validate(c, json_array_get(tuple, i), json_array_get(inst, i), child) < 0)
                rc = -1;
        }
        start = json_array_size(tuple);
    }
    if (items && !json_is_array(items)) {
        for (size_t i = json_is_array(prefix) ? start : 0; i < json_array_size(inst);
             i++) {
            ptr_index(child, ptr, i);
            if (validate(c, items, json_array_get(inst, i), child) < 0)
                rc = -1;
        }
    }
    return rc;
}

static int check_combinators(struct ctx *c, const json_t *schema, const json_t *inst,
                             const char *ptr) {
    int rc = 0;
    char err[512];
    size_t i;
    json_t *sub;

    json_t *all = json_object_get(schema, "allOf");
    if (json_is_array(all)) {
        json_array_foreach(all, i, sub) {
            if (validate(c, sub, inst, ptr) < 0)
                rc = -1;
        }
    }
    json_t *any = json_object_get(schema, "anyOf");
    if (json_is_array(any)) {
        char first[512] = "";
        bool ok = false;
        json_array_foreach(any, i, sub) {
            if (quietly_valid(c, sub, inst, ptr, err, sizeof(err))) {
                ok = true;
                break;
            }
            if (!first[0])
                snprintf(first, sizeof(first), "%s", err);
        }
        if (!ok) {
            fail(c, ptr, "matches none of anyOf (first alternative: %s)", first);
            rc = -1;
        }
    }
    json_t *one = json_object_get(schema, "oneOf");
    if (json_is_array(one)) {
        size_t matched = 0;
        json_array_foreach(one, i, sub) {
            if (quietly_valid(c, sub, inst, ptr, NULL, 0))
                matched++;
        }
        if (matched != 1) {
            fail(c, ptr, "matches %zu of oneOf's alternatives, expected exactly one",
                 matched);
            rc = -1;
        }
    }
    return rc;
}

static int validate(struct ctx *c, const json_t *schema, const json_t *inst,
                    const char *ptr) {
    int rc = 0;
    if (json_is_true(schema))
        return 0;
    if (json_is_false(schema)) {
        fail(c, ptr, "no value allowed here (schema is false)");
        return -1;
    }
    if (!json_is_object(schema))
        return 0;
    if (c->depth >= MAX_DEPTH) {
        fail(c, ptr, "schema nesting deeper than %d ($ref loop?)", MAX_DEPTH);
        return -1;
    }
    c->depth++;

    json_t *ref = json_object_get(schema, "$ref");
    if (json_is_string(ref) && check_ref(c, json_string_value(ref), inst, ptr) < 0)
        rc = -1;
    json_t *type = json_object_get(schema, "type");
    if (type && check_type(c, type, inst, ptr) < 0)
        rc = -1;
    json_t *en = json_object_get(schema, "enum");
    if (json_is_array(en)) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(en) && !found; i++)
            found = values_equal(json_array_get(en, i), inst);
        if (!found) {
            char *allowed = json_dumps(en, JSON_COMPACT);
            fail(c, ptr, "value not in enum %.200s", allowed ? allowed : "");
            free(allowed);
            rc = -1;
        }
    }
    json_t *cst = json_object_get(schema, "const");
    if (cst && !values_equal(cst, inst)) {
        char *want = json_dumps(cst, JSON_COMPACT | JSON_ENCODE_ANY);
        fail(c, ptr, "expected the constant %.200s", want ? want : "");
        free(want);
        rc = -1;
    }
    if (json_is_object(inst) && check_object(c, schema, inst, ptr) < 0)
        rc = -1;
    if (json_is_array(inst) && check_array(c, schema, inst, ptr) < 0)
        rc = -1;
    if (check_combinators(c, schema, inst, ptr) < 0)
        rc = -1;
    c->depth--;
    return rc;
}

int mx_schema_validate(const json_t *schema, const json_t *instance, char *err,
                       size_t err_len) {
    char dummy[8];
    struct ctx c = {schema, err ? err : dummy, err ? err_len : sizeof(dummy), 0};
    if (c.err_len)
        c.err[0] = '\0';
    if (!schema || !instance) {
        snprintf(c.err, c.err_len, "(root): no schema or no instance");
        return -1;
    }
    return validate(&c, schema, instance, "");
}

/* ---- schema files and endpoints.json ---- */

static json_t *cache; /* file name -> schema (null when it failed) */

static const char *schema_dir(char *buf, size_t len) {
    snprintf(buf, len, "%s/schemas", mx_env()->fixtures_dir);
    return buf;
}

const json_t *mx_schema_load(const char *file) {
    if (!file || !file[0])
        return NULL;
    if (!cache)
        cache = json_object();
    json_t *hit = json_object_get(cache, file);
    if (hit)
        return json_is_null(hit) ? NULL : hit;

    char dir[4096];
    char path[4352];
    json_error_t jerr;
    schema_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    json_t *schema = json_load_file(path, 0, &jerr);
    if (!schema)
        fprintf(stderr, "warning: schema %s: %s (line %d)\n", path, jerr.text, jerr.line);
    json_object_set_new(cache, file, schema ? schema : json_null());
    return schema;
}
