/* VER: what the server says it supports.
 *
 * spec: v1.17, client-server API, operation getVersions
 * (GET /_matrix/client/versions, #get_matrixclientversions): "versions" in
 * the form vX.Y, and "unstable_features", a map of feature name to boolean
 * (application-service device management was io.element.msc4190 before it
 * entered the spec in 1.17).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mx_assert.h"
#include "mx_catalog.h"
#include "mx_client.h"
#include "mx_env.h"
#include "mx_session.h"

TestSuite(ver, .init = mx_test_init, .fini = mx_test_fini);

/* Appends text to buf (bounded; truncation only shortens the observation). */
static void append(char *buf, size_t len, const char *text) {
    size_t used = strlen(buf);
    if (used + 1 < len) {
        snprintf(buf + used, len - used, "%s", text);
    }
}

/* spec: v1.17 #get_matrixclientversions -- the supported versions and
 * unstable features. INFO: recorded, never judged. */
Test(ver, VER_VERSIONS,
     .description = "GET /_matrix/client/versions lists the targeted version; record the "
                    "list and unstable_features.") {
    const struct mx_resp *r =
        MX_SEND(.method = "GET", .path = "/_matrix/client/versions");
    if (r->status != 200 || !r->json) {
        mx_observe("GET /_matrix/client/versions answered %ld%s", r->status,
                   r->json ? "" : " without a JSON body");
        return;
    }
    char target[16];
    snprintf(target, sizeof target, "v%s", mx_version_name(mx_env()->spec_version));

    char versions[1024] = "";
    bool listed = false;
    size_t i;
    json_t *v;
    json_t *list = json_object_get(r->json, "versions");
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (!s) {
            continue;
        }
        append(versions, sizeof versions, i ? ", " : "");
        append(versions, sizeof versions, s);
        if (strcmp(s, target) == 0) {
            listed = true;
        }
    }
    mx_observe("versions: [%s]; the targeted %s is %s", versions, target,
               listed ? "listed" : "NOT listed");

    char enabled[2048] = "";
    const char *key;
    json_t *flag;
    json_t *features = json_object_get(r->json, "unstable_features");
    json_object_foreach(features, key, flag) {
        if (json_is_true(flag)) {
            append(enabled, sizeof enabled, enabled[0] ? ", " : "");
            append(enabled, sizeof enabled, key);
        }
    }
    json_t *msc4190 = json_object_get(features, "io.element.msc4190");
    mx_observe("unstable_features enabled: [%s]; io.element.msc4190: %s", enabled,
               !msc4190                ? "absent"
               : json_is_true(msc4190) ? "true"
                                       : "false");
}
