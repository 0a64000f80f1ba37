#include "mx_jsonptr.h"

#include <stdlib.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one reference token at *p (after its '/') into token, undoing the
 * percent-encoding and then the ~0 / ~1 escapes. Returns its length, or -1. */
static long read_token(const char **p, char *token, size_t size) {
    const char *s = *p;
    size_t n = 0;

    while (*s && *s != '/') {
        char ch = *s++;
        if (ch == '%' && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
            ch = (char)(hexval(s[0]) * 16 + hexval(s[1]));
            s += 2;
        }
        if (ch == '~') {
            if (*s != '0' && *s != '1')
                return -1;
            ch = *s++ == '0' ? '~' : '/';
        }
        if (n + 1 >= size)
            return -1;
        token[n++] = ch;
    }
    token[n] = '\0';
    *p = s;
    return (long)n;
}

const json_t *mx_json_pointer_get(const json_t *root, const char *pointer) {
    const json_t *cur = root;
    const char *p = pointer;
    char token[512];

    if (!root || !pointer)
        return NULL;
    if (*p == '\0')
        return root;
    if (*p != '/')
        return NULL; /* plain-name fragments ($anchor) are not supported */
    while (*p == '/' && cur) {
        p++;
        long n = read_token(&p, token, sizeof(token));
        if (n < 0)
            return NULL;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, token);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(token, &end, 10);
            /* Array indices are plain decimal: no sign, no leading zero. */
            if (n == 0 || *end != '\0' || token[0] < '0' || token[0] > '9' ||
                (token[0] == '0' && n > 1))
                return NULL;
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
    }
    return cur;
}
