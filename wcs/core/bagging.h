/*
 * bagging.h - bags (UPU receptacles), dispatches and their customs manifests:
 * the pure part (wcs/core/bagging.c): receptacle ids, the route ->
 * office-of-exchange table, manifest ids, the manifest as JSON and CSV. The
 * store part is wcs/store/bags.h; docs/bags.md has the design.
 */
#ifndef WCS_CORE_BAGGING_H
#define WCS_CORE_BAGGING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

/* Office of exchange of the hub (UPU code list): Harbin. */
#define WCS_BAG_ORIGIN_OFFICE "CNHRBA"
/* Mail subclass written into every receptacle id (2 letters). */
#define WCS_BAG_SUBCLASS "UN"

#define WCS_RECEPTACLE_LEN 29
#define WCS_MANIFEST_ID_MAX 48


/* The fields of a UPU receptacle id (russia-bound facts: 6 + 6 + 1 + 2 + 14). */
struct wcs_receptacle {
    char origin[7];   /* origin office of exchange, e.g. CNHRBA */
    char dest[7];     /* destination office of exchange, e.g. RUMOWA */
    char category;    /* mail category A-D */
    char subclass[3]; /* 2 upper-case letters */
    int year;         /* the full year; only its last digit is written */
    int dispatch_no;  /* 1..9999 */
    int serial;       /* receptacle serial in the dispatch, 1..999 */
    int last;         /* 1 when this is the dispatch's last receptacle */
    int registered;   /* 1 when it holds registered/insured items */
    int weight_g;     /* gross weight in grams (written in hectograms) */
};

/* Writes r as its 29-character id into out (NUL-terminated). The weight is
 * rounded to the nearest hectogram, at least 1 hg for a non-zero weight, and
 * must fit 4 digits (999.9 kg). Returns 0, or ERR_INVALID with the field at
 * fault in e (out is then ""). */
int wcs_receptacle_format(const struct wcs_receptacle *r, char out[WCS_RECEPTACLE_LEN + 1],
                          struct err *e);

/* Destination office of exchange for a route of the sort plan (static table
 * in bagging.c, documented in docs/bags.md), e.g. "RU-MOW-AIR" -> "RUMOWA".
 * Returns the 6-character code, or NULL for a route the table lacks. */
const char *wcs_bag_dest_office(const char *route);

/* UPU mail category for a route mode / transport: 'A' (priority, by air)
 * for "air", 'C' (surface) for "rail", "road", "river"; 0 for anything else. */
char wcs_bag_category(const char *mode);

/* Checks an ISO 8601 departure with seconds and an offset
 * ("2026-11-22T18:00:00+08:00" or "...Z"). Returns 0 or ERR_INVALID. */
int wcs_departure_check(const char *departure, struct err *e);

/* Writes the manifest-id prefix "HRB-YYYYMMDD-XXX" (date as written in the
 * departure, XXX the middle part of the route "RU-ZAB-RAIL") into out.
 * Returns 0 or ERR_INVALID (bad departure or a route not shaped CC-XXX-...). */
int wcs_manifest_id_prefix(const char *route, const char *departure, char *out, size_t len,
                           struct err *e);

struct wcs_manifest_parcel {
    char code[33]; /* the parcel's primary code */
    int weight_g;  /* pre-advised weight, -1 unknown */
};

struct wcs_manifest_bag {
    char bag_id[WCS_RECEPTACLE_LEN + 1];
    char chute[21];
    int gross_weight_g;
    struct wcs_manifest_parcel *parcels; /* owned */
    size_t nparcels;
};

/* A dispatch with its bags, as the broker's POST /v1/manifests wants it. */
struct wcs_manifest {
    char manifest_id[WCS_MANIFEST_ID_MAX];
    char route[32];
    char transport[8];
    char border_crossing[64];
    char departure[40];            /* as the operator gave it */
    char carrier[64];              /* who carries it, "" not named */
    char status[12];               /* open | closed | submitted */
    struct wcs_manifest_bag *bags; /* owned */
    size_t nbags;
    /* The broker's answer (wcs_db_manifest_load only; "" / NULL = none yet). */
    char submission[96];           /* "queued", "attempt N", "received", "refused" */
    char broker_ref[64];
    char *unknown_parcels;         /* JSON array text of unknown_parcels; owned */
    char manifest_error[256];      /* a final refusal */
    char answered_at[24];          /* "YYYY-MM-DD HH:MM:SS" UTC */
};

/* Frees what m owns (not m itself); m may be NULL. */
void wcs_manifest_free(struct wcs_manifest *m);

/* The POST /v1/manifests body for m (broker-api spec): manifest_id, route,
 * transport, border_crossing, departure, bags [{bag_id, gross_weight_g,
 * parcels [codes]}]. Returns a new reference (caller json_decref()s), or
 * NULL when out of memory. */
json_t *wcs_manifest_json(const struct wcs_manifest *m);

/* Writes m as CSV (libcsv quoting) to f: a header line, then one row per
 * parcel: manifest_id, bag_id, bag_gross_weight_g, parcel, parcel_weight_g
 * (empty when unknown). Returns 0 or -errno (write error). */
int wcs_manifest_csv(const struct wcs_manifest *m, FILE *f, struct err *e);

#endif
