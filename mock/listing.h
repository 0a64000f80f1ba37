/* The answer to GET /devices, written straight from the store.
 *
 * The JSON text is made without jansson objects, byte for byte what
 * json_dumps(JSON_COMPACT) makes of the listing handlers_devices.c would
 * build with jansson, and cached per user: a listing asked for again
 * without a change to the user's devices is the same shared buffer (a
 * reference, no copy); after a change only the devices changed since are
 * written again, the others are copied from the previous text. */
#ifndef MOCK_LISTING_H
#define MOCK_LISTING_H

#include <jansson.h>

#include "errors.h"

struct store;
struct store_device;

/* A device as the spec's client_device: device_id, and display_name,
 * last_seen_ip, last_seen_ts when known. New reference, NULL on OOM. */
json_t *mock_device_json(const struct store_device *dev);

/**
 * Fills reply with 200 and {"devices": [...]}: user_id's devices in
 * creation order, each as the spec's client_device (display_name,
 * last_seen_ip and last_seen_ts only when known). Call with the store lock
 * held. reply->body is borrowed from the user's cache (reply->body_release
 * drops the reference, from any thread).
 * @return 0, or -1 for an unknown user or out of memory (reply untouched)
 */
int mock_listing_reply(struct store *st, const char *user_id, struct mock_reply *reply);

#endif
