/* Percent-decoding and query strings: the request target's parts, decoded
 * once and checked (valid encoding, UTF-8, no NUL). */
#include "uri.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 check (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

char *mock_percent_decode(const char *s, size_t len, bool plus_is_space) {
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto fail;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (memchr(out, '\0', o) != NULL || !utf8_valid((const unsigned char *)out, o))
        goto fail;
    return out;
fail:
    free(out);
    return NULL;
}

void mock_query_clean(struct mock_query *q) {
    for (size_t i = 0; i < q->n; i++) {
        free(q->keys[i]);
        free(q->values[i]);
    }
    free(q->keys);
    free(q->values);
    memset(q, 0, sizeof *q);
}

int mock_query_parse(const char *query, struct mock_query *q) {
    memset(q, 0, sizeof *q);
    if (query == NULL || query[0] == '\0')
        return 0;
    size_t max = 1;
    for (const char *c = query; *c != '\0'; c++)
        max += *c == '&';
    q->keys = calloc(max, sizeof *q->keys);
    q->values = calloc(max, sizeof *q->values);
    if (q->keys == NULL || q->values == NULL)
        goto fail;
    const char *p = query;
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t klen = eq != NULL ? (size_t)(eq - p) : n;
            q->keys[q->n] = mock_percent_decode(p, klen, true);
            q->values[q->n] =
                eq != NULL ? mock_percent_decode(eq + 1, n - klen - 1, true) : strdup("");
            q->n++;
            if (q->keys[q->n - 1] == NULL || q->values[q->n - 1] == NULL)
                goto fail;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
fail:
    mock_query_clean(q);
    return -1;
}

const char *mock_query_get(const struct mock_query *q, const char *key) {
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->keys[i], key) == 0)
            return q->values[i];
    }
    return NULL;
}
