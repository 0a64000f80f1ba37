#include "random.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int mock_random_bytes(void *buf, size_t len) {
    unsigned char *p = buf;
    size_t done = 0;
    /* getrandom returns at most 32 MiB per call and may be interrupted; the
     * loop is bounded because every round either progresses or fails. */
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

void mock_hex_encode(const void *in, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = in;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

int mock_random_hex(char *out, size_t nbytes) {
    unsigned char buf[64];
    while (nbytes > 0) {
        size_t chunk = nbytes < sizeof buf ? nbytes : sizeof buf;
        if (mock_random_bytes(buf, chunk) < 0)
            return -1;
        mock_hex_encode(buf, chunk, out);
        out += 2 * chunk;
        nbytes -= chunk;
    }
    *out = '\0';
    return 0;
}

bool mock_ct_equal(const char *a, const char *b) {
    if (a == NULL || b == NULL)
        return false;
    size_t la = strlen(a);
    size_t lb = strlen(b);
    /* Walk the longer length so a short guess costs as much as a long one;
     * bytes past the end of the shorter string compare against 0, and the
     * length difference is folded in separately. */
    size_t n = la > lb ? la : lb;
    unsigned diff = (unsigned)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(ca ^ cb);
    }
    return diff == 0;
}

uint64_t mock_hash_str(const char *s) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}
