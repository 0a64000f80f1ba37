/* Spec version numbers and names (see mx_version.h). */
#include "mx_version.h"

#include <string.h>

static const char *const version_names[] = {"1.16", "1.17", "1.18", "1.19", "1.20"};

const char *mx_version_name(int version) {
    if (version < MX_VERSION_MIN || version > MX_VERSION_MAX)
        return "?";
    return version_names[version - MX_VERSION_MIN];
}

int mx_version_parse(const char *text) {
    if (!text)
        return -1;
    for (int i = 0; i <= MX_VERSION_MAX - MX_VERSION_MIN; i++)
        if (strcmp(text, version_names[i]) == 0)
            return MX_VERSION_MIN + i;
    return -1;
}
