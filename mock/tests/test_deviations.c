/* The deviation list (deviations.def) and the response filters: every SHAPE
 * row has a filter and only those do, names are unique, and a few filters
 * through mock_dispatch (a deviation off answers correctly, on bends only
 * what it names). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "deviation_filters.h"
#include "deviations.h"
#include "dispatch_call.h"

#define V3 "/_matrix/client/v3"

Test(deviations, shape_rows_have_filters) {
    for (int i = 0; i < DEV_COUNT; i++) {
        const struct mock_deviation_info *info = mock_deviation_info(i);
        cr_assert_not_null(info);
        bool shape = (info->kind & MOCK_DEV_SHAPE) != 0;
        cr_expect_eq(mock_deviation_has_filter(i), shape, "%s: kind %d, filter %s",
                     info->name, info->kind, mock_deviation_has_filter(i) ? "yes" : "no");
        cr_expect(info->kind == MOCK_DEV_SHAPE || info->kind == MOCK_DEV_STATE ||
                      info->kind == MOCK_DEV_BOTH,
                  "%s: kind %d", info->name, info->kind);
    }
}

Test(deviations, names_unique_and_parsed) {
    for (int i = 0; i < DEV_COUNT; i++) {
        const struct mock_deviation_info *info = mock_deviation_info(i);
        enum mock_deviation d;
        cr_assert_eq(mock_deviation_parse(info->name, &d), 0, "%s", info->name);
        cr_expect_eq((int)d, i, "%s names two rows", info->name);
        cr_expect(info->requirements[0] != '\0' && info->description[0] != '\0', "%s",
                  info->name);
    }
    enum mock_deviation d;
    cr_expect_eq(mock_deviation_parse("no-such-deviation", &d), -1);
    cr_expect_null(mock_deviation_info(DEV_COUNT));
}

struct answer {
    unsigned status;
    json_t *json; /* new reference, or NULL */
    const char *content_type;
    bool cors;
    const char *allow;
};

/* One request to a fresh mock with deviation d on (DEV_COUNT: none). */
static struct answer ask(enum mock_deviation d, const char *method, const char *uri,
                         const char *token, const char *body) {
    struct mock_config cfg;
    struct mock_state state;
    mock_config_init(&cfg);
    if (d < DEV_COUNT)
        cfg.deviations[d] = true;
    cr_assert_eq(mock_state_setup(&state, &cfg), 0);
    struct mock_reply reply;
    dispatch_call(&state, method, uri, token, body, &reply);
    struct answer a = {reply.status, json_loadb(reply.body, reply.body_len, 0, NULL),
                       reply.content_type, reply.cors, reply.allow};
    mock_reply_clean(&reply);
    mock_state_teardown(&state);
    mock_config_clean(&cfg);
    return a;
}

static const char *errcode(const struct answer *a) {
    const char *e = json_string_value(json_object_get(a->json, "errcode"));
    return e != NULL ? e : "(none)";
}

Test(deviations, unrecognized_not_found) {
    struct answer a = ask(DEV_COUNT, "PATCH", V3 "/devices", NULL, NULL);
    cr_expect_eq(a.status, 405);
    cr_expect_str_eq(errcode(&a), "M_UNRECOGNIZED");
    cr_expect_not_null(a.allow);
    json_decref(a.json);
    a = ask(DEV_UNRECOGNIZED_NOT_FOUND, "PATCH", V3 "/devices", NULL, NULL);
    cr_expect_eq(a.status, 404);
    cr_expect_str_eq(errcode(&a), "M_NOT_FOUND");
    cr_expect_null(a.allow);
    json_decref(a.json);
}

Test(deviations, headers_and_error_field) {
    struct answer a = ask(DEV_COUNT, "GET", "/nothing", NULL, NULL);
    cr_expect_str_eq(a.content_type, "application/json");
    cr_expect(a.cors);
    cr_expect_not_null(json_object_get(a.json, "error"));
    json_decref(a.json);
    a = ask(DEV_TEXT_PLAIN, "GET", "/nothing", NULL, NULL);
    cr_expect_str_eq(a.content_type, "text/plain; charset=utf-8");
    json_decref(a.json);
    a = ask(DEV_NO_CORS, "GET", "/nothing", NULL, NULL);
    cr_expect_not(a.cors);
    json_decref(a.json);
    a = ask(DEV_ERROR_WITHOUT_ERROR_FIELD, "GET", "/nothing", NULL, NULL);
    cr_expect_str_eq(errcode(&a), "M_UNRECOGNIZED");
    cr_expect_null(json_object_get(a.json, "error"));
    json_decref(a.json);
}

Test(deviations, token_errors) {
    struct answer a = ask(DEV_COUNT, "GET", V3 "/devices", NULL, NULL);
    cr_expect_eq(a.status, 401);
    cr_expect_str_eq(errcode(&a), "M_MISSING_TOKEN");
    json_decref(a.json);
    a = ask(DEV_MISSING_TOKEN_UNKNOWN, "GET", V3 "/devices", NULL, NULL);
    cr_expect_eq(a.status, 401);
    cr_expect_str_eq(errcode(&a), "M_UNKNOWN_TOKEN");
    cr_expect(json_is_false(json_object_get(a.json, "soft_logout")));
    json_decref(a.json);
    a = ask(DEV_UNKNOWN_TOKEN_FORBIDDEN, "GET", V3 "/devices", "nope", NULL);
    cr_expect_eq(a.status, 403);
    cr_expect_str_eq(errcode(&a), "M_FORBIDDEN");
    cr_expect_null(json_object_get(a.json, "soft_logout"));
    json_decref(a.json);
}

Test(deviations, not_json) {
    struct answer a = ask(DEV_COUNT, "POST", V3 "/login", NULL, "{nope");
    cr_expect_eq(a.status, 400);
    cr_expect_str_eq(errcode(&a), "M_NOT_JSON");
    json_decref(a.json);
    a = ask(DEV_NOT_JSON_BAD_JSON, "POST", V3 "/login", NULL, "{nope");
    cr_expect_eq(a.status, 400);
    cr_expect_str_eq(errcode(&a), "M_BAD_JSON");
    json_decref(a.json);
}

/* Replies the transport refuses before dispatch go through the filters too. */
Test(deviations, refused_requests_filtered) {
    struct mock_config cfg;
    struct mock_state state;
    mock_config_init(&cfg);
    cfg.deviations[DEV_TEXT_PLAIN] = true;
    cfg.deviations[DEV_ERROR_WITHOUT_ERROR_FIELD] = true;
    cr_assert_eq(mock_state_setup(&state, &cfg), 0);
    struct mock_request req = {.method = "GET", .uri = V3 "/devices"};
    struct mock_reply reply;
    mock_dispatch_refuse(&state, &req, 431, "M_TOO_LARGE", "Headers too large", &reply);
    cr_expect_eq(reply.status, 431);
    cr_expect_str_eq(reply.content_type, "text/plain; charset=utf-8");
    cr_expect_str_eq(reply.body, "{\"errcode\":\"M_TOO_LARGE\"}");
    mock_reply_clean(&reply);
    mock_state_teardown(&state);
    mock_config_clean(&cfg);
}

Test(deviations, filters_name_the_bodies_they_rewrite) {
    struct mock_deviations dev;
    bool on[DEV_COUNT] = {false};
    mock_deviations_init(&dev, on);
    cr_expect_not(mock_deviation_filters_rewrite_body(&dev, "getDevices"));
    dev.on[DEV_LAST_SEEN_TS_STRING] = true;
    cr_expect(mock_deviation_filters_rewrite_body(&dev, "getDevices"));
    cr_expect(mock_deviation_filters_rewrite_body(&dev, "getDevice"));
    cr_expect_not(mock_deviation_filters_rewrite_body(&dev, "getDevic"));
    cr_expect_not(mock_deviation_filters_rewrite_body(&dev, "updateDevice"));
    dev.on[DEV_LAST_SEEN_TS_STRING] = false;
    dev.on[DEV_TEXT_PLAIN] = true; /* headers only */
    cr_expect_not(mock_deviation_filters_rewrite_body(&dev, "getDevices"));
    mock_deviations_clean(&dev);
}
