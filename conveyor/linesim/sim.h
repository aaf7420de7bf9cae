/*
 * sim.h - the line emulator's pure simulation core: a virtual sorter PLC.
 *
 * The core models one sorter loop driven by a virtual clock (microseconds
 * since the start of the run; no I/O, no real time): parcels are inducted
 * at a rate from a list of pre-advised codes, pass one scan/decision point
 * (a REQ_ is produced), travel on the belt to the chute the WCS answered
 * (RES_) or, when the answer is later than the PLC's own decision timeout,
 * to the line's default exit; chutes fill up (LOCU FULL____) and are emptied
 * after a while (LOCU ACTIVE__); a parcel that passes a full chute or whose
 * divert fails goes round the loop and asks again at the same location.
 * Every parcel ends in exactly one final state: SORTED, REJECTED, LOST or
 * REMOVED. The PLC side of docs/plc-protocol.md (spec "Behaviour").
 *
 * DESIGN. The core produces outputs (telegrams to send, scans to post to
 * the WCS over HTTP) into a FIFO that the shell drains with
 * conv_sim_pop(); the shell tells the core what became of each one
 * (conv_sim_sent() with the sequence number the link gave it, or
 * conv_sim_unsent() when the link was down) and feeds received telegrams
 * with conv_sim_receive(). UPD_, LOCU and SYSU stay in an outbox until the
 * WCS acknowledges them; after a reconnect (conv_sim_link_state()) every
 * unacknowledged one is queued again, as the spec asks ("A PLC resends an
 * unacknowledged telegram after a reconnect"). Real-time figures (decision
 * round-trip latency) are measured by the shell and handed in as
 * nanosecond stamps, so the core stays deterministic for a given seed and
 * a given order of inputs.
 */
#ifndef WCS_CONVEYOR_LINESIM_SIM_H
#define WCS_CONVEYOR_LINESIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/diag.h"
#include "common/err.h"
#include "conveyor/telegram.h"

#define CONV_SIM_CHUTES_MAX 1024
#define CONV_SIM_ID_MAX 20 /* location ids travel in 20-character fields */

/* One pre-advised parcel the emulator can induct. Dimensions -1 = unknown. */
struct conv_sim_item {
    char code[CONV_SIM_ID_MAX + 1];
    int32_t weight_g;
    int32_t length_mm, width_mm, height_mm;
};

/* One chute (exit) of the loop. */
struct conv_sim_chute_config {
    char id[CONV_SIM_ID_MAX + 1];
    uint32_t distance_mm; /* belt distance from the scan point */
    uint32_t capacity;    /* parcels until FULL; 0 = never full */
    uint32_t empty_ms;    /* time to empty a FULL chute, virtual ms */
};

struct conv_sim_config {
    /* Line. */
    char line_id[CONV_SIM_ID_MAX + 1];       /* SYSU line, default "LINE01" */
    char scan_location[CONV_SIM_ID_MAX + 1]; /* REQ_ location, default "SCAN01" */
    char default_exit[CONV_SIM_ID_MAX + 1];  /* end-of-line exit, default "EOL" */
    uint32_t default_exit_mm;                /* distance scan point -> default exit */
    bool default_exit_recirc;                /* late/unknown answers stay on the loop
                                              * (UPD_ RECIRC__) instead of the end-of-line
                                              * reject (UPD_ REJECTED); spec "Deadline" */
    bool noread_outputs;                     /* emit a CONV_SIM_OUT_NOREAD per parcel first
                                              * answered NOREAD__ (--noread-log) */
    bool noread_recirc;                      /* a parcel answered NOREAD__ goes round once
                                              * (UPD_ RECIRC__ at its exit) instead of into
                                              * the no-read chute: the WCS's video coding
                                              * may have its code by the next pass */
    uint32_t loop_mm;                        /* loop length: a recirculating parcel is back at
                                              * the scan point loop_mm after it passed it */
    uint32_t belt_speed_mm_s;                /* default 2000 */
    uint32_t plc_timeout_ms;                 /* answer deadline, virtual ms, default 150 */
    uint32_t max_passes;                     /* PLC safety net: after this many passes a parcel
                                              * goes to the default exit as REJECTED, default 10 */
    struct conv_sim_chute_config chutes[CONV_SIM_CHUTES_MAX];
    size_t nchutes;

    /* Induction. */
    double rate_per_hour;   /* parcels per hour, > 0 */
    uint64_t count;         /* parcels to induct; 0 = limited by duration_ms */
    uint64_t duration_ms;   /* induction window, virtual ms; 0 = by count */
    uint64_t tracking_base; /* first tracking number (10 digits) */
    int64_t epoch_unix_s;   /* wall time of virtual time 0, for telegram times */
    uint64_t seed;          /* random seed; the same seed, config and inputs
                             * give the same run */

    /* Parcel-level behaviour, each a probability 0..1. */
    double noread_ratio;      /* a pass whose reader reads nothing (20 '?') */
    double unreadable_ratio;  /* a parcel whose label never reads */
    double misread_ratio;     /* a pass whose reader reads a corrupted code */
    double divert_fail_ratio; /* a divert that fails: UPD_ NODIVERT, recirculate */
    double lost_ratio;        /* tracking lost on the way: UPD_ LOST____ */
    double removed_ratio;     /* taken off by hand: UPD_ REMOVED_ */

    /* Faults in the telegram stream (rates 0..1). */
    double noscan_ratio;     /* REQ_ without barcode (20 '*'); the scan is
                              * posted to the WCS instead (output SCAN) */
    double dup_ratio;        /* an UPD_/LOCU sent twice (same content) */
    double req_repeat_ratio; /* a REQ_ repeated before its answer came */
};

/* Final states; spec UPD_ events of the same names. */
enum conv_sim_final {
    CONV_SIM_SORTED = 0,
    CONV_SIM_REJECTED,
    CONV_SIM_LOST,
    CONV_SIM_REMOVED,
    CONV_SIM_FINAL_COUNT
};

enum conv_sim_out_kind {
    CONV_SIM_OUT_TELEGRAM = 0, /* send tg on the link, then conv_sim_sent/unsent */
    CONV_SIM_OUT_SCAN,         /* post {location, code} to the WCS scan API; no answer */
    CONV_SIM_OUT_NOREAD        /* noread_outputs: a parcel answered NOREAD__ on its first pass:
                                * {tracking, code} is what its label says (for an
                                * operator stand-in keying it in); no answer */
};

struct conv_sim_out {
    enum conv_sim_out_kind kind;
    uint64_t ref;                       /* hand back to conv_sim_sent()/conv_sim_unsent() */
    struct conv_telegram tg;            /* TELEGRAM: type and body; the link fills the header */
    char location[CONV_SIM_ID_MAX + 1]; /* SCAN */
    char code[CONV_SIM_ID_MAX + 1];     /* SCAN, NOREAD */
    char tracking[11];                  /* NOREAD */
};

/* Counters, read by the report and the progress line. The shell adds its own
 * fault counts (link drops, garbage, pauses) in faults.*. */
struct conv_sim_stats {
    uint64_t inducted;
    uint64_t final[CONV_SIM_FINAL_COUNT];
    uint64_t passes;            /* REQ_ decisions asked (first passes + returns) */
    uint64_t recirculations;    /* passes after the first */
    uint64_t noreads, misreads; /* passes sent with a no-read / corrupted code */
    uint64_t divert_failures;
    uint64_t plc_timeouts;         /* parcels sent to the default exit for lack of an answer */
    uint64_t late_answers;         /* RES_ after the PLC's timeout */
    uint64_t unmatched_answers;    /* RES_ for no parcel / REQ_ of this connection */
    uint64_t repeat_answers;       /* second RES_ to a repeated REQ_ */
    uint64_t unknown_destinations; /* RES_ naming a chute not on this line */
    uint64_t routed_to_full;       /* answers naming a chute we reported FULL */
    uint64_t chute_full_events, chute_empty_events;
    uint64_t res_by_reason[CONV_REASON_COUNT];
    uint64_t tx_by_type[CONV_TG_TYPE_COUNT]; /* accepted by the link */
    uint64_t rx_by_type[CONV_TG_TYPE_COUNT];
    uint64_t tx_unsent; /* outputs the link refused (not connected) */
    uint64_t acks_ok, acks_duplicate, acks_unmatched;
    uint64_t resent;       /* outbox telegrams queued again after a reconnect */
    uint64_t scans_posted; /* SCAN outputs produced */
    uint64_t noread_rounds;   /* parcels sent round once after a NOREAD__ (noread_recirc) */
    uint64_t noread_resolved; /* ... that came back unread and were decided on a code
                               * the WCS had for them (keyed in): their route, or
                               * what their code calls for (a customs hold) */
    struct {
        uint64_t noscan, duplicated, req_repeated;             /* core */
        uint64_t link_drops, garbage, slow_reader, bad_length; /* shell */
    } faults;
};

struct conv_sim;

/* Fills c with defaults: line "LINE01", scan point "SCAN01", default exit
 * "EOL" at 60 m, loop 80 m, belt 2 m/s, PLC timeout 150 ms, 10 passes max,
 * 3600 parcels/h, no chutes, no faults, seed 1, tracking base 1000000001. */
void conv_sim_config_defaults(struct conv_sim_config *c);

/* Fills c's chutes with the layout of the sample Harbin plan
 * (data/sortplan-sample.csv): CH001..CH040 then the SP-* specials, 1 m
 * apart from 3 m, capacity cap and empty time empty_ms each; default exit
 * EOL after the last chute. */
void conv_sim_config_sample_layout(struct conv_sim_config *c, uint32_t cap, uint32_t empty_ms);

/*
 * Creates a simulation over items[0..n-1] (copied; inducted in order and
 * again from the start when count > n). Checks the config: returns 0 and
 * *out, ERR_CONFIG (e says which setting) or -ENOMEM.
 */
int conv_sim_new(const struct conv_sim_config *c, const struct conv_sim_item *items, size_t n,
                 struct conv_sim **out, struct err *e);
void conv_sim_free(struct conv_sim *s);

/* Advances the virtual clock to now_us (never backwards; an earlier value
 * is ignored) and runs every event due until then, producing outputs. */
void conv_sim_advance(struct conv_sim *s, uint64_t now_us);
/* The virtual time of the next event, or UINT64_MAX when none is due. */
uint64_t conv_sim_next_due(const struct conv_sim *s);
uint64_t conv_sim_now(const struct conv_sim *s);

/* Takes the oldest output into *out; false when none. */
bool conv_sim_pop(struct conv_sim *s, struct conv_sim_out *out);
/* The telegram of output ref went out with link sequence number seq at real
 * time real_ns (monotonic; used for the REQ_ -> RES_ latency). */
void conv_sim_sent(struct conv_sim *s, uint64_t ref, uint32_t seq, uint64_t real_ns);
/* The telegram of output ref could not be sent (link down). An UPD_/LOCU/
 * SYSU stays in the outbox and goes out after the next reconnect; a REQ_ is
 * simply lost and its parcel runs into the PLC timeout. */
void conv_sim_unsent(struct conv_sim *s, uint64_t ref);

/* The link came up or went down. Down forgets the sequence numbers of the
 * old connection; up queues every unacknowledged outbox telegram again, in
 * its original order, and a SYSU RUNNING_ first. */
void conv_sim_link_state(struct conv_sim *s, bool up);

/* Feeds a telegram received from the WCS (RES_, ACK_, ERR_; anything else is
 * counted and ignored) at real time real_ns. Returns 0; ERR_INVALID when it
 * matched nothing (counted; never fatal). */
int conv_sim_receive(struct conv_sim *s, const struct conv_telegram *t, uint64_t real_ns,
                     struct err *e);

/* True once induction is over (count or duration reached). */
bool conv_sim_induction_done(const struct conv_sim *s);
/* Parcels inducted and not yet final. */
uint64_t conv_sim_unfinished(const struct conv_sim *s);
/* Outbox telegrams not yet acknowledged. */
size_t conv_sim_unacked(const struct conv_sim *s);

/* The live counters (the shell may add to faults.*). */
struct conv_sim_stats *conv_sim_stats(struct conv_sim *s);
/* Parcels sorted into chute i (0..nchutes-1). */
uint64_t conv_sim_chute_sorted(const struct conv_sim *s, size_t i);

/* One UPD_ the emulator generated, once the WCS acknowledged it: each must
 * be stored by the WCS exactly once, however often it was sent (resends,
 * duplicates, a WCS restart). The journal for independent checks. */
struct conv_sim_acked {
    char tracking[11];
    enum conv_upd_event event;
    char location[CONV_SIM_ID_MAX + 1];
    bool duplicate;             /* the first ACK_ said DUPLIC__ (a resend of what the WCS
                                 * had stored before it could acknowledge it) */
};

/* The acknowledged UPD_s so far, in acknowledgement order (valid until the
 * next call into the simulation). */
size_t conv_sim_acked_list(const struct conv_sim *s, const struct conv_sim_acked **out);

/* What became of inducted parcel i (0..inducted-1). */
struct conv_sim_fate {
    char tracking[11];
    char code[CONV_SIM_ID_MAX + 1]; /* the pre-advised code on its label */
    bool final;                     /* false: still on the line */
    enum conv_sim_final state;      /* when final */
    char chute[CONV_SIM_ID_MAX + 1]; /* SORTED: the chute it went into, else "" */
    uint32_t passes;
};
int conv_sim_fate(const struct conv_sim *s, size_t i, struct conv_sim_fate *out);
/* "SORTED", "REJECTED", "LOST", "REMOVED". */
const char *conv_sim_final_name(enum conv_sim_final f);

/*
 * Builds the run report (new reference, caller json_decref()s): parcels
 * inducted, "unfinished", "final" per state, "chutes" per chute id,
 * "reasons" per RES_ reason code, recirculations, lost, "latency_us"
 * {count, p50, p99, p999, max} of REQ_ -> RES_ round trips, "telegrams"
 * {sent, received, err_received, by type}, "faults" and "acks". NULL only
 * when out of memory.
 */
json_t *conv_sim_report(const struct conv_sim *s);

/* Value at quantile q (0..1) of v[0..n-1] sorted ascending, nearest rank;
 * 0 when n == 0. */
uint64_t conv_sim_quantile(const uint64_t *v, size_t n, double q);

/* --- input files (preadvice.c) ----------------------------------------- */

/*
 * Reads the parcels of a pre-advice file: CSV with a header naming at least
 * `code` (and optionally weight_g, length_mm, width_mm, height_mm; other
 * columns such as other_ids are ignored), or JSON Lines (one object per line
 * with "code"; chosen when the path ends in .jsonl/.json or the first byte is
 * '{'). Rows with an empty or over-long code are reported in d as
 * "FILE:LINE: code: reason" and skipped. Returns 0 with *items (caller
 * free()s) and *n > 0; -errno when the file cannot be read; ERR_PARSE when
 * it holds no usable row or is not well-formed (e and d say where).
 */
int conv_sim_load_preadvice(const char *path, struct conv_sim_item **items, size_t *n,
                            struct diag *d, struct err *e);

/*
 * Reads a line layout CSV: header `id,distance_mm,capacity,empty_ms`, one
 * chute per row, replacing c's chutes. Problems go to d as
 * "FILE:LINE: field: reason"; returns 0, -errno or ERR_PARSE.
 */
int conv_sim_load_layout(const char *path, struct conv_sim_config *c, struct diag *d,
                         struct err *e);

#endif
