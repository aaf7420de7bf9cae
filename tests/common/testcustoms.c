/*
 * testcustoms.c - helpers of the customs worker's tests (testcustoms.h).
 */
#include "tests/common/testcustoms.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "customs/declaration.h"
#include "scanners/scanners.h"
#include "customs/validate.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/store/customs_store.h"
#include "wcs/store/store.h"

void tc_s10(int n, char out[32])
{
    char d[16];

    snprintf(d, sizeof(d), "%08d", 10000000 + n);
    snprintf(out, 32, "RR%s%dCN", d, scan_s10_check_digit(d));
}

PGconn *tc_db_fresh(const char *name, char *ci, size_t len)
{
    struct err e = {0};
    PGconn *c;

    testdb_create(name, ci, len);
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);
    return c;
}

void tc_declare_seed(PGconn *c, const char *id, const char *inn)
{
    char path[512], *seed, *body;
    struct err e = {0};
    struct cust_decl d;
    FILE *f;
    long n;

    testdb_source_path("tests/customs/fuzz/seed-valid.json", path, sizeof(path));
    f = fopen(path, "r");
    assert_non_null(f);
    seed = calloc(1, 8192);
    n = (long)fread(seed, 1, 8191, f);
    fclose(f);
    assert_true(n > 0);
    assert_int_equal(cust_decl_decode(seed, (size_t)n, &d, &e), 0);
    free(d.parcel_id);
    d.parcel_id = strdup(id);
    if (inn != NULL) {
        free(d.inn);
        d.inn = strdup(inn);
    } else {
        struct cust_problems p = CUST_PROBLEMS_INIT;

        assert_int_equal(cust_validate(&d, "2026-11-23", &p), 0);
        cust_problems_free(&p);
    }
    assert_int_equal(cust_decl_encode(&d, &body, &e), 0);
    if (wcs_customs_declare(c, id, body, &e) < 0)
        fail_msg("declare %s: %s", id, e.msg);
    free(body);
    cust_decl_free(&d);
    free(seed);
}

long long tc_count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long n;

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

char *tc_text(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v;

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

void tc_queue_manifest(PGconn *c, const char *mid, const char *body)
{
    const char *p[2] = {mid, body};
    PGresult *r = PQexecParams(
        c,
        "WITH d AS (INSERT INTO dispatches (manifest_id, route, transport, border_crossing,"
        " status, closed_at, manifest_json) VALUES ($1, 'RU-ZAB-RAIL', 'rail',"
        " 'Manzhouli-Zabaykalsk', 'closed', now(), $2) RETURNING manifest_id)"
        " INSERT INTO customs_outbox (kind, payload_ref) SELECT 'manifest', manifest_id FROM d",
        2, NULL, p, NULL, NULL, 0);

    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

json_t *tc_admin_json(const struct tb_sim *s, const char *path)
{
    CURL *h = curl_easy_init();
    struct tu_body b = {NULL, 0};
    char url[128];
    json_t *j;

    snprintf(url, sizeof(url), "%s%s", s->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    j = json_loads(b.data != NULL ? b.data : "", 0, NULL);
    free(b.data);
    assert_non_null(j);
    return j;
}

void tc_assert_accepted_once(const struct tb_sim *s, PGconn *c, int n, int mine)
{
    json_t *j = tc_admin_json(s, "/admin/accepted"), *acc = json_object_get(j, "accepted");
    char id[32], sql[256];
    size_t i;
    int k;

    assert_int_equal(json_integer_value(json_object_get(j, "count")), n);
    assert_int_equal(json_array_size(json_object_get(j, "duplicates")), 0);
    for (k = 0; k < mine; k++) {
        int seen = 0;

        tc_s10(k, id);
        for (i = 0; i < json_array_size(acc); i++) {
            json_t *a = json_array_get(acc, i);

            if (strcmp(json_string_value(json_object_get(a, "parcel_id")), id) != 0)
                continue;
            seen++;
            /* The stored reference is the one the broker gave this parcel. */
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM declarations WHERE parcel_id = '%s'"
                     " AND status = 'accepted' AND broker_ref = '%s'",
                     id, json_string_value(json_object_get(a, "broker_ref")));
            assert_int_equal(tc_count(c, sql), 1);
        }
        assert_int_equal(seen, 1);
    }
    json_decref(j);
}
