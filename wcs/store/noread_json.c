/*
 * noread_json.c - a no-read parcel as JSON (noreads.h), the one form the
 * HTTP API and `wcsctl noread ... --json` print.
 */
#include <stdio.h>

#include "wcs/store/noreads.h"

static json_t *text_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *ms_or_null(int64_t us)
{
    return us > 0 ? json_integer((json_int_t)(us / 1000)) : json_null();
}

json_t *wcs_noread_json(const struct wcs_noread *n)
{
    json_t *images = json_array();
    size_t i;

    for (i = 0; i < n->nimages; i++) {
        char url[WCS_NOREAD_NAME_MAX + 32];

        snprintf(url, sizeof(url), WCS_NOREAD_IMAGE_PATH "%s", n->images[i]);
        json_array_append_new(images, json_pack("{s:s,s:s,s:s}", "name", n->images[i], "camera",
                                                n->cameras[i], "url", url));
    }
    return json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "id",
                     (json_int_t)n->id, "line", n->node, "tracking", n->tracking, "location",
                     n->location, "at", (json_int_t)(n->at_us / 1000), "cause", n->cause, "images",
                     images, "state", n->state, "code", text_or_null(n->code), "keyed_by",
                     text_or_null(n->keyed_by), "keyed_at", ms_or_null(n->keyed_at_us),
                     "resolved_at", ms_or_null(n->resolved_at_us), "resolved_to",
                     text_or_null(n->resolved_to));
}
