/* --only, --group and --list-requirements: the catalogue as the index of the
 * checks. A check's criterion name is "group/ID_WITH_UNDERSCORES" or
 * "group/ID_WITH_UNDERSCORES__variant". */
#include "select.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_catalog.h"
#include "options.h"

/* NULL-terminated array of the catalogue's IDs (want_groups false) or its
 * distinct groups; new malloc'd array of borrowed strings. */
static const char **catalogue_names(bool want_groups) {
    size_t n = mx_catalog_count(), used = 0;
    const char **names = calloc(n + 1, sizeof(*names));
    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const struct mx_requirement *r = mx_catalog_at(i);
        const char *name = want_groups ? r->group : r->id;
        bool seen = false;
        for (size_t k = 0; k < used; k++)
            if (strcmp(names[k], name) == 0)
                seen = true;
        if (!seen)
            names[used++] = name;
    }
    return names;
}

static void check_names(struct options *o, json_t *given, bool groups) {
    const char **names = catalogue_names(groups);
    size_t i;
    json_t *v;
    if (!names)
        return;
    json_array_foreach(given, i, v) {
        const char *name = json_string_value(v);
        bool known = false;
        for (size_t k = 0; names[k]; k++)
            if (strcmp(names[k], name) == 0)
                known = true;
        if (known)
            continue;
        const char *near = options_closest(name, names);
        options_problem(o, "--%s: unknown %s %s%s%s%s", groups ? "group" : "only",
                        groups ? "group" : "requirement ID", name,
                        near ? " (did you mean " : "", near ? near : "",
                        near ? "?)" : "");
    }
    free(names);
}

void select_validate(struct options *o) {
    check_names(o, o->only, false);
    check_names(o, o->groups, true);
}

/* Appends "|text" (or "text" first) to *pattern; -1 on OOM. */
static int add_alternative(char **pattern, const char *fmt, const char *a,
                           const char *b) {
    char *alt = NULL, *longer = NULL;
    if (asprintf(&alt, fmt, a, b) < 0)
        return -1;
    if (asprintf(&longer, "%s%s%s", *pattern ? *pattern : "", *pattern ? "|" : "", alt) <
        0) {
        free(alt);
        return -1;
    }
    free(alt);
    free(*pattern);
    *pattern = longer;
    return 0;
}

char *select_pattern(const struct options *o) {
    char *pattern = NULL, *out = NULL;
    size_t i;
    json_t *v;
    if (json_array_size(o->only) == 0 && json_array_size(o->groups) == 0)
        return NULL;
    json_array_foreach(o->only, i, v) {
        const struct mx_requirement *r = mx_catalog_find(json_string_value(v));
        char name[128];
        if (!r)
            continue;
        snprintf(name, sizeof(name), "%s", r->id);
        for (char *p = name; *p; p++)
            if (*p == '-')
                *p = '_';
        if (add_alternative(&pattern, "%s/%s", r->group, name) < 0 ||
            add_alternative(&pattern, "%s/%s__*", r->group, name) < 0)
            goto fail;
    }
    json_array_foreach(o->groups, i, v) {
        if (add_alternative(&pattern, "%s/*%s", json_string_value(v), "") < 0)
            goto fail;
    }
    if (pattern && asprintf(&out, "@(%s)", pattern) < 0)
        out = NULL;
fail:
    free(pattern);
    return out;
}

static const char *version_or_dash(int v) {
    return v ? mx_version_name(v) : "-";
}

int select_list_requirements(const struct options *o) {
    size_t n = mx_catalog_count();
    char link[512];
    if (strcmp(o->list_requirements, "json") == 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            const struct mx_requirement *r = mx_catalog_at(i);
            mx_requirement_link(r, o->spec_version, link, sizeof(link));
            json_t *row = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:b, s:s, s:s, s:o}", "id", r->id, "group",
                r->group, "level", mx_level_name(r->level), "since",
                r->since ? json_string(mx_version_name(r->since)) : json_null(), "until",
                r->until ? json_string(mx_version_name(r->until)) : json_null(),
                "applies", mx_requirement_applies(r, o->spec_version), "rule", r->rule,
                "anchor", r->anchor, "link", link[0] ? json_string(link) : json_null());
            /* A row that cannot be built must not vanish from the list. */
            if (!row || json_array_append_new(list, row) < 0) {
                json_decref(list);
                return -1;
            }
        }
        int rc = json_dumpf(list, stdout, JSON_INDENT(2));
        json_decref(list);
        putchar('\n');
        return rc == 0 && fflush(stdout) == 0 ? 0 : -1;
    }
    printf(
        "# requirements for spec %s: ID, level, since, until, group; then the rule and "
        "its place in the spec\n",
        mx_version_name(o->spec_version));
    for (size_t i = 0; i < n; i++) {
        const struct mx_requirement *r = mx_catalog_at(i);
        mx_requirement_link(r, o->spec_version, link, sizeof(link));
        printf("%-24s %-6s since %-4s until %-4s %s%s\n", r->id, mx_level_name(r->level),
               version_or_dash(r->since), version_or_dash(r->until), r->group,
               mx_requirement_applies(r, o->spec_version) ? "" : " (does not apply)");
        printf("    %s\n    %s\n", r->rule, link[0] ? link : "(no link)");
    }
    return fflush(stdout) == 0 ? 0 : -1;
}
