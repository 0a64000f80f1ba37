/* Percent-decoding and query strings of a request target. */
#ifndef MOCK_URI_H
#define MOCK_URI_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-decodes len bytes of s. With plus_is_space, '+' becomes ' '
 * (query strings). Returns a new string, or NULL when the encoding is
 * invalid, the result holds a NUL byte or is not UTF-8, or on OOM. */
char *mock_percent_decode(const char *s, size_t len, bool plus_is_space);

/* Decoded query parameters (first occurrence of each key wins on lookup). */
struct mock_query {
    char **keys;
    char **values;
    size_t n;
};
/* Parses a raw query string (may be NULL or empty). Returns 0, or -1 on bad
 * encoding or OOM (q is then clean). */
int mock_query_parse(const char *query, struct mock_query *q);
void mock_query_clean(struct mock_query *q);
/* Borrowed value of key, or NULL. */
const char *mock_query_get(const struct mock_query *q, const char *key);

#endif
