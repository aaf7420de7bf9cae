/*
 * test-csv-table.c - the CSV table reader (common/csv_table.h) on cases as
 * data: text in; records (with their lines) and the exact "FILE:LINE:
 * column: reason" messages out, in the order they came; then the pieces a
 * table of cases does not suit (long fields, wide headers, the typed value
 * helpers on their own, a callback that stops the read, files).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/csv_table.h"

enum { C_CODE, C_NAME, C_QTY, C_DELTA, NCOLS };
static const struct csv_table_column cols[NCOLS] = {
    {"code", true}, {"name", false}, {"qty", false}, {"delta", false}};

/* What the callback saw, and the messages, interleaved as they happened. */
struct out {
    char text[4096];
    size_t len;
    struct diag d;
    size_t shown; /* messages of d already in text */
    int stop_at;  /* line whose record makes the callback return 7, 0 never */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->text + o->len, sizeof(o->text) - o->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(o->text) - o->len);
    o->len += (size_t)n;
}

/* Field text with line breaks shown, so a case stays on one line. */
static void put_field(struct out *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            put(o, "\\n");
        else if (*s == '\r')
            put(o, "\\r");
        else
            put(o, "%c", *s);
    }
}

static void flush_diags(struct out *o)
{
    for (; o->shown < o->d.n; o->shown++)
        put(o, "! %s\n", o->d.msgs[o->shown]);
}

static int record_cb(struct csv_table *t, void *arg)
{
    struct out *o = arg;
    long long qty, delta;

    flush_diags(o);
    csv_table_int(t, C_QTY, 0, 100, -1, &qty);
    csv_table_int(t, C_DELTA, -10, 10, 0, &delta);
    flush_diags(o);
    put(o, "%d: ", csv_table_line(t));
    put_field(o, csv_table_field(t, C_CODE));
    put(o, "|");
    put_field(o, csv_table_field(t, C_NAME));
    put(o, "|%lld|%lld\n", qty, delta);
    return csv_table_line(t) == o->stop_at ? 7 : 0;
}

#define ERRTXT "error parsing data while strict checking enabled"
#define MALFORMED                                                                                  \
    "malformed quoting (a quote inside an unquoted field, or text after a closing quote)"

static const struct {
    const char *name;
    unsigned flags;
    const char *text;
    int rc;
    const char *want;
} cases[] = {
    /* header -> columns */
    {"basic", 0, "code,name,qty\nA,Ann,1\nB,,\n", 0, "2: A|Ann|1|0\n3: B||-1|0\n"},
    {"any order, optional absent", 0, "qty,code\n5,A\n", 0, "2: A||5|0\n"},
    {"missing required", 0, "name,qty\nAnn,1\n", ERR_PARSE,
     "! t.csv:1: header: missing required column code\n"},
    {"unknown refused", 0, "code,color,size\nA,red,1\n", ERR_PARSE,
     "! t.csv:1: header: unknown column color\n! t.csv:1: header: unknown column size\n"},
    {"unknown ignored", CSV_TABLE_UNKNOWN_OK, "color,code\nred,A\n", 0, "2: A||-1|0\n"},
    {"duplicate", CSV_TABLE_UNKNOWN_OK, "code,name,code,x,x\nA,B,C,D,E\n", ERR_PARSE,
     "! t.csv:1: header: column code given twice\n"},
    {"case matters", 0, "Code\nA\n", ERR_PARSE,
     "! t.csv:1: header: unknown column Code\n! t.csv:1: header: missing required column code\n"},
    {"any case", CSV_TABLE_ANY_CASE, "CODE,Name\nA,B\n", 0, "2: A|B|-1|0\n"},
    {"empty input", 0, "", ERR_PARSE, "! t.csv:1: header: missing header line\n"},
    {"only blank lines", 0, "\n\n  \t\r\n", ERR_PARSE, "! t.csv:1: header: missing header line\n"},
    {"header only", 0, "code,name", 0, ""},
    {"exact", CSV_TABLE_EXACT | CSV_TABLE_ANY_CASE, "CODE,name,qty,delta\nA,B,1,-2\n", 0,
     "2: A|B|1|-2\n"},
    {"exact, short", CSV_TABLE_EXACT, "code,name\n", ERR_PARSE,
     "! t.csv:1: header: column 3 is '', expected 'qty' (the header is exactly "
     "code,name,qty,delta)\n"},
    {"exact, misspelt", CSV_TABLE_EXACT, "code,nmae,qty,delta\n", ERR_PARSE,
     "! t.csv:1: header: column 2 is 'nmae', expected 'name' (the header is exactly "
     "code,name,qty,delta)\n"},
    {"exact, long", CSV_TABLE_EXACT, "code,name,qty,delta,x\n", ERR_PARSE,
     "! t.csv:1: header: 5 columns, expected 4 (the header is exactly code,name,qty,delta)\n"},

    /* broken records */
    {"stray quote stops", 0, "code,name\nA,B\"x\nC,D\n", ERR_PARSE, "! t.csv:2: csv: " ERRTXT "\n"},
    {"stray quote, keep going", CSV_TABLE_KEEP_GOING, "code,name\nA,B\"x\nC,D\n", 0,
     "! t.csv:2: row: " MALFORMED "\n3: C|D|-1|0\n"},
    {"text after closing quote, keep going", CSV_TABLE_KEEP_GOING, "code,name\n\"A\nB\"x,y\nC,D\n",
     0, "! t.csv:2: row: " MALFORMED "\n4: C|D|-1|0\n"},
    {"stray quote in the header", CSV_TABLE_KEEP_GOING, "co\"de,name\nA,B\n", ERR_PARSE,
     "! t.csv:1: header: malformed quoting\n"},
    {"unclosed quote at EOF stops", 0, "code,name\nA,B\nC,\"D\nE\n", ERR_PARSE,
     "2: A|B|-1|0\n! t.csv:3: csv: " ERRTXT "\n"},
    {"unclosed quote at EOF, keep going", CSV_TABLE_KEEP_GOING, "code,name\nA,B\nC,\"D\nE\n", 0,
     "2: A|B|-1|0\n! t.csv:3: row: unclosed quote at the end of the file\n"},
    {"unclosed quote in the header", CSV_TABLE_KEEP_GOING, "code,\"name\n", ERR_PARSE,
     "! t.csv:1: header: malformed quoting\n"},
    {"same width", CSV_TABLE_SAME_WIDTH, "code,name\nA\nB,C,D\nE,F\n", 0,
     "! t.csv:2: row: 1 fields, expected 2\n! t.csv:3: row: 3 fields, expected 2\n"
     "4: E|F|-1|0\n"},
    {"not wider", CSV_TABLE_NOT_WIDER, "code,name\nA\nB,C,D\n", 0,
     "2: A||-1|0\n! t.csv:3: row: 3 fields, the header has 2\n"},
    {"any width", 0, "code,name\nA\nB,C,D\n", 0, "2: A||-1|0\n3: B|C|-1|0\n"},

    /* typed fields */
    {"int: not a number", 0, "code,qty\nA,x1\nB,1.5\nC,+1\nD,-1\n", 0,
     "! t.csv:2: qty: 'x1' is not a whole number\n2: A||-1|0\n"
     "! t.csv:3: qty: '1.5' is not a whole number\n3: B||-1|0\n"
     "! t.csv:4: qty: '+1' is not a whole number\n4: C||-1|0\n"
     "! t.csv:5: qty: '-1' is not a whole number\n5: D||-1|0\n"},
    {"int: range", 0, "code,qty,delta\nA,101,-11\nB,100,-10\nC,99999999999999999999999,-\n", 0,
     "! t.csv:2: qty: '101' is too large (at most 100)\n"
     "! t.csv:2: delta: '-11' is too small (at least -10)\n2: A||-1|0\n"
     "3: B||100|-10\n"
     "! t.csv:4: qty: '99999999999999999999999' is too large (at most 100)\n"
     "! t.csv:4: delta: '-' is not a whole number\n4: C||-1|0\n"},
    {"int: blanks around", 0, "code,qty\nA,  7 \n", 0, "2: A||7|0\n"},

    /* lines */
    {"quoted line breaks", 0, "code,name\n\"A\nB\",x\nC,\"y\n\nz\"\nD,w\n", 0,
     "2: A\\nB|x|-1|0\n4: C|y\\n\\nz|-1|0\n7: D|w|-1|0\n"},
    {"quoted field opening after blanks", 0, "code,name\n  \"A\nB\",x\n", 0, "2: A\\nB|x|-1|0\n"},
    {"CRLF", 0, "code,name\r\nA,B\r\n\r\nC,\"x\r\ny\"\r\n", 0, "2: A|B|-1|0\n4: C|x\\r\\ny|-1|0\n"},
    {"empty lines, no final line end", 0, "\ncode,name\n\n\nA,B\n   \nC,D", 0,
     "5: A|B|-1|0\n7: C|D|-1|0\n"},
    {"lone CR ends a record", 0, "code,name\nA,B\rC,D\n", 0, "2: A|B|-1|0\n2: C|D|-1|0\n"},
    {"BOM", 0, "\xEF\xBB\xBF\"code\",name\nA,B\n", 0, "2: A|B|-1|0\n"},
    /* (octal escapes: a hex one would run on into the letter after it) */
    {"BOM only at the start", 0, "code,name\n\357\273\277A,B\n", 0, "2: \357\273\277A|B|-1|0\n"},

    /* comments and empty records */
    {"comments", CSV_TABLE_COMMENTS, "# a \"quote\nco de,x\n", ERR_PARSE,
     "! t.csv:2: header: unknown column co de\n"
     "! t.csv:2: header: unknown column x\n! t.csv:2: header: missing required column code\n"},
    {"comments between records", CSV_TABLE_COMMENTS,
     "#x\ncode,name\n# a \"quote\nA,B\n  #y,z\n\"#q\",1\nC,\"#not\n# a comment\"\n", 0,
     "4: A|B|-1|0\n7: C|#not\\n# a comment|-1|0\n"},
    {"no comments by default", 0, "code,name\n#x,y\n", 0, "2: #x|y|-1|0\n"},
    {"empty records skipped", CSV_TABLE_SKIP_EMPTY, ",\ncode,name\n,\n\"\",\nA,B\n", 0,
     "5: A|B|-1|0\n"},
    {"empty records kept", 0, "code,name\n,\n", 0, "2: ||-1|0\n"},
};

static int run(unsigned flags, const char *text, size_t len, struct out *o, struct err *e)
{
    struct diag_file f = {"t.csv", &o->d, e, 0};
    const struct csv_table_spec spec = {
        .cols = cols,
        .ncols = NCOLS,
        .flags = flags,
        .empty = "missing header line",
        .record_cb = record_cb,
        .arg = o,
    };
    struct csv_table *t;
    int rc;

    assert_int_equal(csv_table_new(&spec, &f, &t), 0);
    rc = csv_table_read_text(t, text, len);
    csv_table_free(t);
    flush_diags(o);
    return rc;
}

static int run_s(unsigned flags, const char *text, struct out *o, struct err *e)
{
    return run(flags, text, strlen(text), o, e);
}

static void test_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct out o = {0};
        struct err e = {0};
        int rc = run_s(cases[i].flags, cases[i].text, &o, &e);

        if (rc != cases[i].rc || strcmp(o.text, cases[i].want) != 0)
            fail_msg("case '%s': rc %d (want %d)\n got:\n%s want:\n%s", cases[i].name, rc,
                     cases[i].rc, o.text, cases[i].want);
        /* A failed read says why in e: one of its messages. */
        if (rc != 0 && strstr(o.text, e.msg) == NULL)
            fail_msg("case '%s': e '%s' is none of the messages", cases[i].name, e.msg);
        diag_free(&o.d);
    }
}

/* e holds the first problem, or the one that stopped the read. */
static void test_err(void **state)
{
    struct out o = {0};
    struct err e = {0};

    (void)state;
    assert_int_equal(run_s(CSV_TABLE_SAME_WIDTH, "code,name\nA\nB,\"C\"x\n", &o, &e), ERR_PARSE);
    assert_string_equal(e.msg, "t.csv:3: csv: " ERRTXT);
    assert_int_equal(o.d.n, 2);
    diag_free(&o.d);

    memset(&o, 0, sizeof(o));
    assert_int_equal(run_s(0, "x,y\n", &o, &e), ERR_PARSE);
    assert_string_equal(e.msg, "t.csv:1: header: unknown column x");
    diag_free(&o.d);
}

/* A field over CSV_TABLE_FIELD_MAX (or a quote left open that would read
 * the rest of the file) stops the read, with or without KEEP_GOING. */
static void test_long_field(void **state)
{
    static const unsigned flags[] = {0, CSV_TABLE_KEEP_GOING};
    size_t n = CSV_TABLE_FIELD_MAX + 100, i;
    char *text = malloc(n + 64);

    (void)state;
    assert_non_null(text);
    for (i = 0; i < 2; i++) {
        struct out o = {0};
        struct err e = {0};
        size_t len;

        strcpy(text, "code,name\nA,\"");
        len = strlen(text);
        memset(text + len, 'x', n);
        len += n;
        memcpy(text + len, "\"\nB,C\n", 6);
        len += 6;
        assert_int_equal(run(flags[i], text, len, &o, &e), ERR_PARSE);
        assert_string_equal(o.text, "! t.csv:2: row: memory exhausted while increasing buffer "
                                    "size (a field longer than 65536 bytes, or an unclosed "
                                    "quote)\n");
        diag_free(&o.d);
    }
    /* Just under the limit is fine. */
    {
        struct out o = {0};
        struct err e = {0};
        size_t len;

        strcpy(text, "code,long\nA,");
        len = strlen(text);
        memset(text + len, 'y', CSV_TABLE_FIELD_MAX - 200);
        len += CSV_TABLE_FIELD_MAX - 200;
        assert_int_equal(run(CSV_TABLE_UNKNOWN_OK, text, len, &o, &e), 0);
        assert_string_equal(o.text, "2: A||-1|0\n");
        diag_free(&o.d);
    }
    free(text);
}

/* A physical line over CSV_TABLE_LINE_MAX stops the read, from text or a
 * file, even when its fields are short: a reader holds a line in memory. */
static void test_long_line(void **state)
{
    size_t n = CSV_TABLE_LINE_MAX + 10, len, i;
    char *text = malloc(n + 64);
    struct out o = {0};
    struct err e = {0};

    (void)state;
    assert_non_null(text);
    strcpy(text, "code,name\nA,B\n");
    len = strlen(text);
    for (i = 0; i < n / 2; i++, len += 2)
        memcpy(text + len, "x,", 2);
    memcpy(text + len, "y\nC,D\n", 6);
    len += 6;
    assert_int_equal(run(CSV_TABLE_UNKNOWN_OK | CSV_TABLE_KEEP_GOING, text, len, &o, &e),
                     ERR_PARSE);
    assert_string_equal(o.text, "2: A|B|-1|0\n! t.csv:3: row: line longer than 1048576 bytes\n");
    assert_string_equal(e.msg, "t.csv:3: row: line longer than 1048576 bytes");
    diag_free(&o.d);

    /* The same from a stream (csv_table_read_file), and in the header. */
    {
        struct diag_file f = {"s.csv", &o.d, &e, 0};
        const struct csv_table_spec spec = {
            .cols = cols, .ncols = NCOLS, .record_cb = record_cb, .arg = &o};
        struct csv_table *t;
        FILE *fp = fmemopen(text + 14, len - 14, "r"); /* from the long line on */

        memset(&o, 0, sizeof(o));
        assert_non_null(fp);
        assert_int_equal(csv_table_new(&spec, &f, &t), 0);
        assert_int_equal(csv_table_read_file(t, fp), ERR_PARSE);
        assert_string_equal(e.msg, "s.csv:1: header: line longer than 1048576 bytes");
        csv_table_free(t);
        fclose(fp);
        diag_free(&o.d);
    }
    free(text);
}

/* csv_table_getline: at most max bytes kept, the rest of a long line
 * skipped, lines with NUL bytes and a last line without '\n'. */
static void test_getline(void **state)
{
    static const char text[] = "abc\n0123456789\nx\0y\nlast";
    FILE *fp = fmemopen((void *)(uintptr_t)text, sizeof(text) - 1, "r");
    char *buf = NULL;
    size_t cap = 0;

    (void)state;
    assert_non_null(fp);
    assert_int_equal(csv_table_getline(&buf, &cap, fp, 8), 4);
    assert_string_equal(buf, "abc\n");
    assert_int_equal(csv_table_getline(&buf, &cap, fp, 8), 9);
    assert_string_equal(buf, "01234567");
    assert_int_equal(csv_table_getline(&buf, &cap, fp, 8), 4);
    assert_memory_equal(buf, "x\0y\n", 4);
    assert_int_equal(csv_table_getline(&buf, &cap, fp, 8), 4);
    assert_string_equal(buf, "last");
    assert_int_equal(csv_table_getline(&buf, &cap, fp, 8), -1);
    assert_false(ferror(fp));
    assert_true(cap <= 9);
    free(buf);
    fclose(fp);
}

static void test_wide_header(void **state)
{
    char text[1024];
    size_t len = 0;
    struct out o = {0};
    struct err e = {0};
    int i;

    (void)state;
    len += (size_t)snprintf(text, sizeof(text), "code");
    for (i = 1; i < CSV_TABLE_COLUMNS_MAX + 1; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, ",c%d", i);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "\nA\n");
    assert_int_equal(run(CSV_TABLE_UNKNOWN_OK, text, len, &o, &e), ERR_PARSE);
    assert_string_equal(o.text, "! t.csv:1: header: 65 columns, at most 64\n");
    diag_free(&o.d);
}

/* The callback's non-zero value stops the read and is returned. */
static void test_callback_stops(void **state)
{
    struct out o = {.stop_at = 3};
    struct err e = {0};

    (void)state;
    assert_int_equal(run_s(0, "code\nA\nB\nC\n", &o, &e), 7);
    assert_string_equal(o.text, "2: A||-1|0\n3: B||-1|0\n");
    diag_free(&o.d);
}

/* The caller's wording of a missing column; a wording that is not one %s
 * is refused. */
static void test_missing_wording(void **state)
{
    struct diag d = DIAG_INIT;
    struct diag_file f = {"t.csv", &d, NULL, 0};
    struct csv_table_spec spec = {
        .cols = cols, .ncols = NCOLS, .missing = "column %s is missing", .record_cb = record_cb};
    struct csv_table *t;

    (void)state;
    assert_int_equal(csv_table_new(&spec, &f, &t), 0);
    assert_int_equal(csv_table_read_text(t, "name\n", 5), ERR_PARSE);
    csv_table_free(t);
    assert_string_equal(d.msgs[0], "t.csv:1: header: column code is missing");
    diag_free(&d);

    spec.missing = "column %d is missing";
    assert_int_equal(csv_table_new(&spec, &f, &t), -EINVAL);
    spec.missing = "%s and %s";
    assert_int_equal(csv_table_new(&spec, &f, &t), -EINVAL);
}

/* Value helpers on their own (the JSON Lines readers use them so). */
static void test_values(void **state)
{
    struct diag d = DIAG_INIT;
    struct diag_file f = {"v.jsonl", &d, NULL, 0};
    char buf[4];
    long long v;

    (void)state;
    assert_int_equal(csv_table_parse_int(&f, 3, "n", "", 0, 9, 42, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(
        csv_table_parse_int(&f, 3, "n", "-9223372036854775808", LLONG_MIN, LLONG_MAX, 0, &v), 0);
    assert_true(v == LLONG_MIN);
    assert_int_equal(
        csv_table_parse_int(&f, 3, "n", "9223372036854775808", LLONG_MIN, LLONG_MAX, 0, &v),
        ERR_PARSE);
    assert_int_equal(csv_table_parse_int(&f, 4, "n", "0", 1, 9, -1, &v), ERR_PARSE);
    assert_int_equal(v, -1);

    assert_int_equal(csv_table_copy_text(&f, 5, "s", "abc", 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(csv_table_copy_text(&f, 5, "s", NULL, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(csv_table_copy_text(&f, 6, "s", "abcd", 4, buf, sizeof(buf)), ERR_PARSE);
    assert_string_equal(buf, "");
    assert_int_equal(csv_table_copy_text(&f, 7, "s", "a\0b", 3, buf, sizeof(buf)), ERR_PARSE);

    assert_int_equal(d.n, 4);
    assert_string_equal(d.msgs[0], "v.jsonl:3: n: '9223372036854775808' is too large (at most "
                                   "9223372036854775807)");
    assert_string_equal(d.msgs[1], "v.jsonl:4: n: '0' is too small (at least 1)");
    assert_string_equal(d.msgs[2], "v.jsonl:6: s: 4 bytes, at most 3");
    assert_string_equal(d.msgs[3], "v.jsonl:7: s: contains a NUL byte");
    assert_int_equal(f.problems, 4);
    diag_free(&d);
}

/* The reporter: a line of 0 is the file as a whole; e keeps the first. */
static void test_reporter(void **state)
{
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct diag_file f = {"r.csv", &d, &e, 0};

    (void)state;
    assert_int_equal(diag_report(&f, 0, "date", "two rates for %s", "CNY"), ERR_PARSE);
    assert_int_equal(diag_report(&f, 9, "x", "second"), ERR_PARSE);
    assert_string_equal(d.msgs[0], "r.csv: date: two rates for CNY");
    assert_string_equal(d.msgs[1], "r.csv:9: x: second");
    assert_string_equal(e.msg, "r.csv: date: two rates for CNY");
    assert_int_equal(e.code, ERR_PARSE);
    diag_stop(&f, 10, "csv", "stopped");
    assert_string_equal(e.msg, "r.csv:10: csv: stopped");
    diag_free(&d);

    /* Reasons and fields quote input: each message is one printable line,
     * control characters and bytes that are not UTF-8 written \xNN, valid
     * UTF-8 kept. */
    diag_report(&f, 11, "na\nme", "'%s' is bad", "\x1b[2J\tok\xc3\x28 \xd0\x98\xc2\x9b");
    assert_string_equal(d.msgs[0], "r.csv:11: na\\x0ame: '\\x1b[2J\\x09ok\\xc3( \xd0\x98\\xc2\\x9b' is bad");
    diag_add(&d, "%s", "a\x7f\xff");
    assert_string_equal(d.msgs[1], "a\\x7f\\xff");
    diag_free(&d);
}

/* Files: a missing one is -errno, a real one is read line by line. */
static void test_files(void **state)
{
    char path[] = "/tmp/test-csv-table-XXXXXX";
    int fd = mkstemp(path);
    struct out o = {0};
    struct err e = {0};
    struct diag_file f = {path, &o.d, &e, 0};
    const struct csv_table_spec spec = {
        .cols = cols, .ncols = NCOLS, .record_cb = record_cb, .arg = &o};
    FILE *fp;

    (void)state;
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    fputs("code,name\r\nA,\"B\nC\"\r\nD,E", fp);
    fclose(fp);
    assert_int_equal(csv_table_read_path(&spec, &f), 0);
    assert_string_equal(o.text, "2: A|B\\nC|-1|0\n4: D|E|-1|0\n");
    unlink(path);
    f.name = "/nonexistent/t.csv";
    assert_int_equal(csv_table_read_path(&spec, &f), -ENOENT);
    assert_string_equal(e.msg, "/nonexistent/t.csv: No such file or directory");
    diag_free(&o.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),          cmocka_unit_test(test_err),
        cmocka_unit_test(test_long_field),     cmocka_unit_test(test_wide_header),
        cmocka_unit_test(test_callback_stops), cmocka_unit_test(test_missing_wording),
        cmocka_unit_test(test_values),         cmocka_unit_test(test_reporter),
        cmocka_unit_test(test_files),          cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_getline),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
