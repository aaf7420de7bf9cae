/*
 * test-spool.c - the event writer's durable spool file (wcs/spool.h): CRC,
 * append and read back, reopen, a torn last record, a CRC mismatch, the
 * size bound, and emptying after everything is consumed.
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
    assert_int_equal(wcs_spool_bytes(s), 3 * 8 + 3 + 3 + 5);
    assert_int_equal(file_size(d->file), 3 * 8 + 3 + 3 + 5);
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
    assert_int_equal(file_size(d->file), 3 * 8 + 3 + 3 + 5);

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
    assert_int_equal(file_size(d->file), 8 + 4);
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
    assert_int_equal(scan.bad_offset, 2 * (8 + 6));
    /* Cut off the spool, kept aside. */
    assert_int_equal(file_size(d->file), 2 * (8 + 6));
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
    assert_int_equal(file_size(d->file), 9);
    wcs_spool_close(s);
}

static void test_crc_mismatch(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct wcs_spool_scan scan;
    struct err e = {0};
    unsigned char c;
    int fd;

    assert_int_equal(wcs_spool_open(d->file, 0, &s, NULL, &e), 0);
    add_str(s, "good");
    add_str(s, "flipped");
    add_str(s, "behind");
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    wcs_spool_close(s);
    /* Flip one payload byte of the second record. */
    fd = open(d->file, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, 12 + 8 + 2), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, 12 + 8 + 2), 1);
    close(fd);

    /* The valid part ends at the bad record; the rest is set aside, not
     * replayed. */
    assert_int_equal(wcs_spool_open(d->file, 0, &s, &scan, &e), 0);
    assert_int_equal(scan.records, 1);
    assert_int_equal(scan.bad_offset, 12);
    assert_int_equal(scan.bad_bytes, (8 + 7) + (8 + 6));
    assert_int_equal(file_size(d->file), 12);
    wcs_spool_close(s);
}

static void test_bounded(void **state)
{
    struct dir *d = *state;
    struct wcs_spool *s = NULL;
    struct err e = {0};
    char rec[40];
    int i;

    /* Room for exactly 4 frames of 8 + 32 bytes. */
    assert_int_equal(wcs_spool_open(d->file, 160, &s, NULL, &e), 0);
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
    assert_int_equal(file_size(d->file), 120);
    /* The refused group was dropped; one fits. */
    add_str(s, rec);
    assert_int_equal(wcs_spool_commit(s, &e), 0);
    assert_int_equal(file_size(d->file), 160);
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
        cmocka_unit_test_setup_teardown(test_crc_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_sizes, setup, teardown),
        cmocka_unit_test(test_open_fails_in_missing_dir),
    };

    log_init("test-spool", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
