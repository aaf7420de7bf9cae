/*
 * daemon.h - wcsd's life cycle: one libuv loop owning the hot path (the
 * sorter, the PLC stations, the WCS's scanners, the operator HTTP API), a
 * store thread (the event writer) and a refresher thread (LISTEN/NOTIFY).
 *
 * Data flows one way: refresher -> loop (parcels, plans, emptied chutes);
 * loop -> writer (events, telegrams); writer -> loop (durability, which
 * releases ACK_s). The loop never waits on the database. docs/wcsd.md and
 * docs/architecture.md have the picture.
 */
#ifndef WCS_DAEMON_H
#define WCS_DAEMON_H

#include "common/err.h"
#include "wcs/config/config.h"

struct wcsd;

/*
 * Connects (retrying with back-off for cfg->db_connect_wait_s seconds),
 * migrates, loads the active plan and every parcel, starts the writer, the
 * refresher, the PLC stations, the scanners and the HTTP API. Returns 0 with
 * *out ready to run, or an error with e saying why (the database
 * unreachable, a broken plan, a port in use...).
 */
int wcsd_init(const struct wcs_config *cfg, struct wcsd **out, struct err *e);

/* Reads the files the HTTP API needs (http.tokens_file, http.tls_cert,
 * http.tls_key), checking that the secret ones are not open to others, and
 * forgets them again: what `wcsd -n` checks beyond the YAML. Returns 0 or
 * an error (e says which file and why; d has every bad line of the tokens
 * file). */
int wcsd_check_files(const struct wcs_config *cfg, struct diag *d, struct err *e);

/* Runs the loop until SIGTERM/SIGINT, then shuts down in order: HTTP,
 * stations and scanners, refresher, writer (drained). Returns 0 on a clean
 * stop. */
int wcsd_run(struct wcsd *d);

/* Frees everything; d must not be running. */
void wcsd_free(struct wcsd *d);

#endif
