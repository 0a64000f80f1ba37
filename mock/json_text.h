/* The mock's JSON serialiser: replies, and anything hashed or compared as
 * JSON text. */
#ifndef MOCK_JSON_TEXT_H
#define MOCK_JSON_TEXT_H

#include <jansson.h>

/* The compact JSON text of v: the same bytes as json_dumps(v, JSON_COMPACT),
 * faster. Returns a new string (free), or NULL on OOM. */
char *mock_json_text(json_t *v);

#endif
