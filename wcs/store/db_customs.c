/*
 * db_customs.c - the store's customs statements (wcs/customs_store.h):
 * declarations and the customs outbox with leased batches; the broker's
 * decision feed.
 *
 * DESIGN. A batch is claimed through its head row (the lowest unfinished id
 * of its batch_key) with FOR UPDATE SKIP LOCKED; only the holder of the head
 * row updates the other rows, and wcs_customs_finish() locks a batch's rows
 * in id order, head first, so claimers and finishers never wait on each other
 * in a cycle. The lease conditions are re-checked by PostgreSQL on the
 * newest row version after the lock, so two workers never hold one batch's
 * lease at once; a worker whose lease ran out may still finish the batch,
 * which is harmless since the broker answers a retried key with the stored
 * response.
 *
 * A new batch is claimed in one statement (rows locked, leased and returned
 * with their bodies and key), and finishes commit asynchronously: the worker
 * runs these on a thread of their own while its transfers go on, and the
 * fewer round trips and fsyncs, the sooner the next batch is on the wire.
 * Manifests (kind 'manifest') are batches of one, keyed and leased alike.
 *
 * Per-batch database work is kept small (migration 0009): batch_key has no
 * index and the table a fillfactor, so a claim's update of its rows is HOT
 * (no index entry); a finished batch's rows are deleted rather than marked
 * done (a delete adds no index entry either), its outcome being kept on the
 * declarations or the dispatch. A worker finds its batch's rows by their
 * parcel ids; only the look for an old batch, and leasing or giving one back
 * by key, scan the open rows.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/store/customs_store.h"
#include "wcs/store/db_internal.h"

/* --- statements ------------------------------------------------------- */

static const char SQL_DECL_STATUS[] = "SELECT status FROM declarations WHERE parcel_id = $1 FOR UPDATE";
/* Locks the parcel's open outbox row, so a claimer skips it until we commit,
 * or we wait for a claimer and then see its batch_key: a declaration's body
 * never changes once it is in a batch. Taken before the declaration's row,
 * in the order wcs_customs_finish() takes them, so the two never deadlock. */
static const char SQL_OPEN_ROW[] =
    "SELECT batch_key FROM customs_outbox"
    " WHERE kind = 'declaration' AND payload_ref = $1 AND done_at IS NULL FOR UPDATE";
static const char SQL_UPSERT_DECL[] =
    "INSERT INTO declarations (parcel_id, body, status, broker_ref, errors, updated_at)"
    " VALUES ($1, $2::json, 'pending', NULL, NULL, now())"
    " ON CONFLICT (parcel_id) DO UPDATE SET body = EXCLUDED.body, status = 'pending',"
    "  broker_ref = NULL, errors = NULL, updated_at = now()";
static const char SQL_ENQUEUE[] =
    "INSERT INTO customs_outbox (kind, payload_ref) VALUES ('declaration', $1)"
    " ON CONFLICT (kind, payload_ref) WHERE done_at IS NULL DO NOTHING";

/* The head row of the oldest due, unleased (or lease expired) batch, of
 * either kind: one scan of the open rows (no index on batch_key, so that a
 * claim is a HOT update: migration 0009). The rows of a batch are leased,
 * given back and finished together, so they share the lease columns and
 * each batch's due rows include its head. */
static const char SQL_CLAIM_OLD_HEAD[] =
    "WITH h AS (SELECT min(id) AS id FROM customs_outbox"
    "  WHERE done_at IS NULL AND broker = $1 AND batch_key IS NOT NULL AND next_attempt_at <= now()"
    "  AND (lease_until IS NULL OR lease_until < now()) GROUP BY batch_key)"
    " SELECT o.batch_key, o.kind FROM customs_outbox o JOIN h ON h.id = o.id"
    " WHERE o.done_at IS NULL AND o.next_attempt_at <= now()"
    "  AND (o.lease_until IS NULL OR o.lease_until < now())"
    " ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED";
/* The Idempotency-Key of a new batch, $1 its rows as the claim returned
 * them; an old batch taken over (SQL_LEASE_OLD) gets it the same way, so
 * it is the key its first claimer sent. */
#define IDEM_OF_NEW(u)                                                                             \
    "(SELECT encode(sha256(convert_to(min(batch_key) || ':' ||"                                    \
    " string_agg(payload_ref, ',' ORDER BY payload_ref), 'UTF8')), 'hex') FROM " u ")"
/* A new batch of up to $3 declarations never claimed, in one statement:
 * rows locked and leased under a fresh key, returned with their bodies and
 * the batch's Idempotency-Key (one round trip instead of four: the claim
 * runs while transfers wait for it). The locked ids reach the UPDATE as an
 * array, so it finds them through the primary key (joined to c, the planner
 * hashed a scan of the whole table: 5.6 of 8.8 ms with 30,000 rows). */
static const char SQL_CLAIM_NEW[] =
    "WITH c AS (SELECT id FROM customs_outbox"
    "  WHERE done_at IS NULL AND kind = 'declaration' AND batch_key IS NULL AND broker = $4"
    "  AND next_attempt_at <= now() ORDER BY id LIMIT $3::int FOR UPDATE SKIP LOCKED),"
    " k AS (SELECT gen_random_uuid()::text AS key),"
    " u AS (UPDATE customs_outbox o SET batch_key = k.key, lease_owner = $1,"
    "  lease_until = now() + $2::int * interval '1 second', attempts = attempts + 1"
    "  FROM k WHERE o.id = ANY (ARRAY(SELECT id FROM c))"
    "  RETURNING o.id, o.payload_ref, o.batch_key, o.attempts)"
    " SELECT u.id, u.payload_ref, d.body::text, u.attempts, u.batch_key, " IDEM_OF_NEW("u")
    " FROM u JOIN declarations d ON d.parcel_id = u.payload_ref ORDER BY u.id";
/* The oldest manifest never claimed, alone, once no declaration queued
 * before it is open: the broker then knows every declaration the WCS had
 * for the dispatch's parcels, and unknown_parcels means what it says.
 * (Uses the (kind, payload_ref) open index: no scan of open declarations.) */
static const char SQL_CLAIM_MANIFEST[] =
    "WITH c AS (SELECT m.id FROM customs_outbox m"
    "  WHERE m.done_at IS NULL AND m.kind = 'manifest' AND m.batch_key IS NULL AND m.broker = $3"
    "  AND m.next_attempt_at <= now() AND NOT EXISTS (SELECT 1 FROM customs_outbox d"
    "   WHERE d.done_at IS NULL AND d.kind = 'declaration' AND d.broker = m.broker"
    "   AND d.id < m.id)"
    "  ORDER BY m.id LIMIT 1 FOR UPDATE OF m SKIP LOCKED),"
    " k AS (SELECT gen_random_uuid()::text AS key),"
    " u AS (UPDATE customs_outbox o SET batch_key = k.key, lease_owner = $1,"
    "  lease_until = now() + $2::int * interval '1 second', attempts = attempts + 1"
    "  FROM k WHERE o.id = ANY (ARRAY(SELECT id FROM c))"
    "  RETURNING o.id, o.payload_ref, o.batch_key, o.attempts)"
    " SELECT u.id, u.payload_ref, d.manifest_json, u.attempts, u.batch_key, " IDEM_OF_NEW("u")
    " FROM u LEFT JOIN dispatches d ON d.manifest_id = u.payload_ref";
/* An old batch $1 (its head row locked by SQL_CLAIM_OLD_HEAD) leased to
 * $2 and returned as SQL_CLAIM_NEW returns a new one: every row of the batch
 * is open (a batch's rows are finished together), so its key is the one its
 * first claimer sent. One scan of the open rows. */
#define LEASE_OLD                                                                                  \
    "WITH u AS (UPDATE customs_outbox o SET lease_owner = $2,"                                     \
    "  lease_until = now() + $3::int * interval '1 second', attempts = attempts + 1"               \
    "  WHERE o.batch_key = $1 AND o.done_at IS NULL"                                               \
    "  RETURNING o.id, o.payload_ref, o.batch_key, o.attempts)"
static const char SQL_LEASE_OLD[] =
    LEASE_OLD " SELECT u.id, u.payload_ref, d.body::text, u.attempts, u.batch_key, "
    IDEM_OF_NEW("u") " FROM u JOIN declarations d ON d.parcel_id = u.payload_ref ORDER BY u.id";
static const char SQL_LEASE_OLD_MANIFEST[] =
    LEASE_OLD " SELECT u.id, u.payload_ref, d.manifest_json, u.attempts, u.batch_key, "
    IDEM_OF_NEW("u")
    " FROM u LEFT JOIN dispatches d ON d.manifest_id = u.payload_ref ORDER BY u.id";

/* A lost finish only makes the batch be sent again under its key, and the
 * broker answers that with its stored response: the finish need not wait
 * for its WAL to reach the disk. (The claim must: a claim lost after its
 * request went out would be claimed again under a new key.) */
static const char SQL_ASYNC_COMMIT[] = "SET LOCAL synchronous_commit = off";
/* A finished batch's rows are deleted (its outcome stays on the
 * declarations or the dispatch): a delete adds no index entry, where setting
 * done_at made a new row version in every index. The rows are found through
 * customs_outbox_one_open by their parcel ids ($2, the results array) and
 * locked in id order, as every locker of several outbox rows does (claims,
 * the import's D0), before they go; none is left when another worker has
 * finished the batch. */
static const char SQL_DONE[] =
    "WITH l AS (SELECT o.id FROM customs_outbox o"
    "  JOIN jsonb_to_recordset($2::jsonb) AS x(parcel_id text) ON o.payload_ref = x.parcel_id"
    "  WHERE o.kind = 'declaration' AND o.done_at IS NULL AND o.batch_key = $1"
    "  ORDER BY o.id FOR UPDATE OF o)"
    " DELETE FROM customs_outbox o USING l WHERE o.id = l.id";
static const char SQL_DONE_MANIFEST[] =
    "WITH l AS (SELECT id FROM customs_outbox WHERE kind = 'manifest' AND payload_ref = $2"
    "  AND done_at IS NULL AND batch_key = $1 FOR UPDATE)"
    " DELETE FROM customs_outbox o USING l WHERE o.id = l.id";
/* A whole batch's results in one statement: $1 is a JSON array of
 * {parcel_id, status, broker_ref, errors} (one round trip instead of one per
 * declaration: the worker's only thread waits on it). */
static const char SQL_SET_RESULTS[] =
    "UPDATE declarations d SET status = x.status, broker_ref = x.broker_ref, errors = x.errors,"
    " updated_at = now()"
    " FROM jsonb_to_recordset($1::jsonb) AS x(parcel_id text, status text, broker_ref text,"
    "  errors jsonb)"
    " WHERE d.parcel_id = x.parcel_id";
static const char SQL_RELEASE[] =
    "UPDATE customs_outbox SET lease_owner = NULL, lease_until = NULL,"
    " next_attempt_at = now() + $3::bigint * interval '1 millisecond'"
    " WHERE batch_key = $1 AND lease_owner = $2 AND done_at IS NULL";
/* A batch the broker refused as too large, split into two new batches:
 * its rows locked in id order (as every locker of several outbox rows
 * does), the first $3 of them under one new key, the rest under another,
 * both given back and due now. Found by key with one scan of the open rows,
 * as SQL_RELEASE (a 413 is rare). */
static const char SQL_SPLIT[] =
    "WITH l AS (SELECT id FROM customs_outbox"
    "  WHERE batch_key = $1 AND lease_owner = $2 AND done_at IS NULL ORDER BY id FOR UPDATE),"
    " n AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM l),"
    " k AS (SELECT gen_random_uuid()::text AS a, gen_random_uuid()::text AS b)"
    " UPDATE customs_outbox o SET batch_key = CASE WHEN n.k <= $3::int THEN k.a ELSE k.b END,"
    "  lease_owner = NULL, lease_until = NULL, next_attempt_at = now()"
    " FROM n, k WHERE o.id = n.id";
static const char SQL_MANIFEST_RECEIVED[] =
    "UPDATE dispatches SET manifest_ref = $2, manifest_unknown = $3::jsonb, manifest_error = NULL,"
    " manifest_at = now(), status = 'submitted' WHERE manifest_id = $1";
/* A refusal tells wcsd (its refresher counts refused manifests with the
 * customs worker's alarms, for the console's manifest_refused alarm). */
static const char SQL_MANIFEST_REFUSED[] =
    "WITH d AS (UPDATE dispatches SET manifest_error = $2, manifest_at = now()"
    " WHERE manifest_id = $1 RETURNING 1)"
    " SELECT pg_notify('wcs_customs_alarms', 'manifest') FROM d";
static const char SQL_OPEN_COUNT[] =
    "SELECT count(*) FROM customs_outbox WHERE done_at IS NULL AND broker = $1";

/* --- declare ---------------------------------------------------------- */

int wcs_customs_declare(PGconn *c, const char *parcel_id, const char *body, struct err *e)
{
    const char *p[2] = {parcel_id, body};
    PGresult *r;
    int rc;

    rc = wcs_db_begin(c, "customs declare", e);
    if (rc < 0)
        return rc;
    r = wcs_db_query(c, "customs declare: outbox", SQL_OPEN_ROW, 1, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
        PQclear(r);
        rc = err_set(e, ERR_STATE, "customs declare: %s: declaration is being submitted", parcel_id);
        goto fail;
    }
    PQclear(r);
    r = wcs_db_query(c, "customs declare: status", SQL_DECL_STATUS, 1, p, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "accepted") == 0) {
        PQclear(r);
        rc = err_set(e, ERR_CONFLICT, "customs declare: %s: already accepted by the broker",
                     parcel_id);
        goto fail;
    }
    PQclear(r);
    rc = wcs_db_command(c, "customs declare: declaration", SQL_UPSERT_DECL, 2, p, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_command(c, "customs declare: outbox", SQL_ENQUEUE, 1, p, e);
    if (rc < 0)
        goto fail;
    return wcs_db_commit(c, "customs declare", e);
fail:
    wcs_db_rollback(c);
    return rc;
}

/* --- claim ------------------------------------------------------------ */

/* Copies the claim rows of r into out: id, payload ref, body (NULL kept:
 * a manifest whose dispatch has none), attempts. */
static int take_items(PGresult *r, struct cust_batch *out, struct err *e)
{
    int i, n = PQntuples(r);

    out->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*out->items));
    if (out->items == NULL)
        return err_set(e, -ENOMEM, "customs claim: out of memory");
    for (i = 0; i < n; i++) {
        struct cust_batch_item *it = &out->items[i];

        it->outbox_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        it->parcel_id = strdup(PQgetvalue(r, i, 1));
        it->body = PQgetisnull(r, i, 2) ? NULL : strdup(PQgetvalue(r, i, 2));
        out->n++;
        if (it->parcel_id == NULL || (it->body == NULL && !PQgetisnull(r, i, 2)))
            return err_set(e, -ENOMEM, "customs claim: out of memory");
        out->attempts = atoi(PQgetvalue(r, i, 3));
    }
    return 0;
}

/* Runs a claim statement (SQL_CLAIM_NEW, SQL_CLAIM_MANIFEST or
 * SQL_LEASE_OLD*): out->n == 0 when it found nothing. */
static int claim_new(PGconn *c, const char *sql, const char *const *p, int np,
                     struct cust_batch *out, struct err *e)
{
    PGresult *r = wcs_db_query(c, "customs claim: new batch", sql, np, p, e);
    int rc;

    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    out->batch_key = strdup(PQgetvalue(r, 0, 4));
    out->idem_key = strdup(PQgetvalue(r, 0, 5));
    if (out->batch_key == NULL || out->idem_key == NULL) {
        PQclear(r);
        return err_set(e, -ENOMEM, "customs claim: out of memory");
    }
    rc = take_items(r, out, e);
    PQclear(r);
    return rc;
}

/* wcs_customs_claim() (old: look for an old batch first) and
 * wcs_customs_claim_new(). */
static int claim(PGconn *c, const char *broker, const char *owner, int lease_s, int max, int old,
                 struct cust_batch *out, struct err *e)
{
    char lease[16], lim[16], key[64];
    const char *pn[4] = {owner, lease, lim, broker}, *pm[3] = {owner, lease, broker};
    PGresult *r;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(lease, sizeof(lease), "%d", lease_s);
    snprintf(lim, sizeof(lim), "%d", max);
    rc = wcs_db_begin(c, "customs claim", e);
    if (rc < 0)
        return rc;
    if (old) {
        r = wcs_db_query(c, "customs claim: old batch", SQL_CLAIM_OLD_HEAD, 1, &broker, e);
        if (r == NULL) {
            rc = ERR_DB;
            goto fail;
        }
        if (PQntuples(r) > 0) {
            const char *p[3] = {key, owner, lease};

            snprintf(key, sizeof(key), "%s", PQgetvalue(r, 0, 0));
            out->kind = strcmp(PQgetvalue(r, 0, 1), "manifest") == 0 ? CUST_BATCH_MANIFEST
                                                                      : CUST_BATCH_DECLARATIONS;
            PQclear(r);
            rc = claim_new(c, out->kind == CUST_BATCH_MANIFEST ? SQL_LEASE_OLD_MANIFEST
                                                                 : SQL_LEASE_OLD,
                           p, 3, out, e);
            goto done;
        }
        PQclear(r);
    }
    out->kind = CUST_BATCH_MANIFEST;
    rc = claim_new(c, SQL_CLAIM_MANIFEST, pm, 3, out, e);
    if (rc == 0 && out->n == 0) {
        out->kind = CUST_BATCH_DECLARATIONS;
        rc = claim_new(c, SQL_CLAIM_NEW, pn, 4, out, e);
    }
done:
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "customs claim", e);
    if (rc < 0)
        goto fail;
    if (out->n == 0)
        cust_batch_free(out); /* nothing due */
    return 0;
fail:
    wcs_db_rollback(c);
    cust_batch_free(out);
    return rc;
}

int wcs_customs_claim(PGconn *c, const char *broker, const char *owner, int lease_s, int max,
                      struct cust_batch *out, struct err *e)
{
    return claim(c, broker, owner, lease_s, max, 1, out, e);
}

int wcs_customs_claim_new(PGconn *c, const char *broker, const char *owner, int lease_s,
                          int max, struct cust_batch *out, struct err *e)
{
    return claim(c, broker, owner, lease_s, max, 0, out, e);
}

/* --- results ---------------------------------------------------------- */

int wcs_customs_finish(PGconn *c, const char *batch_key, const struct cust_result *res,
                       size_t n, struct err *e)
{
    json_t *rows;
    char *text;
    PGresult *r;
    size_t i;
    int rc;

    rc = wcs_db_begin(c, "customs finish", e);
    if (rc < 0)
        return rc;
    rc = wcs_db_command(c, "customs finish: async commit", SQL_ASYNC_COMMIT, 0, NULL, e);
    if (rc < 0)
        goto fail;
    rows = json_array();
    for (i = 0; rows != NULL && i < n; i++) {
        json_t *errors = NULL;

        if (res[i].errors_json != NULL) {
            errors = json_loads(res[i].errors_json, JSON_DECODE_ANY, NULL);
            if (errors == NULL) /* keep what the broker said, even if it is not JSON */
                errors = json_string(res[i].errors_json);
        }
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s?,s:o?}", "parcel_id",
                                              res[i].parcel_id, "status", res[i].status,
                                              "broker_ref", res[i].broker_ref, "errors", errors));
    }
    text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    if (text == NULL) {
        rc = err_set(e, -ENOMEM, "customs finish: out of memory");
        goto fail;
    }
    {
        const char *p[2] = {batch_key, text};

        int gone;

        r = wcs_db_query(c, "customs finish: outbox", SQL_DONE, 2, p, e);
        if (r == NULL) {
            free(text);
            rc = ERR_DB;
            goto fail;
        }
        gone = strcmp(PQcmdTuples(r), "0") != 0;
        PQclear(r);
        if (!gone) {
            free(text);
            return wcs_db_commit(c, "customs finish", e); /* finished by another worker */
        }
        rc = wcs_db_command(c, "customs finish: declarations", SQL_SET_RESULTS, 1, p + 1, e);
    }
    free(text);
    if (rc < 0)
        goto fail;
    return wcs_db_commit(c, "customs finish", e);
fail:
    wcs_db_rollback(c);
    return rc;
}

int wcs_customs_finish_manifest(PGconn *c, const char *batch_key, const char *manifest_id,
                                const struct cust_manifest_result *res, struct err *e)
{
    const char *pk[2] = {batch_key, manifest_id};
    const char *pr[3] = {manifest_id, res->broker_ref, res->unknown_json};
    const char *pf[2] = {manifest_id, res->error};
    json_t *unk;
    PGresult *r;
    int rc;

    if ((res->broker_ref != NULL) == (res->error != NULL))
        return err_set(e, ERR_INVALID, "manifest %s: an answer is a reference or an error",
                       manifest_id);
    if (res->broker_ref != NULL) {
        unk = json_loads(res->unknown_json != NULL ? res->unknown_json : "", 0, NULL);
        rc = json_is_array(unk);
        json_decref(unk);
        if (!rc)
            return err_set(e, ERR_INVALID, "manifest %s: unknown parcels are not a JSON array",
                           manifest_id);
    }
    rc = wcs_db_begin(c, "manifest finish", e);
    if (rc < 0)
        return rc;
    rc = wcs_db_command(c, "manifest finish: async commit", SQL_ASYNC_COMMIT, 0, NULL, e);
    if (rc < 0)
        goto fail;
    r = wcs_db_query(c, "manifest finish: outbox", SQL_DONE_MANIFEST, 2, pk, e);
    if (r == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (strcmp(PQcmdTuples(r), "0") == 0) {
        PQclear(r);
        return wcs_db_commit(c, "manifest finish", e); /* finished by another worker */
    }
    PQclear(r);
    if (res->broker_ref != NULL)
        rc = wcs_db_command(c, "manifest finish: dispatch", SQL_MANIFEST_RECEIVED, 3, pr, e);
    else
        rc = wcs_db_command(c, "manifest finish: dispatch", SQL_MANIFEST_REFUSED, 2, pf, e);
    if (rc < 0)
        goto fail;
    return wcs_db_commit(c, "manifest finish", e);
fail:
    wcs_db_rollback(c);
    return rc;
}

int wcs_customs_release(PGconn *c, const char *batch_key, const char *owner, long delay_ms,
                        struct err *e)
{
    char d[24];
    const char *p[3] = {batch_key, owner, d};

    snprintf(d, sizeof(d), "%ld", delay_ms);
    return wcs_db_command(c, "customs release", SQL_RELEASE, 3, p, e);
}

int wcs_customs_split(PGconn *c, const char *batch_key, const char *owner, size_t first,
                      struct err *e)
{
    char f[24];
    const char *p[3] = {batch_key, owner, f};

    snprintf(f, sizeof(f), "%zu", first);
    return wcs_db_command(c, "customs split", SQL_SPLIT, 3, p, e);
}

int wcs_customs_open_count(PGconn *c, const char *broker, long long *n, struct err *e)
{
    PGresult *r = wcs_db_query(c, "customs open count", SQL_OPEN_COUNT, 1, &broker, e);

    if (r == NULL)
        return ERR_DB;
    *n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

/* --- alarms (migration 0010) ------------------------------------------ */

/* Raising an open alarm again counts it; raising a cleared one opens it
 * afresh. */
static const char SQL_ALARM_RAISE[] =
    "INSERT INTO customs_alarms (broker, kind, ref, owner, http_status, text)"
    " VALUES ($1, $2, $3, $4, nullif($5::int, 0), $6)"
    " ON CONFLICT (broker, kind, ref) DO UPDATE SET owner = EXCLUDED.owner,"
    "  http_status = EXCLUDED.http_status, text = EXCLUDED.text, last_at = now(),"
    "  count = CASE WHEN customs_alarms.cleared_at IS NULL THEN customs_alarms.count + 1 ELSE 1 END,"
    "  first_at = CASE WHEN customs_alarms.cleared_at IS NULL THEN customs_alarms.first_at"
    "   ELSE now() END, cleared_at = NULL";
static const char SQL_ALARM_CLEAR[] =
    "UPDATE customs_alarms SET cleared_at = now() WHERE broker = $1 AND kind = $2"
    " AND ($3::text IS NULL OR ref = $3) AND cleared_at IS NULL";

int wcs_customs_alarm_raise(PGconn *c, const struct cust_alarm *a, struct err *e)
{
    char st[24];
    const char *p[6] = {a->broker, a->kind, a->ref, a->owner, st, a->text};

    snprintf(st, sizeof(st), "%ld", a->http_status);
    return wcs_db_command(c, "customs alarm", SQL_ALARM_RAISE, 6, p, e);
}

int wcs_customs_alarm_clear(PGconn *c, const char *broker, const char *kind, const char *ref,
                            struct err *e)
{
    const char *p[3] = {broker, kind, ref};

    return wcs_db_command(c, "customs alarm clear", SQL_ALARM_CLEAR, 3, p, e);
}

/* --- decision feed ---------------------------------------------------- */

static const char SQL_FEED_CURSOR[] = "SELECT cursor FROM customs_feed_cursor WHERE broker = $1";
/* Locks the feed's cursor row first and returns the cursor, so two feed
 * readers of one broker store their pages one after the other and the second
 * sees that its page was read from a cursor that is no longer the stored one. */
static const char SQL_FEED_LOCK[] =
    "INSERT INTO customs_feed_cursor (broker, cursor) VALUES ($1, '')"
    " ON CONFLICT (broker) DO UPDATE SET cursor = customs_feed_cursor.cursor RETURNING cursor";
static const char SQL_EVENT_INSERT[] =
    "INSERT INTO customs_events (cursor, parcel_id, type, reason, duty_value, duty_currency, at,"
    " broker) VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8)"
    " ON CONFLICT (broker, cursor) DO NOTHING";
static const char SQL_FEED_SET[] = "UPDATE customs_feed_cursor SET cursor = $2 WHERE broker = $1";

int wcs_customs_feed_cursor(PGconn *c, const char *broker, char **out, struct err *e)
{
    const char *p[1] = {broker};
    PGresult *r = wcs_db_query(c, "feed cursor", SQL_FEED_CURSOR, 1, p, e);

    *out = NULL;
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) > 0 && PQgetvalue(r, 0, 0)[0] != '\0') {
        *out = strdup(PQgetvalue(r, 0, 0));
        if (*out == NULL) {
            PQclear(r);
            return err_set(e, -ENOMEM, "feed cursor: out of memory");
        }
    }
    PQclear(r);
    return 0;
}

int wcs_customs_feed_store(PGconn *c, const char *broker, const char *after,
                           const struct cust_feed_event *ev, size_t n, const char *next,
                           struct cust_feed_result *res, struct err *e)
{
    struct cust_feed_result tmp;
    const char *pb[2] = {broker, next};
    PGresult *lr;
    size_t i;
    int rc;

    memset(&tmp, 0, sizeof(tmp));
    rc = wcs_db_begin(c, "feed store", e);
    if (rc < 0)
        return rc;
    lr = wcs_db_query(c, "feed store: lock", SQL_FEED_LOCK, 1, pb, e);
    if (lr == NULL) {
        rc = ERR_DB;
        goto fail;
    }
    if (strcmp(PQgetvalue(lr, 0, 0), after != NULL ? after : "") != 0) {
        rc = err_set(e, ERR_CONFLICT, "feed store: %s: cursor moved to %s since the page was read",
                     broker, PQgetvalue(lr, 0, 0));
        PQclear(lr);
        goto fail;
    }
    PQclear(lr);
    for (i = 0; i < n; i++) {
        char duty[24];
        const char *p[8] = {ev[i].cursor, ev[i].parcel_id, ev[i].type, ev[i].reason,
                            ev[i].duty_currency != NULL ? duty : NULL, ev[i].duty_currency,
                            ev[i].at, broker};
        enum cust_status s;
        PGresult *r;

        snprintf(duty, sizeof(duty), "%lld", ev[i].duty_value);
        r = wcs_db_query(c, "feed store: event", SQL_EVENT_INSERT, 8, p, e);
        if (r == NULL) {
            rc = ERR_DB;
            goto fail;
        }
        if (strcmp(PQcmdTuples(r), "0") == 0) {
            PQclear(r);
            tmp.repeated++; /* stored by an earlier page: its effect is applied already */
            continue;
        }
        PQclear(r);
        tmp.stored++;
        if (strcmp(ev[i].type, "held") == 0)
            s = CUST_STATUS_HELD;
        else if (strcmp(ev[i].type, "released") == 0)
            s = CUST_STATUS_RELEASED;
        else
            continue; /* rejected, duty_due: stored for the operator, no sort effect */
        rc = wcs_db_parcel_customs_in_tx(c, ev[i].parcel_id, s, e);
        if (rc == ERR_NOTFOUND) {
            log_warnx("customs feed: event %s: %s %s: no such parcel (stored)", ev[i].cursor,
                      ev[i].type, ev[i].parcel_id);
            tmp.unknown++;
            continue;
        }
        if (rc < 0)
            goto fail;
        tmp.applied++;
    }
    rc = wcs_db_command(c, "feed store: cursor", SQL_FEED_SET, 2, pb, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "feed store", e);
    if (rc < 0)
        goto fail;
    if (res != NULL)
        *res = tmp;
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}
