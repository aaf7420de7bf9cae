/*
 * printing.h - bag labels printed at the line (docs/documents.md "Label
 * printers"): the `label_printers:` of the config, each raw TCP (port 9100,
 * as Zebra printers take ZPL) for the chutes of its routes. A bag closed by
 * anyone (console, wcsctl) is printed on its route's printer; a printer
 * that does not take a label is marked failed (the console raises its
 * alarm) until a label goes through again; a label can be printed again
 * from the console.
 */
#ifndef WCS_DAEMON_PRINTING_H
#define WCS_DAEMON_PRINTING_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/err.h"
#include "wcs/config/config.h"

#define WCS_PRINT_TIMEOUT_MS 3000

struct wcs_printers;

/* The printers of cfg (not copied: cfg outlives them). NULL without memory. */
struct wcs_printers *wcs_printers_new(const struct wcs_config *cfg);
void wcs_printers_free(struct wcs_printers *p);

size_t wcs_printers_count(const struct wcs_printers *p);
const struct wcs_printer_config *wcs_printers_config(const struct wcs_printers *p, size_t i);
/* The printer of route, -1 none. Any thread (the configuration is fixed). */
int wcs_printers_for_route(const struct wcs_printers *p, const char *route);

/*
 * Prints the label of bag_id, or (bag_id NULL) of chute's newest closed
 * bag, on its route's printer: the record from c, the ZPL sent over raw
 * TCP within WCS_PRINT_TIMEOUT_MS. Blocking: libuv's pool only. *printer
 * gets the printer's index (-1 none), bag the bag's id. Returns 0,
 * ERR_NOTFOUND (no such closed bag, or no printer for its route), ERR_HTTP
 * (the printer did not take it: e says why), ERR_DB.
 */
int wcs_print_bag(const struct wcs_printers *p, PGconn *c, const char *bag_id, const char *chute,
                  int *printer, char bag[32], struct err *e);

/* What a print did, on the loop: a failure marks printer i failed with why
 * (its alarm), a success clears it. */
void wcs_printers_result(struct wcs_printers *p, int i, bool ok, const char *bag,
                         const char *why);
/* Whether printer i is failed now, and why (text of len bytes). Loop. */
bool wcs_printers_failed(const struct wcs_printers *p, size_t i, char *text, size_t len);

/* Prints chute's newest closed bag on a thread of the pool with its own
 * connection, the result back on loop (wcs_printers_result). */
void wcs_printers_print_async(struct wcs_printers *p, uv_loop_t *loop, const char *conninfo,
                              const char *chute);

#endif
