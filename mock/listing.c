/* GET /devices straight from the store, cached per user.
 *
 * A listing of 10,000 devices is a megabyte of JSON; building it as 10,000
 * jansson objects cost about 15 allocations a device. Here the text is
 * written directly, and kept in the user's store slot with the generation
 * it shows. Every request marks its own device as seen, which changes the
 * listing every millisecond under load, so a stale cache is not thrown
 * away: while the set of devices is the same (same layout), the devices
 * not changed since are copied from the old text by their recorded spans
 * and only the changed ones are written again.
 *
 * Texts are reference counted: the cache holds one reference, every reply
 * in flight one more, released by the server's thread when sent. */
#include "listing.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* The jansson form, for GET /devices/{id} and as the reference the listing's
 * text must match. */
json_t *mock_device_json(const struct store_device *dev) {
    json_t *o = json_pack("{s:s}", "device_id", dev->device_id);
    if (o == NULL)
        return NULL;
    if (dev->display_name != NULL)
        json_object_set_new(o, "display_name", json_string(dev->display_name));
    if (dev->last_seen_ip != NULL)
        json_object_set_new(o, "last_seen_ip", json_string(dev->last_seen_ip));
    if (dev->last_seen_ts > 0)
        json_object_set_new(o, "last_seen_ts", json_integer(dev->last_seen_ts));
    return o;
}

#define LISTING_HEAD "{\"devices\":["
#define LISTING_TAIL "]}"

struct listing_text {
    atomic_size_t refs;
    size_t len;  /* of data, without the NUL */
    char data[]; /* NUL-terminated */
};

struct slot_of;

struct listing_cache {
    uint64_t generation, layout; /* of the user, when text was made */
    struct listing_text *text;   /* one reference */
    size_t *ends;                /* where each device's object ends in text */
    size_t n_ends;
    struct slot_of *map; /* device -> index, of the layout */
    size_t map_mask;
};

static void text_release(void *owner) {
    struct listing_text *t = owner;
    if (atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

static void cache_free(void *slot) {
    struct listing_cache *c = slot;
    if (c == NULL)
        return;
    if (c->text != NULL)
        text_release(c->text);
    free(c->ends);
    free(c->map);
    free(c);
}

/* ---- writing ---- */

/* A text being written, with the spans of its devices. */
struct writer {
    struct listing_text *t; /* owned until handed to the cache */
    size_t cap;             /* bytes of t->data */
    size_t *ends;           /* owned */
    size_t n_ends, cap_ends;
    bool oom;
};

static void reserve(struct writer *w, size_t n) {
    if (w->oom || w->t->len + n + 1 <= w->cap)
        return;
    size_t cap = w->cap > 0 ? w->cap : 4096;
    while (cap < w->t->len + n + 1)
        cap *= 2;
    struct listing_text *grown = realloc(w->t, sizeof *w->t + cap);
    if (grown == NULL) {
        w->oom = true;
        return;
    }
    w->t = grown;
    w->cap = cap;
}

static void put(struct writer *w, const char *s, size_t n) {
    reserve(w, n);
    if (w->oom)
        return;
    memcpy(w->t->data + w->t->len, s, n);
    w->t->len += n;
}

/* A JSON string as json_dumps writes it without JSON_ENSURE_ASCII: '"',
 * '\\' and the C0 controls escaped (\b \f \n \r \t, else \u00XX in upper
 * case hex), everything else, UTF-8 included, as is. */
static void put_string(struct writer *w, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    put(w, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, run, (size_t)(p - run));
        if (c == '\0')
            break;
        run = p + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
            case '"':
                put(w, "\\\"", 2);
                break;
            case '\\':
                put(w, "\\\\", 2);
                break;
            case '\b':
                put(w, "\\b", 2);
                break;
            case '\f':
                put(w, "\\f", 2);
                break;
            case '\n':
                put(w, "\\n", 2);
                break;
            case '\r':
                put(w, "\\r", 2);
                break;
            case '\t':
                put(w, "\\t", 2);
                break;
            default:
                put(w, esc, sizeof esc);
                break;
        }
    }
    put(w, "\"", 1);
}

/* A decimal integer, as "%lld" writes it (snprintf costs a tenth of a
 * listing). */
static void put_int(struct writer *w, int64_t v) {
    char digits[24];
    size_t i = sizeof digits;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        digits[--i] = '-';
    put(w, digits + i, sizeof digits - i);
}

/* The spec's client_device, keys in the order handlers_devices.c adds them. */
static void put_device(struct writer *w, const struct store_device *dev) {
    put(w, "{\"device_id\":", 13);
    put_string(w, dev->device_id);
    if (dev->display_name != NULL) {
        put(w, ",\"display_name\":", 16);
        put_string(w, dev->display_name);
    }
    if (dev->last_seen_ip != NULL) {
        put(w, ",\"last_seen_ip\":", 16);
        put_string(w, dev->last_seen_ip);
    }
    if (dev->last_seen_ts > 0) {
        put(w, ",\"last_seen_ts\":", 16);
        put_int(w, dev->last_seen_ts);
    }
    put(w, "}", 1);
}

static void note_end(struct writer *w) {
    if (w->oom)
        return;
    if (w->n_ends == w->cap_ends) {
        size_t cap = w->cap_ends > 0 ? w->cap_ends * 2 : 64;
        size_t *grown = realloc(w->ends, cap * sizeof *grown);
        if (grown == NULL) {
            w->oom = true;
            return;
        }
        w->ends = grown;
        w->cap_ends = cap;
    }
    w->ends[w->n_ends++] = w->t->len;
}

/* Where each device's object is in a text: by device, its index in the
 * listing (open addressing; the records of a user's devices stay put while
 * the layout is the same). */
struct slot_of {
    const struct store_device *dev; /* NULL: free */
    size_t index;
};

static size_t ptr_hash(const void *p) {
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15u);
}

struct full {
    struct writer *w;
    struct slot_of *map; /* NULL after OOM */
    size_t map_mask;
    size_t i;
};

static void on_device(const struct store_device *dev, void *arg) {
    struct full *f = arg;
    if (f->i > 0)
        put(f->w, ",", 1);
    put_device(f->w, dev);
    note_end(f->w);
    if (f->map != NULL) {
        size_t h = ptr_hash(dev) & f->map_mask;
        while (f->map[h].dev != NULL)
            h = (h + 1) & f->map_mask;
        f->map[h].dev = dev;
        f->map[h].index = f->i;
    }
    f->i++;
}

/* At most this many changed devices are patched into the old text; more,
 * or more than an eighth of the listing, and it is written again. */
#define MAX_PATCHES 64

struct patch {
    size_t index;   /* in the listing */
    size_t new_end; /* of its object in the new text */
    const struct store_device *dev;
};

struct changes {
    const struct listing_cache *c;
    struct patch p[MAX_PATCHES];
    size_t n;
    bool too_many;
};

static void on_changed(const struct store_device *dev, void *arg) {
    struct changes *ch = arg;
    const struct listing_cache *c = ch->c;
    if (ch->too_many)
        return;
    size_t h = ptr_hash(dev) & c->map_mask;
    while (c->map[h].dev != NULL && c->map[h].dev != dev)
        h = (h + 1) & c->map_mask;
    if (c->map[h].dev == NULL || ch->n == MAX_PATCHES || ch->n >= c->n_ends / 8 + 1) {
        ch->too_many = true;
        return;
    }
    /* Insertion by index: the text is patched front to back. */
    size_t k = ch->n++;
    while (k > 0 && ch->p[k - 1].index > c->map[h].index) {
        ch->p[k] = ch->p[k - 1];
        k--;
    }
    ch->p[k].index = c->map[h].index;
    ch->p[k].dev = dev;
}

/* The new text: the old one with the changed devices written again.
 * Returns 0, 1 when a full rewrite is due, -1 on OOM. */
static int patch_text(struct store *st, const char *user_id, struct listing_cache *c,
                      struct writer *w) {
    struct changes ch = {.c = c, .n = 0, .too_many = false};
    store_device_foreach_changed(st, user_id, c->generation, on_changed, &ch);
    if (ch.too_many)
        return 1;
    const char *old = c->text->data;
    size_t pos = 0;
    for (size_t k = 0; k < ch.n; k++) {
        size_t i = ch.p[k].index;
        size_t start = i > 0 ? c->ends[i - 1] + 1 : sizeof LISTING_HEAD - 1;
        put(w, old + pos, start - pos);
        put_device(w, ch.p[k].dev);
        ch.p[k].new_end = w->t->len;
        pos = c->ends[i];
    }
    put(w, old + pos, c->text->len - pos);
    if (w->oom)
        return -1;
    /* The ends after a patched device move by its change in length
     * (unsigned arithmetic: the shift may be negative). */
    size_t shift = 0, k = 0;
    for (size_t i = 0; i < c->n_ends; i++) {
        if (k < ch.n && ch.p[k].index == i) {
            shift = ch.p[k].new_end - c->ends[i];
            c->ends[i] = ch.p[k].new_end;
            k++;
        } else {
            c->ends[i] += shift;
        }
    }
    return 0;
}

/* Writes the whole text and the map of a new layout into c's writer w.
 * Returns 0, or -1 on OOM. */
static int full_text(struct store *st, const char *user_id, struct listing_cache *c,
                     struct writer *w) {
    size_t n = store_device_count(st, user_id), cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    struct full f = {w, calloc(cap, sizeof *f.map), cap - 1, 0};
    if (f.map == NULL)
        return -1;
    put(w, LISTING_HEAD, sizeof LISTING_HEAD - 1);
    store_device_foreach(st, user_id, on_device, &f);
    put(w, LISTING_TAIL, sizeof LISTING_TAIL - 1);
    if (w->oom) {
        free(f.map);
        return -1;
    }
    free(c->map);
    c->map = f.map;
    c->map_mask = f.map_mask;
    free(c->ends);
    c->ends = w->ends;
    c->n_ends = w->n_ends;
    w->ends = NULL;
    return 0;
}

/* The user's cache, brought up to date; NULL on OOM or unknown user. */
static struct listing_cache *cache_current(struct store *st, const char *user_id) {
    uint64_t generation, layout;
    if (store_user_generation(st, user_id, &generation, &layout) < 0)
        return NULL;
    void **slot = store_user_slot(st, user_id);
    /* The store frees the caches with their users. */
    store_set_slot_free(st, cache_free);
    struct listing_cache *c = *slot;
    if (c != NULL && c->generation == generation)
        return c;
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return NULL;
        *slot = c;
    }

    struct writer w = {NULL, 0, NULL, 0, 0, false};
    size_t guess = c->text != NULL ? c->text->len + 1024 : 4096;
    w.t = malloc(sizeof *w.t + guess);
    if (w.t == NULL)
        return NULL;
    w.t->len = 0;
    w.cap = guess;
    int rc = 1;
    if (c->text != NULL && c->layout == layout)
        rc = patch_text(st, user_id, c, &w);
    if (rc == 1) {
        w.t->len = 0;
        w.oom = false;
        rc = full_text(st, user_id, c, &w);
    }
    free(w.ends);
    if (rc < 0) {
        free(w.t);
        return NULL;
    }
    w.t->data[w.t->len] = '\0';
    atomic_init(&w.t->refs, 1);
    if (c->text != NULL)
        text_release(c->text);
    c->text = w.t;
    c->generation = generation;
    c->layout = layout;
    return c;
}

int mock_listing_reply(struct store *st, const char *user_id, struct mock_reply *reply) {
    struct listing_cache *c = cache_current(st, user_id);
    if (c == NULL)
        return -1;
    atomic_fetch_add(&c->text->refs, 1);
    reply->status = 200;
    reply->body = c->text->data;
    reply->body_len = c->text->len;
    reply->body_release = text_release;
    reply->body_owner = c->text;
    return 0;
}
