/* The spec's own OpenAPI files as input.
 *
 * mx_spec_load() reads DIR/device_management.yaml from a matrix-spec
 * checkout (DIR = data/api/client-server), resolves every "$ref" relative to
 * the file that holds it ("file.yaml", "file.yaml#/json/pointer",
 * "#/pointer"), recursively and with a cycle guard, and keeps one
 * self-contained document without any "$ref". It also lists every example
 * the files hold, with the place it sits in its source file, and the schema
 * it must satisfy.
 *
 * mx_spec_response_schema() is the runtime entry point for the suite: it
 * loads $MXDEV_SPEC_DIR once per process and answers from the spec's own
 * response schemas.
 */
#ifndef MX_SPEC_H
#define MX_SPEC_H

#include <jansson.h>

#include "mx_jsonptr.h"
#include <stddef.h>

struct mx_spec;

/* One example value found in the spec files. All members are owned by the
 * spec and live until mx_spec_free(). */
struct mx_spec_example {
    const char *file;         /* source file, relative to the spec dir */
    const char *pointer;      /* JSON pointer of the value inside file */
    const char *location;     /* "file#pointer" */
    const char *kind;         /* "request", "response", "parameter" or "schema" */
    const char *method;       /* "GET"...: the operation it was found under */
    const char *path;         /* that operation's path template, as in the spec */
    const char *operation_id; /* NULL when the operation has none */
    long status;              /* response status; 0 for other kinds or "default" */
    const json_t *value;      /* the example */
    const json_t *schema;     /* resolved schema it must satisfy, NULL when none */
};

/**
 * Loads DIR/device_management.yaml and everything it references.
 * @param dir   a data/api/client-server folder
 * @param error on failure: source = file, line when the YAML was bad,
 *              text = what went wrong (with the "file#pointer" of a bad $ref)
 * @return a new spec for mx_spec_free(), or NULL.
 */
struct mx_spec *mx_spec_load(const char *dir, json_error_t *error);

/**
 * Adds one more API file of the same directory (e.g. "login.yaml") to the
 * operations the spec answers for and to its examples.
 * @return 0, or -1 with error filled (the spec stays usable).
 */
int mx_spec_add_file(struct mx_spec *spec, const char *file, json_error_t *error);

void mx_spec_free(struct mx_spec *spec);

/* The resolved document of a loaded file ("device_management.yaml"); borrowed,
 * NULL when that file was not loaded. */
const json_t *mx_spec_document(const struct mx_spec *spec, const char *file);

/**
 * Finds an operation. path is either a template as written in the spec
 * ("/devices/{deviceId}"), the same with the file's base path
 * ("/_matrix/client/v3/devices/{deviceId}"), or a concrete request path
 * ("/_matrix/client/v3/devices/ABC?x=1"). method is case-insensitive.
 * @return borrowed resolved operation object, or NULL.
 */
const json_t *mx_spec_operation(const struct mx_spec *spec, const char *method,
                                const char *path);

/**
 * The JSON schema of the application/json response of an operation for a
 * status: exact code first, then "4XX"-style ranges, then "default".
 * @return borrowed schema, or NULL when the spec gives none.
 */
const json_t *mx_spec_schema_for(const struct mx_spec *spec, const char *method,
                                 const char *path, long status);

/* The operation's x-addedInMatrixVersion (borrowed string) or NULL. */
const char *mx_spec_added_in(const struct mx_spec *spec, const char *method,
                             const char *path);

/* The operation's x-changedInMatrixVersion object ({"1.17": "what changed"},
 * borrowed) or NULL. */
const json_t *mx_spec_changed_in(const struct mx_spec *spec, const char *method,
                                 const char *path);

/**
 * The version notes of the operation with this operationId, in any loaded
 * file: its x-addedInMatrixVersion (on the operation or its path item) and
 * every entry of its x-changedInMatrixVersion, oldest version first.
 * @return new reference: an array of {"operation": operation_id,
 *         "version": "1.17", "kind": "added"|"changed", "text": "..."} (text
 *         with its white space runs folded to one space), empty when the spec
 *         has no such operation or it has no notes; NULL on OOM.
 */
json_t *mx_spec_version_notes(const struct mx_spec *spec, const char *operation_id);

/* Whether some loaded file has an operation with this operationId. */
int mx_spec_has_operation(const struct mx_spec *spec, const char *operation_id);

/* The path prefix of the API's server URL ("/_matrix/client/v3"); borrowed. */
const char *mx_spec_base_path(const struct mx_spec *spec, const char *method,
                              const char *path);

/* Examples in the order they were found (operations in file order). */
size_t mx_spec_example_count(const struct mx_spec *spec);
/* Borrowed; NULL when i is out of range. */
const struct mx_spec_example *mx_spec_example_at(const struct mx_spec *spec, size_t i);

/**
 * Validates an example against its schema with mx_schema_validate().
 * @return 0 when valid or when it has no schema (then err says so), -1 with
 *         "pointer: reason" in err when invalid.
 */
int mx_spec_check_example(const struct mx_spec_example *ex, char *err, size_t err_len);

/**
 * A request path for an operation made from the spec's own examples: the
 * base path, then the template with every {param} replaced by that path
 * parameter's example (percent-encoded).
 * @return new string (free()), or NULL when a parameter has no example.
 */
char *mx_spec_example_path(const struct mx_spec *spec, const char *method,
                           const char *path);

/**
 * Runtime lookup for the suite: when MXDEV_SPEC_DIR is set, loads that
 * directory once per process (device_management.yaml plus, when present,
 * the login, logout, registration, whoami and versions files) and returns
 * mx_spec_schema_for() of it. A failure to load device_management.yaml is
 * reported once on stderr; the other files are skipped silently when they
 * cannot be loaded (e.g. refs outside a partial checkout). For a status of
 * 400 and above the answer also admits the standard error body
 * (definitions/errors/error.yaml), which any endpoint may return: it is
 * {"anyOf": [documented schema, error schema]}.
 * @return borrowed schema, or NULL when the variable is unset, the load
 *         failed, or the spec has no schema for the response.
 */
const json_t *mx_spec_response_schema(const char *method, const char *path, long status);

/* The same for the request body of (method, path): the schema of its
 * requestBody's application/json content in the directory of
 * $MXDEV_SPEC_DIR. Borrowed; NULL when unset or absent. */
const json_t *mx_spec_request_schema(const char *method, const char *path);

#endif
