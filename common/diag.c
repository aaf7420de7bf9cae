/* diag.c - bounded list of diagnostic messages, and the reporter of one input file's problems. */
#include "common/diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the valid UTF-8 sequence at s (at most n bytes), or 0 when there
 * is none there (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
 * C1 controls (U+0080-U+009F) count as invalid: terminals act on them. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned cp;
    size_t need, k;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 1, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 2, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 3, cp = s[0] & 0x07u;
    else
        return 0;
    if (need >= n)
        return 0;
    for (k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if ((need == 1 && cp < 0xA0) || (need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return need + 1;
}

void diag_printable(char *dst, size_t size, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src), i = 0, o = 0, k;

    while (i < n) {
        if (s[i] >= 0x20 && s[i] < 0x7F) {
            if (o + 1 >= size)
                break;
            dst[o++] = (char)s[i++];
        } else if (s[i] >= 0x80 && (k = utf8_len(s + i, n - i)) > 0) {
            if (o + k >= size)
                break;
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else {
            if (o + 4 >= size)
                break;
            snprintf(dst + o, 5, "\\x%02x", s[i++]);
            o += 4;
        }
    }
    dst[o] = '\0';
}

void diag_add(struct diag *d, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (d == NULL)
        return;
    if (d->n >= DIAG_MAX) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **m = realloc(d->msgs, cap * sizeof(*m));
        if (m == NULL) {
            d->dropped++;
            return;
        }
        d->msgs = m;
        d->cap = cap;
    }
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (msg == NULL) {
        d->dropped++;
        return;
    }
    /* Every message is one printable line of at most DIAG_MSG_MAX bytes,
     * whoever made it (readers quote input in their reasons). */
    {
        size_t len = strlen(msg), size = len * 4 + 1 < DIAG_MSG_MAX ? len * 4 + 1 : DIAG_MSG_MAX;
        char *clean = malloc(size);

        if (clean == NULL) {
            free(msg);
            d->dropped++;
            return;
        }
        diag_printable(clean, size, msg);
        free(msg);
        msg = clean;
    }
    d->msgs[d->n++] = msg;
}

size_t diag_count(const struct diag *d)
{
    return d ? d->n + d->dropped : 0;
}

void diag_print(const struct diag *d, FILE *f)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++)
        fprintf(f, "%s\n", d->msgs[i]);
    if (d->dropped)
        fprintf(f, "... and %zu more problem(s)\n", d->dropped);
}

void diag_free(struct diag *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = d->cap = d->dropped = 0;
}

static int report(struct diag_file *f, bool stop, int line, const char *field, const char *fmt,
                  va_list ap)
{
    char raw[DIAG_REASON_MAX], why[DIAG_REASON_MAX], where[32] = "", fld[128];

    vsnprintf(raw, sizeof(raw), fmt, ap);
    diag_printable(why, sizeof(why), raw);
    diag_printable(fld, sizeof(fld), field);
    field = fld;
    if (line > 0)
        snprintf(where, sizeof(where), ":%d", line);
    diag_add(f->d, "%s%s: %s: %s", f->name, where, field, why);
    if (f->problems++ == 0 || stop)
        err_set(f->e, ERR_PARSE, "%s%s: %s: %s", f->name, where, field, why);
    return ERR_PARSE;
}

int diag_vreport(struct diag_file *f, int line, const char *field, const char *fmt, va_list ap)
{
    return report(f, false, line, field, fmt, ap);
}

int diag_report(struct diag_file *f, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = report(f, false, line, field, fmt, ap);
    va_end(ap);
    return rc;
}

int diag_stop(struct diag_file *f, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = report(f, true, line, field, fmt, ap);
    va_end(ap);
    return rc;
}
