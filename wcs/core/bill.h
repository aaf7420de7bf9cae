/*
 * bill.h - a closed dispatch's delivery bill (UPU CN 38 for airmail, CN 37
 * for surface mail: rail and road), as far as the UPU's public description
 * goes (docs/documents.md): every receptacle with its id, weight and parcel
 * count, pages with totals carried over, the final totals. Pure: the
 * pagination and the CSV; the PDF is drawn by wcs/render/bill_pdf.c.
 */
#ifndef WCS_CORE_BILL_H
#define WCS_CORE_BILL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "wcs/core/bagging.h"

/* "CN 38" for air, "CN 37" for surface (rail, road, river). */
const char *wcs_bill_form(const char *transport);

struct wcs_bill_totals {
    size_t receptacles;
    long long weight_g;
    long long parcels;
};

/* One page: its rows [first, first + n) of the dispatch's bags, the totals
 * brought forward from the pages before it and carried to the next. */
struct wcs_bill_page {
    size_t first, n;
    struct wcs_bill_totals brought, carried;
};

/* Splits m's bags into pages of at most rows_per_page rows (at least one
 * page, also for no bag); *pages malloc'd, *npages of them. Returns 0 or
 * -ENOMEM. */
int wcs_bill_pages(const struct wcs_manifest *m, size_t rows_per_page,
                   struct wcs_bill_page **pages, size_t *npages, struct err *e);

/* The bill as CSV: a header, one row per receptacle (form, dispatch, route,
 * transport, crossing, departure, number, receptacle id, weight_g,
 * parcels), then a total row. Returns 0 or -EIO. */
int wcs_bill_csv(const struct wcs_manifest *m, FILE *f, struct err *e);

/*
 * The dispatch pre-advice (modelled on the content of the UPU's PREDES
 * message, docs/documents.md; its JSON Schema is docs/schemas/predes.json):
 * {format, dispatch_id, origin_office, destination_office, mail_category,
 * mail_subclass, transport, route, border_crossing, departure,
 * receptacles [{receptacle_id, serial, last, gross_weight_g, items
 * [{item_id, weight_g}]}], totals {receptacles, gross_weight_g, items}}.
 * Returns a new reference, or NULL (out of memory, or a receptacle id that
 * does not parse: e says which).
 */
json_t *wcs_predes_json(const struct wcs_manifest *m, struct err *e);

#endif
