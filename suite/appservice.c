/* Loading the application-service registration (--as-registration). */
#include "appservice.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_redact.h"
#include "mx_yaml.h"
#include "options.h"

/* "@prefix.*" or "@prefix.*:server" (the server part may escape its dots):
 * the literal localpart prefix; NULL when the regex has another shape. */
static char *prefix_from_regex(const char *regex) {
    const char *p = regex;
    if (*p == '^')
        p++;
    if (*p != '@')
        return NULL;
    p++;
    char *out = malloc(strlen(p) + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    while (*p && !(p[0] == '.' && p[1] == '*')) {
        char ch = *p;
        if (ch == '\\' && p[1] == '.') {
            ch = '.';
            p++;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                     ch == '-' || ch == '=' || ch == '/')) {
            free(out);
            return NULL;
        }
        out[n++] = ch;
        p++;
    }
    out[n] = '\0';
    if (!(p[0] == '.' && p[1] == '*') || n == 0) {
        free(out);
        return NULL;
    }
    p += 2;
    /* What follows may only be the server part, or the end. */
    if (*p == '$')
        p++;
    if (*p != '\0' && *p != ':') {
        free(out);
        return NULL;
    }
    return out;
}

void appservice_unusable(struct appservice *as, const char *fmt, ...) {
    va_list ap;
    as->usable = false;
    va_start(ap, fmt);
    vsnprintf(as->reason, sizeof(as->reason), fmt, ap);
    va_end(ap);
}

void appservice_load(struct options *o, const char *path, struct appservice *as) {
    json_error_t jerr;
    as->given = true;
    json_t *doc = mx_yaml_load_file(path, &jerr);
    if (!doc) {
        options_problem(o, "--as-registration %s:%d: %s", path, jerr.line, jerr.text);
        appservice_unusable(as, "the registration file cannot be read");
        return;
    }
    const char *token = json_string_value(json_object_get(doc, "as_token"));
    const char *sender = json_string_value(json_object_get(doc, "sender_localpart"));
    json_t *users = json_object_get(json_object_get(doc, "namespaces"), "users");
    const char *regex =
        json_string_value(json_object_get(json_array_get(users, 0), "regex"));
    mx_redact_secret(token);
    mx_redact_secret(json_string_value(json_object_get(doc, "hs_token")));
    if (!token || !token[0])
        options_problem(o, "--as-registration %s: no as_token", path);
    if (!sender || !sender[0])
        options_problem(o, "--as-registration %s: no sender_localpart", path);
    if (!token || !token[0] || !sender || !sender[0]) {
        appservice_unusable(as, "the registration file is incomplete");
        json_decref(doc);
        return;
    }
    as->as_token = strdup(token);
    as->sender_localpart = strdup(sender);
    if (!regex) {
        appservice_unusable(as, "the application-service registration has no users "
                                "namespace (namespaces.users[0].regex)");
    } else {
        as->regex = strdup(regex);
        as->user_prefix = prefix_from_regex(regex);
        if (!as->user_prefix)
            appservice_unusable(
                as,
                "the users namespace regex \"%s\" is not of the form \"@prefix.*\" "
                "(or \"@prefix.*:server\"), so the suite cannot name users inside it",
                regex);
        else
            as->usable = true;
    }
    json_decref(doc);
}

void appservice_free(struct appservice *as) {
    free(as->as_token);
    free(as->sender_localpart);
    free(as->regex);
    free(as->user_prefix);
}
