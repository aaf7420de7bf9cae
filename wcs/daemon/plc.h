/*
 * plc.h - wcsd's side of the sorter PLCs: one conveyor link per configured
 * PLC, and what the telegrams mean for the WCS.
 *
 *   REQ_ -> (wait for late WCS scans when the PLC sent no barcode) -> decision
 *           engine -> RES_ within decision_deadline_ms; a repeated REQ_ gets
 *           the same answer; a REQ_ after RECIRC__ counts a recirculation.
 *   UPD_ -> parcel state and chute load;  LOCU -> chute state;  SYSU -> line
 *           state. Each is ACK_ed only once its event is durable (database or
 *           local spool); a resent telegram (same type and content) is
 *           answered DUPLIC__ and not applied twice.
 *   Every telegram in and out goes to the telegram log.
 * Everything here runs on the daemon's loop thread.
 */
#ifndef WCS_PLC_H
#define WCS_PLC_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "conveyor/correlate.h"
#include "wcs/config/config.h"

struct wcsd;
struct wcs_plc;

struct wcs_plc_stats {
    uint64_t requests;       /* REQ_ received */
    uint64_t repeated;       /* REQ_ answered from the in-flight table */
    uint64_t recirculations; /* REQ_ after RECIRC__/NODIVERT */
    uint64_t answers;        /* RES_ sent */
    uint64_t late;           /* RES_ sent after decision_deadline_ms */
    uint64_t updates;        /* UPD_/LOCU/SYSU applied */
    uint64_t duplicates;     /* resends answered DUPLIC__ */
    uint64_t acks;           /* ACK_ sent */
    uint64_t acks_dropped;   /* ACK_ not sent: the connection was gone when durable */
    uint64_t log_dropped;    /* events/telegrams the writer refused (queue full) */
};

/* Starts every PLC link of d->cfg. c (may be NULL) is read for the
 * telegrams received in the last hour, so a telegram resent after a wcsd
 * restart is still recognised as a resend. Returns 0 or the first error (e
 * says which PLC); the links already started are then left for
 * wcs_plcs_stop(). */
int wcs_plcs_start(struct wcsd *d, PGconn *c, struct err *e);

/* Closes every link (asynchronously; the loop ends when they are closed). */
void wcs_plcs_stop(struct wcsd *d);

/* The event writer made more records durable: send the ACK_s waiting for them. */
void wcs_plcs_durable(struct wcsd *d);

/* A scan from a WCS scanner (USB, camera, HTTP): kept for correlation and logged. */
int wcs_plcs_scan(struct wcsd *d, const struct conv_scan *s, struct err *e);

/* For status pages: PLC i (0..cfg.nplcs-1). */
struct wcs_plc *wcs_plcs_get(struct wcsd *d, int i);
const char *wcs_plc_id(const struct wcs_plc *p);
bool wcs_plc_connected(const struct wcs_plc *p);
int wcs_plc_port(const struct wcs_plc *p);
const char *wcs_plc_line_state(const struct wcs_plc *p);
size_t wcs_plc_in_flight(const struct wcs_plc *p);
void wcs_plc_get_stats(const struct wcs_plc *p, struct wcs_plc_stats *out);

#endif
