/* Which schema applies to a request or a response (see mx_schema_select.h). */
#include "mx_schema_select.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mx_env.h"
#include "mx_schema.h"
#include "mx_spec.h"

static json_t *endpoints; /* the endpoints.json array */
static bool endpoints_tried;

static void load_endpoints(void) {
    char path[4352];
    json_error_t jerr;
    endpoints_tried = true;
    snprintf(path, sizeof(path), "%s/schemas/endpoints.json", mx_env()->fixtures_dir);
    endpoints = json_load_file(path, 0, &jerr);
    if (!endpoints) {
        /* No schemas configured: responses are simply not schema-checked. */
        return;
    }
    if (!json_is_array(endpoints)) {
        fprintf(stderr, "warning: %s is not a JSON array; schema checks disabled\n",
                path);
        json_decref(endpoints);
        endpoints = NULL;
    }
}

/* Whether a concrete (encoded) path fits a template with {param} segments. */
static bool path_matches(const char *tmpl, const char *path) {
    const char *t = tmpl, *p = path;
    while (*t && *p) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (!close)
                return false;
            size_t seg = strcspn(p, "/");
            if (seg == 0)
                return false;
            p += seg;
            t = close + 1;
            continue;
        }
        if (*t != *p)
            return false;
        t++;
        p++;
    }
    return *t == '\0' && *p == '\0';
}

/* 3 exact, 2 "4xx", 1 "default", 0 no match. */
static int status_rank(const char *pattern, long status) {
    char code[16];
    snprintf(code, sizeof(code), "%ld", status);
    if (strcmp(pattern, code) == 0)
        return 3;
    if (strlen(pattern) == 3 && (pattern[1] == 'x' || pattern[1] == 'X') &&
        (pattern[2] == 'x' || pattern[2] == 'X') && pattern[0] == code[0])
        return 2;
    if (strcmp(pattern, "default") == 0)
        return 1;
    return 0;
}

/* The bundled row for (method, path) whose status matches; rank as above,
 * or the "request" row when status is 0. */
static const char *bundled_file(const char *method, const char *path, long status) {
    const char *best = NULL;
    int best_rank = 0;
    size_t i;
    json_t *e;

    if (!endpoints_tried)
        load_endpoints();
    if (!endpoints || !method || !path)
        return NULL;
    json_array_foreach(endpoints, i, e) {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        json_t *st = json_object_get(e, "status");
        const char *file = json_string_value(json_object_get(e, "schema"));
        char stbuf[16];
        const char *s = json_string_value(st);
        int rank;

        if (json_is_integer(st)) {
            snprintf(stbuf, sizeof(stbuf), "%lld", (long long)json_integer_value(st));
            s = stbuf;
        }
        if (!m || !p || !s || !file || strcasecmp(m, method) != 0 ||
            !path_matches(p, path))
            continue;
        if (status == 0)
            rank = strcmp(s, "request") == 0 ? 3 : 0;
        else
            rank = status_rank(s, status);
        if (rank > best_rank) {
            best_rank = rank;
            best = file;
        }
    }
    return best;
}

const json_t *mx_request_schema_for(const char *method, const char *path) {
    const char *file;

    if (mx_env()->spec_dir) {
        const json_t *from_spec = mx_spec_request_schema(method, path);
        if (from_spec)
            return from_spec;
    }
    file = bundled_file(method, path, 0);
    return file ? mx_schema_load(file) : NULL;
}

const json_t *mx_schema_for(const char *method, const char *path, long status) {
    /* --spec-dir: the spec's own OpenAPI schemas replace fixtures/schemas. */
    /* The spec's own schema first; the bundled one where the spec directory
     * has none (e.g. a file that refers outside the directory). */
    if (mx_env()->spec_dir) {
        const json_t *from_spec = mx_spec_response_schema(method, path, status);
        if (from_spec)
            return from_spec;
    }
    const char *file = bundled_file(method, path, status);
    return file ? mx_schema_load(file) : NULL;
}
