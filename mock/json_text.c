/* Compact JSON text, byte for byte what json_dumps(v, JSON_COMPACT) makes. */
#include "json_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing output buffer for serialise(). */
struct text {
    char *data; /* owned */
    size_t len, cap;
    bool oom;
};

static void put(struct text *t, const char *s, size_t n) {
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (grown == NULL) {
            t->oom = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
}

/* A JSON string, escaped as json_dumps escapes it (UTF-8 kept as is). */
static void put_string(struct text *t, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(t, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
            case '"':
                put(t, "\\\"", 2);
                break;
            case '\\':
                put(t, "\\\\", 2);
                break;
            case '\b':
                put(t, "\\b", 2);
                break;
            case '\f':
                put(t, "\\f", 2);
                break;
            case '\n':
                put(t, "\\n", 2);
                break;
            case '\r':
                put(t, "\\r", 2);
                break;
            case '\t':
                put(t, "\\t", 2);
                break;
            default:
                put(t, esc, sizeof esc);
                break;
        }
    }
    put(t, s + run, n - run);
    put(t, "\"", 1);
}

/* Compact JSON text of v, the same bytes as json_dumps(v, JSON_COMPACT) in
 * about half the time: a listing of 10,000 devices is a megabyte, and
 * jansson's dump goes through a callback per token. */
static void serialise(struct text *t, json_t *v) {
    switch (json_typeof(v)) {
        case JSON_OBJECT: {
            const char *key;
            size_t key_len;
            json_t *member;
            bool first = true;
            put(t, "{", 1);
            json_object_keylen_foreach(v, key, key_len, member) {
                if (!first)
                    put(t, ",", 1);
                first = false;
                put_string(t, key, key_len);
                put(t, ":", 1);
                serialise(t, member);
            }
            put(t, "}", 1);
            break;
        }
        case JSON_ARRAY: {
            size_t i;
            json_t *item;
            put(t, "[", 1);
            json_array_foreach(v, i, item) {
                if (i > 0)
                    put(t, ",", 1);
                serialise(t, item);
            }
            put(t, "]", 1);
            break;
        }
        case JSON_STRING:
            put_string(t, json_string_value(v), json_string_length(v));
            break;
        case JSON_INTEGER: {
            char num[32];
            int n =
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            put(t, num, (size_t)n);
            break;
        }
        case JSON_TRUE:
            put(t, "true", 4);
            break;
        case JSON_FALSE:
            put(t, "false", 5);
            break;
        case JSON_NULL:
            put(t, "null", 4);
            break;
        default: { /* reals: jansson's own formatting */
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text == NULL)
                t->oom = true;
            else
                put(t, text, strlen(text));
            free(text);
            break;
        }
    }
}

char *mock_json_text(json_t *v) {
    struct text t = {NULL, 0, 0, false};
    serialise(&t, v);
    put(&t, "", 0);
    if (t.oom || t.data == NULL) {
        free(t.data);
        return NULL;
    }
    t.data[t.len] = '\0';
    return t.data;
}
