/* Request variants derived from a request body's schema.
 *
 * One literal body per rule checks the requests somebody picked; servers
 * break on the others. From the schema of a request body (the spec
 * version's own with --spec-dir, else the bundled one) this builds the
 * shapes a rule must hold for: the minimal valid body (required fields
 * only), each optional field alone, all of them, all of them plus an unknown
 * field and the minimal body plus one (servers ignore unknown fields), and
 * the invalid ones: each field
 * with a value of a wrong type, each required field left out. No test
 * framework here; the harness runs the variants.
 */
#ifndef MX_VARIANTS_H
#define MX_VARIANTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct mx_variant {
    char label[128]; /* "minimal body {}", "display_name alone", ... */
    json_t *body;    /* owned by the set */
    bool valid;      /* whether the body is valid for the schema */
    char field[64];  /* the field the variant is about ("" for none) */
};

struct mx_variants {
    struct mx_variant *v; /* owned */
    size_t n;
};

/* Builds the variants of schema (an object schema: properties, required).
 * values (borrowed) gives the value to use for a field, by name; a field the
 * schema has but values lacks gets a value made from its type. Fields named
 * in skip (NULL-terminated, may be NULL) are left out of every variant (e.g.
 * "auth", which the UIA checks handle). Returns 0, or -1 with the reason in
 * err (out left empty). */
int mx_variants_build(const json_t *schema, const json_t *values, const char *const *skip,
                      struct mx_variants *out, char *err, size_t err_len);
/* Whether the variant's body holds field. */
bool mx_variant_has(const struct mx_variant *v, const char *field);
void mx_variants_free(struct mx_variants *vs);

#endif
