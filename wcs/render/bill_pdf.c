/*
 * bill_pdf.c - a dispatch's delivery bill as PDF (bill_pdf.h).
 */
#include "wcs/render/bill_pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcs/core/bill.h"
#include "wcs/core/label.h"
#include "wcs/render/draw.h"

#define PAGE_W 210.0 /* A4 */
#define PAGE_H 297.0
#define LEFT 15.0
#define RIGHT (PAGE_W - 15.0)
#define ROW_H 6.5

/* Columns of the receptacle table: their right edges (numbers) or left. */
#define COL_NO 24.0       /* right */
#define COL_ID 30.0       /* left */
#define COL_SERIAL 140.0  /* right */
#define COL_WEIGHT 168.0  /* right */
#define COL_PARCELS RIGHT /* right */

static void kg(char *buf, size_t len, long long g)
{
    snprintf(buf, len, "%lld.%01lld", g / 1000, (g % 1000) / 100);
}

static double header(cairo_t *cr, const struct wcs_manifest *m, size_t page, size_t npages)
{
    const struct wcs_office *from = wcs_office_find(WCS_BAG_ORIGIN_OFFICE);
    const char *dest = wcs_bag_dest_office(m->route);
    const struct wcs_office *to = wcs_office_find(dest);
    char line[200];
    double y = 12;

    snprintf(line, sizeof(line), "%s  Delivery bill (%s)", wcs_bill_form(m->transport),
             strcmp(m->transport, "air") == 0 ? "airmail" : "surface mail");
    y += draw_text(cr, LEFT, y, 16, 1, DRAW_LEFT, line);
    snprintf(line, sizeof(line), "page %zu of %zu", page + 1, npages);
    draw_text(cr, RIGHT, 12, 9, 0, DRAW_RIGHT, line);
    y += 2;
    snprintf(line, sizeof(line), "Office of origin: %s %s / %s", WCS_BAG_ORIGIN_OFFICE,
             from ? from->latin : "", from ? from->cyrillic : "");
    y += draw_text(cr, LEFT, y, 10, 0, DRAW_LEFT, line) + 0.5;
    snprintf(line, sizeof(line), "Office of destination: %s %s / %s", dest ? dest : "?",
             to ? to->latin : "", to ? to->cyrillic : "");
    y += draw_text(cr, LEFT, y, 10, 1, DRAW_LEFT, line) + 0.5;
    snprintf(line, sizeof(line), "Dispatch %s   route %s   transport %s%s%s", m->manifest_id,
             m->route, m->transport, m->border_crossing[0] ? "   crossing " : "",
             m->border_crossing);
    y += draw_text(cr, LEFT, y, 10, 0, DRAW_LEFT, line) + 0.5;
    snprintf(line, sizeof(line), "Departure %s%s%s", m->departure,
             m->carrier[0] ? "   carrier " : "", m->carrier);
    y += draw_text(cr, LEFT, y, 10, 0, DRAW_LEFT, line) + 3;
    draw_rule(cr, LEFT, RIGHT, y, 0.4);
    y += 1.5;
    draw_text(cr, COL_NO, y, 9, 1, DRAW_RIGHT, "No.");
    draw_text(cr, COL_ID, y, 9, 1, DRAW_LEFT, "Receptacle id");
    draw_text(cr, COL_SERIAL, y, 9, 1, DRAW_RIGHT, "Serial");
    draw_text(cr, COL_WEIGHT, y, 9, 1, DRAW_RIGHT, "Weight kg");
    y += draw_text(cr, COL_PARCELS, y, 9, 1, DRAW_RIGHT, "Parcels") + 1;
    draw_rule(cr, LEFT, RIGHT, y, 0.2);
    return y + 1.5;
}

/* A totals line: "label  N receptacles  W kg  P parcels". */
static double totals(cairo_t *cr, double y, const char *label, const struct wcs_bill_totals *t,
                     int bold)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%s: %zu receptacle(s)", label, t->receptacles);
    draw_text(cr, COL_ID, y, 10, bold, DRAW_LEFT, buf);
    kg(buf, sizeof(buf), t->weight_g);
    draw_text(cr, COL_WEIGHT, y, 10, bold, DRAW_RIGHT, buf);
    snprintf(buf, sizeof(buf), "%lld", t->parcels);
    return draw_text(cr, COL_PARCELS, y, 10, bold, DRAW_RIGHT, buf);
}

int wcs_bill_pdf(const struct wcs_manifest *m, unsigned char **out, size_t *len, struct err *e)
{
    struct wcs_bill_page *pages;
    struct draw_doc d;
    size_t npages, p, i;
    char buf[64];
    int rc;

    *out = NULL;
    *len = 0;
    if (strcmp(m->status, "open") == 0)
        return err_set(e, ERR_STATE, "bill: dispatch %s is still open: close it first",
                       m->manifest_id);
    rc = wcs_bill_pages(m, WCS_BILL_ROWS_PER_PAGE, &pages, &npages, e);
    if (rc < 0)
        return rc;
    draw_begin(&d, PAGE_W, PAGE_H);
    for (p = 0; p < npages; p++) {
        const struct wcs_bill_page *pg = &pages[p];
        double y = header(d.cr, m, p, npages);

        if (p > 0)
            y += totals(d.cr, y, "Brought forward", &pg->brought, 0) + 2;
        for (i = 0; i < pg->n; i++) {
            const struct wcs_manifest_bag *b = &m->bags[pg->first + i];
            struct wcs_receptacle r;
            struct err ignored;

            snprintf(buf, sizeof(buf), "%zu", pg->first + i + 1);
            draw_text(d.cr, COL_NO, y, 10, 0, DRAW_RIGHT, buf);
            draw_text(d.cr, COL_ID, y, 10, 0, DRAW_LEFT, b->bag_id);
            if (wcs_receptacle_parse(b->bag_id, &r, &ignored) == 0) {
                snprintf(buf, sizeof(buf), "%03d%s", r.serial, r.last ? " L" : "");
                draw_text(d.cr, COL_SERIAL, y, 10, 0, DRAW_RIGHT, buf);
            }
            kg(buf, sizeof(buf), b->gross_weight_g);
            draw_text(d.cr, COL_WEIGHT, y, 10, 0, DRAW_RIGHT, buf);
            snprintf(buf, sizeof(buf), "%zu", b->nparcels);
            draw_text(d.cr, COL_PARCELS, y, 10, 0, DRAW_RIGHT, buf);
            y += ROW_H;
        }
        draw_rule(d.cr, LEFT, RIGHT, y, 0.2);
        y += 2;
        if (p + 1 < npages)
            totals(d.cr, y, "Carried forward", &pg->carried, 0);
        else
            totals(d.cr, y, "Total", &pg->carried, 1);
        cairo_show_page(d.cr);
    }
    free(pages);
    return draw_end(&d, out, len, e);
}
