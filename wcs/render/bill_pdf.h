/*
 * bill_pdf.h - a closed dispatch's delivery bill (CN 38 air / CN 37
 * surface) as A4 PDF pages: the header (offices, dispatch, route, crossing,
 * departure), a table of receptacles (number, id, serial, weight, parcels),
 * each page ending with its totals carried forward and the next starting
 * with them brought forward, the final totals (docs/documents.md).
 */
#ifndef WCS_RENDER_BILL_PDF_H
#define WCS_RENDER_BILL_PDF_H

#include <stddef.h>

#include "common/err.h"
#include "wcs/core/bagging.h"

#define WCS_BILL_ROWS_PER_PAGE 30

/* The bill as PDF into *out (malloc'd, *len bytes). Returns 0, -ENOMEM, or
 * ERR_STATE for a dispatch not closed yet. */
int wcs_bill_pdf(const struct wcs_manifest *m, unsigned char **out, size_t *len, struct err *e);

#endif
