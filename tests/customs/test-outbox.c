/*
 * test-outbox.c - the customs outbox and the submission worker end to end:
 * 200 declarations queued in a real PostgreSQL (the "pg" fixture), posted by
 * wcs-customs-worker processes to wcs-brokersim (a child process) that fails
 * about a third of the requests; every declaration must be accepted by the
 * broker exactly once (/admin/accepted), stored as accepted with its
 * broker_ref, none lost, none duplicated: with one worker, with two at once,
 * and with a worker killed (SIGKILL) in the middle of a batch whose lease
 * another worker then takes over. And the decision feed: a worker reading
 * GET /v1/events, killed (SIGKILL) mid-feed and restarted, stores every
 * event of the broker once, sets held/released on the parcels and keeps the
 * last event's cursor. And manifests: a closed dispatch's manifest sent
 * once, after the declarations queued before it, the broker's reference and
 * unknown parcels stored; three manifests through a failing broker each
 * received once; a refused manifest's error stored.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "customs/declaration.h"
#include "customs/outbox.h"
#include "customs/validate.h"
#include "tests/common/proc.h"
#include "tests/common/testbroker.h"
#include "tests/common/testcustoms.h"
#include "tests/common/testdb.h"
#include "tests/common/testutil.h"
#include "wcs/store/customs_store.h"
#include "wcs/store/store.h"

#define TOKEN "outbox-token-h19"
#define N_DECL 200

static char dir[64];
static char token_path[128];

/* ---- helpers ------------------------------------------------------------ */

/* Creates database name, migrates it and queues N_DECL valid declarations. */
static PGconn *db_with_declarations(const char *name, char *ci, size_t len)
{
    PGconn *c = tc_db_fresh(name, ci, len);
    char id[32];
    int i;

    for (i = 0; i < N_DECL; i++) {
        tc_s10(i, id);
        tc_declare_seed(c, id, NULL);
    }
    return c;
}

static void sim_start(struct tb_sim *s, const char *const extra[])
{
    tb_sim_start(s, BROKERSIM_BIN, token_path, extra);
}

/* Asserts that the broker accepted each of the N_DECL parcels exactly once
 * and that the database agrees: all accepted with the broker's reference,
 * nothing left in the outbox. */
static void assert_exactly_once(struct tb_sim *s, PGconn *c)
{
    tc_assert_accepted_once(s, c, N_DECL, N_DECL);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM declarations WHERE status <> 'accepted'"), 0);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
}

static void worker_start_tok(struct proc *p, const char *ci, const struct tb_sim *s, const char *batch,
                             const char *lease, const char *tok)
{
    const char *argv[] = {WORKER_BIN, "--db", ci, "--broker", s->url, "--token-file", tok,
                          "--insecure-http", "--batch", batch, "--lease-s", lease,
                          /* 2 in flight: the kill test waits for a batch on the wire
                           * after two stored ones, which 8 claimed ahead can skip */
                          "--parallel", "2",
                          "--until-empty", NULL};

    proc_start(argv, p);
}

static void worker_start(struct proc *p, const char *ci, const struct tb_sim *s, const char *batch,
                         const char *lease)
{
    worker_start_tok(p, ci, s, batch, lease, token_path);
}

/* Waits for the worker's "worker done" and its exit status 0. */
static void worker_finish(struct proc *p)
{
    char line[512];

    if (proc_wait_line(p, "worker done", 240000, line, sizeof(line)) < 0)
        fail_msg("worker did not finish:\n%s", p->log ? p->log : "");
    assert_int_equal(proc_stop(p, SIGTERM, 20000), 0);
}

/* About a third of the requests fail, in every way the broker can fail. */
static const char *const faults[] = {"--seed", "7", "--fail-5xx", "0.15", "--rate-limit", "0.05",
                                     "--retry-after", "1", "--reset", "0.05", "--reset-after",
                                     "0.05", "--malformed", "0.05", "--log-level", "warn", NULL};

/* ---- tests -------------------------------------------------------------- */

static void backoff_and_retry_rules(void **state)
{
    (void)state;
    assert_true(cust_http_retryable(0));
    assert_true(cust_http_retryable(408));
    assert_true(cust_http_retryable(429));
    assert_true(cust_http_retryable(503));
    assert_false(cust_http_retryable(400));
    assert_false(cust_http_retryable(409));
    assert_false(cust_http_retryable(422));
    /* base 200: 100..200, then 200..400, capped at max, Retry-After a floor. */
    assert_int_equal(cust_backoff_ms(1, 200, 10000, 0.0, 0), 100);
    assert_int_equal(cust_backoff_ms(1, 200, 10000, 0.999999, 0), 199);
    assert_int_equal(cust_backoff_ms(2, 200, 10000, 0.0, 0), 200);
    assert_int_equal(cust_backoff_ms(20, 200, 10000, 0.0, 0), 5000);
    assert_int_equal(cust_backoff_ms(1, 200, 10000, 0.0, 3), 3000);
}

static void claim_keeps_batches_whole(void **state)
{
    char ci[512], id[32];
    struct err e = {0};
    struct cust_batch a, b, a2;
    PGconn *c = db_with_declarations("cust_outbox_claim", ci, sizeof(ci));
    PGresult *r;

    (void)state;
    /* Declaring a parcel again before it is sent replaces it: one row. */
    tc_s10(0, id);
    tc_declare_seed(c, id, NULL);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"),
                     N_DECL);
    assert_int_equal(wcs_customs_claim(c, "default", "w1", 60, 30, &a, &e), 0);
    assert_int_equal(a.n, 30);
    assert_int_equal(strlen(a.idem_key), 64);
    assert_int_equal(wcs_customs_claim(c, "default", "w2", 60, 30, &b, &e), 0);
    assert_int_equal(b.n, 30);
    assert_string_not_equal(a.batch_key, b.batch_key);
    assert_string_not_equal(a.idem_key, b.idem_key);
    /* w1 dies: its lease runs out; the next claim takes the same batch,
     * same items, same key, before any new batch. */
    r = PQexec(c, "UPDATE customs_outbox SET lease_until = now() - interval '1 second'"
                  " WHERE lease_owner = 'w1'");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    assert_int_equal(wcs_customs_claim(c, "default", "w3", 60, 50, &a2, &e), 0);
    assert_int_equal(a2.n, 30);
    assert_string_equal(a2.idem_key, a.idem_key);
    assert_string_equal(a2.items[0].parcel_id, a.items[0].parcel_id);
    assert_string_equal(a2.items[29].body, a.items[29].body);
    assert_int_equal(a2.attempts, 2);
    /* A declaration in a batch being submitted cannot be changed. */
    assert_int_equal(wcs_customs_declare(c, a.items[0].parcel_id, a.items[0].body, &e), ERR_STATE);
    cust_batch_free(&a);
    cust_batch_free(&b);
    cust_batch_free(&a2);
    PQfinish(c);
}

static void one_worker_with_faults(void **state)
{
    char ci[512];
    struct tb_sim s;
    struct proc w;
    PGconn *c = db_with_declarations("cust_outbox_one", ci, sizeof(ci));

    (void)state;
    sim_start(&s, faults);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    /* The faults did happen: some batches were sent more than once. */
    assert_non_null(strstr(w.log, "retry in"));
    assert_null(strstr(w.log, TOKEN)); /* never logged */
    free(w.log);
    assert_exactly_once(&s, c);
    tb_sim_stop(&s);
    PQfinish(c);
}

static void two_workers_at_once(void **state)
{
    char ci[512];
    struct tb_sim s;
    struct proc w1, w2;
    PGconn *c = db_with_declarations("cust_outbox_two", ci, sizeof(ci));

    (void)state;
    sim_start(&s, faults);
    worker_start(&w1, ci, &s, "10", "30");
    worker_start(&w2, ci, &s, "10", "30");
    worker_finish(&w1);
    worker_finish(&w2);
    free(w1.log);
    free(w2.log);
    assert_exactly_once(&s, c);
    tb_sim_stop(&s);
    PQfinish(c);
}

static void killed_worker_taken_over(void **state)
{
    const char *const slow[] = {"--seed", "11", "--latency-ms", "300", "--fail-5xx", "0.2",
                                "--reset-after", "0.1", "--log-level", "warn", NULL};
    char ci[512], line[512];
    struct tb_sim s;
    struct proc w1, w2;
    PGconn *c = db_with_declarations("cust_outbox_kill", ci, sizeof(ci));

    (void)state;
    sim_start(&s, slow);
    worker_start(&w1, ci, &s, "20", "5");
    /* Two batches done, the third on the wire: kill it there. */
    assert_int_equal(proc_wait_line(&w1, "stored 20 results", 120000, line, sizeof(line)), 0);
    assert_int_equal(proc_wait_line(&w1, "stored 20 results", 120000, line, sizeof(line)), 0);
    assert_int_equal(proc_wait_line(&w1, "sending 20 declarations", 120000, line, sizeof(line)), 0);
    assert_int_equal(proc_stop(&w1, SIGKILL, 20000), 128 + SIGKILL);
    free(w1.log);
    /* The dead worker left a batch claimed and unfinished (leased or, on a
     * very slow machine, already expired: either way w2 must take it over). */
    assert_true(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"
                             " AND lease_owner IS NOT NULL") > 0);
    worker_start(&w2, ci, &s, "20", "5");
    worker_finish(&w2);
    free(w2.log);
    assert_exactly_once(&s, c);
    tb_sim_stop(&s);
    PQfinish(c);
}

static long long decl_count(PGconn *c, const char *id, const char *cond)
{
    char sql[512];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM declarations WHERE parcel_id = '%s' AND %s",
             id, cond);
    return tc_count(c, sql);
}

static void rejected_declaration_stored(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    char ci[512], good[32], bad[32];
    struct tb_sim s;
    struct proc w;
    struct err e = {0};
    PGconn *c = tc_db_fresh("cust_outbox_rejected", ci, sizeof(ci));

    (void)state;
    tc_s10(500, good);
    tc_s10(501, bad);
    tc_declare_seed(c, good, NULL);
    tc_declare_seed(c, bad, "500100732250"); /* check digit wrong */
    sim_start(&s, quiet);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    free(w.log);
    assert_int_equal(decl_count(c, good, "status = 'accepted' AND broker_ref IS NOT NULL"), 1);
    assert_int_equal(decl_count(c, bad, "status = 'rejected' AND broker_ref IS NULL AND"
                                        " errors @> '[{\"field\": \"recipient.inn\","
                                        " \"code\": \"checksum\"}]'"), 1);
    /* Accepted is final; the rejected one may be corrected and queued again. */
    assert_int_equal(wcs_customs_declare(c, good, "{}", &e), ERR_CONFLICT);
    tc_declare_seed(c, bad, NULL);
    assert_int_equal(decl_count(c, bad, "status = 'pending' AND errors IS NULL"), 1);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 1);
    tb_sim_stop(&s);
    PQfinish(c);
}

static void wrong_token_and_plain_http(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    char ci[512], id[32], bad_tok[160], line[512];
    struct tb_sim s;
    struct proc w;
    struct proc_result r;
    FILE *f;
    PGconn *c = tc_db_fresh("cust_outbox_auth", ci, sizeof(ci));

    (void)state;
    tc_s10(600, id);
    tc_declare_seed(c, id, NULL);
    sim_start(&s, quiet);
    /* A refused token stops the worker and gives the batch back. */
    snprintf(bad_tok, sizeof(bad_tok), "%s/bad-token", dir);
    f = fopen(bad_tok, "w");
    assert_non_null(f);
    fputs("not-the-token\n", f);
    fclose(f);
    assert_int_equal(chmod(bad_tok, 0600), 0); /* a token others can read is refused */
    worker_start_tok(&w, ci, &s, "10", "30", bad_tok);
    assert_int_equal(proc_wait_line(&w, "refused the token", 60000, line, sizeof(line)), 0);
    assert_int_equal(proc_stop(&w, SIGTERM, 20000), 1);
    assert_null(strstr(w.log, "not-the-token"));
    free(w.log);
    unlink(bad_tok);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"
                                  " AND lease_owner IS NULL"), 1);
    assert_int_equal(decl_count(c, id, "status = 'pending'"), 1);
    /* ... and raises an alarm for operators (docs/customs.md "Alarms"). */
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_alarms WHERE kind = 'config'"
                                 " AND http_status = 401 AND text LIKE 'broker refused the token%'"
                                 " AND cleared_at IS NULL"),
                     1);
    /* Plain http:// is refused without --insecure-http. */
    {
        const char *argv[] = {WORKER_BIN, "--db", ci, "--broker", s.url, "--token-file",
                              token_path, "--until-empty", NULL};

        proc_run(argv, NULL, 60, &r);
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.err, "https://"));
        proc_result_free(&r);
    }
    tb_sim_stop(&s);
    PQfinish(c);
}

/* ---- decision feed ------------------------------------------------------ */

#define N_FEED 40

/* GETs the broker's whole feed from the start (no faults on this emulator). */
static json_t *broker_feed(const struct tb_sim *s)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    struct tu_body b = {NULL, 0};
    char url[128];
    json_t *j;

    snprintf(url, sizeof(url), "%s/v1/events?limit=1000", s->url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    j = json_loads(b.data != NULL ? b.data : "", 0, NULL);
    free(b.data);
    assert_non_null(j);
    assert_true(json_is_array(json_object_get(j, "events")));
    return j;
}

static void feed_worker_start(struct proc *p, const char *ci, const struct tb_sim *s)
{
    const char *argv[] = {WORKER_BIN, "--db", ci, "--broker", s->url, "--token-file", token_path,
                          "--insecure-http", "--events", "50", "--events-limit", "3",
                          "--broker-name", "emu", NULL};

    proc_start(argv, p);
}

static void feed_killed_and_restarted(void **state)
{
    const char *const sim_args[] = {"--seed", "5", "--held-share", "0.5", "--decision-delay-ms",
                                    "50", "--log-level", "warn", NULL};
    char ci[512], id[32], line[512], sql[512], *cur, *st;
    struct wcs_preadvice *rows = calloc(N_FEED, sizeof(*rows));
    struct wcs_upsert_result ur;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct tb_sim s;
    struct proc w;
    json_t *feed, *evs;
    size_t i, held = 0, released = 0;
    int k, decided = 0;
    PGconn *c = tc_db_fresh("cust_feed", ci, sizeof(ci));

    (void)state;
    /* N_FEED pre-advised parcels, and one declared parcel the WCS does not
     * know: its events are stored and reported. Pre-advice first: importing
     * it builds each RU parcel's declaration from the pre-advice (here too
     * sparse to be valid), which the full declarations then replace, as
     * they may since none was sent. */
    assert_non_null(rows);
    for (k = 0; k < N_FEED; k++) {
        tc_s10(1000 + k, rows[k].code);
        snprintf(rows[k].service, sizeof(rows[k].service), "ECONOMY");
        snprintf(rows[k].country, sizeof(rows[k].country), "RU");
    }
    if (wcs_db_preadvice_upsert(c, rows, NULL, N_FEED, "feed.csv", NULL, &ur, &d, &e) != 0)
        fail_msg("preadvice: %s", e.msg);
    assert_int_equal(ur.inserted, N_FEED);
    diag_free(&d);
    for (k = 0; k < N_FEED; k++)
        tc_declare_seed(c, rows[k].code, NULL);
    tc_s10(1999, id);
    tc_declare_seed(c, id, NULL);
    sim_start(&s, sim_args);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    free(w.log);

    /* First feed reader: killed after its first stored pages. */
    feed_worker_start(&w, ci, &s);
    assert_int_equal(proc_wait_line(&w, "feed: stored", 60000, line, sizeof(line)), 0);
    assert_int_equal(proc_wait_line(&w, "feed: stored", 60000, line, sizeof(line)), 0);
    assert_int_equal(proc_stop(&w, SIGKILL, 20000), 128 + SIGKILL);
    assert_null(strstr(w.log, "stored already"));
    assert_null(strstr(w.log, TOKEN));
    free(w.log);
    assert_true(tc_count(c, "SELECT count(*) FROM customs_events") > 0);
    /* The stored cursor is the last stored event's. */
    cur = tc_text(c, "SELECT cursor FROM customs_feed_cursor WHERE broker = 'emu'");
    st = tc_text(c, "SELECT max(cursor::bigint)::text FROM customs_events");
    assert_string_equal(cur, st);
    free(st);

    /* The second starts where the first stopped and reads to the end. */
    feed_worker_start(&w, ci, &s);
    snprintf(sql, sizeof(sql), "from cursor %s", cur);
    assert_int_equal(proc_wait_line(&w, sql, 60000, line, sizeof(line)), 0);
    free(cur);
    for (k = 0; k < 1200 && !decided; k++) {
        usleep(100000);
        decided = tc_count(c, "SELECT count(DISTINCT parcel_id) FROM customs_events"
                               " WHERE type IN ('held', 'released', 'rejected')") == N_FEED + 1;
    }
    assert_true(decided);
    /* Every decision is due now; the feed ends with them or their duty_due. */
    feed = broker_feed(&s);
    evs = json_object_get(feed, "events");
    for (k = 0; k < 1200; k++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) = %zu AND (SELECT cursor FROM customs_feed_cursor"
                 " WHERE broker = 'emu') = '%s' FROM customs_events", json_array_size(evs),
                 json_string_value(json_object_get(feed, "next")));
        st = tc_text(c, sql);
        decided = strcmp(st, "t") == 0;
        free(st);
        if (decided)
            break;
        usleep(100000);
    }
    assert_true(decided);
    assert_int_equal(proc_stop(&w, SIGTERM, 20000), 0);
    assert_null(strstr(w.log, "stored already"));
    assert_non_null(strstr(w.log, "no such parcel"));
    assert_non_null(strstr(w.log, id));
    free(w.log);
    /* The same events as the broker's, once each; parcels carry the decision. */
    for (i = 0; i < json_array_size(evs); i++) {
        json_t *x = json_array_get(evs, i);
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *pid = json_string_value(json_object_get(x, "parcel_id"));

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM customs_events WHERE cursor = '%s'"
                 " AND parcel_id = '%s' AND type = '%s'",
                 json_string_value(json_object_get(x, "cursor")), pid, type);
        assert_int_equal(tc_count(c, sql), 1);
        if (strcmp(pid, id) == 0 || (strcmp(type, "held") != 0 && strcmp(type, "released") != 0))
            continue;
        held += strcmp(type, "held") == 0;
        released += strcmp(type, "released") == 0;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM parcels WHERE code = '%s'"
                 " AND customs_status = '%s'", pid, type);
        assert_int_equal(tc_count(c, sql), 1);
    }
    assert_int_equal(held + released, N_FEED);
    assert_true(held > 0 && released > 0);
    /* A page read from a cursor that is no longer the stored one (a second
     * reader) is refused whole: nothing stored, the cursor stays. */
    {
        const struct cust_feed_event late = {"999999", "RR999999999CN", "held", NULL, 0, NULL,
                                               NULL};

        assert_int_equal(wcs_customs_feed_store(c, "emu", "1", &late, 1, "999999", NULL, &e),
                         ERR_CONFLICT);
        assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_events"),
                         (long long)json_array_size(evs));
        cur = tc_text(c, "SELECT cursor FROM customs_feed_cursor WHERE broker = 'emu'");
        assert_string_equal(cur, json_string_value(json_object_get(feed, "next")));
        free(cur);
    }
    json_decref(feed);
    free(rows);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* ---- manifests ---------------------------------------------------------- */

/* A manifest body: one bag with the given parcels. */
static char *manifest_body(const char *mid, const char *const *parcels, size_t n)
{
    json_t *ps = json_array(), *j;
    char *text;
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(ps, json_string(parcels[i]));
    j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:i,s:o}]}", "manifest_id", mid, "route",
                  "RU-ZAB-RAIL", "transport", "rail", "border_crossing", "Manzhouli-Zabaykalsk",
                  "departure", "2026-11-22T18:00:00+08:00", "bags", "bag_id",
                  "CNHRBARUMOWAAC60001001000180", "gross_weight_g", 18250, "parcels", ps);
    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static long long dispatch_count(PGconn *c, const char *mid, const char *cond)
{
    char sql[1024];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM dispatches WHERE manifest_id = '%s' AND %s",
             mid, cond);
    return tc_count(c, sql);
}

/* Declarations and a manifest queued after them: the manifest goes once the
 * declarations are done, once; the broker's reference and its unknown
 * parcels (the two never declared, in manifest order) are stored. */
static void manifest_submitted_once(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    const char *mid = "HRB-20261122-ZAB-001";
    char ci[512], ids[5][32], sql[512];
    const char *parcels[5];
    char *body, *ref;
    struct tb_sim s;
    struct proc w;
    json_t *st;
    int k;
    PGconn *c = tc_db_fresh("cust_manifest_once", ci, sizeof(ci));

    (void)state;
    for (k = 0; k < 5; k++) {
        tc_s10(3000 + k, ids[k]);
        parcels[k] = ids[k];
        if (k < 3)
            tc_declare_seed(c, ids[k], NULL);
    }
    body = manifest_body(mid, parcels, 5);
    tc_queue_manifest(c, mid, body);
    sim_start(&s, quiet);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    assert_non_null(strstr(w.log, "received by the broker"));
    free(w.log);
    st = tc_admin_json(&s, "/admin/stats");
    assert_int_equal(json_integer_value(json_object_get(st, "manifests")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "accepted")), 3);
    json_decref(st);
    snprintf(sql, sizeof(sql), "manifest_unknown = '[\"%s\", \"%s\"]'::jsonb", ids[3], ids[4]);
    assert_int_equal(dispatch_count(c, mid, sql), 1);
    assert_int_equal(dispatch_count(c, mid, "status = 'submitted' AND manifest_ref = 'MAN-000001'"
                                            " AND manifest_error IS NULL AND manifest_at IS NOT NULL"),
                     1);
    ref = tc_text(c, "SELECT manifest_json FROM dispatches");
    assert_string_equal(ref, body); /* sent as stored */
    free(ref);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
    free(body);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* Three manifests through an emulator failing more than half the requests
 * (5xx, lost and truncated answers): each received exactly once. */
static void manifests_with_faults(void **state)
{
    const char *const flaky[] = {"--seed", "3", "--fail-5xx", "0.3", "--reset-after", "0.2",
                                 "--malformed", "0.2", "--log-level", "warn", NULL};
    char ci[512], id[32], mid[32], sql[256], *body;
    const char *parcels[1] = {id};
    struct tb_sim s;
    struct proc w;
    json_t *st, *f;
    long long nfaults;
    int k;
    PGconn *c = tc_db_fresh("cust_manifest_faults", ci, sizeof(ci));

    (void)state;
    tc_s10(3100, id);
    for (k = 0; k < 3; k++) {
        snprintf(mid, sizeof(mid), "HRB-20261122-ZAB-%03d", k + 1);
        body = manifest_body(mid, parcels, 1);
        tc_queue_manifest(c, mid, body);
        free(body);
    }
    sim_start(&s, flaky);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    free(w.log);
    st = tc_admin_json(&s, "/admin/stats");
    f = json_object_get(st, "faults");
    nfaults = json_integer_value(json_object_get(f, "fail_5xx")) +
             json_integer_value(json_object_get(f, "reset_after")) +
             json_integer_value(json_object_get(f, "malformed"));
    assert_true(nfaults > 0); /* the faults did happen */
    assert_int_equal(json_integer_value(json_object_get(st, "manifests")), 3);
    json_decref(st);
    assert_int_equal(tc_count(c, "SELECT count(DISTINCT manifest_ref) FROM dispatches"
                                  " WHERE status = 'submitted' AND manifest_ref LIKE 'MAN-%'"),
                     3);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM dispatches WHERE manifest_unknown = '[\"%s\"]'",
             id);
    assert_int_equal(tc_count(c, sql), 3);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
    tb_sim_stop(&s);
    PQfinish(c);
}

/* A manifest the broker refuses (422: no bags) and one that has no stored
 * body: both finished with their error, the dispatch still closed. */
static void manifest_refused(void **state)
{
    const char *const quiet[] = {"--log-level", "warn", NULL};
    char ci[512], *err;
    struct tb_sim s;
    struct proc w;
    json_t *st;
    PGconn *c = tc_db_fresh("cust_manifest_refused", ci, sizeof(ci));

    (void)state;
    tc_queue_manifest(c, "HRB-20261122-ZAB-001", "{\"manifest_id\":\"HRB-20261122-ZAB-001\"}");
    tc_queue_manifest(c, "HRB-20261122-ZAB-002", NULL);
    sim_start(&s, quiet);
    worker_start(&w, ci, &s, "10", "30");
    worker_finish(&w);
    free(w.log);
    err = tc_text(c, "SELECT manifest_error FROM dispatches WHERE manifest_id = 'HRB-20261122-ZAB-001'"
                      " AND status = 'closed' AND manifest_ref IS NULL");
    assert_string_equal(err, "422 invalid: the body must carry manifest_id and bags");
    free(err);
    assert_int_equal(dispatch_count(c, "HRB-20261122-ZAB-002",
                                    "status = 'closed' AND manifest_error LIKE 'not sent%'"),
                     1);
    st = tc_admin_json(&s, "/admin/stats");
    assert_int_equal(json_integer_value(json_object_get(st, "manifests")), 0);
    json_decref(st);
    assert_int_equal(tc_count(c, "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL"), 0);
    tb_sim_stop(&s);
    PQfinish(c);
}

TB_GROUP_FIXTURE("test-outbox")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_and_retry_rules),
        cmocka_unit_test(claim_keeps_batches_whole),
        cmocka_unit_test(rejected_declaration_stored),
        cmocka_unit_test(wrong_token_and_plain_http),
        cmocka_unit_test(one_worker_with_faults),
        cmocka_unit_test(two_workers_at_once),
        cmocka_unit_test(killed_worker_taken_over),
        cmocka_unit_test(feed_killed_and_restarted),
        cmocka_unit_test(manifest_submitted_once),
        cmocka_unit_test(manifests_with_faults),
        cmocka_unit_test(manifest_refused),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
