/* Verdicts, text cleaning and escaping, and the expect-fail list. */
#include "report_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_redact.h"

static const char *const verdict_names[MX_VERDICT_COUNT] = {
    "pass", "fail", "warn", "skip", "info", "xfail", "xpass", "blocked", "not_run"};

const char *mx_verdict_name(enum mx_verdict v) {
    return (unsigned)v < MX_VERDICT_COUNT ? verdict_names[v] : "?";
}

int mx_verdict_parse(const char *name) {
    for (int i = 0; name && i < MX_VERDICT_COUNT; i++)
        if (strcmp(verdict_names[i], name) == 0)
            return i;
    return -1;
}

enum mx_verdict mx_verdict_for(enum mx_level level, enum mx_outcome outcome,
                               bool expected_to_fail) {
    switch (outcome) {
        case MX_OUTCOME_SKIPPED:
            return MX_VERDICT_SKIP;
        case MX_OUTCOME_CRASHED:
            /* A crash is the suite's bug: never softened to a warning. */
            return expected_to_fail ? MX_VERDICT_XFAIL : MX_VERDICT_FAIL;
        case MX_OUTCOME_FAILED:
            if (expected_to_fail)
                return MX_VERDICT_XFAIL;
            /* An INFO check asserts only on its own preconditions, so its
             * failure is the suite's bug and fails the run. */
            return level == MX_SHOULD ? MX_VERDICT_WARN : MX_VERDICT_FAIL;
        case MX_OUTCOME_BLOCKED:
            return MX_VERDICT_BLOCKED;
        case MX_OUTCOME_NOT_RUN:
            return MX_VERDICT_NOT_RUN;
        case MX_OUTCOME_PASSED:
            if (expected_to_fail)
                return MX_VERDICT_XPASS;
            return level == MX_INFO ? MX_VERDICT_INFO : MX_VERDICT_PASS;
    }
    return MX_VERDICT_FAIL;
}

bool mx_verdict_is_failure(enum mx_verdict v, bool strict) {
    return v == MX_VERDICT_FAIL ||
           (strict && (v == MX_VERDICT_WARN || v == MX_VERDICT_XPASS));
}

bool mx_verdict_is_judged(enum mx_verdict v) {
    return v == MX_VERDICT_PASS || v == MX_VERDICT_FAIL || v == MX_VERDICT_WARN ||
           v == MX_VERDICT_INFO || v == MX_VERDICT_XFAIL || v == MX_VERDICT_XPASS;
}

int mx_exit_status_for(const size_t totals[MX_VERDICT_COUNT], bool strict) {
    size_t judged = 0;

    for (int v = 0; v < MX_VERDICT_COUNT; v++) {
        if (totals[v] > 0 && mx_verdict_is_failure((enum mx_verdict)v, strict))
            return 1;
        if (mx_verdict_is_judged((enum mx_verdict)v))
            judged += totals[v];
    }
    /* Nothing judged (all skipped, not run, or a filter that matched
     * nothing): no verdict at all, never "conformant". */
    if (judged == 0)
        return MX_EXIT_NO_CHECK_JUDGED;
    /* A check the run did not get to leaves its rule unjudged. */
    if (totals[MX_VERDICT_NOT_RUN] > 0)
        return 1;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4) with its code point, or 0
 * when the bytes there are not one (overlong, surrogate, beyond U+10FFFF,
 * truncated). */
static size_t utf8_sequence(const unsigned char *s, uint32_t *cp) {
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        *cp = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        *cp = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return 0;
        *cp = (*cp << 6) | (b & 0x3F);
    }
    return len;
}

char *mx_text_clean(const char *text) {
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    char *out = malloc(3 * n + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    while (*s) {
        uint32_t cp;
        size_t len = utf8_sequence(s, &cp);
        if (len == 0) {
            memcpy(out + o, replacement, 3);
            o += 3;
            s++;
            continue;
        }
        if (cp == '\r') {
            s++;
            continue;
        }
        if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F || cp == 0xFFFE ||
            cp == 0xFFFF) {
            memcpy(out + o, replacement, 3);
            o += 3;
        } else {
            memcpy(out + o, s, len);
            o += len;
        }
        s += len;
    }
    out[o] = '\0';
    return out;
}

/* text with the user information of every URL in it replaced by "***", as
 * the runner shows a URL with credentials (new malloc'd string, NULL on
 * OOM). */
static char *strip_userinfo(const char *text) {
    const char *t = text ? text : "";
    size_t urls = 0, o = 0;
    char *out;

    /* Each URL grows by at most "***". */
    for (const char *p = strstr(t, "://"); p; p = strstr(p + 3, "://"))
        urls++;
    out = malloc(strlen(t) + 3 * urls + 1);
    if (!out)
        return NULL;
    while (*t) {
        const char *scheme = strstr(t, "://");
        const char *host, *at = NULL;
        size_t authority;

        if (!scheme) {
            strcpy(out + o, t);
            o += strlen(t);
            break;
        }
        host = scheme + 3;
        authority = strcspn(host, "/?#\" '<>\n\t");
        /* The last '@' of the authority ends the user information. */
        for (const char *p = host; p < host + authority; p++)
            if (*p == '@')
                at = p;
        memcpy(out + o, t, (size_t)(host - t));
        o += (size_t)(host - t);
        t = host;
        if (at) {
            memcpy(out + o, "***", 3);
            o += 3;
            t = at;
        }
    }
    out[o] = '\0';
    return out;
}

char *mx_text_safe(const char *text) {
    char *redacted = mx_redact(text ? text : "");
    char *stripped = redacted ? strip_userinfo(redacted) : NULL;
    char *clean = stripped ? mx_text_clean(stripped) : NULL;

    free(redacted);
    free(stripped);
    return clean;
}

char *mx_url_safe(const char *text) {
    return mx_text_safe(text);
}

void mx_put_first_line(FILE *f, const char *text, size_t max) {
    const char *s = text ? text : "";
    size_t n = strcspn(s, "\n");
    bool cut = n > max;

    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    fwrite(s, 1, n, f);
    if (cut)
        fputs("...", f);
}

char *mx_trim(char *s) {
    size_t n;
    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Appends text to *acc (a malloc'd string, or NULL), joined by a space. */
static int append_reason(char **acc, const char *text) {
    size_t old = *acc ? strlen(*acc) : 0;
    char *grown = realloc(*acc, old + strlen(text) + 2);

    if (!grown)
        return -1;
    if (old > 0)
        grown[old++] = ' ';
    strcpy(grown + old, text);
    *acc = grown;
    return 0;
}

/* Whether key names a catalogue requirement or a test of one; why not in
 * why. */
static bool valid_key(const char *key, const char **why) {
    const char *slash = strchr(key, '/');
    char id[128];
    const struct mx_requirement *req;

    if (!slash) {
        *why = "unknown requirement ID";
        return mx_catalog_find(key) != NULL;
    }
    *why = "unknown test name (want group/TEST_NAME of a catalogue requirement)";
    mx_test_name_to_id(slash + 1, id, sizeof(id));
    req = mx_catalog_find(id);
    return req && strlen(req->group) == (size_t)(slash - key) &&
           strncmp(req->group, key, (size_t)(slash - key)) == 0;
}

/* Appends one line to err (lines separated by '\n'); counts it in *count. */
static void add_error(char *err, size_t err_len, unsigned *count, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(char *err, size_t err_len, unsigned *count, const char *fmt, ...) {
    size_t used = *count ? strlen(err) : 0;
    va_list ap;

    if (*count && used + 1 < err_len)
        err[used++] = '\n';
    (*count)++;
    if (used >= err_len)
        return;
    va_start(ap, fmt);
    vsnprintf(err + used, err_len - used, fmt, ap);
    va_end(ap);
}

int mx_expect_fail_load(const char *path, struct mx_expect_fail *out, char *err,
                        size_t err_len) {
    FILE *f = fopen(path, "r");
    char *line = NULL, *pending = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    struct mx_expect_fail list = {NULL, 0};
    int rc = -1;
    unsigned bad = 0;

    out->entries = NULL;
    out->count = 0;
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) >= 0) {
        char *text, *hash, *key, *reason;
        const char *why;
        struct mx_expect_fail_entry *grown;

        lineno++;
        text = mx_trim(line);
        if (*text == '\0') {
            free(pending);
            pending = NULL;
            continue;
        }
        if (*text == '#') {
            if (append_reason(&pending, mx_trim(text + 1)) < 0)
                goto oom;
            continue;
        }
        hash = strchr(text, '#');
        if (hash)
            *hash = '\0';
        key = mx_trim(text);
        /* Every bad line is reported, one per line of err, not only the first. */
        if (strpbrk(key, " \t")) {
            add_error(err, err_len, &bad, "%s:%u: one ID or test name per line", path,
                      lineno);
            continue;
        }
        if (!valid_key(key, &why)) {
            add_error(err, err_len, &bad, "%s:%u: %s: %s", path, lineno, why, key);
            continue;
        }
        reason = hash ? mx_trim(hash + 1) : (pending ? pending : "");
        grown = realloc(list.entries, (list.count + 1) * sizeof(*grown));
        if (!grown)
            goto oom;
        list.entries = grown;
        grown[list.count].key = strdup(key);
        grown[list.count].reason = strdup(reason);
        list.count++;
        if (!grown[list.count - 1].key || !grown[list.count - 1].reason)
            goto oom;
        free(pending);
        pending = NULL;
    }
    if (bad > 0)
        goto out;
    *out = list;
    list.entries = NULL;
    list.count = 0;
    rc = 0;
    goto out;
oom:
    snprintf(err, err_len, "%s: out of memory", path);
out:
    mx_expect_fail_free(&list);
    free(pending);
    free(line);
    fclose(f);
    return rc;
}

const struct mx_expect_fail_entry *mx_expect_fail_find(const struct mx_expect_fail *xf,
                                                       const char *id, const char *test) {
    for (size_t i = 0; xf && i < xf->count; i++)
        if ((id && strcmp(xf->entries[i].key, id) == 0) ||
            (test && strcmp(xf->entries[i].key, test) == 0))
            return &xf->entries[i];
    return NULL;
}

void mx_expect_fail_free(struct mx_expect_fail *xf) {
    for (size_t i = 0; i < xf->count; i++) {
        free(xf->entries[i].key);
        free(xf->entries[i].reason);
    }
    free(xf->entries);
    xf->entries = NULL;
    xf->count = 0;
}

json_t *mx_baseline_load(const char *path, char *err, size_t err_len) {
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr), *checks, *check, *out = NULL;
    const char *tool, *verdict;
    size_t i;

    if (!doc) {
        snprintf(err, err_len, "%s: not JSON (line %d: %s)", path, jerr.line, jerr.text);
        return NULL;
    }
    tool = json_string_value(json_object_get(doc, "tool"));
    checks = json_object_get(doc, "checks");
    if (!tool || strcmp(tool, "device-conformance") != 0 || !json_is_array(checks)) {
        snprintf(err, err_len,
                 "%s: not a device-conformance results.json (no \"tool\" and \"checks\")",
                 path);
        goto out;
    }
    verdict = json_string_value(json_object_get(doc, "verdict"));
    if (json_array_size(checks) == 0 || (verdict && strcmp(verdict, "not judged") == 0)) {
        snprintf(err, err_len, "%s: the run it records judged nothing (no checks)", path);
        goto out;
    }
    out = json_object();
    json_array_foreach(checks, i, check) {
        const char *test = json_string_value(json_object_get(check, "test"));
        const char *v = json_string_value(json_object_get(check, "verdict"));
        if (!test || !v || mx_verdict_parse(v) < 0) {
            snprintf(
                err, err_len,
                "%s: check %zu has no \"test\" or a verdict this suite does not know",
                path, i + 1);
            json_decref(out);
            out = NULL;
            goto out;
        }
        json_object_set_new(out, test, json_string(v));
    }
out:
    json_decref(doc);
    return out;
}
