/*
 * scan_body.c - the body of POST /v1/scans (wcs/daemon/scan_body.h): text
 * from the network is checked here before it can reach the log or the
 * event log.
 */
#include "wcs/daemon/scan_body.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/diag.h"

/* True when s is printable ASCII, blanks allowed only when blanks. */
static bool text_ok(const char *s, bool blanks)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < (blanks ? 0x20 : 0x21) || (unsigned char)*s > 0x7E)
            return false;
    return true;
}

/* Scan i of the body, o, into s; ERR_PARSE with the reason in e. */
static int scan_from_json(json_t *o, size_t i, struct conv_scan *s, struct err *e)
{
    static const char *const keys[] = {"location", "code", "source", "symbology"};
    char *dst[] = {s->location, s->code, s->source, s->symbology};
    size_t cap[] = {sizeof(s->location), sizeof(s->code), sizeof(s->source), sizeof(s->symbology)};
    json_t *age;
    size_t k;

    if (!json_is_object(o))
        return err_set(e, ERR_PARSE, "scan %zu: not an object", i);
    memset(s, 0, sizeof(*s));
    for (k = 0; k < 4; k++) {
        json_t *v = json_object_get(o, keys[k]);
        const char *str = json_string_value(v);
        size_t n = str != NULL ? strlen(str) : 0;

        if (v == NULL && k >= 2)
            continue;
        /* A JSON string may hold "\u0000": its length then differs from strlen. */
        if (str == NULL || n == 0 || n >= cap[k] || json_string_length(v) != n)
            return err_set(e, ERR_PARSE,
                           "scan %zu: %s: a string of 1 to %zu characters is required", i, keys[k],
                           cap[k] - 1);
        if (!text_ok(str, k >= 2))
            return err_set(e, ERR_PARSE, "scan %zu: %s: printable ASCII characters only%s", i,
                           keys[k], k >= 2 ? "" : ", without blanks");
        memcpy(dst[k], str, n + 1);
    }
    age = json_object_get(o, "age_ms");
    if (age != NULL) {
        if (!json_is_integer(age) || json_integer_value(age) < 0 ||
            json_integer_value(age) > WCS_SCAN_AGE_MAX_MS)
            return err_set(e, ERR_PARSE, "scan %zu: age_ms: an integer of 0 to %d is required", i,
                           WCS_SCAN_AGE_MAX_MS);
        s->at_us = -(int64_t)json_integer_value(age) * 1000;
    }
    return 0;
}

int wcs_scan_body_parse(const char *body, size_t len, struct conv_scan *scans, size_t *n,
                        struct err *e)
{
    json_error_t je;
    json_t *root, *items;
    char why[ERR_MSG_MAX];
    size_t i, count;
    int rc = 0;

    *n = 0;
    if (len > WCS_SCAN_BODY_MAX)
        return err_set(e, ERR_FULL, "body of %zu bytes, at most %d", len, WCS_SCAN_BODY_MAX);
    root = json_loadb(body != NULL ? body : "", len, 0, &je);
    if (root == NULL) {
        /* jansson quotes the text near the fault, control characters too. */
        diag_printable(why, sizeof(why), je.text);
        return err_set(e, ERR_PARSE, "body is not JSON: line %d: %s", je.line, why);
    }
    items = json_is_array(root) ? root : NULL;
    count = items != NULL ? json_array_size(items) : 1;
    if (count > WCS_SCANS_PER_REQUEST) {
        rc = err_set(e, ERR_FULL, "%zu scans in one request, at most %d", count,
                     WCS_SCANS_PER_REQUEST);
        goto out;
    }
    for (i = 0; i < count && rc == 0; i++)
        rc = scan_from_json(items != NULL ? json_array_get(items, i) : root, i, &scans[i], e);
    if (rc == 0)
        *n = count;
out:
    json_decref(root);
    return rc;
}
