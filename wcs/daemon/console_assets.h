/*
 * console_assets.h - the operator console's files (console/), compiled
 * into wcsd by cmake/embed-console.cmake.
 */
#ifndef WCS_CONSOLE_ASSETS_H
#define WCS_CONSOLE_ASSETS_H

#include <stddef.h>

struct wcs_console_asset {
    const char *name; /* file name in console/, e.g. "app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Every file, then one whose name is NULL. */
extern const struct wcs_console_asset wcs_console_assets[];

#endif
