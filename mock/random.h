/* Randomness and secret handling shared by the mock's store, UIA sessions
 * and configuration: kernel randomness (getrandom(2)), hex encoding, and a
 * string comparison whose time does not depend on where the strings differ. */
#ifndef MOCK_RANDOM_H
#define MOCK_RANDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes in a secret: access tokens and UIA session IDs are 256-bit. */
#define MOCK_SECRET_BYTES 32
/* Characters of a secret in hex, without the terminating NUL. */
#define MOCK_SECRET_HEX_LEN (2 * MOCK_SECRET_BYTES)

/* Fills buf with len bytes from the kernel's CSPRNG. Returns 0, or -1 when
 * getrandom fails (it only can before the pool is seeded or on EFAULT). */
int mock_random_bytes(void *buf, size_t len);

/* Writes 2 * len lower-case hex digits and a NUL into out (caller-owned,
 * at least 2 * len + 1 bytes). Can't fail. */
void mock_hex_encode(const void *in, size_t len, char *out);

/* Fills out (at least 2 * nbytes + 1 bytes) with nbytes of randomness as hex.
 * Returns 0, or -1 when no randomness is available. */
int mock_random_hex(char *out, size_t nbytes);

/* Whether a equals b. Runs in time that depends on the lengths of the two
 * strings only, never on their contents, so a caller guessing a secret learns
 * nothing from timing. Either argument may be NULL (never equal then). */
bool mock_ct_equal(const char *a, const char *b);

/* 64-bit FNV-1a of a string: a non-secret bucket index for hash tables.
 * Not collision resistant; callers compare the real keys afterwards. */
uint64_t mock_hash_str(const char *s);

#endif
