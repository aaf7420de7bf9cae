/*
 * fuzz-preadvice.c - libFuzzer entry point for the pre-advice reader
 * (wcs_preadvice_read_stream: CSV and JSON Lines), docs/fuzzing.md.
 *
 * The input is the file. It is named "fuzz.csv", so the reader's own test
 * picks the format (JSON Lines when the first byte is '{' or a BOM and '{'),
 * except that an input starting with a line break is named "fuzz.jsonl" (so
 * JSON Lines with leading blank lines is reached too). Beyond "no crash, no
 * sanitizer report", it checks the reader's contract:
 *  - the read ends in 0 or ERR_PARSE (the callback never stops it here), a
 *    failure saying why in e under the file's name;
 *  - every row counted is good or bad, every good row reached the callback
 *    once, in line order, and passes the validator again on its own;
 *  - every bad row has a message; every message is one printable line that
 *    names the file (the text quoted from the input included).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/core/preadvice.h"

struct seen {
    size_t rows;
    int last_line;
    int max_line; /* physical lines in the input, +1 */
};

static int row_cb(void *arg, const struct wcs_preadvice *row, int line)
{
    struct seen *s = arg;
    struct diag d = DIAG_INIT;

    if (line < s->last_line || line < 1 || line > s->max_line)
        abort();
    s->last_line = line;
    s->rows++;
    /* What the reader passed, the validator passes again. */
    if (wcs_preadvice_validate(row, "again", line, &d) != 0 || diag_count(&d) != 0)
        abort();
    diag_free(&d);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = size > 0 && data[0] == '\n' ? "fuzz.jsonl" : "fuzz.csv";
    struct wcs_import_counts counts;
    struct seen s = {0, 1, 1};
    struct diag d = DIAG_INIT;
    struct err e = {0};
    char *copy, prefix[16];
    FILE *fp;
    size_t i;
    int rc;

    for (i = 0; i < size; i++)
        s.max_line += data[i] == '\n';
    fp = fuzz_open(data, size, &copy);
    rc = wcs_preadvice_read_stream(fp, name, row_cb, &s, &counts, &d, &e);
    fuzz_close(fp, copy);

    if (rc != 0 && rc != ERR_PARSE)
        abort();
    if (counts.rows != counts.good + counts.bad || counts.good != s.rows)
        abort();
    if (diag_count(&d) < counts.bad)
        abort();
    snprintf(prefix, sizeof(prefix), "%s:", name);
    if (rc != 0 && (e.code != ERR_PARSE || strncmp(e.msg, prefix, strlen(prefix)) != 0))
        abort();
    if (rc != 0)
        fuzz_check_text(e.msg, ERR_MSG_MAX - 1);
    fuzz_check_diag(&d, prefix);
    diag_free(&d);
    return 0;
}
