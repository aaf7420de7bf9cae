/*
 * parcel.h - the parcel data model: the full pre-advice record (import, store,
 * wcsctl) and the compact record the in-memory registry keeps for decisions.
 */
#ifndef WCS_PARCEL_H
#define WCS_PARCEL_H

#include <stdint.h>

#include "customs/customs.h"
#include "scanners/scanners.h"

#define WCS_CODE_MAX SCAN_CODE_MAX /* longest parcel code, chars */
#define WCS_MAX_IDS 4              /* identifiers per parcel, primary included */
#define WCS_SERVICE_MAX 8          /* service code, chars ("ECONOMY", "EMS") */
#define WCS_POSTAL_NONE 0xFFFFFFFFu

/* One pre-advised parcel as imported (CSV / JSON Lines) and stored. Numeric
 * fields use -1 for "absent". Strings are NUL-terminated, "" when absent. */
struct wcs_preadvice {
    char code[WCS_CODE_MAX + 1];                   /* primary parcel code */
    char other_ids[WCS_MAX_IDS - 1][WCS_CODE_MAX + 1];
    int n_other_ids;
    char service[WCS_SERVICE_MAX + 1];             /* e.g. "ECONOMY", "STANDARD", "EMS" */
    char country[3];                               /* recipient country, ISO 3166 alpha-2 */
    char postal_code[7];                           /* 6 digits for RU, "" absent */
    char recipient_name[128];
    char city[64];
    char address[192];
    char phone[24];                                /* E.164, "+7..." */
    int32_t weight_g;                              /* grams */
    int32_t length_mm, width_mm, height_mm;        /* millimetres */
    int64_t declared_value;                        /* minor units of currency */
    char currency[4];                              /* ISO 4217 */
    char item_description[192];
    char hs_code[11];
    enum cust_status customs;

    /* Customs data, only for the declaration built on import (docs/customs.md
     * "Declarations from pre-advice"); not kept in parcels. */
    char region[96];                               /* recipient's oblast, krai, republic */
    char sender_name[128];
    char sender_address[192];
    char sender_city[64];
    char sender_postal_code[12];
    char sender_country[3];
    char sender_phone[24];
    char category[24];                             /* "" = sale_of_goods */
    int32_t quantity;                              /* pieces; -1 = 1 */
    int32_t net_weight_g;                          /* item's net weight; -1 = weight_g */
    char origin_country[3];                        /* "" = sender_country */
    char passport_series[8];
    char passport_number[12];
    char passport_issued[12];                      /* YYYY-MM-DD */
    char inn[16];
};

/* What the decision engine needs of a parcel; 40 bytes, kept for millions. */
struct wcs_parcel {
    int64_t id;                 /* parcels.id in the database */
    uint32_t postal;            /* 6-digit postal code as a number, WCS_POSTAL_NONE absent */
    uint32_t weight_g;          /* grams, 0 unknown */
    uint16_t length_mm;         /* millimetres, 0 unknown */
    uint16_t width_mm;
    uint16_t height_mm;
    uint8_t customs;            /* enum cust_status */
    char country[2];            /* ISO 3166 alpha-2, not NUL-terminated */
    char service[WCS_SERVICE_MAX]; /* NUL-padded, not necessarily NUL-terminated */
};

/* Fills the compact record from a pre-advice record (id left to the caller). */
void wcs_parcel_from_preadvice(struct wcs_parcel *p, const struct wcs_preadvice *a);

#endif
