/*
 * spool.c - the durable local spool file (format and contract in
 * wcs/spool.h).
 *
 * DESIGN. Appends go through a pending buffer so that one group (one batch
 * of the event writer) costs one write() and one fdatasync(), the only
 * thing that makes a spool append slower than a memcpy. Records are read
 * back with pread() from a read position that lives only in memory: after a
 * crash the whole file is read again, which is why the reader (the event
 * writer) stores what it reads idempotently. The file is emptied only when
 * everything in it has been consumed, so a record leaves the spool only
 * after the caller has stored it elsewhere.
 *
 * Damage. A frame that does not check out (incomplete, impossible length,
 * CRC mismatch) starts a bad stretch that ends at the next valid frame: the
 * next offset holding the magic followed by a length and a CRC that check
 * out (scanned for with memchr, then verified). On open every bad stretch
 * is saved next to the file (PATH.bad) and logged; a stretch at the end (a
 * torn last append) is cut off, stretches in the middle are removed by
 * rewriting the valid frames into PATH.tmp and renaming it over the file,
 * so the records behind a damaged one are replayed, not set aside with it.
 * Damage that appears while the spool is open (the disk) is handled the
 * same way by the reader when it reaches it: saved, logged, skipped, never
 * a stall. Nothing that was counted durable disappears without a log line
 * and a copy of its bytes.
 *
 * The file is locked with flock(LOCK_EX | LOCK_NB) for as long as it is
 * open, so a second process (a second wcsd on the same spool path) fails to
 * open it instead of interleaving appends and truncations with ours.
 */
#include "wcs/store/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define READ_CHUNK (1024 * 1024) /* pread size while looking for a frame and saving */
#define LEGACY_HDR 8             /* len + crc, the frames written before the magic */

struct wcs_spool {
    int fd;
    char *path;
    uint64_t max_bytes;  /* 0 = unbounded */
    uint64_t size;       /* bytes of valid frames in the file */
    uint64_t records;    /* frames in the file */
    uint64_t rd_off;     /* read position (bytes) */
    uint64_t rd_rec;     /* records before rd_off */
    uint64_t peek_off;   /* where the last peek ended */
    uint64_t peek_rec;   /* its records */
    unsigned char *pend; /* pending frames */
    size_t pend_len, pend_cap;
    size_t pend_n;
    unsigned char *rbuf; /* one whole frame (header + payload), or a chunk */
    unsigned char *sbuf; /* READ_CHUNK: looking for the next magic */
    uint64_t skipped;    /* bytes of bad stretches skipped by peek */
};

/* --- CRC-32 ------------------------------------------------------------- */

static uint32_t crc_table[256];
static int crc_ready;

/* Built at first use; the table is the same in every thread, so a race
 * between two first users writes identical values. */
static void crc_init(void)
{
    uint32_t c;
    int i, k;

    for (i = 0; i < 256; i++) {
        c = (uint32_t)i;
        for (k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t wcs_spool_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;

    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init();
    crc = ~crc;
    while (n-- > 0)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* --- little helpers ------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* pread until n bytes or end of file; returns bytes read or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    ssize_t r;

    while (got < n) {
        r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    ssize_t r;

    while (done < n) {
        r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        done += (size_t)r;
    }
    return 0;
}

/* fsync of the directory holding path, so a created or renamed file's name
 * is durable. */
static int sync_dir(const char *path, struct err *e)
{
    char *copy = strdup(path);
    int fd, rc = 0;

    if (copy == NULL)
        return err_set(e, -ENOMEM, "spool: out of memory");
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = err_set(e, -errno, "spool %s: sync directory: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* Reads the frame at off, at most avail bytes to end of file, into s->rbuf
 * (the whole frame, header first). Returns its total size with *payload
 * pointing into rbuf, 0 when the frame is bad (incomplete, impossible
 * length, CRC mismatch), or -errno. Reads both forms: with the magic, and
 * the older one without it (whose length field can never equal the magic:
 * it is at most WCS_SPOOL_REC_MAX). */
static ssize_t read_frame(struct wcs_spool *s, uint64_t off, uint64_t avail,
                          const unsigned char **payload, uint32_t *len)
{
    unsigned char *b = s->rbuf;
    size_t hdr;
    ssize_t r;
    uint32_t n, crc;

    if (avail < LEGACY_HDR)
        return 0;
    r = pread_full(s->fd, b, avail < WCS_SPOOL_FRAME_HDR ? (size_t)avail : WCS_SPOOL_FRAME_HDR,
                   off);
    if (r < 0)
        return r;
    if (r >= WCS_SPOOL_FRAME_HDR && get_u32(b) == WCS_SPOOL_MAGIC) {
        hdr = WCS_SPOOL_FRAME_HDR;
        n = get_u32(b + 4);
    } else if (r >= LEGACY_HDR && get_u32(b) != WCS_SPOOL_MAGIC) {
        hdr = LEGACY_HDR;
        n = get_u32(b);
    } else {
        return 0;
    }
    if (n == 0 || n > WCS_SPOOL_REC_MAX || n > avail - hdr)
        return 0;
    r = pread_full(s->fd, b + hdr, n, off + hdr);
    if (r < 0)
        return r;
    if ((uint32_t)r < n)
        return 0;
    if (hdr == WCS_SPOOL_FRAME_HDR)
        crc = wcs_spool_crc32(wcs_spool_crc32(0, b + 4, 4), b + hdr, n);
    else
        crc = wcs_spool_crc32(0, b + hdr, n);
    if (crc != get_u32(b + hdr - 4))
        return 0;
    *payload = b + hdr;
    *len = n;
    return (ssize_t)(hdr + n);
}

/* The offset of the first valid frame (with the magic) in [from, end), or
 * end when there is none. Returns it, or -errno. */
static int64_t find_next(struct wcs_spool *s, uint64_t from, uint64_t end)
{
    static const unsigned char magic[4] = {'W', 'S', 'F', '1'};
    const unsigned char *payload, *p, *stop;
    uint64_t off = from;
    uint32_t len;
    ssize_t r, fr;

    while (off + WCS_SPOOL_FRAME_HDR <= end) {
        r = pread_full(s->fd, s->sbuf, end - off > READ_CHUNK ? READ_CHUNK : (size_t)(end - off),
                       off);
        if (r < 0)
            return r;
        if (r < 4)
            break;
        p = s->sbuf;
        stop = s->sbuf + r - 3;
        while (p < stop && (p = memchr(p, magic[0], (size_t)(stop - p))) != NULL) {
            if (memcmp(p, magic, 4) == 0) {
                uint64_t at = off + (uint64_t)(p - s->sbuf);

                fr = read_frame(s, at, end - at, &payload, &len);
                if (fr < 0)
                    return fr;
                if (fr > 0)
                    return (int64_t)at;
            }
            p++;
        }
        /* The last three bytes may start a magic cut by the chunk's end. */
        off += (uint64_t)r - 3;
    }
    return (int64_t)end;
}

/* Copies bytes [from, end) of the spool to PATH.bad (appended, fsync'd). */
static int save_bad(struct wcs_spool *s, uint64_t from, uint64_t end, struct err *e)
{
    char bad[4096];
    uint64_t off = from;
    ssize_t r;
    size_t n;
    int fd, rc = 0;

    if (snprintf(bad, sizeof(bad), "%s.bad", s->path) >= (int)sizeof(bad))
        return err_set(e, -ENAMETOOLONG, "spool %s: path too long", s->path);
    fd = open(bad, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, -errno, "spool %s: %s", bad, strerror(errno));
    while (off < end && rc == 0) {
        n = end - off > READ_CHUNK ? READ_CHUNK : (size_t)(end - off);
        r = pread_full(s->fd, s->sbuf, n, off);
        if (r <= 0) {
            rc = err_set(e, r < 0 ? (int)r : -EIO, "spool %s: read: %s", s->path,
                         strerror(r < 0 ? (int)-r : EIO));
            break;
        }
        if (write(fd, s->sbuf, (size_t)r) != r)
            rc = err_set(e, -errno, "spool %s: write: %s", bad, strerror(errno));
        off += (uint64_t)r;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = err_set(e, -errno, "spool %s: fsync: %s", bad, strerror(errno));
    close(fd);
    return rc;
}

/* What walk() found, and what it does on the way. */
struct walk {
    int save;          /* bad stretches: save to PATH.bad and log */
    int copy_fd;       /* >= 0: valid frames are copied to this file */
    unsigned char *wbuf; /* copy buffer (READ_CHUNK + one frame) */
    size_t wlen;
    uint64_t copied;   /* bytes written to copy_fd */
    uint64_t frames;   /* valid frames */
    uint64_t bytes;    /* their bytes */
    uint64_t bad_bytes, bad_first, bad_n;
    uint64_t valid_end; /* offset just after the last valid frame */
};

static int flush_copy(struct wcs_spool *s, struct walk *wk, struct err *e)
{
    int rc;

    if (wk->wlen == 0)
        return 0;
    rc = pwrite_full(wk->copy_fd, wk->wbuf, wk->wlen, wk->copied);
    if (rc < 0)
        return err_set(e, rc, "spool %s.tmp: write: %s", s->path, strerror(-rc));
    wk->copied += wk->wlen;
    wk->wlen = 0;
    return 0;
}

/* Walks the frames of [off, end): counts the valid ones (copying them when
 * asked), and finds, counts (and when asked saves and logs) the bad
 * stretches between them. */
static int walk(struct wcs_spool *s, uint64_t off, uint64_t end, struct walk *wk, struct err *e)
{
    const unsigned char *p;
    uint32_t len;
    ssize_t r;
    int64_t next;
    int rc;

    wk->valid_end = off;
    while (off < end) {
        r = read_frame(s, off, end - off, &p, &len);
        if (r < 0)
            return err_set(e, (int)r, "spool %s: read: %s", s->path, strerror((int)-r));
        if (r > 0) {
            if (wk->copy_fd >= 0) {
                if (wk->wlen + (size_t)r > READ_CHUNK && (rc = flush_copy(s, wk, e)) < 0)
                    return rc;
                memcpy(wk->wbuf + wk->wlen, s->rbuf, (size_t)r);
                wk->wlen += (size_t)r;
            }
            off += (uint64_t)r;
            wk->frames++;
            wk->bytes += (uint64_t)r;
            wk->valid_end = off;
            continue;
        }
        next = find_next(s, off + 1, end);
        if (next < 0)
            return err_set(e, (int)next, "spool %s: read: %s", s->path, strerror((int)-next));
        if (wk->bad_n++ == 0)
            wk->bad_first = off;
        wk->bad_bytes += (uint64_t)next - off;
        if (wk->save) {
            log_warnx("spool %s: %llu bytes at offset %llu are not a valid record (%s); they are "
                      "saved to %s.bad and the records after them are kept",
                      s->path, (unsigned long long)((uint64_t)next - off), (unsigned long long)off,
                      (uint64_t)next == end ? "a write cut short by a crash, or corruption"
                                            : "corruption",
                      s->path);
            rc = save_bad(s, off, (uint64_t)next, e);
            if (rc < 0)
                return rc;
        }
        off = (uint64_t)next;
    }
    return wk->copy_fd >= 0 ? flush_copy(s, wk, e) : 0;
}

/* Rewrites the valid frames into PATH.tmp and renames it over the file:
 * bad stretches in the middle are gone, the records after them stay. The
 * new file is locked before the rename, so the spool is never unlocked. */
static int compact(struct wcs_spool *s, uint64_t end, struct err *e)
{
    struct walk wk = {.copy_fd = -1};
    char tmp[4096];
    int fd, rc;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->path) >= (int)sizeof(tmp))
        return err_set(e, -ENAMETOOLONG, "spool %s: path too long", s->path);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, -errno, "spool %s: %s", tmp, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = err_set(e, -errno, "spool %s: lock: %s", tmp, strerror(errno));
        goto fail;
    }
    wk.copy_fd = fd;
    wk.wbuf = malloc(READ_CHUNK + WCS_SPOOL_FRAME_HDR + WCS_SPOOL_REC_MAX);
    if (wk.wbuf == NULL) {
        rc = err_set(e, -ENOMEM, "spool: out of memory");
        goto fail;
    }
    rc = walk(s, 0, end, &wk, e);
    free(wk.wbuf);
    if (rc < 0)
        goto fail;
    if (fsync(fd) < 0) {
        rc = err_set(e, -errno, "spool %s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, s->path) < 0) {
        rc = err_set(e, -errno, "spool %s: rename %s over it: %s", s->path, tmp, strerror(errno));
        goto fail;
    }
    close(s->fd);
    s->fd = fd;
    return sync_dir(s->path, e);

fail:
    close(fd);
    unlink(tmp);
    return rc;
}

/* Walks the file, keeps every valid frame, saves and removes the rest. */
static int scan_file(struct wcs_spool *s, struct wcs_spool_scan *scan, struct err *e)
{
    struct walk wk = {.save = 1, .copy_fd = -1};
    struct stat st;
    uint64_t end;
    int rc;

    if (fstat(s->fd, &st) < 0)
        return err_set(e, -errno, "spool %s: stat: %s", s->path, strerror(errno));
    end = (uint64_t)st.st_size;
    rc = walk(s, 0, end, &wk, e);
    if (rc < 0)
        return rc;
    s->records = wk.frames;
    s->size = wk.bytes;
    if (wk.bad_n == 1 && wk.bad_first == wk.valid_end) {
        /* Only a torn tail: cut it off. */
        if (ftruncate(s->fd, (off_t)wk.valid_end) < 0 || fsync(s->fd) < 0)
            return err_set(e, -errno, "spool %s: cut off bad tail: %s", s->path, strerror(errno));
    } else if (wk.bad_n > 0) {
        log_warnx("spool %s: rewriting it without the %llu bad stretch(es): %llu records kept",
                  s->path, (unsigned long long)wk.bad_n, (unsigned long long)wk.frames);
        rc = compact(s, end, e);
        if (rc < 0)
            return rc;
    }
    if (scan != NULL) {
        scan->records = s->records;
        scan->bytes = s->size;
        scan->bad_bytes = wk.bad_bytes;
        scan->bad_offset = wk.bad_first;
        scan->bad_stretches = wk.bad_n;
    }
    return 0;
}

/* The whole file has been read and consumed: empty it. */
static int empty_file(struct wcs_spool *s, struct err *e)
{
    if (ftruncate(s->fd, 0) < 0 || fsync(s->fd) < 0)
        return err_set(e, -errno, "spool %s: truncate: %s", s->path, strerror(errno));
    s->size = 0;
    s->records = 0;
    s->rd_off = 0;
    s->rd_rec = 0;
    s->peek_off = 0;
    s->peek_rec = 0;
    return 0;
}

/* A bad frame at the read position (damage since open): saves and logs the
 * stretch up to the next valid frame, moves the read position past it and
 * counts the frames left behind it anew. */
static int skip_bad(struct wcs_spool *s, struct err *e)
{
    struct walk wk = {.copy_fd = -1};
    uint64_t from = s->rd_off;
    int64_t next;
    int rc;

    next = find_next(s, from + 1, s->size);
    if (next < 0)
        return err_set(e, (int)next, "spool %s: read: %s", s->path, strerror((int)-next));
    log_error("spool %s: %llu bytes at offset %llu are no longer a valid record (damaged on "
              "disk); they are saved to %s.bad and skipped, the records after them are kept",
              s->path, (unsigned long long)((uint64_t)next - from), (unsigned long long)from,
              s->path);
    rc = save_bad(s, from, (uint64_t)next, e);
    if (rc < 0)
        return rc;
    rc = walk(s, (uint64_t)next, s->size, &wk, e);
    if (rc < 0)
        return rc;
    s->skipped += (uint64_t)next - from;
    s->rd_off = (uint64_t)next;
    s->records = s->rd_rec + wk.frames;
    if (s->rd_off >= s->size)
        return empty_file(s, e);
    return 0;
}

/* --- public --------------------------------------------------------------- */

int wcs_spool_open(const char *path, uint64_t max_bytes, struct wcs_spool **out,
                   struct wcs_spool_scan *scan, struct err *e)
{
    struct wcs_spool *s;
    int created = 0, rc;

    *out = NULL;
    if (scan != NULL)
        memset(scan, 0, sizeof(*scan));
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return err_set(e, -ENOMEM, "spool: out of memory");
    s->fd = -1;
    s->max_bytes = max_bytes;
    s->path = strdup(path);
    s->rbuf = malloc(WCS_SPOOL_FRAME_HDR + WCS_SPOOL_REC_MAX);
    s->sbuf = malloc(READ_CHUNK);
    if (s->path == NULL || s->rbuf == NULL || s->sbuf == NULL) {
        rc = err_set(e, -ENOMEM, "spool: out of memory");
        goto fail;
    }
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 && errno == ENOENT) {
        s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        created = 1;
    }
    if (s->fd < 0) {
        rc = err_set(e, -errno, "spool %s: open: %s", path, strerror(errno));
        goto fail;
    }
    /* Before anything reads or cuts the file: a second process must not
     * append, drain or truncate it under us. */
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            rc = err_set(e, -EBUSY,
                         "spool %s: in use by another process (is a second wcsd configured with "
                         "the same events.spool_path?)",
                         path);
        else
            rc = err_set(e, -errno, "spool %s: lock: %s", path, strerror(errno));
        goto fail;
    }
    if (created) {
        rc = sync_dir(path, e);
        if (rc < 0)
            goto fail;
    }
    rc = scan_file(s, scan, e);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;

fail:
    wcs_spool_close(s);
    return rc;
}

void wcs_spool_close(struct wcs_spool *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->pend);
    free(s->rbuf);
    free(s->sbuf);
    free(s->path);
    free(s);
}

int wcs_spool_add(struct wcs_spool *s, const void *payload, size_t len, struct err *e)
{
    size_t need = WCS_SPOOL_FRAME_HDR + len, cap;
    unsigned char *p;

    if (len == 0 || len > WCS_SPOOL_REC_MAX)
        return err_set(e, ERR_INVALID, "spool: record of %zu bytes (1..%d)", len,
                       WCS_SPOOL_REC_MAX);
    if (s->pend_cap - s->pend_len < need) {
        cap = s->pend_cap ? s->pend_cap : 65536;
        while (cap - s->pend_len < need)
            cap *= 2;
        p = realloc(s->pend, cap);
        if (p == NULL)
            return err_set(e, -ENOMEM, "spool: out of memory");
        s->pend = p;
        s->pend_cap = cap;
    }
    p = s->pend + s->pend_len;
    put_u32(p, WCS_SPOOL_MAGIC);
    put_u32(p + 4, (uint32_t)len);
    put_u32(p + 8, wcs_spool_crc32(wcs_spool_crc32(0, p + 4, 4), payload, len));
    memcpy(p + WCS_SPOOL_FRAME_HDR, payload, len);
    s->pend_len += need;
    s->pend_n++;
    return 0;
}

void wcs_spool_discard(struct wcs_spool *s)
{
    s->pend_len = 0;
    s->pend_n = 0;
}

int wcs_spool_commit(struct wcs_spool *s, struct err *e)
{
    int rc;

    if (s->pend_n == 0)
        return 0;
    if (s->max_bytes != 0 && s->size + s->pend_len > s->max_bytes) {
        rc = err_set(e, ERR_FULL, "spool %s: full: %llu + %zu bytes > max %llu", s->path,
                     (unsigned long long)s->size, s->pend_len, (unsigned long long)s->max_bytes);
        wcs_spool_discard(s);
        return rc;
    }
    rc = pwrite_full(s->fd, s->pend, s->pend_len, s->size);
    if (rc == 0 && fdatasync(s->fd) < 0)
        rc = -errno;
    if (rc < 0) {
        err_set(e, rc, "spool %s: append %zu bytes: %s", s->path, s->pend_len, strerror(-rc));
        /* A partial frame must not stay where the next append goes; if even
         * this fails, the next open finds and cuts the torn tail. */
        if (ftruncate(s->fd, (off_t)s->size) < 0)
            log_warn("spool %s: cut back after failed append", s->path);
        wcs_spool_discard(s);
        return rc;
    }
    s->size += s->pend_len;
    s->records += s->pend_n;
    wcs_spool_discard(s);
    return 0;
}

int wcs_spool_peek(struct wcs_spool *s, size_t max_records, wcs_spool_rec_cb cb, void *arg,
                   size_t *n, struct err *e)
{
    const unsigned char *p;
    uint64_t off = s->rd_off;
    uint32_t len;
    ssize_t r;
    size_t k = 0;
    int rc;

    *n = 0;
    while (k < max_records && off < s->size) {
        r = read_frame(s, off, s->size - off, &p, &len);
        if (r < 0)
            return err_set(e, (int)r, "spool %s: read: %s", s->path, strerror((int)-r));
        if (r == 0) {
            /* Damaged since it was written. Deliver what came before it;
             * at the read position, skip it for good. */
            if (off != s->rd_off)
                break;
            rc = skip_bad(s, e);
            if (rc < 0)
                return rc;
            off = s->rd_off;
            continue;
        }
        if (cb(arg, p, len) != 0)
            break;
        off += (uint64_t)r;
        k++;
    }
    s->peek_off = off;
    s->peek_rec = k;
    *n = k;
    return 0;
}

int wcs_spool_consume(struct wcs_spool *s, struct err *e)
{
    if (s->peek_off <= s->rd_off)
        return 0;
    s->rd_off = s->peek_off;
    s->rd_rec += s->peek_rec;
    s->peek_rec = 0;
    if (s->rd_off < s->size)
        return 0;
    /* Everything has been stored elsewhere: empty the file. */
    return empty_file(s, e);
}

uint64_t wcs_spool_bytes(const struct wcs_spool *s)
{
    return s->size;
}

uint64_t wcs_spool_records(const struct wcs_spool *s)
{
    return s->records;
}

uint64_t wcs_spool_unread(const struct wcs_spool *s)
{
    return s->records - s->rd_rec;
}

uint64_t wcs_spool_skipped_bytes(const struct wcs_spool *s)
{
    return s->skipped;
}
