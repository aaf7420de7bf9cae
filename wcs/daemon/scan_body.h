/*
 * scan_body.h - the body of wcsd's POST /v1/scans: JSON text in, checked
 * scans out. Pure (no server, no loop, no state): http_server.c collects the
 * body, hands it here and answers with what comes back; the checks that
 * need the daemon (a configured location, room in the event log) stay
 * there. docs/wcsd.md "HTTP API" has the rules, docs/security.md why.
 */
#ifndef WCS_SCAN_BODY_H
#define WCS_SCAN_BODY_H

#include <stddef.h>

#include "common/err.h"
#include "conveyor/correlate.h"

#define WCS_SCAN_BODY_MAX 65536  /* bytes of one body, at most */
#define WCS_SCANS_PER_REQUEST 64 /* scans in one body, at most */
#define WCS_SCAN_AGE_MAX_MS 60000 /* a scan's stated age, at most */

/*
 * Reads a body of len bytes (need not be NUL-terminated; body may be NULL
 * when len is 0): one scan {"location", "code", "source"?, "symbology"?,
 * "age_ms"?} or an array of at most WCS_SCANS_PER_REQUEST of them. location
 * and code are 1 to 20 and 1 to CONV_SCAN_CODE_MAX characters of printable
 * ASCII without blanks, source and symbology (when given) 1 to 20 and 1 to 3
 * of printable ASCII, age_ms (how long ago the scanner read it, by the
 * client's clock: a scan posted late keeps its moment) an integer 0 to
 * WCS_SCAN_AGE_MAX_MS; every other key is ignored. One bad scan refuses the
 * body. The scans go to scans[0..*n-1] in body order, source "" when not
 * given, and at_us minus the age in microseconds (0 when not given): the
 * caller adds the time the body was received. Returns 0; ERR_PARSE (not JSON: "body is not JSON: line 1:
 * ...", or a scan that breaks a rule: "scan 3: code: ...") or ERR_FULL (a
 * body over WCS_SCAN_BODY_MAX bytes, more than WCS_SCANS_PER_REQUEST scans),
 * with the reason in e: one printable line.
 */
int wcs_scan_body_parse(const char *body, size_t len, struct conv_scan *scans, size_t *n,
                        struct err *e);

#endif
