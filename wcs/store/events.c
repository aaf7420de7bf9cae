/*
 * events.c - event kinds, event ids, and the COPY that writes events.
 *
 * Rows go to the server in COPY text format: one line per event, fields
 * separated by tabs, backslash, tab, newline and carriage return escaped,
 * an empty optional field sent as \N (NULL). Text is made valid UTF-8 here
 * (bad bytes become '?') because the server rejects a whole COPY for one
 * bad byte, and a batch the server always refuses would stall the log.
 * Timestamps are written as ISO 8601 with an explicit +00 offset so the
 * session's TimeZone does not matter. Telegram log rows (table telegrams)
 * use the same encoding and the same two paths (plain COPY, staged
 * idempotent COPY), through one table description per kind of row.
 */
#include "wcs/store/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[WCS_EVENT_KIND_COUNT] = {
    [WCS_EVENT_SCAN] = "scan",       [WCS_EVENT_DECISION] = "decision",
    [WCS_EVENT_CONFIRM] = "confirm", [WCS_EVENT_OPERATOR] = "operator",
    [WCS_EVENT_SYSTEM] = "system",
};

const char *wcs_event_kind_name(enum wcs_event_kind k)
{
    if ((unsigned)k >= WCS_EVENT_KIND_COUNT)
        return "unknown";
    return kind_names[k];
}

/* --- checks ----------------------------------------------------------- */

int wcs_event_check(const struct wcs_event *ev, int allow_zero_id, struct err *e)
{
    if (ev->id < 0 || (ev->id == 0 && !allow_zero_id))
        return err_set(e, ERR_INVALID, "event id %lld: must be > 0", (long long)ev->id);
    if (ev->kind >= WCS_EVENT_KIND_COUNT)
        return err_set(e, ERR_INVALID, "event %lld: kind %u out of range", (long long)ev->id,
                       (unsigned)ev->kind);
    if (ev->at_us < 0 || ev->at_us > WCS_EVENT_AT_US_MAX)
        return err_set(e, ERR_INVALID, "event %lld: at_us %lld out of range 0..year 9999",
                       (long long)ev->id, (long long)ev->at_us);
    return 0;
}

int wcs_telegram_check(const struct wcs_telegram_rec *tg, int allow_zero_id, struct err *e)
{
    if (tg->id < 0 || (tg->id == 0 && !allow_zero_id))
        return err_set(e, ERR_INVALID, "telegram id %lld: must be > 0", (long long)tg->id);
    if (tg->at_us < 0 || tg->at_us > WCS_EVENT_AT_US_MAX)
        return err_set(e, ERR_INVALID, "telegram %lld: at_us %lld out of range 0..year 9999",
                       (long long)tg->id, (long long)tg->at_us);
    if (tg->direction != 'i' && tg->direction != 'o')
        return err_set(e, ERR_INVALID, "telegram %lld: direction must be 'i' or 'o'",
                       (long long)tg->id);
    if (tg->seq > 99999)
        return err_set(e, ERR_INVALID, "telegram %lld: seq %u above 99999", (long long)tg->id,
                       (unsigned)tg->seq);
    if (tg->raw_len > WCS_TELEGRAM_RAW_MAX)
        return err_set(e, ERR_INVALID, "telegram %lld: raw_len %zu above %d", (long long)tg->id,
                       tg->raw_len, WCS_TELEGRAM_RAW_MAX);
    return 0;
}

/* --- COPY text encoding ------------------------------------------------ */

/* Rows are encoded into a fixed buffer sent with PQputCopyData whenever
 * fewer than ROW_MAX bytes remain. A row cannot exceed ROW_MAX: every input
 * byte becomes at most two output bytes, so an event's text fields give at
 * most 2 * (32 + 20 + 20 + 8 + 20 + 127) = 454 bytes, a telegram's
 * 2 * (5 + 4 + 1024) = 2066, plus numbers, timestamp and separators (< 100). */
#define COPY_BUF_SIZE 65536
#define ROW_MAX 2304

struct copybuf {
    char data[COPY_BUF_SIZE];
    size_t len;
};

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * when the bytes there are not one (bad lead byte, bad or missing
 * continuation, overlong form, surrogate, beyond U+10FFFF). RFC 3629 s. 4. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0)
        return 0; /* overlong */
    if (c == 0xED && s[1] > 0x9F)
        return 0; /* UTF-16 surrogate */
    if (c == 0xF0 && s[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xF4 && s[1] > 0x8F)
        return 0; /* beyond U+10FFFF */
    return len;
}

/* Appends n bytes escaped for COPY text format; a NUL (which no text
 * value may hold) and bytes that are not UTF-8 become '?'. */
static void put_bytes(struct copybuf *b, const char *field, size_t n)
{
    const unsigned char *s = (const unsigned char *)field;
    size_t i = 0, k;
    char *o = b->data + b->len;

    while (i < n) {
        unsigned char c = s[i];

        if (c < 0x80) {
            switch (c) {
            case '\\':
                *o++ = '\\';
                *o++ = '\\';
                break;
            case '\t':
                *o++ = '\\';
                *o++ = 't';
                break;
            case '\n':
                *o++ = '\\';
                *o++ = 'n';
                break;
            case '\r':
                *o++ = '\\';
                *o++ = 'r';
                break;
            case '\0':
                *o++ = '?';
                break;
            default:
                *o++ = (char)c;
                break;
            }
            i++;
            continue;
        }
        k = utf8_seq_len(s + i, n - i);
        if (k == 0) {
            *o++ = '?';
            i++;
            continue;
        }
        memcpy(o, s + i, k);
        o += k;
        i += k;
    }
    b->len = (size_t)(o - b->data);
}

/* Appends field (at most max bytes, stops at NUL) escaped, or \N when it is
 * empty. */
static void put_text(struct copybuf *b, const char *field, size_t max)
{
    size_t n = strnlen(field, max);

    if (n == 0) {
        b->data[b->len++] = '\\';
        b->data[b->len++] = 'N';
        return;
    }
    put_bytes(b, field, n);
}

static void put_time(struct copybuf *b, int64_t at_us)
{
    int64_t secs = at_us / 1000000, usec = at_us % 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    int n;

    gmtime_r(&t, &tm);
    n = snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)usec);
    b->len += (size_t)n;
}

/* Appends event i of rows as a COPY line. The caller has checked it. */
static void put_event_row(struct copybuf *b, const void *rows, size_t i)
{
    const struct wcs_event *ev = (const struct wcs_event *)rows + i;

    b->len +=
        (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "%lld\t", (long long)ev->id);
    put_time(b, ev->at_us);
    b->len +=
        (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "\t%s\t", kind_names[ev->kind]);
    put_text(b, ev->parcel_code, sizeof(ev->parcel_code));
    b->data[b->len++] = '\t';
    put_text(b, ev->location, sizeof(ev->location));
    b->data[b->len++] = '\t';
    put_text(b, ev->chute, sizeof(ev->chute));
    b->data[b->len++] = '\t';
    put_text(b, ev->reason, sizeof(ev->reason));
    b->data[b->len++] = '\t';
    put_text(b, ev->source, sizeof(ev->source));
    b->data[b->len++] = '\t';
    put_text(b, ev->detail, sizeof(ev->detail));
    b->data[b->len++] = '\n';
}

/* Appends telegram i of rows as a COPY line; empty text is '' (the columns
 * are NOT NULL: no content may make the server refuse a batch). */
static void put_telegram_row(struct copybuf *b, const void *rows, size_t i)
{
    const struct wcs_telegram_rec *tg = (const struct wcs_telegram_rec *)rows + i;

    b->len +=
        (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "%lld\t", (long long)tg->id);
    put_time(b, tg->at_us);
    b->data[b->len++] = '\t';
    put_bytes(b, tg->plc, strnlen(tg->plc, sizeof(tg->plc)));
    b->len += (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "\t%c\t", tg->direction);
    put_bytes(b, tg->type, strnlen(tg->type, sizeof(tg->type)));
    b->len +=
        (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "\t%u\t", (unsigned)tg->seq);
    put_bytes(b, tg->raw, tg->raw_len);
    b->len += (size_t)snprintf(b->data + b->len, COPY_BUF_SIZE - b->len, "\t%c\n",
                               tg->refused ? 't' : 'f');
}

/* A kind of row: its table, staging table, columns, encoder and check. */
struct row_kind {
    const char *what;    /* "events", "telegrams": for messages */
    const char *table;   /* target table */
    const char *staging; /* session temp table of the idempotent path */
    const char *cols;    /* column list, in the encoder's order */
    size_t size;         /* sizeof one row */
    void (*put)(struct copybuf *b, const void *rows, size_t i);
    int (*check)(const void *row, struct err *e);
};

static int check_event(const void *row, struct err *e)
{
    return wcs_event_check(row, 0, e);
}

static int check_telegram(const void *row, struct err *e)
{
    return wcs_telegram_check(row, 0, e);
}

static const struct row_kind event_rows = {
    .what = "events",
    .table = "events",
    .staging = "wcs_events_in",
    .cols = "id, at, kind, parcel_code, location, chute, reason, source, detail",
    .size = sizeof(struct wcs_event),
    .put = put_event_row,
    .check = check_event,
};

static const struct row_kind telegram_rows = {
    .what = "telegrams",
    .table = "telegrams",
    .staging = "wcs_telegrams_in",
    .cols = "id, at, plc, direction, type, seq, raw, refused",
    .size = sizeof(struct wcs_telegram_rec),
    .put = put_telegram_row,
    .check = check_telegram,
};

/* Maps a failed result to ERR_CONFLICT (unique violation) or ERR_DB. */
static int db_fail(PGconn *c, const PGresult *r, const char *what, struct err *e)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : "";
    int code = state && strcmp(state, "23505") == 0 ? ERR_CONFLICT : ERR_DB;

    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(c);
    return err_set(e, code, "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

/* Reads every remaining result so the connection is ready for the next
 * command; returns the first failure seen (0 if none). */
static int drain_results(PGconn *c, const char *what, struct err *e)
{
    PGresult *r;
    int rc = 0;

    while ((r = PQgetResult(c)) != NULL) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = db_fail(c, r, what, e);
        PQclear(r);
    }
    return rc;
}

static int check_all(const struct row_kind *k, const void *rows, size_t n, struct err *e)
{
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        rc = k->check((const char *)rows + i * k->size, e);
        if (rc < 0)
            return err_wrap(e, rc, "%s: row %zu of %zu", k->what, i, n);
    }
    return 0;
}

/* The one COPY that writes rows of kind k, into `table` (the kind's table
 * or its staging table, which has the same columns). */
static int copy_into(PGconn *c, const struct row_kind *k, const char *table, const void *rows,
                     size_t n, struct err *e)
{
    struct copybuf *buf;
    char sql[200], what[40];
    PGresult *r;
    size_t i;
    int rc;

    snprintf(what, sizeof(what), "COPY %s", k->what);
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", table, k->cols);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        rc = db_fail(c, r, what, e);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    /* 64 KB per call, from the heap: not worth a thread's stack or TLS. */
    buf = malloc(sizeof(*buf));
    if (buf == NULL) {
        PQputCopyEnd(c, "client out of memory");
        drain_results(c, what, NULL);
        return err_set(e, -ENOMEM, "%s: out of memory", what);
    }
    buf->len = 0;
    for (i = 0; i < n; i++) {
        k->put(buf, rows, i);
        if (COPY_BUF_SIZE - buf->len < ROW_MAX || i + 1 == n) {
            if (PQputCopyData(c, buf->data, (int)buf->len) != 1) {
                rc = err_set(e, ERR_DB, "%s: sending rows: %.*s", what,
                             (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
                free(buf);
                /* Ends the COPY so the connection is usable (or known dead). */
                PQputCopyEnd(c, "client failed to send rows");
                drain_results(c, what, NULL);
                return rc;
            }
            buf->len = 0;
        }
    }
    free(buf);
    if (PQputCopyEnd(c, NULL) != 1) {
        rc = err_set(e, ERR_DB, "%s: end: %.*s", what, (int)strcspn(PQerrorMessage(c), "\n"),
                     PQerrorMessage(c));
        drain_results(c, what, NULL);
        return rc;
    }
    return drain_results(c, what, e);
}

static int copy_plain(PGconn *c, const struct row_kind *k, const void *rows, size_t n,
                      struct err *e)
{
    int rc;

    if (n == 0)
        return 0;
    rc = check_all(k, rows, n, e);
    if (rc < 0)
        return rc;
    return copy_into(c, k, k->table, rows, n, e);
}

int wcs_db_events_copy(PGconn *c, const struct wcs_event *ev, size_t n, struct err *e)
{
    return copy_plain(c, &event_rows, ev, n, e);
}

int wcs_db_telegrams_copy(PGconn *c, const struct wcs_telegram_rec *tg, size_t n, struct err *e)
{
    return copy_plain(c, &telegram_rows, tg, n, e);
}

/* Runs one statement expected to return no rows. */
static int exec_ok(PGconn *c, const char *sql, const char *what, PGresult **keep, struct err *e)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = db_fail(c, r, what, e);
    if (rc == 0 && keep != NULL) {
        *keep = r;
        return 0;
    }
    PQclear(r);
    return rc;
}

/* Counts the comma-separated ids of the staging query and stores the first
 * cap of them in foreign[] (may be NULL). */
static size_t parse_ids(const char *list, int64_t *foreign, size_t cap)
{
    const char *p = list;
    size_t k = 0;

    while (*p != '\0') {
        if (foreign != NULL && k < cap)
            foreign[k] = (int64_t)strtoll(p, NULL, 10);
        k++;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        p++;
    }
    return k;
}

static int copy_idempotent(PGconn *c, const struct row_kind *k, const void *rows, size_t n,
                           size_t *inserted, int64_t *foreign, size_t *nforeign, struct err *e)
{
    PGresult *r = NULL;
    char sql[1200];
    size_t nf = 0;
    int rc, missing;

    if (inserted != NULL)
        *inserted = 0;
    if (nforeign != NULL)
        *nforeign = 0;
    if (n == 0)
        return 0;
    rc = check_all(k, rows, n, e);
    if (rc < 0)
        return rc;
    /* ON COMMIT DELETE ROWS would empty the staging table between the COPY
     * and the INSERT of two autocommitted statements. */
    if (PQtransactionStatus(c) != PQTRANS_INTRANS)
        return err_set(e, ERR_STATE, "%s: idempotent copy needs an open transaction", k->what);
    /* Checking first instead of CREATE .. IF NOT EXISTS avoids a NOTICE on
     * every call; the round trip is small next to the COPY. */
    snprintf(sql, sizeof(sql), "SELECT to_regclass('pg_temp.%s') IS NULL", k->staging);
    rc = exec_ok(c, sql, "staging table", &r, e);
    if (rc < 0)
        return rc;
    missing = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (missing) {
        snprintf(sql, sizeof(sql),
                 "CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DELETE ROWS",
                 k->staging, k->table);
        rc = exec_ok(c, sql, "create staging table", NULL, e);
        if (rc < 0)
            return rc;
    }
    rc = copy_into(c, k, k->staging, rows, n, e);
    if (rc < 0)
        return rc;
    /* One statement: DELETE .. RETURNING empties the staging table (a second
     * call in one transaction does not see these rows again), the INSERT
     * skips ids already stored, and the SELECT names the staged rows that
     * are neither inserted now nor stored before exactly as they are: their
     * id belongs to another row (a foreign one). A skipped row identical to
     * the stored one is this caller's own earlier commit. The table is read
     * with the statement's snapshot, so a row committed concurrently counts
     * as foreign: stored again under a new id rather than lost. */
    snprintf(sql, sizeof(sql),
             "WITH staged AS (DELETE FROM %s RETURNING %s),"
             " ins AS (INSERT INTO %s (%s) SELECT %s FROM staged ON CONFLICT (id) DO NOTHING"
             " RETURNING %s)"
             " SELECT (SELECT count(*) FROM ins),"
             " (SELECT string_agg(g.id::text, ',') FROM staged g"
             " WHERE NOT EXISTS (SELECT 1 FROM ins i WHERE i.id = g.id"
             " AND ROW(i.*) IS NOT DISTINCT FROM ROW(g.*))"
             " AND NOT EXISTS (SELECT 1 FROM (SELECT %s FROM %s x WHERE x.id = g.id) t"
             " WHERE ROW(t.*) IS NOT DISTINCT FROM ROW(g.*)))",
             k->staging, k->cols, k->table, k->cols, k->cols, k->cols, k->cols, k->table);
    rc = exec_ok(c, sql, "insert from staging table", &r, e);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 1) {
        if (inserted != NULL)
            *inserted = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        if (!PQgetisnull(r, 0, 1))
            nf = parse_ids(PQgetvalue(r, 0, 1), foreign, n);
    }
    if (nforeign != NULL)
        *nforeign = nf;
    PQclear(r);
    return 0;
}

int wcs_db_events_copy_idempotent(PGconn *c, const struct wcs_event *ev, size_t n, size_t *inserted,
                                  int64_t *foreign, size_t *nforeign, struct err *e)
{
    return copy_idempotent(c, &event_rows, ev, n, inserted, foreign, nforeign, e);
}

int wcs_db_telegrams_copy_idempotent(PGconn *c, const struct wcs_telegram_rec *tg, size_t n,
                                     size_t *inserted, int64_t *foreign, size_t *nforeign,
                                     struct err *e)
{
    return copy_idempotent(c, &telegram_rows, tg, n, inserted, foreign, nforeign, e);
}
