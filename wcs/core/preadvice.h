/*
 * preadvice.h - pre-advice files read and validated (CSV with header, or JSON Lines).
 *
 * The reader is pure (no database): it turns a file into validated struct
 * wcs_preadvice rows, reporting each bad row as "FILE:LINE: field: reason"
 * and skipping it. wcs_import_file() (wcs/store/import.h) feeds the good rows
 * to the store in batches.
 *
 * CSV header (column order free, unknown columns refused, names below):
 *   code,other_ids,service,country,postal_code,recipient_name,city,address,
 *   phone,weight_g,length_mm,width_mm,height_mm,declared_value,currency,
 *   item_description,hs_code
 * and, optional, the customs data the declaration needs (docs/customs.md
 * "Declarations from pre-advice"):
 *   region,sender_name,sender_address,sender_city,sender_postal_code,
 *   sender_country,sender_phone,category,quantity,net_weight_g,
 *   origin_country,passport_series,passport_number,passport_issued,inn
 * other_ids: codes separated by spaces or ';'. declared_value: minor units.
 * Required columns: code, service, country, weight_g (postal_code may be left
 * out of a file with no Russian parcel). An empty field is an absent value.
 * JSON Lines: one object per line with the same keys (other_ids an array of
 * strings, numbers as JSON integers, the rest strings, null = absent);
 * blank lines are skipped, unknown keys refused.
 *
 * Row rules (one "FILE:LINE: field: reason" each): code and other_ids valid
 * parcel codes (S10, Cainiao, Russian Post; at most 3 other ids, none
 * repeated); service 1-8 of [A-Z0-9_]; country 2 upper-case letters; RU needs
 * a 6-digit postal_code; phone "+" and 7-15 digits; weight_g 1-1000000;
 * length/width/height_mm 0-65535; declared_value 0-10^12 with a currency of
 * 3 upper-case letters; hs_code 6-10 digits; text valid UTF-8 without control
 * characters (tab and line breaks allowed), within the struct's buffer (too
 * long is an error, never cut); quantity 1-100000, net_weight_g 1-1000000.
 * The customs columns' own rules (INN checksum, E.164 sender phone, ...) are
 * the declaration's: breaking them does not refuse the row, it blocks the
 * parcel (its declaration is stored invalid). CSV records with the wrong number of fields
 * and stray quotes are refused. LINE is the physical line where the record
 * starts.
 */
#ifndef WCS_CORE_PREADVICE_H
#define WCS_CORE_PREADVICE_H

#include <stddef.h>
#include <stdio.h>

#include "common/diag.h"
#include "common/err.h"
#include "wcs/core/parcel.h"

/* Called for each good row, with its 1-based line (JSONL) or record start
 * line (CSV). A non-zero return stops the read and is returned. */
typedef int (*wcs_preadvice_cb)(void *arg, const struct wcs_preadvice *row, int line);

struct wcs_import_counts {
    size_t rows;      /* data rows seen */
    size_t good;      /* rows passed to the callback */
    size_t bad;       /* rows refused (each reported in d) */
};

/* Validates one row; adds "FILE:LINE: field: reason" to d per problem.
 * Returns 0 or ERR_INVALID. */
int wcs_preadvice_validate(const struct wcs_preadvice *a, const char *file, int line,
                           struct diag *d);

/* Reads FILE (CSV, or JSON Lines when the name ends in .jsonl/.ndjson or the
 * first byte is '{'), streaming, calling cb for each good row; bad rows are
 * reported in d and counted. counts may be NULL. Returns 0, a -errno when
 * the file cannot be read, ERR_PARSE for a broken header (every header
 * problem in d, the first in e; no row is read), a CSV field over 64 KiB or a
 * CSV line over 1 MiB (CSV_TABLE_LINE_MAX), or cb's value. A JSON line over
 * 1 MiB, or nested deeper than 4 levels, is a bad row ("row: line longer
 * than 1048576 bytes", "row: JSON nested deeper than 4 levels"). */
int wcs_preadvice_read_file(const char *path, wcs_preadvice_cb cb, void *arg,
                            struct wcs_import_counts *counts, struct diag *d, struct err *e);

/* The same reader on an open stream (the caller's: not closed), from its
 * current position; name is the file name messages show, and tells the
 * format as above (a memory buffer through fmemopen, for tests and the
 * fuzzer). Returns as wcs_preadvice_read_file. */
int wcs_preadvice_read_stream(FILE *fp, const char *name, wcs_preadvice_cb cb, void *arg,
                              struct wcs_import_counts *counts, struct diag *d, struct err *e);

#endif
