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
 * after the caller has stored it elsewhere. On open, the valid prefix of
 * the file is kept; a torn or corrupt rest is saved next to it (PATH.bad)
 * and cut off, so nothing that was ever counted durable disappears silently.
 */
#include "wcs/store/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define READ_CHUNK (1024 * 1024) /* pread size while scanning and peeking */

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
    unsigned char *rbuf; /* READ_CHUNK + room for one whole frame */
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

/* fsync of the directory holding path, so a created file's name is durable. */
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

/* Reads the frame at off, at most avail bytes to end of file, through
 * s->rbuf. Returns its total size (header + payload) with *payload pointing
 * into rbuf, 0 when the frame is bad (incomplete, impossible length, CRC
 * mismatch), or -errno. */
static ssize_t read_frame(struct wcs_spool *s, uint64_t off, uint64_t avail,
                          const unsigned char **payload, uint32_t *len)
{
    unsigned char *b = s->rbuf;
    ssize_t r;
    uint32_t n;

    if (avail < WCS_SPOOL_FRAME_HDR)
        return 0;
    r = pread_full(s->fd, b, WCS_SPOOL_FRAME_HDR, off);
    if (r < 0)
        return r;
    if (r < WCS_SPOOL_FRAME_HDR)
        return 0;
    n = get_u32(b);
    if (n == 0 || n > WCS_SPOOL_REC_MAX || n > avail - WCS_SPOOL_FRAME_HDR)
        return 0;
    r = pread_full(s->fd, b + WCS_SPOOL_FRAME_HDR, n, off + WCS_SPOOL_FRAME_HDR);
    if (r < 0)
        return r;
    if ((uint32_t)r < n || wcs_spool_crc32(0, b + WCS_SPOOL_FRAME_HDR, n) != get_u32(b + 4))
        return 0;
    *payload = b + WCS_SPOOL_FRAME_HDR;
    *len = n;
    return (ssize_t)(WCS_SPOOL_FRAME_HDR + n);
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
        r = pread_full(s->fd, s->rbuf, n, off);
        if (r <= 0) {
            rc = err_set(e, r < 0 ? (int)r : -EIO, "spool %s: read: %s", s->path,
                         strerror(r < 0 ? (int)-r : EIO));
            break;
        }
        if (write(fd, s->rbuf, (size_t)r) != r)
            rc = err_set(e, -errno, "spool %s: write: %s", bad, strerror(errno));
        off += (uint64_t)r;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = err_set(e, -errno, "spool %s: fsync: %s", bad, strerror(errno));
    close(fd);
    return rc;
}

/* Walks the file, keeps the valid prefix, saves and cuts off the rest. */
static int scan_file(struct wcs_spool *s, struct wcs_spool_scan *scan, struct err *e)
{
    struct stat st;
    const unsigned char *p;
    uint64_t off = 0, end;
    uint32_t len;
    ssize_t r;
    int rc;

    if (fstat(s->fd, &st) < 0)
        return err_set(e, -errno, "spool %s: stat: %s", s->path, strerror(errno));
    end = (uint64_t)st.st_size;
    while (off < end) {
        r = read_frame(s, off, end - off, &p, &len);
        if (r < 0)
            return err_set(e, (int)r, "spool %s: read: %s", s->path, strerror((int)-r));
        if (r == 0)
            break;
        off += (uint64_t)r;
        s->records++;
    }
    s->size = off;
    if (off < end) {
        log_warnx("spool %s: %llu bytes at offset %llu are not a whole valid record (a write "
                  "cut short by a crash, or corruption); %llu records before them are kept, "
                  "the rest is moved to %s.bad",
                  s->path, (unsigned long long)(end - off), (unsigned long long)off,
                  (unsigned long long)s->records, s->path);
        rc = save_bad(s, off, end, e);
        if (rc < 0)
            return rc;
        if (ftruncate(s->fd, (off_t)off) < 0 || fsync(s->fd) < 0)
            return err_set(e, -errno, "spool %s: cut off bad tail: %s", s->path, strerror(errno));
    }
    if (scan != NULL) {
        scan->records = s->records;
        scan->bytes = s->size;
        scan->bad_bytes = end - off;
        scan->bad_offset = off;
    }
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
    s->rbuf = malloc(READ_CHUNK + WCS_SPOOL_FRAME_HDR + WCS_SPOOL_REC_MAX);
    if (s->path == NULL || s->rbuf == NULL) {
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
    put_u32(p, (uint32_t)len);
    put_u32(p + 4, wcs_spool_crc32(0, payload, len));
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

    *n = 0;
    while (k < max_records && off < s->size) {
        r = read_frame(s, off, s->size - off, &p, &len);
        if (r < 0)
            return err_set(e, (int)r, "spool %s: read: %s", s->path, strerror((int)-r));
        if (r == 0)
            return err_set(e, ERR_PARSE, "spool %s: bad record at offset %llu", s->path,
                           (unsigned long long)off);
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
    if (ftruncate(s->fd, 0) < 0 || fsync(s->fd) < 0)
        return err_set(e, -errno, "spool %s: truncate: %s", s->path, strerror(errno));
    s->size = 0;
    s->records = 0;
    s->rd_off = 0;
    s->rd_rec = 0;
    s->peek_off = 0;
    return 0;
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
