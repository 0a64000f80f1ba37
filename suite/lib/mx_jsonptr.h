/* JSON Pointer (RFC 6901) lookup, as used in "$ref" fragments: the pointer
 * may be percent-encoded as in a URI fragment. */
#ifndef MX_JSONPTR_H
#define MX_JSONPTR_H

#include <jansson.h>

/* The value at pointer ("" is the root) inside root; borrowed, NULL when the
 * pointer is malformed or points nowhere. */
const json_t *mx_json_pointer_get(const json_t *root, const char *pointer);

#endif
