/*
 * csv_table.h - the one CSV table reader: a header line naming columns, then
 * records, on top of libcsv.
 *
 * Every CSV file of the project (sort plan, pre-advice, duty rules, exchange
 * rates, the line emulator's inputs) is read here, so they share one syntax
 * (RFC 4180 quoting, strict: a stray quote is an error, not a guess), one
 * way of counting lines and one shape of message: "FILE:LINE: column:
 * reason" through the diag_file reporter (common/diag.h).
 *
 * What the reader does for every table:
 * - input is fed one physical line at a time (streaming: memory holds one
 *   line and one record, whatever the file's size); a record is reported at
 *   the physical line where it starts, also when a quoted field spans lines;
 * - a UTF-8 byte order mark at the start of the input is skipped (spreadsheet
 *   exports write one); LF and CRLF line ends; blank lines between records
 *   are ignored; leading and trailing blanks of unquoted fields are dropped;
 * - a field is at most CSV_TABLE_FIELD_MAX bytes: a longer one (or a quote
 *   left open that swallows the rest of the file) stops the read; so does a
 *   physical line over CSV_TABLE_LINE_MAX bytes;
 * - the first record is the header; the columns the caller asks for are
 *   found by name; a column named twice is refused; a required column that
 *   is missing is refused; then each record goes to the caller's callback,
 *   which reads fields by the caller's own column index.
 * What differs between tables is chosen with CSV_TABLE_* flags.
 */
#ifndef WCS_COMMON_CSV_TABLE_H
#define WCS_COMMON_CSV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/diag.h"

#define CSV_TABLE_FIELD_MAX 65536 /* bytes in one field */
/* Bytes in one physical line, its line end included: the reader holds a
 * line in memory, so this bounds what one line of a hostile file costs (no
 * real table comes near it: a record of 64 full fields would). A longer
 * line stops the read: "NAME:LINE: row: line longer than 1048576 bytes". */
#define CSV_TABLE_LINE_MAX (1024 * 1024)
#define CSV_TABLE_COLUMNS_MAX 64  /* columns in a header */

enum {
    /* The header is exactly the caller's columns, in their order (no
     * optional, no unknown column). Default: any order, found by name. */
    CSV_TABLE_EXACT = 1u << 0,
    /* Column names match ignoring ASCII case. */
    CSV_TABLE_ANY_CASE = 1u << 1,
    /* Header columns the caller did not ask for are ignored. Default:
     * refused ("header: unknown column X"). */
    CSV_TABLE_UNKNOWN_OK = 1u << 2,
    /* A record whose first field starts with '#' is a comment; a line
     * starting with '#' between records is one too and is not parsed, so it
     * may hold anything, quotes included. */
    CSV_TABLE_COMMENTS = 1u << 3,
    /* A record whose every field is empty (",,,") is skipped. */
    CSV_TABLE_SKIP_EMPTY = 1u << 4,
    /* A record with more fields than the header is refused ("row: N
     * fields, the header has M"); shorter ones read as empty. */
    CSV_TABLE_NOT_WIDER = 1u << 5,
    /* A record with another number of fields than the header is refused
     * ("row: N fields, expected M"). */
    CSV_TABLE_SAME_WIDTH = 1u << 6,
    /* A record with broken quoting is reported ("row: malformed quoting",
     * "row: unclosed quote at the end of the file"), refused, and reading
     * goes on at the next line: for large feeds where one bad row must not
     * stop the rest. Default: broken quoting stops the read ("csv: " and
     * libcsv's words), for files that are taken whole or not at all. */
    CSV_TABLE_KEEP_GOING = 1u << 7,
};

/* One column the caller reads; its index in the caller's array is the
 * column's index in csv_table_field() and friends. */
struct csv_table_column {
    const char *name;
    bool required; /* a header without it is refused */
};

struct csv_table;

/* Called for each data record (not the header, comments or refused
 * records). Returns 0 to go on; anything else stops the read and is what
 * the read returns. */
typedef int (*csv_table_record_cb)(struct csv_table *t, void *arg);

struct csv_table_spec {
    const struct csv_table_column *cols; /* at most CSV_TABLE_COLUMNS_MAX */
    size_t ncols;
    unsigned flags; /* CSV_TABLE_* */
    /* Reason for a missing required column: one "%s" for its name and no
     * other conversion. NULL: "missing required column %s". */
    const char *missing;
    /* Reason reported at line 1 when the input holds no header (empty, or
     * only comments); the read then fails with ERR_PARSE. NULL: an empty
     * input is read as a table without records. */
    const char *empty;
    csv_table_record_cb record_cb;
    void *arg;
};

/* Makes a reader; problems go to f (kept by the reader, owned by the
 * caller). Returns 0, -ENOMEM, or -EINVAL for a spec it cannot follow. */
int csv_table_new(const struct csv_table_spec *spec, struct diag_file *f, struct csv_table **out);
/* Frees t and its buffers; NULL allowed. */
void csv_table_free(struct csv_table *t);

/* Feeds one physical line: no '\n' but its last byte (the file's last line
 * may lack it; a CR is data or a line end as libcsv reads it). Returns 0
 * to go on, or what stopped the read: ERR_PARSE (a broken header or
 * broken CSV, reported in f), -ENOMEM, or the record callback's value; from
 * then on every call returns the same. */
int csv_table_feed(struct csv_table *t, const char *line, size_t len);
/* Ends the input: the last record, an unclosed quote, a missing header.
 * Returns 0 or what stopped the read, as csv_table_feed. */
int csv_table_end(struct csv_table *t);

/* Feeds every remaining line of fp, then ends. A read error is -errno
 * ("NAME: read: reason" in f->e). */
int csv_table_read_file(struct csv_table *t, FILE *fp);
/* Feeds text (len bytes, split into lines), then ends. */
int csv_table_read_text(struct csv_table *t, const char *text, size_t len);
/* Opens f->name, reads it whole with a reader made from spec, closes it.
 * A file that cannot be opened is -errno ("NAME: reason" in f->e). */
int csv_table_read_path(const struct csv_table_spec *spec, struct diag_file *f);

/* getline(3) with a bound: reads one physical line of fp (through its '\n',
 * or to the end of the input) into *buf (grown as needed, *cap its size,
 * NUL-terminated; the caller frees it), keeping at most max bytes of it.
 * Returns the line's length; max + 1 when the line is longer, its first max
 * bytes in *buf and the rest read and dropped, so the next call starts at
 * the next line; -1 at the end of the input, on a read error (ferror(fp)
 * and errno tell) or when *buf cannot grow (errno ENOMEM). Used for every
 * line-oriented input from a file: CSV and JSON Lines. */
ssize_t csv_table_getline(char **buf, size_t *cap, FILE *fp, size_t max);

/* True when the n bytes of s are only blanks (space, tab, CR, LF): such a
 * line between records is no record (JSON Lines readers skip it too). */
bool csv_table_blank(const char *s, size_t n);

/* Records refused by the reader itself (wrong number of fields, broken
 * quoting with CSV_TABLE_KEEP_GOING), each reported in f. */
size_t csv_table_refused(const struct csv_table *t);

/* --- in the record callback ------------------------------------------- */

/* The physical line where the current record starts. */
int csv_table_line(const struct csv_table *t);
/* Text of column col in the current record, NUL-terminated: "" when the
 * header lacks the column or the record stops early. Valid until the
 * callback returns. A field may hold a NUL byte: compare with the length. */
const char *csv_table_field(const struct csv_table *t, size_t col);
/* Bytes of that text (0 when absent). */
size_t csv_table_field_len(const struct csv_table *t, size_t col);
/* Reports "FILE:LINE: column: reason" for column col of the current record.
 * Returns ERR_PARSE. */
int csv_table_report(struct csv_table *t, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* csv_table_parse_int() of column col of the current record. */
int csv_table_int(struct csv_table *t, size_t col, long long min, long long max, long long def,
                  long long *out);

/* --- typed values (CSV fields, or JSON values given as text) ----------- */

/* Reads a whole number in min..max (a leading '-' only when min < 0) from
 * text into *out; empty text gives def. Otherwise reports at line, under
 * field: "'X' is not a whole number", "'X' is too large (at most MAX)" or
 * "'X' is too small (at least MIN)", and returns ERR_PARSE (*out = def). */
int csv_table_parse_int(struct diag_file *f, int line, const char *field, const char *text,
                        long long min, long long max, long long def, long long *out);

/* Copies len bytes of text into dst (size bytes, NUL-terminated); NULL
 * text gives "". Too long is a problem, never a silent cut: reports "N
 * bytes, at most M" or "contains a NUL byte" and returns ERR_PARSE (dst
 * then ""). */
int csv_table_copy_text(struct diag_file *f, int line, const char *field, const char *text,
                        size_t len, char *dst, size_t size);

#endif
