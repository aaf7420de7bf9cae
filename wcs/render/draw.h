/*
 * draw.h - what the documents share (wcs/render/): a PDF written into
 * memory through cairo, text laid out by pango, rules; positions in
 * millimetres from the page's top left. Internal to wcs/render.
 */
#ifndef WCS_RENDER_DRAW_H
#define WCS_RENDER_DRAW_H

#include <cairo.h>
#include <stddef.h>

#include "common/err.h"

#define DRAW_MM 2.834645669 /* points per millimetre */

struct draw_doc {
    cairo_surface_t *surface;
    cairo_t *cr;
    unsigned char *data; /* the PDF so far */
    size_t len, cap;
    int failed;
};

/* Starts a PDF whose pages are w x h mm. */
void draw_begin(struct draw_doc *d, double w_mm, double h_mm);
/* Ends it: *out (malloc'd) and *len, or -ENOMEM with e. */
int draw_end(struct draw_doc *d, unsigned char **out, size_t *len, struct err *e);

enum draw_align { DRAW_LEFT = 0, DRAW_RIGHT };

/* Text at (x, y) mm (its top; x its left or, right-aligned, its right
 * edge), size in points; returns its height in mm. */
double draw_text(cairo_t *cr, double x, double y, double size, int bold, enum draw_align align,
                 const char *text);
/* A horizontal rule from x0 to x1 at y, width w mm. */
void draw_rule(cairo_t *cr, double x0, double x1, double y, double w);

#endif
