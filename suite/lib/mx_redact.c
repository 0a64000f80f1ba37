/* Redaction of secrets from every text that leaves the process. */
#include "mx_redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "<redacted>"

/* Registered secrets, copied; they live until exit. */
static char **secrets;
static size_t n_secrets;

/* JSON members whose string values are always hidden. */
static const char *const secret_keys[] = {
    "password",      "new_password",  "access_token",
    "refresh_token", "token",         "as_token",
    "hs_token",      "shared_secret", NULL};

void mx_redact_secret(const char *secret) {
    if (!secret || !secret[0])
        return;
    for (size_t i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            return;
    char *copy = strdup(secret);
    char **grown = realloc(secrets, (n_secrets + 1) * sizeof(*secrets));
    if (!copy || !grown) {
        free(copy);
        if (grown)
            secrets = grown;
        return;
    }
    secrets = grown;
    secrets[n_secrets++] = copy;
}

struct out {
    char *data;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *s, size_t n) {
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *grown = realloc(o->data, cap);
        if (!grown) {
            o->failed = true;
            return;
        }
        o->data = grown;
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

/* Length of the longest registered secret starting at p, or 0. */
static size_t secret_at(const char *p) {
    size_t best = 0;
    for (size_t i = 0; i < n_secrets; i++) {
        size_t n = strlen(secrets[i]);
        if (n > best && strncmp(p, secrets[i], n) == 0)
            best = n;
    }
    return best;
}

/* At p a quoted key ("password") followed by ':' and a string value: returns
 * the offset of the value's first character and its length in *vlen. */
static bool secret_member_at(const char *p, size_t *value_off, size_t *vlen) {
    if (*p != '"')
        return false;
    for (size_t k = 0; secret_keys[k]; k++) {
        size_t kl = strlen(secret_keys[k]);
        if (strncmp(p + 1, secret_keys[k], kl) != 0 || p[1 + kl] != '"')
            continue;
        const char *q = p + kl + 2;
        while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
            q++;
        if (*q != ':')
            return false;
        q++;
        while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
            q++;
        if (*q != '"')
            return false;
        q++;
        const char *v = q;
        while (*q && *q != '"') {
            if (*q == '\\' && q[1])
                q++;
            q++;
        }
        *value_off = (size_t)(v - p);
        *vlen = (size_t)(q - v);
        return true;
    }
    return false;
}

char *mx_redact(const char *text) {
    struct out o = {0};
    if (!text)
        return strdup("");
    const char *p = text;
    while (*p) {
        size_t n = secret_at(p);
        if (n > 0) {
            put(&o, REDACTED, strlen(REDACTED));
            p += n;
            continue;
        }
        size_t off, vlen;
        if (secret_member_at(p, &off, &vlen)) {
            put(&o, p, off);
            put(&o, REDACTED, strlen(REDACTED));
            p += off + vlen;
            continue;
        }
        /* access_token=VALUE in a query string (or anywhere in text). */
        static const char qkey[] = "access_token=";
        if (strncmp(p, qkey, sizeof(qkey) - 1) == 0) {
            put(&o, p, sizeof(qkey) - 1);
            p += sizeof(qkey) - 1;
            size_t v = strcspn(p, "& \t\r\n\"'#");
            if (v > 0)
                put(&o, REDACTED, strlen(REDACTED));
            p += v;
            continue;
        }
        put(&o, p, 1);
        p++;
    }
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    return o.data ? o.data : strdup("");
}
