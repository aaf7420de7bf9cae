/*
 * test-declare.c - declarations built from pre-advice: the pure builder
 * (mapping, defaults, validation, duty estimate on the shipped rules) and
 * the import storing them with the parcels in one transaction (queued when
 * valid, parcel blocked when invalid, corrected by re-import, a declaration
 * already sent never replaced, LP-then-S10 declared once), plus the
 * operator's `wcsctl customs problems` / `customs show`, against the
 * fixture's PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "customs/duty.h"
#include "tests/common/proc.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/core/declare.h"
#include "wcs/store/store.h"

#define LP "LP00000000000077"

static char s10_a[16], s10_b[16];

/* A valid S10 of serial n, country CN. */
static void make_s10(char *out, unsigned n)
{
    char serial[9];

    snprintf(serial, sizeof(serial), "%08u", n);
    snprintf(out, 16, "RR%s%dCN", serial, scan_s10_check_digit(serial));
}

/* A complete, valid pre-advice row bound for Novosibirsk. */
static void full_row(struct wcs_preadvice *a, const char *code)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->code, sizeof(a->code), "%s", code);
    snprintf(a->service, sizeof(a->service), "STANDARD");
    snprintf(a->country, sizeof(a->country), "RU");
    snprintf(a->postal_code, sizeof(a->postal_code), "630099");
    snprintf(a->recipient_name, sizeof(a->recipient_name), "Иванов Иван Иванович");
    snprintf(a->city, sizeof(a->city), "Новосибирск");
    snprintf(a->address, sizeof(a->address), "ул. Ленина, д. 1, кв. 5");
    snprintf(a->region, sizeof(a->region), "Новосибирская обл.");
    snprintf(a->phone, sizeof(a->phone), "+79131234567");
    a->weight_g = 950;
    a->length_mm = a->width_mm = a->height_mm = -1;
    a->declared_value = 4500;
    snprintf(a->currency, sizeof(a->currency), "CNY");
    snprintf(a->item_description, sizeof(a->item_description), "Кроссовки беговые");
    snprintf(a->hs_code, sizeof(a->hs_code), "640411");
    snprintf(a->sender_name, sizeof(a->sender_name), "Harbin Beiguo Trade Co.");
    snprintf(a->sender_address, sizeof(a->sender_address), "No. 18 Hongqi Street");
    snprintf(a->sender_city, sizeof(a->sender_city), "Harbin");
    snprintf(a->sender_postal_code, sizeof(a->sender_postal_code), "150010");
    snprintf(a->sender_country, sizeof(a->sender_country), "CN");
    snprintf(a->sender_phone, sizeof(a->sender_phone), "+8645186601234");
    a->quantity = -1;
    a->net_weight_g = -1;
}

static json_t *body_json(const struct wcs_declaration *d)
{
    json_t *j = json_loads(d->body, 0, NULL);

    assert_non_null(j);
    return j;
}

static const char *jpath_str(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(j, a);

    if (b != NULL)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* --- the pure builder ---------------------------------------------------- */

static void test_build_valid_with_defaults(void **state)
{
    struct wcs_preadvice a;
    struct wcs_declare_ctx cx;
    struct wcs_declaration d;
    struct err e = {0};
    json_t *j, *item;

    (void)state;
    wcs_declare_ctx_init(&cx);
    full_row(&a, s10_a);
    snprintf(a.other_ids[0], sizeof(a.other_ids[0]), LP);
    a.n_other_ids = 1;
    assert_true(wcs_preadvice_declared(&a));
    assert_int_equal(wcs_declaration_build(&a, &cx, &d, &e), 0);
    assert_true(d.valid);
    assert_null(d.errors);
    assert_null(d.warnings);
    assert_false(d.duty_known); /* no rules given */
    j = body_json(&d);
    assert_string_equal(jpath_str(j, "parcel_id", NULL), s10_a);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "other_ids"), 0)), LP);
    assert_string_equal(jpath_str(j, "category", NULL), "sale_of_goods");
    assert_string_equal(jpath_str(j, "sender", "country"), "CN");
    assert_string_equal(jpath_str(j, "recipient", "region"), "Новосибирская обл.");
    assert_null(json_object_get(json_object_get(j, "recipient"), "passport"));
    item = json_array_get(json_object_get(j, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "quantity")), 1);
    assert_int_equal(json_integer_value(json_object_get(item, "net_weight_g")), 950);
    assert_int_equal(json_integer_value(json_object_get(item, "value")), 4500);
    assert_string_equal(json_string_value(json_object_get(item, "origin_country")), "CN");
    assert_int_equal(json_integer_value(json_object_get(j, "gross_weight_g")), 950);
    assert_int_equal(json_integer_value(json_object_get(j, "total_value")), 4500);
    json_decref(j);
    wcs_declaration_free(&d);

    /* Given values win over the defaults; a passport and a good INN pass. */
    a.quantity = 2;
    a.net_weight_g = 800;
    snprintf(a.origin_country, sizeof(a.origin_country), "VN");
    snprintf(a.category, sizeof(a.category), "gift");
    snprintf(a.passport_series, sizeof(a.passport_series), "4509");
    snprintf(a.passport_number, sizeof(a.passport_number), "123456");
    snprintf(a.passport_issued, sizeof(a.passport_issued), "2015-03-01");
    snprintf(a.inn, sizeof(a.inn), "500100732259");
    assert_int_equal(wcs_declaration_build(&a, &cx, &d, &e), 0);
    assert_true(d.valid);
    j = body_json(&d);
    item = json_array_get(json_object_get(j, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(item, "quantity")), 2);
    assert_int_equal(json_integer_value(json_object_get(item, "net_weight_g")), 800);
    assert_string_equal(json_string_value(json_object_get(item, "origin_country")), "VN");
    assert_string_equal(jpath_str(j, "category", NULL), "gift");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(j, "recipient"),
                                                          "passport"), "number")), "123456");
    assert_string_equal(jpath_str(j, "recipient", "inn"), "500100732259");
    json_decref(j);
    wcs_declaration_free(&d);

    /* Not bound for Russia: not declared. */
    snprintf(a.country, sizeof(a.country), "KZ");
    assert_false(wcs_preadvice_declared(&a));
}

static void test_build_invalid_names_fields(void **state)
{
    struct wcs_preadvice a;
    struct wcs_declare_ctx cx;
    struct wcs_declaration d;
    struct err e = {0};

    (void)state;
    wcs_declare_ctx_init(&cx);
    full_row(&a, s10_a);
    a.sender_name[0] = '\0';
    snprintf(a.inn, sizeof(a.inn), "500100732258");
    snprintf(a.item_description, sizeof(a.item_description), "Подарок");
    snprintf(a.recipient_name, sizeof(a.recipient_name), "John Smith");
    assert_int_equal(wcs_declaration_build(&a, &cx, &d, &e), 0);
    assert_false(d.valid);
    assert_non_null(d.errors);
    assert_non_null(strstr(d.errors, "\"field\":\"sender.name\",\"code\":\"required\""));
    assert_non_null(strstr(d.errors, "\"field\":\"recipient.inn\",\"code\":\"checksum\""));
    assert_non_null(strstr(d.errors, "\"field\":\"items[0].description\",\"code\":\"vague\""));
    /* A Latin recipient name is a warning, kept apart from the errors. */
    assert_null(strstr(d.errors, "recipient.name"));
    assert_non_null(d.warnings);
    assert_non_null(strstr(d.warnings, "\"field\":\"recipient.name\",\"code\":\"language\""));
    wcs_declaration_free(&d);
}

static void test_build_duty_estimate(void **state)
{
    char rules_path[512], rates_path[512];
    struct cust_duty_rules rules = {0};
    struct cust_rates rates = {0};
    struct wcs_preadvice a;
    struct wcs_declare_ctx cx;
    struct wcs_declaration d;
    struct err e = {0};

    (void)state;
    testdb_source_path("data/duty-rules.csv", rules_path, sizeof(rules_path));
    testdb_source_path("data/exchange-rates.csv", rates_path, sizeof(rates_path));
    assert_int_equal(cust_duty_rules_load(rules_path, &rules, NULL, &e), 0);
    assert_int_equal(cust_rates_load(rates_path, &rates, NULL, &e), 0);
    wcs_declare_ctx_init(&cx);
    snprintf(cx.today, sizeof(cx.today), "2025-06-01"); /* 200 EUR, 15% of the excess */
    cx.rules = &rules;
    cx.rates = &rates;
    full_row(&a, s10_a);
    assert_int_equal(wcs_declaration_build(&a, &cx, &d, &e), 0);
    assert_true(d.duty_known);
    assert_int_equal(d.duty_cents, 0); /* 45 CNY: far under the limit */
    wcs_declaration_free(&d);

    a.declared_value = 500000; /* 5,000 CNY: well over 200 EUR */
    assert_int_equal(wcs_declaration_build(&a, &cx, &d, &e), 0);
    assert_true(d.valid);
    assert_true(d.duty_known);
    assert_true(d.duty_cents > 0);
    assert_true(strlen(d.duty_note) > 0);
    wcs_declaration_free(&d);
    cust_duty_rules_free(&rules);
    cust_rates_free(&rates);
}

/* --- stored with the import ---------------------------------------------- */

static PGconn *fresh_db(const char *name, char *ci, size_t len)
{
    struct err e = {0};
    PGconn *c = NULL;
    int applied = -1;

    testdb_create(name, ci, len);
    if (wcs_db_connect(ci, &c, &e) != 0)
        fail_msg("connect: %s", e.msg);
    if (wcs_db_migrate(c, &applied, &e) != 0)
        fail_msg("migrate: %s", e.msg);
    return c;
}

static void upsert(PGconn *c, const struct wcs_preadvice *rows, size_t n,
                   struct wcs_upsert_result *res, struct diag *d)
{
    struct err e = {0};

    if (wcs_db_preadvice_upsert(c, rows, NULL, n, "pa.csv", NULL, res, d, &e) != 0)
        fail_msg("upsert: %s", e.msg);
}

static void test_import_declares_and_blocks(void **state)
{
    char ci[512];
    PGconn *c = fresh_db("wcs_declare_import", ci, sizeof(ci));
    struct wcs_preadvice rows[3];
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;

    (void)state;
    full_row(&rows[0], s10_a);
    full_row(&rows[1], s10_b);
    rows[1].hs_code[0] = '\0'; /* invalid: hs_code required */
    full_row(&rows[2], "RR000000011CN");
    snprintf(rows[2].country, sizeof(rows[2].country), "KZ"); /* not declared */
    rows[2].postal_code[0] = '\0';
    upsert(c, rows, 3, &res, &d);
    assert_int_equal(res.inserted, 3);
    assert_int_equal(res.decl_queued, 1);
    assert_int_equal(res.decl_blocked, 1);
    assert_int_equal(res.decl_kept, 0);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations"), 2);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE payload_ref = '%s'"
                                     " AND kind = 'declaration'", s10_a), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = '%s' AND"
                                     " customs_status = 'pending'", s10_a), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = '%s' AND"
                                     " customs_status = 'blocked'", s10_b), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = 'RR000000011CN'"
                                     " AND customs_status = 'none'"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE parcel_id = '%s'"
                                     " AND status = 'invalid' AND errors @> '[{\"field\":"
                                     " \"items[0].hs_code\", \"code\": \"required\"}]'", s10_b), 1);

    /* The same file again: nothing changes, nothing is queued twice. */
    upsert(c, rows, 3, &res, &d);
    assert_int_equal(res.unchanged, 3);
    assert_int_equal(res.decl_queued + res.decl_blocked + res.decl_kept, 0);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), 1);

    /* Corrected pre-advice unblocks the parcel and queues its declaration. */
    snprintf(rows[1].hs_code, sizeof(rows[1].hs_code), "640411");
    upsert(c, &rows[1], 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.decl_queued, 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels WHERE code = '%s' AND"
                                     " customs_status = 'pending'", s10_b), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE parcel_id = '%s'"
                                     " AND status = 'pending' AND errors IS NULL", s10_b), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"),
                     2);

    /* Only customs data changed (not stored in parcels): still a change. */
    snprintf(rows[0].inn, sizeof(rows[0].inn), "500100732259");
    upsert(c, &rows[0], 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.decl_queued, 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE parcel_id = '%s'"
                                     " AND body->'recipient'->>'inn' = '500100732259'", s10_a), 1);
    /* Replaced while unsent: still one open outbox row for it. */
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE payload_ref = '%s'"
                                     " AND done_at IS NULL", s10_a), 1);
    assert_int_equal(diag_count(&d), 0);
    diag_free(&d);
    PQfinish(c);
}

static void test_sent_declaration_kept(void **state)
{
    char ci[512], sql[256];
    PGconn *c = fresh_db("wcs_declare_sent", ci, sizeof(ci));
    struct wcs_preadvice row;
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    PGresult *r;

    (void)state;
    full_row(&row, s10_a);
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.decl_queued, 1);

    /* A worker has claimed it (batch key set): in flight, not replaced. */
    r = PQexec(c, "UPDATE customs_outbox SET batch_key = 'b1', attempts = 1");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    row.weight_g = 1000;
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.decl_kept, 1);
    assert_int_equal(res.decl_queued, 0);
    assert_int_equal(diag_count(&d), 1);
    assert_non_null(strstr(d.msgs[0], "pa.csv:1: declaration: "));
    assert_non_null(strstr(d.msgs[0], "was already sent to the broker"));
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE"
                                     " (body->>'gross_weight_g')::int = 950"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), 1);
    /* The parcel data itself is updated. */
    assert_int_equal(tu_db_count(ci, "SELECT weight_g FROM parcels"), 1000);
    diag_free(&d);

    /* Accepted by the broker: kept, and the same file again is no change. */
    snprintf(sql, sizeof(sql),
             "UPDATE declarations SET status = 'accepted', broker_ref = 'BR1';"
             " UPDATE customs_outbox SET done_at = now()");
    r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    row.weight_g = 1100;
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.decl_kept, 1);
    assert_non_null(strstr(d.msgs[0], "was already accepted by the broker"));
    diag_free(&d);
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.unchanged, 1);
    assert_int_equal(diag_count(&d), 0);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE status = 'accepted'"),
                     1);
    diag_free(&d);
    PQfinish(c);
}

static void test_lp_then_s10_declared_once(void **state)
{
    char ci[512];
    PGconn *c = fresh_db("wcs_declare_merge", ci, sizeof(ci));
    struct wcs_preadvice row;
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;

    (void)state;
    full_row(&row, LP);
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.decl_queued, 1);
    /* The S10 arrives with the LP as other id: one parcel, one declaration,
     * now under the S10; the unsent LP one is withdrawn with its outbox row. */
    full_row(&row, s10_b);
    snprintf(row.other_ids[0], sizeof(row.other_ids[0]), LP);
    row.n_other_ids = 1;
    upsert(c, &row, 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.decl_queued, 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM parcels"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM declarations WHERE parcel_id = '%s'",
                                 s10_b), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox"), 1);
    assert_int_equal(tu_db_count(ci, "SELECT count(*) FROM customs_outbox WHERE payload_ref = '%s'",
                                 s10_b), 1);
    assert_int_equal(diag_count(&d), 0);
    diag_free(&d);
    PQfinish(c);
}

/* --- the operator's view -------------------------------------------------- */

static void test_wcsctl_customs_problems(void **state)
{
    char ci[512], csv[256], wcsctl[512], text[2048];
    PGconn *c = fresh_db("wcs_declare_ctl", ci, sizeof(ci));
    struct proc_result r;
    json_t *j;

    (void)state;
    PQfinish(c);
    testdb_binary_path("bin/wcsctl", wcsctl, sizeof(wcsctl));
    snprintf(csv, sizeof(csv), "/tmp/wcs-test-declare-%d.csv", (int)getpid());
    snprintf(text, sizeof(text),
             "code,service,country,postal_code,recipient_name,city,address,region,phone,"
             "weight_g,declared_value,currency,item_description,hs_code,sender_name,"
             "sender_address,sender_city,sender_postal_code,sender_country,sender_phone,inn\n"
             "%s,STANDARD,RU,630099,Иванов Иван Иванович,Новосибирск,\"ул. Ленина, 1\","
             "Новосибирская обл.,+79131234567,950,4500,CNY,Кроссовки беговые,640411,Shop Co.,"
             "No. 1 Road,Harbin,150010,CN,+8645186601234,500100732258\n"
             "%s,STANDARD,RU,630099,Иванов Иван Иванович,Новосибирск,\"ул. Ленина, 1\","
             "Новосибирская обл.,+79131234567,950,4500,CNY,Кроссовки беговые,640411,Shop Co.,"
             "No. 1 Road,Harbin,150010,CN,+8645186601234,\n",
             s10_a, s10_b);
    tu_write_text(csv, text);
    tu_wcsctl(ci, 1, "import", csv, NULL); /* 1: one declaration invalid */
    remove(csv);
    {
        const char *argv[] = {wcsctl, "--db", ci, "customs", "problems", NULL};

        proc_run(argv, NULL, 60, &r);
    }
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "invalid"));
    assert_non_null(strstr(r.out, s10_a));
    assert_null(strstr(r.out, s10_b));
    assert_non_null(strstr(r.out, "recipient.inn: checksum:"));
    assert_non_null(strstr(r.out, "1 customs problem(s), 1 to act on"));
    proc_result_free(&r);
    {
        const char *argv[] = {wcsctl, "--db", ci, "customs", "problems", "--json", NULL};

        proc_run(argv, NULL, 60, &r);
    }
    j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "kind")),
                        "invalid");
    json_decref(j);
    proc_result_free(&r);
    {
        const char *argv[] = {wcsctl, "--db", ci, "customs", "problems", "--kind", "held", NULL};

        proc_run(argv, NULL, 60, &r);
    }
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "0 customs problem(s)"));
    proc_result_free(&r);
    {
        const char *argv[] = {wcsctl, "--db", ci, "customs", "show", s10_b, NULL};

        proc_run(argv, NULL, 60, &r);
    }
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "pending  (parcel customs status: pending)"));
    assert_non_null(strstr(r.out, "outbox: queued"));
    assert_non_null(strstr(r.out, "\"parcel_id\": \""));
    proc_result_free(&r);
    {
        const char *argv[] = {wcsctl, "--db", ci, "customs", "show", "RR000000011CN", NULL};

        proc_run(argv, NULL, 60, &r);
    }
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no parcel with this code has a declaration"));
    proc_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_valid_with_defaults),
        cmocka_unit_test(test_build_invalid_names_fields),
        cmocka_unit_test(test_build_duty_estimate),
        cmocka_unit_test(test_import_declares_and_blocks),
        cmocka_unit_test(test_sent_declaration_kept),
        cmocka_unit_test(test_lp_then_s10_declared_once),
        cmocka_unit_test(test_wcsctl_customs_problems),
    };

    make_s10(s10_a, 47312482);
    make_s10(s10_b, 47312483);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
