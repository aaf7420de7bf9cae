/*
 * bill.c - a dispatch's delivery bill: pages and CSV (bill.h).
 */
#include "wcs/core/bill.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *wcs_bill_form(const char *transport)
{
    return transport != NULL && strcmp(transport, "air") == 0 ? "CN 38" : "CN 37";
}

static void add(struct wcs_bill_totals *t, const struct wcs_manifest_bag *b)
{
    t->receptacles++;
    t->weight_g += b->gross_weight_g;
    t->parcels += (long long)b->nparcels;
}

int wcs_bill_pages(const struct wcs_manifest *m, size_t rows_per_page,
                   struct wcs_bill_page **pages, size_t *npages, struct err *e)
{
    size_t n = m->nbags == 0 ? 1 : (m->nbags + rows_per_page - 1) / rows_per_page, p, i;
    struct wcs_bill_totals run = {0, 0, 0};

    *pages = calloc(n, sizeof(**pages));
    *npages = 0;
    if (*pages == NULL)
        return err_set(e, -ENOMEM, "bill: out of memory");
    for (p = 0; p < n; p++) {
        struct wcs_bill_page *pg = &(*pages)[p];

        pg->first = p * rows_per_page;
        pg->n = m->nbags - pg->first < rows_per_page ? m->nbags - pg->first : rows_per_page;
        if (m->nbags == 0)
            pg->n = 0;
        pg->brought = run;
        for (i = 0; i < pg->n; i++)
            add(&run, &m->bags[pg->first + i]);
        pg->carried = run;
    }
    *npages = n;
    return 0;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int wcs_bill_csv(const struct wcs_manifest *m, FILE *f, struct err *e)
{
    struct wcs_bill_totals t = {0, 0, 0};
    size_t i;

    fputs("form,dispatch,route,transport,crossing,departure,number,receptacle,weight_g,parcels\n",
          f);
    for (i = 0; i < m->nbags; i++) {
        const struct wcs_manifest_bag *b = &m->bags[i];

        fprintf(f, "%s,", wcs_bill_form(m->transport));
        field(f, m->manifest_id);
        fputc(',', f);
        field(f, m->route);
        fputc(',', f);
        field(f, m->transport);
        fputc(',', f);
        field(f, m->border_crossing);
        fputc(',', f);
        field(f, m->departure);
        fprintf(f, ",%zu,%s,%d,%zu\n", i + 1, b->bag_id, b->gross_weight_g, b->nparcels);
        add(&t, b);
    }
    fprintf(f, "%s,", wcs_bill_form(m->transport));
    field(f, m->manifest_id);
    fprintf(f, ",,,,,total,%zu receptacles,%lld,%lld\n", t.receptacles, t.weight_g, t.parcels);
    if (ferror(f))
        return err_set(e, -EIO, "bill CSV: write failed");
    return 0;
}
