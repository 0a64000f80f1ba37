/* Loading the spec's OpenAPI files: $ref resolution, operations, examples
 * (see mx_spec.h). */
#include "mx_spec.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mx_schema.h"
#include "mx_yaml.h"

/* Bounds on nesting and on chains of references; spec files need far less. */
#define MAX_DEPTH 200
#define MAX_REF_HOPS 64

#define MAIN_FILE "device_management.yaml"

struct mx_spec {
    char *dir;
    json_t *raw;      /* file (relative to dir) -> document as parsed */
    json_t *resolved; /* top-level file -> document without "$ref" */
    json_t *ops;      /* array of {method, path, full, base, operation, path_item} */
    json_t *seen;     /* "file#pointer" of examples and schemas already walked */
    json_t *recs;     /* array of objects owning the strings of examples[] */
    struct mx_spec_example *examples;
    size_t n_examples, cap_examples;
};

struct ctx {
    struct mx_spec *spec;
    json_error_t *error;
    bool failed;
    json_t *stack; /* "file#pointer" of the references being expanded */
};

/* The operation an example was found under. */
struct op_info {
    const char *method;
    const char *path;
    const char *operation_id;
};

static void fail_at(struct ctx *c, const char *file, int line, const char *fmt, ...) {
    va_list ap;

    if (c->failed)
        return;
    c->failed = true;
    if (!c->error)
        return;
    memset(c->error, 0, sizeof *c->error);
    c->error->line = line;
    c->error->column = -1;
    snprintf(c->error->source, sizeof c->error->source, "%s", file ? file : "");
    va_start(ap, fmt);
    vsnprintf(c->error->text, sizeof c->error->text, fmt, ap);
    va_end(ap);
}

static char *xasprintf(const char *fmt, ...) {
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* ---- JSON pointers ---------------------------------------------------- */

/* ptr + "/" + escaped key; new string or NULL. */
static char *ptr_child(const char *ptr, const char *key) {
    size_t n = strlen(ptr), k = strlen(key), extra = 0;
    char *s, *o;

    for (size_t i = 0; i < k; i++)
        extra += key[i] == '~' || key[i] == '/';
    s = malloc(n + 1 + k + extra + 1);
    if (!s)
        return NULL;
    memcpy(s, ptr, n);
    o = s + n;
    *o++ = '/';
    for (size_t i = 0; i < k; i++) {
        if (key[i] == '~' || key[i] == '/') {
            *o++ = '~';
            *o++ = key[i] == '~' ? '0' : '1';
        } else {
            *o++ = key[i];
        }
    }
    *o = '\0';
    return s;
}

static char *ptr_index(const char *ptr, size_t i) {
    return xasprintf("%s/%zu", ptr, i);
}

/* ---- files and references --------------------------------------------- */

/* Joins ref (relative to the folder of base) and removes "." and "..";
 * new string, relative to the spec dir, or NULL. */
static char *join_relative(const char *base, const char *ref) {
    const char *slash = strrchr(base, '/');
    char *joined, *out, *save = NULL, *seg;
    char **segs = NULL;
    size_t n = 0, len;

    joined = xasprintf("%.*s%s", slash ? (int)(slash - base + 1) : 0, base, ref);
    if (!joined)
        return NULL;
    len = strlen(joined);
    segs = calloc(len + 1, sizeof *segs);
    out = calloc(len + 1, 1);
    if (!segs || !out)
        goto fail;
    for (seg = strtok_r(joined, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, "..") && n > 0 && strcmp(segs[n - 1], ".."))
            n--;
        else
            segs[n++] = seg;
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, "/");
        strcat(out, segs[i]);
    }
    free(segs);
    free(joined);
    return out;
fail:
    free(segs);
    free(out);
    free(joined);
    return NULL;
}

/* The parsed document of file (relative to the dir); borrowed, or NULL
 * with the failure recorded. */
static json_t *load_raw(struct ctx *c, const char *file) {
    json_t *doc = json_object_get(c->spec->raw, file);
    json_error_t yerr;
    char *path;

    if (doc)
        return doc;
    path = xasprintf("%s/%s", c->spec->dir, file);
    if (!path) {
        fail_at(c, file, -1, "out of memory");
        return NULL;
    }
    doc = mx_yaml_load_file(path, &yerr);
    free(path);
    if (!doc) {
        fail_at(c, file, yerr.line, "%s", yerr.text);
        return NULL;
    }
    if (json_object_set_new(c->spec->raw, file, doc) < 0) {
        fail_at(c, file, -1, "out of memory");
        return NULL;
    }
    return doc;
}

/* Finds what ref (written in file, at ptr) points to. On success returns
 * the borrowed raw target and sets *tfile / *tptr (new strings). */
static json_t *locate(struct ctx *c, const char *file, const char *ptr, const char *ref,
                      char **tfile, char **tptr) {
    const char *hash = strchr(ref, '#');
    size_t flen = hash ? (size_t)(hash - ref) : strlen(ref);
    json_t *doc, *target;

    *tfile = NULL;
    *tptr = NULL;
    if (strstr(ref, "://") || ref[0] == '/') {
        fail_at(c, file, -1, "%s#%s: $ref \"%s\" leaves the spec directory", file, ptr,
                ref);
        return NULL;
    }
    if (flen == 0) {
        *tfile = strdup(file);
    } else {
        char *name = strndup(ref, flen);

        *tfile = name ? join_relative(file, name) : NULL;
        free(name);
    }
    *tptr = strdup(hash ? hash + 1 : "");
    if (!*tfile || !*tptr) {
        fail_at(c, file, -1, "out of memory");
        goto fail;
    }
    doc = load_raw(c, *tfile);
    if (!doc) {
        if (c->error && !strstr(c->error->text, "$ref")) {
            /* Say where the reference was, not only what failed to load. */
            char *msg =
                xasprintf("%s#%s: $ref \"%s\": %s", file, ptr, ref, c->error->text);

            if (msg) {
                size_t n = strlen(msg);

                n = n < sizeof c->error->text ? n : sizeof c->error->text - 1;
                memcpy(c->error->text, msg, n);
                c->error->text[n] = '\0';
                free(msg);
            }
        }
        goto fail;
    }
    target = (json_t *)mx_json_pointer_get(doc, *tptr);
    if (!target) {
        fail_at(c, file, -1, "%s#%s: $ref \"%s\": no such location", file, ptr, ref);
        goto fail;
    }
    return target;
fail:
    free(*tfile);
    free(*tptr);
    *tfile = NULL;
    *tptr = NULL;
    return NULL;
}

static const char *ref_of(const json_t *node) {
    return json_is_object(node) ? json_string_value(json_object_get(node, "$ref")) : NULL;
}

/* Follows a chain of "$ref" objects. *file and *ptr (owned strings) are
 * replaced by the final location. Returns the borrowed raw node or NULL. */
static json_t *deref(struct ctx *c, char **file, char **ptr, json_t *node) {
    for (int hops = 0; ref_of(node); hops++) {
        char *tfile, *tptr;
        json_t *target;

        if (hops == MAX_REF_HOPS) {
            fail_at(c, *file, -1, "%s#%s: $ref chain too long or circular", *file, *ptr);
            return NULL;
        }
        target = locate(c, *file, *ptr, ref_of(node), &tfile, &tptr);
        if (!target)
            return NULL;
        free(*file);
        free(*ptr);
        *file = tfile;
        *ptr = tptr;
        node = target;
    }
    return node;
}

static json_t *resolve(struct ctx *c, const char *file, const char *ptr, json_t *node,
                       int depth);

static json_t *resolve_ref(struct ctx *c, const char *file, const char *ptr, json_t *node,
                           int depth) {
    char *tfile = NULL, *tptr = NULL, *key = NULL;
    json_t *target, *res = NULL;
    const char *k;
    json_t *v;

    target = locate(c, file, ptr, ref_of(node), &tfile, &tptr);
    if (!target)
        goto out;
    key = xasprintf("%s#%s", tfile, tptr);
    if (!key) {
        fail_at(c, file, -1, "out of memory");
        goto out;
    }
    if (json_object_get(c->stack, key)) {
        /* A schema that contains itself cannot be inlined: leave an empty
         * schema (it accepts anything) that says what it stood for. */
        res = json_pack("{ss}", "x-recursive-ref", key);
        goto out;
    }
    if (json_object_set_new(c->stack, key, json_true()) < 0) {
        fail_at(c, file, -1, "out of memory");
        goto out;
    }
    res = resolve(c, tfile, tptr, target, depth + 1);
    json_object_del(c->stack, key);
    if (!res || !json_is_object(res))
        goto out;
    /* OpenAPI 3.1 lets a reference carry siblings (description, summary);
     * they win over the target's own. */
    json_object_foreach(node, k, v) {
        char *cptr;
        json_t *sub;

        if (!strcmp(k, "$ref"))
            continue;
        cptr = ptr_child(ptr, k);
        sub = cptr ? resolve(c, file, cptr, v, depth + 1) : NULL;
        free(cptr);
        if (!sub || json_object_set_new(res, k, sub) < 0) {
            json_decref(res);
            res = NULL;
            fail_at(c, file, -1, "out of memory");
            goto out;
        }
    }
out:
    free(tfile);
    free(tptr);
    free(key);
    return res;
}

/* A copy of node with every reference replaced by what it points to;
 * new reference or NULL with the failure recorded. */
static json_t *resolve(struct ctx *c, const char *file, const char *ptr, json_t *node,
                       int depth) {
    json_t *out;

    if (depth > MAX_DEPTH) {
        fail_at(c, file, -1, "%s#%s: nested too deeply", file, ptr);
        return NULL;
    }
    if (ref_of(node))
        return resolve_ref(c, file, ptr, node, depth);
    if (json_is_object(node)) {
        const char *k;
        json_t *v;

        out = json_object();
        json_object_foreach(node, k, v) {
            char *cptr = ptr_child(ptr, k);
            json_t *sub = cptr ? resolve(c, file, cptr, v, depth + 1) : NULL;

            free(cptr);
            if (!sub || !out || json_object_set_new(out, k, sub) < 0)
                goto fail;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;

        out = json_array();
        json_array_foreach(node, i, v) {
            char *cptr = ptr_index(ptr, i);
            json_t *sub = cptr ? resolve(c, file, cptr, v, depth + 1) : NULL;

            free(cptr);
            if (!sub || !out || json_array_append_new(out, sub) < 0)
                goto fail;
        }
    } else {
        /* Scalars are never modified, so sharing them is safe. */
        return json_incref(node);
    }
    if (!out)
        fail_at(c, file, -1, "out of memory");
    return out;
fail:
    fail_at(c, file, -1, "out of memory");
    json_decref(out);
    return NULL;
}

/* Resolves the node at (file, ptr); new reference or NULL. */
static json_t *resolve_at(struct ctx *c, const char *file, const char *ptr) {
    json_t *doc = load_raw(c, file);
    json_t *node = doc ? (json_t *)mx_json_pointer_get(doc, ptr) : NULL;

    if (!node) {
        fail_at(c, file, -1, "%s#%s: no such location", file, ptr);
        return NULL;
    }
    return resolve(c, file, ptr, node, 0);
}

/* ---- examples ----------------------------------------------------------- */

static int add_example(struct ctx *c, const struct op_info *op, const char *kind,
                       const char *file, const char *ptr, json_t *value, long status,
                       json_t *schema) {
    struct mx_spec *s = c->spec;
    struct mx_spec_example *e;
    char *loc = xasprintf("%s#%s", file, ptr);
    json_t *rec = NULL;

    if (!loc)
        goto fail;
    if (json_object_get(s->seen, loc)) {
        free(loc);
        json_decref(schema);
        return 0;
    }
    if (s->n_examples == s->cap_examples) {
        size_t cap = s->cap_examples ? 2 * s->cap_examples : 16;
        struct mx_spec_example *grown = realloc(s->examples, cap * sizeof *grown);

        if (!grown)
            goto fail;
        s->examples = grown;
        s->cap_examples = cap;
    }
    rec = json_pack("{ss ss ss ss ss* ss* ss* sO sO?}", "file", file, "pointer", ptr,
                    "location", loc, "kind", kind, "method", op ? op->method : NULL,
                    "path", op ? op->path : NULL, "operation_id",
                    op ? op->operation_id : NULL, "value", value, "schema", schema);
    if (!rec || json_array_append(s->recs, rec) < 0 ||
        json_object_set_new(s->seen, loc, json_true()) < 0)
        goto fail;
    e = &s->examples[s->n_examples++];
    e->file = json_string_value(json_object_get(rec, "file"));
    e->pointer = json_string_value(json_object_get(rec, "pointer"));
    e->location = json_string_value(json_object_get(rec, "location"));
    e->kind = json_string_value(json_object_get(rec, "kind"));
    e->method = json_string_value(json_object_get(rec, "method"));
    e->path = json_string_value(json_object_get(rec, "path"));
    e->operation_id = json_string_value(json_object_get(rec, "operation_id"));
    e->status = status;
    e->value = json_object_get(rec, "value");
    e->schema = schema ? json_object_get(rec, "schema") : NULL;
    json_decref(rec);
    json_decref(schema);
    free(loc);
    return 0;
fail:
    json_decref(rec);
    json_decref(schema);
    free(loc);
    fail_at(c, file, -1, "out of memory");
    return -1;
}

static int walk_schema(struct ctx *c, const struct op_info *op, const char *file,
                       const char *ptr, json_t *node, int depth);

static int walk_child(struct ctx *c, const struct op_info *op, const char *file,
                      const char *ptr, const char *key, json_t *child, int depth) {
    char *cptr = ptr_child(ptr, key);
    int rc;

    if (!cptr) {
        fail_at(c, file, -1, "out of memory");
        return -1;
    }
    rc = walk_schema(c, op, file, cptr, child, depth + 1);
    free(cptr);
    return rc;
}

/* Each member of a keyword whose value is a map or list of schemas. */
static int walk_members(struct ctx *c, const struct op_info *op, const char *file,
                        const char *ptr, const char *keyword, json_t *group, int depth) {
    char *gptr = ptr_child(ptr, keyword);
    int rc = 0;

    if (!gptr) {
        fail_at(c, file, -1, "out of memory");
        return -1;
    }
    if (json_is_object(group)) {
        const char *k;
        json_t *v;

        json_object_foreach(group, k, v) {
            if (rc == 0)
                rc = walk_child(c, op, file, gptr, k, v, depth);
        }
    } else if (json_is_array(group)) {
        size_t i;
        json_t *v;

        json_array_foreach(group, i, v) {
            char idx[32];

            snprintf(idx, sizeof idx, "%zu", i);
            if (rc == 0)
                rc = walk_child(c, op, file, gptr, idx, v, depth);
        }
    }
    free(gptr);
    return rc;
}

/* Collects "example" / "examples" of a schema and of every schema inside
 * it. Each schema location is walked once, so an example of a shared
 * definition is reported once, under the first operation that uses it. */
static int walk_schema(struct ctx *c, const struct op_info *op, const char *file,
                       const char *ptr, json_t *node, int depth) {
    static const char *const single[] = {"items",
                                         "additionalProperties",
                                         "not",
                                         "contains",
                                         "propertyNames",
                                         "if",
                                         "then",
                                         "else",
                                         "unevaluatedProperties",
                                         "unevaluatedItems"};
    static const char *const groups[] = {"properties",
                                         "patternProperties",
                                         "$defs",
                                         "definitions",
                                         "dependentSchemas",
                                         "allOf",
                                         "anyOf",
                                         "oneOf",
                                         "prefixItems"};
    char *f = strdup(file), *p = strdup(ptr), *key = NULL;
    json_t *example;
    int rc = -1;

    if (!f || !p) {
        fail_at(c, file, -1, "out of memory");
        goto out;
    }
    if (depth > MAX_DEPTH) {
        fail_at(c, file, -1, "%s#%s: nested too deeply", file, ptr);
        goto out;
    }
    node = deref(c, &f, &p, node);
    if (!node)
        goto out;
    rc = 0;
    if (!json_is_object(node))
        goto out;
    key = xasprintf("schema:%s#%s", f, p);
    if (!key) {
        rc = -1;
        goto out;
    }
    if (json_object_get(c->spec->seen, key))
        goto out;
    if (json_object_set_new(c->spec->seen, key, json_true()) < 0) {
        rc = -1;
        goto out;
    }
    example = json_object_get(node, "example");
    if (example) {
        char *eptr = ptr_child(p, "example");
        json_t *schema = resolve(c, f, p, node, 0);

        rc = eptr && schema ? add_example(c, op, "schema", f, eptr, example, 0, schema)
                            : -1;
        free(eptr);
        if (rc < 0)
            goto out;
    }
    example = json_object_get(node, "examples");
    if (json_is_array(example)) {
        size_t i;
        json_t *v;
        char *eptr = ptr_child(p, "examples");

        json_array_foreach(example, i, v) {
            char *iptr = eptr ? ptr_index(eptr, i) : NULL;
            json_t *schema = iptr ? resolve(c, f, p, node, 0) : NULL;

            rc = schema ? add_example(c, op, "schema", f, iptr, v, 0, schema) : -1;
            free(iptr);
            if (rc < 0)
                break;
        }
        free(eptr);
        if (rc < 0)
            goto out;
    }
    for (size_t i = 0; rc == 0 && i < sizeof single / sizeof *single; i++) {
        json_t *sub = json_object_get(node, single[i]);

        if (json_is_object(sub))
            rc = walk_child(c, op, f, p, single[i], sub, depth);
        else if (json_is_array(sub)) /* "items" as a list (older drafts) */
            rc = walk_members(c, op, f, p, single[i], sub, depth);
    }
    for (size_t i = 0; rc == 0 && i < sizeof groups / sizeof *groups; i++) {
        json_t *sub = json_object_get(node, groups[i]);

        if (sub)
            rc = walk_members(c, op, f, p, groups[i], sub, depth);
    }
out:
    if (c->failed)
        rc = -1;
    free(key);
    free(f);
    free(p);
    return rc;
}

/* The examples of a media type object (requestBody or response content). */
static int walk_media(struct ctx *c, const struct op_info *op, const char *kind,
                      long status, const char *file, const char *ptr, json_t *media) {
    json_t *schema_node = json_object_get(media, "schema");
    json_t *example = json_object_get(media, "example");
    json_t *examples = json_object_get(media, "examples");
    char *sptr = ptr_child(ptr, "schema");
    int rc = -1;

    if (!sptr)
        goto out;
    if (example) {
        char *eptr = ptr_child(ptr, "example");
        json_t *schema = schema_node ? resolve_at(c, file, sptr) : NULL;

        if (!eptr || (schema_node && !schema)) {
            free(eptr);
            json_decref(schema);
            goto out;
        }
        rc = add_example(c, op, kind, file, eptr, example, status, schema);
        free(eptr);
        if (rc < 0)
            goto out;
    }
    if (json_is_object(examples)) {
        const char *name;
        json_t *ex;
        char *gptr = ptr_child(ptr, "examples");

        if (!gptr)
            goto out;
        json_object_foreach(examples, name, ex) {
            char *f = strdup(file), *p = ptr_child(gptr, name), *vptr = NULL;
            json_t *target = f && p ? deref(c, &f, &p, ex) : NULL;
            json_t *value = target ? json_object_get(target, "value") : NULL;
            json_t *schema = NULL;

            rc = target ? 0 : -1;
            if (value) {
                vptr = ptr_child(p, "value");
                schema = schema_node ? resolve_at(c, file, sptr) : NULL;
                if (!vptr || (schema_node && !schema))
                    rc = -1;
                else /* add_example() takes the schema */
                    rc = add_example(c, op, kind, f, vptr, value, status,
                                     json_incref(schema));
            }
            json_decref(schema);
            free(vptr);
            free(f);
            free(p);
            if (rc < 0)
                break;
        }
        free(gptr);
        if (rc < 0)
            goto out;
    }
    rc = schema_node ? walk_schema(c, op, file, sptr, schema_node, 0) : 0;
out:
    if (rc < 0)
        fail_at(c, file, -1, "out of memory");
    free(sptr);
    return rc;
}

/* Media types holding JSON: "application/json" and "+json" variants. */
static bool is_json_media(const char *type) {
    return strstr(type, "json") != NULL;
}

static int walk_content(struct ctx *c, const struct op_info *op, const char *kind,
                        long status, const char *file, const char *ptr, json_t *holder) {
    json_t *content = json_object_get(holder, "content");
    char *cptr = ptr_child(ptr, "content");
    const char *type;
    json_t *media;
    int rc = 0;

    if (!cptr)
        return -1;
    if (json_is_object(content)) {
        json_object_foreach(content, type, media) {
            char *mptr;

            if (!is_json_media(type) || !json_is_object(media))
                continue;
            mptr = ptr_child(cptr, type);
            rc = mptr ? walk_media(c, op, kind, status, file, mptr, media) : -1;
            free(mptr);
            if (rc < 0)
                break;
        }
    }
    free(cptr);
    return rc;
}

/* The member key of node, dereferenced; *mfile and *mptr (new strings) say
 * where it was found. Borrowed, NULL when absent. */
static json_t *member_at(struct ctx *c, const char *file, const char *ptr, json_t *node,
                         const char *key, char **mfile, char **mptr) {
    json_t *m = json_object_get(node, key);

    *mfile = NULL;
    *mptr = NULL;
    if (!m)
        return NULL;
    *mfile = strdup(file);
    *mptr = ptr_child(ptr, key);
    if (!*mfile || !*mptr)
        return NULL;
    return deref(c, mfile, mptr, m);
}

static int walk_parameters(struct ctx *c, const struct op_info *op, const char *file,
                           const char *ptr, json_t *params) {
    char *gptr = ptr_child(ptr, "parameters");
    size_t i;
    json_t *v;
    int rc = 0;

    if (!gptr || !json_is_array(params)) {
        free(gptr);
        return gptr ? 0 : -1;
    }
    json_array_foreach(params, i, v) {
        char *f = strdup(file), *p = ptr_index(gptr, i), *sptr = NULL, *eptr = NULL;
        json_t *param = f && p ? deref(c, &f, &p, v) : NULL;
        json_t *schema_node = param ? json_object_get(param, "schema") : NULL;
        json_t *example = param ? json_object_get(param, "example") : NULL;

        rc = param ? 0 : -1;
        if (param && schema_node) {
            sptr = ptr_child(p, "schema");
            rc = sptr ? 0 : -1;
        }
        if (rc == 0 && example) {
            json_t *schema = schema_node ? resolve_at(c, f, sptr) : NULL;

            eptr = ptr_child(p, "example");
            if (!eptr || (schema_node && !schema)) {
                json_decref(schema);
                rc = -1;
            } else {
                rc = add_example(c, op, "parameter", f, eptr, example, 0, schema);
            }
        }
        if (rc == 0 && schema_node)
            rc = walk_schema(c, op, f, sptr, schema_node, 0);
        free(f);
        free(p);
        free(sptr);
        free(eptr);
        if (rc < 0)
            break;
    }
    free(gptr);
    return rc;
}

static const char *const http_methods[] = {"get",  "put",     "post",  "delete",
                                           "head", "options", "patch", "trace"};

static int walk_operation(struct ctx *c, const struct op_info *op, const char *file,
                          const char *ptr, json_t *node) {
    json_t *responses = json_object_get(node, "responses");
    char *f = NULL, *p = NULL;
    json_t *m;
    int rc;

    rc = walk_parameters(c, op, file, ptr, json_object_get(node, "parameters"));
    if (rc < 0)
        return rc;
    m = member_at(c, file, ptr, node, "requestBody", &f, &p);
    if (m)
        rc = walk_content(c, op, "request", 0, f, p, m);
    free(f);
    free(p);
    if (rc < 0 || c->failed)
        return -1;
    if (json_is_object(responses)) {
        const char *code;
        json_t *resp;
        char *rptr = ptr_child(ptr, "responses");

        if (!rptr)
            return -1;
        json_object_foreach(responses, code, resp) {
            char *rf = strdup(file), *rp = ptr_child(rptr, code);
            json_t *r = rf && rp ? deref(c, &rf, &rp, resp) : NULL;
            long status = strtol(code, NULL, 10);

            rc = r ? walk_content(c, op, "response", status, rf, rp, r) : -1;
            free(rf);
            free(rp);
            if (rc < 0)
                break;
        }
        free(rptr);
    }
    return rc < 0 || c->failed ? -1 : 0;
}

static int walk_paths(struct ctx *c, const char *file, json_t *doc) {
    json_t *paths = json_object_get(doc, "paths");
    const char *path;
    json_t *item;
    int rc = 0;

    if (!json_is_object(paths))
        return 0;
    json_object_foreach(paths, path, item) {
        char *base = ptr_child("/paths", path);
        char *f = strdup(file), *p = base ? strdup(base) : NULL;
        json_t *pi = f && p ? deref(c, &f, &p, item) : NULL;

        rc = pi ? walk_parameters(c, NULL, f, p, json_object_get(pi, "parameters")) : -1;
        for (size_t i = 0; rc == 0 && i < sizeof http_methods / sizeof *http_methods;
             i++) {
            json_t *opnode = json_object_get(pi, http_methods[i]);
            char method[16], *optr;
            struct op_info op;

            if (!json_is_object(opnode))
                continue;
            for (size_t j = 0; j < sizeof method - 1; j++) {
                method[j] = (char)(http_methods[i][j] & ~0x20);
                method[j + 1] = '\0';
                if (!http_methods[i][j + 1])
                    break;
            }
            op.method = method;
            op.path = path;
            op.operation_id = json_string_value(json_object_get(opnode, "operationId"));
            optr = ptr_child(p, http_methods[i]);
            rc = optr ? walk_operation(c, &op, f, optr, opnode) : -1;
            free(optr);
        }
        free(base);
        free(f);
        free(p);
        if (rc < 0)
            break;
    }
    return rc;
}

static int walk_components(struct ctx *c, const char *file, json_t *doc) {
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");

    if (!json_is_object(schemas))
        return 0;
    return walk_members(c, NULL, file, "/components", "schemas", schemas, 0);
}

/* ---- operations ---------------------------------------------------------- */

/* "/_matrix/client/v3" from servers[0]: the URL with its variables' defaults,
 * without scheme and host. New string. */
static char *base_path_of(const json_t *doc) {
    const json_t *server = json_array_get(json_object_get(doc, "servers"), 0);
    const char *url = json_string_value(json_object_get(server, "url"));
    const json_t *vars = json_object_get(server, "variables");
    char buf[512];
    size_t n = 0;
    const char *p, *path;

    if (!url)
        return strdup("");
    for (p = url; *p && n + 1 < sizeof buf;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;

        if (close) {
            char name[128];
            const char *def;

            snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
            def = json_string_value(
                json_object_get(json_object_get(vars, name), "default"));
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", def ? def : "");
            if (n >= sizeof buf)
                n = sizeof buf - 1;
            p = close + 1;
        } else {
            buf[n++] = *p++;
        }
    }
    buf[n] = '\0';
    path = strstr(buf, "://");
    path = path ? strchr(path + 3, '/') : buf;
    if (!path)
        return strdup("");
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    return strndup(path, n);
}

static int index_operations(struct ctx *c, const char *file, json_t *doc) {
    json_t *paths = json_object_get(doc, "paths");
    char *base = base_path_of(doc);
    const char *path;
    json_t *item;
    int rc = 0;

    if (!base)
        return -1;
    json_object_foreach(paths, path, item) {
        for (size_t i = 0; i < sizeof http_methods / sizeof *http_methods; i++) {
            json_t *opnode = json_object_get(item, http_methods[i]);
            char *full;
            json_t *entry;

            if (!json_is_object(opnode))
                continue;
            full = xasprintf("%s%s", base, path);
            entry = full ? json_pack("{ss ss ss ss ss sO sO}", "method", http_methods[i],
                                     "path", path, "full", full, "base", base, "file",
                                     file, "operation", opnode, "path_item", item)
                         : NULL;
            free(full);
            if (!entry || json_array_append_new(c->spec->ops, entry) < 0) {
                rc = -1;
                break;
            }
        }
    }
    free(base);
    return rc;
}

/* Number of literal segments matched, or -1 when tmpl does not match path. */
static int match_template(const char *tmpl, const char *path, size_t path_len) {
    const char *t = tmpl, *p = path, *pend = path + path_len;
    int literal = 0;

    while (*t && p < pend) {
        const char *tseg_end = strchr(t + 1, '/');
        const char *pseg_end = memchr(p + 1, '/', (size_t)(pend - p - 1));
        size_t tl, pl;

        if (*t != '/' || *p != '/')
            return -1;
        t++;
        p++;
        tseg_end = tseg_end ? tseg_end : t + strlen(t);
        pseg_end = pseg_end ? pseg_end : pend;
        tl = (size_t)(tseg_end - t);
        pl = (size_t)(pseg_end - p);
        if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}') {
            if (pl == 0)
                return -1;
        } else if (tl != pl || memcmp(t, p, tl) != 0) {
            return -1;
        } else {
            literal++;
        }
        t = tseg_end;
        p = pseg_end;
    }
    return *t == '\0' && p == pend ? literal : -1;
}

static const json_t *find_op_entry(const struct mx_spec *spec, const char *method,
                                   const char *path) {
    size_t len = strcspn(path, "?#"), i;
    const json_t *best = NULL, *entry;
    int best_score = -1;

    if (!spec || !method)
        return NULL;
    json_array_foreach(spec->ops, i, entry) {
        const char *full = json_string_value(json_object_get(entry, "full"));
        const char *bare = json_string_value(json_object_get(entry, "path"));
        int score;

        if (strcasecmp(json_string_value(json_object_get(entry, "method")), method))
            continue;
        /* A template given as written matches itself before anything else. */
        if ((strlen(full) == len && !strncmp(full, path, len)) ||
            (strlen(bare) == len && !strncmp(bare, path, len)))
            return entry;
        score = match_template(full, path, len);
        if (score < 0)
            score = match_template(bare, path, len);
        if (score > best_score) {
            best_score = score;
            best = entry;
        }
    }
    return best;
}

/* ---- public API ---------------------------------------------------------- */

int mx_spec_add_file(struct mx_spec *spec, const char *file, json_error_t *error) {
    struct ctx c = {.spec = spec, .error = error};
    json_t *raw, *doc = NULL;
    int rc = -1;

    if (error)
        memset(error, 0, sizeof *error);
    if (json_object_get(spec->resolved, file))
        return 0;
    c.stack = json_object();
    if (!c.stack) {
        fail_at(&c, file, -1, "out of memory");
        return -1;
    }
    raw = load_raw(&c, file);
    if (!raw)
        goto out;
    if (!json_is_object(raw)) {
        fail_at(&c, file, -1, "not an OpenAPI document (no top-level mapping)");
        goto out;
    }
    doc = resolve(&c, file, "", raw, 0);
    if (!doc)
        goto out;
    if (walk_paths(&c, file, raw) < 0 || walk_components(&c, file, raw) < 0)
        goto out;
    if (index_operations(&c, file, doc) < 0 ||
        json_object_set(spec->resolved, file, doc) < 0) {
        fail_at(&c, file, -1, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    json_decref(c.stack);
    return rc;
}

struct mx_spec *mx_spec_load(const char *dir, json_error_t *error) {
    struct mx_spec *spec = calloc(1, sizeof *spec);

    if (!spec)
        goto oom;
    spec->dir = strdup(dir);
    spec->raw = json_object();
    spec->resolved = json_object();
    spec->ops = json_array();
    spec->seen = json_object();
    spec->recs = json_array();
    if (!spec->dir || !spec->raw || !spec->resolved || !spec->ops || !spec->seen ||
        !spec->recs)
        goto oom;
    if (mx_spec_add_file(spec, MAIN_FILE, error) < 0) {
        mx_spec_free(spec);
        return NULL;
    }
    return spec;
oom:
    mx_spec_free(spec);
    if (error) {
        memset(error, 0, sizeof *error);
        error->line = -1;
        snprintf(error->text, sizeof error->text, "out of memory");
    }
    return NULL;
}

void mx_spec_free(struct mx_spec *spec) {
    if (!spec)
        return;
    free(spec->dir);
    json_decref(spec->raw);
    json_decref(spec->resolved);
    json_decref(spec->ops);
    json_decref(spec->seen);
    json_decref(spec->recs);
    free(spec->examples);
    free(spec);
}

const json_t *mx_spec_document(const struct mx_spec *spec, const char *file) {
    return spec ? json_object_get(spec->resolved, file) : NULL;
}

const json_t *mx_spec_operation(const struct mx_spec *spec, const char *method,
                                const char *path) {
    return json_object_get(find_op_entry(spec, method, path), "operation");
}

const char *mx_spec_base_path(const struct mx_spec *spec, const char *method,
                              const char *path) {
    return json_string_value(json_object_get(find_op_entry(spec, method, path), "base"));
}

const json_t *mx_spec_schema_for(const struct mx_spec *spec, const char *method,
                                 const char *path, long status) {
    const json_t *responses =
        json_object_get(mx_spec_operation(spec, method, path), "responses");
    const json_t *resp, *content;
    char code[32];

    if (!responses)
        return NULL;
    snprintf(code, sizeof code, "%ld", status);
    resp = json_object_get(responses, code);
    if (!resp) {
        snprintf(code, sizeof code, "%ldXX", status / 100);
        resp = json_object_get(responses, code);
    }
    if (!resp) {
        snprintf(code, sizeof code, "%ldxx", status / 100);
        resp = json_object_get(responses, code);
    }
    if (!resp)
        resp = json_object_get(responses, "default");
    content = json_object_get(resp, "content");
    return json_object_get(json_object_get(content, "application/json"), "schema");
}

const char *mx_spec_added_in(const struct mx_spec *spec, const char *method,
                             const char *path) {
    const json_t *entry = find_op_entry(spec, method, path);
    const json_t *v =
        json_object_get(json_object_get(entry, "operation"), "x-addedInMatrixVersion");

    if (!v)
        v = json_object_get(json_object_get(entry, "path_item"),
                            "x-addedInMatrixVersion");
    return json_string_value(v);
}

const json_t *mx_spec_changed_in(const struct mx_spec *spec, const char *method,
                                 const char *path) {
    const json_t *v = json_object_get(mx_spec_operation(spec, method, path),
                                      "x-changedInMatrixVersion");

    return json_is_object(v) ? v : NULL;
}

static const json_t *find_op_by_id(const struct mx_spec *spec, const char *operation_id) {
    size_t i;
    const json_t *entry;

    if (!spec || !operation_id)
        return NULL;
    json_array_foreach(spec->ops, i, entry) {
        const char *id = json_string_value(
            json_object_get(json_object_get(entry, "operation"), "operationId"));
        if (id && strcmp(id, operation_id) == 0)
            return entry;
    }
    return NULL;
}

int mx_spec_has_operation(const struct mx_spec *spec, const char *operation_id) {
    return find_op_by_id(spec, operation_id) != NULL;
}

/* "1.9" before "1.17": versions compare by their numeric parts. */
static int compare_versions(const char *a, const char *b) {
    while (*a || *b) {
        char *ea, *eb;
        unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);

        if (x != y)
            return x < y ? -1 : 1;
        if (ea == a || eb == b)
            return strcmp(a, b);
        a = *ea == '.' ? ea + 1 : ea;
        b = *eb == '.' ? eb + 1 : eb;
    }
    return 0;
}

/* Appends a note with text folded to single spaces. */
static int append_note(json_t *notes, const char *operation_id, const char *version,
                       const char *kind, const char *text) {
    size_t n = strlen(text), o = 0;
    char *folded = malloc(n + 1);
    bool space = false;
    json_t *note;
    size_t at;

    if (!folded)
        return -1;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = o > 0;
            continue;
        }
        if (space)
            folded[o++] = ' ';
        space = false;
        folded[o++] = *p;
    }
    folded[o] = '\0';
    note = json_pack("{ss ss ss ss}", "operation", operation_id, "version", version,
                     "kind", kind, "text", folded);
    free(folded);
    if (!note)
        return -1;
    /* Keep the array sorted by version (insertion: a handful of notes). */
    for (at = json_array_size(notes); at > 0; at--) {
        const char *prev =
            json_string_value(json_object_get(json_array_get(notes, at - 1), "version"));
        if (compare_versions(prev, version) <= 0)
            break;
    }
    return json_array_insert_new(notes, at, note);
}

json_t *mx_spec_version_notes(const struct mx_spec *spec, const char *operation_id) {
    const json_t *entry = find_op_by_id(spec, operation_id);
    const json_t *op = json_object_get(entry, "operation");
    const json_t *added = json_object_get(op, "x-addedInMatrixVersion");
    const json_t *changed = json_object_get(op, "x-changedInMatrixVersion");
    json_t *notes = json_array();
    const char *version;
    json_t *text;

    if (!notes || !entry)
        return notes;
    if (!added)
        added = json_object_get(json_object_get(entry, "path_item"),
                                "x-addedInMatrixVersion");
    if (json_is_number(added)) {
        /* An unquoted version in the YAML reads as a number. */
        char buf[32];
        snprintf(buf, sizeof buf, "%g", json_number_value(added));
        if (append_note(notes, operation_id, buf, "added", "The endpoint was added.") < 0)
            goto oom;
    } else if (json_is_string(added) &&
               append_note(notes, operation_id, json_string_value(added), "added",
                           "The endpoint was added.") < 0) {
        goto oom;
    }
    if (json_is_object(changed)) {
        json_object_foreach((json_t *)changed, version, text) {
            if (append_note(notes, operation_id, version, "changed",
                            json_is_string(text) ? json_string_value(text) : "") < 0)
                goto oom;
        }
    }
    return notes;
oom:
    json_decref(notes);
    return NULL;
}

size_t mx_spec_example_count(const struct mx_spec *spec) {
    return spec ? spec->n_examples : 0;
}

const struct mx_spec_example *mx_spec_example_at(const struct mx_spec *spec, size_t i) {
    return spec && i < spec->n_examples ? &spec->examples[i] : NULL;
}

int mx_spec_check_example(const struct mx_spec_example *ex, char *err, size_t err_len) {
    if (!ex->schema) {
        snprintf(err, err_len, "no schema to check against");
        return 0;
    }
    if (err_len)
        err[0] = '\0';
    return mx_schema_validate(ex->schema, ex->value, err, err_len);
}

/* The example of the path parameter name: operation first, then path item. */
static const char *path_param_example(const json_t *entry, const char *name) {
    const json_t *holders[2] = {json_object_get(entry, "operation"),
                                json_object_get(entry, "path_item")};

    for (size_t h = 0; h < 2; h++) {
        const json_t *params = json_object_get(holders[h], "parameters");
        const json_t *param;
        size_t i;

        json_array_foreach(params, i, param) {
            const char *in = json_string_value(json_object_get(param, "in"));
            const char *pname = json_string_value(json_object_get(param, "name"));

            if (!in || !pname || strcmp(in, "path") || strcmp(pname, name))
                continue;
            const char *ex = json_string_value(json_object_get(param, "example"));
            if (!ex)
                ex = json_string_value(
                    json_object_get(json_object_get(param, "schema"), "example"));
            if (ex)
                return ex;
        }
    }
    return NULL;
}

char *mx_spec_example_path(const struct mx_spec *spec, const char *method,
                           const char *path) {
    const json_t *entry = find_op_entry(spec, method, path);
    const char *t = json_string_value(json_object_get(entry, "full"));
    char *out = NULL;
    size_t len = 0;
    FILE *fp;

    if (!t)
        return NULL;
    fp = open_memstream(&out, &len);
    if (!fp)
        return NULL;
    while (*t) {
        const char *close = *t == '{' ? strchr(t, '}') : NULL;
        char name[128];
        const char *ex;

        if (!close) {
            fputc(*t++, fp);
            continue;
        }
        snprintf(name, sizeof name, "%.*s", (int)(close - t - 1), t + 1);
        ex = path_param_example(entry, name);
        if (!ex) {
            fclose(fp);
            free(out);
            return NULL;
        }
        for (; *ex; ex++) {
            unsigned char ch = (unsigned char)*ex;

            if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                (ch >= '0' && ch <= '9') || strchr("-._~", ch))
                fputc(ch, fp);
            else
                fprintf(fp, "%%%02X", ch);
        }
        t = close + 1;
    }
    if (fclose(fp) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- runtime lookup for the suite ------------------------------------- */

static struct mx_spec *runtime_spec;
static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;

static void on_runtime_load(void) {
    /* The other API files the suite talks to while provisioning. */
    static const char *const extra[] = {"login.yaml", "logout.yaml", "registration.yaml",
                                        "whoami.yaml", "versions.yaml"};
    const char *dir = getenv("MXDEV_SPEC_DIR");
    json_error_t err;

    if (!dir || !*dir)
        return;
    runtime_spec = mx_spec_load(dir, &err);
    if (!runtime_spec) {
        if (err.line > 0)
            fprintf(stderr, "MXDEV_SPEC_DIR=%s: %s:%d: %s\n", dir, err.source, err.line,
                    err.text);
        else
            fprintf(stderr, "MXDEV_SPEC_DIR=%s: %s: %s\n", dir, err.source, err.text);
        return;
    }
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        char *path = xasprintf("%s/%s", dir, extra[i]);
        bool present = path && access(path, R_OK) == 0;

        free(path);
        /* Optional: some refer to files outside client-server/ that a
         * partial checkout lacks; the spec then has no schema for them. */
        if (present)
            mx_spec_add_file(runtime_spec, extra[i], &err);
    }
}

static json_t *runtime_error_schema; /* definitions/errors/error.yaml, resolved */
static json_t *runtime_combined;     /* "METHOD path status" -> anyOf schema */
static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;

/* An error status may carry the standard error body on any endpoint, even
 * one whose documented body for that status is something else (a 401 with
 * M_MISSING_TOKEN where the spec documents the UIA challenge): accept
 * either. Returns a borrowed schema kept in runtime_combined. */
static const json_t *with_error_body(const json_t *schema, const char *method,
                                     const char *path, long status) {
    char key[1024];
    json_t *combined;

    if (!runtime_error_schema) {
        struct ctx c = {.spec = runtime_spec};

        c.stack = json_object();
        runtime_error_schema =
            c.stack ? resolve_at(&c, "definitions/errors/error.yaml", "") : NULL;
        json_decref(c.stack);
        if (!runtime_error_schema)
            return schema;
    }
    if (!runtime_combined)
        runtime_combined = json_object();
    snprintf(key, sizeof key, "%s %.*s %ld", method, (int)strcspn(path, "?#"), path,
             status);
    combined = json_object_get(runtime_combined, key);
    if (combined)
        return combined;
    combined = json_pack("{s[OO]}", "anyOf", schema, runtime_error_schema);
    if (!combined || json_object_set_new(runtime_combined, key, combined) < 0)
        return schema;
    return combined;
}

const json_t *mx_spec_response_schema(const char *method, const char *path, long status) {
    const json_t *schema;

    pthread_once(&runtime_once, on_runtime_load);
    if (!runtime_spec || !method || !path)
        return NULL;
    schema = mx_spec_schema_for(runtime_spec, method, path, status);
    if (schema && status >= 400) {
        pthread_mutex_lock(&runtime_lock);
        schema = with_error_body(schema, method, path, status);
        pthread_mutex_unlock(&runtime_lock);
    }
    return schema;
}

const json_t *mx_spec_request_schema(const char *method, const char *path) {
    const json_t *body;

    pthread_once(&runtime_once, on_runtime_load);
    if (!runtime_spec || !method || !path)
        return NULL;
    body = json_object_get(mx_spec_operation(runtime_spec, method, path), "requestBody");
    return json_object_get(
        json_object_get(json_object_get(body, "content"), "application/json"), "schema");
}
