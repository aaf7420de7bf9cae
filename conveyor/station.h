/*
 * station.h - a PLC station: the WCS's side of the session rules of the PLC
 * protocol (docs/plc-protocol.md "Behaviour") on one link. The link
 * (conveyor/link.h) owns the socket and the telegram layer; the station owns
 * what the protocol asks of the WCS across telegrams:
 *
 *   REQ_  answered with one RES_ from the application's decide op, counted
 *         late past the decision deadline. A repeated REQ_ (same tracking at
 *         the same location, already answered) gets the same answer without a
 *         second decision. A REQ_ for a parcel that came round (UPD_
 *         RECIRC__/NODIVERT) counts its recirculation. A REQ_ whose PLC read
 *         nothing (20 '?') or that has no PLC reader (20 '*') waits
 *         read_window_after_ms for the WCS's own scans at its location
 *         (conveyor/correlate.h), then is decided on the codes read in
 *         [REQ_ - before, REQ_ + after] (spec "Correlation").
 *   UPD_, LOCU, SYSU are ACK_ed only once durable: the application's apply
 *         op applies and records them and returns a durability ticket; the
 *         ACK_ waits until the durable op reports that ticket, and goes out
 *         only on the connection the telegram came on (the PLC resends what
 *         was not acknowledged after a reconnect). A resent UPD_ (the same
 *         type and content as the last one applied for its parcel, with no
 *         REQ_ answered for the parcel since) is not applied again: apply
 *         records it as a resend and the ACK_ says DUPLIC__; the same event
 *         after another round is new. LOCU and SYSU are state reports:
 *         always applied, answered OK______ (spec "ACK_").
 *   Every telegram in and out goes to the telegram log: a received
 *         UPD_/LOCU/SYSU is handed to the apply op with the telegram, which
 *         records it together with what it causes, as one unit (its ACK_
 *         waits for that unit; a resend after a restart is recognised from
 *         the log, see conv_station_remember(), so the log must never hold
 *         the telegram without its effect); everything else goes to the
 *         record op in the loop's check phase, after this iteration's
 *         answers were written.
 *
 * Everything runs on the loop thread, the ops included. The station knows
 * nothing of parcels' data, chutes or databases: the application decides,
 * applies and stores through the ops table it fills in.
 */
#ifndef WCS_CONVEYOR_STATION_H
#define WCS_CONVEYOR_STATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "conveyor/correlate.h"
#include "conveyor/link.h"
#include "conveyor/telegram.h"
#include "conveyor/track.h"

/* The application's answer to a REQ_. */
struct conv_answer {
    char code[CONV_SCAN_CODE_MAX + 1]; /* the code decided on; "" = none (RES_ no-read) */
    char destination[21];              /* chute or exit id */
    enum conv_reason reason;
    int32_t ref;                       /* the application's reference for this answer
                                        * (wcsd: the chute whose load counts the parcel),
                                        * -1 none; handed back with the parcel's UPD_ */
    char note[64];                     /* for the decision's log record, e.g. "route
                                        * RU-MOW-AIR plan v3" */
};

/* A log record that no ACK_ waits for, or a received UPD_/LOCU/SYSU. */
enum conv_record_kind {
    CONV_RECORD_WIRE = 0, /* a frame on the wire (wire) */
    CONV_RECORD_DECISION, /* a REQ_ answered (req, answer, recirculations) */
};

struct conv_record {
    enum conv_record_kind kind;
    int64_t at_us;                    /* realtime, microseconds */
    const struct conv_wire *wire;     /* WIRE */
    const struct conv_req *req;       /* DECISION */
    const struct conv_answer *answer; /* DECISION */
    unsigned recirculations;          /* DECISION: times the parcel came round before */
};

/* What the application does for a station; arg is conv_station_config.arg. */
struct conv_station_ops {
    /* Decides where the parcel of req goes: codes[0..ncodes-1] are the codes
     * read (the PLC's barcode, or the WCS's scans in the read window; at most
     * CONV_READS_MAX), recirculations how often it came round before. Fills
     * out (zeroed, ref -1). Must not block: the RES_ is due within the
     * deadline. */
    void (*decide)(void *arg, const struct conv_req *req, const char *const *codes,
                   size_t ncodes, unsigned recirculations, struct conv_answer *out);
    /* Applies a received UPD_, LOCU or SYSU and records it durably. wire is
     * the telegram's own log record (kind CONV_RECORD_WIRE): it must be
     * recorded with what apply records, as one unit that becomes durable
     * whole or not at all. For UPD_, parcel is the parcel's in-flight entry
     * as it was before this event (its answer and ref), NULL for LOCU/SYSU.
     * resend: the telegram repeats one already applied: record it (and its
     * wire record) as such, apply nothing (parcel is NULL). Returns the
     * unit's durability ticket (> 0), or 0 when it could not be recorded
     * (neither the telegram nor its effect): then no ACK_ is sent and a
     * resend will be applied as new. */
    uint64_t (*apply)(void *arg, const struct conv_telegram *t, const struct conv_record *wire,
                      const struct conv_track *parcel, bool resend);
    /* Records a log record; returns its durability ticket, or 0 when it
     * could not be recorded (counted in log_dropped). */
    uint64_t (*record)(void *arg, const struct conv_record *r);
    /* The highest ticket t such that every record up to t is durable. */
    uint64_t (*durable)(void *arg);
    /* Optional: whether the application may still act for the line (a
     * standby's lease: it lapsed, another WCS may answer now). When false,
     * a received telegram is ignored (no answer, nothing recorded, counted
     * in silenced) and no RES_ or ACK_ goes out. NULL: always. */
    bool (*may_act)(void *arg);
};

struct conv_station_config {
    struct conv_link_config link;  /* the PLC link (name, ids, mode, address, L, LIFE) */
    unsigned decision_deadline_ms; /* RES_ within this after REQ_, else counted late */
    unsigned read_window_before_ms; /* WCS scans this long before a REQ_ count */
    unsigned read_window_after_ms;  /* ... and this long after it (the REQ_ waits) */
    struct conv_correlator *scans; /* the WCS's scans by location (not owned; may be
                                    * shared by several stations) */
    const struct conv_station_ops *ops;
    void *arg;                     /* passed to every op */
};

struct conv_station_stats {
    uint64_t requests;       /* REQ_ received */
    uint64_t repeated;       /* REQ_ answered from the in-flight table */
    uint64_t recirculations; /* REQ_ after RECIRC__/NODIVERT */
    uint64_t answers;        /* RES_ sent */
    uint64_t late;           /* RES_ sent after decision_deadline_ms */
    uint64_t updates;        /* UPD_/LOCU/SYSU applied */
    uint64_t duplicates;     /* resends answered DUPLIC__ */
    uint64_t acks;           /* ACK_ sent */
    uint64_t acks_dropped;   /* ACK_ not sent: the connection was gone when durable */
    uint64_t log_dropped;    /* records the application could not take */
    uint64_t ambiguous;      /* REQ_ without barcode whose scans another one's window held too */
    uint64_t silenced;       /* telegrams ignored because the application may not act */
};

struct conv_station;

/* Starts the station's link on loop (cfg is copied). Returns 0 and *out, or
 * the link's error (-errno, ERR_CONFIG) or -ENOMEM, with *out NULL. */
int conv_station_start(uv_loop_t *loop, const struct conv_station_config *cfg,
                       struct conv_station **out, struct err *e);

/* Closes the link and every handle; close_cb (may be NULL) runs once all
 * are closed, after which st is freed. Deferred log records are handed to
 * record first; ACK_s still waiting are dropped (the PLC resends them). */
void conv_station_stop(struct conv_station *st, void (*close_cb)(void *arg), void *arg);

/* The application's durable ticket moved: send the ACK_s waiting for it. */
void conv_station_durable(struct conv_station *st);

/* Replays a telegram of the line's log (raw[0..len-1], received or sent by
 * an earlier run or by the WCS this one took over from; oldest first), so
 * that the session goes on as if nothing happened: a UPD_ becomes its
 * parcel's last event (a resend is recognised), a REQ_ starts a new round
 * for its parcel, a RES_ is the answer a repeated REQ_ gets again. Other
 * types, other lengths and unreadable telegrams are ignored. */
void conv_station_remember(struct conv_station *st, const char *raw, size_t len);

const char *conv_station_name(const struct conv_station *st);
bool conv_station_connected(const struct conv_station *st);
int conv_station_port(const struct conv_station *st);
/* The line state of the PLC's last SYSU ("RUNNING_", ...; "UNKNOWN" before
 * one) and its belt speed (mm/s, -1 unknown). */
const char *conv_station_line_state(const struct conv_station *st);
int conv_station_speed(const struct conv_station *st);
/* Parcels in the in-flight table. */
size_t conv_station_in_flight(const struct conv_station *st);
void conv_station_get_stats(const struct conv_station *st, struct conv_station_stats *out);

#endif
