/* mx_redact: registered secrets, secret JSON members, access_token= values. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "mx_redact.h"

static void expect_redacted(const char *in, const char *want) {
    char *out = mx_redact(in);
    cr_assert_not_null(out);
    cr_expect_str_eq(out, want, "mx_redact(%s)", in);
    free(out);
}

Test(redact, registered_secrets) {
    mx_redact_secret("s3cret");
    mx_redact_secret("s3cret-longer");
    mx_redact_secret("");
    mx_redact_secret(NULL);
    expect_redacted("Authorization: Bearer s3cret", "Authorization: Bearer <redacted>");
    expect_redacted("x s3cret-longer y", "x <redacted> y");
    expect_redacted("s3crets3cret", "<redacted><redacted>");
    expect_redacted("nothing here", "nothing here");
    expect_redacted("", "");
}

Test(redact, secret_json_members) {
    expect_redacted("{\"password\": \"hunter2\", \"user\": \"bob\"}",
                    "{\"password\": \"<redacted>\", \"user\": \"bob\"}");
    expect_redacted("{\"access_token\":\"syt_abc\"}",
                    "{\"access_token\":\"<redacted>\"}");
    expect_redacted("{\"token\":\"a\\\"b\",\"x\":1}",
                    "{\"token\":\"<redacted>\",\"x\":1}");
    expect_redacted("{\"as_token\" : \"t\", \"hs_token\":\"u\"}",
                    "{\"as_token\" : \"<redacted>\", \"hs_token\":\"<redacted>\"}");
    /* Other keys that merely end in "token", and non-string values, stay. */
    expect_redacted("{\"device_token\":\"v\"}", "{\"device_token\":\"v\"}");
    expect_redacted("{\"token\": null}", "{\"token\": null}");
}

Test(redact, url_userinfo) {
    mx_redact_url_userinfo("https://alice:pw9@hs.example/x@y?z");
    mx_redact_url_userinfo("http://hs.example/path@not-userinfo");
    mx_redact_url_userinfo("no scheme, user:pw@host");
    mx_redact_url_userinfo(NULL);
    expect_redacted("https://alice:pw9@hs.example", "https://<redacted>hs.example");
    expect_redacted("the password pw9 alone", "the password <redacted> alone");
    expect_redacted("alice elsewhere", "alice elsewhere");
    expect_redacted("path@not-userinfo user:pw@host", "path@not-userinfo user:pw@host");
}

Test(redact, query_tokens) {
    expect_redacted("GET /devices?access_token=abc&x=1",
                    "GET /devices?access_token=<redacted>&x=1");
    expect_redacted("GET /devices?user_id=%40a&access_token=abc",
                    "GET /devices?user_id=%40a&access_token=<redacted>");
    expect_redacted("access_token=", "access_token=");
}

Test(redact, null_input) {
    char *out = mx_redact(NULL);
    cr_expect_str_eq(out, "");
    free(out);
}
