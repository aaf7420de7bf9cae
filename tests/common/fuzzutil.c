/* fuzzutil.c - checks the libFuzzer harnesses share (see fuzzutil.h). */
#include "tests/common/fuzzutil.h"

#include <stdlib.h>
#include <string.h>

FILE *fuzz_open(const uint8_t *data, size_t size, char **copy)
{
    FILE *fp;

    /* One spare byte: fmemopen wants a buffer of at least one byte. */
    *copy = malloc(size + 1);
    if (*copy == NULL)
        abort();
    if (size > 0)
        memcpy(*copy, data, size);
    fp = fmemopen(*copy, size > 0 ? size : 1, "r");
    if (fp == NULL)
        abort();
    if (size == 0)
        (void)getc(fp); /* the spare byte is no input: at the end from the start */
    return fp;
}

void fuzz_close(FILE *fp, char *copy)
{
    fclose(fp);
    free(copy);
}

void fuzz_check_text(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;

    if (n > max)
        abort();
    while (i < n) {
        unsigned cp;
        size_t need, k;

        if (p[i] < 0x80) {
            if (p[i] < 0x20 || p[i] == 0x7F)
                abort();
            i++;
            continue;
        }
        if (p[i] >= 0xC2 && p[i] <= 0xDF)
            need = 1, cp = p[i] & 0x1Fu;
        else if (p[i] >= 0xE0 && p[i] <= 0xEF)
            need = 2, cp = p[i] & 0x0Fu;
        else if (p[i] >= 0xF0 && p[i] <= 0xF4)
            need = 3, cp = p[i] & 0x07u;
        else
            abort();
        if (i + need >= n)
            abort();
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                abort();
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (cp < 0xA0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF ||
            (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
            abort();
        i += need + 1;
    }
}

void fuzz_check_diag(const struct diag *d, const char *prefix)
{
    size_t i, n = strlen(prefix);

    for (i = 0; i < d->n; i++) {
        fuzz_check_text(d->msgs[i], DIAG_MSG_MAX - 1);
        if (strncmp(d->msgs[i], prefix, n) != 0)
            abort();
    }
}
