/* test-config.c - the YAML config loader: defaults, every kind of mistake
 * reported as FILE:LINE: key: reason, all of them in one pass, secrets. */
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

#include "common/cpu.h"
#include "wcs/config/config.h"

static char path[64];

static void write_file(const char *text)
{
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/wcs-test-config-%d.yaml", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads text; returns rc and leaves the diagnostics in *d. */
static int load(const char *text, struct wcs_config *c, struct diag *d)
{
    struct err e;

    write_file(text);
    return wcs_config_load(path, c, d, &e);
}

static int has_msg(const struct diag *d, const char *needle)
{
    size_t i;
    char full[256];

    snprintf(full, sizeof(full), "%s:%s", path, needle);
    for (i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], full) != NULL)
            return 1;
    return 0;
}

static void test_minimal_file_gets_defaults(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: \"dbname=wcs\"\n", &c, &d), 0);
    assert_int_equal(diag_count(&d), 0);
    assert_string_equal(c.db_conninfo, "dbname=wcs");
    assert_string_equal(c.node, "WCS01");
    assert_int_equal(c.http_port, 8080);
    assert_int_equal(c.events.batch_max, 2000);
    assert_int_equal(c.events.node_id, 0);
    assert_int_equal(c.events.statement_timeout_ms, 5000);
    assert_int_equal(c.events.lock_timeout_ms, 1000);
    assert_int_equal(c.log_level, LOG_LEVEL_INFO);
}

static void test_full_file(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("node: WCS02\n"
                          "log_level: debug\n"
                          "database:\n"
                          "  conninfo: host=/tmp dbname=x\n"
                          "  connect_wait_s: 30\n"
                          "http:\n"
                          "  listen: 127.0.0.1\n"
                          "  port: 0\n"
                          "registry:\n"
                          "  expected_parcels: 2000000\n"
                          "  resync_s: 10\n"
                          "events:\n"
                          "  queue_capacity: 4096\n"
                          "  batch_max: 500\n"
                          "  flush_interval_ms: 5\n"
                          "  node_id: 12\n"
                          "  statement_timeout_ms: 8000\n"
                          "  lock_timeout_ms: 250\n",
                          &c, &d),
                     0);
    assert_string_equal(c.node, "WCS02");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(c.db_connect_wait_s, 30);
    assert_int_equal(c.http_port, 0);
    assert_int_equal(c.registry_expected, 2000000);
    assert_int_equal(c.registry_resync_s, 10);
    assert_int_equal(c.events.queue_capacity, 4096);
    assert_int_equal(c.events.batch_max, 500);
    assert_int_equal(c.events_flush_interval_ms, 5); /* obsolete: read, ignored, warned */
    assert_int_equal(c.events.node_id, 12);
    assert_int_equal(c.events.statement_timeout_ms, 8000);
    assert_int_equal(c.events.lock_timeout_ms, 250);
}

static void test_customs_section(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "customs:\n"
                          "  duty_rules: /usr/share/wcs/duty-rules.csv\n"
                          "  exchange_rates: /var/lib/wcs/rates.csv\n"
                          "  broker_url: https://broker.example.ru\n"
                          "  token_file: /etc/wcs/broker.token\n"
                          "  insecure_http: false\n"
                          "  broker_name: reference\n"
                          "  events_ms: 1000\n"
                          "  batch: 250\n"
                          "  parallel: 6\n",
                          &c, &d),
                     0);
    assert_string_equal(c.customs_duty_rules, "/usr/share/wcs/duty-rules.csv");
    assert_string_equal(c.customs.broker_url, "https://broker.example.ru");
    assert_string_equal(c.customs.token_file, "/etc/wcs/broker.token");
    assert_false(c.customs.insecure_http);
    assert_string_equal(c.customs.broker_name, "reference");
    assert_int_equal(c.customs.events_ms, 1000);
    assert_int_equal(c.customs.batch, 250);
    assert_int_equal(c.customs.parallel, 6);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "customs:\n"
                          "  batch: 501\n"
                          "  insecure_http: maybe\n"
                          "  token: secret\n",
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: customs.batch: 501 is out of range 1..500"));
    assert_true(has_msg(&d, "5: customs.insecure_http: \"maybe\" is not true or false"));
    assert_true(has_msg(&d, "6: customs.token: unknown key"));
    diag_free(&d);
}

static void test_loop_cpu(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n", &c, &d), 0);
    assert_int_equal(c.loop_cpu, CPU_NONE); /* the kernel places it unless told */
    assert_int_equal(load("database:\n  conninfo: dbname=x\nloop:\n  cpu: auto\n", &c, &d), 0);
    assert_int_equal(c.loop_cpu, CPU_AUTO);
    assert_int_equal(load("database:\n  conninfo: dbname=x\nloop:\n  cpu: 3\n", &c, &d), 0);
    assert_int_equal(c.loop_cpu, 3);
    assert_int_equal(load("database:\n  conninfo: dbname=x\nloop:\n  cpu: fast\n", &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: loop.cpu: \"fast\" is not auto, none or a CPU number below 1024"));
    diag_free(&d);
}

static void test_every_problem_reported_with_line(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("node: TOOLONG\n"            /* 1 */
                          "log_level: loud\n"          /* 2 */
                          "database:\n"                /* 3 */
                          "  conninfo: dbname=x\n"     /* 4 */
                          "  connect_wait_s: soon\n"   /* 5 */
                          "  colour: blue\n"           /* 6 */
                          "http:\n"                    /* 7 */
                          "  port: 70000\n"            /* 8 */
                          "bogus: 1\n"                 /* 9 */
                          "events:\n"                  /* 10 */
                          "  batch_max: [1, 2]\n"      /* 11 */
                          "node: WCS03\n",             /* 12 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "1: node: must be exactly 5 characters"));
    assert_true(has_msg(&d, "2: log_level: \"loud\" is not one of"));
    assert_true(has_msg(&d, "5: database.connect_wait_s: \"soon\" is not a whole number"));
    assert_true(has_msg(&d, "6: database.colour: unknown key"));
    assert_true(has_msg(&d, "8: http.port: 70000 is out of range 0..65535"));
    assert_true(has_msg(&d, "9: bogus: unknown key"));
    assert_true(has_msg(&d, "11: events.batch_max: expected a single value, found a list"));
    assert_true(has_msg(&d, "12: node: given twice (first at line 1)"));
    assert_int_equal(d.n, 8);
    diag_free(&d);
}

static void test_missing_required_and_syntax(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("node: WCS01\n", &c, &d), ERR_CONFIG);
    assert_true(has_msg(&d, "1: database.conninfo: required key missing"));
    diag_free(&d);
    assert_int_equal(load("database:\n  conninfo: [unclosed\n", &c, &d), ERR_CONFIG);
    assert_true(d.n >= 1);
    diag_free(&d);
    assert_int_equal(load("database: plain\n", &c, &d), ERR_CONFIG);
    assert_true(has_msg(&d, "1: database: is a section"));
    diag_free(&d);
}

static void test_plcs(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "events:\n  spool_path: /var/lib/wcs/spool\n"
                          "plcs:\n"
                          "  - id: PLC01\n"
                          "    port: 2001\n"
                          "    locations: [SCAN01, SCAN02]\n"
                          "    allow: [192.168.10.21, \"fd00::/64\"]\n"
                          "  - id: PLC02\n"
                          "    mode: client\n"
                          "    host: 10.1.2.3\n"
                          "    port: 2002\n"
                          "    decision_deadline_ms: 200\n",
                          &c, &d),
                     0);
    assert_string_equal(c.spool_path, "/var/lib/wcs/spool");
    assert_int_equal(c.nplcs, 2);
    assert_string_equal(c.plcs[0].id, "PLC01");
    assert_int_equal(c.plcs[0].mode, WCS_PLC_SERVER);
    assert_string_equal(c.plcs[0].host, "0.0.0.0");
    assert_int_equal(c.plcs[0].telegram_len, 160);
    assert_int_equal(c.plcs[0].decision_deadline_ms, 150);
    assert_int_equal(c.plcs[0].nlocations, 2);
    assert_string_equal(c.plcs[0].locations[1], "SCAN02");
    assert_int_equal(c.plcs[0].nallow, 2);
    assert_int_equal(c.plcs[0].allow[0].prefix, 32);
    assert_int_equal(c.plcs[0].allow[1].prefix, 64);
    assert_int_equal(c.plcs[1].nallow, 0); /* absent: any host (wcsd warns) */
    assert_int_equal(c.plcs[1].mode, WCS_PLC_CLIENT);
    assert_string_equal(c.plcs[1].host, "10.1.2.3");
    assert_int_equal(c.plcs[1].decision_deadline_ms, 200);

    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "plcs:\n"                    /* 3 */
                          "  - id: PLC01\n"            /* 4 */
                          "    port: 2001\n"
                          "    mode: master\n"         /* 6 */
                          "  - id: PLC01\n"            /* 7 */
                          "    port: 2001\n"
                          "    read_window_after_ms: 300\n"
                          "    locations: SCAN01\n"    /* 10 */
                          "  - port: 2003\n"           /* 11 */
                          "    speed: 3\n"             /* 12 */
                          "  - just-a-word\n",         /* 13 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "6: plcs[0].mode: \"master\" is not server or client"));
    assert_true(has_msg(&d, "7: plcs[1]: read_window_after_ms (300) must be below"));
    assert_true(has_msg(&d, "7: plcs[1]: id PLC01 already used at line 4"));
    assert_true(has_msg(&d, "10: plcs[1].locations: expected a list of location ids"));
    assert_true(has_msg(&d, "11: plcs[2]: id: required key missing"));
    assert_true(has_msg(&d, "12: plcs[2].speed: unknown key"));
    assert_true(has_msg(&d, "13: plcs[3]: expected a mapping"));
    diag_free(&d);
}

static void test_plc_allow_errors(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "plcs:\n"
                          "  - id: PLC01\n"
                          "    port: 2001\n"
                          "    allow:\n"                    /* 6 */
                          "      - 192.168.10.21\n"
                          "      - plc01.local\n"            /* 8 */
                          "      - 10.0.0.1/8\n"             /* 9 */
                          "  - id: PLC02\n"
                          "    port: 2002\n"
                          "    allow: 192.168.10.22\n"        /* 12 */
                          "  - id: PLC03\n"
                          "    port: 2003\n"
                          "    allow: []\n",                  /* 15 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "8: plcs[0].allow: \"plc01.local\" is not an IPv4 or IPv6 address"));
    assert_true(has_msg(&d, "9: plcs[0].allow: \"10.0.0.1/8\" has host bits set under /8"));
    assert_true(has_msg(&d, "12: plcs[1].allow: expected a list of 1 to 16 addresses"));
    assert_true(has_msg(&d, "15: plcs[2].allow: expected a list of 1 to 16 addresses"));
    diag_free(&d);
}

static void test_http_section(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    /* Defaults: no tokens (no machine token is valid), plain HTTP, limits. */
    assert_int_equal(load("database:\n  conninfo: dbname=x\n", &c, &d), 0);
    assert_string_equal(c.http_tokens_file, "");
    assert_string_equal(c.http_tls_cert, "");
    assert_int_equal(c.http_scan_rate, 50);
    assert_int_equal(c.http_scan_burst, 100);
    assert_int_equal(c.http_conns_per_client, 16);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "http:\n"
                          "  tokens_file: /etc/wcs/tokens\n"
                          "  tls_cert: /etc/wcs/wcsd.crt\n"
                          "  tls_key: /etc/wcs/wcsd.key\n"
                          "  scan_rate: 5\n"
                          "  scan_burst: 7\n"
                          "  connections_per_client: 2\n",
                          &c, &d),
                     0);
    assert_string_equal(c.http_tokens_file, "/etc/wcs/tokens");
    assert_string_equal(c.http_tls_cert, "/etc/wcs/wcsd.crt");
    assert_string_equal(c.http_tls_key, "/etc/wcs/wcsd.key");
    assert_int_equal(c.http_scan_rate, 5);
    assert_int_equal(c.http_scan_burst, 7);
    assert_int_equal(c.http_conns_per_client, 2);
    /* A certificate without its key, and limits out of range. */
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "http:\n"
                          "  tls_cert: /etc/wcs/wcsd.crt\n" /* 4 */
                          "  scan_rate: 0\n"                /* 5 */
                          "  connections_per_client: 65\n", /* 6 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "5: http.scan_rate: 0 is out of range 1..100000"));
    assert_true(has_msg(&d, "6: http.connections_per_client: 65 is out of range 1..64"));
    diag_free(&d);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "http:\n"
                          "  tls_cert: /etc/wcs/wcsd.crt\n", /* 4 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: http.tls_cert: needs http.tls_key"));
    diag_free(&d);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "http:\n"
                          "  tls_key: /etc/wcs/wcsd.key\n", /* 4 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: http.tls_key: needs http.tls_cert"));
    diag_free(&d);
}

/* Scans are kept per configured scan location, so their number is bounded:
 * WCS_SCAN_LOCATIONS_MAX distinct ones in plcs[].locations and
 * scanners[].location together (the same one twice counts once). */
static void test_scan_locations_bounded(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    char yaml[8192];
    size_t off;
    int i, k;
    (void)state;
    /* 8 PLCs of 8 locations (SCAN000..SCAN063) and a scanner at SCAN000 again. */
    off = (size_t)snprintf(yaml, sizeof(yaml), "database:\n  conninfo: dbname=x\nplcs:\n");
    for (i = 0; i < 8; i++) {
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
                                "  - id: PLC%02d\n    port: %d\n    locations: [", i, 2001 + i);
        for (k = 0; k < 8; k++)
            off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "%sSCAN%03d", k ? ", " : "",
                                    i * 8 + k);
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "]\n");
    }
    off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
                            "scanners:\n  - id: SC1\n    location: SCAN000\n    kind: tty\n"
                            "    tty: /dev/ttyACM0\n");
    assert_true(off < sizeof(yaml));
    assert_int_equal(load(yaml, &c, &d), 0);
    /* One location more, at a scanner: refused, naming the limit. */
    snprintf(yaml + off, sizeof(yaml) - off,
             "  - id: SC2\n    location: SCAN064\n    kind: tty\n    tty: /dev/ttyACM1\n");
    assert_int_equal(load(yaml, &c, &d), ERR_CONFIG);
    assert_true(has_msg(&d, "3: plcs: 65 distinct scan locations (plcs[].locations, "
                            "scanners[].location and cameras.sources[].location), at most 64"));
    diag_free(&d);
}

static void test_scanners(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "scanners:\n"
                          "  - id: SC-IN-01\n"
                          "    location: SCAN01\n"
                          "    kind: keyboard\n"
                          "    vid: 0C2E\n"
                          "    pid: 0B61\n"
                          "    layout: de\n"
                          "    tab_terminates: true\n"
                          "    char_timeout_ms: 80\n"
                          "  - id: SC-POS\n"
                          "    location: SCAN01\n"
                          "    kind: pos\n"
                          "    serial: POS0042\n"
                          "  - id: SC-ACM\n"
                          "    location: SCAN02\n"
                          "    kind: tty\n"
                          "    tty: /dev/ttyACM0\n",
                          &c, &d),
                     0);
    assert_int_equal(c.nscanners, 3);
    assert_int_equal(c.scanners[0].kind, SCAN_SRC_KBD);
    assert_int_equal(c.scanners[0].vid, 0x0C2E);
    assert_int_equal(c.scanners[0].pid, 0x0B61);
    assert_int_equal(c.scanners[0].layout, SCAN_LAYOUT_DE);
    assert_true(c.scanners[0].tab_terminates);
    assert_int_equal(c.scanners[0].char_timeout_ms, 80);
    assert_string_equal(c.scanners[1].serial, "POS0042");
    assert_string_equal(c.scanners[2].tty_path, "/dev/ttyACM0");

    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "scanners:\n"                 /* 3 */
                          "  - id: A\n"                 /* 4 */
                          "    location: S\n"
                          "    kind: laser\n"           /* 6 */
                          "    vid: 12345\n"            /* 7 */
                          "    tab_terminates: maybe\n" /* 8 */
                          "  - id: B\n"                 /* 9 */
                          "    location: S\n"
                          "    kind: tty\n",
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "6: scanners[0].kind: \"laser\" is not keyboard, pos or tty"));
    assert_true(has_msg(&d, "7: scanners[0].vid: \"12345\" is not 4 hex digits"));
    assert_true(has_msg(&d, "8: scanners[0].tab_terminates: \"maybe\" is not true or false"));
    assert_true(has_msg(&d, "9: scanners[1]: a tty scanner needs `tty`"));
    diag_free(&d);
}

/* The scan tunnel's cameras: one source kind each, ids unique, sizes for
 * V4L2 only; their locations are scan locations. */
static void test_cameras(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "cameras:\n"
                          "  workers: 3\n"
                          "  noread_dir: /var/lib/wcs/noreads\n"
                          "  noread_max_mb: 64\n"
                          "  sources:\n"
                          "    - id: CAM-TOP\n"
                          "      location: SCAN01\n"
                          "      device: /dev/video0\n"
                          "      width: 1280\n"
                          "      height: 1024\n"
                          "    - id: CAM-SIDE\n"
                          "      location: SCAN01\n"
                          "      dir: /var/lib/wcs/side\n"
                          "    - id: CAM-S\n"
                          "      location: SCAN02\n"
                          "      stream: /run/wcs/cam.fifo\n",
                          &c, &d),
                     0);
    assert_int_equal(c.cameras.nsources, 3);
    assert_int_equal(c.cameras.workers, 3);
    assert_int_equal(c.cameras.queue, 8);
    assert_int_equal(c.cameras.keep_frames, 8);
    assert_int_equal(c.cameras.noread_max_mb, 64);
    assert_string_equal(c.cameras.noread_dir, "/var/lib/wcs/noreads");
    assert_int_equal(c.cameras.sources[0].kind, SCAN_CAM_V4L2);
    assert_string_equal(c.cameras.sources[0].path, "/dev/video0");
    assert_int_equal(c.cameras.sources[0].width, 1280);
    assert_int_equal(c.cameras.sources[1].kind, SCAN_CAM_DIR);
    assert_int_equal(c.cameras.sources[2].kind, SCAN_CAM_STREAM);
    assert_string_equal(c.cameras.sources[2].path, "/run/wcs/cam.fifo");

    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "cameras:\n"                        /* 3 */
                          "  workers: 0\n"                    /* 4 */
                          "  sources:\n"                      /* 5 */
                          "    - id: A\n"                     /* 6 */
                          "      location: S\n"
                          "      device: /dev/video0\n"
                          "      dir: /tmp/a\n"
                          "    - id: B\n"                     /* 10 */
                          "      location: S\n"
                          "      dir: /tmp/b\n"
                          "      width: 640\n"
                          "    - id: B\n"                     /* 14 */
                          "      location: S\n"
                          "      stream: /tmp/f\n"
                          "    - location: S\n"               /* 17 */
                          "      lens: wide\n",               /* 18 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: cameras.workers: 0 is out of range 1..64"));
    assert_true(has_msg(&d, "6: cameras.sources[0]: exactly one of device (V4L2), dir or stream"));
    assert_true(has_msg(&d, "10: cameras.sources[1]: width and height are for a V4L2 device"));
    assert_true(has_msg(&d, "14: cameras.sources[2]: id B already used"));
    assert_true(has_msg(&d, "18: cameras.sources[3].lens: unknown key"));
    assert_true(has_msg(&d, "17: cameras.sources[3]: id: required key missing"));
    diag_free(&d);

    /* The words are checked by the loader (`wcsd -n`), not at start. */
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "cameras:\n"
                          "  kinds: s10,dhl\n"                /* 4 */
                          "  symbologies: code128,pdf417\n",  /* 5 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: cameras.kinds: unknown code kind \"dhl\""));
    assert_true(has_msg(&d, "5: cameras.symbologies: unknown symbology \"pdf417\""));
    diag_free(&d);
}

static void test_missing_file(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    struct err e;
    (void)state;
    assert_true(wcs_config_load("/nonexistent/wcsd.yaml", &c, &d, &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/wcsd.yaml: cannot open"));
}

static void test_password_file(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;
    struct err e;
    char buf[1024], pw[64], yaml[256];
    FILE *f;
    (void)state;
    snprintf(pw, sizeof(pw), "/tmp/wcs-test-pw-%d", (int)getpid());
    f = fopen(pw, "w");
    assert_non_null(f);
    fputs("s3cr'et\\x\n", f);
    fclose(f);
    assert_int_equal(chmod(pw, 0640), 0); /* wcsd's group may read it */
    snprintf(yaml, sizeof(yaml), "database:\n  conninfo: dbname=wcs\n  password_file: %s\n", pw);
    assert_int_equal(load(yaml, &c, &d), 0);
    assert_int_equal(wcs_config_db_conninfo(&c, buf, sizeof(buf), &e), 0);
    assert_string_equal(buf, "dbname=wcs password='s3cr\\'et\\\\x'");
    /* The config itself never holds the secret, only the file name. */
    assert_null(strstr(c.db_conninfo, "s3cr"));
    /* A password file others may read is refused, the password unread. */
    assert_int_equal(chmod(pw, 0644), 0);
    assert_int_equal(wcs_config_db_conninfo(&c, buf, sizeof(buf), &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "database.password_file: "));
    assert_non_null(strstr(e.msg, "is open to other users (mode 0644)"));
    assert_null(strstr(e.msg, "s3cr"));
    unlink(pw);
    assert_true(wcs_config_db_conninfo(&c, buf, sizeof(buf), &e) < 0);
    assert_non_null(strstr(e.msg, "database.password_file: "));
    assert_non_null(strstr(e.msg, "No such file"));
}

/* Loads text through the stream entry point (fmemopen), named "mem.yaml". */
static int load_mem(const char *text, size_t len, struct wcs_config *c, struct diag *d)
{
    FILE *fp = fmemopen((void *)(uintptr_t)text, len, "r");
    struct err e;
    int rc;

    assert_non_null(fp);
    rc = wcs_config_load_stream(fp, "mem.yaml", c, d, &e);
    fclose(fp);
    return rc;
}

/* The loader's bounds: a file over 1 MiB, nesting deeper than 8 levels, a
 * value holding a NUL byte; each refused with a message, nothing read past. */
static void test_limits(void **state)
{
    static struct wcs_config c;
    struct diag d = DIAG_INIT;
    size_t n = 1024 * 1024 + 100, len;
    char *text = malloc(n + 64);

    (void)state;
    assert_non_null(text);
    /* Valid YAML all the way: a comment that does not end. */
    strcpy(text, "database:\n  conninfo: dbname=wcs\n#");
    len = strlen(text);
    memset(text + len, 'x', n - len);
    assert_int_equal(load_mem(text, n, &c, &d), ERR_CONFIG);
    assert_int_equal(diag_count(&d), 1);
    assert_string_equal(d.msgs[0], "mem.yaml: (document): larger than 1048576 bytes");
    diag_free(&d);
    /* Just under the limit loads. */
    assert_int_equal(load_mem(text, 1024 * 1024, &c, &d), 0);
    free(text);

    /* 8 levels load (and are refused as keys), 9 are not built at all. */
    assert_int_equal(load_mem("a: [[[[[[[x]]]]]]]\n", 19, &c, &d), ERR_CONFIG);
    assert_true(diag_count(&d) >= 1);
    assert_null(strstr(d.msgs[0], "nested"));
    diag_free(&d);
    assert_int_equal(load_mem("a: [[[[[[[[x]]]]]]]]\n", 21, &c, &d), ERR_CONFIG);
    assert_int_equal(diag_count(&d), 1);
    assert_string_equal(d.msgs[0], "mem.yaml:1: (document): nested deeper than 8 levels");
    diag_free(&d);
    {
        /* Deep enough to overflow the stack of a recursive builder. */
        size_t depth = 200000, i;
        char *deep = malloc(2 * depth + 1);

        assert_non_null(deep);
        for (i = 0; i < depth; i++) {
            deep[i] = '[';
            deep[depth + i] = ']';
        }
        assert_int_equal(load_mem(deep, 2 * depth, &c, &d), ERR_CONFIG);
        assert_non_null(strstr(d.msgs[0], "nested deeper than 8 levels"));
        diag_free(&d);
        free(deep);
    }

    assert_int_equal(load_mem("database:\n  conninfo: \"dbname=wcs\\0x\"\n", 38, &c, &d),
                     ERR_CONFIG);
    assert_string_equal(d.msgs[0], "mem.yaml:2: (value): holds a NUL byte");
    diag_free(&d);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* label_printers: defaults, and each route on one printer only. */
static void test_label_printers(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;

    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "label_printers:\n"
                          "  - id: LP1\n    host: 10.20.1.31\n    routes: [RU-MOW-AIR, RU-OVB-AIR]\n"
                          "  - id: LP2\n    host: lp2.line\n    port: 6101\n"
                          "    routes: [RU-ZAB-RAIL]\n",
                          &c, &d),
                     0);
    assert_int_equal(c.nprinters, 2);
    assert_int_equal(c.printers[0].port, 9100);
    assert_int_equal(c.printers[0].routes.n, 2);
    assert_string_equal(c.printers[0].routes.v[1], "RU-OVB-AIR");
    assert_int_equal(c.printers[1].port, 6101);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "label_printers:\n"
                          "  - id: LP1\n    host: a\n    routes: [RU-MOW-AIR]\n" /* 4-6 */
                          "  - id: LP2\n    host: b\n    routes: [RU-MOW-AIR]\n" /* 7-9 */
                          "  - id: LP3\n    routes: []\n",                        /* 10-11 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "7: label_printers[1]: route RU-MOW-AIR already printed by LP1"));
    assert_true(has_msg(&d, "11: label_printers[2].routes: expected a list of 1 to 32 route ids"));
    assert_true(has_msg(&d, "10: label_printers[2]: host: required key missing"));
    diag_free(&d);
}

/* customs.brokers: a second broker with its profile and the parcels it
 * takes; what an operator gets wrong. */
static void test_customs_brokers(void **state)
{
    struct wcs_config c;
    struct diag d = DIAG_INIT;

    (void)state;
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "customs:\n  broker_url: https://b.example/\n  profile: reference\n"
                          "  brokers:\n"
                          "    - name: rupost\n      profile: rupost\n"
                          "      broker_url: https://rp.example/\n      token_file: /etc/rp\n"
                          "      services: [EMS]\n      routes: [RU-ZAB-RAIL, RU-MOW-AIR]\n",
                          &c, &d),
                     0);
    assert_string_equal(c.customs.profile, "reference");
    assert_int_equal(c.customs.nbrokers, 1);
    assert_string_equal(c.customs.brokers[0].profile, "rupost");
    assert_string_equal(c.customs.brokers[0].services.v[0], "EMS");
    assert_int_equal(c.customs.brokers[0].routes.n, 2);
    assert_false(c.customs.brokers[0].insecure_http);
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "customs:\n  profile: cdek\n"                           /* 3-4 */
                          "  brokers:\n"                                            /* 5 */
                          "    - name: default\n      profile: rupost\n"          /* 6-7 */
                          "      broker_url: https://rp.example/\n      token_file: t\n"
                          "    - name: x\n      profile: rupost\n      services: [EMS]\n", /* 10 */
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "4: customs.profile: \"cdek\" is not a broker profile (reference,"
                            " rupost)"));
    assert_true(has_msg(&d, "6: customs.brokers[0]: a broker takes the parcels of some services"
                            " or routes: list them"));
    assert_true(has_msg(&d, "6: customs.brokers[0]: \"default\" is the broker of the customs:"
                            " keys"));
    assert_true(has_msg(&d, "10: customs.brokers[1]: broker_url: required key missing"));
    diag_free(&d);
    /* two brokers under one name would share a feed cursor */
    assert_int_equal(load("database:\n  conninfo: dbname=x\n"
                          "customs:\n  broker_name: rupost\n  brokers:\n"           /* 3-5 */
                          "    - name: rupost\n      profile: rupost\n"
                          "      broker_url: https://rp.example/\n      token_file: t\n"
                          "      routes: [RU-ZAB-RAIL]\n",
                          &c, &d),
                     ERR_CONFIG);
    assert_true(has_msg(&d, "5: customs.brokers: rupost is also customs.broker_name"));
    diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_customs_brokers, teardown),
        cmocka_unit_test_teardown(test_minimal_file_gets_defaults, teardown),
        cmocka_unit_test_teardown(test_full_file, teardown),
        cmocka_unit_test_teardown(test_customs_section, teardown),
        cmocka_unit_test_teardown(test_loop_cpu, teardown),
        cmocka_unit_test_teardown(test_every_problem_reported_with_line, teardown),
        cmocka_unit_test_teardown(test_missing_required_and_syntax, teardown),
        cmocka_unit_test_teardown(test_plcs, teardown),
        cmocka_unit_test_teardown(test_plc_allow_errors, teardown),
        cmocka_unit_test_teardown(test_scanners, teardown),
        cmocka_unit_test_teardown(test_cameras, teardown),
        cmocka_unit_test_teardown(test_http_section, teardown),
        cmocka_unit_test_teardown(test_scan_locations_bounded, teardown),
        cmocka_unit_test_teardown(test_missing_file, teardown),
        cmocka_unit_test_teardown(test_password_file, teardown),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_label_printers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
