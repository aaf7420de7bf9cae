/*
 * oksm.h - OKSM, the Russian classifier of the world's countries, whose
 * numeric codes are ISO 3166-1 numeric: the country codes Russian carriers'
 * APIs take (customs/rupost.c). A table of the countries parcels come from
 * and go to at this hub; a country not in it has no code here.
 */
#ifndef WCS_CUSTOMS_OKSM_H
#define WCS_CUSTOMS_OKSM_H

/* The OKSM number of ISO 3166 alpha-2 code a2, or -1. */
int cust_oksm_of(const char *a2);

/* The alpha-2 code of OKSM number n, or NULL. */
const char *cust_oksm_alpha2(int n);

#endif
