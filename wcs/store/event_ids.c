/*
 * event_ids.c - event and telegram ids: the generator (events.h) and the
 * id reservation file the event writer keeps next to its spool (idfile.h).
 *
 * DESIGN. An id is (milliseconds since the Unix epoch << 20) | (counter <<
 * 8) | node: the node number (0..255, events.node_id) in the low bits makes
 * ids of two wcsd on one database disjoint whatever their clocks say, the
 * counter allows 4096 ids per millisecond before the time part runs ahead of
 * the clock, and the time part keeps ids sorted roughly by time, as the
 * primary key index likes. The process keeps one sequence (ms << 12 |
 * counter) for all its nodes, advanced by a compare-and-swap: ids are
 * strictly increasing in the order the calls return (the node comes below
 * the sequence), never go back when the clock does, and a floor
 * (wcs_event_id_floor()) lifts the sequence above ids used before.
 *
 * Restarts. After a restart the sequence starts from the clock, which may
 * have been stepped back; the writer therefore lifts it above (a) the
 * largest id in the database (at start, when it is reachable) and (b) the
 * reservation in the id file: before a batch whose ids were handed out up
 * to millisecond m is made durable, the file must hold a reservation > m
 * (written ahead, a minute at a time, with fdatasync). Every id that can be
 * in the database or the spool is so below the reservation, and a new run
 * starts above it. The file holds two slots written alternately, each with
 * a generation and a CRC, so a torn write leaves the other slot readable.
 */
#include "wcs/store/idfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wcs/store/events.h"
#include "wcs/store/spool.h"

/* --- the generator ------------------------------------------------------- */

#define ID_NODE_BITS 8
#define ID_COUNTER_BITS 12
#define ID_TIME_SHIFT (ID_COUNTER_BITS + ID_NODE_BITS) /* 20, as before nodes */

/* (ms << ID_COUNTER_BITS) | counter of the last id handed out. */
static _Atomic int64_t last_seq;

static int64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wcs_event_id_next_node(unsigned node)
{
    int64_t floor_seq = clock_ms() << ID_COUNTER_BITS, prev, next;

    prev = atomic_load_explicit(&last_seq, memory_order_relaxed);
    /* The CAS makes the update of last_seq and the choice of the id one
     * step, so no two threads get the same sequence number and it never
     * goes back, even when the clock does. More than 4096 ids in one
     * millisecond borrow from the next millisecond. */
    do {
        next = prev + 1 > floor_seq ? prev + 1 : floor_seq;
    } while (!atomic_compare_exchange_weak_explicit(&last_seq, &prev, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    return next << ID_NODE_BITS | (int64_t)(node & WCS_EVENT_NODE_MAX);
}

int64_t wcs_event_id_next(void)
{
    return wcs_event_id_next_node(0);
}

void wcs_event_id_floor(int64_t id)
{
    int64_t want, prev;

    if (id <= 0)
        return;
    /* The first sequence number of the millisecond after id's: every id
     * handed out from now on, of any node, is above id. */
    want = ((id >> ID_TIME_SHIFT) + 1) << ID_COUNTER_BITS;
    prev = atomic_load_explicit(&last_seq, memory_order_relaxed);
    while (prev < want && !atomic_compare_exchange_weak_explicit(
                              &last_seq, &prev, want, memory_order_acq_rel, memory_order_relaxed))
        ;
}

int64_t wcs_event_id_last_ms(void)
{
    return atomic_load_explicit(&last_seq, memory_order_acquire) >> ID_COUNTER_BITS;
}

int64_t wcs_event_id_ms(int64_t id)
{
    return id >> ID_TIME_SHIFT;
}

unsigned wcs_event_id_node(int64_t id)
{
    return (unsigned)id & WCS_EVENT_NODE_MAX;
}

/* --- the reservation file ----------------------------------------------- */

/* Slot: magic(4) generation(4) reserved_ms(8) crc(4) of the 16 bytes before,
 * padding to SLOT_SIZE. */
#define IDFILE_MAGIC 0x31444957u /* "WID1" */
#define SLOT_SIZE 32

struct wcs_idfile {
    int fd;
    char *path;
    uint32_t gen;     /* generation of the newest valid slot */
    int64_t reserved; /* its reservation (ms) */
};

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    int i;

    for (i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int wcs_idfile_open(const char *path, struct wcs_idfile **out, int64_t *reserved_ms, struct err *e)
{
    unsigned char buf[2 * SLOT_SIZE];
    struct wcs_idfile *f;
    ssize_t r;
    int i, valid = 0, rc;

    *out = NULL;
    *reserved_ms = 0;
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return err_set(e, -ENOMEM, "id file: out of memory");
    }
    f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        rc = err_set(e, -errno, "id file %s: open: %s", path, strerror(errno));
        wcs_idfile_close(f);
        return rc;
    }
    memset(buf, 0, sizeof(buf));
    r = pread(f->fd, buf, sizeof(buf), 0);
    if (r < 0) {
        rc = err_set(e, -errno, "id file %s: read: %s", path, strerror(errno));
        wcs_idfile_close(f);
        return rc;
    }
    for (i = 0; i < 2; i++) {
        const unsigned char *s = buf + i * SLOT_SIZE;
        uint32_t gen = (uint32_t)get_le(s + 4, 4);
        int64_t ms = (int64_t)get_le(s + 8, 8);

        if (get_le(s, 4) != IDFILE_MAGIC || get_le(s + 16, 4) != wcs_spool_crc32(0, s, 16) ||
            ms < 0)
            continue;
        if (!valid || gen > f->gen)
            f->gen = gen;
        if (!valid || ms > f->reserved)
            f->reserved = ms;
        valid = 1;
    }
    if (!valid && r > 0)
        log_warnx("id file %s: no valid reservation in its %zd bytes (damaged); ids start from "
                  "the clock and the database's largest id",
                  path, r);
    *reserved_ms = f->reserved;
    *out = f;
    return 0;
}

int wcs_idfile_reserve(struct wcs_idfile *f, int64_t until_ms, struct err *e)
{
    unsigned char slot[SLOT_SIZE];
    uint32_t gen = f->gen + 1;
    ssize_t r;

    memset(slot, 0, sizeof(slot));
    put_le(slot, IDFILE_MAGIC, 4);
    put_le(slot + 4, gen, 4);
    put_le(slot + 8, (uint64_t)until_ms, 8);
    put_le(slot + 16, wcs_spool_crc32(0, slot, 16), 4);
    /* The slot not holding the newest generation: a torn write here leaves
     * that one intact. */
    r = pwrite(f->fd, slot, SLOT_SIZE, (off_t)(gen % 2) * SLOT_SIZE);
    if (r != SLOT_SIZE || fdatasync(f->fd) < 0)
        return err_set(e, r < 0 || r == SLOT_SIZE ? -errno : -EIO, "id file %s: write: %s", f->path,
                       strerror(r < 0 || r == SLOT_SIZE ? errno : EIO));
    f->gen = gen;
    f->reserved = until_ms;
    return 0;
}

int64_t wcs_idfile_reserved(const struct wcs_idfile *f)
{
    return f->reserved;
}

void wcs_idfile_close(struct wcs_idfile *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}
