/*
 * refresher.h - keeps wcsd's in-memory state fresh from PostgreSQL.
 *
 * A thread with its own connection LISTENs on wcs_parcels, wcs_sortplan and
 * wcs_chutes (bags closed: the chute is empty again).
 * On a notification (and every resync_s seconds anyway, and after every
 * reconnect, so a lost notification only delays, never loses, a change) it
 * fetches parcels changed since the last rev and the active plan if its
 * version moved, and queues them as batches. The loop thread takes the
 * batches (wcs_refresher_take) and applies them to the registry and engine,
 * so decisions never wait on the database and never see half an update.
 */
#ifndef WCS_REFRESHER_H
#define WCS_REFRESHER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "wcs/core/parcel.h"
#include "wcs/core/sortplan.h"
#include "wcs/store/users.h"

#define WCS_REFRESH_BATCH_MAX 10000 /* parcels per batch */

struct wcs_refresh_batch {
    struct wcs_refresh_batch *next;
    size_t n;                                      /* parcels in this batch */
    struct wcs_parcel *parcels;                    /* [n] */
    uint8_t *ncodes;                               /* [n] codes per parcel */
    char (*codes)[WCS_MAX_IDS][WCS_CODE_MAX + 1];  /* [n] codes, primary first */
    struct wcs_plan *plan;                         /* new active plan, or NULL */
    int plan_version;                              /* version of plan */
    int64_t max_rev;                               /* highest parcel rev in the batch */
    char chute_emptied[21];                        /* a bag was closed at this chute, "" none */
    char line_emptied[16];                         /* ... of this line, "" the only one */
    char user_changed[WCS_USER_NAME_MAX + 1];      /* end this user's sessions, "" none */
};

void wcs_refresh_batch_free(struct wcs_refresh_batch *b);

struct wcs_refresher_opts {
    const char *conninfo;        /* copied; holds a secret: never logged */
    int64_t since_rev;           /* parcels up to this rev are already loaded */
    int plan_version;            /* plan version already active in the engine, 0 none */
    unsigned resync_s;           /* catch-up interval without notifications */
    int retention_days;          /* > 0: the logs' partitions older than this are dropped */
    void (*notify_cb)(void *arg);/* called from the refresher thread when a batch is queued */
    void *notify_arg;
};

struct wcs_refresher;

/* Starts the thread. Returns 0 or -errno. */
int wcs_refresher_start(const struct wcs_refresher_opts *opts, struct wcs_refresher **out,
                        struct err *e);

/* Pops the oldest queued batch (caller frees it), or returns NULL. Thread-safe. */
struct wcs_refresh_batch *wcs_refresher_take(struct wcs_refresher *r);

/* True while the refresher's connection is up. */
int wcs_refresher_connected(struct wcs_refresher *r);

/* The customs worker's open alarms (customs_alarms), as last counted: at
 * each connect, on its notification, at each resync; -1 before the first
 * count or when it failed. Thread-safe. */
long long wcs_refresher_customs_alarms(struct wcs_refresher *r);

/* Dispatches whose manifest the broker refused in the last 24 hours, as
 * last counted (with the customs alarms); -1 unknown. Thread-safe. */
long long wcs_refresher_manifests_refused(struct wcs_refresher *r);

/* Stops and joins the thread, frees queued batches and r. */
void wcs_refresher_stop(struct wcs_refresher *r);

#endif
