/*
 * test-import.c - pre-advice import: the pure reader (exact counts and exact
 * "FILE:LINE: field: reason" messages for CSV and JSON Lines, multi-line CSV
 * records, broken headers) and the import into the store (counts, re-import
 * unchanged, a broken header loads nothing) against the fixture's server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/common/testdb.h"
#include "wcs/store/import.h"
#include "wcs/store/store.h"

struct got {
    int n;
    int lines[64];
    struct wcs_preadvice rows[64];
};

static int collect_cb(void *arg, const struct wcs_preadvice *row, int line)
{
    struct got *g = arg;

    if (g->n < 64) {
        g->rows[g->n] = *row;
        g->lines[g->n] = line;
    }
    g->n++;
    return 0;
}

/* Asserts d holds exactly the messages of want (NULL-terminated), each
 * prefixed by path. */
static void assert_diags(const struct diag *d, const char *path, const char *const *want)
{
    char buf[1024];
    size_t i;

    for (i = 0; want[i] != NULL; i++) {
        snprintf(buf, sizeof(buf), "%s:%s", path, want[i]);
        if (i >= d->n)
            fail_msg("missing message %zu: %s", i, buf);
        if (strcmp(d->msgs[i], buf) != 0)
            fail_msg("message %zu:\n  got  %s\n  want %s", i, d->msgs[i], buf);
    }
    if (d->n != i)
        fail_msg("%zu messages, want %zu; extra: %s", d->n, i, d->msgs[i]);
}

static void test_read_csv(void **state)
{
    static const char *const want[] = {
        "4: code: RR123456711CN is not a valid parcel code (s10 check digit 1, expected 0)",
        "5: postal_code: required for RU",
        "8: country: 'ru' is not 2 upper-case letters (ISO 3166 alpha-2)",
        "8: weight_g: required",
        "9: row: 7 fields, expected 17",
        "10: phone: '12345' is not '+' and 7-15 digits (E.164)",
        "10: currency: required with declared_value",
        "11: weight_g: -5 is negative",
        "12: service: 12 bytes, at most 8",
        NULL,
    };
    char path[1024];
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct got g;

    (void)state;
    memset(&g, 0, sizeof(g));
    testdb_source_path("tests/data/preadvice-mixed.csv", path, sizeof(path));
    assert_int_equal(wcs_preadvice_read_file(path, collect_cb, &g, &counts, &d, &e), 0);
    assert_diags(&d, path, want);
    assert_int_equal(counts.rows, 11);
    assert_int_equal(counts.good, 4);
    assert_int_equal(counts.bad, 7);
    assert_int_equal(g.n, 4);

    assert_int_equal(g.lines[0], 2);
    assert_string_equal(g.rows[0].code, "LP00000000000001");
    assert_int_equal(g.rows[0].n_other_ids, 0);
    assert_string_equal(g.rows[0].address, "ul. Lenina 1, kv. 5");
    assert_int_equal(g.rows[0].weight_g, 850);
    assert_int_equal(g.rows[0].height_mm, 100);
    assert_int_equal(g.rows[0].declared_value, 2599);
    assert_string_equal(g.rows[0].currency, "USD");
    assert_string_equal(g.rows[0].hs_code, "392690");

    assert_int_equal(g.lines[1], 3);
    assert_int_equal(g.rows[1].n_other_ids, 1);
    assert_string_equal(g.rows[1].other_ids[0], "LP00000000000002");
    assert_int_equal(g.rows[1].length_mm, -1);

    /* A quoted field across two lines: the record's first line counts. */
    assert_int_equal(g.lines[2], 6);
    assert_string_equal(g.rows[2].recipient_name, "Aigul\nNurlanova");
    assert_string_equal(g.rows[2].country, "KZ");

    assert_int_equal(g.lines[3], 13);
    assert_string_equal(g.rows[3].code, "RR123456745CN");
    diag_free(&d);
}

static void test_read_jsonl(void **state)
{
    static const char *const want[] = {
        "3: weight_g: must be a whole number",
        "4: row: not a JSON object",
        "5: row: invalid JSON at column 15: invalid token near 'broken'",
        "6: color: unknown field",
        NULL,
    };
    char path[1024];
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct got g;

    (void)state;
    memset(&g, 0, sizeof(g));
    testdb_source_path("tests/data/preadvice.jsonl", path, sizeof(path));
    assert_int_equal(wcs_preadvice_read_file(path, collect_cb, &g, &counts, &d, &e), 0);
    assert_diags(&d, path, want);
    assert_int_equal(counts.rows, 6);
    assert_int_equal(counts.good, 2);
    assert_int_equal(counts.bad, 4);
    assert_int_equal(g.lines[0], 1);
    assert_string_equal(g.rows[0].other_ids[0], "LP00000000000011");
    assert_int_equal(g.rows[0].declared_value, 12000);
    assert_int_equal(g.lines[1], 7);
    assert_int_equal(g.rows[1].length_mm, 300);
    assert_string_equal(g.rows[1].recipient_name, "Елена Иванова");
    diag_free(&d);
}

static void test_read_bad_header(void **state)
{
    char path[1024], want[1200];
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct got g;

    (void)state;
    memset(&g, 0, sizeof(g));
    testdb_source_path("tests/data/preadvice-bad-header.csv", path, sizeof(path));
    assert_int_equal(wcs_preadvice_read_file(path, collect_cb, &g, &counts, &d, &e), ERR_PARSE);
    snprintf(want, sizeof(want), "%s:1: header: unknown column weight", path);
    assert_string_equal(e.msg, want);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.msgs[0], want);
    snprintf(want, sizeof(want), "%s:1: header: missing required column weight_g", path);
    assert_string_equal(d.msgs[1], want);
    assert_int_equal(g.n, 0);
    assert_int_equal(counts.rows, 0);
    diag_free(&d);

    assert_true(wcs_preadvice_read_file("/nonexistent/x.csv", collect_cb, &g, &counts, &d, &e) <
                0);
    assert_int_not_equal(e.msg[0], '\0');
}

/* Writes text to a temporary file named with suffix; path into buf. */
static void temp_file(const char *text, const char *suffix, char *buf, size_t len)
{
    FILE *fp;

    snprintf(buf, len, "/tmp/wcs-test-import-%ld-%d%s", (long)getpid(), rand(), suffix);
    fp = fopen(buf, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    fclose(fp);
}

static void test_read_edge_cases(void **state)
{
    /* Columns in another order, a subset, a BOM, CRLF line ends, a blank
     * line, a too-long name, an invalid UTF-8 city, other_ids split on ';',
     * a stray quote, an unclosed quote at the end. */
    static const char text[] =
        "\xEF\xBB\xBFweight_g,country,code,service,postal_code,other_ids,recipient_name,city\r\n"
        "500,RU,LP00000000000031,EMS,630001,RR123456710CN;LP00000000000032,Ann,Omsk\r\n"
        "\r\n"
        "500,RU,LP00000000000033,EMS,630001,LP00000000000033,"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,\xC3\x28\r\n"
        "500,RU,LP00000000000034,EMS,630001,,An\"n,Omsk\r\n"
        "500,RU,AB1,EMS,630001,,Ann,\"Omsk\n";
    static const char *const want[] = {
        "4: recipient_name: 151 bytes, at most 127",
        "4: other_ids: LP00000000000033 repeats the primary code",
        "4: city: not valid UTF-8",
        "5: row: malformed quoting (a quote inside an unquoted field, or text after a closing "
        "quote)",
        "6: row: unclosed quote at the end of the file",
        NULL,
    };
    char path[256];
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct got g;

    (void)state;
    memset(&g, 0, sizeof(g));
    temp_file(text, ".csv", path, sizeof(path));
    assert_int_equal(wcs_preadvice_read_file(path, collect_cb, &g, &counts, &d, &e), 0);
    assert_diags(&d, path, want);
    assert_int_equal(counts.rows, 4);
    assert_int_equal(counts.good, 1);
    assert_int_equal(counts.bad, 3);
    assert_int_equal(g.lines[0], 2);
    assert_int_equal(g.rows[0].n_other_ids, 2);
    assert_string_equal(g.rows[0].other_ids[1], "LP00000000000032");
    assert_string_equal(g.rows[0].city, "Omsk");
    unlink(path);
    diag_free(&d);
}

/* wcs_preadvice_read_stream on a buffer (fmemopen), named name. */
static int read_mem(const char *text, size_t len, const char *name, struct got *g,
                    struct wcs_import_counts *counts, struct diag *d, struct err *e)
{
    FILE *fp = fmemopen((void *)(uintptr_t)text, len, "r");
    int rc;

    assert_non_null(fp);
    memset(g, 0, sizeof(*g));
    rc = wcs_preadvice_read_stream(fp, name, collect_cb, g, counts, d, e);
    fclose(fp);
    return rc;
}

/* The reader's bounds: a JSON line over 1 MiB is a bad row and the read
 * goes on (the line is never held whole); a CSV line over 1 MiB stops the
 * read; a JSON row nested deeper than 4 levels is a bad row, refused before
 * it is parsed. */
static void test_read_limits(void **state)
{
    static const char row[] = "{\"code\":\"RR473124829GB\",\"service\":\"EMS\","
                              "\"country\":\"DE\",\"weight_g\":500}\n";
    static const char *const want_jsonl[] = {
        "2: row: line longer than 1048576 bytes",
        "4: row: JSON nested deeper than 4 levels",
        NULL,
    };
    size_t n = 100 * 1024 * 1024, len, i;
    char *text = malloc(n + 1024);
    struct wcs_import_counts counts;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct got g;

    (void)state;
    assert_non_null(text);
    /* A good row, a 100 MB line, a good row, a row nested 5 deep, and one
     * nested 4 deep (refused for its shape, not its depth). */
    len = 0;
    memcpy(text, row, sizeof(row) - 1);
    len += sizeof(row) - 1;
    text[len++] = '"';
    memset(text + len, 'x', n);
    len += n;
    text[len++] = '\n';
    memcpy(text + len, row, sizeof(row) - 1);
    len += sizeof(row) - 1;
    len += (size_t)sprintf(text + len, "{\"code\":[[[[1]]]]}\n{\"code\":[[[1]]]}\n");
    assert_int_equal(read_mem(text, len, "big.jsonl", &g, &counts, &d, &e), 0);
    /* The depth-4 row is refused by the converter: check the first two. */
    for (i = 0; want_jsonl[i] != NULL; i++) {
        char full[256];

        snprintf(full, sizeof(full), "big.jsonl:%s", want_jsonl[i]);
        assert_string_equal(d.msgs[i], full);
    }
    assert_int_equal(g.n, 2);
    assert_int_equal(g.lines[1], 3);
    assert_int_equal(counts.rows, 5);
    assert_int_equal(counts.bad, 3);
    assert_string_equal(d.msgs[2], "big.jsonl:5: code: must be a string");
    diag_free(&d);

    /* CSV: the same long line stops the read at its line. */
    len = (size_t)sprintf(text, "code,service,country,weight_g\nRR473124829GB,EMS,DE,500\n\"");
    memset(text + len, 'x', n);
    len += n;
    text[len++] = '\n';
    assert_int_equal(read_mem(text, len, "big.csv", &g, &counts, &d, &e), ERR_PARSE);
    assert_string_equal(e.msg, "big.csv:3: row: line longer than 1048576 bytes");
    assert_int_equal(g.n, 1);
    diag_free(&d);
    /* And in the first line, which the reader reads itself. */
    assert_int_equal(read_mem(text + 55, len - 55, "big2.csv", &g, &counts, &d, &e), ERR_PARSE);
    assert_string_equal(e.msg, "big2.csv:1: header: line longer than 1048576 bytes");
    diag_free(&d);
    free(text);
}

static void test_import_into_store(void **state)
{
    char ci[512], path[1024];
    struct wcs_import_summary s;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct wcs_preadvice got;
    PGconn *c = NULL;
    PGresult *r;

    (void)state;
    testdb_create("wcs_import", ci, sizeof(ci));
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);

    testdb_source_path("tests/data/preadvice-mixed.csv", path, sizeof(path));
    if (wcs_import_file(c, path, NULL, &s, &d, &e) != 0)
        fail_msg("import: %s", e.msg);
    assert_int_equal(s.counts.rows, 11);
    assert_int_equal(s.counts.good, 4);
    assert_int_equal(s.counts.bad, 7);
    assert_int_equal(s.inserted, 4);
    assert_int_equal(s.updated + s.unchanged + s.rejected, 0);
    assert_int_equal(diag_count(&d), 9);
    diag_free(&d);
    assert_int_equal(wcs_db_parcel_get(c, "LP00000000000002", &got, NULL, &e), 0);
    assert_string_equal(got.code, "RR123456710CN");
    assert_string_equal(got.recipient_name, "Anna Smirnova");

    /* The same file again: all unchanged, rev untouched. */
    if (wcs_import_file(c, path, NULL, &s, &d, &e) != 0)
        fail_msg("re-import: %s", e.msg);
    assert_int_equal(s.unchanged, 4);
    assert_int_equal(s.inserted + s.updated + s.rejected, 0);
    diag_free(&d);

    testdb_source_path("tests/data/preadvice.jsonl", path, sizeof(path));
    assert_int_equal(wcs_import_file(c, path, NULL, &s, &d, &e), 0);
    assert_int_equal(s.inserted, 2);
    assert_int_equal(s.counts.bad, 4);
    diag_free(&d);

    /* A broken header loads nothing. */
    testdb_source_path("tests/data/preadvice-bad-header.csv", path, sizeof(path));
    assert_int_equal(wcs_import_file(c, path, NULL, &s, &d, &e), ERR_PARSE);
    assert_int_equal(s.inserted, 0);
    assert_int_equal(wcs_db_parcel_get(c, "LP00000000000021", &got, NULL, &e), ERR_NOTFOUND);
    diag_free(&d);

    r = PQexec(c, "SELECT count(*) FROM parcels");
    assert_string_equal(PQgetvalue(r, 0, 0), "6");
    PQclear(r);
    PQfinish(c);
}

/* The committed samples (data/) are clean: every row imports. */
static void test_import_samples(void **state)
{
    static const char *const files[] = {"data/preadvice-sample.csv", "data/preadvice-sample.jsonl"};
    char ci[512], path[1024];
    struct wcs_import_summary s;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    PGconn *c = NULL;
    size_t i;

    (void)state;
    testdb_create("wcs_import_samples", ci, sizeof(ci));
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        testdb_source_path(files[i], path, sizeof(path));
        if (access(path, R_OK) != 0)
            fail_msg("%s: %s (the samples are part of the tree)", path, strerror(errno));
        if (wcs_import_file(c, path, NULL, &s, &d, &e) != 0)
            fail_msg("import %s: %s", path, e.msg);
        if (d.n > 0)
            fail_msg("%s: %zu problems, first: %s", path, diag_count(&d), d.msgs[0]);
        assert_int_equal(s.counts.bad, 0);
        assert_int_equal(s.rejected, 0);
        assert_int_equal(s.inserted + s.updated, s.counts.good);
        diag_free(&d);
    }
    PQfinish(c);
}

/* Not a pass/fail test: prints import speed for 100k generated rows when
 * WCS_IMPORT_BENCH is set. */
static void test_import_speed(void **state)
{
    char ci[512], path[256];
    struct wcs_import_summary s;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct timespec t0, t1;
    PGconn *c = NULL;
    FILE *fp;
    int i, rows = 100000;
    double secs;

    (void)state;
    if (getenv("WCS_IMPORT_BENCH") == NULL)
        return;
    snprintf(path, sizeof(path), "/tmp/wcs-import-bench-%ld.csv", (long)getpid());
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "code,service,country,postal_code,recipient_name,city,address,phone,weight_g\n");
    for (i = 0; i < rows; i++)
        fprintf(fp, "LP%014d,ECONOMY,RU,%06d,Ivan Petrov,Novosibirsk,ul. Lenina %d,+79131234567,%d\n",
                i, 100000 + i % 500000, i % 200, 100 + i % 3000);
    fclose(fp);
    testdb_create("wcs_import_bench", ci, sizeof(ci));
    assert_int_equal(wcs_db_connect(ci, &c, &e), 0);
    assert_int_equal(wcs_db_migrate(c, NULL, &e), 0);
    for (i = 0; i < 2; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(wcs_import_file(c, path, NULL, &s, &d, &e), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        print_message("import %d rows (%s): %.2f s, %.0f rows/s; inserted %zu unchanged %zu\n",
                      rows, i == 0 ? "new" : "again", secs, rows / secs, s.inserted, s.unchanged);
    }
    unlink(path);
    diag_free(&d);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_csv),
        cmocka_unit_test(test_read_jsonl),
        cmocka_unit_test(test_read_bad_header),
        cmocka_unit_test(test_read_edge_cases),
        cmocka_unit_test(test_read_limits),
        cmocka_unit_test(test_import_into_store),
        cmocka_unit_test(test_import_samples),
        cmocka_unit_test(test_import_speed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
