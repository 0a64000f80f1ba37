/* mx_match: matchers over hand-built responses; messages say expected vs actual. */
#include <criterion/criterion.h>
#include <string.h>

#include "mx_match.h"

static struct mx_resp resp(long status, const char *content_type, const char *body) {
    struct mx_resp r = {0};
    r.status = status;
    r.content_type = (char *)content_type;
    r.body = (char *)body;
    r.body_len = strlen(body);
    r.json = json_loads(body, JSON_DECODE_ANY, NULL);
    r.summary = "GET /x";
    return r;
}

#define EXPECT_FAILS(call, needle)                                                       \
    do {                                                                                 \
        struct mx_error e = {{0}};                                                       \
        cr_expect_eq((call), -1, "%s should not match", #call);                          \
        cr_expect(strstr(e.text, (needle)) != NULL, "%s: \"%s\" lacks \"%s\"", #call,    \
                  e.text, (needle));                                                     \
    } while (0)
#define EXPECT_OK(call)                                                                  \
    do {                                                                                 \
        struct mx_error e = {{0}};                                                       \
        cr_expect_eq((call), 0, "%s: %s", #call, e.text);                                \
    } while (0)

Test(match, first_error_wins) {
    struct mx_error e = {{0}};
    mx_error_set(&e, "first %d", 1);
    mx_error_set(&e, "second");
    cr_expect_str_eq(e.text, "first 1");
}

Test(match, status) {
    struct mx_resp r = resp(404, "application/json", "{\"errcode\":\"M_NOT_FOUND\"}");
    EXPECT_OK(mx_match_status(&r, 404, &e));
    EXPECT_FAILS(mx_match_status(&r, 200, &e),
                 "status: got 404 (errcode M_NOT_FOUND), expected 200");
    EXPECT_OK(mx_match_status_in(&r, (const long[]){400, 404, 0}, &e));
    EXPECT_FAILS(mx_match_status_in(&r, (const long[]){400, 403, 0}, &e),
                 "expected 400 or 403");
    struct mx_resp t = resp(0, NULL, "");
    strcpy(t.transport_error, "connection refused");
    EXPECT_FAILS(mx_match_status(&t, 200, &e),
                 "no HTTP response arrived: connection refused");
    json_decref(r.json);
}

Test(match, json_object) {
    struct mx_resp ok = resp(200, "application/json; charset=utf-8", "{}");
    EXPECT_OK(mx_match_json_object(&ok, &e));
    struct mx_resp html = resp(404, "text/html", "<html></html>");
    EXPECT_FAILS(mx_match_json_object(&html, &e), "Content-Type: got \"text/html\"");
    struct mx_resp none = resp(200, NULL, "{}");
    EXPECT_FAILS(mx_match_json_object(&none, &e), "Content-Type: got none");
    struct mx_resp arr = resp(200, "application/json", "[1]");
    EXPECT_FAILS(mx_match_json_object(&arr, &e), "not an object");
    struct mx_resp bad = resp(200, "application/json", "{");
    EXPECT_FAILS(mx_match_json_object(&bad, &e), "not JSON");
    json_decref(ok.json);
    json_decref(none.json);
    json_decref(arr.json);
}

Test(match, error_shape) {
    struct mx_resp ok =
        resp(404, "application/json", "{\"errcode\":\"M_X\",\"error\":\"y\"}");
    EXPECT_OK(mx_match_error_shape(&ok, &e));
    struct mx_resp noerr = resp(404, "application/json", "{\"errcode\":\"M_X\"}");
    EXPECT_FAILS(mx_match_error_shape(&noerr, &e), "\"error\" is missing");
    struct mx_resp num = resp(404, "application/json", "{\"errcode\":4,\"error\":\"y\"}");
    EXPECT_FAILS(mx_match_error_shape(&num, &e), "\"errcode\" is not a string");
    /* A UIA challenge needs an errcode only when a stage failed. */
    struct mx_resp uia = resp(401, "application/json", "{\"flows\":[]}");
    EXPECT_OK(mx_match_error_shape(&uia, &e));
    struct mx_resp uia_bad =
        resp(401, "application/json", "{\"flows\":[],\"errcode\":\"M_FORBIDDEN\"}");
    EXPECT_FAILS(mx_match_error_shape(&uia_bad, &e), "\"error\" is missing");
    json_decref(ok.json);
    json_decref(noerr.json);
    json_decref(num.json);
    json_decref(uia.json);
    json_decref(uia_bad.json);
}

Test(match, errcode) {
    struct mx_resp r =
        resp(400, "application/json", "{\"errcode\":\"M_BAD_JSON\",\"error\":\"\"}");
    EXPECT_OK(mx_match_errcode_in(&r, (const char *const[]){"M_BAD_JSON", NULL}, &e));
    EXPECT_OK(mx_match_errcode_in(
        &r, (const char *const[]){"M_INVALID_PARAM", "M_BAD_JSON", NULL}, &e));
    EXPECT_FAILS(
        mx_match_errcode_in(
            &r, (const char *const[]){"M_NOT_JSON", "M_MISSING_PARAM", NULL}, &e),
        "errcode: got M_BAD_JSON, expected M_NOT_JSON or M_MISSING_PARAM");
    struct mx_resp u =
        resp(400, "application/json",
             "{\"errcode\":\"ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE\",\"error\":\"\"}");
    EXPECT_FAILS(
        mx_match_errcode_in(&u, (const char *const[]){"M_UNKNOWN_DEVICE", NULL}, &e),
        "got ORG.MATRIX.MSC4326.M_UNKNOWN_DEVICE, an unstable-prefixed code; expected "
        "the stable M_UNKNOWN_DEVICE");
    struct mx_resp none = resp(400, "application/json", "{}");
    EXPECT_FAILS(mx_match_errcode_in(&none, (const char *const[]){"M_X", NULL}, &e),
                 "errcode: missing, expected M_X");
    json_decref(r.json);
    json_decref(u.json);
    json_decref(none.json);
}

Test(match, uia_challenge) {
    struct mx_resp ok = resp(401, "application/json",
                             "{\"flows\":[{\"stages\":[\"m.login.password\"]}],"
                             "\"params\":{},\"session\":\"abc\"}");
    EXPECT_OK(mx_match_uia_challenge(&ok, &e));
    EXPECT_OK(
        mx_match_uia_flow(&ok, (const char *const[]){"m.login.password", NULL}, &e));
    EXPECT_FAILS(mx_match_uia_flow(&ok, (const char *const[]){"m.login.dummy", NULL}, &e),
                 "no flow with stages exactly [\"m.login.dummy\"]");
    struct mx_resp empty = resp(401, "application/json", "{\"flows\":[]}");
    EXPECT_FAILS(mx_match_uia_challenge(&empty, &e), "\"flows\" is empty");
    struct mx_resp stages =
        resp(401, "application/json", "{\"flows\":[{\"stages\":[1]}]}");
    EXPECT_FAILS(mx_match_uia_challenge(&stages, &e),
                 "flows[0].stages[0] is not a string");
    struct mx_resp session =
        resp(401, "application/json", "{\"flows\":[{\"stages\":[]}],\"session\":5}");
    EXPECT_FAILS(mx_match_uia_challenge(&session, &e), "\"session\" is not a string");
    struct mx_resp params =
        resp(401, "application/json", "{\"flows\":[{\"stages\":[]}],\"params\":[]}");
    EXPECT_FAILS(mx_match_uia_challenge(&params, &e), "\"params\" is not an object");
    struct mx_resp wrong = resp(200, "application/json", "{}");
    EXPECT_FAILS(mx_match_uia_challenge(&wrong, &e), "status: got 200, expected 401");
    json_decref(ok.json);
    json_decref(empty.json);
    json_decref(stages.json);
    json_decref(session.json);
    json_decref(params.json);
    json_decref(wrong.json);
}

Test(match, string_member) {
    json_t *o =
        json_pack("{s:s, s:i}", "display_name", "caf\xc3\xa9 \xf0\x9f\x98\x80", "n", 4);
    EXPECT_OK(
        mx_match_string_member(o, "display_name", "caf\xc3\xa9 \xf0\x9f\x98\x80", &e));
    EXPECT_FAILS(mx_match_string_member(o, "display_name", "cafe", &e),
                 "expected \"cafe\" (4 bytes)");
    EXPECT_FAILS(mx_match_string_member(o, "missing", "x", &e), "\"missing\": missing");
    EXPECT_FAILS(mx_match_string_member(o, "n", "4", &e), "got 4 (not a string)");
    EXPECT_FAILS(mx_match_string_member(NULL, "n", "4", &e), "not a JSON object");
    json_decref(o);
}

Test(match, schema_ok) {
    struct mx_resp r = resp(200, "application/json", "{}");
    EXPECT_OK(mx_match_schema_ok(&r, &e));
    r.schema_error = "/devices: expected array, got object";
    EXPECT_FAILS(mx_match_schema_ok(&r, &e),
                 "does not match the spec's schema: /devices");
    json_decref(r.json);
}
