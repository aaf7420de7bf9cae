/*
 * bill.c - a dispatch's delivery bill: pages and CSV (bill.h).
 */
#include "wcs/core/bill.h"

#include "wcs/core/label.h"

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

json_t *wcs_predes_json(const struct wcs_manifest *m, struct err *e)
{
    struct wcs_bill_totals t = {0, 0, 0};
    struct wcs_receptacle first;
    json_t *root, *recs = json_array();
    size_t i, k;

    memset(&first, 0, sizeof(first));
    if (m->nbags > 0 && wcs_receptacle_parse(m->bags[0].bag_id, &first, e) < 0) {
        json_decref(recs);
        return NULL;
    }
    for (i = 0; recs != NULL && i < m->nbags; i++) {
        const struct wcs_manifest_bag *b = &m->bags[i];
        struct wcs_receptacle r;
        json_t *items = json_array(), *jr;

        if (wcs_receptacle_parse(b->bag_id, &r, e) < 0) {
            json_decref(items);
            json_decref(recs);
            return NULL;
        }
        for (k = 0; items != NULL && k < b->nparcels; k++)
            json_array_append_new(
                items, json_pack("{s:s,s:o}", "item_id", b->parcels[k].code, "weight_g",
                                 b->parcels[k].weight_g >= 0
                                     ? json_integer(b->parcels[k].weight_g)
                                     : json_null()));
        jr = json_pack("{s:s,s:i,s:b,s:i,s:o}", "receptacle_id", b->bag_id, "serial", r.serial,
                       "last", i + 1 == m->nbags, "gross_weight_g", b->gross_weight_g, "items",
                       items ? items : json_array());
        json_array_append_new(recs, jr);
        add(&t, b);
    }
    if (recs == NULL) {
        err_set(e, -ENOMEM, "pre-advice: out of memory");
        return NULL;
    }
    root = json_pack("{s:s,s:s,s:s,s:s,s:s#,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:{s:I,s:I,s:I}}",
                     "format",
                     "wcs-predes/1", "dispatch_id", m->manifest_id, "origin_office",
                     WCS_BAG_ORIGIN_OFFICE, "destination_office",
                     wcs_bag_dest_office(m->route) ? wcs_bag_dest_office(m->route) : "",
                     "mail_category", m->nbags ? &first.category : "C", (size_t)1,
                     "mail_subclass", m->nbags ? first.subclass : WCS_BAG_SUBCLASS, "transport",
                     m->transport, "route", m->route, "border_crossing", m->border_crossing,
                     "departure", m->departure, "carrier", m->carrier, "receptacles", recs, "totals", "receptacles",
                     (json_int_t)t.receptacles, "gross_weight_g", (json_int_t)t.weight_g, "items",
                     (json_int_t)t.parcels);
    if (root == NULL)
        err_set(e, -ENOMEM, "pre-advice: out of memory");
    return root;
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

    fputs("form,dispatch,route,transport,crossing,departure,carrier,number,receptacle,weight_g,"
          "parcels\n",
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
        fputc(',', f);
        field(f, m->carrier);
        fprintf(f, ",%zu,%s,%d,%zu\n", i + 1, b->bag_id, b->gross_weight_g, b->nparcels);
        add(&t, b);
    }
    fprintf(f, "%s,", wcs_bill_form(m->transport));
    field(f, m->manifest_id);
    fprintf(f, ",,,,,,total,%zu receptacles,%lld,%lld\n", t.receptacles, t.weight_g, t.parcels);
    if (ferror(f))
        return err_set(e, -EIO, "bill CSV: write failed");
    return 0;
}
