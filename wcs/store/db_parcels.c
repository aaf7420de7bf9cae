/*
 * db_parcels.c - parcels in the store: bulk pre-advice upsert, the "what
 * changed since rev N" stream wcsd loads its registry from, lookup by any
 * code, and customs status updates.
 *
 * DESIGN. A batch of pre-advice rows goes in with two COPYs into TEMP
 * staging tables (the rows, and one row per code), then a short sequence of
 * set-based statements decides, for every staged row at once:
 *   1. rows sharing a code with a later row of the batch are superseded
 *      (last row wins; the earlier ones are reported and counted rejected);
 *      run only when the client saw a code repeat in the batch;
 *   2. one statement looks every staged code up in parcel_ids once: the
 *      target parcel is the one owning the row's first known code (the
 *      primary code first, then other_ids in order); a row whose codes
 *      belong to two parcels is rejected; the others are classified new /
 *      changed / identical. Then an earlier row aiming at the same parcel as
 *      a later one is rejected, as is a row that would give a parcel more
 *      than WCS_MAX_IDS codes;
 *   3. new parcels are inserted together with their codes, changed ones
 *      updated (new rev from parcel_rev_seq) with their new codes added,
 *      identical ones left alone.
 * When no staged code is known at all (a file of new parcels), step 2 has
 * nothing to find and is skipped: every accepted row is inserted.
 * A changed parcel takes the row's primary code as parcels.code: the stored
 * record is always the latest pre-advice, plus every code ever seen for it.
 * Customs status is not part of pre-advice and is never touched here.
 * Everything runs in one transaction holding WCS_LOCK_PARCEL_REV, with one
 * pg_notify(wcs_parcels, max rev) when anything changed.
 * Speed (docs/data-model.md, "Import performance"): the staging tables are
 * never written twice per row in the common cases, parcel_ids is probed once
 * per code, and the planner is told that pages are cached (random_page_cost)
 * so it probes the indexes instead of hashing all of parcel_ids per batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wcs/store/db_internal.h"
#include "wcs/core/declare.h"
#include "wcs/store/store.h"

/* --- statements ------------------------------------------------------- */

#define PARCEL_DATA_COLS                                                                           \
    "code, service, recipient_country, postal_code, recipient_name, recipient_city,"               \
    " recipient_address, recipient_phone, weight_g, length_mm, width_mm, height_mm,"               \
    " declared_value, currency, item_description, hs_code"

static const char SQL_LOCK_REV[] = "SELECT pg_advisory_xact_lock($1::bigint)";

/* Static DDL without values, several statements: sent as one simple query.
 * ON COMMIT DELETE ROWS keeps the tables for the next batch of the session. */
static const char SQL_STAGE_SETUP[] =
    "SET LOCAL client_min_messages = warning;"
    "CREATE TEMP TABLE IF NOT EXISTS wcs_stage ("
    " seq integer PRIMARY KEY, line integer NOT NULL,"
    " code text NOT NULL, service text, recipient_country char(2), postal_code text,"
    " recipient_name text, recipient_city text, recipient_address text, recipient_phone text,"
    " weight_g integer, length_mm integer, width_mm integer, height_mm integer,"
    " declared_value bigint, currency char(3), item_description text, hs_code text,"
    " pid bigint,"      /* target parcel, NULL = new */
    " nnew integer,"    /* codes of the row no parcel owns yet */
    " state char(1),"   /* NULL accepted (so far), x rejected */
    " cls char(1),"     /* i insert, u update, = unchanged */
    /* the declaration built from the row (wcs/declare.h); NULL when the
     * parcel is not declared (not bound for RU) */
    " decl_body text, decl_status text, decl_errors text, decl_warnings text,"
    " duty_cents bigint, duty_note text, decl_broker text,"
    " decl_skip boolean"  /* true: a declaration was already sent, keep it */
    ") ON COMMIT DELETE ROWS;"
    /* Stored declarations under a code of a declaring row (step D1). */
    "CREATE TEMP TABLE IF NOT EXISTS wcs_stage_decl ("
    " seq integer NOT NULL, old text NOT NULL, sent boolean NOT NULL"
    ") ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS wcs_stage_codes ("
    " seq integer NOT NULL, pos integer NOT NULL, code text NOT NULL, kind text NOT NULL"
    ") ON COMMIT DELETE ROWS;"
    /* The staging tables have no statistics, and at the default 4.0 the
     * planner hashes the whole of parcel_ids (a seq scan growing with the
     * table) rather than probe its primary key a few thousand times; the
     * parcel tables are cached in practice, so probes are the right plan
     * (3x faster at 200k parcels, more as the table grows). wcs_stage_codes
     * has no index: every join on it is a hash join, and COPY into it is
     * 3x faster without. */
    "SET LOCAL random_page_cost = 1.1";

static const char SQL_COPY_STAGE[] =
    "COPY wcs_stage (seq, line, " PARCEL_DATA_COLS ", decl_body, decl_status, decl_errors,"
    " decl_warnings, duty_cents, duty_note, decl_broker) FROM STDIN";
static const char SQL_COPY_CODES[] = "COPY wcs_stage_codes (seq, pos, code, kind) FROM STDIN";

/* Step 1: a code repeated in a later row of the batch supersedes this row. */
static const char SQL_SUPERSEDED[] =
    "WITH last AS ("
    "  SELECT code, max(seq) AS seq FROM wcs_stage_codes"
    "  GROUP BY code HAVING count(DISTINCT seq) > 1"
    "), sup AS ("
    "  SELECT DISTINCT ON (c.seq) c.seq, c.pos, c.code, l.seq AS by_seq"
    "  FROM wcs_stage_codes c JOIN last l ON l.code = c.code AND l.seq > c.seq"
    "  ORDER BY c.seq, c.pos"
    "), upd AS ("
    "  UPDATE wcs_stage s SET state = 'x' FROM sup WHERE s.seq = sup.seq"
    ")"
    " SELECT s.line, sup.pos, sup.code, b.line"
    " FROM sup JOIN wcs_stage s ON s.seq = sup.seq JOIN wcs_stage b ON b.seq = sup.by_seq"
    " ORDER BY sup.seq";

/* Whether any staged code is already known: when none is, every row of the
 * batch is new and the matching steps (2, 3) cannot find anything. */
static const char SQL_PROBE[] =
    "SELECT EXISTS (SELECT 1 FROM wcs_stage_codes c JOIN parcel_ids i ON i.code = c.code)";

/* Step 2a, one pass over the row's codes and their owners (each code is
 * looked up in parcel_ids once): the target parcel owns the row's first
 * known code; nnew counts codes nobody owns yet; a row with a code owned by
 * another parcel than the target is rejected (the result lists those
 * codes); the rest get their class cls: i new parcel, u changed (any field,
 * the primary code, or a new code), = identical. A row without any code
 * (cannot pass the reader) gets no target and class i, as before. */
static const char SQL_MATCH[] =
    "WITH m AS MATERIALIZED ("
    "  SELECT c.seq, c.pos, c.code, i.parcel_id"
    "  FROM wcs_stage_codes c LEFT JOIN parcel_ids i ON i.code = c.code"
    "), t AS ("
    "  SELECT seq, (array_agg(parcel_id ORDER BY pos) FILTER (WHERE parcel_id IS NOT NULL))[1]"
    "   AS pid, count(*) FILTER (WHERE parcel_id IS NULL) AS nnew"
    "  FROM m GROUP BY seq"
    "), bad AS ("
    "  SELECT m.seq, m.pos, m.code, m.parcel_id FROM m JOIN t ON t.seq = m.seq"
    "  JOIN wcs_stage s ON s.seq = m.seq WHERE s.state IS NULL AND m.parcel_id <> t.pid"
    /* rows whose declaration is stored as built now, or accepted (an
     * accepted one is never replaced, so it is no change), under any code
     * of the row or of its parcel; set-based (hash joins), as
     * wcs_stage_codes has no index to probe per row */
    "), dk AS ("
    "  SELECT DISTINCT c.seq FROM ("
    "   SELECT m.seq, m.code FROM m"
    "   UNION ALL SELECT t.seq, i.code FROM t JOIN parcel_ids i ON i.parcel_id = t.pid"
    "  ) c JOIN declarations d ON d.parcel_id = c.code JOIN wcs_stage s3 ON s3.seq = c.seq"
    "  WHERE s3.decl_body IS NOT NULL AND (d.status = 'accepted' OR d.body::text = s3.decl_body)"
    "), upd AS ("
    "  UPDATE wcs_stage s SET pid = x.pid, nnew = x.nnew,"
    "   state = CASE WHEN s.seq IN (SELECT seq FROM bad) THEN 'x' END,"
    "   cls = CASE"
    "    WHEN x.pid IS NULL THEN 'i'"
    "    WHEN x.nnew > 0 OR EXISTS (SELECT 1 FROM parcels p WHERE p.id = x.pid AND"
    "     (" PARCEL_DATA_COLS ") IS DISTINCT FROM"
    "     (s.code, s.service, s.recipient_country, s.postal_code, s.recipient_name,"
    "      s.recipient_city, s.recipient_address, s.recipient_phone, s.weight_g, s.length_mm,"
    "      s.width_mm, s.height_mm, s.declared_value, s.currency, s.item_description, s.hs_code))"
    /* or its declaration differs from the stored one (dk) */
    "     OR (s.decl_body IS NOT NULL AND NOT x.decl_same)"
    "    THEN 'u' ELSE '=' END"
    "  FROM (SELECT s2.seq, t.pid, coalesce(t.nnew, 0) AS nnew, dk.seq IS NOT NULL AS decl_same"
    "        FROM wcs_stage s2 LEFT JOIN t ON t.seq = s2.seq LEFT JOIN dk ON dk.seq = s2.seq"
    "        WHERE s2.state IS NULL) x"
    "  WHERE s.seq = x.seq"
    ")"
    " SELECT s.line, bad.seq, bad.pos, bad.code, p.code"
    " FROM bad JOIN wcs_stage s ON s.seq = bad.seq JOIN parcels p ON p.id = bad.parcel_id"
    " ORDER BY bad.seq, bad.pos";

/* Step 2b: two rows of the batch aiming at one existing parcel: last wins. */
static const char SQL_SAME_PARCEL[] =
    "WITH last AS ("
    "  SELECT pid, max(seq) AS seq FROM wcs_stage"
    "  WHERE state IS NULL AND pid IS NOT NULL GROUP BY pid HAVING count(*) > 1"
    "), sup AS ("
    "  SELECT s.seq, s.line, s.code, b.line AS by_line, p.code AS owner"
    "  FROM wcs_stage s JOIN last l ON l.pid = s.pid AND s.seq < l.seq"
    "  JOIN wcs_stage b ON b.seq = l.seq JOIN parcels p ON p.id = s.pid"
    "  WHERE s.state IS NULL"
    "), upd AS ("
    "  UPDATE wcs_stage s SET state = 'x' WHERE s.seq IN (SELECT seq FROM sup)"
    ")"
    " SELECT line, code, by_line, owner FROM sup ORDER BY seq";

/* Step 2c: a parcel carries at most $1 codes (struct wcs_preadvice). The
 * row's known codes all belong to its target (step 2a), so the parcel
 * would carry its stored codes plus the row's nnew new ones. */
static const char SQL_TOO_MANY[] =
    "WITH bad AS ("
    "  SELECT s.seq, count(*) + s.nnew AS n"
    "  FROM wcs_stage s JOIN parcel_ids i ON i.parcel_id = s.pid"
    "  WHERE s.state IS NULL GROUP BY s.seq, s.nnew HAVING count(*) + s.nnew > $1::integer"
    "), upd AS ("
    "  UPDATE wcs_stage s SET state = 'x' WHERE s.seq IN (SELECT seq FROM bad)"
    ")"
    " SELECT s.line, p.code, bad.n FROM bad JOIN wcs_stage s ON s.seq = bad.seq"
    " JOIN parcels p ON p.id = s.pid ORDER BY bad.seq";

/* Step 3: counts of what the accepted rows (state NULL) will do. */
static const char SQL_COUNTS[] =
    "SELECT count(*) FILTER (WHERE cls = 'i'), count(*) FILTER (WHERE cls = 'u'),"
    " count(*) FILTER (WHERE cls = '=') FROM wcs_stage WHERE state IS NULL";

/* New parcels and their codes in one statement (no write back into the
 * staging table): the inserted rows are found again by their primary code,
 * unique among accepted rows since step 1. Returns the count and highest
 * rev. cond picks the accepted new rows. */
/* A new parcel's customs status from its declaration (step D4 would set the
 * same; setting it here saves updating every new parcel a second time). */
#define NEW_CUSTOMS_STATUS                                                                         \
    "CASE WHEN s.decl_body IS NULL THEN 'none' WHEN s.decl_status = 'invalid' THEN 'blocked'"     \
    " ELSE 'pending' END"
#define SQL_INSERT_WHERE(cond)                                                                     \
    "WITH ins AS ("                                                                                \
    "  INSERT INTO parcels (" PARCEL_DATA_COLS ", customs_status)"                                \
    "  SELECT " PARCEL_DATA_COLS ", " NEW_CUSTOMS_STATUS " FROM wcs_stage s WHERE " cond          \
    "  ORDER BY seq"                                                                               \
    "  RETURNING id, code, rev"                                                                    \
    "), ids AS ("                                                                                  \
    "  INSERT INTO parcel_ids (code, parcel_id, kind)"                                             \
    "  SELECT c.code, ins.id, c.kind FROM ins JOIN wcs_stage s ON s.code = ins.code"               \
    "  JOIN wcs_stage_codes c ON c.seq = s.seq WHERE " cond                                        \
    "  ON CONFLICT (code) DO NOTHING"                                                              \
    ")"                                                                                            \
    " SELECT count(*), max(rev) FROM ins"

static const char SQL_INSERT[] = SQL_INSERT_WHERE("s.state IS NULL AND s.cls = 'i'");
/* The fast path: no staged code is known, every accepted row is new. */
static const char SQL_INSERT_ALL[] = SQL_INSERT_WHERE("s.state IS NULL");

static const char SQL_UPDATE[] =
    "WITH u AS ("
    " UPDATE parcels p SET code = s.code, service = s.service,"
    " recipient_country = s.recipient_country, postal_code = s.postal_code,"
    " recipient_name = s.recipient_name, recipient_city = s.recipient_city,"
    " recipient_address = s.recipient_address, recipient_phone = s.recipient_phone,"
    " weight_g = s.weight_g, length_mm = s.length_mm, width_mm = s.width_mm,"
    " height_mm = s.height_mm, declared_value = s.declared_value, currency = s.currency,"
    " item_description = s.item_description, hs_code = s.hs_code,"
    " rev = nextval('parcel_rev_seq'), updated_at = now()"
    " FROM wcs_stage s WHERE s.state IS NULL AND s.cls = 'u' AND p.id = s.pid"
    " RETURNING p.rev"
    ")"
    " SELECT count(*), max(rev) FROM u";

/* New codes of changed parcels. */
static const char SQL_ADD_IDS[] =
    "INSERT INTO parcel_ids (code, parcel_id, kind)"
    " SELECT c.code, s.pid, c.kind FROM wcs_stage_codes c JOIN wcs_stage s ON s.seq = c.seq"
    " WHERE s.state IS NULL AND s.cls = 'u' AND s.nnew > 0"
    " ON CONFLICT (code) DO NOTHING";

/* The other codes of parcel p, space-separated (codes never hold spaces:
 * parcel_ids.code is checked to be [0-9A-Z]). */
#define OTHER_CODES_EXPR                                                                           \
    "array_to_string(ARRAY(SELECT o.code FROM parcel_ids o"                                        \
    " WHERE o.parcel_id = p.id AND o.code <> p.code ORDER BY o.code), ' ')"

/* --- declarations built on import (docs/customs.md) -------------------- *
 * A row declares when its parcel is bound for RU (decl_body set) and it
 * inserts or changes the parcel. Its declaration replaces those stored under
 * any code of the parcel, unless one of them was already sent to the broker
 * (accepted, or in a batch being submitted): declaring a parcel twice is
 * worse than a stale declaration, so the change is reported, not sent. */
#define DECLARING "s.state IS NULL AND s.decl_body IS NOT NULL AND coalesce(s.cls, 'i') <> '='"
#define DECLARING_CODES                                                                            \
    "SELECT k.code FROM wcs_stage s JOIN wcs_stage_codes k ON k.seq = s.seq WHERE " DECLARING     \
    " UNION SELECT i.code FROM wcs_stage s JOIN parcel_ids i ON i.parcel_id = s.pid WHERE "        \
    DECLARING

/* D0: the open outbox rows of those declarations, locked so that no worker
 * claims one between the look (D1) and the replacement (D3); a claim
 * committed meanwhile is seen by D1 (read committed: a new snapshot). */
static const char SQL_DECL_LOCK[] =
    "SELECT 1 FROM customs_outbox o WHERE o.kind = 'declaration' AND o.done_at IS NULL"
    " AND o.payload_ref IN (" DECLARING_CODES ") ORDER BY o.id FOR UPDATE";

/* D1: the stored declarations each declaring row replaces, and whether each
 * was already sent. */
static const char SQL_DECL_OLD[] =
    "INSERT INTO wcs_stage_decl (seq, old, sent)"
    " SELECT DISTINCT s.seq, d.parcel_id, d.status = 'accepted' OR EXISTS ("
    "  SELECT 1 FROM customs_outbox o WHERE o.kind = 'declaration' AND o.payload_ref = d.parcel_id"
    "  AND o.done_at IS NULL AND o.batch_key IS NOT NULL)"
    " FROM (SELECT k.seq, k.code FROM wcs_stage_codes k"
    "       UNION SELECT s2.seq, i.code FROM wcs_stage s2 JOIN parcel_ids i ON i.parcel_id = s2.pid"
    "      ) c JOIN wcs_stage s ON s.seq = c.seq"
    " JOIN declarations d ON d.parcel_id = c.code WHERE " DECLARING;

/* D2: rows whose parcel has a declaration already sent keep it; the ones
 * that would change it are listed. */
static const char SQL_DECL_KEPT[] =
    "WITH k AS (SELECT DISTINCT seq FROM wcs_stage_decl WHERE sent),"
    " upd AS (UPDATE wcs_stage s SET decl_skip = true FROM k WHERE s.seq = k.seq)"
    " SELECT s.line, s.code, x.old, d.status FROM wcs_stage_decl x"
    " JOIN wcs_stage s ON s.seq = x.seq JOIN declarations d ON d.parcel_id = x.old"
    " WHERE x.sent AND d.body::text IS DISTINCT FROM s.decl_body ORDER BY s.seq, x.old";

/* D3: the replaced declarations and their unsent outbox rows go. */
static const char SQL_DECL_WITHDRAW[] =
    "WITH w AS (SELECT x.old FROM wcs_stage_decl x JOIN wcs_stage s ON s.seq = x.seq"
    "           WHERE NOT x.sent AND s.decl_skip IS NOT TRUE),"
    " o AS (DELETE FROM customs_outbox o USING w WHERE o.kind = 'declaration'"
    "       AND o.payload_ref = w.old AND o.done_at IS NULL)"
    " DELETE FROM declarations d USING w WHERE d.parcel_id = w.old";

/* D4: the new declarations, the valid ones queued for the broker, and the
 * parcels' customs status (blocked while invalid): one statement, so the
 * counts come back together. Returns queued, blocked, max(rev). */
static const char SQL_DECL_STORE[] =
    "WITH n AS ("
    "  SELECT s.code, s.decl_body, s.decl_status, s.decl_errors, s.decl_warnings, s.duty_cents,"
    "   s.duty_note, s.decl_broker,"
    "   CASE s.decl_status WHEN 'invalid' THEN 'blocked' ELSE 'pending' END AS cs"
    "  FROM wcs_stage s WHERE " DECLARING " AND s.decl_skip IS NOT TRUE"
    "), d AS ("
    "  INSERT INTO declarations (parcel_id, body, status, errors, warnings, duty_cents, duty_note,"
    "   broker)"
    "  SELECT code, decl_body::json, decl_status, decl_errors::jsonb, decl_warnings::jsonb,"
    "   duty_cents, duty_note, decl_broker FROM n RETURNING status"
    "), q AS ("
    "  INSERT INTO customs_outbox (kind, payload_ref, broker)"
    "  SELECT 'declaration', code, decl_broker FROM n WHERE decl_status = 'pending'"
    "), u AS ("
    "  UPDATE parcels p SET customs_status = n.cs, rev = nextval('parcel_rev_seq'),"
    "   updated_at = now() FROM n WHERE p.code = n.code AND p.customs_status <> n.cs"
    "  RETURNING p.rev"
    ")"
    " SELECT (SELECT count(*) FROM d WHERE status = 'pending'),"
    " (SELECT count(*) FROM d WHERE status = 'invalid'), (SELECT max(rev) FROM u)";

static const char SQL_SINCE_DECLARE[] =
    "DECLARE wcs_since NO SCROLL CURSOR FOR"
    " SELECT p.id, p.rev, p.code, p.service, p.recipient_country, coalesce(p.postal_code, ''),"
    " coalesce(p.weight_g, -1), coalesce(p.length_mm, -1), coalesce(p.width_mm, -1),"
    " coalesce(p.height_mm, -1), p.customs_status, " OTHER_CODES_EXPR
    " FROM parcels p WHERE p.rev > $1::bigint ORDER BY p.rev";
static const char SQL_SINCE_FETCH[] = "FETCH 10000 FROM wcs_since";
static const char SQL_SINCE_CLOSE[] = "CLOSE wcs_since";

static const char SQL_GET[] =
    "SELECT p.id, p.code, p.service, p.recipient_country, coalesce(p.postal_code, ''),"
    " coalesce(p.recipient_name, ''), coalesce(p.recipient_city, ''),"
    " coalesce(p.recipient_address, ''), coalesce(p.recipient_phone, ''),"
    " coalesce(p.weight_g, -1), coalesce(p.length_mm, -1), coalesce(p.width_mm, -1),"
    " coalesce(p.height_mm, -1), coalesce(p.declared_value, -1), coalesce(p.currency, ''),"
    " coalesce(p.item_description, ''), coalesce(p.hs_code, ''), p.customs_status, "
    OTHER_CODES_EXPR
    " FROM parcel_ids i JOIN parcels p ON p.id = i.parcel_id WHERE i.code = $1";

/* Unchanged status: no new rev, no notification (brokers repeat themselves). */
static const char SQL_SET_CUSTOMS[] =
    "WITH t AS (SELECT parcel_id FROM parcel_ids WHERE code = $1),"
    " u AS (UPDATE parcels p SET customs_status = $2, rev = nextval('parcel_rev_seq'),"
    "       updated_at = now()"
    "       FROM t WHERE p.id = t.parcel_id AND p.customs_status <> $2 RETURNING p.rev)"
    " SELECT (SELECT count(*) FROM t), (SELECT max(rev) FROM u)";
static const char SQL_NOTIFY[] = "SELECT pg_notify($1, $2)";

/* --- COPY text buffer ------------------------------------------------- */

#define COPY_FLUSH 65536

struct copybuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void cb_reserve(struct copybuf *b, size_t more)
{
    char *np;
    size_t ncap;

    if (b->oom || b->len + more <= b->cap)
        return;
    ncap = b->cap ? b->cap : COPY_FLUSH * 2;
    while (ncap < b->len + more)
        ncap *= 2;
    np = realloc(b->p, ncap);
    if (np == NULL) {
        b->oom = 1;
        return;
    }
    b->p = np;
    b->cap = ncap;
}

static void cb_raw(struct copybuf *b, const char *s, size_t n)
{
    cb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* A text column: "" is NULL (\N); the COPY text format escapes backslash,
 * tab, newline and carriage return. sep is '\t' or '\n' after the value. */
static void cb_text(struct copybuf *b, const char *s, char sep)
{
    const char *q;

    if (s[0] == '\0') {
        cb_raw(b, "\\N", 2);
    } else {
        cb_reserve(b, 2 * strlen(s));
        for (q = s; *q != '\0'; q++) {
            switch (*q) {
            case '\\': cb_raw(b, "\\\\", 2); break;
            case '\t': cb_raw(b, "\\t", 2); break;
            case '\n': cb_raw(b, "\\n", 2); break;
            case '\r': cb_raw(b, "\\r", 2); break;
            default: cb_raw(b, q, 1); break;
            }
        }
    }
    cb_raw(b, &sep, 1);
}

/* A number column: -1 means absent (NULL). Other negative values are sent
 * as they are so the table's CHECK refuses them. */
static void cb_num(struct copybuf *b, int64_t v, char sep)
{
    char tmp[32];
    int n;

    if (v == -1)
        n = snprintf(tmp, sizeof(tmp), "\\N%c", sep);
    else
        n = snprintf(tmp, sizeof(tmp), "%" PRId64 "%c", v, sep);
    cb_raw(b, tmp, (size_t)n);
}

static int cb_flush(PGconn *c, struct copybuf *b, const char *what, struct err *e)
{
    if (b->oom)
        return err_set(e, -ENOMEM, "%s: out of memory", what);
    if (b->len > 0 && PQputCopyData(c, b->p, (int)b->len) != 1)
        return wcs_db_fail(c, NULL, what, e);
    b->len = 0;
    return 0;
}

/* Ends a COPY started with PQexec: sends the end (or the abort message when
 * rc < 0) and collects the results. Returns rc, or ERR_DB. */
static int copy_end(PGconn *c, int rc, const char *what, struct err *e)
{
    PGresult *r;
    int out = rc;

    if (PQputCopyEnd(c, rc < 0 ? "aborted by client" : NULL) != 1 && out == 0)
        out = wcs_db_fail(c, NULL, what, e);
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && out == 0) {
            out = wcs_db_fail(c, r, what, e);
            continue;
        }
        PQclear(r);
    }
    return out;
}

static int copy_begin(PGconn *c, const char *sql, const char *what, struct err *e)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COPY_IN)
        return wcs_db_fail(c, r, what, e);
    PQclear(r);
    return 0;
}

/* --- upsert ----------------------------------------------------------- */

static int row_line(const int *lines, size_t i)
{
    return lines != NULL ? lines[i] : (int)i + 1;
}

/* The declaration columns of a row: built here, on the client, so the
 * customs rules stay in C (customs/validate.c), one place for the import and
 * for anything else that declares. */
static int copy_declaration(struct copybuf *b, const struct wcs_preadvice *a,
                            const struct wcs_declare_ctx *cx, struct err *e)
{
    struct wcs_declaration dc;
    int rc;

    const char *broker = NULL;

    if (!wcs_preadvice_declared(a)) {
        cb_raw(b, "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n", 21);
        return 0;
    }
    rc = wcs_declaration_build(a, cx, &dc, e);
    if (rc < 0)
        return rc;
    cb_text(b, dc.body, '\t');
    cb_text(b, dc.valid ? "pending" : "invalid", '\t');
    cb_text(b, dc.errors ? dc.errors : "", '\t');
    cb_text(b, dc.warnings ? dc.warnings : "", '\t');
    cb_num(b, dc.duty_known ? dc.duty_cents : -1, '\t');
    cb_text(b, dc.duty_note, '\t');
    if (cx->broker_of != NULL)
        broker = cx->broker_of(cx->broker_arg, a);
    cb_text(b, broker != NULL ? broker : "default", '\n');
    wcs_declaration_free(&dc);
    return 0;
}

static int copy_rows(PGconn *c, const struct wcs_preadvice *rows, const int *lines, size_t n,
                     const struct wcs_declare_ctx *cx, struct copybuf *b, struct err *e)
{
    static const char what[] = "upsert: copy rows";
    size_t i;
    int rc;

    rc = copy_begin(c, SQL_COPY_STAGE, what, e);
    if (rc < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        const struct wcs_preadvice *a = &rows[i];

        cb_num(b, (int64_t)i, '\t');
        cb_num(b, row_line(lines, i), '\t');
        cb_text(b, a->code, '\t');
        cb_text(b, a->service, '\t');
        cb_text(b, a->country, '\t');
        cb_text(b, a->postal_code, '\t');
        cb_text(b, a->recipient_name, '\t');
        cb_text(b, a->city, '\t');
        cb_text(b, a->address, '\t');
        cb_text(b, a->phone, '\t');
        cb_num(b, a->weight_g, '\t');
        cb_num(b, a->length_mm, '\t');
        cb_num(b, a->width_mm, '\t');
        cb_num(b, a->height_mm, '\t');
        cb_num(b, a->declared_value, '\t');
        cb_text(b, a->currency, '\t');
        cb_text(b, a->item_description, '\t');
        cb_text(b, a->hs_code, '\t');
        rc = copy_declaration(b, a, cx, e);
        if (rc == 0 && b->len >= COPY_FLUSH)
            rc = cb_flush(c, b, what, e);
    }
    if (rc == 0)
        rc = cb_flush(c, b, what, e);
    return copy_end(c, rc, what, e);
}

static const char *code_kind(const char *code)
{
    struct scan_code_info info;

    scan_code_check(code, strlen(code), &info);
    return scan_code_kind_name(info.kind);
}

/* One row per distinct code of each row, the primary at pos 0. */
static int copy_codes(PGconn *c, const struct wcs_preadvice *rows, size_t n, struct copybuf *b,
                      struct err *e)
{
    static const char what[] = "upsert: copy codes";
    size_t i;
    int rc, j, k;

    rc = copy_begin(c, SQL_COPY_CODES, what, e);
    if (rc < 0)
        return rc;
    for (i = 0; i < n && rc == 0; i++) {
        const struct wcs_preadvice *a = &rows[i];
        int nother = a->n_other_ids;

        if (nother < 0)
            nother = 0;
        if (nother > WCS_MAX_IDS - 1)
            nother = WCS_MAX_IDS - 1;
        for (j = -1; j < nother; j++) {
            const char *code = j < 0 ? a->code : a->other_ids[j];
            int dup = code[0] == '\0';

            /* A code repeated inside one row is the same identifier once. */
            for (k = -1; k < j && !dup; k++)
                dup = strcmp(code, k < 0 ? a->code : a->other_ids[k]) == 0;
            if (dup)
                continue;
            cb_num(b, (int64_t)i, '\t');
            cb_num(b, j + 1, '\t');
            cb_text(b, code, '\t');
            cb_text(b, code_kind(code), '\n');
        }
        if (b->len >= COPY_FLUSH)
            rc = cb_flush(c, b, what, e);
    }
    if (rc == 0)
        rc = cb_flush(c, b, what, e);
    return copy_end(c, rc, what, e);
}

static const char *pos_field(const char *pos)
{
    return strcmp(pos, "0") == 0 ? "code" : "other_ids";
}

/* FNV-1a; any spread will do for an in-memory set of codes. */
static uint32_t code_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Whether two rows of the batch share a code (the codes staged by
 * copy_codes: non-empty, each once per row), i.e. whether step 1 can find
 * anything. A set of the batch's codes in an open-addressing table.
 * Returns 1, 0, or -ENOMEM. */
static int batch_repeats(const struct wcs_preadvice *rows, size_t n)
{
    struct slot {
        const char *code;
        size_t row;
    } *tab;
    size_t cap = 16, i, k;
    int j, nother, found = 0;

    while (cap < 2 * WCS_MAX_IDS * n)
        cap *= 2;
    tab = calloc(cap, sizeof(*tab));
    if (tab == NULL)
        return -ENOMEM;
    for (i = 0; i < n && !found; i++) {
        nother = rows[i].n_other_ids;
        if (nother < 0)
            nother = 0;
        if (nother > WCS_MAX_IDS - 1)
            nother = WCS_MAX_IDS - 1;
        for (j = -1; j < nother && !found; j++) {
            const char *code = j < 0 ? rows[i].code : rows[i].other_ids[j];

            if (code[0] == '\0')
                continue;
            for (k = code_hash(code) & (cap - 1); tab[k].code != NULL; k = (k + 1) & (cap - 1)) {
                /* The same code twice in one row is one code (copy_codes). */
                if (strcmp(tab[k].code, code) == 0) {
                    found = tab[k].row != i;
                    break;
                }
            }
            if (tab[k].code == NULL) {
                tab[k].code = code;
                tab[k].row = i;
            }
        }
    }
    free(tab);
    return found;
}

/* Step 1, only when batch_repeats() says a code repeats. */
static int superseded_step(PGconn *c, const char *source, size_t *rejected, struct diag *d,
                           struct err *e)
{
    PGresult *r;
    int i, nt;

    r = wcs_db_query(c, "upsert: repeated codes", SQL_SUPERSEDED, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt; i++)
        diag_add(d, "%s:%s: %s: %s is pre-advised again at line %s; the later row wins", source,
                 PQgetvalue(r, i, 0), pos_field(PQgetvalue(r, i, 1)), PQgetvalue(r, i, 2),
                 PQgetvalue(r, i, 3));
    *rejected += (size_t)nt;
    PQclear(r);
    return 0;
}

/* Steps 2a-2c, reporting each problem; adds the rows rejected to *rejected. */
static int reject_steps(PGconn *c, const char *source, size_t *rejected, struct diag *d,
                        struct err *e)
{
    PGresult *r;
    char maxids[8];
    const char *p[1] = {maxids};
    int i, nt;
    long last;

    r = wcs_db_query(c, "upsert: match codes", SQL_MATCH, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    last = -1;
    for (i = 0; i < nt; i++) {
        long seq = atol(PQgetvalue(r, i, 1));

        diag_add(d, "%s:%s: %s: %s belongs to parcel %s", source, PQgetvalue(r, i, 0),
                 pos_field(PQgetvalue(r, i, 2)), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
        if (seq != last)
            (*rejected)++;
        last = seq;
    }
    PQclear(r);

    r = wcs_db_query(c, "upsert: rows for one parcel", SQL_SAME_PARCEL, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt; i++)
        diag_add(d, "%s:%s: code: %s is parcel %s, pre-advised again at line %s; the later row wins",
                 source, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 3),
                 PQgetvalue(r, i, 2));
    *rejected += (size_t)nt;
    PQclear(r);

    snprintf(maxids, sizeof(maxids), "%d", WCS_MAX_IDS);
    r = wcs_db_query(c, "upsert: codes per parcel", SQL_TOO_MANY, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt; i++)
        diag_add(d, "%s:%s: other_ids: parcel %s would carry %s codes, at most %d", source,
                 PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), WCS_MAX_IDS);
    *rejected += (size_t)nt;
    PQclear(r);
    return 0;
}

/* Runs an INSERT/UPDATE statement returning (count, max rev); adds the
 * count to *count and raises *max_rev. */
/* Raises *max_rev to the rev in column col of r's first row (NULL: none). */
static void take_rev(PGresult *r, int col, int64_t *max_rev)
{
    int64_t rev;

    if (PQgetisnull(r, 0, col))
        return;
    rev = strtoll(PQgetvalue(r, 0, col), NULL, 10);
    if (rev > *max_rev)
        *max_rev = rev;
}

static int write_step(PGconn *c, const char *what, const char *sql, size_t *count,
                      int64_t *max_rev, struct err *e)
{
    PGresult *r = wcs_db_query(c, what, sql, 0, NULL, e);

    if (r == NULL)
        return ERR_DB;
    *count += strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    take_rev(r, 1, max_rev);
    PQclear(r);
    return 0;
}

/* Steps D0-D4 (see the statements): the declarations of the rows that
 * insert or change a parcel bound for RU. Adds the rev of status changes to
 * *max_rev. */
static int declare_steps(PGconn *c, const char *source, struct wcs_upsert_result *res,
                         int64_t *max_rev, struct diag *d, struct err *e)
{
    PGresult *r;
    int i, nt;

    if (wcs_db_command(c, "upsert: declarations: lock", SQL_DECL_LOCK, 0, NULL, e) < 0 ||
        wcs_db_command(c, "upsert: declarations: stored", SQL_DECL_OLD, 0, NULL, e) < 0)
        return ERR_DB;
    r = wcs_db_query(c, "upsert: declarations: sent", SQL_DECL_KEPT, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    nt = PQntuples(r);
    for (i = 0; i < nt; i++)
        diag_add(d,
                 "%s:%s: declaration: %s was already %s as %s; this change is not sent (amend the"
                 " declaration with the broker)",
                 source, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                 strcmp(PQgetvalue(r, i, 3), "accepted") == 0 ? "accepted by the broker"
                                                              : "sent to the broker",
                 PQgetvalue(r, i, 2));
    res->decl_kept += (size_t)nt;
    PQclear(r);
    if (wcs_db_command(c, "upsert: declarations: withdraw", SQL_DECL_WITHDRAW, 0, NULL, e) < 0)
        return ERR_DB;
    r = wcs_db_query(c, "upsert: declarations: store", SQL_DECL_STORE, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    res->decl_queued = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    res->decl_blocked = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    take_rev(r, 2, max_rev);
    PQclear(r);
    return 0;
}

static int upsert_tx(PGconn *c, const struct wcs_preadvice *rows, const int *lines, size_t n,
                     const char *source, const struct wcs_declare_ctx *cx,
                     struct wcs_upsert_result *res, struct diag *d, struct err *e)
{
    struct copybuf b = {0};
    char key[24], revs[24];
    const char *p[1] = {key};
    const char *np[2] = {WCS_CHANNEL_PARCELS, revs};
    size_t written = 0;
    int64_t max_rev = 0;
    PGresult *r;
    int rc, repeats, known;

    repeats = batch_repeats(rows, n);
    if (repeats < 0)
        return err_set(e, repeats, "upsert: out of memory");
    snprintf(key, sizeof(key), "%lld", (long long)WCS_LOCK_PARCEL_REV);
    rc = wcs_db_command(c, "upsert: lock", SQL_LOCK_REV, 1, p, e);
    if (rc < 0)
        return rc;
    r = PQexec(c, SQL_STAGE_SETUP);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return wcs_db_fail(c, r, "upsert: staging tables", e);
    PQclear(r);

    rc = copy_rows(c, rows, lines, n, cx, &b, e);
    if (rc == 0)
        rc = copy_codes(c, rows, n, &b, e);
    free(b.p);
    if (rc < 0)
        return rc;

    if (repeats) {
        rc = superseded_step(c, source, &res->rejected, d, e);
        if (rc < 0)
            return rc;
    }
    r = wcs_db_query(c, "upsert: probe", SQL_PROBE, 0, NULL, e);
    if (r == NULL)
        return ERR_DB;
    known = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);

    if (!known) {
        /* Nothing to match: every accepted row is a new parcel. */
        res->inserted = n - res->rejected;
        if (res->inserted > 0 &&
            write_step(c, "upsert: insert", SQL_INSERT_ALL, &written, &max_rev, e) < 0)
            return ERR_DB;
    } else {
        rc = reject_steps(c, source, &res->rejected, d, e);
        if (rc < 0)
            return rc;
        r = wcs_db_query(c, "upsert: classify", SQL_COUNTS, 0, NULL, e);
        if (r == NULL)
            return ERR_DB;
        res->inserted = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        res->updated = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        res->unchanged = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
        PQclear(r);
        if (res->inserted > 0 &&
            write_step(c, "upsert: insert", SQL_INSERT, &written, &max_rev, e) < 0)
            return ERR_DB;
        if (res->updated > 0) {
            if (write_step(c, "upsert: update", SQL_UPDATE, &written, &max_rev, e) < 0)
                return ERR_DB;
            if (wcs_db_command(c, "upsert: codes", SQL_ADD_IDS, 0, NULL, e) < 0)
                return ERR_DB;
        }
    }
    /* Every row counted as written was written: anything else is a bug in
     * the statements above, and the batch is not committed. */
    if (written != res->inserted + res->updated)
        return err_set(e, ERR_DB, "upsert: %zu rows written, %zu expected", written,
                       res->inserted + res->updated);
    if (written > 0) {
        rc = declare_steps(c, source, res, &max_rev, d, e);
        if (rc < 0)
            return rc;
        /* Delivered to listeners on COMMIT only, so never for a rolled back batch. */
        snprintf(revs, sizeof(revs), "%" PRId64, max_rev);
        if (wcs_db_command(c, "upsert: notify", SQL_NOTIFY, 2, np, e) < 0)
            return ERR_DB;
    }
    return 0;
}

int wcs_db_preadvice_upsert(PGconn *c, const struct wcs_preadvice *rows, const int *lines,
                            size_t n, const char *source, const struct wcs_declare_ctx *cx,
                            struct wcs_upsert_result *res, struct diag *d, struct err *e)
{
    struct wcs_upsert_result tmp = {0};
    struct wcs_declare_ctx local;
    int rc;

    if (cx == NULL) {
        wcs_declare_ctx_init(&local);
        cx = &local;
    }
    memset(res, 0, sizeof(*res));
    if (n == 0)
        return 0;
    if (n > INT32_MAX)
        return err_set(e, ERR_INVALID, "upsert: batch of %zu rows is too large", n);
    rc = wcs_db_begin(c, "upsert", e);
    if (rc < 0)
        return rc;
    rc = upsert_tx(c, rows, lines, n, source != NULL ? source : "upsert", cx, &tmp, d, e);
    if (rc == 0)
        rc = wcs_db_commit(c, "upsert: commit", e);
    if (rc < 0) {
        wcs_db_rollback(c);
        return rc;
    }
    *res = tmp;
    return 0;
}

/* --- reading ---------------------------------------------------------- */

/* Makes ptrs hold the primary code then each code of the space-separated
 * list (split in place). Returns the number of codes, or -ENOMEM. */
static int split_codes(char *list, const char ***ptrs, size_t *cap, const char *primary)
{
    size_t n = 0;
    char *save = NULL, *src = list;
    const char *code = primary;

    while (code != NULL) {
        if (n + 1 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 8;
            const char **np = realloc(*ptrs, ncap * sizeof(**ptrs));

            if (np == NULL)
                return -ENOMEM;
            *ptrs = np;
            *cap = ncap;
        }
        (*ptrs)[n++] = code;
        code = strtok_r(src, " ", &save);
        src = NULL;
    }
    return (int)n;
}

static enum cust_status status_of(const char *s)
{
    enum cust_status st = CUST_STATUS_NONE;

    if (cust_status_parse(s, &st) < 0)
        st = CUST_STATUS_NONE; /* the table's CHECK allows only known words */
    return st;
}

/* Copies a column into a fixed buffer; a value that does not fit is an error,
 * never a silent truncation. */
static int col_copy(char *dst, size_t size, PGresult *r, int row, int col, const char *field,
                    struct err *e)
{
    int len = PQgetlength(r, row, col);

    if ((size_t)len >= size)
        return err_set(e, ERR_DB, "parcel %s: %s: %d bytes in the database, at most %zu",
                       PQgetvalue(r, row, 1), field, len, size - 1);
    memcpy(dst, PQgetvalue(r, row, col), (size_t)len);
    dst[len] = '\0';
    return 0;
}

static int since_batch(PGresult *r, wcs_parcel_cb cb, void *arg, int64_t *max_rev,
                       const char ***ptrs, size_t *cap, struct err *e)
{
    int i, nt = PQntuples(r), n, rc;

    for (i = 0; i < nt; i++) {
        struct wcs_preadvice a;
        struct wcs_parcel p;

        memset(&a, 0, sizeof(a));
        rc = col_copy(a.code, sizeof(a.code), r, i, 2, "code", e);
        if (rc == 0)
            rc = col_copy(a.service, sizeof(a.service), r, i, 3, "service", e);
        if (rc == 0)
            rc = col_copy(a.country, sizeof(a.country), r, i, 4, "country", e);
        if (rc == 0)
            rc = col_copy(a.postal_code, sizeof(a.postal_code), r, i, 5, "postal_code", e);
        if (rc < 0)
            return rc;
        a.weight_g = atoi(PQgetvalue(r, i, 6));
        a.length_mm = atoi(PQgetvalue(r, i, 7));
        a.width_mm = atoi(PQgetvalue(r, i, 8));
        a.height_mm = atoi(PQgetvalue(r, i, 9));
        a.declared_value = -1;
        a.customs = status_of(PQgetvalue(r, i, 10));
        /* One conversion rule for the compact record, shared with the rest. */
        wcs_parcel_from_preadvice(&p, &a);
        p.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        n = split_codes(PQgetvalue(r, i, 11), ptrs, cap, a.code);
        if (n < 0)
            return err_set(e, n, "parcels since: out of memory");
        rc = cb(arg, &p, *ptrs, (size_t)n);
        if (rc != 0)
            return rc;
        *max_rev = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    }
    return 0;
}

int wcs_db_parcels_since(PGconn *c, int64_t since_rev, wcs_parcel_cb cb, void *arg,
                         int64_t *max_rev, struct err *e)
{
    char since[24];
    const char *p[1] = {since};
    const char **ptrs = NULL;
    size_t cap = 0;
    PGresult *r;
    int rc;

    *max_rev = since_rev;
    snprintf(since, sizeof(since), "%" PRId64, since_rev);
    rc = wcs_db_begin(c, "parcels since", e);
    if (rc < 0)
        return rc;
    /* A cursor inside one transaction: one snapshot, and only 10000 rows in
     * memory at a time however many parcels there are. */
    rc = wcs_db_command(c, "parcels since: declare", SQL_SINCE_DECLARE, 1, p, e);
    while (rc == 0) {
        r = wcs_db_query(c, "parcels since: fetch", SQL_SINCE_FETCH, 0, NULL, e);
        if (r == NULL) {
            rc = ERR_DB;
            break;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            break;
        }
        rc = since_batch(r, cb, arg, max_rev, &ptrs, &cap, e);
        PQclear(r);
    }
    free(ptrs);
    if (rc == 0)
        rc = wcs_db_command(c, "parcels since: close", SQL_SINCE_CLOSE, 0, NULL, e);
    if (rc == 0)
        rc = wcs_db_commit(c, "parcels since: commit", e);
    if (rc != 0)
        wcs_db_rollback(c);
    return rc;
}

int wcs_db_parcel_get(PGconn *c, const char *code, struct wcs_preadvice *out, int64_t *id,
                      struct err *e)
{
    const char *p[1] = {code};
    PGresult *r;
    char *save = NULL, *tok;
    int rc = 0, n = 0;

    r = wcs_db_query(c, "parcel get", SQL_GET, 1, p, e);
    if (r == NULL)
        return ERR_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(e, ERR_NOTFOUND, "parcel %s: not pre-advised", code);
    }
    memset(out, 0, sizeof(*out));
    if (id != NULL)
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    rc = col_copy(out->code, sizeof(out->code), r, 0, 1, "code", e);
    if (rc == 0)
        rc = col_copy(out->service, sizeof(out->service), r, 0, 2, "service", e);
    if (rc == 0)
        rc = col_copy(out->country, sizeof(out->country), r, 0, 3, "country", e);
    if (rc == 0)
        rc = col_copy(out->postal_code, sizeof(out->postal_code), r, 0, 4, "postal_code", e);
    if (rc == 0)
        rc = col_copy(out->recipient_name, sizeof(out->recipient_name), r, 0, 5,
                      "recipient_name", e);
    if (rc == 0)
        rc = col_copy(out->city, sizeof(out->city), r, 0, 6, "city", e);
    if (rc == 0)
        rc = col_copy(out->address, sizeof(out->address), r, 0, 7, "address", e);
    if (rc == 0)
        rc = col_copy(out->phone, sizeof(out->phone), r, 0, 8, "phone", e);
    if (rc == 0)
        rc = col_copy(out->currency, sizeof(out->currency), r, 0, 14, "currency", e);
    if (rc == 0)
        rc = col_copy(out->item_description, sizeof(out->item_description), r, 0, 15,
                      "item_description", e);
    if (rc == 0)
        rc = col_copy(out->hs_code, sizeof(out->hs_code), r, 0, 16, "hs_code", e);
    if (rc < 0) {
        PQclear(r);
        return rc;
    }
    out->weight_g = atoi(PQgetvalue(r, 0, 9));
    out->length_mm = atoi(PQgetvalue(r, 0, 10));
    out->width_mm = atoi(PQgetvalue(r, 0, 11));
    out->height_mm = atoi(PQgetvalue(r, 0, 12));
    out->declared_value = strtoll(PQgetvalue(r, 0, 13), NULL, 10);
    out->customs = status_of(PQgetvalue(r, 0, 17));
    for (tok = strtok_r(PQgetvalue(r, 0, 18), " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        /* The upsert keeps a parcel at WCS_MAX_IDS codes; more means rows
         * written around it, reported rather than cut short. */
        if (n >= WCS_MAX_IDS - 1 || strlen(tok) > WCS_CODE_MAX) {
            rc = err_set(e, ERR_DB, "parcel %s: more codes than fit (%d at most)", out->code,
                         WCS_MAX_IDS);
            break;
        }
        snprintf(out->other_ids[n], sizeof(out->other_ids[n]), "%s", tok);
        n++;
    }
    out->n_other_ids = n;
    PQclear(r);
    return rc;
}

int wcs_db_parcel_customs_in_tx(PGconn *c, const char *code, enum cust_status s, struct err *e)
{
    char key[24];
    const char *lp[1] = {key};
    const char *p[2] = {code, cust_status_name(s)};
    const char *np[2] = {WCS_CHANNEL_PARCELS, NULL};
    PGresult *r;
    int rc = 0;

    if ((unsigned)s >= CUST_STATUS_COUNT)
        return err_set(e, ERR_INVALID, "parcel %s: customs status %d unknown", code, (int)s);
    snprintf(key, sizeof(key), "%lld", (long long)WCS_LOCK_PARCEL_REV);
    rc = wcs_db_command(c, "set customs: lock", SQL_LOCK_REV, 1, lp, e);
    if (rc < 0)
        return rc;
    r = wcs_db_query(c, "set customs", SQL_SET_CUSTOMS, 2, p, e);
    if (r == NULL)
        return ERR_DB;
    if (strcmp(PQgetvalue(r, 0, 0), "0") == 0) {
        rc = err_set(e, ERR_NOTFOUND, "parcel %s: not pre-advised", code);
    } else if (!PQgetisnull(r, 0, 1)) {
        np[1] = PQgetvalue(r, 0, 1);
        rc = wcs_db_command(c, "set customs: notify", SQL_NOTIFY, 2, np, e);
    }
    PQclear(r);
    return rc;
}

int wcs_db_parcel_set_customs(PGconn *c, const char *code, enum cust_status s, struct err *e)
{
    int rc;

    if ((unsigned)s >= CUST_STATUS_COUNT)
        return err_set(e, ERR_INVALID, "parcel %s: customs status %d unknown", code, (int)s);
    rc = wcs_db_begin(c, "set customs", e);
    if (rc < 0)
        return rc;
    rc = wcs_db_parcel_customs_in_tx(c, code, s, e);
    if (rc < 0)
        goto fail;
    rc = wcs_db_commit(c, "set customs: commit", e);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    wcs_db_rollback(c);
    return rc;
}
