/*
 * test-tunnel.c - the scan tunnel in wcsd (issue 14): cameras from files,
 * their results fused per parcel, and the video coding of no-reads, with a
 * real wcsd, a real PostgreSQL and the test playing the PLC over 127.0.0.1.
 *
 *   - two directory cameras at one scan point: both read the same code ->
 *     the parcel goes to its route; they read two different codes ->
 *     MULTIRD_; neither reads anything -> NOREAD__, and the no-read is
 *     recorded with both frames (their images served as PNG) and a cause;
 *   - a keyed code is checked like a scan (a wrong check digit is refused),
 *     recorded with the operator; when the parcel comes round (UPD_
 *     RECIRC__, then REQ_) it is decided on the keyed code and the no-read
 *     is marked resolved; wcsctl noread list|show|key do the same from a
 *     terminal (a parcel marked unreadable stays a no-read); a no-read an
 *     hour old cannot be keyed and is marked expired;
 *   - a stream camera (a FIFO of PNM images) at another scan point, and a
 *     V4L2 camera not plugged in (absent, the line unharmed).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "conveyor/link.h"
#include "conveyor/telegram.h"
#include "scanners/camera.h"
#include "tests/common/testplc.h"
#include "tests/common/testsession.h"
#include "tests/common/testutil.h"
#include "tests/common/testwcsd.h"

/* The test's PLC link, kept alive (its LIFE telegrams) while a test waits:
 * wcsd drops a PLC that says nothing for three LIFE intervals. */
static struct tplc *plc_loop;

static void pause_ms(int ms)
{
    for (int i = 0; i < ms; i += 10) {
        if (plc_loop != NULL)
            uv_run(&plc_loop->loop, UV_RUN_NOWAIT);
        usleep(10 * 1000);
    }
}

/* GET path of w as JSON (the caller json_decref()s it). */
static json_t *get(const struct twcsd *w, const char *path)
{
    json_t *j = NULL;

    assert_int_equal(tu_http(w->http_port, path, NULL, &j), 200);
    return j;
}

/* A camera's figure from /v1/scanners. */
static long long camera_count(const struct twcsd *w, const char *cam, const char *what)
{
    json_t *j = get(w, "/v1/scanners"), *c;
    long long n = -1;
    size_t i;

    json_array_foreach(json_object_get(j, "cameras"), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "id")), cam) == 0) n =
        json_integer_value(json_object_get(c, what));
    json_decref(j);
    return n;
}

static long long video_count(const struct twcsd *w, const char *what)
{
    json_t *j = get(w, "/v1/scanners");
    long long n = json_integer_value(json_object_get(json_object_get(j, "video_coding"), what));

    json_decref(j);
    return n;
}

/* Waits (bounded) until a camera's figure reaches n. */
static void wait_camera(const struct twcsd *w, const char *cam, const char *what, long long n)
{
    int i;

    for (i = 0; i < 600 && camera_count(w, cam, what) < n; i++)
        pause_ms(50);
    assert_true(camera_count(w, cam, what) >= n);
}

/* Drops an image file into camera directory cam as a camera does: written
 * under a hidden name, then renamed. src is a PNG or PGM. */
static void drop(const struct twcsd *w, const char *cam, const char *src, int n)
{
    char tmp[512], dst[512], cmd[1200];

    snprintf(tmp, sizeof(tmp), "%s/%s/.frame-%d", w->dir, cam, n);
    snprintf(dst, sizeof(dst), "%s/%s/frame-%04d.img", w->dir, cam, n);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, tmp);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rename(tmp, dst), 0);
}

/* A code 128 label of data, rendered by zint into dir/name.png. */
static void label(const struct twcsd *w, const char *data, const char *name)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             "zint -b 20 -d '%s' --scale=2 --whitesp=10 --vwhitesp=10 -o '%s/%s.png' >/dev/null",
             data, w->dir, name);
    if (system(cmd) != 0)
        fail_msg("zint failed: is it installed (scripts/deps.sh)?");
}

/* A frame of belt with nothing on it, as a PGM. */
static void blank(const struct twcsd *w, const char *name)
{
    char path[256];
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "%s/%s.pgm", w->dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n640 480\n255\n");
    for (i = 0; i < 640 * 480; i++)
        fputc(150 + (i * 7 % 13), f);
    fclose(f);
}

static void file_of(const struct twcsd *w, const char *name, const char *ext, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s.%s", w->dir, name, ext);
}

struct env {
    struct twcsd w;
    struct tplc p;
    struct conv_link *link;
    bool up;
    char codes[6][64];
    int fifo;                 /* the stream camera's FIFO, open for writing */
    char op[64], op_csrf[64]; /* an operator's console session */
};

static void start(struct env *v)
{
    struct twcsd *w = &v->w;
    char path[512];
    int i;

    twcsd_prepare(w, "wcs_test_tunnel", NULL);
    for (i = 0; i < 6; i++)
        twcsd_sample_code(i, v->codes[i], sizeof(v->codes[i]));
    snprintf(path, sizeof(path), "%s/CAM-TOP", w->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/CAM-SIDE", w->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/stream.fifo", w->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    twcsd_config(w,
                 "events:\n  spool_path: %s/spool\n"
                 "alarms:\n  scanner_unplugged_s: 0\n"
                 "plcs:\n  - id: PLC01\n    host: 127.0.0.1\n    port: %d\n"
                 "    life_interval_ms: 1000\n    locations: [SCAN01, SCAN02]\n"
                 "    allow: [127.0.0.1]\n"
                 "    read_window_before_ms: 10000\n    read_window_after_ms: 100\n"
                 "cameras:\n  workers: 2\n  noread_dir: %s/noreads\n"
                 "  sources:\n"
                 "    - id: CAM-TOP\n      location: SCAN01\n      dir: %s/CAM-TOP\n"
                 "    - id: CAM-SIDE\n      location: SCAN01\n      dir: %s/CAM-SIDE\n"
                 "    - id: CAM-STREAM\n      location: SCAN02\n      stream: %s/stream.fifo\n"
                 "    - id: CAM-V4L2\n      location: SCAN02\n      device: %s/no-such-video\n"
                 "      width: 1280\n      height: 1024\n",
                 w->dir, w->plc_port[0], w->dir, w->dir, w->dir, w->dir, w->dir);
    twcsd_start(w);
    tsess_add_user(w, "li.wei", "operator");
    assert_int_equal(tsess_login(w, "li.wei", TSESS_PW, v->op, v->op_csrf), 200);
    /* The writer's end: wcsd holds the reading one open (non-blocking). */
    for (i = 0; i < 200 && (v->fifo = open(path, O_WRONLY | O_NONBLOCK)) < 0; i++)
        pause_ms(50);
    assert_true(v->fifo >= 0);
    assert_int_equal(fcntl(v->fifo, F_SETFL, 0), 0); /* blocking writes from here */
    tplc_init(&v->p);
    v->link = tplc_link(&v->p, "PLC01", CONV_LINK_CLIENT, w->plc_port[0], 1000, &v->up);
    TPLC_RUN_UNTIL(&v->p, v->up);
    plc_loop = &v->p;
}

static void stop(struct env *v)
{
    close(v->fifo);
    plc_loop = NULL;
    tplc_done(&v->p);
    twcsd_stop(&v->w);
    twcsd_teardown(&v->w);
}

/* The top camera sees a label of code top, the side one of code side (each
 * rendered by zint); both frames decoded (their n-th read) before the
 * parcel's REQ_ for tracking. Returns the RES_. */
static struct conv_res tunnel_parcel(struct env *v, const char *top, const char *side, int n,
                                     const char *tracking)
{
    char a[256], b[256];

    label(&v->w, top, "top");
    label(&v->w, side, "side");
    file_of(&v->w, "top", "png", a, sizeof(a));
    file_of(&v->w, "side", "png", b, sizeof(b));
    drop(&v->w, "CAM-TOP", a, n);
    drop(&v->w, "CAM-SIDE", b, n);
    wait_camera(&v->w, "CAM-TOP", "read", n);
    wait_camera(&v->w, "CAM-SIDE", "read", n);
    return tplc_request(&v->p, v->link, tracking, "SCAN01", NULL, CONV_BARCODE_ABSENT);
}

/* Both cameras read the same code: one parcel, its route. */
static void agree(struct env *v)
{
    struct conv_res r = tunnel_parcel(v, v->codes[0], v->codes[0], 1, "0000000001");

    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, v->codes[0]);
}

/* Two different parcel codes in one read window: a multi-read. */
static void disagree(struct env *v)
{
    struct conv_res r = tunnel_parcel(v, v->codes[1], v->codes[2], 2, "0000000002");

    assert_int_equal(r.reason, CONV_REASON_MULTIRD);
}

/* The oldest pending no-read of tracking, polled (bounded); the caller
 * json_decref()s it. */
static json_t *pending(const struct twcsd *w, const char *tracking)
{
    int i;

    for (i = 0; i < 200; i++) {
        json_t *j = get(w, "/v1/noreads?state=pending&limit=100"), *n;
        size_t k;

        json_array_foreach(
            json_object_get(j, "noreads"), k,
            n) if (strcmp(json_string_value(json_object_get(n, "tracking")), tracking) == 0)
        {
            json_incref(n);
            json_decref(j);
            return n;
        }
        json_decref(j);
        pause_ms(50);
    }
    fail_msg("no pending no-read for tracking %s", tracking);
    return NULL;
}

/* The operator keys no-read id in from the console. */
static void key(const struct env *v, long long id, const char *body, long want, json_t **out)
{
    char path[64];
    struct tsess_call c = {.path = path, .body = body, .cookie = v->op, .csrf = v->op_csrf};

    snprintf(path, sizeof(path), "/v1/noreads/%lld/key", id);
    tsess_send(&v->w, &c);
    if (c.status != want)
        fail_msg("POST %s %s: %ld, wanted %ld", path, body, c.status, want);
    if (out != NULL)
        *out = c.json;
    else
        json_decref(c.json);
}

/* Nothing read by either camera: a no-read with both frames; keyed in,
 * the parcel gets its route when it comes round. */
static void noread_keyed(struct env *v)
{
    char pgm[256], body[128], path[256];
    struct conv_res r;
    json_t *n, *out = NULL;
    struct tu_req img = {.port = v->w.http_port, .token = v->w.token[TWCSD_MONITOR]};
    long long id, keys;
    int i;

    blank(&v->w, "blank");
    file_of(&v->w, "blank", "pgm", pgm, sizeof(pgm));
    drop(&v->w, "CAM-TOP", pgm, 3);
    drop(&v->w, "CAM-SIDE", pgm, 3);
    wait_camera(&v->w, "CAM-TOP", "noread", 1);
    wait_camera(&v->w, "CAM-SIDE", "noread", 1);
    r = tplc_request(&v->p, v->link, "0000000003", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);

    n = pending(&v->w, "0000000003");
    id = json_integer_value(json_object_get(n, "id"));
    assert_string_equal(json_string_value(json_object_get(n, "location")), "SCAN01");
    assert_string_equal(json_string_value(json_object_get(n, "cause")), "no_barcode_region");
    assert_int_equal(json_array_size(json_object_get(n, "images")), 2);
    /* Its images, as a browser gets them. */
    img.path =
        json_string_value(json_object_get(json_array_get(json_object_get(n, "images"), 0), "url"));
    assert_int_equal(tu_http_req(&img, NULL), 200);
    assert_non_null(img.body);
    assert_memory_equal(img.body, "\x89PNG", 4);
    free(img.body);
    img.body = NULL;
    img.path = "/v1/noread-images/..%2F..%2Fetc%2Fpasswd";
    assert_int_equal(tu_http_req(&img, NULL), 404);
    free(img.body);
    json_decref(n);

    /* Checked like a scan: a wrong check digit is refused. */
    snprintf(body, sizeof(body), "{\"code\":\"RR123456786CN\"}");
    key(v, id, body, 422, NULL);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", v->codes[3]);
    keys = video_count(&v->w, "keys");
    key(v, id, body, 200, &out);
    n = json_object_get(out, "noread");
    assert_string_equal(json_string_value(json_object_get(n, "state")), "keyed");
    assert_string_equal(json_string_value(json_object_get(n, "code")), v->codes[3]);
    assert_string_equal(json_string_value(json_object_get(n, "keyed_by")), "li.wei");
    json_decref(out);
    key(v, id, body, 409, NULL); /* once */

    /* wcsd learns the key (NOTIFY), then the parcel comes round. */
    for (i = 0; i < 200 && video_count(&v->w, "keys") <= keys; i++)
        pause_ms(50);
    assert_true(video_count(&v->w, "keys") > keys);
    tplc_update(&v->p, v->link, "0000000003", "SCAN01", CONV_UPD_RECIRC, 1795000300);
    r = tplc_request(&v->p, v->link, "0000000003", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, v->codes[3]);
    for (i = 0; i < 200; i++) {
        if (tu_db_count(v->w.conninfo,
                        "SELECT count(*) FROM noreads WHERE id = %lld AND resolved_to = '%s'", id,
                        r.destination) == 1)
            break;
        pause_ms(50);
    }
    assert_true(i < 200);
    /* The images are kept on disk. */
    snprintf(path, sizeof(path), "%s/noreads", v->w.dir);
    assert_true(access(path, R_OK) == 0);
}

/* wcsctl noread list|show|key: a parcel marked unreadable stays a no-read. */
static void noread_wcsctl(struct env *v)
{
    char pgm[256], ids[32], *out = NULL;
    struct conv_res r;
    json_t *n;
    int i;

    file_of(&v->w, "blank", "pgm", pgm, sizeof(pgm));
    drop(&v->w, "CAM-TOP", pgm, 4);
    wait_camera(&v->w, "CAM-TOP", "noread", 2);
    r = tplc_request(&v->p, v->link, "0000000004", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);
    n = pending(&v->w, "0000000004");
    snprintf(ids, sizeof(ids), "%lld", (long long)json_integer_value(json_object_get(n, "id")));
    json_decref(n);
    /* wcsd counts it among those waiting (the console's badge), within its fetch. */
    for (i = 0; i < 200 && video_count(&v->w, "pending") != 1; i++)
        pause_ms(50);
    assert_int_equal(video_count(&v->w, "pending"), 1);

    assert_int_equal(tu_wcsctl_out(v->w.conninfo, &out, "noread", "list", NULL), 0);
    assert_non_null(strstr(out, "0000000004"));
    assert_non_null(strstr(out, "1 pending"));
    free(out);
    tu_wcsctl_out(v->w.conninfo, &out, "status", NULL); /* wcsd's part: no HTTP given */
    assert_non_null(strstr(out, "no-reads: 1 waiting for a code"));
    free(out);
    assert_int_equal(
        tu_wcsctl_out(v->w.conninfo, &out, "--config", v->w.cfg_path, "noread", "show", ids, NULL),
        0);
    assert_non_null(strstr(out, "tracking\t0000000004"));
    assert_non_null(strstr(out, "/noreads/"));
    assert_non_null(strstr(out, ".pgm"));
    free(out);
    assert_int_equal(
        tu_wcsctl_out(v->w.conninfo, &out, "noread", "key", ids, "RR123456786CN", NULL), 1);
    free(out);
    assert_int_equal(tu_wcsctl_out(v->w.conninfo, &out, "noread", "key", ids, "--unreadable", NULL),
                     0);
    assert_non_null(strstr(out, "marked unreadable"));
    free(out);
    assert_int_equal(tu_db_count(v->w.conninfo,
                                 "SELECT count(*) FROM noreads WHERE id = %s AND state ="
                                 " 'unreadable' AND keyed_by LIKE 'wcsctl:%%'",
                                 ids),
                     1);
    /* The API's form, for scripts. */
    assert_int_equal(tu_wcsctl_out(v->w.conninfo, &out, "noread", "show", ids, "--json", NULL), 0);
    n = json_loads(out, 0, NULL);
    assert_non_null(n);
    assert_string_equal(json_string_value(json_object_get(n, "state")), "unreadable");
    assert_true(json_is_null(json_object_get(n, "code")));
    assert_int_equal(json_array_size(json_object_get(n, "images")), 1);
    json_decref(n);
    free(out);
    /* Comes round: still nothing to decide on, and no second row. */
    for (i = 0; i < 40; i++)
        pause_ms(50);
    tplc_update(&v->p, v->link, "0000000004", "SCAN01", CONV_UPD_RECIRC, 1795000400);
    r = tplc_request(&v->p, v->link, "0000000004", "SCAN01", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_NOREAD);
    for (i = 0; i < 10; i++)
        pause_ms(50);
    assert_int_equal(
        tu_db_count(v->w.conninfo, "SELECT count(*) FROM noreads WHERE tracking = '0000000004'"),
        1);
}

/* A no-read pending for over an hour: its parcel left the loop; it cannot
 * be keyed, and the line's wcsd marks it expired. */
static void noread_expired(struct env *v)
{
    char ids[32], *out = NULL;
    long long id;
    int i;

    id = tu_db_count(v->w.conninfo,
                     "WITH n AS (INSERT INTO noreads (node, tracking, location, at, cause) VALUES"
                     " ('WCS01', '0000000099', 'SCAN01', now() - interval '2 hours',"
                     " 'no_camera') RETURNING id) SELECT id FROM n");
    snprintf(ids, sizeof(ids), "%lld", id);
    assert_int_equal(tu_wcsctl_out(v->w.conninfo, &out, "noread", "key", ids, v->codes[5], NULL),
                     1);
    free(out);
    for (i = 0; i < 200; i++) {
        if (tu_db_count(v->w.conninfo,
                        "SELECT count(*) FROM noreads WHERE id = %lld AND state = 'expired'",
                        id) == 1)
            break;
        pause_ms(50);
    }
    assert_true(i < 200);
}

/* A PNM stream (a FIFO) at SCAN02. */
static void stream(struct env *v)
{
    char png[256];
    struct scan_image img = {0};
    struct conv_res r;
    struct err e;
    char head[64];
    int hl;

    label(&v->w, v->codes[4], "stream");
    file_of(&v->w, "stream", "png", png, sizeof(png));
    assert_int_equal(scan_image_load(png, &img, &e), 0);
    hl = snprintf(head, sizeof(head), "P5\n# a comment\n%d %d\n255\n", img.w, img.h);
    assert_int_equal(write(v->fifo, head, (size_t)hl), hl);
    assert_int_equal(write(v->fifo, img.data, (size_t)img.w * (size_t)img.h),
                     (ssize_t)img.w * img.h);
    scan_image_release(&img);
    wait_camera(&v->w, "CAM-STREAM", "read", 1);
    r = tplc_request(&v->p, v->link, "0000000005", "SCAN02", NULL, CONV_BARCODE_ABSENT);
    assert_int_equal(r.reason, CONV_REASON_OK);
    assert_string_equal(r.barcode, v->codes[4]);
    assert_int_equal(camera_count(&v->w, "CAM-STREAM", "bad"), 0);
}

/* A V4L2 camera that is not plugged in: absent, tried again, the line
 * unharmed (the stream camera beside it read above). */
static void absent_device(struct env *v)
{
    json_t *j = get(&v->w, "/v1/scanners"), *c;
    size_t i;
    bool seen = false;

    json_array_foreach(json_object_get(j, "cameras"), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "id")), "CAM-V4L2") == 0)
    {
        seen = true;
        assert_string_equal(json_string_value(json_object_get(c, "kind")), "v4l2");
        assert_false(json_is_true(json_object_get(c, "open")));
        assert_int_equal(json_integer_value(json_object_get(c, "frames")), 0);
    }
    json_decref(j);
    assert_true(seen);
    assert_non_null(strstr(v->w.p.log, "camera CAM-V4L2: "));
    /* The console says so: a scanner_unplugged alarm naming the camera. */
    for (i = 0, seen = false; i < 100 && !seen; i++) {
        json_t *a, *al = get(&v->w, "/v1/alarms");
        size_t k;

        json_array_foreach(json_object_get(al, "alarms"), k, a) seen |=
            strcmp(json_string_value(json_object_get(a, "kind")), "scanner_unplugged") == 0 &&
            strcmp(json_string_value(json_object_get(a, "subject")), "CAM-V4L2") == 0;
        json_decref(al);
        if (!seen)
            pause_ms(50);
    }
    assert_true(seen);
}

static struct env the_env;

static void test_tunnel(void **state)
{
    struct env *v = &the_env;

    (void)state;
    start(v);
    agree(v);
    disagree(v);
    noread_keyed(v);
    noread_wcsctl(v);
    noread_expired(v);
    stream(v);
    absent_device(v);
    stop(v);
}

/* After a failed assertion too: wcsd must not outlive the test (ctest
 * would wait for it, the holder of the test's output). */
static int teardown(void **state)
{
    (void)state;
    plc_loop = NULL;
    if (the_env.w.dir[0] != '\0')
        twcsd_teardown(&the_env.w);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tunnel, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
