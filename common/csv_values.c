/*
 * csv_values.c - typed values of CSV fields (csv_table.h): whole numbers in a
 * range and bounded text, each problem reported as "FILE:LINE: field:
 * reason". They take text, not a record, so a reader that also takes JSON
 * Lines turns both into text and checks them the same way.
 */
#include "common/csv_table.h"

#include <limits.h>
#include <string.h>

int csv_table_parse_int(struct diag_file *f, int line, const char *field, const char *text,
                        long long min, long long max, long long def, long long *out)
{
    const char *s = text;
    unsigned long long v = 0;
    bool minus = false;
    long long x;

    *out = def;
    if (*s == '\0')
        return 0;
    if (min < 0 && *s == '-') {
        minus = true;
        s++;
    }
    if (*s == '\0')
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            goto bad;
        /* Out of range as soon as the digits say so, before any overflow
         * and before the rest of a long value is looked at. */
        if (v > (ULLONG_MAX - 9) / 10)
            goto out_of_range;
        v = v * 10 + (unsigned)(*s - '0');
        if (!minus && v > (unsigned long long)(max < 0 ? 0 : max))
            goto too_large;
        if (minus && v > 0 - (unsigned long long)min)
            goto too_small;
    }
    x = minus ? (long long)(0 - v) : (long long)v;
    if (x < min)
        goto too_small;
    if (x > max)
        goto too_large;
    *out = x;
    return 0;
bad:
    return diag_report(f, line, field, "'%s' is not a whole number", text);
too_large:
    return diag_report(f, line, field, "'%s' is too large (at most %lld)", text, max);
too_small:
    return diag_report(f, line, field, "'%s' is too small (at least %lld)", text, min);
out_of_range:
    if (minus)
        goto too_small;
    goto too_large;
}

int csv_table_copy_text(struct diag_file *f, int line, const char *field, const char *text,
                        size_t len, char *dst, size_t size)
{
    dst[0] = '\0';
    if (text == NULL)
        return 0;
    if (memchr(text, '\0', len) != NULL)
        return diag_report(f, line, field, "contains a NUL byte");
    if (len >= size)
        return diag_report(f, line, field, "%zu bytes, at most %zu", len, size - 1);
    memcpy(dst, text, len);
    dst[len] = '\0';
    return 0;
}
