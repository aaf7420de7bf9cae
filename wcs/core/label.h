/*
 * label.h - a bag's label (UPU CN 35 receptacle label, as far as the UPU's
 * public description goes; docs/documents.md): what it says, taken from the
 * receptacle id and the bag's record, and its ZPL for the thermal printers
 * at the line. Pure: data in, text out. The PDF is drawn by
 * wcs/render/label_pdf.c from the same fields.
 */
#ifndef WCS_CORE_LABEL_H
#define WCS_CORE_LABEL_H

#include <stddef.h>

#include "common/err.h"
#include "wcs/core/bagging.h"

/* An office of exchange: its UPU code and the city in Latin, Cyrillic and
 * Chinese script (the hub's side). */
struct wcs_office {
    const char *code;     /* e.g. "RUMOWA" */
    const char *latin;    /* "Moscow" */
    const char *cyrillic; /* "Москва" */
    const char *chinese;  /* "莫斯科" */
};

/* The office of code, or NULL when the table (label.c) lacks it. */
const struct wcs_office *wcs_office_find(const char *code);

struct wcs_bag_label {
    char bag_id[WCS_RECEPTACLE_LEN + 1];
    struct wcs_receptacle r;        /* the id's fields (wcs_receptacle_parse) */
    char route[32];
    char crossing[48];              /* "" for air */
    char mode[8];                   /* air, rail, road, river */
    int parcels;
    int weight_g;                   /* recorded gross weight (the id has hectograms) */
    char closed_at[24];             /* "YYYY-MM-DD HH:MM" UTC */
};

/* The fields of a 29-character receptacle id (the inverse of
 * wcs_receptacle_format; year is its last digit only). Returns 0 or
 * ERR_INVALID naming the position at fault. */
int wcs_receptacle_parse(const char *id, struct wcs_receptacle *r, struct err *e);

/* The dispatch's year: the id holds its last digit only, the close time
 * the rest (the year of closed_at whose last digit it is, else the digit). */
int wcs_label_year(const struct wcs_bag_label *l);

/* "A" priority (air) / "C" surface, in words. */
const char *wcs_category_name(char category);

/* The label as ZPL II (203 dpi, 100 x 150 mm: ^PW800 ^LL1200), UTF-8
 * (^CI28) for the Cyrillic and Chinese names; *out malloc'd. Returns 0,
 * -ENOMEM, or ERR_INVALID for a label without a known destination office. */
int wcs_label_zpl(const struct wcs_bag_label *l, char **out, size_t *len, struct err *e);

#endif
