/* mx_catalog: the TSV loader, version handling and test-name mapping. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mx_catalog.h"

static const char *data(const char *file) {
    static char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof(path), "%.*s/data/%s", dir, slash ? __FILE__ : ".", file);
    return path;
}

Test(catalog, loads_rows_and_versions) {
    char err[256] = "";
    cr_assert_eq(mx_catalog_load(data("requirements.tsv"), err, sizeof(err)), 0, "%s",
                 err);
    cr_expect_eq(mx_catalog_count(), 5);
    const struct mx_requirement *r = mx_catalog_find("ASC-CREATE");
    cr_assert_not_null(r);
    cr_expect_str_eq(r->group, "asc");
    cr_expect_eq(r->level, MX_MUST);
    cr_expect_eq(r->since, 117);
    cr_expect_eq(r->until, 0);
    cr_expect_str_eq(r->rule, "AS creates a device.");
    cr_expect_str_eq(r->anchor, "client-server-api/#get_matrixclientv3devicesdeviceid");
    cr_expect_eq(mx_catalog_find("UIA-SESSION-ECHO")->level, MX_SHOULD);
    cr_expect_eq(mx_catalog_find("ASC-BEFORE")->level, MX_INFO);
    cr_expect_null(mx_catalog_find("NOPE"));
    cr_expect_str_eq(mx_catalog_at(0)->id, "GET-OK");
    cr_expect_null(mx_catalog_at(5));
}

Test(catalog, applies_by_version) {
    char err[256] = "";
    cr_assert_eq(mx_catalog_load(data("requirements.tsv"), err, sizeof(err)), 0, "%s",
                 err);
    const struct mx_requirement *asc = mx_catalog_find("ASC-CREATE");
    const struct mx_requirement *before = mx_catalog_find("ASC-BEFORE");
    const struct mx_requirement *query = mx_catalog_find("AUTH-QUERY");
    cr_expect_not(mx_requirement_applies(asc, 116));
    cr_expect(mx_requirement_applies(asc, 117));
    cr_expect(mx_requirement_applies(asc, 120));
    cr_expect(mx_requirement_applies(before, 116));
    cr_expect_not(mx_requirement_applies(before, 117));
    cr_expect(mx_requirement_applies(query, 119));
    cr_expect_not(mx_requirement_applies(query, 120));
}

static void expect_error(const char *file, const char *needle) {
    char err[256] = "";
    cr_expect_eq(mx_catalog_load(data(file), err, sizeof(err)), -1, "%s loaded", file);
    cr_expect(strstr(err, needle) != NULL, "%s: error \"%s\" lacks \"%s\"", file, err,
              needle);
}

Test(catalog, rejects_bad_files) {
    expect_error("bad_level.tsv", "bad_level.tsv:1: level \"MAYBE\"");
    expect_error("bad_group.tsv", "bad_group.tsv:2: unknown group \"nope\"");
    expect_error("bad_version.tsv", "bad_version.tsv:1: since/until");
    expect_error("bad_columns.tsv", "expected 7 tab-separated columns");
    expect_error("bad_anchor.tsv",
                 "bad_anchor.tsv:2: anchor \"get_matrixclientv3devices\"");
    expect_error("duplicate.tsv", "duplicate.tsv:2: duplicate requirement id X-1");
    expect_error("no_such_file.tsv", "cannot open");
}

Test(catalog, project_catalogue_loads) {
    char err[256] = "";
    cr_assert_eq(
        mx_catalog_load(MXDEV_FIXTURES_DIR "/requirements.tsv", err, sizeof(err)), 0,
        "%s", err);
    cr_expect_gt(mx_catalog_count(), 40);
    cr_expect_not_null(mx_catalog_find("UIA-WRONG-PASSWORD"));
    /* Every requirement links to its place in the spec, per version. */
    char link[512];
    for (size_t i = 0; i < mx_catalog_count(); i++) {
        const struct mx_requirement *r = mx_catalog_at(i);
        cr_expect_eq(mx_requirement_link(r, 117, link, sizeof(link)), 0, "%s: no link",
                     r->id);
        cr_expect(strncmp(link, "https://spec.matrix.org/v1.17/", 30) == 0, "%s: %s",
                  r->id, link);
    }
    cr_expect_str_eq(mx_catalog_find("GET-OK")->anchor,
                     "client-server-api/#get_matrixclientv3devicesdeviceid");
    cr_expect_str_eq(mx_catalog_find("BULK-DELETE")->anchor,
                     "client-server-api/#post_matrixclientv3delete_devices");
    cr_expect_str_eq(mx_catalog_find("ASC-MASQUERADE")->anchor,
                     "application-service-api/#identity-assertion");
    mx_requirement_link(mx_catalog_find("LIST-OK"), 120, link, sizeof(link));
    cr_expect_str_eq(link, "https://spec.matrix.org/unstable/client-server-api/"
                           "#get_matrixclientv3devices");
}

Test(catalog, test_names_map_to_ids) {
    char id[64];
    mx_test_name_to_id("UIA_WRONG_PASSWORD__delete_devices", id, sizeof(id));
    cr_expect_str_eq(id, "UIA-WRONG-PASSWORD");
    mx_test_name_to_id("GET_OK", id, sizeof(id));
    cr_expect_str_eq(id, "GET-OK");
    mx_test_name_to_id("ERR_JSON__put__not_found", id, sizeof(id));
    cr_expect_str_eq(id, "ERR-JSON");
    mx_test_name_to_id("LONG_NAME", id, 5);
    cr_expect_str_eq(id, "LONG");
}

Test(catalog, versions) {
    cr_expect_eq(mx_version_parse("1.16"), 116);
    cr_expect_eq(mx_version_parse("1.20"), 120);
    cr_expect_eq(mx_version_parse("1.15"), -1);
    cr_expect_eq(mx_version_parse("1.170"), -1);
    cr_expect_eq(mx_version_parse(NULL), -1);
    cr_expect_str_eq(mx_version_name(117), "1.17");
    cr_expect_str_eq(mx_version_name(99), "?");
    cr_expect_str_eq(mx_level_name(MX_SHOULD), "SHOULD");
}
