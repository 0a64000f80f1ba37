/* Unit tests of configuration loading: spec versions, application-service
 * registrations (YAML) and the seed file (JSON). Inputs are data files in
 * tests/data/, one per case. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "store.h"

#define DATA_DIR MXDEV_FIXTURES_DIR "/../mock/tests/data/"

static struct mock_config cfg;
static char err[512];

static void setup(void) {
    mock_config_init(&cfg);
    err[0] = '\0';
}

static void teardown(void) {
    mock_config_clean(&cfg);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Loads tests/data/<name>; returns the loader's result. */
static int load_data(const char *name) {
    char path[512];
    snprintf(path, sizeof path, DATA_DIR "%s", name);
    return mock_config_load_appservice(&cfg, path, err, sizeof err);
}

/* Whether err ends with "<name>:<line>: <what>". */
static void expect_error(const char *name, int line, const char *what) {
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s", name, line, what);
    const char *at = strstr(err, want);
    cr_expect_not_null(at, "error \"%s\" does not contain \"%s\"", err, want);
}

Test(config, defaults) {
    cr_expect_str_eq(cfg.listen_addr, "127.0.0.1");
    cr_expect_eq(cfg.listen_port, 0);
    cr_expect_str_eq(cfg.server_name, "localhost");
    cr_expect_eq(cfg.spec_version, SPEC_V1_17);
    cr_expect_not(cfg.rate_limit);
    cr_expect_eq(cfg.rate_limit_per_min, MOCK_RATE_LIMIT_DEFAULT_PER_MIN);
    cr_expect_null(cfg.request_log);
    cr_expect_null(cfg.seed_file);
    cr_expect_eq(cfg.n_appservices, 0);
}

Test(config, spec_versions) {
    static const struct {
        const char *text;
        enum mock_spec_version v;
    } ok[] = {{"1.16", SPEC_V1_16}, {"1.17", SPEC_V1_17}, {"1.18", SPEC_V1_18},
              {"1.19", SPEC_V1_19}, {"1.20", SPEC_V1_20}, {"v1.17", SPEC_V1_17}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum mock_spec_version v = 0;
        cr_expect_eq(mock_spec_version_parse(ok[i].text, &v), 0, "%s", ok[i].text);
        cr_expect_eq(v, ok[i].v, "%s", ok[i].text);
    }
    static const char *const bad[] = {"1.15", "1.21", "1.1", "1.170", "", "r0.6.1", "v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum mock_spec_version v = SPEC_V1_18;
        cr_expect_eq(mock_spec_version_parse(bad[i], &v), -1, "%s", bad[i]);
        cr_expect_eq(v, SPEC_V1_18);
    }
    cr_expect_eq(mock_spec_version_parse(NULL, &(enum mock_spec_version){0}), -1);
    cr_expect_str_eq(mock_spec_version_name(SPEC_V1_16), "1.16");
    cr_expect_str_eq(mock_spec_version_name(SPEC_V1_20), "1.20");
    cr_expect(SPEC_V1_16 < SPEC_V1_17 && SPEC_V1_19 < SPEC_V1_20);
}

Test(config, bundled_fixture) {
    cr_assert_eq(mock_config_load_appservice(&cfg, MXDEV_FIXTURES_DIR "/appservice.yaml",
                                             err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(cfg.n_appservices, 1);
    const struct mock_appservice *as = &cfg.appservices[0];
    cr_expect_str_eq(as->id, "mxdev-conformance");
    cr_expect_null(as->url);
    cr_expect_str_eq(as->as_token, "mxdev_as_token_for_the_bundled_mock_only");
    cr_expect_str_eq(as->hs_token, "mxdev_hs_token_for_the_bundled_mock_only");
    cr_expect_str_eq(as->sender_localpart, "_mxdevconf_bot");
    cr_expect_str_eq(as->sender_user_id, "@_mxdevconf_bot:localhost");
    cr_expect_not(as->rate_limited);
    cr_expect(as->msc4190);
    cr_assert_eq(as->n_users, 1);
    cr_expect_str_eq(as->users[0].pattern, "@_mxdevconf_.*");
    cr_expect(as->users[0].exclusive);

    cr_expect(mock_appservice_owns_user(as, "@_mxdevconf_run1_0:localhost"));
    cr_expect(mock_appservice_owns_user(as, "@_mxdevconf_bot:localhost"));
    cr_expect_not(mock_appservice_owns_user(as, "@alice:localhost"));
    /* Anchored: the regex must match the whole ID. */
    cr_expect_not(mock_appservice_owns_user(as, "@x@_mxdevconf_a:localhost"));
    cr_expect_eq(mock_config_exclusive_owner(&cfg, "@_mxdevconf_a:localhost"), as);
    cr_expect_null(mock_config_exclusive_owner(&cfg, "@alice:localhost"));

    cr_expect_eq(
        mock_config_appservice_by_token(&cfg, "mxdev_as_token_for_the_bundled_mock_only"),
        as);
    cr_expect_null(mock_config_appservice_by_token(
        &cfg, "mxdev_hs_token_for_the_bundled_mock_only"));
    cr_expect_null(mock_config_appservice_by_token(&cfg, "mxdev_as_token"));
    cr_expect_null(mock_config_appservice_by_token(&cfg, ""));
    cr_expect_null(mock_config_appservice_by_token(&cfg, NULL));
}

Test(config, server_name_in_sender) {
    free(cfg.server_name);
    cfg.server_name = strdup("hs.example.org");
    cr_assert_eq(load_data("as_null_url.yaml"), 0, "%s", err);
    cr_expect_str_eq(cfg.appservices[0].sender_user_id, "@nullbot:hs.example.org");
}

Test(config, good_registration) {
    cr_assert_eq(load_data("as_good.yaml"), 0, "%s", err);
    const struct mock_appservice *as = &cfg.appservices[0];
    cr_expect_str_eq(as->id, "test-bridge");
    cr_expect_str_eq(as->url, "http://127.0.0.1:9999");
    cr_expect(as->rate_limited);
    cr_expect_not(as->msc4190);
    cr_assert_eq(as->n_users, 2);
    cr_expect(as->users[0].exclusive);
    cr_expect_not(as->users[1].exclusive);

    cr_expect(mock_appservice_owns_user(as, "@as_abc:localhost"));
    cr_expect_not(mock_appservice_owns_user(as, "@as_abc:localhost.evil"));
    cr_expect_not(mock_appservice_owns_user(as, "x@as_abc:localhost"));
    cr_expect_not(mock_appservice_owns_user(as, "@as_ABC:localhost"));
    cr_expect(mock_appservice_owns_user(as, "@shared_1:anywhere"));
    cr_expect_eq(mock_config_exclusive_owner(&cfg, "@as_abc:localhost"), as);
    /* Non-exclusive namespaces give no exclusive owner. */
    cr_expect_null(mock_config_exclusive_owner(&cfg, "@shared_1:anywhere"));
}

Test(config, two_registrations) {
    cr_assert_eq(load_data("as_good.yaml"), 0, "%s", err);
    cr_assert_eq(mock_config_load_appservice(&cfg, MXDEV_FIXTURES_DIR "/appservice.yaml",
                                             err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(cfg.n_appservices, 2);
    cr_expect_eq(mock_config_appservice_by_token(&cfg, "as_token_good"),
                 &cfg.appservices[0]);
    cr_expect_eq(
        mock_config_appservice_by_token(&cfg, "mxdev_as_token_for_the_bundled_mock_only"),
        &cfg.appservices[1]);
    cr_expect_eq(mock_config_exclusive_owner(&cfg, "@_mxdevconf_x:localhost"),
                 &cfg.appservices[1]);
}

Test(config, null_url) {
    cr_assert_eq(load_data("as_null_url.yaml"), 0, "%s", err);
    cr_expect_null(cfg.appservices[0].url);
    cr_expect_eq(cfg.appservices[0].n_users, 0);
}

Test(config, msc4190_key) {
    cr_assert_eq(load_data("as_msc4190_false.yaml"), 0, "%s", err);
    cr_expect_not(cfg.appservices[0].msc4190);
}

struct bad_case {
    const char *file;
    int line;
    const char *what;
};

Test(config, broken_registrations) {
    static const struct bad_case cases[] = {
        {"as_missing_as_token.yaml", 2, "missing as_token"},
        {"as_missing_url.yaml", 1, "missing url"},
        {"as_missing_exclusive.yaml", 8, "missing exclusive"},
        {"as_bad_yaml.yaml", 8, "found unexpected end of stream"},
        {"as_bad_indent.yaml", 4, "mapping values are not allowed in this context"},
        {"as_bad_regex.yaml", 8, "bad users regex \"@x_(unclosed\""},
        {"as_bad_bool.yaml", 9, "exclusive must be true or false"},
        {"as_duplicate_key.yaml", 6, "duplicate key as_token"},
        {"as_nul_token.yaml", 3, "as_token must not contain NUL bytes"},
        {"as_list.yaml", 1, "registration must be a mapping"},
        {"as_empty.yaml", 1, "empty registration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        cr_expect_eq(load_data(cases[i].file), -1, "%s loaded", cases[i].file);
        expect_error(cases[i].file, cases[i].line, cases[i].what);
    }
    cr_expect_eq(cfg.n_appservices, 0);
}

Test(config, unclosed_quote_names_its_start) {
    cr_assert_eq(load_data("as_bad_yaml.yaml"), -1);
    cr_expect_not_null(strstr(err, "started at line 5"), "%s", err);
}

Test(config, duplicate_token_or_id) {
    cr_assert_eq(load_data("as_good.yaml"), 0, "%s", err);
    cr_expect_eq(load_data("as_same_token.yaml"), -1);
    expect_error("as_same_token.yaml", 2, "as_token is already used by test-bridge");
    cr_expect_eq(load_data("as_good.yaml"), -1);
    expect_error("as_good.yaml", 2, "id test-bridge is already registered");
    cr_expect_eq(cfg.n_appservices, 1);
}

Test(config, missing_file) {
    cr_expect_eq(mock_config_load_appservice(&cfg, "/nonexistent/registration.yaml", err,
                                             sizeof err),
                 -1);
    cr_expect_str_eq(err, "/nonexistent/registration.yaml: No such file or directory");
}

/* ---- seed ---- */

static struct store *st;

static void seed_setup(void) {
    setup();
    st = store_new();
    cr_assert_not_null(st);
}

static void seed_teardown(void) {
    store_free(st);
    teardown();
}

static int load_seed(const char *name) {
    char path[512];
    snprintf(path, sizeof path, DATA_DIR "%s", name);
    return mock_config_load_seed(&cfg, st, path, err, sizeof err);
}

Test(seed, good, .init = seed_setup, .fini = seed_teardown) {
    cr_assert_eq(load_seed("seed_good.json"), 0, "%s", err);
    cr_expect(store_user_exists(st, "@alice:localhost"));
    cr_expect(store_user_password_ok(st, "@alice:localhost", "alice-password"));
    cr_expect(store_user_exists(st, "@bob:example.org"));
    cr_expect_not(store_user_password_ok(st, "@bob:example.org", ""));
    cr_expect_eq(store_device_count(st, "@alice:localhost"), 2);

    const struct store_device *d = store_device_get(st, "@alice:localhost", "ALICEPHONE");
    cr_assert_not_null(d);
    cr_expect_str_eq(d->display_name, "Alice's phone");
    cr_expect_str_eq(d->last_seen_ip, "127.0.0.1");
    cr_expect_eq(d->last_seen_ts, 1700000000000);
    d = store_device_get(st, "@alice:localhost", "ALICELAPTOP");
    cr_assert_not_null(d);
    cr_expect_null(d->display_name);
    cr_expect_null(store_device_token(st, "@alice:localhost", "ALICELAPTOP"));

    struct store_token_owner owner;
    cr_assert_eq(store_token_lookup(st, "seed_token_alice_phone", &owner), 0);
    cr_expect_str_eq(owner.user_id, "@alice:localhost");
    cr_expect_str_eq(owner.device_id, "ALICEPHONE");
    cr_assert_eq(store_token_lookup(st, "seed_token_as_device", &owner), 0);
    cr_expect_str_eq(owner.user_id, "@_mxdevconf_seeded:localhost");
}

Test(seed, example_fixture, .init = seed_setup, .fini = seed_teardown) {
    cr_assert_eq(mock_config_load_seed(&cfg, st, MXDEV_FIXTURES_DIR "/seed.example.json",
                                       err, sizeof err),
                 0, "%s", err);
    cr_expect(store_user_exists(st, "@alice:localhost"));
}

Test(seed, broken, .init = seed_setup, .fini = seed_teardown) {
    static const struct {
        const char *file;
        const char *what;
    } cases[] = {
        {"seed_bad_json.json", "seed_bad_json.json:3:"},
        {"seed_missing_device_id.json", "users[0].devices[1]: missing device_id"},
        {"seed_duplicate_user.json", "users[1]: duplicate user @alice:localhost"},
        {"seed_duplicate_token.json", "users[0].devices[1]: access_token already in use"},
        {"seed_no_users.json", "missing \"users\" array"},
        {"seed_bad_user_id.json", "users[0]: bad user ID @nocolon"},
        {"does_not_exist.json", "unable to open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Each case gets a clean store: a failed load may leave a prefix. */
        store_free(st);
        st = store_new();
        err[0] = '\0';
        cr_expect_eq(load_seed(cases[i].file), -1, "%s loaded", cases[i].file);
        cr_expect_not_null(strstr(err, cases[i].what), "%s: error \"%s\" lacks \"%s\"",
                           cases[i].file, err, cases[i].what);
    }
}
