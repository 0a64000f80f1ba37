/* Version notes from the spec's own files: the x-addedInMatrixVersion and
 * x-changedInMatrixVersion entries of the operations a requirement exercises
 * (fixtures/requirement-operations.tsv), for the reports. */
#include "report_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mx_spec.h"

struct mx_spec_notes {
    struct mx_spec *spec;
    json_t *map;   /* key -> [operationId, ...] */
    json_t *cache; /* operationId -> notes array */
};

static bool is_group(const char *key) {
    size_t n = mx_catalog_count();
    for (size_t i = 0; i < n; i++)
        if (strcmp(mx_catalog_at(i)->group, key) == 0)
            return true;
    return false;
}

/* An operationId: letters, digits and '_' (as the spec writes them). */
static bool is_operation_id(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* The operations of one row as a new array, or NULL when one is malformed. */
static json_t *parse_operations(char *list) {
    json_t *ops = json_array();
    char *save = NULL;

    if (!ops)
        return NULL;
    if (strcmp(list, "-") == 0)
        return ops;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = mx_trim(tok);
        if (!is_operation_id(tok)) {
            json_decref(ops);
            return NULL;
        }
        json_array_append_new(ops, json_string(tok));
    }
    if (json_array_size(ops) == 0) {
        json_decref(ops);
        return NULL;
    }
    return ops;
}

int mx_spec_notes_parse_map(const char *path, json_t **out, char *err, size_t err_len) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    json_t *map = json_object();
    int rc = -1;

    *out = NULL;
    if (!f || !map) {
        snprintf(err, err_len, "%s: %s", path, f ? "out of memory" : strerror(errno));
        goto out;
    }
    if (mx_catalog_ensure(err, err_len) < 0)
        goto out;
    while (getline(&line, &cap, f) >= 0) {
        char *text, *tab, *key;
        json_t *ops;

        lineno++;
        text = mx_trim(line);
        if (*text == '\0' || *text == '#')
            continue;
        tab = strchr(text, '\t');
        if (!tab) {
            snprintf(err, err_len, "%s:%u: want KEY<TAB>operationId[,operationId...]",
                     path, lineno);
            goto out;
        }
        *tab = '\0';
        key = mx_trim(text);
        if (!mx_catalog_find(key) && !is_group(key)) {
            snprintf(err, err_len, "%s:%u: %s is no requirement ID or group", path,
                     lineno, key);
            goto out;
        }
        if (json_object_get(map, key)) {
            snprintf(err, err_len, "%s:%u: %s is listed twice", path, lineno, key);
            goto out;
        }
        ops = parse_operations(mx_trim(tab + 1));
        if (!ops) {
            snprintf(err, err_len, "%s:%u: bad operationId list", path, lineno);
            goto out;
        }
        json_object_set_new(map, key, ops);
    }
    *out = map;
    map = NULL;
    rc = 0;
out:
    json_decref(map);
    free(line);
    if (f)
        fclose(f);
    return rc;
}

struct mx_spec_notes *mx_spec_notes_load(const char *spec_dir, const char *map_path,
                                         char *err, size_t err_len) {
    /* Files beside device_management.yaml with operations the mapping names. */
    static const char *const extra[] = {"whoami.yaml", "logout.yaml", "versions.yaml"};
    struct mx_spec_notes *notes = calloc(1, sizeof(*notes));
    json_error_t jerr;
    bool all_files = true;
    const char *key;
    json_t *ops, *op;
    size_t i;
    json_t *missing = json_object();

    err[0] = '\0';
    if (notes)
        notes->cache = json_object();
    if (!notes || !notes->cache) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (mx_spec_notes_parse_map(map_path, &notes->map, err, err_len) < 0)
        goto fail;
    notes->spec = mx_spec_load(spec_dir, &jerr);
    if (!notes->spec) {
        if (jerr.line > 0)
            snprintf(err, err_len, "%s/%s:%d: %s", spec_dir, jerr.source, jerr.line,
                     jerr.text);
        else
            snprintf(err, err_len, "%s/%s: %s", spec_dir, jerr.source, jerr.text);
        goto fail;
    }
    for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", spec_dir, extra[i]);
        /* Optional: a partial checkout may lack them or what they refer to. */
        if (access(path, R_OK) != 0 || mx_spec_add_file(notes->spec, extra[i], &jerr) < 0)
            all_files = false;
    }
    /* A renamed operation would silently lose its notes: say so, unless a
     * file that might hold it could not be read. */
    json_object_foreach(notes->map, key, ops) {
        json_array_foreach(ops, i, op) {
            const char *id = json_string_value(op);
            if (all_files && !mx_spec_has_operation(notes->spec, id))
                json_object_set_new(missing, id, json_true());
        }
    }
    if (json_object_size(missing) > 0) {
        size_t n = 0;
        char names[256] = "";
        json_object_foreach(missing, key, op) {
            if (n >= sizeof(names))
                break;
            n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
                                  key);
        }
        snprintf(err, err_len, "%s defines no operation %s (named in %s)", spec_dir,
                 names, map_path);
    }
    json_decref(missing);
    return notes;
fail:
    json_decref(missing);
    mx_spec_notes_free(notes);
    return NULL;
}

/* The notes of one operation, computed once (borrowed). */
static const json_t *notes_of(const struct mx_spec_notes *notes, const char *op) {
    json_t *list = json_object_get(notes->cache, op);

    if (list)
        return list;
    list = mx_spec_version_notes(notes->spec, op);
    if (!list)
        return NULL;
    json_object_set_new(notes->cache, op, list);
    return list;
}

json_t *mx_spec_notes_for(const struct mx_spec_notes *notes, const char *id,
                          const char *group) {
    json_t *out = json_array();
    const json_t *ops, *op, *list, *note;
    size_t i, j;

    if (!out || !notes)
        return out;
    ops = json_object_get(notes->map, id ? id : "");
    if (!ops)
        ops = json_object_get(notes->map, group ? group : "");
    json_array_foreach(ops, i, op) {
        list = notes_of(notes, json_string_value(op));
        json_array_foreach(list, j, note) {
            json_t *copy = json_object();
            const char *k;
            json_t *v;
            /* Spec text goes into HTML, XML and Markdown: clean it like
             * every other text of the reports. */
            json_object_foreach((json_t *)note, k, v) {
                char *clean = mx_text_clean(json_string_value(v));
                json_object_set_new(copy, k, json_string(clean ? clean : ""));
                free(clean);
            }
            json_array_append_new(out, copy);
        }
    }
    return out;
}

void mx_spec_notes_free(struct mx_spec_notes *notes) {
    if (!notes)
        return;
    mx_spec_free(notes->spec);
    json_decref(notes->map);
    json_decref(notes->cache);
    free(notes);
}
