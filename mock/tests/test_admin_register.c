/* Synapse's shared-secret registration (/_synapse/admin/v1/register) and
 * --no-registration, through mock_dispatch: nonce, MAC check, single use,
 * expiry, and the endpoint's absence without --shared-secret. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dispatch_call.h"
#include "store.h"

#define ADMIN "/_synapse/admin/v1/register"
#define SECRET "sss"

static struct mock_config cfg;
static struct mock_state state;

static void setup(void) {
    char err[256];
    mock_config_init(&cfg);
    cr_assert_eq(mock_config_load_appservice(&cfg, MXDEV_FIXTURES_DIR "/appservice.yaml",
                                             err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(mock_state_setup(&state, &cfg), 0);
    state.shared_secret = SECRET;
}

static void teardown(void) {
    mock_state_teardown(&state);
    mock_config_clean(&cfg);
}

TestSuite(admin, .init = setup, .fini = teardown);

/* One request; body may be NULL. Returns the status, *json a new reference
 * (or NULL). */
static unsigned call(const char *method, const char *uri, const char *token,
                     const char *body, json_t **json) {
    struct mock_reply reply;
    dispatch_call(&state, method, uri, token, body, &reply);
    unsigned status = reply.status;
    if (json != NULL)
        *json = json_loadb(reply.body, reply.body_len, 0, NULL);
    mock_reply_clean(&reply);
    return status;
}

static const char *errcode(json_t *j) {
    return json_string_value(json_object_get(j, "errcode"));
}

/* One request (call()) that must be refused with status and errcode code. */
static void expect_refused(const char *method, const char *uri, const char *body,
                           unsigned status, const char *code) {
    json_t *j = NULL;
    cr_expect_eq(call(method, uri, NULL, body, &j), status, "%s %s %s", method, uri,
                 body ? body : "");
    cr_expect_str_eq(errcode(j), code, "%s %s %s", method, uri, body ? body : "");
    json_decref(j);
}

/* A nonce from GET; new malloc'd string. */
static char *get_nonce(void) {
    json_t *j = NULL;
    cr_assert_eq(call("GET", ADMIN, NULL, NULL, &j), 200);
    const char *nonce = json_string_value(json_object_get(j, "nonce"));
    cr_assert_not_null(nonce);
    char *copy = strdup(nonce);
    json_decref(j);
    return copy;
}

/* Synapse's MAC, written out independently of the mock's code. */
static void mac_of(const char *secret, const char *nonce, const char *user,
                   const char *password, bool admin, char hex[41]) {
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s%c%s%c%s%c%s", nonce, 0, user, 0, password, 0,
                     admin ? "admin" : "notadmin");
    cr_assert(n > 0 && (size_t)n < sizeof msg);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    cr_assert_not_null(HMAC(EVP_sha1(), secret, (int)strlen(secret),
                            (const unsigned char *)msg, (size_t)n, mac, &len));
    for (unsigned i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
}

/* POSTs a registration of user with password and the given mac. */
static unsigned post(const char *nonce, const char *user, const char *password,
                     bool admin, const char *mac, json_t **json) {
    json_t *body = json_pack("{s:s,s:s,s:s,s:b,s:s}", "nonce", nonce, "username", user,
                             "password", password, "admin", admin, "mac", mac);
    char *text = json_dumps(body, JSON_COMPACT);
    unsigned status = call("POST", ADMIN, NULL, text, json);
    free(text);
    json_decref(body);
    return status;
}

/* post() with a fresh nonce and the right MAC for it. */
static unsigned post_signed(const char *user, const char *password, bool admin,
                            json_t **json) {
    char *nonce = get_nonce();
    char mac[41];
    mac_of(SECRET, nonce, user, password, admin, mac);
    unsigned status = post(nonce, user, password, admin, mac, json);
    free(nonce);
    return status;
}

Test(admin, good_mac_registers_and_logs_in) {
    char *nonce = get_nonce();
    cr_expect_eq(strlen(nonce), 32);
    char mac[41];
    mac_of(SECRET, nonce, "alice", "pw1", false, mac);
    json_t *j = NULL;
    cr_assert_eq(post(nonce, "alice", "pw1", false, mac, &j), 200);
    cr_expect_str_eq(json_string_value(json_object_get(j, "user_id")),
                     "@alice:localhost");
    cr_expect_str_eq(json_string_value(json_object_get(j, "home_server")), "localhost");
    cr_expect_not_null(json_string_value(json_object_get(j, "device_id")));
    const char *token = json_string_value(json_object_get(j, "access_token"));
    cr_assert_not_null(token);
    json_t *who = NULL;
    cr_expect_eq(call("GET", "/_matrix/client/v3/account/whoami", token, NULL, &who),
                 200);
    json_decref(who);
    cr_expect(store_user_password_ok(state.store, "@alice:localhost", "pw1"));
    json_decref(j);
    free(nonce);
}

Test(admin, admin_flag_is_part_of_the_mac) {
    json_t *j = NULL;
    cr_expect_eq(post_signed("root", "pw", true, &j), 200);
    json_decref(j);
    /* The same MAC does not pass for "notadmin". */
    char *nonce = get_nonce();
    char mac[41];
    mac_of(SECRET, nonce, "root2", "pw", true, mac);
    cr_expect_eq(post(nonce, "root2", "pw", false, mac, &j), 403);
    json_decref(j);
    free(nonce);
}

Test(admin, known_vector_from_python) {
    /* hmac.new(b"sss", b"abc123\0mxdevuser\0pw\0notadmin", hashlib.sha1) */
    strcpy(state.admin_nonces[0].value, "abc123");
    state.admin_nonces[0].expires_ms = mock_now_ms() + 60000;
    json_t *j = NULL;
    cr_expect_eq(post("abc123", "mxdevuser", "pw", false,
                      "441893bdbb3d5d1bf28fe7b6bff014b9a7e57d35", &j),
                 200);
    json_decref(j);
}

Test(admin, bad_mac_is_403_and_creates_nobody) {
    char *nonce = get_nonce();
    char mac[41];
    mac_of("not-the-secret", nonce, "mallory", "pw", false, mac);
    json_t *j = NULL;
    cr_expect_eq(post(nonce, "mallory", "pw", false, mac, &j), 403);
    cr_expect_str_eq(errcode(j), "M_FORBIDDEN");
    json_decref(j);
    /* Upper-case hex is not what Synapse compares against either. */
    free(nonce);
    nonce = get_nonce();
    mac_of(SECRET, nonce, "mallory", "pw", false, mac);
    for (char *p = mac; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    cr_expect_eq(post(nonce, "mallory", "pw", false, mac, &j), 403);
    json_decref(j);
    cr_expect_not(store_user_exists(state.store, "@mallory:localhost"));
    free(nonce);
}

Test(admin, nonce_is_single_use) {
    char *nonce = get_nonce();
    char mac[41];
    mac_of(SECRET, nonce, "bob", "pw", false, mac);
    json_t *j = NULL;
    cr_assert_eq(post(nonce, "bob", "pw", false, mac, &j), 200);
    json_decref(j);
    mac_of(SECRET, nonce, "bob2", "pw", false, mac);
    cr_expect_eq(post(nonce, "bob2", "pw", false, mac, &j), 400);
    cr_expect_str_eq(errcode(j), "M_UNKNOWN");
    json_decref(j);
    free(nonce);
}

Test(admin, nonce_is_spent_by_a_failed_attempt) {
    char *nonce = get_nonce();
    json_t *j = NULL;
    cr_expect_eq(post(nonce, "carol", "pw", false, "00", &j), 403);
    json_decref(j);
    char mac[41];
    mac_of(SECRET, nonce, "carol", "pw", false, mac);
    cr_expect_eq(post(nonce, "carol", "pw", false, mac, &j), 400);
    json_decref(j);
    free(nonce);
}

Test(admin, unknown_and_expired_nonces) {
    char mac[41];
    json_t *j = NULL;
    mac_of(SECRET, "made-up", "dave", "pw", false, mac);
    cr_expect_eq(post("made-up", "dave", "pw", false, mac, &j), 400);
    cr_expect_str_eq(errcode(j), "M_UNKNOWN");
    json_decref(j);
    char *nonce = get_nonce();
    for (size_t i = 0; i < MOCK_ADMIN_NONCES; i++)
        if (strcmp(state.admin_nonces[i].value, nonce) == 0)
            state.admin_nonces[i].expires_ms = mock_now_ms() - 1;
    mac_of(SECRET, nonce, "dave", "pw", false, mac);
    cr_expect_eq(post(nonce, "dave", "pw", false, mac, &j), 400);
    json_decref(j);
    free(nonce);
}

Test(admin, many_nonces_outstanding) {
    char *first = get_nonce();
    for (size_t i = 0; i < MOCK_ADMIN_NONCES - 1; i++)
        free(get_nonce());
    char mac[41];
    mac_of(SECRET, first, "erin", "pw", false, mac);
    json_t *j = NULL;
    cr_expect_eq(post(first, "erin", "pw", false, mac, &j), 200);
    json_decref(j);
    free(first);
}

Test(admin, taken_name_and_namespace) {
    json_t *j = NULL;
    cr_assert_eq(post_signed("frank", "pw", false, &j), 200);
    json_decref(j);
    cr_expect_eq(post_signed("frank", "pw", false, &j), 400);
    cr_expect_str_eq(errcode(j), "M_USER_IN_USE");
    json_decref(j);
    cr_expect_eq(post_signed("_mxdevconf_x", "pw", false, &j), 400);
    cr_expect_str_eq(errcode(j), "M_EXCLUSIVE");
    json_decref(j);
}

Test(admin, missing_fields_400) {
    expect_refused("POST", ADMIN, "{\"nonce\":\"x\"}", 400, "M_MISSING_PARAM");
    expect_refused("POST", ADMIN, "{\"nonce\":1}", 400, "M_BAD_JSON");
}

Test(admin, absent_without_shared_secret) {
    state.shared_secret = NULL;
    expect_refused("GET", ADMIN, NULL, 404, "M_UNRECOGNIZED");
    expect_refused("POST", ADMIN, "{}", 404, "M_UNRECOGNIZED");
}

Test(admin, no_registration_refuses_clients_not_appservices) {
    state.registration_disabled = true;
    expect_refused("POST", "/_matrix/client/v3/register",
                   "{\"username\":\"gina\",\"password\":\"pw\"}", 403, "M_FORBIDDEN");
    json_t *j = NULL;
    cr_expect_eq(call("POST", "/_matrix/client/v3/register",
                      "mxdev_as_token_for_the_bundled_mock_only",
                      "{\"type\":\"m.login.application_service\","
                      "\"username\":\"_mxdevconf_gina\",\"inhibit_login\":true}",
                      &j),
                 200);
    json_decref(j);
    /* Shared-secret registration stays open. */
    cr_expect_eq(post_signed("gina", "pw", false, &j), 200);
    json_decref(j);
}
