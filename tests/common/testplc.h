/*
 * testplc.h - the test's side of a sorter PLC: a libuv loop, conveyor links
 * that record every telegram wcsd sends, and bounded waits. Used by the
 * integration tests that drive a real wcsd as a PLC would.
 */
#ifndef WCS_TESTPLC_H
#define WCS_TESTPLC_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conveyor/link.h"
#include "conveyor/telegram.h"

#define TPLC_KEEP 256         /* telegrams recorded */
#define TPLC_LINKS 4
#define TPLC_WATCHDOG_MS 20000 /* bound of every wait */

struct tplc_link_ctx {
    struct tplc *p;
    bool *up;
};

struct tplc {
    uv_loop_t loop;
    uv_timer_t watchdog, tick;
    bool timed_out;
    struct conv_telegram got[TPLC_KEEP]; /* received from wcsd, in order */
    int ngot;
    struct conv_link *links[TPLC_LINKS];
    struct tplc_link_ctx ctx[TPLC_LINKS];
    int nlinks;
};

/* Sets up the loop and its timers. */
void tplc_init(struct tplc *p);

/* Starts a link (local id e.g. "PLC01", peer "WCS01") in mode on 127.0.0.1:port
 * that records into p; *up follows its state. */
struct conv_link *tplc_link(struct tplc *p, const char *local_id, enum conv_link_mode mode,
                            int port, unsigned life_ms, bool *up);

/* The same, to a WCS whose node is wcs_id (another line's). */
struct conv_link *tplc_link_to(struct tplc *p, const char *local_id, const char *wcs_id,
                               enum conv_link_mode mode, int port, unsigned life_ms, bool *up);
/* Arms / disarms the watchdog (and a 10 ms tick, so conditions that wait on
 * something outside the loop, like wcsd over HTTP, are re-checked). */
void tplc_arm(struct tplc *p);
void tplc_disarm(struct tplc *p);

/* Runs p's loop until cond holds; fails the test after TPLC_WATCHDOG_MS. */
#define TPLC_RUN_UNTIL(p, cond)                                                                    \
    do {                                                                                           \
        tplc_arm(p);                                                                               \
        while (!(cond)) {                                                                          \
            if ((p)->timed_out)                                                                    \
                fail_msg("watchdog: still waiting for %s", #cond);                                 \
            uv_run(&(p)->loop, UV_RUN_ONCE);                                                       \
        }                                                                                          \
        tplc_disarm(p);                                                                            \
    } while (0)

/* Index of the first recorded telegram of type at or after from: a RES_ for
 * tracking, or an ACK_ of acked_seq; -1 if none. */
int tplc_find(const struct tplc *p, int from, enum conv_tg_type type, const char *tracking,
              uint32_t acked_seq);

/* Sends t on l; returns its seq. Fails the test if it cannot be sent. */
uint32_t tplc_send(struct conv_link *l, struct conv_telegram *t);

/* Sends t on l (an UPD_, LOCU or SYSU) and waits for its ACK_, returned. */
struct conv_ack tplc_send_acked(struct tplc *p, struct conv_link *l, struct conv_telegram *t);

/* Sends an UPD_ (event for tracking at location, stamped `when`: the same
 * stamp and fields again is a resend) on l and waits for its ACK_. */
struct conv_ack tplc_update(struct tplc *p, struct conv_link *l, const char *tracking,
                            const char *location, enum conv_upd_event event, int64_t when);
/* Sends a LOCU (chute's state, stamped by the state) on l and waits for its ACK_. */
struct conv_ack tplc_locu(struct tplc *p, struct conv_link *l, const char *chute,
                          enum conv_loc_state st);
/* Sends a REQ_ for tracking at location on l (barcode used when kind is
 * CONV_BARCODE_CODE) and waits for its RES_. */
struct conv_res tplc_request(struct tplc *p, struct conv_link *l, const char *tracking,
                             const char *location, const char *barcode, enum conv_barcode kind);

/* Stops every link, closes the timers and asserts uv_loop_close() == 0. */
void tplc_done(struct tplc *p);

#endif
