/*
 * fuzz-spool.c - libFuzzer entry point for the spool replay
 * (wcs/store/spool.c: the scan and repair of wcs_spool_open, wcs_spool_peek,
 * damage found while open) and the records in its frames
 * (wcs/store/spool_payload.c), docs/fuzzing.md.
 *
 * The input is a spool file. It is written to one file in a directory of
 * this process's own ($TMPDIR or /tmp, removed at exit), then opened, read,
 * closed, opened and read again, damaged in one byte while open and
 * drained. Beyond "no crash, no leak, no sanitizer report" it checks:
 *  - open succeeds and accounts for every byte: the valid frames' bytes and
 *    the bad stretches' add up to the file's size; the file is left with
 *    the valid frames only, and PATH.bad holds the bad bytes;
 *  - a read delivers every record kept, each 1..WCS_SPOOL_REC_MAX bytes
 *    inside the frames' bytes, and skips nothing;
 *  - the repair is done once: a second open finds nothing bad and reads the
 *    same records, byte for byte;
 *  - every payload decodes whole or not at all (wcs_payload_decode), each
 *    record decoded writes back to a payload that decodes to the same;
 *  - damage while open: the drain ends and empties the file, and what it
 *    delivers and skips fits in the file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/common/fuzzutil.h"
#include "wcs/store/spool.h"
#include "wcs/store/spool_payload.h"

/* The smallest frame header: len + crc, a frame written before the magic. */
#define FRAME_HDR_MIN 8

/* The process's spool, its PATH.bad and PATH.tmp, and their directory. */
static char dir[512], path[600], bad[610], tmp[610];

static void remove_files(void)
{
    unlink(path);
    unlink(bad);
    unlink(tmp);
}

static void remove_dir(void)
{
    remove_files();
    rmdir(dir);
}

static void make_dir(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/wcs-fuzz-spool-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/events.spool", dir);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    atexit(remove_dir);
    log_set_level(LOG_LEVEL_ERROR); /* every open of a damaged file warns */
}

static long long file_size(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

static void write_file(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
        abort();
}

/* Aborts unless the payload decodes whole or not at all, and each record
 * decoded writes back to a payload that decodes to the same payload again. */
static void check_payload(const unsigned char *p, size_t len)
{
    static struct wcs_event ev[WCS_EVENT_GROUP_MAX], ev2[WCS_EVENT_GROUP_MAX];
    static struct wcs_telegram_rec tg[WCS_EVENT_GROUP_MAX], tg2[WCS_EVENT_GROUP_MAX];
    static unsigned char a[WCS_PAYLOAD_MAX], b[WCS_PAYLOAD_MAX];
    size_t nev = 0, ntg = 0, n2, m2, i, la, lb;
    int rc = wcs_payload_decode(p, len, ev, &nev, tg, &ntg);

    if (rc == ERR_PARSE) {
        if (nev != 0 || ntg != 0)
            abort();
        return;
    }
    if (rc <= 0 || (size_t)rc != wcs_payload_records(p, len) || nev + ntg != (size_t)rc)
        abort();
    for (i = 0; i < nev + ntg; i++) {
        n2 = m2 = 0;
        la = i < nev ? wcs_payload_put_event(a, &ev[i]) : wcs_payload_put_telegram(a, &tg[i - nev]);
        if (la > WCS_PAYLOAD_MAX || wcs_payload_decode(a, la, ev2, &n2, tg2, &m2) != 1)
            abort();
        lb = n2 == 1 ? wcs_payload_put_event(b, &ev2[0]) : wcs_payload_put_telegram(b, &tg2[0]);
        if (la != lb || memcmp(a, b, la) != 0)
            abort();
    }
}

/* What a read delivered: the payloads one after another, and their ends. */
struct seen {
    unsigned char *bytes;
    size_t len, cap;
    size_t *ends;
    size_t n, ncap;
};

static int seen_cb(void *arg, const void *payload, size_t len)
{
    struct seen *s = arg;

    if (len == 0 || len > WCS_SPOOL_REC_MAX)
        abort();
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->bytes = realloc(s->bytes, s->cap);
    }
    if (s->n == s->ncap) {
        s->ncap = s->ncap ? s->ncap * 2 : 64;
        s->ends = realloc(s->ends, s->ncap * sizeof(*s->ends));
    }
    if (s->bytes == NULL || s->ends == NULL)
        abort();
    memcpy(s->bytes + s->len, payload, len);
    s->len += len;
    s->ends[s->n++] = s->len;
    check_payload(payload, len);
    return 0;
}

static void seen_free(struct seen *s)
{
    free(s->bytes);
    free(s->ends);
    memset(s, 0, sizeof(*s));
}

/* Opens the spool file; aborts unless open accounts for every byte. */
static struct wcs_spool *open_checked(long long size, struct wcs_spool_scan *scan)
{
    struct wcs_spool *sp;
    struct err e = {0};

    if (wcs_spool_open(path, 0, &sp, scan, &e) != 0) {
        fprintf(stderr, "fuzz-spool: %s\n", e.msg);
        abort();
    }
    if (scan->bytes + scan->bad_bytes != (uint64_t)size ||
        (scan->bad_bytes > 0) != (scan->bad_stretches > 0) ||
        (scan->bad_bytes > 0 && scan->bad_offset >= (uint64_t)size) ||
        scan->records * (FRAME_HDR_MIN + 1) > scan->bytes || wcs_spool_bytes(sp) != scan->bytes ||
        wcs_spool_records(sp) != scan->records || wcs_spool_unread(sp) != scan->records ||
        file_size(path) != (long long)scan->bytes)
        abort();
    return sp;
}

/* Reads every record; aborts unless they are all there and nothing is skipped. */
static void read_all(struct wcs_spool *sp, const struct wcs_spool_scan *scan, struct seen *s)
{
    struct err e = {0};
    size_t n;

    if (wcs_spool_peek(sp, SIZE_MAX, seen_cb, s, &n, &e) != 0 || n != scan->records || s->n != n ||
        wcs_spool_skipped_bytes(sp) != 0 || s->len + n * FRAME_HDR_MIN > scan->bytes)
        abort();
}

/* Flips one byte of the open spool's file (chosen from its contents), then
 * drains it; aborts unless the drain ends, emptying the file, and the
 * frames delivered and the stretches skipped fit in the file. (Not "at
 * most the records there were": a payload may hold whole frames, which
 * the damage can bring to light.) */
static void damage_and_drain(struct wcs_spool *sp, const struct wcs_spool_scan *scan,
                             const uint8_t *data, size_t size)
{
    uint64_t at = wcs_spool_crc32(0, data, size) % scan->bytes, rounds = 0, delivered = 0;
    struct seen s = {0};
    struct err e = {0};
    unsigned char c;
    size_t n;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0 || pread(fd, &c, 1, (off_t)at) != 1)
        abort();
    c ^= 0x5a;
    if (pwrite(fd, &c, 1, (off_t)at) != 1 || close(fd) < 0)
        abort();
    while (wcs_spool_unread(sp) > 0) {
        /* Each round moves the read position on, or it stalls. */
        if (rounds++ > scan->bytes || wcs_spool_peek(sp, SIZE_MAX, seen_cb, &s, &n, &e) != 0 ||
            wcs_spool_consume(sp, &e) != 0)
            abort();
        delivered += n;
    }
    if (s.len + delivered * FRAME_HDR_MIN + wcs_spool_skipped_bytes(sp) > scan->bytes ||
        wcs_spool_bytes(sp) != 0 || file_size(path) != 0)
        abort();
    seen_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wcs_spool_scan scan, again;
    struct seen first = {0}, second = {0};
    struct wcs_spool *sp;

    if (dir[0] == '\0')
        make_dir();
    remove_files();
    write_file(data, size);
    sp = open_checked((long long)size, &scan);
    if (file_size(bad) != (long long)scan.bad_bytes)
        abort();
    read_all(sp, &scan, &first);
    wcs_spool_close(sp);
    /* The repair is done: the same records, nothing bad. */
    sp = open_checked((long long)scan.bytes, &again);
    if (again.records != scan.records || again.bad_bytes != 0)
        abort();
    read_all(sp, &again, &second);
    if (first.n != second.n || first.len != second.len ||
        (first.len > 0 && memcmp(first.bytes, second.bytes, first.len) != 0) ||
        (first.n > 0 && memcmp(first.ends, second.ends, first.n * sizeof(*first.ends)) != 0))
        abort();
    if (scan.bytes > 0)
        damage_and_drain(sp, &scan, data, size);
    wcs_spool_close(sp);
    seen_free(&first);
    seen_free(&second);
    return 0;
}
