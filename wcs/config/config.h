/*
 * config.h - wcsd's configuration: one YAML file, validated whole before
 * anything starts. Every problem is reported as "FILE:LINE: key: reason"
 * (all of them, not just the first). Keys are documented in docs/config.md
 * and in deploy/wcsd.yaml.
 */
#ifndef WCS_CONFIG_H
#define WCS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/log.h"
#include "conveyor/peer.h"
#include "scanners/source.h"
#include "wcs/store/events.h"

#define WCS_PLC_MAX 16
#define WCS_SCANNER_MAX 32
#define WCS_PLC_LOCATIONS_MAX 8
/* Distinct scan locations (plcs[].locations, scanners[].location and
 * cameras.sources[].location) at
 * most: the correlator keeps a bounded ring for each of them, and accepts
 * scans for these only (conveyor/correlate.h CONV_CORR_LOCATIONS_MAX). */
#define WCS_SCAN_LOCATIONS_MAX 64

enum wcs_plc_mode { WCS_PLC_SERVER = 0, WCS_PLC_CLIENT };

#define WCS_PRINTER_MAX 16
#define WCS_ID_LIST_MAX 32        /* ids in one list of the config */
#define WCS_BROKER_MAX 8          /* customs.brokers entries */

/* A label printer at the line (the `label_printers:` list): raw TCP (9100,
 * as Zebra printers take ZPL); it prints the labels of bags closed on the
 * chutes of its routes. */
/* A list of ids in the config: route ids, service codes. */
struct wcs_id_list {
    char v[WCS_ID_LIST_MAX][32];
    int n;
};

struct wcs_printer_config {
    char id[16];
    char host[64];
    int port;
    struct wcs_id_list routes;
};

/* One sorter PLC link (the `plcs:` list). */
struct wcs_plc_config {
    int line;                        /* config line of the entry, for messages */
    char id[6];                      /* the PLC's 5-char id, e.g. "PLC01" */
    int mode;                        /* enum wcs_plc_mode: wcsd listens or connects */
    char host[64];                   /* server: bind address; client: PLC address */
    int port;                        /* TCP port (server: 0 = any free port) */
    int telegram_len;                /* L, characters */
    int life_interval_ms;            /* LIFE when idle this long; dead after 3x */
    int decision_deadline_ms;        /* RES_ within this after REQ_ */
    int read_window_before_ms;       /* WCS scans this long before a REQ_ count */
    int read_window_after_ms;        /* ... and this long after it */
    char locations[WCS_PLC_LOCATIONS_MAX][21]; /* decision points on this line: scans are
                                                * accepted at these (and the scanners') */
    int nlocations;
    struct conv_cidr allow[CONV_PEER_ALLOW_MAX]; /* hosts that may connect (server mode) */
    size_t nallow;                   /* 0: the key is absent, any host may (wcsd warns) */
};

/* A broker beside the default one (the `customs.brokers:` list): the
 * parcels it takes (by pre-advice service or planned route, the first
 * broker that names either) and how to reach it. */
struct wcs_broker_config {
    char name[64];          /* its outbox rows and feed cursor; not "default" */
    char profile[16];       /* customs/profile.h: reference, rupost */
    char broker_url[256];
    char token_file[256];
    char ca_file[256];
    bool insecure_http;
    struct wcs_id_list services; /* pre-advice service codes */
    struct wcs_id_list routes;   /* sort plan route ids */
};

/* The `cameras:` section: the scan tunnel's decoders, the no-read images
 * (docs/camera.md "Cameras in wcsd"). */
struct wcs_cameras_config {
    int workers;              /* decoding threads */
    int queue;                /* frames waiting for a decoder, then the oldest is dropped */
    int keep_frames;          /* unread frames kept per camera for a no-read's images */
    int budget_ms;            /* the pipeline's work budget per frame */
    char kinds[64];           /* code kinds accepted ("s10,cainiao,rupost"), "" = parcel kinds */
    char symbologies[64];     /* "" = code128 */
    char noread_dir[256];     /* the no-read images, "" = not kept */
    int noread_max_mb;        /* ... at most this much disk */
    int noread_max;           /* ... and this many images */
    struct scan_camera_cfg sources[SCAN_CAMERA_MAX]; /* the `cameras.sources:` list */
    int nsources;
};

/* The `customs:` keys wcs-customs-worker reads (docs/config.md); 0 / "" =
 * not set, the worker's own default applies. */
struct wcs_customs_config {
    char broker_url[256];   /* https://... (http:// only with insecure_http) */
    char profile[16];       /* the default broker's profile; "" = reference */
    char token_file[256];   /* bearer token: first line of this file; never logged */
    char ca_file[256];      /* CA bundle for TLS verification; "" = system store */
    bool insecure_http;     /* allow http:// (a local emulator) */
    char broker_name[64];   /* key of the decision feed's stored cursor */
    int events_ms;          /* > 0: read the decision feed, polling this often */
    int batch;              /* declarations per request */
    int parallel;           /* requests in flight */
    struct wcs_broker_config brokers[WCS_BROKER_MAX]; /* the `customs.brokers:` list */
    int nbrokers;
};

struct wcs_config {
    char path[256];                 /* file it was read from */
    char node[6];                   /* this WCS's id in telegrams, 5 chars, e.g. "WCS01" */
    enum log_level log_level;
    char db_conninfo[512];          /* libpq conninfo without the password */
    char db_password_file[256];     /* "" = none; read at connect time, never logged */
    int db_connect_wait_s;          /* keep retrying at start this long, 0 = fail at once */
    char http_listen[64];           /* operator HTTP API address, "" = disabled */
    int http_port;                  /* 0 = any free port (reported in the ready line) */
    char http_tokens_file[256];     /* bearer tokens of the API, "" = none (no machine
                                     * token valid); read at start (wcs/config/secrets.h) */
    char http_tls_cert[256];        /* PEM certificate (chain), "" = plain HTTP */
    char http_tls_key[256];         /* its PEM private key; never logged */
    int http_scan_rate;             /* POST /v1/scans per second per client address */
    int http_scan_burst;            /* ... and at most this many at once */
    int http_conns_per_client;      /* open connections per client address */
    int chute_capacity;             /* console.chute_capacity: parcels a chute's bag takes */
    int read_rate_min_pct;          /* alarms.read_rate_min_pct: read rate alarm below this */
    int alarm_delay_s[6];           /* alarms.*_s: how long a condition holds before its
                                     * alarm: link down, chute full, line stopped, read
                                     * rate low, scanner unplugged, database down */
    int loop_cpu;                   /* CPU of the event loop (the hot path): a number,
                                     * CPU_AUTO (the quietest) or CPU_NONE (common/cpu.h) */
    size_t registry_expected;       /* parcels to size the index for */
    unsigned registry_resync_s;     /* full catch-up interval even without NOTIFY */
    struct wcs_event_writer_opts events;
    int events_flush_interval_ms;   /* obsolete key (the writer commits at once), read so
                                     * older configs stay valid; wcsd warns when set */
    char spool_path[256];            /* durable local spool for outages, "" = none */
    int ha_lease_ms;                 /* ha.lease_ms: the line's lease (active/standby) */
    int events_retention_days;       /* events.retention_days: days of the event and telegram
                                      * logs kept (whole days' partitions dropped), 0 = all */
    char customs_duty_rules[256];    /* duty rules CSV for the import's estimate, "" = none */
    char customs_rates[256];         /* exchange rates CSV, "" = none */
    struct wcs_customs_config customs; /* wcs-customs-worker's settings */
    struct wcs_cameras_config cameras;
    size_t spool_max_bytes;
    struct wcs_plc_config plcs[WCS_PLC_MAX];
    int nplcs;
    struct scan_usb_cfg scanners[WCS_SCANNER_MAX]; /* the `scanners:` list */
    struct wcs_printer_config printers[WCS_PRINTER_MAX]; /* the `label_printers:` list */
    int nprinters;
    int nscanners;
};

/* Fills the documented defaults of one PLC entry. */
void wcs_plc_config_defaults(struct wcs_plc_config *p);

/* Fills the documented defaults. */
void wcs_config_defaults(struct wcs_config *c);

/*
 * Reads and validates path into *c (defaults first). Unknown keys, wrong
 * types, out-of-range values and missing required keys each add one
 * "FILE:LINE: key: reason" to d. Returns 0, ERR_CONFIG (see d), or -errno
 * when the file cannot be read (e says why).
 */
int wcs_config_load(const char *path, struct wcs_config *c, struct diag *d, struct err *e);

/*
 * The same on an open stream (the caller's: not closed), read to its end;
 * path is the name messages show. For tests and the fuzzer (a buffer through
 * fmemopen). A file over 1 MiB or nested deeper than 8 levels is refused:
 * "FILE: (document): larger than 1048576 bytes", "FILE:LINE: (document):
 * nested deeper than 8 levels". Returns as wcs_config_load.
 */
int wcs_config_load_stream(FILE *f, const char *path, struct wcs_config *c, struct diag *d,
                           struct err *e);

/*
 * Builds the libpq conninfo to use, adding the password read from
 * db_password_file when set. The result holds a secret: never log it.
 * Returns 0, or -errno / ERR_CONFIG with e set.
 */
int wcs_config_db_conninfo(const struct wcs_config *c, char *buf, size_t len, struct err *e);

#endif
