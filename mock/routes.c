/* The route table (one row per operation) and the path matcher. No
 * endpoint logic here. */
#include "routes.h"

#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "uri.h"

#define V3 "/_matrix/client/v3"

/* Rows: method, path, handler, operationId, auth, flags, rate-limit action. */
#define JSON MOCK_ROUTE_JSON_BODY
#define DEVICE_API MOCK_ROUTE_DEVICE_API
static const struct mock_route routes[] = {
    {"GET", "/_matrix/client/versions", on_versions, "getVersions", MOCK_AUTH_NONE, 0,
     NULL},
    {"GET", V3 "/login", on_login_flows, "getLoginFlows", MOCK_AUTH_NONE, 0, NULL},
    {"POST", V3 "/login", on_login, "login", MOCK_AUTH_OPTIONAL, JSON, "login"},
    {"POST", V3 "/register", on_register, "register", MOCK_AUTH_OPTIONAL,
     JSON | MOCK_ROUTE_NEW_USER, "register"},
    {"POST", V3 "/logout", on_logout, "logout", MOCK_AUTH_REQUIRED, JSON, NULL},
    {"POST", V3 "/logout/all", on_logout_all, "logout_all", MOCK_AUTH_REQUIRED, JSON,
     NULL},
    {"GET", V3 "/account/whoami", on_whoami, "getTokenOwner", MOCK_AUTH_REQUIRED, 0,
     NULL},
    {"GET", V3 "/devices", on_get_devices, "getDevices", MOCK_AUTH_REQUIRED, DEVICE_API,
     NULL},
    {"GET", V3 "/devices/{deviceId}", on_get_device, "getDevice", MOCK_AUTH_REQUIRED,
     DEVICE_API, NULL},
    {"PUT", V3 "/devices/{deviceId}", on_update_device, "updateDevice",
     MOCK_AUTH_REQUIRED, JSON | DEVICE_API, NULL},
    {"DELETE", V3 "/devices/{deviceId}", on_delete_device, "deleteDevice",
     MOCK_AUTH_REQUIRED, JSON | DEVICE_API, NULL},
    {"POST", V3 "/delete_devices", on_delete_devices, "deleteDevices", MOCK_AUTH_REQUIRED,
     JSON | DEVICE_API, NULL},
    /* Synapse's shared-secret registration; answers only with --shared-secret. */
    {"GET", "/_synapse/admin/v1/register", on_admin_register_nonce,
     "synapseAdminRegisterNonce", MOCK_AUTH_NONE, 0, NULL},
    {"POST", "/_synapse/admin/v1/register", on_admin_register, "synapseAdminRegister",
     MOCK_AUTH_NONE, JSON, NULL},
};
#undef JSON
#undef DEVICE_API

#define N_ROUTES (sizeof routes / sizeof routes[0])

void mock_match_clean(struct mock_match *m) {
    for (size_t i = 0; i < MOCK_MAX_PARAMS; i++) {
        free(m->params[i]);
        free(m->raw_params[i]);
    }
    free(m->op_path);
    memset(m, 0, sizeof *m);
}

/* Splits off the next segment of a path or template: *p points after a '/'.
 * Returns the segment length; *p moves to the next '/' or the end. */
static size_t next_segment(const char **p) {
    const char *start = *p;
    const char *slash = strchr(start, '/');
    size_t n = slash != NULL ? (size_t)(slash - start) : strlen(start);
    *p = start + n;
    return n;
}

/* Matches one route; returns 1 on a match (m filled), 0 when not, -1 on OOM. */
static int match_one(const struct mock_route *r, const char *path, struct mock_match *m) {
    const char *t = r->path;
    const char *p = path;
    while (*t == '/' && *p == '/') {
        t++;
        p++;
        const char *tseg = t, *pseg = p;
        size_t tlen = next_segment(&t);
        size_t plen = next_segment(&p);
        if (tlen > 2 && tseg[0] == '{' && tseg[tlen - 1] == '}') {
            if (plen == 0 || m->n_params == MOCK_MAX_PARAMS)
                goto nomatch;
            char *raw = strndup(pseg, plen);
            if (raw == NULL)
                goto oom;
            m->raw_params[m->n_params] = raw;
            char *dec = mock_percent_decode(pseg, plen, false);
            if (dec == NULL || dec[0] == '\0') {
                free(dec);
                goto nomatch;
            }
            m->params[m->n_params++] = dec;
        } else {
            /* Literal segments compare decoded, so "%76ersions" is "versions". */
            char *dec = mock_percent_decode(pseg, plen, false);
            bool same =
                dec != NULL && strlen(dec) == tlen && memcmp(dec, tseg, tlen) == 0;
            free(dec);
            if (!same)
                goto nomatch;
        }
    }
    if (*t != '\0' || *p != '\0')
        goto nomatch;
    return 1;
nomatch:
    mock_match_clean(m);
    return 0;
oom:
    mock_match_clean(m);
    return -1;
}

/* The operation path a UIA session binds to: the template with each capture
 * replaced by its decoded value. */
static char *build_op_path(const struct mock_match *m) {
    size_t cap = strlen(m->route->path) + 1;
    for (size_t i = 0; i < m->n_params; i++)
        cap += strlen(m->params[i]);
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t o = 0, k = 0;
    for (const char *t = m->route->path; *t != '\0';) {
        if (*t == '{') {
            const char *end = strchr(t, '}');
            size_t n = strlen(m->params[k]);
            memcpy(out + o, m->params[k++], n);
            o += n;
            t = end + 1;
        } else {
            out[o++] = *t++;
        }
    }
    out[o] = '\0';
    return out;
}

enum mock_route_result mock_route_match(const char *method, const char *path,
                                        struct mock_match *m) {
    memset(m, 0, sizeof *m);
    bool path_known = false;
    for (size_t i = 0; i < N_ROUTES; i++) {
        int rc = match_one(&routes[i], path, m);
        if (rc < 0)
            return MOCK_ROUTE_NO_MEMORY;
        if (rc == 0)
            continue;
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            m->route = &routes[i];
            m->op_path = build_op_path(m);
            if (m->op_path == NULL) {
                mock_match_clean(m);
                return MOCK_ROUTE_NO_MEMORY;
            }
            return MOCK_ROUTE_FOUND;
        }
        path_known = true;
        mock_match_clean(m);
    }
    if (!path_known)
        return MOCK_ROUTE_NOT_FOUND;
    return strcmp(method, "OPTIONS") == 0 ? MOCK_ROUTE_OPTIONS : MOCK_ROUTE_BAD_METHOD;
}

const char *mock_route_methods(const char *path) {
    /* Methods per distinct template, in table order. */
    static const struct {
        const char *path;
        const char *methods;
    } allow[] = {
        {"/_matrix/client/versions", "GET, HEAD, OPTIONS"},
        {V3 "/login", "GET, HEAD, POST, OPTIONS"},
        {V3 "/register", "POST, OPTIONS"},
        {V3 "/logout", "POST, OPTIONS"},
        {V3 "/logout/all", "POST, OPTIONS"},
        {V3 "/account/whoami", "GET, HEAD, OPTIONS"},
        {V3 "/devices", "GET, HEAD, OPTIONS"},
        {V3 "/devices/{deviceId}", "GET, HEAD, PUT, DELETE, OPTIONS"},
        {V3 "/delete_devices", "POST, OPTIONS"},
        {"/_synapse/admin/v1/register", "GET, HEAD, POST, OPTIONS"},
    };
    for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++) {
        struct mock_route probe = {.method = "", .path = allow[i].path};
        struct mock_match m;
        memset(&m, 0, sizeof m);
        int rc = match_one(&probe, path, &m);
        mock_match_clean(&m);
        if (rc == 1)
            return allow[i].methods;
    }
    return NULL;
}
