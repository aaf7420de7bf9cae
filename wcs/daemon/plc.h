/*
 * plc.h - wcsd's sorter PLCs: one PLC station (conveyor/station.h: the
 * protocol's session rules) per configured PLC, and what the telegrams mean
 * for the WCS, as the stations' ops:
 *
 *   decide  REQ_ -> the sorter (measurements from the REQ_, recirculations)
 *           -> chute and reason; the chosen chute's load counts the parcel.
 *   apply   UPD_ -> a confirmation event; a parcel that did not reach its
 *           chute (recirculated, divert failed, lost...) leaves its load.
 *           LOCU -> the chute's state in the engine; SYSU -> a line event.
 *   record  every telegram in and out (the telegram log) and every decision
 *           go to the event writer.
 *   durable the writer's durability ticket releases the ACK_s.
 *
 * It also keeps the WCS's own scans (USB, camera, HTTP) by location for the
 * stations' read windows, and logs each as a scan event. Everything here
 * runs on the daemon's loop thread.
 */
#ifndef WCS_DAEMON_PLC_H
#define WCS_DAEMON_PLC_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>
#include <uv.h>

#include "common/err.h"
#include "conveyor/correlate.h"
#include "conveyor/station.h"
#include "wcs/config/config.h"
#include "wcs/core/sorter.h"
#include "wcs/store/events.h"
#include "wcs/store/lease.h"

struct wcs_plcs;

/*
 * The line's PLC side, without stations yet: the WCS's scans are kept from
 * now on (for the read windows). sorter and writer (not owned) must outlive
 * it; lease (may be NULL: always active) says whether this wcsd may answer
 * the PLCs and log scans now. *out is set even on error, for
 * wcs_plcs_stop(). Returns 0 or -ENOMEM.
 */
int wcs_plcs_new(const struct wcs_config *cfg, struct wcs_sorter *sorter,
                 struct wcs_event_writer *writer, struct wcs_lease *lease, struct wcs_plcs **out,
                 struct err *e);

/*
 * Starts a station for every PLC of cfg on loop (once: when this wcsd
 * becomes the line's active one). c (may be NULL) is read for the
 * telegrams received in the last hour, so a telegram resent after a restart
 * or a takeover is still recognised as a resend, and for the line's scans
 * of the last seconds (the read windows). On an error (e says which PLC)
 * the stations already started are left for wcs_plcs_stop(). Returns 0,
 * -ENOMEM, ERR_DB or a station's error.
 */
int wcs_plcs_open(struct wcs_plcs *p, uv_loop_t *loop, const struct wcs_config *cfg, PGconn *c,
                  struct err *e);

/* Closes every station (asynchronously: the loop ends when they are closed;
 * then p is freed). NULL is a no-op. */
void wcs_plcs_stop(struct wcs_plcs *p);

/* The event writer made more records durable: send the ACK_s waiting for them. */
void wcs_plcs_durable(struct wcs_plcs *p);

/* A scan from a WCS scanner (USB, camera, HTTP): kept for the read windows
 * and logged. Returns 0; ERR_NOTFOUND when its location is not a configured
 * scan location (wcs_plcs_scan_location_known()); ERR_FULL when the event
 * writer has no room for it (wcs_plcs_scan_room()); ERR_INVALID / -ENOMEM
 * (the correlator's). e names the location. */
int wcs_plcs_scan(struct wcs_plcs *p, const struct conv_scan *s, struct err *e);

/* True when location is a configured scan location: one of the plcs[].locations
 * a scanners[].location or a cameras.sources[].location. Only these get a ring of scans, so the
 * correlator's memory is bounded by the config (WCS_SCAN_LOCATIONS_MAX). */
bool wcs_plcs_scan_location_known(const struct wcs_plcs *p, const char *location);

/* True when n more scans fit in the event writer's queue below half its
 * capacity and its spool is below its alarm level: scans give way, so a
 * flood of them never takes the room the PLC's records (whose ACK_s wait
 * for durability) need. */
bool wcs_plcs_scan_room(const struct wcs_plcs *p, size_t n);

/* For status pages: the stations, 0..count-1. */
size_t wcs_plcs_count(const struct wcs_plcs *p);
/* Counts every decision into f (the console's shift figures); NULL stops. */
struct wcs_figures;
void wcs_plcs_set_figures(struct wcs_plcs *p, struct wcs_figures *f);
const struct conv_station *wcs_plcs_station(const struct wcs_plcs *p, size_t i);
/* No-reads go to v (their frames kept, a row for video coding), and a
 * parcel that comes round unread is decided on the code keyed in for it;
 * NULL stops. */
struct wcs_video_coding;
void wcs_plcs_set_video_coding(struct wcs_plcs *p, struct wcs_video_coding *v);

#endif
