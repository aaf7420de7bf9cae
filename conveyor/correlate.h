/*
 * correlate.h - pairing a PLC's destination request (REQ_ without a
 * barcode) with the codes the WCS's own scanners read at that location.
 *
 * Pure: scans go in with their time; a request asks for the distinct codes
 * read at its location inside [t - before, t + after]. Per location the
 * scans sit in a bounded ring (old scans fall out first), so memory stays
 * fixed however fast the line runs.
 */
#ifndef WCS_CONVEYOR_CORRELATE_H
#define WCS_CONVEYOR_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CONV_SCAN_CODE_MAX 32
#define CONV_CORR_LOCATIONS_MAX 64

/* A code read by a WCS scanner (USB, camera, injected). */
struct conv_scan {
    char location[21];                  /* scan point id, e.g. "SCAN01" */
    char code[CONV_SCAN_CODE_MAX + 1];
    int64_t at_us;                      /* when it was read, microseconds (any clock, same for all) */
    char source[21];                    /* scanner id */
    char symbology[4];                  /* AIM id ("]C0") or "" */
};

struct conv_correlator;

/* per_location: scans kept per location (e.g. 256). NULL on ENOMEM. */
struct conv_correlator *conv_corr_new(size_t per_location);
void conv_corr_free(struct conv_correlator *c);

/* Records a scan. Returns 0, ERR_FULL when CONV_CORR_LOCATIONS_MAX
 * locations are already tracked, or ERR_INVALID for an empty location/code. */
int conv_corr_add(struct conv_correlator *c, const struct conv_scan *s);

/*
 * Writes up to max distinct codes read at location with at_us in
 * [t_us - before_us, t_us + after_us] into codes[] (pointers into the
 * correlator, valid until the next add), oldest first. Returns how many
 * distinct codes there were; above max the count is "more than max" (exact
 * distinctness is only tracked for the first max), which is all a multi-read
 * decision needs.
 */
size_t conv_corr_collect(const struct conv_correlator *c, const char *location, int64_t t_us,
                         int64_t before_us, int64_t after_us, const char **codes, size_t max);

/* Like conv_corr_collect(), and marks every scan in the window as used: a
 * code read once belongs to one parcel, so a later request at the same
 * location never sees it again (on a dense line, windows of neighbouring
 * parcels overlap). */
size_t conv_corr_take(struct conv_correlator *c, const char *location, int64_t t_us,
                      int64_t before_us, int64_t after_us, const char **codes, size_t max);

/* Scans held for a location (for status pages). */
size_t conv_corr_count(const struct conv_correlator *c, const char *location);

#endif
