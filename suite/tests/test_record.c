/* mx_record: the side channel writes redacted JSON lines per test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mx_record.h"
#include "mx_redact.h"

static char dir[64];

static void init(void) {
    snprintf(dir, sizeof(dir), "/tmp/mxdev-record-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    setenv("MXDEV_REPORT_DIR", dir, 1);
}

static void fini(void) {
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(record, .init = init, .fini = fini);

Test(record, lines_are_redacted_and_read_back) {
    mx_redact_secret("tok_SECRET");
    mx_record_exchange("POST", "/x?access_token=tok_SECRET", "{\"password\":\"pw\"}", 200,
                       "application/json", "{\"access_token\":\"tok_SECRET\"}", 12.5);
    mx_record_observation("saw tok_SECRET");
    mx_record_exchange("GET", "/y", NULL, 0, NULL, "connection refused", 1.0);
    mx_record_skip("because");

    json_t *lines = mx_record_read(dir, "record", "lines_are_redacted_and_read_back");
    cr_assert_eq(json_array_size(lines), 4);
    char *text = json_dumps(lines, JSON_COMPACT);
    cr_expect_null(strstr(text, "SECRET"), "secret leaked: %s", text);
    cr_expect_null(strstr(text, "\"pw\""), "password leaked: %s", text);
    free(text);

    json_t *ex = json_array_get(lines, 0);
    cr_expect_str_eq(json_string_value(json_object_get(ex, "kind")), "exchange");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(ex, "request"), "method")),
        "POST");
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(ex, "response"), "status")),
        200);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(lines, 1), "text")),
                     "saw <redacted>");
    json_t *resp = json_object_get(json_array_get(lines, 2), "response");
    cr_expect_str_eq(json_string_value(json_object_get(resp, "transport_error")),
                     "connection refused");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_array_get(lines, 3), "reason")),
        "because");
    json_decref(lines);
}

Test(record, long_bodies_are_cut) {
    char *big = malloc(10000);
    memset(big, 'a', 9999);
    big[9999] = '\0';
    mx_record_exchange("GET", "/z", NULL, 200, "text/plain", big, 1.0);
    free(big);
    json_t *lines = mx_record_read(dir, "record", "long_bodies_are_cut");
    const char *body = json_string_value(
        json_object_get(json_object_get(json_array_get(lines, 0), "response"), "body"));
    cr_assert_not_null(body);
    cr_expect_lt(strlen(body), 4200);
    cr_expect(strstr(body, "[9999 bytes in all]") != NULL);
    json_decref(lines);
}

Test(record, no_file_means_empty) {
    json_t *lines = mx_record_read(dir, "record", "nothing");
    cr_expect(json_is_array(lines));
    cr_expect_eq(json_array_size(lines), 0);
    json_decref(lines);
}

/* The cost of a run: requests sorted into registrations, logins and
 * password checks, appended as one line per flush and summed by the runner
 * over every record file. */
Test(record, costs_are_sorted_and_summed) {
    mx_record_cost_reset();
    mx_record_cost_note("POST", "/_matrix/client/v3/register",
                        "{\"username\":\"a\",\"password\":\"pw\"}", 401);
    mx_record_cost_note("POST", "/_matrix/client/v3/register",
                        "{\"username\":\"a\",\"password\":\"pw\",\"auth\":{\"type\":"
                        "\"m.login.dummy\"}}",
                        200);
    mx_record_cost_note("POST", "/_synapse/admin/v1/register", "{\"password\":\"pw\"}",
                        200);
    mx_record_cost_note("POST", "/_matrix/client/v3/login",
                        "{\"type\":\"m.login.password\",\"password\":\"pw\"}", 200);
    mx_record_cost_note("POST", "/_matrix/client/v3/login",
                        "{\"type\":\"m.login.password\",\"password\":\"bad\"}", 403);
    mx_record_cost_note("POST", "/_matrix/client/v3/login?x=1",
                        "{\"type\":\"m.login.application_service\"}", 200);
    mx_record_cost_note("POST", "/_matrix/client/v3/delete_devices",
                        "{\"devices\":[],\"auth\":{\"password\":\"pw\"}}", 200);
    mx_record_cost_note("GET", "/_matrix/client/v3/devices", NULL, 200);
    mx_record_cost();
    mx_record_cost_note("GET", "/_matrix/client/v3/devices", NULL, 0);
    mx_record_cost();
    mx_record_cost(); /* nothing noted: no line */

    json_t *lines = mx_record_read(dir, "record", "costs_are_sorted_and_summed");
    cr_assert_eq(json_array_size(lines), 2);
    json_decref(lines);
    json_t *sum = mx_record_read_costs(dir);
    cr_expect_eq(json_integer_value(json_object_get(sum, "registrations")), 2);
    cr_expect_eq(json_integer_value(json_object_get(sum, "logins")), 2);
    cr_expect_eq(json_integer_value(json_object_get(sum, "password_checks")), 3);
    cr_expect_eq(json_integer_value(json_object_get(sum, "requests")), 9);
    json_decref(sum);
}
