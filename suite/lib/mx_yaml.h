/* YAML to JSON: reads one YAML document with libyaml's event API and builds
 * the equivalent jansson value.
 *
 * Mappings become objects (keys must be scalars; duplicate keys are an
 * error), sequences become arrays. Plain scalars are typed by the YAML 1.2
 * core schema: null / Null / NULL / ~ / empty -> null, true / false (three
 * spellings each) -> boolean, decimal, 0o and 0x integers -> integer,
 * decimal floats -> real; everything else, and every quoted or block scalar
 * or scalar with an explicit !!str tag, stays a string. Anchors and aliases
 * are honoured (an alias shares the anchored value). .inf and .nan have no
 * JSON form and are rejected.
 *
 * Errors go to a jansson json_error_t: line and column are 1-based and
 * source is the file name (or "<string>").
 */
#ifndef MX_YAML_H
#define MX_YAML_H

#include <jansson.h>
#include <stddef.h>

/**
 * Parses the first document of the YAML file at path.
 * @param path  file to read
 * @param error filled on failure (may be NULL)
 * @return new reference, or NULL on failure. An empty file gives JSON null.
 */
json_t *mx_yaml_load_file(const char *path, json_error_t *error);

/**
 * Same for a buffer of len bytes (need not be NUL-terminated).
 * @return new reference, or NULL on failure.
 */
json_t *mx_yaml_loadb(const char *buf, size_t len, json_error_t *error);

#endif
