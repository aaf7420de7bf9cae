/*
 * test-spool.c - the event writer's durable spool file (wcs/spool.h): CRC,
 * append and read back, reopen, a torn last record, a corrupt record in the
 * middle (at open and while open: the records after it are replayed, the
 * bad bytes saved and counted), a frame longer than the largest record,
 * files of the format before the magic, the lock against a second user,
 * the size bound, and emptying after everything is consumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "wcs/store/spool.h"

#define H WCS_SPOOL_FRAME_HDR

struct dir {
    char path[256];
    char file[300];
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));

    snprintf(d->path, sizeof(d->path), "/tmp/wcs-test-spool-XXXXXX");
    if (mkdtemp(d->path) == NULL)
        return -1;
    snprintf(d->file, sizeof(d->file), "%s/events.spool", d->path);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char bad[320];

    snprintf(bad, sizeof(bad), "%s.bad", d->file);
    unlink(d->file);
    unlink(bad);
    rmdir(d->path);
    free(d);
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -1;
    return (long long)st.st_size;
}

/* Collects peeked payloads as NUL-terminated strings. */
struct seen {
    char recs[64][64];
    size_t n;
    size_t stop_after; /* 0 = never stop */
};

static int seen_cb(void *arg, const void *payload, size_t len)
{
    struct seen *s = arg;

    if (s->stop_after != 0 && s->n == s->stop_after)
        return 1;
    assert_true(len < sizeof(s->recs[0]));
    memcpy(s->recs[s->n], payload, len);
    s->recs[s->n][len] = '\0';
    s->n++;
    return 0;
}

static void add_str(struct wcs_spool *s, const char *text)
{
    struct err e = {0};

    assert_int_equal(wcs_spool_add(s, text, strlen(text), &e), 0);
}

static void test_crc32_check_value(void **state)
{
    (void)state;
    /* The standard check value of CRC-32/ISO-HDLC. */
    assert_int_equal(wcs_spool_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Continuation gives the same as one call. */
    assert_int_equal(wcs_spool_crc32(wcs_spool_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(wcs_spool_crc32(0, "", 0), 0);
}

static void test_append_peek_consume_reopen(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 0);
    assert_int_equal(file_size(d->file), 0);
    add_str(s, "one");
    add_str(s, "two");
    /* Nothing is written before commit. */
    assert_int_equal(file_size(d->file), 0);
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    add_str(s, "three");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(wcs_spool_records(s), 3);
    assert_int_equal(wcs_spool_bytes(s), 3 * H + 3 + 3 + 5);
    assert_int_equal(file_size(d->file), 3 * H + 3 + 3 + 5);
    /* An empty commit is a no-op. */
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);

    /* Reopened: everything is there, in order. */
    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 3);
    assert_int_equal(scan.bad_bytes, 0);
    assert_int_equal(wcs_spool_unread(s), 3);
    assert_int_equal(wcs_spool_peek(s, 2, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(seen.recs[0], "one");
    assert_string_equal(seen.recs[1], "two");
    /* Peeking again without consuming reads the same records. */
    seen.n = 0;
    assert_int_equal(wcs_spool_peek(s, 2, seen_cb, &seen, &n, &e), 0);
    assert_string_equal(seen.recs[0], "one");
    assert_int_equal(wcs_spool_consume(s, &e), 0);
    assert_int_equal(wcs_spool_unread(s), 1);
    /* Not empty yet: the file is kept whole. */
    assert_int_equal(file_size(d->file), 3 * H + 3 + 3 + 5);

    /* Appending while partly read; the reader continues in order. */
    add_str(s, "four");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    seen.n = 0;
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(seen.recs[0], "three");
    assert_string_equal(seen.recs[1], "four");
    assert_int_equal(wcs_spool_consume(s, &e), 0);
    /* Everything consumed: the file is emptied. */
    assert_int_equal(wcs_spool_unread(s), 0);
    assert_int_equal(wcs_spool_records(s), 0);
    assert_int_equal(file_size(d->file), 0);
    /* And used again from the start. */
    add_str(s, "five");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(file_size(d->file), H + 4);
    wcs_spool_close(s);
}

static void test_peek_stops_when_callback_says(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct seen seen = {.stop_after = 1};
    struct err e = {0};
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "a");
    add_str(s, "b");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(wcs_spool_consume(s, &e), 0);
    assert_int_equal(wcs_spool_unread(s), 1);
    seen.n = 0;
    seen.stop_after = 0;
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(seen.recs[0], "b");
    wcs_spool_close(s);
}

static void append_raw(const char *path, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static void test_torn_tail_dropped(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    char bad[320];
    /* A frame header announcing 100 bytes, followed by only 5: a crash in
     * the middle of the write. */
    const unsigned char torn[] = {100, 0, 0, 0, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'};
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "kept-1");
    add_str(s, "kept-2");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    append_raw(d->file, torn, sizeof(torn));

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 2);
    assert_int_equal(scan.bad_bytes, sizeof(torn));
    assert_int_equal(scan.bad_offset, 2 * (H + 6));
    assert_int_equal(scan.bad_stretches, 1);
    /* Cut off the spool, kept aside. */
    assert_int_equal(file_size(d->file), 2 * (H + 6));
    snprintf(bad, sizeof(bad), "%s.bad", d->file);
    assert_int_equal(file_size(bad), sizeof(torn));
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(seen.recs[1], "kept-2");
    /* New records go right after the valid ones. */
    add_str(s, "after");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 3);
    assert_int_equal(scan.bad_bytes, 0);
    wcs_spool_close(s);
}

static void test_header_only_tail_dropped(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct err e = {0};
    const unsigned char three[] = {9, 0, 0};

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "x");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    append_raw(d->file, three, sizeof(three));
    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 1);
    assert_int_equal(scan.bad_bytes, 3);
    assert_int_equal(file_size(d->file), H + 1);
    wcs_spool_close(s);
}

/* Flips one byte of the file at off. */
static void flip(const char *path, long off)
{
    unsigned char c;
    int fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* A record damaged in the middle: the records after it are kept and
 * replayed (they were durable, ACKed), the bad bytes saved aside. */
static void test_crc_mismatch_in_the_middle(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    char bad[320];
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "good");
    add_str(s, "flipped");
    add_str(s, "behind");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    add_str(s, "later");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    /* One payload byte of the second record. */
    flip(d->file, (H + 4) + H + 2);

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 3);
    assert_int_equal(scan.bad_offset, H + 4);
    assert_int_equal(scan.bad_bytes, H + 7);
    assert_int_equal(scan.bad_stretches, 1);
    /* The bad stretch is gone from the file, kept in PATH.bad. */
    assert_int_equal(file_size(d->file), (H + 4) + (H + 6) + (H + 5));
    snprintf(bad, sizeof(bad), "%s.bad", d->file);
    assert_int_equal(file_size(bad), H + 7);
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(seen.recs[0], "good");
    assert_string_equal(seen.recs[1], "behind");
    assert_string_equal(seen.recs[2], "later");
    /* Appends go on behind the kept records. */
    add_str(s, "new");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 4);
    assert_int_equal(scan.bad_bytes, 0);
    wcs_spool_close(s);
}

/* Two bad stretches, one in the middle and a torn tail. */
static void test_bad_middle_and_torn_tail(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    const unsigned char torn[] = {'W', 'S', 'F', '1', 50, 0, 0, 0, 1, 2, 3, 4, 'x'};
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "a1");
    add_str(s, "b2");
    add_str(s, "c3");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    flip(d->file, 2); /* the magic of the first frame */
    append_raw(d->file, torn, sizeof(torn));

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 2);
    assert_int_equal(scan.bad_stretches, 2);
    assert_int_equal(scan.bad_offset, 0);
    assert_int_equal(scan.bad_bytes, (H + 2) + sizeof(torn));
    assert_int_equal(file_size(d->file), 2 * (H + 2));
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(seen.recs[0], "b2");
    assert_string_equal(seen.recs[1], "c3");
    wcs_spool_close(s);
}

/* Damage that appears while the spool is open (the disk) is skipped when
 * the reader reaches it, never a stall: saved, counted, and the records
 * after it delivered. */
static void test_damage_while_open_is_skipped(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct seen seen = {0};
    struct err e = {0};
    char bad[320];
    size_t n;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "first");
    add_str(s, "second");
    add_str(s, "third");
    add_str(s, "fourth");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    flip(d->file, (H + 5) + H + 1); /* in "second" */
    flip(d->file, (H + 5) + (H + 6) + (H + 5) + 5); /* the length of "fourth" */

    /* The first peek stops before the damage: what comes before it is
     * delivered as usual. */
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(seen.recs[0], "first");
    assert_int_equal(wcs_spool_skipped_bytes(s), 0);
    assert_int_equal(wcs_spool_consume(s, &e), 0);
    /* Now at the read position: skipped, and the next record delivered. */
    seen.n = 0;
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(seen.recs[0], "third");
    assert_int_equal(wcs_spool_skipped_bytes(s), H + 6);
    assert_int_equal(wcs_spool_unread(s), 1);
    assert_int_equal(wcs_spool_consume(s, &e), 0);
    /* The damaged last record: skipped too, and the spool is empty. */
    seen.n = 0;
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wcs_spool_skipped_bytes(s), (H + 6) + (H + 6));
    assert_int_equal(wcs_spool_unread(s), 0);
    assert_int_equal(file_size(d->file), 0);
    snprintf(bad, sizeof(bad), "%s.bad", d->file);
    assert_int_equal(file_size(bad), (H + 6) + (H + 6));
    /* And used again. */
    add_str(s, "fifth");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    seen.n = 0;
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_string_equal(seen.recs[0], "fifth");
    wcs_spool_close(s);
}

/* A file written before frames had a magic is still read, and new frames
 * are appended behind its records. */
static void test_reads_frames_without_magic(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    unsigned char old[8 + 3];
    uint32_t crc = wcs_spool_crc32(0, "old", 3);
    size_t n;
    int fd;

    old[0] = 3;
    old[1] = old[2] = old[3] = 0;
    old[4] = (unsigned char)crc;
    old[5] = (unsigned char)(crc >> 8);
    old[6] = (unsigned char)(crc >> 16);
    old[7] = (unsigned char)(crc >> 24);
    memcpy(old + 8, "old", 3);
    fd = open(d->file, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, old, sizeof(old)), (ssize_t)sizeof(old));
    assert_int_equal(write(fd, old, sizeof(old)), (ssize_t)sizeof(old));
    close(fd);

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 2);
    assert_int_equal(scan.bad_bytes, 0);
    add_str(s, "new");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(seen.recs[0], "old");
    assert_string_equal(seen.recs[1], "old");
    assert_string_equal(seen.recs[2], "new");
    wcs_spool_close(s);
}

/* One process at a time: a second open of the same spool is refused with a
 * clear error while the first holds it. */
static void test_second_user_refused(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL, *s2 = (struct wcs_spool *)&s2;
    struct err e = {0};

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "mine");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(wcs_spool_open(d->file, 0, &s2, NULL, &e), -EBUSY);
    assert_null(s2);
    assert_non_null(strstr(e.msg, d->file));
    assert_non_null(strstr(e.msg, "in use by another process"));
    /* Nothing of the file was touched by the refused open. */
    assert_int_equal(file_size(d->file), H + 4);
    wcs_spool_close(s);
    assert_int_equal(wcs_spool_open(d->file, 0, &s2, NULL, &e), 0);
    assert_int_equal(wcs_spool_unread(s2), 1);
    wcs_spool_close(s2);
}

static void test_bounded(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct err e = {0};
    char rec[40];
    int i;

    /* Room for exactly 4 frames of H + 32 bytes. */
    assert_int_equal(wcs_spool_open(d->file, 4 * (H + 32), &s, NULL, &e), 0);
    memset(rec, 'r', 32);
    rec[32] = '\0';
    for (i = 0; i < 3; i++)
        add_str(s, rec);
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    /* Two more do not fit: all or nothing. */
    add_str(s, rec);
    add_str(s, rec);
    assert_int_equal(wcs_spool_commit(s, &e), ERR_FULL);
    assert_non_null(strstr(e.msg, "full"));
    assert_int_equal(wcs_spool_records(s), 3);
    assert_int_equal(file_size(d->file), 3 * (H + 32));
    /* The refused group was dropped; one fits. */
    add_str(s, rec);
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(file_size(d->file), 4 * (H + 32));
    add_str(s, "z");
    assert_int_equal(wcs_spool_commit(s, &e), ERR_FULL);
    wcs_spool_close(s);
}

static void test_bad_record_sizes(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct err e = {0};
    static char big[WCS_SPOOL_REC_MAX + 1];

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    assert_int_equal(wcs_spool_add(s, "x", 0, &e), ERR_INVALID);
    assert_int_equal(wcs_spool_add(s, big, sizeof(big), &e), ERR_INVALID);
    assert_int_equal(wcs_spool_add(s, big, WCS_SPOOL_REC_MAX, &e), 0);
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
}

/* Writes a frame's header for the len bytes of payload that follow it at
 * buf + H (the CRC need not agree with what the reader allows). */
static void frame_header(unsigned char *buf, uint32_t len)
{
    uint32_t crc;
    int i;

    memcpy(buf, "WSF1", 4);
    for (i = 0; i < 4; i++)
        buf[4 + i] = (unsigned char)(len >> (8 * i));
    crc = wcs_spool_crc32(wcs_spool_crc32(0, buf + 4, 4), buf + H, len);
    for (i = 0; i < 4; i++)
        buf[8 + i] = (unsigned char)(crc >> (8 * i));
}

/* A frame longer than WCS_SPOOL_REC_MAX is damage even with its bytes all
 * there and its CRC right: the reader never takes a payload it could not
 * have written (nor holds one that large). */
static void test_frame_over_max_is_damage(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct seen seen = {0};
    struct err e = {0};
    static unsigned char big[H + WCS_SPOOL_REC_MAX + 1];
    unsigned char behind[H + 6];
    size_t n;

    frame_header(big, WCS_SPOOL_REC_MAX + 1);
    memcpy(behind + H, "behind", 6);
    frame_header(behind, 6);
    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    wcs_spool_close(s);
    append_raw(d->file, big, sizeof(big));
    append_raw(d->file, behind, sizeof(behind));

    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 1);
    assert_int_equal(scan.bad_offset, 0);
    assert_int_equal(scan.bad_bytes, sizeof(big));
    assert_int_equal(wcs_spool_peek(s, 10, seen_cb, &seen, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(seen.recs[0], "behind");
    wcs_spool_close(s);
}

static void test_open_fails_in_missing_dir(void **state)
{
    struct wcs_spool *s = (struct wcs_spool *)&s;
    struct err e = {0};
    (void)state;

    assert_int_equal(wcs_spool_open("/nonexistent-wcs-dir/x.spool", 0, &s, NULL, &e), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(e.msg, "x.spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test_setup_teardown(test_append_peek_consume_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_stops_when_callback_says, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_only_tail_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crc_mismatch_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_middle_and_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_while_open_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_frames_without_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_user_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_over_max_is_damage, setup, teardown),
        cmocka_unit_test(test_open_fails_in_missing_dir),
    };

    log_init("test-spool", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
