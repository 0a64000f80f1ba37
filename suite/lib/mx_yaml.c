/* YAML to JSON with libyaml's event API (see mx_yaml.h). */
#include "mx_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Deeper nesting than any spec file needs; bounds the recursion. */
#define MAX_DEPTH 256

#define TAG_PREFIX "tag:yaml.org,2002:"

struct loader {
    yaml_parser_t parser;
    json_t *anchors; /* anchor name -> value (borrowed by aliases) */
    json_error_t *error;
    const char *source;
    bool failed;
};

static void set_error(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...) {
    va_list ap;

    if (ld->failed)
        return;
    ld->failed = true;
    if (!ld->error)
        return;
    ld->error->line = mark ? (int)mark->line + 1 : -1;
    ld->error->column = mark ? (int)mark->column + 1 : -1;
    ld->error->position = mark ? (int)mark->index : 0;
    snprintf(ld->error->source, sizeof ld->error->source, "%s", ld->source);
    va_start(ap, fmt);
    vsnprintf(ld->error->text, sizeof ld->error->text, fmt, ap);
    va_end(ap);
}

static void set_parser_error(struct loader *ld) {
    const yaml_parser_t *p = &ld->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->context)
        set_error(ld, &p->problem_mark, "%s %s", p->context, problem);
    else
        set_error(ld, &p->problem_mark, "%s", problem);
}

static int next_event(struct loader *ld, yaml_event_t *ev) {
    if (!yaml_parser_parse(&ld->parser, ev)) {
        set_parser_error(ld);
        return -1;
    }
    return 0;
}

static bool all_in(const char *s, size_t n, const char *set) {
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!strchr(set, s[i]) || s[i] == '\0')
            return false;
    }
    return true;
}

static bool is_null_text(const char *s) {
    return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
           !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int bool_text(const char *s) {
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return 0;
    return -1;
}

#define DIGITS "0123456789"

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static bool is_int_text(const char *s, int *base, const char **digits) {
    size_t n = strlen(s);

    if (n > 2 && s[0] == '0' && s[1] == 'o' && all_in(s + 2, n - 2, "01234567")) {
        *base = 8;
        *digits = s + 2;
        return true;
    }
    if (n > 2 && s[0] == '0' && s[1] == 'x' &&
        all_in(s + 2, n - 2, "0123456789abcdefABCDEF")) {
        *base = 16;
        *digits = s + 2;
        return true;
    }
    *base = 10;
    *digits = s;
    if (*s == '-' || *s == '+')
        s++;
    return all_in(s, strlen(s), DIGITS);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s) {
    size_t lead = 0, frac = 0;

    if (*s == '-' || *s == '+')
        s++;
    while (*s >= '0' && *s <= '9') {
        s++;
        lead++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            s++;
            frac++;
        }
    }
    if (lead == 0 && frac == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static bool is_special_float(const char *s) {
    if (*s == '-' || *s == '+')
        s++;
    return !strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") ||
           !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* What the core schema makes of a plain scalar. `want` is the explicit
 * tag's type name ("int", ...) or NULL to resolve implicitly. */
static json_t *resolve_plain(struct loader *ld, const yaml_event_t *ev,
                             const char *want) {
    const char *s = (const char *)ev->data.scalar.value;
    const char *digits;
    int base, b;

    if ((!want || !strcmp(want, "null")) && is_null_text(s))
        return json_null();
    b = bool_text(s);
    if ((!want || !strcmp(want, "bool")) && b >= 0)
        return json_boolean(b);
    if ((!want || !strcmp(want, "int")) && is_int_text(s, &base, &digits)) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(digits, &end, base);
        if (errno == 0 && *end == '\0')
            return json_integer((json_int_t)v);
        /* Too large for an integer: JSON parsers fall back to a real too. */
        if (base == 10)
            return json_real(strtod(s, NULL));
        set_error(ld, &ev->start_mark, "integer out of range: %s", s);
        return NULL;
    }
    if ((!want || !strcmp(want, "float") || !strcmp(want, "int")) && is_float_text(s)) {
        double d = strtod(s, NULL);

        if (!isfinite(d)) {
            set_error(ld, &ev->start_mark, "number out of range: %s", s);
            return NULL;
        }
        return json_real(d);
    }
    if ((!want || !strcmp(want, "float")) && is_special_float(s)) {
        set_error(ld, &ev->start_mark, "%s has no JSON representation", s);
        return NULL;
    }
    if (want) {
        set_error(ld, &ev->start_mark, "\"%s\" is not a valid !!%s", s, want);
        return NULL;
    }
    return json_stringn(s, ev->data.scalar.length);
}

static json_t *scalar_value(struct loader *ld, const yaml_event_t *ev) {
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *want = NULL;
    json_t *v;

    if (tag && !strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX))) {
        const char *t = tag + strlen(TAG_PREFIX);

        if (!strcmp(t, "null") || !strcmp(t, "bool") || !strcmp(t, "int") ||
            !strcmp(t, "float"))
            want = t;
        else
            tag = "!"; /* !!str and the rest: keep the text */
    }
    if (want || (!tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
        v = resolve_plain(ld, ev, want);
    else
        v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!v && !ld->failed)
        set_error(ld, &ev->start_mark, "out of memory");
    return v;
}

static json_t *parse_node(struct loader *ld, yaml_event_t *ev, int depth);

static int remember_anchor(struct loader *ld, const yaml_char_t *anchor, json_t *value) {
    if (!anchor)
        return 0;
    return json_object_set(ld->anchors, (const char *)anchor, value);
}

/* Reads the key scalar of a mapping entry into a string. */
static json_t *parse_key(struct loader *ld, yaml_event_t *ev, int depth) {
    json_t *key;

    if (ev->type == YAML_SCALAR_EVENT) {
        key = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (remember_anchor(ld, ev->data.scalar.anchor, key) < 0) {
            json_decref(key);
            return NULL;
        }
        return key;
    }
    key = parse_node(ld, ev, depth);
    if (key && !json_is_string(key)) {
        json_decref(key);
        set_error(ld, &ev->start_mark, "mapping keys must be scalars");
        return NULL;
    }
    return key;
}

static json_t *parse_mapping(struct loader *ld, const yaml_event_t *start, int depth) {
    json_t *obj = json_object();
    yaml_event_t ev;

    if (!obj)
        return NULL;
    for (;;) {
        json_t *key, *value;
        yaml_mark_t key_mark;

        if (next_event(ld, &ev) < 0)
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        key_mark = ev.start_mark;
        key = parse_key(ld, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!key)
            goto fail;
        if (json_object_get(obj, json_string_value(key))) {
            set_error(ld, &key_mark, "duplicate key \"%s\"", json_string_value(key));
            json_decref(key);
            goto fail;
        }
        if (next_event(ld, &ev) < 0) {
            json_decref(key);
            goto fail;
        }
        value = parse_node(ld, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!value || json_object_set_new(obj, json_string_value(key), value) < 0) {
            json_decref(key);
            goto fail;
        }
        json_decref(key);
    }
    if (remember_anchor(ld, start->data.mapping_start.anchor, obj) < 0)
        goto fail;
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_sequence(struct loader *ld, const yaml_event_t *start, int depth) {
    json_t *arr = json_array();
    yaml_event_t ev;

    if (!arr)
        return NULL;
    for (;;) {
        json_t *value;

        if (next_event(ld, &ev) < 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        value = parse_node(ld, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!value || json_array_append_new(arr, value) < 0)
            goto fail;
    }
    if (remember_anchor(ld, start->data.sequence_start.anchor, arr) < 0)
        goto fail;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

/* Builds the value whose first event is ev (owned by the caller).
 * Returns a new reference or NULL with the error set. */
static json_t *parse_node(struct loader *ld, yaml_event_t *ev, int depth) {
    json_t *v;

    if (depth > MAX_DEPTH) {
        set_error(ld, &ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    switch (ev->type) {
        case YAML_SCALAR_EVENT:
            v = scalar_value(ld, ev);
            if (v && remember_anchor(ld, ev->data.scalar.anchor, v) < 0) {
                json_decref(v);
                v = NULL;
            }
            return v;
        case YAML_ALIAS_EVENT:
            /* Anchors are registered when their node is complete, so an
             * alias to an enclosing node (a cycle) is simply unknown here. */
            v = json_object_get(ld->anchors, (const char *)ev->data.alias.anchor);
            if (!v) {
                set_error(ld, &ev->start_mark, "unknown or recursive alias *%s",
                          (const char *)ev->data.alias.anchor);
                return NULL;
            }
            return json_incref(v);
        case YAML_MAPPING_START_EVENT:
            v = parse_mapping(ld, ev, depth);
            break;
        case YAML_SEQUENCE_START_EVENT:
            v = parse_sequence(ld, ev, depth);
            break;
        default:
            set_error(ld, &ev->start_mark, "unexpected YAML event");
            return NULL;
    }
    if (!v && !ld->failed)
        set_error(ld, &ev->start_mark, "out of memory");
    return v;
}

/* Drives the parser through STREAM-START, DOCUMENT-START, the root node. */
static json_t *load(struct loader *ld) {
    yaml_event_t ev;
    json_t *root = NULL;

    if (next_event(ld, &ev) < 0)
        return NULL;
    if (ev.type != YAML_STREAM_START_EVENT) {
        set_error(ld, &ev.start_mark, "unexpected YAML event");
        yaml_event_delete(&ev);
        return NULL;
    }
    yaml_event_delete(&ev);
    if (next_event(ld, &ev) < 0)
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return json_null();
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (next_event(ld, &ev) < 0)
        return NULL;
    root = parse_node(ld, &ev, 0);
    yaml_event_delete(&ev);
    if (!root)
        return NULL;
    /* Reach DOCUMENT-END so syntax errors after the root are not ignored. */
    if (next_event(ld, &ev) < 0) {
        json_decref(root);
        return NULL;
    }
    yaml_event_delete(&ev);
    return root;
}

static json_t *run(struct loader *ld) {
    json_t *root = NULL;

    ld->anchors = json_object();
    if (ld->anchors)
        root = load(ld);
    if (!root && !ld->failed)
        set_error(ld, NULL, "out of memory");
    json_decref(ld->anchors);
    yaml_parser_delete(&ld->parser);
    return root;
}

static int init_loader(struct loader *ld, const char *source, json_error_t *error) {
    memset(ld, 0, sizeof *ld);
    ld->error = error;
    ld->source = source;
    if (error) {
        memset(error, 0, sizeof *error);
        error->line = -1;
        error->column = -1;
    }
    if (!yaml_parser_initialize(&ld->parser)) {
        set_error(ld, NULL, "cannot initialise the YAML parser");
        return -1;
    }
    return 0;
}

json_t *mx_yaml_load_file(const char *path, json_error_t *error) {
    struct loader ld;
    json_t *root;
    FILE *fp;

    if (init_loader(&ld, path, error) < 0)
        return NULL;
    fp = fopen(path, "rb");
    if (!fp) {
        set_error(&ld, NULL, "cannot open %s: %s", path, strerror(errno));
        yaml_parser_delete(&ld.parser);
        return NULL;
    }
    yaml_parser_set_input_file(&ld.parser, fp);
    root = run(&ld);
    fclose(fp);
    return root;
}

json_t *mx_yaml_loadb(const char *buf, size_t len, json_error_t *error) {
    struct loader ld;

    if (init_loader(&ld, "<string>", error) < 0)
        return NULL;
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)buf, len);
    return run(&ld);
}
