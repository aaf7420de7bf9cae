/*
 * lease.h - a line's lease in PostgreSQL (migration 0020, docs/ha.md): which
 * wcsd of a line is active, with a fencing token.
 *
 * Every wcsd takes its line's lease (the row of its node in wcs_lines)
 * before it opens its PLC links; a second wcsd with the same node finds it
 * held and waits as standby, trying again every lease/6 and at once when
 * the holder releases it (NOTIFY wcs_lines). The active renews it every
 * lease/3 on its own connection and thread, so a slow event batch or a busy
 * loop never delays a renewal. The lease's token grows at every change of
 * holder: the event writer proves it in each batch (wcs_lease_fence in the
 * same transaction), and the database refuses the batch of a stale holder.
 *
 * The holder's own view: its lease holds until the moment it sent its last
 * successful renewal plus the lease time (CLOCK_BOOTTIME, which a paused VM
 * or a suspended machine also advances), which is never later than the
 * database's expiry. Past that, with a standby waiting, the holder must act
 * no more (wcs_lease_may_act()): the standby may already be active. Without
 * a standby it goes on (nobody can take over, and the line keeps sorting
 * from memory while the database is away); a standby that takes the lease
 * later makes its next renewal fail, and it stops then.
 */
#ifndef WCS_STORE_LEASE_H
#define WCS_STORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/err.h"

#define WCS_LEASE_MS_DEFAULT 3000 /* ha.lease_ms */
#define WCS_LEASE_HOLDER_MAX 127

/* --- the statements (one connection, no thread) -------------------------- */

/* Takes node's lease for holder ("host:pid") when it is free or lapsed,
 * or held by gone (NULL: none; a holder known dead): *token is the new
 * fencing token (> 0), or 0 when another holder's lease runs (holder is
 * then recorded as its standby). ERR_CONFLICT when node_id is another
 * line's or not this line's (e says which), ERR_DB otherwise. */
int wcs_db_lease_acquire(PGconn *c, const char *node, unsigned node_id, const char *holder,
                         unsigned lease_ms, const char *gone, int64_t *token, struct err *e);

/* Extends the lease of token's holder: *held false when another wcsd has
 * taken it since; *standby_waiting whether a standby tried lately. */
int wcs_db_lease_renew(PGconn *c, const char *node, int64_t token, unsigned lease_ms, bool *held,
                       bool *standby_waiting, struct err *e);

/* Lets the lease lapse now (a clean stop): the standby takes it at once. */
int wcs_db_lease_release(PGconn *c, const char *node, int64_t token, struct err *e);

/* The fence statement of a write batch, for the event writer: "SELECT
 * wcs_lease_fence('NODE', TOKEN)" in buf. Returns 0 or ERR_INVALID (does
 * not fit, or node holds a quote, a backslash or a control character). */
int wcs_db_lease_fence_sql(const char *node, int64_t token, char *buf, size_t len,
                           struct err *e);

/* SQLSTATE of a refused (stale) fence. */
#define WCS_SQLSTATE_FENCED "WF001"

/* One line as wcs_lines has it (times in Unix microseconds, 0 = never). */
struct wcs_line_status {
    char node[6];
    unsigned node_id;
    char holder[WCS_LEASE_HOLDER_MAX + 1]; /* "" before the first */
    int64_t token;
    bool held;                             /* the lease runs now */
    int64_t expires_us, active_since_us, last_takeover_us;
    char last_takeover_from[WCS_LEASE_HOLDER_MAX + 1];
    long takeovers;
    char standby[WCS_LEASE_HOLDER_MAX + 1]; /* "" none seen lately */
};

/* Every line, by node; cb's non-zero return stops and is returned. node
 * non-NULL: only that one. */
typedef int (*wcs_line_cb)(void *arg, const struct wcs_line_status *l);
int wcs_db_lines(PGconn *c, const char *node, wcs_line_cb cb, void *arg, struct err *e);

/* --- the keeper (a thread of wcsd) -----------------------------------------
 *
 * Its name as a holder is "host:pid", host from gethostname() or the
 * environment's WCS_HOLDER_HOST (machines or containers that share a host
 * name). A holder of the same host whose process is gone (a crash, kill
 * -9) is known dead: its lease is taken at once, without waiting for it to
 * lapse, so a wcsd restarted by systemd is back in a moment. */

enum wcs_lease_role {
    WCS_LEASE_STANDBY, /* another wcsd is active */
    WCS_LEASE_ACTIVE,  /* this one holds the lease */
    WCS_LEASE_LOST,    /* held it, and another took it: stop */
};

struct wcs_lease_opts {
    const char *conninfo;          /* copied; a secret: never logged */
    const char *node;              /* the line (config node) */
    unsigned node_id;              /* its events.node_id */
    unsigned lease_ms;             /* 0: WCS_LEASE_MS_DEFAULT */
    void (*changed_cb)(void *arg); /* from the keeper's thread: the role changed */
    void *changed_arg;
};

struct wcs_lease;

/* Connects, tries the lease once (so *out's role is known on return) and
 * starts the keeper's thread. ERR_CONFLICT (node_id), ERR_DB, -errno. */
int wcs_lease_start(const struct wcs_lease_opts *o, struct wcs_lease **out, struct err *e);

/* What the keeper knows now. Thread-safe. */
struct wcs_lease_view {
    enum wcs_lease_role role;
    int64_t token;                 /* the fencing token while active */
    int64_t active_since_us;       /* when this wcsd became active, 0 standby */
    char holder[WCS_LEASE_HOLDER_MAX + 1]; /* this wcsd's own name: host:pid */
    bool standby_waiting;          /* as of the last renewal */
    struct wcs_line_status line;   /* the line's row as last read (who is active,
                                    * since when, the last takeover); node "" before */
};
void wcs_lease_view(struct wcs_lease *l, struct wcs_lease_view *out);

/* Whether this wcsd may answer its PLCs now (cheap: the hot path asks):
 * active, and its lease not lapsed by its own clock unless no standby
 * waits. Thread-safe. */
bool wcs_lease_may_act(struct wcs_lease *l);

/* Stops the thread; when active, releases the lease first (call it after
 * the last write). NULL is a no-op. */
void wcs_lease_stop(struct wcs_lease *l);

#endif
