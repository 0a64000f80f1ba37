/* The route table (one row per operation) and the path matcher. No
 * endpoint logic here. */
#include "routes.h"

#include <stdlib.h>
#include <string.h>

#define V3 "/_matrix/client/v3"

static const struct mock_route routes[] = {
    {"GET", "/_matrix/client/versions", on_versions, MOCK_AUTH_NONE, false, NULL, false},
    {"GET", V3 "/login", on_login_flows, MOCK_AUTH_NONE, false, NULL, false},
    {"POST", V3 "/login", on_login, MOCK_AUTH_OPTIONAL, true, "login", false},
    {"POST", V3 "/register", on_register, MOCK_AUTH_OPTIONAL, true, "register", false},
    {"POST", V3 "/logout", on_logout, MOCK_AUTH_REQUIRED, true, NULL, false},
    {"POST", V3 "/logout/all", on_logout_all, MOCK_AUTH_REQUIRED, true, NULL, false},
    {"GET", V3 "/account/whoami", on_whoami, MOCK_AUTH_REQUIRED, false, NULL, false},
    {"GET", V3 "/devices", on_get_devices, MOCK_AUTH_REQUIRED, false, NULL, true},
    {"GET", V3 "/devices/{deviceId}", on_get_device, MOCK_AUTH_REQUIRED, false, NULL,
     true},
    {"PUT", V3 "/devices/{deviceId}", on_update_device, MOCK_AUTH_REQUIRED, true, NULL,
     true},
    {"DELETE", V3 "/devices/{deviceId}", on_delete_device, MOCK_AUTH_REQUIRED, true, NULL,
     true},
    {"POST", V3 "/delete_devices", on_delete_devices, MOCK_AUTH_REQUIRED, true, NULL,
     true},
    /* Synapse's shared-secret registration; answers only with --shared-secret. */
    {"GET", "/_synapse/admin/v1/register", on_admin_register_nonce, MOCK_AUTH_NONE, false,
     NULL, false},
    {"POST", "/_synapse/admin/v1/register", on_admin_register, MOCK_AUTH_NONE, true, NULL,
     false},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

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

void mock_match_clean(struct mock_match *m) {
    for (size_t i = 0; i < MOCK_MAX_PARAMS; i++) {
        free(m->params[i]);
        free(m->raw_params[i]);
    }
    free(m->op_path);
    memset(m, 0, sizeof *m);
}

/* Splits off the next segment of a path or template: *p points after a '/'.
 * Returns the segment length; *p moves to the next '/' or the end. */
static size_t next_segment(const char **p) {
    const char *start = *p;
    const char *slash = strchr(start, '/');
    size_t n = slash != NULL ? (size_t)(slash - start) : strlen(start);
    *p = start + n;
    return n;
}

/* Matches one route; returns 1 on a match (m filled), 0 when not, -1 on OOM. */
static int match_one(const struct mock_route *r, const char *path, struct mock_match *m) {
    const char *t = r->path;
    const char *p = path;
    while (*t == '/' && *p == '/') {
        t++;
        p++;
        const char *tseg = t, *pseg = p;
        size_t tlen = next_segment(&t);
        size_t plen = next_segment(&p);
        if (tlen > 2 && tseg[0] == '{' && tseg[tlen - 1] == '}') {
            if (plen == 0 || m->n_params == MOCK_MAX_PARAMS)
                goto nomatch;
            char *raw = strndup(pseg, plen);
            if (raw == NULL)
                goto oom;
            m->raw_params[m->n_params] = raw;
            char *dec = mock_percent_decode(pseg, plen, false);
            if (dec == NULL || dec[0] == '\0') {
                free(dec);
                goto nomatch;
            }
            m->params[m->n_params++] = dec;
        } else {
            /* Literal segments compare decoded, so "%76ersions" is "versions". */
            char *dec = mock_percent_decode(pseg, plen, false);
            bool same =
                dec != NULL && strlen(dec) == tlen && memcmp(dec, tseg, tlen) == 0;
            free(dec);
            if (!same)
                goto nomatch;
        }
    }
    if (*t != '\0' || *p != '\0')
        goto nomatch;
    return 1;
nomatch:
    mock_match_clean(m);
    return 0;
oom:
    mock_match_clean(m);
    return -1;
}

/* The operation path a UIA session binds to: the template with each capture
 * replaced by its decoded value. */
static char *build_op_path(const struct mock_match *m) {
    size_t cap = strlen(m->route->path) + 1;
    for (size_t i = 0; i < m->n_params; i++)
        cap += strlen(m->params[i]);
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t o = 0, k = 0;
    for (const char *t = m->route->path; *t != '\0';) {
        if (*t == '{') {
            const char *end = strchr(t, '}');
            size_t n = strlen(m->params[k]);
            memcpy(out + o, m->params[k++], n);
            o += n;
            t = end + 1;
        } else {
            out[o++] = *t++;
        }
    }
    out[o] = '\0';
    return out;
}

enum mock_route_result mock_route_match(const char *method, const char *path,
                                        struct mock_match *m) {
    memset(m, 0, sizeof *m);
    bool path_known = false;
    for (size_t i = 0; i < N_ROUTES; i++) {
        int rc = match_one(&routes[i], path, m);
        if (rc < 0)
            return MOCK_ROUTE_NO_MEMORY;
        if (rc == 0)
            continue;
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            m->route = &routes[i];
            m->op_path = build_op_path(m);
            if (m->op_path == NULL) {
                mock_match_clean(m);
                return MOCK_ROUTE_NO_MEMORY;
            }
            return MOCK_ROUTE_FOUND;
        }
        path_known = true;
        mock_match_clean(m);
    }
    if (!path_known)
        return MOCK_ROUTE_NOT_FOUND;
    return strcmp(method, "OPTIONS") == 0 ? MOCK_ROUTE_OPTIONS : MOCK_ROUTE_BAD_METHOD;
}

const char *mock_route_methods(const char *path) {
    /* Methods per distinct template, in table order. */
    static const struct {
        const char *path;
        const char *methods;
    } allow[] = {
        {"/_matrix/client/versions", "GET, HEAD, OPTIONS"},
        {V3 "/login", "GET, HEAD, POST, OPTIONS"},
        {V3 "/register", "POST, OPTIONS"},
        {V3 "/logout", "POST, OPTIONS"},
        {V3 "/logout/all", "POST, OPTIONS"},
        {V3 "/account/whoami", "GET, HEAD, OPTIONS"},
        {V3 "/devices", "GET, HEAD, OPTIONS"},
        {V3 "/devices/{deviceId}", "GET, HEAD, PUT, DELETE, OPTIONS"},
        {V3 "/delete_devices", "POST, OPTIONS"},
        {"/_synapse/admin/v1/register", "GET, HEAD, POST, OPTIONS"},
    };
    for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++) {
        struct mock_route probe = {"",    allow[i].path, NULL, MOCK_AUTH_NONE,
                                   false, NULL,          false};
        struct mock_match m;
        memset(&m, 0, sizeof m);
        int rc = match_one(&probe, path, &m);
        mock_match_clean(&m);
        if (rc == 1)
            return allow[i].methods;
    }
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
