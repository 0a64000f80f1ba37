/* The requirement catalogue (fixtures/requirements.tsv) as data: ID, group,
 * level, the versions it applies to, and the rule. Loaded once per process;
 * the entries live until exit. */
#ifndef MX_CATALOG_H
#define MX_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "mx_version.h"

enum mx_level { MX_MUST, MX_SHOULD, MX_INFO };

struct mx_requirement {
    const char *id;    /* "UIA-WRONG-PASSWORD" */
    const char *group; /* "uia" */
    enum mx_level level;
    int since; /* 0 or 116..120 */
    int until; /* 0 or 116..120, inclusive */
    const char *rule;
    /* The rule's place in the spec, relative to the versioned spec root, e.g.
     * "client-server-api/#get_matrixclientv3devices" (the catalogue's 7th
     * column; every loaded requirement has one). */
    const char *anchor;
};

/* Loads the TSV (columns: id, group, level, since, until, rule, anchor; '#'
 * comments; every row needs an anchor "page/#anchor").
 * Returns 0, or -1 with "FILE:LINE: reason" in err. */
int mx_catalog_load(const char *path, char *err, size_t err_len);
/* Loads <fixtures_dir>/requirements.tsv (mx_env) unless loaded. Returns 0,
 * or -1 with the reason in err; the caller decides what a missing
 * catalogue means (the runner exits 2, a check fails). */
int mx_catalog_ensure(char *err, size_t err_len);
const struct mx_requirement *mx_catalog_find(const char *id);
size_t mx_catalog_count(void);
const struct mx_requirement *mx_catalog_at(size_t i);

/* The versioned link to the rule's place in the spec
 * ("https://spec.matrix.org/v1.17/client-server-api/#..."; the unreleased
 * 1.20 links to the "unstable" spec). Returns 0, or -1 (buf "") when the
 * requirement has no anchor or buf is too small. */
int mx_requirement_link(const struct mx_requirement *req, int spec_version, char *buf,
                        size_t len);

/* Test name "UIA_WRONG_PASSWORD__delete_devices" -> ID "UIA-WRONG-PASSWORD". */
void mx_test_name_to_id(const char *test_name, char *buf, size_t len);
bool mx_requirement_applies(const struct mx_requirement *req, int spec_version);
const char *mx_level_name(enum mx_level level); /* "MUST", "SHOULD", "INFO" */

#endif
