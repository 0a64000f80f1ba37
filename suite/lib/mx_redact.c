/* Redaction of secrets from every text that leaves the process. */
#include "mx_redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "<redacted>"

/* Registered secrets, copied; they live until exit. A long exploration
 * registers thousands of tokens, and every text that leaves the process is
 * scanned at each position: secrets are found through a hash of their first
 * two bytes (one-byte secrets are kept apart) instead of a scan of all. */
struct secret {
    char *text;
    size_t len;
    struct secret *next;
};

/* JSON members whose string values are always hidden. */
static const char *const secret_keys[] = {
    "password",      "new_password",  "access_token",
    "refresh_token", "token",         "as_token",
    "hs_token",      "shared_secret", NULL};

#define SECRET_BUCKETS 4096
static struct secret *buckets[SECRET_BUCKETS];
static struct secret *short_secrets; /* one byte long */

static size_t bucket_of(const char *p) {
    return (((unsigned char)p[0] << 4) ^ (unsigned char)p[1]) % SECRET_BUCKETS;
}

/* Static list head for secret s (NUL-terminated, at least one byte). */
static struct secret **list_for(const char *s) {
    return s[1] ? &buckets[bucket_of(s)] : &short_secrets;
}

void mx_redact_secret(const char *secret) {
    if (!secret || !secret[0])
        return;
    struct secret **head = list_for(secret);
    for (struct secret *e = *head; e; e = e->next)
        if (strcmp(e->text, secret) == 0)
            return;
    struct secret *e = malloc(sizeof(*e));
    char *copy = strdup(secret);
    if (!e || !copy) {
        free(e);
        free(copy);
        return;
    }
    e->text = copy;
    e->len = strlen(copy);
    e->next = *head;
    *head = e;
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
    if (!p[0])
        return 0;
    for (struct secret *e = short_secrets; e; e = e->next)
        if (p[0] == e->text[0])
            best = 1;
    if (!p[1])
        return best;
    for (struct secret *e = buckets[bucket_of(p)]; e; e = e->next)
        if (e->len > best && strncmp(p, e->text, e->len) == 0)
            best = e->len;
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

void mx_redact_url_userinfo(const char *url) {
    const char *start = url ? strstr(url, "://") : NULL;
    if (!start)
        return;
    start += 3;
    size_t host_end = strcspn(start, "/?#");
    const char *at = memchr(start, '@', host_end);
    if (!at)
        return;
    char *info = strndup(start, (size_t)(at - start) + 1);
    char *colon = info ? strchr(info, ':') : NULL;
    if (colon) {
        /* The password alone ("...:secret@" without its '@'). */
        char *password = strndup(colon + 1, strlen(colon + 1) - 1);
        mx_redact_secret(password);
        free(password);
    }
    mx_redact_secret(info);
    free(info);
}
