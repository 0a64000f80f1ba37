/* The spec versions the suite knows, as numbers (117) and names ("1.17").
 * Plain data: no configuration, no I/O. */
#ifndef MX_VERSION_H
#define MX_VERSION_H

/* The oldest and the newest version the suite knows. */
#define MX_VERSION_MIN 116
#define MX_VERSION_MAX 120

/* 117 -> "1.17" (static storage); "?" for a version the suite does not know. */
const char *mx_version_name(int version);
/* "1.17" -> 117; -1 when unsupported (or NULL). */
int mx_version_parse(const char *text);

#endif
