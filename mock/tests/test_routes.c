/* The path matcher: exact segment matching, percent-decoding exactly once,
 * 404 vs 405 vs OPTIONS; query parsing; request-log redaction. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dispatch.h"
#include "handlers.h"
#include "json_text.h"
#include "reqlog.h"
#include "routes.h"
#include "uri.h"

#define V3 "/_matrix/client/v3"

static void expect_decode(const char *in, const char *want) {
    char *got = mock_percent_decode(in, strlen(in), false);
    if (want == NULL) {
        cr_expect_null(got, "decode(%s): got \"%s\", expected failure", in, got);
    } else {
        cr_expect_not_null(got, "decode(%s) failed", in);
        if (got != NULL)
            cr_expect_str_eq(got, want, "decode(%s)", in);
    }
    free(got);
}

Test(routes, percent_decode) {
    expect_decode("ABC", "ABC");
    expect_decode("A%20B", "A B");
    expect_decode("a%2Fb", "a/b");
    expect_decode("a%2fb", "a/b");
    expect_decode("%C3%A9", "\xC3\xA9");
    expect_decode("%F0%9F%8E%89", "\xF0\x9F\x8E\x89");
    expect_decode("%2525", "%25"); /* exactly once */
    expect_decode("a+b", "a+b");   /* '+' is literal in paths */
    expect_decode("", "");
    expect_decode("%", NULL);
    expect_decode("%4", NULL);
    expect_decode("%zz", NULL);
    expect_decode("%00", NULL);       /* NUL */
    expect_decode("%FF", NULL);       /* not UTF-8 */
    expect_decode("%C0%AF", NULL);    /* overlong */
    expect_decode("%ED%A0%80", NULL); /* surrogate */
    expect_decode("%C3", NULL);       /* truncated */
}

Test(routes, plus_is_space_in_queries) {
    char *got = mock_percent_decode("a+b%2B", 6, true);
    cr_assert_not_null(got);
    cr_expect_str_eq(got, "a b+");
    free(got);
}

Test(routes, device_id_with_encoded_slash_space_and_unicode) {
    struct mock_match m;
    enum mock_route_result rr = mock_route_match("GET", V3 "/devices/A%20B%2F%C3%A9", &m);
    cr_assert_eq(rr, MOCK_ROUTE_FOUND);
    cr_expect_eq(m.route->handler, on_get_device);
    cr_expect_eq(m.n_params, 1);
    cr_expect_str_eq(m.params[0], "A B/\xC3\xA9");
    cr_expect_str_eq(m.raw_params[0], "A%20B%2F%C3%A9");
    cr_expect_str_eq(m.op_path, V3 "/devices/A B/\xC3\xA9");
    mock_match_clean(&m);
}

Test(routes, methods_pick_their_handler) {
    struct {
        const char *method, *path;
        void (*handler)(struct mock_ctx *);
    } cases[] = {
        {"GET", V3 "/devices", on_get_devices},
        {"GET", V3 "/devices/X", on_get_device},
        {"PUT", V3 "/devices/X", on_update_device},
        {"DELETE", V3 "/devices/X", on_delete_device},
        {"POST", V3 "/delete_devices", on_delete_devices},
        {"GET", "/_matrix/client/versions", on_versions},
        {"GET", V3 "/login", on_login_flows},
        {"POST", V3 "/login", on_login},
        {"POST", V3 "/register", on_register},
        {"POST", V3 "/logout", on_logout},
        {"POST", V3 "/logout/all", on_logout_all},
        {"GET", V3 "/account/whoami", on_whoami},
        {"HEAD", V3 "/devices", on_get_devices},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mock_match m;
        enum mock_route_result rr = mock_route_match(cases[i].method, cases[i].path, &m);
        cr_expect_eq(rr, MOCK_ROUTE_FOUND, "%s %s", cases[i].method, cases[i].path);
        if (rr == MOCK_ROUTE_FOUND)
            cr_expect_eq(m.route->handler, cases[i].handler, "%s %s", cases[i].method,
                         cases[i].path);
        mock_match_clean(&m);
    }
}

Test(routes, exact_matching) {
    const char *not_found[] = {
        V3 "/devices/",
        V3 "/devices/A/B",
        V3 "/devicesX",
        V3 "/device",
        V3 "/devices//",
        "/_matrix/client/v3",
        "/",
        "",
        V3 "/devices/%zz",
        V3 "/devices/%00",
        V3 "/devices/%FF",
        "/_matrix/client/r0/devices",
        "/_matrix/client/v3/../v3/devices",
    };
    for (size_t i = 0; i < sizeof not_found / sizeof not_found[0]; i++) {
        struct mock_match m;
        cr_expect_eq(mock_route_match("GET", not_found[i], &m), MOCK_ROUTE_NOT_FOUND,
                     "%s", not_found[i]);
    }
}

Test(routes, literal_segments_compare_decoded) {
    struct mock_match m;
    cr_expect_eq(mock_route_match("GET", V3 "/%64evices", &m), MOCK_ROUTE_FOUND);
    mock_match_clean(&m);
    /* An encoded slash is never a separator. */
    cr_expect_eq(mock_route_match("GET", "/_matrix/client/v3%2Fdevices", &m),
                 MOCK_ROUTE_NOT_FOUND);
}

Test(routes, wrong_method_and_options) {
    struct mock_match m;
    cr_expect_eq(mock_route_match("PATCH", V3 "/devices", &m), MOCK_ROUTE_BAD_METHOD);
    cr_expect_eq(mock_route_match("POST", V3 "/devices/X", &m), MOCK_ROUTE_BAD_METHOD);
    cr_expect_eq(mock_route_match("GET", V3 "/delete_devices", &m),
                 MOCK_ROUTE_BAD_METHOD);
    cr_expect_eq(mock_route_match("OPTIONS", V3 "/devices/X", &m), MOCK_ROUTE_OPTIONS);
    cr_expect_eq(mock_route_match("OPTIONS", V3 "/nothing", &m), MOCK_ROUTE_NOT_FOUND);
    cr_expect_str_eq(mock_route_methods(V3 "/devices/X"),
                     "GET, HEAD, PUT, DELETE, OPTIONS");
    cr_expect_str_eq(mock_route_methods(V3 "/delete_devices"), "POST, OPTIONS");
    cr_expect_null(mock_route_methods(V3 "/nothing"));
}

Test(routes, query_parse) {
    struct mock_query q;
    cr_assert_eq(
        mock_query_parse("user_id=%40a%3Ahs&device_id=X+Y&flag&&user_id=second", &q), 0);
    cr_expect_str_eq(mock_query_get(&q, "user_id"), "@a:hs");
    cr_expect_str_eq(mock_query_get(&q, "device_id"), "X Y");
    cr_expect_str_eq(mock_query_get(&q, "flag"), "");
    cr_expect_null(mock_query_get(&q, "access_token"));
    mock_query_clean(&q);
    cr_expect_eq(mock_query_parse("a=%zz", &q), -1);
    cr_expect_eq(mock_query_parse("a=%00", &q), -1);
    cr_expect_eq(mock_query_parse(NULL, &q), 0);
    cr_expect_eq(q.n, 0);
    mock_query_clean(&q);
}

Test(reqlog, redacts_access_token) {
    char out[256];
    mock_reqlog_redact(V3 "/devices?access_token=secret&user_id=x", out, sizeof out);
    cr_expect_str_eq(out, V3 "/devices?access_token=<redacted>&user_id=x");
    mock_reqlog_redact(V3 "/devices?user_id=x&access_token=secret", out, sizeof out);
    cr_expect_str_eq(out, V3 "/devices?user_id=x&access_token=<redacted>");
    mock_reqlog_redact(V3 "/devices/access_token=kept", out, sizeof out);
    cr_expect_str_eq(out, V3 "/devices/access_token=kept");
    mock_reqlog_redact("/a\nb", out, sizeof out);
    cr_expect_str_eq(out, "/a?b");
    char small[8];
    mock_reqlog_redact("/0123456789", small, sizeof small);
    cr_expect_str_eq(small, "/012345");
}

Test(reqlog, redacts_secret_members_at_any_depth) {
    json_t *body =
        json_loads("{\"password\":\"p1\",\"auth\":{\"type\":\"m.login.password\","
                   "\"password\":\"p2\",\"session\":\"s\"},\"list\":[{\"token\":"
                   "\"t\"},{\"mac\":\"m\"}],\"as_token\":7,\"user\":\"kept\"}",
                   0, NULL);
    cr_assert_not_null(body);
    mock_reqlog_redact_json(body);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    cr_expect_str_eq(text,
                     "{\"as_token\":\"<redacted>\",\"auth\":{\"password\":\"<redacted>\","
                     "\"session\":\"s\",\"type\":\"m.login.password\"},\"list\":[{"
                     "\"token\":\"<redacted>\"},{\"mac\":\"<redacted>\"}],\"password\":"
                     "\"<redacted>\",\"user\":\"kept\"}");
    free(text);
    json_decref(body);
}

Test(reply, json_text_is_json_dumps_compact) {
    /* Every ASCII character, UTF-8, nesting, numbers, literals. */
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    json_t *v = json_pack("{s:s,s:s,s:[i,I,f,b,b,n],s:{},s:[],s:{s:{s:s}}}", "all", all,
                          "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "list", -7,
                          (json_int_t)1700000000000, 0.5, 1, 0, "empty", "none", "deep",
                          "a", "b", "c");
    cr_assert_not_null(v);
    json_object_set_new(v, "k\"\\\n", json_stringn("nul\0in", 6));
    char *ours = mock_json_text(v);
    char *theirs = json_dumps(v, JSON_COMPACT);
    cr_assert_not_null(ours);
    cr_expect_str_eq(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(v);
}
