/* The exploration's PRNG, model and operation drawing, without a server. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "explore_internal.h"
#include "mx_redact.h"

Test(explore_model, splitmix64_reference_values) {
    /* The published first outputs of splitmix64 from state 0. */
    struct x_rng r = {0};
    cr_expect_eq(x_rng_next(&r), 0xe220a8397b1dcdafULL);
    cr_expect_eq(x_rng_next(&r), 0x6e789e6aa1b965f4ULL);
    cr_expect_eq(x_rng_next(&r), 0x06c45d188009454fULL);
    for (int i = 0; i < 1000; i++)
        cr_expect_lt(x_rng_below(&r, 7), 7u);
}

Test(explore_model, devices_and_sessions) {
    struct x_model m = {.n_users = 2, .n_password = 2};
    cr_assert_not_null(x_dev_add(&m, 0, -1, "AAA", "explore", true, "LIST-NAME", "t0"));
    cr_assert_not_null(x_dev_add(&m, 0, 5, "XD5", NULL, false, "LIST-NAME", "t5"));
    cr_assert_not_null(x_dev_add(&m, 1, -2, "BBB", "explore", true, "LIST-NAME", "t1"));
    cr_expect_eq(x_live_count(&m, 0), 2);
    cr_expect_str_eq(x_dev_by_label(&m, 0, 5)->id, "XD5");
    cr_expect_null(x_dev_by_label(&m, 1, 5));
    cr_expect_null(x_dev_by_id(&m, 0, "BBB"), "devices are per user");
    x_dev_by_label(&m, 0, 5)->live = false;
    cr_expect_eq(x_live_count(&m, 0), 1);

    x_session_set(&m.users[0], "D XD5", "s1");
    x_session_set(&m.users[0], "D AAA", "s2");
    x_session_set(&m.users[0], "D XD5", "s3");
    cr_expect_str_eq(x_session_get(&m.users[0], "D XD5"), "s3");
    x_session_drop(&m.users[0], "D XD5");
    cr_expect_null(x_session_get(&m.users[0], "D XD5"));
    cr_expect_str_eq(x_session_get(&m.users[0], "D AAA"), "s2");
    x_model_free(&m);
}

/* A model like the one after provisioning: three users, one device each,
 * and an application-service user without devices. */
static void provisioned(struct x_run *x, const struct mx_explore_config *cfg) {
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->spec_version = 117;
    x->use_as = true;
    x->m.n_password = 3;
    x->m.n_users = 4;
    x->m.users[3].appservice = true;
    for (int u = 0; u < 3; u++)
        x_dev_add(&x->m, u, -(u + 1),
                  u == 0   ? "A"
                  : u == 1 ? "B"
                           : "C",
                  "explore", true, "LIST-NAME", "t");
}

Test(explore_model, drawing_depends_on_the_seed_only) {
    struct mx_explore_config cfg = {
        .steps = 200, .seed = 7, .users = 3, .appservice = true};
    struct x_run a, b;
    struct x_rng ra = {7}, rb = {7}, rc = {8};
    bool differs = false;
    provisioned(&a, &cfg);
    provisioned(&b, &cfg);
    for (int n = 1; n <= 200; n++) {
        struct x_op oa, ob, oc;
        x_gen_op(&a, &ra, n, &oa);
        x_gen_op(&b, &rb, n, &ob);
        x_gen_op(&a, &rc, n, &oc);
        cr_assert_eq(memcmp(&oa, &ob, sizeof(oa)), 0, "step %d differs", n);
        cr_assert(oa.kind < OP_KIND_COUNT);
        cr_assert(oa.user >= 0 && oa.user < a.m.n_users);
        /* An operation that sends with a token names a device that has one. */
        if (oa.caller) {
            struct x_dev *d = x_dev_by_label(&a.m, oa.user, oa.caller);
            cr_assert(d && d->live && d->token_live, "step %d: caller d%d", n, oa.caller);
        }
        differs = differs || memcmp(&oa, &oc, sizeof(oa)) != 0;
    }
    cr_expect(differs, "seeds 7 and 8 drew the same 200 operations");
    x_model_free(&a.m);
    x_model_free(&b.m);
}

Test(explore_model, describe_names_the_operation) {
    struct x_op op = {.kind = OP_DEL_OK,
                      .n = 12,
                      .user = 1,
                      .caller = -2,
                      .n_t = 2,
                      .bulk = true,
                      .name = -1};
    op.t[0] = (struct x_ref){1, 5};
    op.t[1] = (struct x_ref){0, 0};
    char *text = x_op_describe(&op);
    cr_assert_not_null(text);
    cr_expect_str_eq(text, "12 delete u1 by d-2 on u1:d5, u0:unknown1 bulk");
    free(text);
}
