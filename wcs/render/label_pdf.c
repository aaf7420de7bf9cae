/*
 * label_pdf.c - a bag's label as PDF (label_pdf.h).
 *
 * DESIGN: cairo writes the PDF (its stream callback collects the bytes),
 * pango lays out every text (font fallback gives Cyrillic from DejaVu and
 * Chinese from whatever CJK font the system has), libzint encodes the
 * Code 128 and hands its bars as rectangles, which are drawn as vectors:
 * sharp at any printer's resolution. Positions are given in millimetres and
 * drawn in points (the PDF's unit): text laid out in a scaled space gets its
 * glyph advances rounded to whole units.
 */
#include "wcs/render/label_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

#define MM 2.834645669 /* points per millimetre */
#define PAGE_W 100.0
#define PAGE_H 150.0
#define MARGIN 5.0

struct sink {
    unsigned char *data;
    size_t len, cap;
    int failed;
};

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int n)
{
    struct sink *s = closure;

    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2;
        unsigned char *p = realloc(s->data, cap);

        if (p == NULL) {
            s->failed = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, n);
    s->len += n;
    return CAIRO_STATUS_SUCCESS;
}

/* Draws text at (x, y) mm, size pt, bold or not; returns its height in mm. */
static double text(cairo_t *cr, double x, double y, double size, int bold, const char *t)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_new();
    cairo_font_options_t *fo = cairo_font_options_create();
    int w, h;

    /* Unhinted metrics: glyphs where the font puts them, for print. */
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout), fo);
    pango_layout_context_changed(layout);
    cairo_font_options_destroy(fo);

    pango_font_description_set_family(fd, "DejaVu Sans,Noto Sans CJK SC,sans");
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_layout_set_font_description(layout, fd);
    pango_layout_set_text(layout, t, -1);
    cairo_move_to(cr, x * MM, y * MM);
    pango_cairo_show_layout(cr, layout);
    pango_layout_get_size(layout, &w, &h);
    pango_font_description_free(fd);
    g_object_unref(layout);
    return (double)h / PANGO_SCALE / MM;
}

static void rule(cairo_t *cr, double y)
{
    cairo_set_line_width(cr, 0.4 * MM);
    cairo_move_to(cr, MARGIN * MM, y * MM);
    cairo_line_to(cr, (PAGE_W - MARGIN) * MM, y * MM);
    cairo_stroke(cr);
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
    struct sink s = {NULL, 0, 0, 0};
    cairo_surface_t *surface;
    cairo_t *cr;
    char line[160];
    double y = MARGIN;
    int rc = 0;

    *out = NULL;
    *len = 0;
    if (from == NULL || to == NULL)
        return err_set(e, ERR_INVALID, "label: office %s unknown (label.c's table)",
                       from == NULL ? l->r.origin : l->r.dest);
    surface = cairo_pdf_surface_create_for_stream(write_cb, &s, PAGE_W * MM, PAGE_H * MM);
    cr = cairo_create(surface);
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
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (rc == 0 && (s.failed || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS))
        rc = err_set(e, -ENOMEM, "label: the PDF was not written: %s",
                     cairo_status_to_string(cairo_surface_status(surface)));
    cairo_surface_destroy(surface);
    if (rc < 0) {
        free(s.data);
        return rc;
    }
    *out = s.data;
    *len = s.len;
    return 0;
}
