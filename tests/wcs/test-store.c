/*
 * test-store.c - the PostgreSQL store against a real server (ctest fixture
 * "pg"): migrations (twice, and two connections at once), the pre-advice
 * upsert (counts, LP-then-S10 merge, conflicts, duplicates in one batch, a
 * failing batch stores nothing), NOTIFY, parcels_since, customs status, and
 * sort-plan store / load / activate.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/select.h>

#include <cmocka.h>

#include "tests/common/testdb.h"
#include "wcs/store/migrations.h"
#include "wcs/store/store.h"

/* Valid codes (check digits computed per UPU S10 and Russian Post rules). */
#define LP1 "LP00000000000001"
#define LP2 "LP00000000000002"
#define LP3 "LP00000000000003"
#define S10A "RR123456710CN"
#define S10B "RR123456723CN"
#define RU14 "63000001000022"

static PGconn *fresh_db(const char *name)
{
    char ci[512];
    struct err e = {0};
    PGconn *c = NULL;
    int applied = -1;

    testdb_create(name, ci, sizeof(ci));
    if (wcs_db_connect(ci, &c, &e) != 0)
        fail_msg("connect: %s", e.msg);
    if (wcs_db_migrate(c, &applied, &e) != 0)
        fail_msg("migrate: %s", e.msg);
    assert_int_equal(applied, wcs_migrations_count);
    return c;
}

static long long scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void row(struct wcs_preadvice *a, const char *code, const char *other, int weight)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->code, sizeof(a->code), "%s", code);
    if (other != NULL) {
        snprintf(a->other_ids[0], sizeof(a->other_ids[0]), "%s", other);
        a->n_other_ids = 1;
    }
    snprintf(a->service, sizeof(a->service), "ECONOMY");
    snprintf(a->country, sizeof(a->country), "RU");
    snprintf(a->postal_code, sizeof(a->postal_code), "630001");
    snprintf(a->recipient_name, sizeof(a->recipient_name), "Ivan\tPetrov \\ \"q\"");
    snprintf(a->address, sizeof(a->address), "ul. Lenina 1\nkv. 5");
    a->weight_g = weight;
    a->length_mm = 300;
    a->width_mm = -1;
    a->height_mm = -1;
    a->declared_value = -1;
}

static void upsert_ok(PGconn *c, const struct wcs_preadvice *rows, const int *lines, size_t n,
                      struct wcs_upsert_result *res, struct diag *d)
{
    struct err e = {0};

    if (wcs_db_preadvice_upsert(c, rows, lines, n, "src.csv", NULL, res, d, &e) != 0)
        fail_msg("upsert: %s", e.msg);
}

/* --- migrations -------------------------------------------------------- */

static void test_migrate_twice(void **state)
{
    PGconn *c = fresh_db("wcs_store_migrate");
    struct err e = {0};
    int applied = -1, v = -1;

    (void)state;
    assert_int_equal(wcs_db_migrate(c, &applied, &e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(wcs_db_schema_version(c, &v, &e), 0);
    assert_int_equal(v, wcs_migrations[wcs_migrations_count - 1].version);
    assert_int_equal(scalar(c, "SELECT count(*) FROM schema_migrations"), wcs_migrations_count);
    PQfinish(c);
}

struct mig_arg {
    const char *ci;
    int rc, applied;
    char msg[ERR_MSG_MAX];
};

static void *migrate_thread(void *p)
{
    struct mig_arg *a = p;
    struct err e = {0};
    PGconn *c = NULL;

    a->rc = wcs_db_connect(a->ci, &c, &e);
    if (a->rc == 0)
        a->rc = wcs_db_migrate(c, &a->applied, &e);
    snprintf(a->msg, sizeof(a->msg), "%s", e.msg);
    PQfinish(c);
    return NULL;
}

static void test_migrate_concurrent(void **state)
{
    char ci[512];
    struct mig_arg a[2];
    pthread_t t[2];
    struct err e = {0};
    PGconn *c;
    int i, v = 0;

    (void)state;
    testdb_create("wcs_store_migrate2", ci, sizeof(ci));
    for (i = 0; i < 2; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].ci = ci;
        assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &a[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        if (a[i].rc != 0)
            fail_msg("migrator %d: %s", i, a[i].msg);
    }
    /* Each migration applied exactly once, by one of the two. */
    assert_int_equal(a[0].applied + a[1].applied, wcs_migrations_count);
    assert_true(a[0].applied == 0 || a[1].applied == 0);
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM schema_migrations"), wcs_migrations_count);
    assert_int_equal(wcs_db_schema_version(c, &v, &e), 0);
    assert_int_equal(v, wcs_migrations[wcs_migrations_count - 1].version);
    PQfinish(c);
}

/* --- upsert ------------------------------------------------------------ */

static void test_upsert_counts(void **state)
{
    PGconn *c = fresh_db("wcs_store_upsert");
    struct wcs_preadvice rows[3], got;
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    int64_t id1, id1b;
    long long rev_before;

    (void)state;
    row(&rows[0], LP1, NULL, 500);
    row(&rows[1], S10A, LP2, 700);
    upsert_ok(c, rows, NULL, 2, &res, &d);
    assert_int_equal(res.inserted, 2);
    assert_int_equal(res.updated + res.unchanged + res.rejected, 0);
    assert_int_equal(diag_count(&d), 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids"), 3);
    /* Bound for RU without sender, region or item: declared invalid, blocked. */
    assert_int_equal(res.decl_blocked, 2);
    assert_int_equal(res.decl_queued, 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM declarations WHERE status = 'invalid'"), 2);
    assert_int_equal(scalar(c, "SELECT count(*) FROM customs_outbox"), 0);

    /* Every field comes back as stored, escapes included. */
    assert_int_equal(wcs_db_parcel_get(c, LP2, &got, &id1, &e), 0);
    assert_string_equal(got.code, S10A);
    assert_int_equal(got.n_other_ids, 1);
    assert_string_equal(got.other_ids[0], LP2);
    assert_string_equal(got.recipient_name, rows[1].recipient_name);
    assert_string_equal(got.address, rows[1].address);
    assert_string_equal(got.phone, "");
    assert_int_equal(got.weight_g, 700);
    assert_int_equal(got.length_mm, 300);
    assert_int_equal(got.width_mm, -1);
    assert_int_equal(got.declared_value, -1);
    assert_int_equal(got.customs, CUST_STATUS_BLOCKED);

    /* Same data again: nothing moves. */
    rev_before = scalar(c, "SELECT max(rev) FROM parcels");
    upsert_ok(c, rows, NULL, 2, &res, &d);
    assert_int_equal(res.unchanged, 2);
    assert_int_equal(res.inserted + res.updated + res.rejected, 0);
    assert_int_equal(scalar(c, "SELECT max(rev) FROM parcels"), rev_before);

    /* One changed, one same, one new. */
    rows[1].weight_g = 750;
    row(&rows[2], LP3, NULL, 100);
    upsert_ok(c, rows, NULL, 3, &res, &d);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.unchanged, 1);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(wcs_db_parcel_get(c, S10A, &got, &id1b, &e), 0);
    assert_int_equal(got.weight_g, 750);
    assert_int_equal(id1b, id1);
    assert_true(scalar(c, "SELECT rev FROM parcels WHERE code = '" S10A "'") > rev_before);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcels WHERE rev > 0 AND code = '" LP1
                               "' AND updated_at = created_at"), 1);
    assert_int_equal(wcs_db_parcel_get(c, "LP99999999999999", &got, NULL, &e), ERR_NOTFOUND);
    diag_free(&d);
    PQfinish(c);
}

static void test_upsert_lp_then_s10(void **state)
{
    PGconn *c = fresh_db("wcs_store_merge");
    struct wcs_preadvice a, got;
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    int64_t id_lp, id_s10;

    (void)state;
    row(&a, LP1, NULL, 500);
    upsert_ok(c, &a, NULL, 1, &res, &d);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(wcs_db_parcel_get(c, LP1, &got, &id_lp, &e), 0);

    /* The S10 pre-advice names the LP number as other id: same parcel. */
    row(&a, S10A, LP1, 520);
    upsert_ok(c, &a, NULL, 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcels"), 1);
    assert_int_equal(wcs_db_parcel_get(c, S10A, &got, &id_s10, &e), 0);
    assert_int_equal(id_s10, id_lp);
    assert_string_equal(got.code, S10A);
    assert_int_equal(got.n_other_ids, 1);
    assert_string_equal(got.other_ids[0], LP1);
    assert_int_equal(got.weight_g, 520);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids WHERE kind = 's10'"), 1);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids WHERE kind = 'cainiao'"), 1);

    /* Same S10 pre-advice again: unchanged. */
    upsert_ok(c, &a, NULL, 1, &res, &d);
    assert_int_equal(res.unchanged, 1);
    assert_int_equal(diag_count(&d), 0);
    diag_free(&d);
    PQfinish(c);
}

static void test_upsert_rejections(void **state)
{
    PGconn *c = fresh_db("wcs_store_conflict");
    struct wcs_preadvice rows[4];
    int lines[4] = {2, 3, 4, 5};
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;

    (void)state;
    row(&rows[0], S10A, LP1, 500);
    row(&rows[1], LP2, NULL, 600);
    upsert_ok(c, rows, NULL, 2, &res, &d);
    assert_int_equal(res.inserted, 2);

    /* Codes of two parcels in one row; a code repeated in a later row; a
     * row for a parcel that a later row updates too. */
    row(&rows[0], S10A, LP2, 500);   /* line 2: S10A is parcel 1, LP2 parcel 2 */
    row(&rows[1], LP3, NULL, 100);   /* line 3: superseded by line 5 */
    row(&rows[2], LP1, NULL, 510);   /* line 4: parcel 1, primary code back to LP1 */
    row(&rows[3], S10B, LP3, 200);   /* line 5: new parcel S10B + LP3 */
    upsert_ok(c, rows, lines, 4, &res, &d);
    assert_int_equal(res.rejected, 2);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.unchanged, 0);
    assert_int_equal(diag_count(&d), 2);
    assert_string_equal(d.msgs[0],
                        "src.csv:3: code: " LP3 " is pre-advised again at line 5; the later row wins");
    assert_string_equal(d.msgs[1], "src.csv:2: other_ids: " LP2 " belongs to parcel " LP2);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcels"), 3);
    /* Line 4 updated parcel 1 and made LP1 its primary code again. */
    assert_int_equal(scalar(c, "SELECT weight_g FROM parcels WHERE code = '" LP1 "'"), 510);
    diag_free(&d);

    /* Two rows reaching the same existing parcel through different codes. */
    row(&rows[0], LP1, NULL, 520);
    row(&rows[1], S10A, NULL, 530);
    upsert_ok(c, rows, lines, 2, &res, &d);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(diag_count(&d), 1);
    assert_string_equal(d.msgs[0], "src.csv:2: code: " LP1 " is parcel " LP1
                                   ", pre-advised again at line 3; the later row wins");
    assert_int_equal(scalar(c, "SELECT weight_g FROM parcels WHERE code = '" S10A "'"), 530);
    diag_free(&d);
    PQfinish(c);
}

/* The all-new fast path (no staged code known yet) still applies "the
 * later row wins" inside the batch; codes added to a known parcel count
 * against WCS_MAX_IDS with the codes it already has. */
static void test_upsert_new_batch_and_code_limit(void **state)
{
    PGconn *c = fresh_db("wcs_store_fastpath");
    struct wcs_preadvice rows[2], got;
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    struct err e = {0};

    (void)state;
    row(&rows[0], LP1, NULL, 500);
    row(&rows[1], S10A, LP1, 510); /* repeats LP1: the first row loses */
    upsert_ok(c, rows, NULL, 2, &res, &d);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(res.updated + res.unchanged, 0);
    assert_int_equal(diag_count(&d), 1);
    assert_string_equal(d.msgs[0],
                        "src.csv:1: code: " LP1 " is pre-advised again at line 2; the later row wins");
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcels"), 1);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids"), 2);
    diag_free(&d);

    /* A third code: updated, the new code added. */
    row(&rows[0], S10A, LP1, 510);
    snprintf(rows[0].other_ids[1], sizeof(rows[0].other_ids[1]), "%s", RU14);
    rows[0].n_other_ids = 2;
    upsert_ok(c, rows, NULL, 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids"), 3);

    /* Two more new codes would make five: refused, nothing stored. */
    row(&rows[0], S10B, LP1, 520);
    snprintf(rows[0].other_ids[1], sizeof(rows[0].other_ids[1]), "%s", LP2);
    rows[0].n_other_ids = 2;
    upsert_ok(c, rows, NULL, 1, &res, &d);
    assert_int_equal(res.rejected, 1);
    assert_int_equal(res.inserted + res.updated + res.unchanged, 0);
    assert_int_equal(diag_count(&d), 1);
    assert_string_equal(d.msgs[0],
                        "src.csv:1: other_ids: parcel " S10A " would carry 5 codes, at most 4");
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids"), 3);
    diag_free(&d);

    /* One more new code makes four: accepted. */
    row(&rows[0], S10B, LP1, 520);
    upsert_ok(c, rows, NULL, 1, &res, &d);
    assert_int_equal(res.updated, 1);
    assert_int_equal(diag_count(&d), 0);
    assert_int_equal(wcs_db_parcel_get(c, RU14, &got, NULL, &e), 0);
    assert_string_equal(got.code, S10B);
    assert_int_equal(got.n_other_ids, 3);
    assert_int_equal(got.weight_g, 520);
    diag_free(&d);
    PQfinish(c);
}

static void test_upsert_db_error_stores_nothing(void **state)
{
    PGconn *c = fresh_db("wcs_store_dberror");
    struct wcs_preadvice rows[2], got;
    struct wcs_upsert_result res = {7, 7, 7, 7, 7, 7, 7};
    struct diag d = DIAG_INIT;
    struct err e = {0};
    long long seq_before;

    (void)state;
    row(&rows[0], LP1, NULL, 500);
    row(&rows[1], LP2, NULL, -5); /* parcels.weight_g CHECK (weight_g >= 0) */
    seq_before = scalar(c, "SELECT count(*) FROM parcel_ids");
    assert_int_equal(wcs_db_preadvice_upsert(c, rows, NULL, 2, "src.csv", NULL, &res, &d, &e), ERR_DB);
    assert_non_null(strstr(e.msg, "check constraint"));
    assert_int_equal(res.inserted + res.updated + res.unchanged + res.rejected, 0);
    assert_int_equal(wcs_db_parcel_get(c, LP1, &got, NULL, &e), ERR_NOTFOUND);
    assert_int_equal(scalar(c, "SELECT count(*) FROM parcel_ids"), seq_before);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    /* The connection is usable afterwards. */
    upsert_ok(c, rows, NULL, 1, &res, &d);
    assert_int_equal(res.inserted, 1);
    diag_free(&d);
    PQfinish(c);
}

/* --- NOTIFY ------------------------------------------------------------ */

/* Waits (bounded) for one notification on l; returns its payload or fails. */
static void wait_notify(PGconn *l, const char *channel, char *payload, size_t len)
{
    int i;

    for (i = 0; i < 100; i++) {
        PGnotify *n;
        fd_set fds;
        struct timeval tv = {0, 100000};
        int fd = PQsocket(l);

        assert_int_equal(PQconsumeInput(l), 1);
        n = PQnotifies(l);
        if (n != NULL) {
            assert_string_equal(n->relname, channel);
            snprintf(payload, len, "%s", n->extra);
            PQfreemem(n);
            return;
        }
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        select(fd + 1, &fds, NULL, NULL, &tv);
    }
    fail_msg("no notification on %s within 10 s", channel);
}

static void test_notify(void **state)
{
    PGconn *c = fresh_db("wcs_store_notify");
    PGconn *l = NULL;
    char ci[512], payload[64], want[64];
    struct wcs_preadvice rows[2];
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    PGresult *r;

    (void)state;
    snprintf(ci, sizeof(ci), "%s dbname=wcs_store_notify", getenv("WCS_TEST_PG"));
    assert_int_equal(wcs_db_connect(ci, &l, &e), 0);
    r = PQexec(l, "LISTEN " WCS_CHANNEL_PARCELS);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    row(&rows[0], LP1, NULL, 500);
    row(&rows[1], LP2, NULL, 600);
    upsert_ok(c, rows, NULL, 2, &res, &d);
    wait_notify(l, WCS_CHANNEL_PARCELS, payload, sizeof(payload));
    snprintf(want, sizeof(want), "%lld", scalar(c, "SELECT max(rev) FROM parcels"));
    assert_string_equal(payload, want);

    /* An unchanged batch notifies nothing: the next notification is the
     * customs update's. */
    upsert_ok(c, rows, NULL, 2, &res, &d);
    assert_int_equal(res.unchanged, 2);
    assert_int_equal(wcs_db_parcel_set_customs(c, LP1, CUST_STATUS_HELD, &e), 0);
    wait_notify(l, WCS_CHANNEL_PARCELS, payload, sizeof(payload));
    snprintf(want, sizeof(want), "%lld", scalar(c, "SELECT rev FROM parcels WHERE code = '" LP1 "'"));
    assert_string_equal(payload, want);

    diag_free(&d);
    PQfinish(l);
    PQfinish(c);
}

/* --- parcels_since and customs ----------------------------------------- */

struct seen {
    int n;
    int64_t revs_ok;
    char codes[16][WCS_CODE_MAX + 1];
    size_t ncodes[16];
    char first_other[16][WCS_CODE_MAX + 1];
    uint8_t customs[16];
    uint32_t postal[16];
};

static int seen_cb(void *arg, const struct wcs_parcel *p, const char *const *codes, size_t ncodes)
{
    struct seen *s = arg;

    assert_true(s->n < 16);
    assert_true(p->id > 0);
    snprintf(s->codes[s->n], sizeof(s->codes[0]), "%s", codes[0]);
    snprintf(s->first_other[s->n], sizeof(s->first_other[0]), "%s", ncodes > 1 ? codes[1] : "");
    s->ncodes[s->n] = ncodes;
    s->customs[s->n] = p->customs;
    s->postal[s->n] = p->postal;
    s->n++;
    return 0;
}

static int stop_cb(void *arg, const struct wcs_parcel *p, const char *const *codes, size_t ncodes)
{
    (void)p;
    (void)codes;
    (void)ncodes;
    (*(int *)arg)++;
    return 42;
}

static void test_parcels_since_and_customs(void **state)
{
    PGconn *c = fresh_db("wcs_store_since");
    struct wcs_preadvice rows[3];
    struct wcs_upsert_result res;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct seen s;
    int64_t max1, max2, max3;
    int calls = 0;

    (void)state;
    row(&rows[0], LP1, NULL, 500);
    row(&rows[1], S10A, LP2, 600);
    row(&rows[2], RU14, NULL, 700);
    upsert_ok(c, rows, NULL, 3, &res, &d);

    memset(&s, 0, sizeof(s));
    assert_int_equal(wcs_db_parcels_since(c, 0, seen_cb, &s, &max1, &e), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.codes[0], LP1); /* rev order = insertion order here */
    assert_string_equal(s.codes[1], S10A);
    assert_int_equal(s.ncodes[1], 2);
    assert_string_equal(s.first_other[1], LP2);
    assert_string_equal(s.codes[2], RU14);
    assert_int_equal(s.postal[0], 630001);
    assert_int_equal(max1, scalar(c, "SELECT max(rev) FROM parcels"));

    /* Nothing new since max1. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(wcs_db_parcels_since(c, max1, seen_cb, &s, &max2, &e), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(max2, max1);

    /* A customs decision moves the parcel's rev: only it comes back. */
    assert_int_equal(wcs_db_parcel_set_customs(c, LP2, CUST_STATUS_HELD, &e), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(wcs_db_parcels_since(c, max1, seen_cb, &s, &max2, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.codes[0], S10A);
    assert_int_equal(s.customs[0], CUST_STATUS_HELD);
    assert_true(max2 > max1);

    /* The same status again changes nothing. */
    assert_int_equal(wcs_db_parcel_set_customs(c, S10A, CUST_STATUS_HELD, &e), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(wcs_db_parcels_since(c, max2, seen_cb, &s, &max3, &e), 0);
    assert_int_equal(s.n, 0);

    /* An update of the first parcel puts it last in rev order. */
    rows[0].weight_g = 501;
    upsert_ok(c, rows, NULL, 1, &res, &d);
    memset(&s, 0, sizeof(s));
    assert_int_equal(wcs_db_parcels_since(c, 0, seen_cb, &s, &max3, &e), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.codes[0], RU14);
    assert_string_equal(s.codes[1], S10A);
    assert_string_equal(s.codes[2], LP1);

    assert_int_equal(wcs_db_parcel_set_customs(c, "LP99999999999999", CUST_STATUS_HELD, &e),
                     ERR_NOTFOUND);
    /* The callback's value stops the scan and comes back. */
    assert_int_equal(wcs_db_parcels_since(c, 0, stop_cb, &calls, &max3, &e), 42);
    assert_int_equal(calls, 1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    diag_free(&d);
    PQfinish(c);
}

/* --- sort plans -------------------------------------------------------- */

static struct wcs_plan *build_plan(const char *name, int variant)
{
    struct wcs_plan *p = wcs_plan_new(name);
    struct diag d = DIAG_INIT;
    struct err e = {0};
    int k;

    assert_non_null(p);
#define OK(x)                                                                                      \
    do {                                                                                           \
        if ((x) != 0)                                                                              \
            fail_msg("%s: %s", #x, e.msg);                                                         \
    } while (0)
    OK(wcs_plan_add_chute(p, 2, "CH01", "Moscow 1", &e));
    OK(wcs_plan_add_chute(p, 3, "CH02", "Moscow 2", &e));
    OK(wcs_plan_add_chute(p, 4, "CH03", "Siberia", &e));
    OK(wcs_plan_add_chute(p, 5, "REJ", "reject", &e));
    OK(wcs_plan_add_route(p, 6, "RU-MOW-AIR", "air", "", "CH01;CH02", "RU-SIB-RAIL",
                          "Moscow by air", &e));
    OK(wcs_plan_add_route(p, 7, "RU-SIB-RAIL", "rail", "Manzhouli-Zabaykalsk", "CH03", "",
                          "Siberia by rail", &e));
    OK(wcs_plan_add_rule(p, 8, "RU-MOW-AIR", 101, 199, "EMS STANDARD", 0, 2000, 10,
                         "Moscow light", &e));
    OK(wcs_plan_add_rule(p, 9, "RU-SIB-RAIL", 101, 199, "", 0, 0, 0, "Moscow rest", &e));
    OK(wcs_plan_add_rule(p, 10, "RU-SIB-RAIL", 600, 699 - variant, "", 100, 0, 5, "", &e));
    for (k = 0; k < WCS_SPECIAL_COUNT; k++)
        OK(wcs_plan_add_special(p, 11 + k, wcs_plan_special_name((enum wcs_special)k),
                                k == WCS_SPECIAL_CUSTHOLD ? "CH03 REJ" : "REJ", &e));
    OK(wcs_plan_set_param(p, 30, "default_exit", "REJ", &e));
    OK(wcs_plan_set_param(p, 31, "recirc_limit", "3", &e));
    OK(wcs_plan_set_param(p, 32, "max_weight_g", "31500", &e));
#undef OK
    if (wcs_plan_finish(p, &d) != 0)
        fail_msg("finish: %s", d.n > 0 ? d.msgs[0] : "?");
    diag_free(&d);
    return p;
}

static void assert_plans_equal(const struct wcs_plan *a, const struct wcs_plan *b)
{
    size_t i, na, nb;
    int k;

    assert_string_equal(wcs_plan_source(a), wcs_plan_source(b));
    assert_int_equal(wcs_plan_nchutes(a), wcs_plan_nchutes(b));
    for (i = 0; i < wcs_plan_nchutes(a); i++) {
        assert_string_equal(wcs_plan_chute(a, i)->id, wcs_plan_chute(b, i)->id);
        assert_string_equal(wcs_plan_chute(a, i)->description, wcs_plan_chute(b, i)->description);
    }
    assert_int_equal(wcs_plan_nroutes(a), wcs_plan_nroutes(b));
    for (i = 0; i < wcs_plan_nroutes(a); i++) {
        const struct wcs_plan_route *x = wcs_plan_route(a, i), *y = wcs_plan_route(b, i);

        assert_string_equal(x->id, y->id);
        assert_string_equal(x->mode, y->mode);
        assert_string_equal(x->crossing, y->crossing);
        assert_string_equal(x->description, y->description);
        assert_int_equal(x->nchutes, y->nchutes);
        assert_memory_equal(x->chutes, y->chutes, (size_t)x->nchutes * sizeof(x->chutes[0]));
        assert_int_equal(x->fallback, y->fallback);
    }
    assert_int_equal(wcs_plan_nrules(a), wcs_plan_nrules(b));
    for (i = 0; i < wcs_plan_nrules(a); i++) {
        const struct wcs_plan_rule *x = wcs_plan_rule(a, i), *y = wcs_plan_rule(b, i);
        int j;

        assert_int_equal(x->line, y->line);
        assert_int_equal(x->route, y->route);
        assert_int_equal(x->prefix_from, y->prefix_from);
        assert_int_equal(x->prefix_to, y->prefix_to);
        assert_int_equal(x->nservices, y->nservices);
        for (j = 0; j < x->nservices; j++)
            assert_string_equal(x->services[j], y->services[j]);
        assert_int_equal(x->weight_min_g, y->weight_min_g);
        assert_int_equal(x->weight_max_g, y->weight_max_g);
        assert_int_equal(x->priority, y->priority);
        assert_string_equal(x->description, y->description);
    }
    for (k = 0; k < WCS_SPECIAL_COUNT; k++) {
        int nx = 0, ny = 0;
        const uint16_t *x = wcs_plan_special(a, (enum wcs_special)k, &nx);
        const uint16_t *y = wcs_plan_special(b, (enum wcs_special)k, &ny);

        assert_int_equal(nx, ny);
        if (nx > 0)
            assert_memory_equal(x, y, (size_t)nx * sizeof(x[0]));
    }
    assert_string_equal(wcs_plan_default_exit(a), wcs_plan_default_exit(b));
    assert_int_equal(wcs_plan_recirc_limit(a), wcs_plan_recirc_limit(b));
    assert_int_equal(wcs_plan_max_weight_g(a), wcs_plan_max_weight_g(b));
    na = wcs_plan_nparams(a);
    nb = wcs_plan_nparams(b);
    assert_int_equal(na, nb);
    for (i = 0; i < na; i++) {
        const char *n1, *v1, *n2, *v2;

        wcs_plan_param_at(a, i, &n1, &v1);
        wcs_plan_param_at(b, i, &n2, &v2);
        assert_string_equal(n1, n2);
        assert_string_equal(v1, v2);
    }
}

static void test_plan_round_trip(void **state)
{
    PGconn *c = fresh_db("wcs_store_plan");
    static const char text[] = "kind,id\nchute,CH01\\x\n"; /* any bytes; hashed exactly */
    struct wcs_plan *p = build_plan("plan-a.csv", 0), *q = NULL;
    struct wcs_plan_version v[4];
    struct err e = {0};
    size_t n = 0;
    int ver = 0, got = 0;
    PGresult *r;

    (void)state;
    assert_int_equal(wcs_db_plan_store(c, p, text, sizeof(text) - 1, &ver, &e), 0);
    assert_true(ver > 0);
    assert_int_equal(wcs_db_plan_load(c, ver, &q, &got, &e), 0);
    assert_int_equal(got, ver);
    assert_plans_equal(p, q);
    wcs_plan_free(q);

    /* sha256 over the exact bytes, source text kept. */
    r = PQexec(c, "SELECT sha256 = encode(sha256(convert_to(source_text, 'UTF8')), 'hex'),"
                  " source_text FROM sortplan_versions");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    assert_string_equal(PQgetvalue(r, 0, 1), text);
    PQclear(r);

    /* No active plan yet. */
    assert_int_equal(wcs_db_plan_load(c, 0, &q, &got, &e), ERR_NOTFOUND);
    assert_null(q);
    assert_int_equal(wcs_db_plan_load(c, ver + 100, &q, &got, &e), ERR_NOTFOUND);
    assert_int_equal(wcs_db_plan_list(c, v, 4, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].version, ver);
    assert_string_equal(v[0].source, "plan-a.csv");
    assert_int_equal(strlen(v[0].sha256), 64);
    assert_int_equal(v[0].active, 0);
    assert_string_equal(v[0].activated_at, "");
    assert_int_equal(v[0].nrules, 3);
    assert_int_equal(v[0].nroutes, 2);
    assert_int_equal(v[0].nchutes, 4);
    wcs_plan_free(p);
    PQfinish(c);
}

static void test_plan_sample_round_trip(void **state)
{
    char path[1024];
    FILE *fp;
    char *text;
    long len;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct wcs_plan *p = NULL, *q = NULL;
    PGconn *c;
    int ver = 0, got = 0;

    (void)state;
    testdb_source_path("data/sortplan-sample.csv", path, sizeof(path));
    fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("%s: %s (the sample plan is part of the tree)", path, strerror(errno));
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    if (wcs_plan_parse_csv("sortplan-sample.csv", text, (size_t)len, &p, &d) != 0)
        fail_msg("sample plan: %s", d.n > 0 ? d.msgs[0] : "?");
    c = fresh_db("wcs_store_plan_sample");
    assert_int_equal(wcs_db_plan_store(c, p, text, (size_t)len, &ver, &e), 0);
    assert_int_equal(wcs_db_plan_load(c, ver, &q, &got, &e), 0);
    assert_plans_equal(p, q);
    /* Same decisions too, on a spread of parcels. */
    for (uint32_t postal = 100000; postal < 700000; postal += 7919)
        assert_int_equal(wcs_plan_match(p, postal, "ECONOMY", 1000),
                         wcs_plan_match(q, postal, "ECONOMY", 1000));
    wcs_plan_free(p);
    wcs_plan_free(q);
    free(text);
    diag_free(&d);
    PQfinish(c);
}

static void test_plan_activate(void **state)
{
    PGconn *c = fresh_db("wcs_store_activate");
    PGconn *l = NULL;
    char ci[512], payload[64], want[16];
    struct wcs_plan *p1 = build_plan("plan-1.csv", 0), *p2 = build_plan("plan-2.csv", 1), *q;
    struct wcs_plan_version v[4];
    struct err e = {0};
    size_t n = 0;
    int v1, v2, got;
    PGresult *r;

    (void)state;
    snprintf(ci, sizeof(ci), "%s dbname=wcs_store_activate", getenv("WCS_TEST_PG"));
    assert_int_equal(wcs_db_connect(ci, &l, &e), 0);
    r = PQexec(l, "LISTEN " WCS_CHANNEL_SORTPLAN);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    assert_int_equal(wcs_db_plan_store(c, p1, "a", 1, &v1, &e), 0);
    assert_int_equal(wcs_db_plan_store(c, p2, "b", 1, &v2, &e), 0);
    assert_int_equal(wcs_db_plan_activate(c, v1, &e), 0);
    wait_notify(l, WCS_CHANNEL_SORTPLAN, payload, sizeof(payload));
    snprintf(want, sizeof(want), "%d", v1);
    assert_string_equal(payload, want);
    assert_int_equal(wcs_db_plan_load(c, 0, &q, &got, &e), 0);
    assert_int_equal(got, v1);
    assert_string_equal(wcs_plan_source(q), "plan-1.csv");
    wcs_plan_free(q);

    assert_int_equal(wcs_db_plan_activate(c, v2, &e), 0);
    wait_notify(l, WCS_CHANNEL_SORTPLAN, payload, sizeof(payload));
    snprintf(want, sizeof(want), "%d", v2);
    assert_string_equal(payload, want);
    assert_int_equal(wcs_db_plan_load(c, 0, &q, &got, &e), 0);
    assert_int_equal(got, v2);
    assert_plans_equal(p2, q);
    wcs_plan_free(q);
    assert_int_equal(scalar(c, "SELECT count(*) FROM sortplan_versions WHERE active"), 1);

    /* Unknown version: nothing changes. */
    assert_int_equal(wcs_db_plan_activate(c, v2 + 100, &e), ERR_NOTFOUND);
    assert_int_equal(scalar(c, "SELECT version FROM sortplan_versions WHERE active"), v2);

    assert_int_equal(wcs_db_plan_list(c, v, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].version, v2); /* newest first */
    assert_int_equal(v[0].active, 1);
    assert_int_not_equal(v[0].activated_at[0], '\0');
    assert_int_equal(v[1].active, 0);
    assert_int_not_equal(v[1].activated_at[0], '\0');
    assert_string_not_equal(v[0].sha256, v[1].sha256);

    wcs_plan_free(p1);
    wcs_plan_free(p2);
    PQfinish(l);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_upsert_counts),
        cmocka_unit_test(test_upsert_lp_then_s10),
        cmocka_unit_test(test_upsert_rejections),
        cmocka_unit_test(test_upsert_new_batch_and_code_limit),
        cmocka_unit_test(test_upsert_db_error_stores_nothing),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_parcels_since_and_customs),
        cmocka_unit_test(test_plan_round_trip),
        cmocka_unit_test(test_plan_sample_round_trip),
        cmocka_unit_test(test_plan_activate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
