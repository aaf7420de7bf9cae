/*
 * label_pdf.h - a bag's label as a PDF page of 100 x 150 mm (cairo, pango,
 * libzint): the fields of wcs/core/label.h, the receptacle id as a Code 128
 * barcode drawn as vectors, the cities in Latin, Cyrillic and Chinese
 * (docs/documents.md).
 */
#ifndef WCS_RENDER_LABEL_PDF_H
#define WCS_RENDER_LABEL_PDF_H

#include <stddef.h>

#include "common/err.h"
#include "wcs/core/label.h"

/* The label as a one-page PDF into *out (malloc'd, *len bytes). Returns 0,
 * -ENOMEM, ERR_INVALID (an office the table lacks, a barcode libzint
 * refuses: e says which). */
int wcs_label_pdf(const struct wcs_bag_label *l, unsigned char **out, size_t *len,
                  struct err *e);

#endif
