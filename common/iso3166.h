/*
 * iso3166.h - ISO 3166-1 alpha-2 country codes, shared by every module that
 * checks a country (parcel codes in scanners/, declarations in customs/), so
 * the 249-entry table exists exactly once.
 */
#ifndef WCS_COMMON_ISO3166_H
#define WCS_COMMON_ISO3166_H

/* True (1) when c1 c2 is an officially assigned ISO 3166-1 alpha-2 code,
 * upper case only ("RU", "CN"); 0 for lower case, user-assigned (AA, XA..XZ,
 * ZZ), reserved (EU, UK) and withdrawn (SU, YU) codes. Pure, no errors. */
int iso3166_valid(char c1, char c2);

#endif
