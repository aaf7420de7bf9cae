/*
 * noread_doc.h - a no-read parcel as the HTTP API shows it (docs/console.md
 * "Video coding"): {id, line, tracking, location, at, cause, images: [{name,
 * camera, url}], state, code, keyed_by, keyed_at, resolved_at,
 * resolved_to}; times in milliseconds since the epoch, null when not yet.
 */
#ifndef WCS_DAEMON_NOREAD_DOC_H
#define WCS_DAEMON_NOREAD_DOC_H

#include <jansson.h>

#include "wcs/store/noreads.h"

/* The image's URL: /v1/noread-images/NAME. */
#define WCS_NOREAD_IMAGE_PATH "/v1/noread-images/"

json_t *wcs_noread_json(const struct wcs_noread *n);

#endif
