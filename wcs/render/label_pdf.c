/*
 * label_pdf.c - a bag's label as PDF (label_pdf.h).
 *
 * DESIGN: draw.c writes the PDF and lays out the text; libzint encodes
 * the Code 128 and hands its bars as rectangles, which are drawn as
 * vectors: sharp at any printer's resolution.
 */
#include "wcs/render/label_pdf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

#include "wcs/render/draw.h"

#define MM DRAW_MM
#define PAGE_W 100.0
#define PAGE_H 150.0
#define MARGIN 5.0

/* Text and rules on the label: left-aligned, across its width. */
static double text(cairo_t *cr, double x, double y, double size, int bold, const char *t)
{
    return draw_text(cr, x, y, size, bold, DRAW_LEFT, t);
}

static void rule(cairo_t *cr, double y)
{
    draw_rule(cr, MARGIN, PAGE_W - MARGIN, y, 0.4);
}

/* The id's Code 128 at (x, y), width w mm, bars h mm high. */
static int barcode(cairo_t *cr, const char *id, double x, double y, double w, double h,
                   struct err *e)
{
    struct zint_symbol *z = ZBarcode_Create();
    struct zint_vector_rect *r;
    double sx, sy;
    int rc;

    if (z == NULL)
        return err_set(e, -ENOMEM, "label: out of memory");
    z->symbology = BARCODE_CODE128;
    z->show_hrt = 0; /* the text is ours, in groups, below */
    z->height = 50.0f;
    rc = ZBarcode_Encode_and_Buffer_Vector(z, (const unsigned char *)id, (int)strlen(id), 0);
    if (rc >= ZINT_ERROR) {
        rc = err_set(e, ERR_INVALID, "label: barcode of %s: %s", id, z->errtxt);
        ZBarcode_Delete(z);
        return rc;
    }
    sx = w * MM / z->vector->width;
    sy = h * MM / z->vector->height;
    for (r = z->vector->rectangles; r != NULL; r = r->next)
        cairo_rectangle(cr, x * MM + r->x * sx, y * MM + r->y * sy, r->width * sx,
                        r->height * sy);
    cairo_fill(cr);
    ZBarcode_Delete(z);
    return 0;
}

int wcs_label_pdf(const struct wcs_bag_label *l, unsigned char **out, size_t *len,
                  struct err *e)
{
    const struct wcs_office *from = wcs_office_find(l->r.origin), *to = wcs_office_find(l->r.dest);
    struct draw_doc d;
    cairo_t *cr;
    char line[160];
    double y = MARGIN;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (from == NULL || to == NULL)
        return err_set(e, ERR_INVALID, "label: office %s unknown (label.c's table)",
                       from == NULL ? l->r.origin : l->r.dest);
    draw_begin(&d, PAGE_W, PAGE_H);
    cr = d.cr;
    cairo_set_source_rgb(cr, 0, 0, 0);

    snprintf(line, sizeof(line), "FROM  %s  %s / %s / %s", l->r.origin, from->latin,
             from->cyrillic, from->chinese);
    y += text(cr, MARGIN, y, 9, 0, line) + 1;
    snprintf(line, sizeof(line), "TO  %s", l->r.dest);
    y += text(cr, MARGIN, y, 22, 1, line);
    y += text(cr, MARGIN, y, 16, 1, to->latin);
    y += text(cr, MARGIN, y, 16, 1, to->cyrillic) + 1.5;
    rule(cr, y);
    y += 1.5;
    snprintf(line, sizeof(line), "Category %c (%s)   Subclass %s", l->r.category,
             wcs_category_name(l->r.category), l->r.subclass);
    y += text(cr, MARGIN, y, 11, 0, line) + 0.5;
    snprintf(line, sizeof(line), "Dispatch %04d   Year %d", l->r.dispatch_no, wcs_label_year(l));
    y += text(cr, MARGIN, y, 11, 0, line) + 0.5;
    snprintf(line, sizeof(line), "Receptacle %03d%s", l->r.serial,
             l->r.last ? "   LAST RECEPTACLE" : "");
    y += text(cr, MARGIN, y, 11, 1, line) + 0.5;
    snprintf(line, sizeof(line), "Weight %d.%d kg   Parcels %d", l->weight_g / 1000,
             (l->weight_g % 1000) / 100, l->parcels);
    y += text(cr, MARGIN, y, 11, 0, line) + 0.5;
    snprintf(line, sizeof(line), "Route %s (%s)%s%s", l->route, l->mode,
             l->crossing[0] ? "   via " : "", l->crossing);
    y += text(cr, MARGIN, y, 9, 0, line) + 0.5;
    snprintf(line, sizeof(line), "Closed %s UTC", l->closed_at);
    y += text(cr, MARGIN, y, 9, 0, line) + 1.5;
    rule(cr, y);
    y += 4;
    rc = barcode(cr, l->bag_id, MARGIN, y, PAGE_W - 2 * MARGIN, 30, e);
    y += 32;
    snprintf(line, sizeof(line), "%.6s %.6s %.3s %.1s%.4s %.3s %.2s %.4s", l->bag_id,
             l->bag_id + 6, l->bag_id + 12, l->bag_id + 15, l->bag_id + 16, l->bag_id + 20,
             l->bag_id + 23, l->bag_id + 25);
    text(cr, MARGIN, y, 10, 1, line);

    cairo_show_page(cr);
    if (rc < 0) {
        unsigned char *discard;
        size_t n;
        struct err ignored;

        if (draw_end(&d, &discard, &n, &ignored) == 0)
            free(discard);
        return rc;
    }
    return draw_end(&d, out, len, e);
}
