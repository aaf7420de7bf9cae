/* diag.c - bounded list of diagnostic messages, and the reporter of one input file's problems. */
#include "common/diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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
    char why[DIAG_REASON_MAX], where[32] = "";

    vsnprintf(why, sizeof(why), fmt, ap);
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
