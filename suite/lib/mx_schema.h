/* A small JSON Schema validator for the keywords the project's schemas use:
 * type (incl. arrays of types), properties, required, items,
 * additionalProperties (bool or schema), enum, allOf, anyOf, oneOf, const,
 * minItems, local "$ref" ("#/..." and "#/$defs/..."). Unknown keywords are
 * ignored, as the JSON Schema rules say. */
#ifndef MX_SCHEMA_H
#define MX_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* Validates instance against schema (root is used for "$ref"). Returns 0,
 * or -1 with the first violation as "JSON pointer: reason" in err. */
int mx_schema_validate(const json_t *schema, const json_t *instance, char *err,
                       size_t err_len);

/* A schema file from <fixtures>/schemas, parsed once per process and cached: borrowed,
 * NULL when missing or not JSON (the reason goes to stderr once). Also resolves
 * "$ref": "other.json#/pointer" across files. */
const json_t *mx_schema_load(const char *file);

#endif
