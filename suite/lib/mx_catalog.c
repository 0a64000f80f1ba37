/* The requirement catalogue loaded from fixtures/requirements.tsv. */
#include "mx_catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_env.h"

/* Entries and their strings live until the process exits. */
static struct mx_requirement *entries;
static size_t n_entries;
static bool loaded;

/* id, group, level, since, until, rule, anchor */
#define N_COLUMNS 7

static const char *const groups[] = {"err", "auth", "list", "get", "put", "asc",
                                     "uia", "del",  "asd",  "tok", "ver", NULL};

static int parse_version_field(const char *text, int *out) {
    if (strcmp(text, "-") == 0 || text[0] == '\0') {
        *out = 0;
        return 0;
    }
    int v = mx_version_parse(text);
    if (v < 0)
        return -1;
    *out = v;
    return 0;
}

static bool known_group(const char *g) {
    for (size_t i = 0; groups[i]; i++)
        if (strcmp(groups[i], g) == 0)
            return true;
    return false;
}

int mx_catalog_load(const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    struct mx_requirement *list = NULL;
    size_t len = 0;
    int rc = -1;

    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *fields[N_COLUMNS];
        int nf = 0;
        char *p = line;
        while (nf < N_COLUMNS) {
            fields[nf++] = p;
            char *tab = (nf < N_COLUMNS) ? strchr(p, '\t') : NULL;
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (nf != N_COLUMNS) {
            snprintf(err, err_len, "%s:%u: expected %d tab-separated columns, found %d",
                     path, lineno, N_COLUMNS, nf);
            goto out;
        }
        struct mx_requirement req = {0};
        if (fields[0][0] == '\0') {
            snprintf(err, err_len, "%s:%u: empty requirement id", path, lineno);
            goto out;
        }
        if (!known_group(fields[1])) {
            snprintf(err, err_len, "%s:%u: unknown group \"%s\"", path, lineno,
                     fields[1]);
            goto out;
        }
        if (strcmp(fields[2], "MUST") == 0) {
            req.level = MX_MUST;
        } else if (strcmp(fields[2], "SHOULD") == 0) {
            req.level = MX_SHOULD;
        } else if (strcmp(fields[2], "INFO") == 0) {
            req.level = MX_INFO;
        } else {
            snprintf(err, err_len, "%s:%u: level \"%s\" is not MUST, SHOULD or INFO",
                     path, lineno, fields[2]);
            goto out;
        }
        if (parse_version_field(fields[3], &req.since) < 0 ||
            parse_version_field(fields[4], &req.until) < 0) {
            snprintf(err, err_len, "%s:%u: since/until must be \"-\" or 1.16 .. 1.20",
                     path, lineno);
            goto out;
        }
        /* "page/#anchor": every requirement links to its place in the spec. */
        if (!strstr(fields[6], "/#") || strpbrk(fields[6], " \t") ||
            fields[6][strlen(fields[6]) - 1] == '#') {
            snprintf(err, err_len,
                     "%s:%u: anchor \"%s\" is not of the form page/#anchor (e.g. "
                     "client-server-api/#get_matrixclientv3devices)",
                     path, lineno, fields[6]);
            goto out;
        }
        for (size_t i = 0; i < len; i++) {
            if (strcmp(list[i].id, fields[0]) == 0) {
                snprintf(err, err_len, "%s:%u: duplicate requirement id %s", path, lineno,
                         fields[0]);
                goto out;
            }
        }
        req.id = strdup(fields[0]);
        req.group = strdup(fields[1]);
        req.rule = strdup(fields[5]);
        req.anchor = strdup(fields[6]);
        struct mx_requirement *grown = realloc(list, (len + 1) * sizeof(*list));
        if (!req.id || !req.group || !req.rule || !req.anchor || !grown) {
            free((char *)req.id);
            free((char *)req.group);
            free((char *)req.rule);
            free((char *)req.anchor);
            if (grown)
                list = grown;
            snprintf(err, err_len, "%s:%u: out of memory", path, lineno);
            goto out;
        }
        list = grown;
        list[len++] = req;
    }
    if (len == 0) {
        snprintf(err, err_len, "%s: no requirements", path);
        goto out;
    }
    /* Replacing a loaded catalogue leaks the old one; it lives until exit anyway. */
    entries = list;
    n_entries = len;
    list = NULL;
    loaded = true;
    rc = 0;
out:
    if (list) {
        for (size_t i = 0; i < len; i++) {
            free((char *)list[i].id);
            free((char *)list[i].group);
            free((char *)list[i].rule);
            free((char *)list[i].anchor);
        }
        free(list);
    }
    free(line);
    fclose(f);
    return rc;
}

int mx_requirement_link(const struct mx_requirement *req, int spec_version, char *buf,
                        size_t len) {
    int n;

    if (len > 0)
        buf[0] = '\0';
    if (!req || !req->anchor || !*req->anchor)
        return -1;
    if (spec_version >= 120)
        n = snprintf(buf, len, "https://spec.matrix.org/unstable/%s", req->anchor);
    else
        n = snprintf(buf, len, "https://spec.matrix.org/v%s/%s",
                     mx_version_name(spec_version), req->anchor);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    return 0;
}

int mx_catalog_ensure(char *err, size_t err_len) {
    char path[4096];

    if (loaded)
        return 0;
    snprintf(path, sizeof(path), "%s/requirements.tsv", mx_env()->fixtures_dir);
    return mx_catalog_load(path, err, err_len);
}

/* The lookups load the catalogue when nobody did; a catalogue that does not
 * load looks empty to them (mx_catalog_ensure says why). */
static void ensure_quietly(void) {
    char err[512];
    if (!loaded)
        mx_catalog_ensure(err, sizeof(err));
}

const struct mx_requirement *mx_catalog_find(const char *id) {
    ensure_quietly();
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i].id, id) == 0)
            return &entries[i];
    return NULL;
}

size_t mx_catalog_count(void) {
    ensure_quietly();
    return n_entries;
}

const struct mx_requirement *mx_catalog_at(size_t i) {
    ensure_quietly();
    return i < n_entries ? &entries[i] : NULL;
}

void mx_test_name_to_id(const char *test_name, char *buf, size_t len) {
    size_t i = 0;
    if (len == 0)
        return;
    for (const char *p = test_name; *p && i + 1 < len; p++) {
        if (p[0] == '_' && p[1] == '_')
            break;
        buf[i++] = (*p == '_') ? '-' : *p;
    }
    buf[i] = '\0';
}

bool mx_requirement_applies(const struct mx_requirement *req, int spec_version) {
    return (req->since == 0 || spec_version >= req->since) &&
           (req->until == 0 || spec_version <= req->until);
}

const char *mx_level_name(enum mx_level level) {
    switch (level) {
        case MX_MUST:
            return "MUST";
        case MX_SHOULD:
            return "SHOULD";
        case MX_INFO:
            return "INFO";
    }
    return "?";
}
