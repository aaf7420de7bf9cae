/*
 * draw.c - the documents' shared drawing (draw.h).
 *
 * Positions are given in millimetres and drawn in points (the PDF's unit):
 * text laid out in a scaled space gets its glyph advances rounded to whole
 * units. pango picks the fonts (DejaVu Sans for Latin and Cyrillic, a CJK
 * font for Chinese when the system has one), unhinted, as print wants.
 */
#include "wcs/render/draw.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int n)
{
    struct draw_doc *d = closure;

    if (d->len + n > d->cap) {
        size_t cap = (d->len + n) * 2;
        unsigned char *p = realloc(d->data, cap);

        if (p == NULL) {
            d->failed = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        d->data = p;
        d->cap = cap;
    }
    memcpy(d->data + d->len, data, n);
    d->len += n;
    return CAIRO_STATUS_SUCCESS;
}

void draw_begin(struct draw_doc *d, double w_mm, double h_mm)
{
    memset(d, 0, sizeof(*d));
    d->surface = cairo_pdf_surface_create_for_stream(write_cb, d, w_mm * DRAW_MM, h_mm * DRAW_MM);
    d->cr = cairo_create(d->surface);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
}

int draw_end(struct draw_doc *d, unsigned char **out, size_t *len, struct err *e)
{
    cairo_status_t st;

    cairo_destroy(d->cr);
    cairo_surface_finish(d->surface);
    st = cairo_surface_status(d->surface);
    cairo_surface_destroy(d->surface);
    if (d->failed || st != CAIRO_STATUS_SUCCESS) {
        free(d->data);
        return err_set(e, -ENOMEM, "the PDF was not written: %s", cairo_status_to_string(st));
    }
    *out = d->data;
    *len = d->len;
    return 0;
}

double draw_text(cairo_t *cr, double x, double y, double size, int bold, enum draw_align align,
                 const char *text)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_new();
    cairo_font_options_t *fo = cairo_font_options_create();
    int w, h;

    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout), fo);
    pango_layout_context_changed(layout);
    cairo_font_options_destroy(fo);
    pango_font_description_set_family(fd, "DejaVu Sans,Noto Sans CJK SC,sans");
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_layout_set_font_description(layout, fd);
    pango_layout_set_text(layout, text, -1);
    pango_layout_get_size(layout, &w, &h);
    cairo_move_to(cr, x * DRAW_MM - (align == DRAW_RIGHT ? (double)w / PANGO_SCALE : 0),
                  y * DRAW_MM);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(fd);
    g_object_unref(layout);
    return (double)h / PANGO_SCALE / DRAW_MM;
}

void draw_rule(cairo_t *cr, double x0, double x1, double y, double w)
{
    cairo_set_line_width(cr, w * DRAW_MM);
    cairo_move_to(cr, x0 * DRAW_MM, y * DRAW_MM);
    cairo_line_to(cr, x1 * DRAW_MM, y * DRAW_MM);
    cairo_stroke(cr);
}
