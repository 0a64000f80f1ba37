/* Which schema applies: the bundled table <fixtures>/schemas/endpoints.json
 * (method, path template, status or "request", schema file), or the spec's
 * own OpenAPI files when the run has a spec directory (--spec-dir, through
 * mx_spec). The validator itself is mx_schema.h. */
#ifndef MX_SCHEMA_SELECT_H
#define MX_SCHEMA_SELECT_H

#include <jansson.h>

/* The schema for a response to (method, path) with status: the spec
 * directory's when it has one, else the bundled row (exact status, then
 * "4xx", then "default"). path is without its query. Borrowed; NULL when
 * none applies. */
const json_t *mx_schema_for(const char *method, const char *path, long status);

/* The schema of the request body of (method, path): the spec directory's
 * (--spec-dir) when it has one, else the bundled row of endpoints.json whose
 * status is "request". Borrowed; NULL when none. */
const json_t *mx_request_schema_for(const char *method, const char *path);

#endif
