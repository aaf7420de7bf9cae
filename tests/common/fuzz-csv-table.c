/*
 * fuzz-csv-table.c - libFuzzer entry point for the CSV table reader
 * (common/csv_table.h).
 *
 * Built only with Clang (-fsanitize=fuzzer); see tests/common/CMakeLists.txt.
 * Run: ./fuzz-csv-table -max_len=4096 corpus/. The first byte picks the
 * CSV_TABLE_* flags, the rest is the text. Beyond "no crash, no sanitizer
 * report", it checks the reader's contract: a read ends in 0 or ERR_PARSE
 * (the callback never stops it here), records come in line order within the
 * text's lines, a field's length agrees with its text, and every problem
 * counted is in the list, a failed read saying why in e.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv_table.h"

/* libFuzzer looks this symbol up by name; it has no header of ours. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { C_A, C_B, C_N, NCOLS };
static const struct csv_table_column cols[NCOLS] = {{"a", true}, {"b", false}, {"n", false}};

struct seen {
    int last_line;
    int max_line; /* physical lines in the text */
};

static int record_cb(struct csv_table *t, void *arg)
{
    struct seen *s = arg;
    long long n;
    size_t c;

    if (csv_table_line(t) < s->last_line || csv_table_line(t) < 1 ||
        csv_table_line(t) > s->max_line)
        abort();
    s->last_line = csv_table_line(t);
    for (c = 0; c < NCOLS + 1; c++)
        if (strlen(csv_table_field(t, c)) > csv_table_field_len(t, c))
            abort();
    csv_table_int(t, C_N, -1000, 1000, 0, &n);
    if (n < -1000 || n > 1000)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d = DIAG_INIT;
    struct err e = {0};
    struct diag_file f = {"f.csv", &d, &e, 0};
    struct seen s = {1, 1};
    struct csv_table_spec spec = {
        .cols = cols, .ncols = NCOLS, .empty = "empty", .record_cb = record_cb, .arg = &s};
    struct csv_table *t;
    const char *text = (const char *)data + 1;
    size_t len = size > 0 ? size - 1 : 0, i;
    int rc;

    if (size == 0)
        return 0;
    spec.flags = data[0];
    for (i = 0; i < len; i++)
        s.max_line += text[i] == '\n';
    if (csv_table_new(&spec, &f, &t) != 0)
        abort();
    rc = csv_table_read_text(t, text, len);
    if (rc != 0 && rc != ERR_PARSE)
        abort();
    if (csv_table_refused(t) > f.problems)
        abort();
    csv_table_free(t);
    if (diag_count(&d) != f.problems)
        abort();
    if (rc != 0 && (e.code != ERR_PARSE || e.msg[0] == '\0'))
        abort();
    diag_free(&d);
    return 0;
}
