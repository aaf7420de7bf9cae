/*
 * fuzz-http-body.c - libFuzzer entry point for the body of wcsd's
 * POST /v1/scans (wcs_scan_body_parse, wcs/daemon/scan_body.c),
 * docs/fuzzing.md.
 *
 * The input is the body. Beyond "no crash, no sanitizer report" it checks:
 *  - the parse ends in 0, ERR_PARSE or ERR_FULL; a refusal has no scans and
 *    one printable line of at most ERR_MSG_MAX - 1 bytes saying why;
 *  - at most WCS_SCANS_PER_REQUEST scans, each NUL-terminated in its
 *    fields: location and code 1.. characters of printable ASCII without
 *    blanks, source and symbology printable ASCII, at_us minus the stated
 *    age (0 to WCS_SCAN_AGE_MAX_MS ms; the daemon adds the time);
 *  - the scans, written back as a JSON array, parse again to the same.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/fuzzutil.h"
#include "wcs/daemon/scan_body.h"

/* Aborts unless field f holds min.. printable ASCII characters (blanks
 * when blanks) and its NUL. */
static void check_field(const char *f, size_t size, size_t min, bool blanks)
{
    size_t n = strnlen(f, size), i;

    if (n == size || n < min)
        abort();
    for (i = 0; i < n; i++)
        if ((unsigned char)f[i] < (blanks ? 0x20 : 0x21) || (unsigned char)f[i] > 0x7E)
            abort();
}

/* Writes the scans back as a JSON array (the optional fields when set). */
static char *write_scans(const struct conv_scan *s, size_t n)
{
    json_t *a = json_array();
    char *text;
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s}", "location", s[i].location, "code", s[i].code);

        if (s[i].source[0] != '\0')
            json_object_set_new(o, "source", json_string(s[i].source));
        if (s[i].symbology[0] != '\0')
            json_object_set_new(o, "symbology", json_string(s[i].symbology));
        if (s[i].at_us != 0)
            json_object_set_new(o, "age_ms", json_integer(-s[i].at_us / 1000));
        json_array_append_new(a, o);
    }
    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (text == NULL)
        abort();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conv_scan s[WCS_SCANS_PER_REQUEST], again[WCS_SCANS_PER_REQUEST];
    struct err e = {0};
    size_t n = 1, m, i;
    char *text;
    int rc = wcs_scan_body_parse((const char *)data, size, s, &n, &e);

    if (rc != 0) {
        if ((rc != ERR_PARSE && rc != ERR_FULL) || n != 0 || e.msg[0] == '\0')
            abort();
        fuzz_check_text(e.msg, ERR_MSG_MAX - 1);
        return 0;
    }
    if (n > WCS_SCANS_PER_REQUEST)
        abort();
    for (i = 0; i < n; i++) {
        check_field(s[i].location, sizeof(s[i].location), 1, false);
        check_field(s[i].code, sizeof(s[i].code), 1, false);
        check_field(s[i].source, sizeof(s[i].source), 0, true);
        check_field(s[i].symbology, sizeof(s[i].symbology), 0, true);
        if (s[i].at_us > 0 || s[i].at_us < -(int64_t)WCS_SCAN_AGE_MAX_MS * 1000 ||
            s[i].at_us % 1000 != 0)
            abort();
    }
    text = write_scans(s, n);
    if (wcs_scan_body_parse(text, strlen(text), again, &m, &e) != 0 || m != n)
        abort();
    for (i = 0; i < n; i++)
        if (strcmp(s[i].location, again[i].location) != 0 ||
            strcmp(s[i].code, again[i].code) != 0 || strcmp(s[i].source, again[i].source) != 0 ||
            strcmp(s[i].symbology, again[i].symbology) != 0 || s[i].at_us != again[i].at_us)
            abort();
    free(text);
    return 0;
}
