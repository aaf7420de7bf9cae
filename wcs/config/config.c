/*
 * config.c - the one config loader: libyaml events -> a small node tree with
 * line numbers -> table-driven validation into struct wcs_config.
 *
 * DESIGN: the tree keeps every node's line so each message names the line
 * of the offending key; validation walks the tree against key tables (one
 * for the top level with dotted section keys, one for the items of the
 * `plcs:` list). Those tables are the single place a new setting is added.
 */
#include "wcs/config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/cpu.h"
#include "common/secret_file.h"
#include "customs/profile.h"
#include "scanners/camera.h"

/* --- YAML -> tree ------------------------------------------------------ */

/* Bounds on what the loader takes, so a hostile or broken file cannot make
 * it recurse or read without end (docs/config.md "Limits"). A real config is
 * a few KiB and four levels deep (top level, plcs, an entry, its allow
 * list). */
#define CONFIG_SIZE_MAX (1024 * 1024) /* bytes in the file */
#define CONFIG_DEPTH_MAX 8            /* nested mappings and lists */

enum node_type { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct node {
    enum node_type type;
    int line;
    char *value;            /* scalar text */
    struct node **kids;     /* map: key, value, key, value...; seq: items */
    size_t n, cap;
};

static void node_free(struct node *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->value);
    free(n);
}

static int node_add(struct node *parent, struct node *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct node **k = realloc(parent->kids, cap * sizeof(*k));
        if (k == NULL)
            return -ENOMEM;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* The parser's input: fp, at most CONFIG_SIZE_MAX bytes of it. */
struct input {
    FILE *fp;
    size_t total;   /* bytes handed to the parser */
    bool too_large; /* the file went past CONFIG_SIZE_MAX */
};

/* libyaml's read handler: 1 and *got (0 at the end), or 0 for an error. */
static int read_cb(void *arg, unsigned char *buf, size_t size, size_t *got)
{
    struct input *in = arg;

    *got = fread(buf, 1, size, in->fp);
    if (*got == 0 && ferror(in->fp))
        return 0;
    in->total += *got;
    if (in->total > CONFIG_SIZE_MAX) {
        in->too_large = true;
        return 0;
    }
    return 1;
}

/* Reports why p failed: the size limit, or libyaml's own words. */
static void yaml_problem(const yaml_parser_t *p, const char *path, struct diag *d)
{
    const struct input *in = p->read_handler_data;

    if (in->too_large)
        diag_add(d, "%s: (document): larger than %d bytes", path, CONFIG_SIZE_MAX);
    else
        diag_add(d, "%s:%zu: %s: %s", path, p->problem_mark.line + 1,
                 p->context ? p->context : "syntax", p->problem ? p->problem : "invalid YAML");
}

/* Builds the node that starts with event ev (already parsed) at nesting
 * depth (1 for the document's root); consumes the events up to its end.
 * Returns NULL on a YAML error or past a limit (reported in d). */
static struct node *build(yaml_parser_t *p, yaml_event_t *ev, int depth, const char *path,
                          struct diag *d)
{
    struct node *n = calloc(1, sizeof(*n));
    yaml_event_type_t end;

    if (n == NULL) {
        diag_add(d, "%s: out of memory", path);
        return NULL;
    }
    n->line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n->type = NODE_SCALAR;
        if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
            /* "\0" in a quoted scalar: the value would be cut silently. */
            diag_add(d, "%s:%d: (value): holds a NUL byte", path, n->line);
            free(n);
            return NULL;
        }
        n->value = strdup((const char *)ev->data.scalar.value);
        if (n->value == NULL) {
            diag_add(d, "%s: out of memory", path);
            free(n);
            return NULL;
        }
        return n;
    case YAML_MAPPING_START_EVENT:
        n->type = NODE_MAP;
        end = YAML_MAPPING_END_EVENT;
        break;
    case YAML_SEQUENCE_START_EVENT:
        n->type = NODE_SEQ;
        end = YAML_SEQUENCE_END_EVENT;
        break;
    case YAML_ALIAS_EVENT:
        diag_add(d, "%s:%d: (alias): aliases are not accepted", path, n->line);
        free(n);
        return NULL;
    default:
        diag_add(d, "%s:%d: (document): unexpected YAML event", path, n->line);
        free(n);
        return NULL;
    }
    if (depth > CONFIG_DEPTH_MAX) {
        diag_add(d, "%s:%d: (document): nested deeper than %d levels", path, n->line,
                 CONFIG_DEPTH_MAX);
        free(n);
        return NULL;
    }
    for (;;) {
        yaml_event_t kid_ev;
        struct node *kid;

        if (!yaml_parser_parse(p, &kid_ev)) {
            yaml_problem(p, path, d);
            node_free(n);
            return NULL;
        }
        if (kid_ev.type == end) {
            yaml_event_delete(&kid_ev);
            return n;
        }
        kid = build(p, &kid_ev, depth + 1, path, d);
        yaml_event_delete(&kid_ev);
        if (kid != NULL && node_add(n, kid) < 0) {
            diag_add(d, "%s: out of memory", path);
            node_free(kid);
            kid = NULL;
        }
        if (kid == NULL) {
            node_free(n);
            return NULL;
        }
    }
}

/* Parses the file into a tree; NULL root for an empty file. */
static int parse_file(FILE *f, const char *path, struct node **root, struct diag *d)
{
    struct input in = {f, 0, false};
    yaml_parser_t p;
    yaml_event_t ev;
    int rc = 0, done = 0;

    *root = NULL;
    if (!yaml_parser_initialize(&p))
        return -ENOMEM;
    yaml_parser_set_input(&p, read_cb, &in);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            yaml_problem(&p, path, d);
            rc = ERR_CONFIG;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_ALIAS_EVENT:
            if (*root != NULL) {
                diag_add(d, "%s:%zu: (document): only one document is accepted", path,
                         ev.start_mark.line + 1);
                rc = ERR_CONFIG;
                done = 1;
                break;
            }
            *root = build(&p, &ev, 1, path, d);
            if (*root == NULL) {
                rc = ERR_CONFIG;
                done = 1;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* --- schema ------------------------------------------------------------ */

enum key_type { KEY_STRING, KEY_INT, KEY_SIZE, KEY_LOGLEVEL, KEY_SECTION, KEY_PLCS, KEY_PLC_MODE,
                KEY_LOCATIONS, KEY_ALLOW, KEY_SCANNERS, KEY_SCAN_KIND, KEY_LAYOUT, KEY_HEX16, KEY_BOOL,
                KEY_U32, KEY_CPU, KEY_PRINTERS, KEY_IDS, KEY_BROKERS, KEY_PROFILE, KEY_CAMERAS };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;  /* into the struct being filled */
    size_t size;    /* string buffer size, or integer width */
    long long min, max;
    int required;
};

#define OFF(f) offsetof(struct wcs_config, f)
#define SZ(f) sizeof(((struct wcs_config *)0)->f)
#define POFF(f) offsetof(struct wcs_plc_config, f)
#define PSZ(f) sizeof(((struct wcs_plc_config *)0)->f)

static const struct key_def top_keys[] = {
    {"node", KEY_STRING, OFF(node), SZ(node), 5, 5, 0},
    {"log_level", KEY_LOGLEVEL, OFF(log_level), 0, 0, 0, 0},
    {"database", KEY_SECTION, 0, 0, 0, 0, 0},
    {"database.conninfo", KEY_STRING, OFF(db_conninfo), SZ(db_conninfo), 1, 511, 1},
    {"database.password_file", KEY_STRING, OFF(db_password_file), SZ(db_password_file), 1, 255, 0},
    {"database.connect_wait_s", KEY_INT, OFF(db_connect_wait_s), SZ(db_connect_wait_s), 0, 86400, 0},
    {"http", KEY_SECTION, 0, 0, 0, 0, 0},
    {"http.listen", KEY_STRING, OFF(http_listen), SZ(http_listen), 0, 63, 0},
    {"http.port", KEY_INT, OFF(http_port), SZ(http_port), 0, 65535, 0},
    {"http.tokens_file", KEY_STRING, OFF(http_tokens_file), SZ(http_tokens_file), 1, 255, 0},
    {"http.tls_cert", KEY_STRING, OFF(http_tls_cert), SZ(http_tls_cert), 1, 255, 0},
    {"http.tls_key", KEY_STRING, OFF(http_tls_key), SZ(http_tls_key), 1, 255, 0},
    {"http.scan_rate", KEY_INT, OFF(http_scan_rate), SZ(http_scan_rate), 1, 100000, 0},
    {"http.scan_burst", KEY_INT, OFF(http_scan_burst), SZ(http_scan_burst), 1, 100000, 0},
    {"http.connections_per_client", KEY_INT, OFF(http_conns_per_client), SZ(http_conns_per_client),
     1, 64, 0},
    {"console", KEY_SECTION, 0, 0, 0, 0, 0},
    {"console.chute_capacity", KEY_INT, OFF(chute_capacity), SZ(chute_capacity), 1, 100000, 0},
    {"alarms", KEY_SECTION, 0, 0, 0, 0, 0},
    {"alarms.read_rate_min_pct", KEY_INT, OFF(read_rate_min_pct), SZ(read_rate_min_pct), 0, 100, 0},
    {"alarms.plc_link_down_s", KEY_INT, OFF(alarm_delay_s[0]), SZ(alarm_delay_s[0]), 0, 86400, 0},
    {"alarms.chute_full_s", KEY_INT, OFF(alarm_delay_s[1]), SZ(alarm_delay_s[1]), 0, 86400, 0},
    {"alarms.line_stopped_s", KEY_INT, OFF(alarm_delay_s[2]), SZ(alarm_delay_s[2]), 0, 86400, 0},
    {"alarms.read_rate_low_s", KEY_INT, OFF(alarm_delay_s[3]), SZ(alarm_delay_s[3]), 0, 86400, 0},
    {"alarms.scanner_unplugged_s", KEY_INT, OFF(alarm_delay_s[4]), SZ(alarm_delay_s[4]), 0, 86400,
     0},
    {"alarms.database_down_s", KEY_INT, OFF(alarm_delay_s[5]), SZ(alarm_delay_s[5]), 0, 86400, 0},
    {"loop", KEY_SECTION, 0, 0, 0, 0, 0},
    {"loop.cpu", KEY_CPU, OFF(loop_cpu), 0, 0, 0, 0},
    {"registry", KEY_SECTION, 0, 0, 0, 0, 0},
    {"registry.expected_parcels", KEY_SIZE, OFF(registry_expected), SZ(registry_expected), 1,
     100000000, 0},
    {"registry.resync_s", KEY_INT, OFF(registry_resync_s), SZ(registry_resync_s), 1, 86400, 0},
    {"events", KEY_SECTION, 0, 0, 0, 0, 0},
    {"events.queue_capacity", KEY_SIZE, OFF(events.queue_capacity), SZ(events.queue_capacity),
     1024, 16777216, 0},
    {"events.batch_max", KEY_SIZE, OFF(events.batch_max), SZ(events.batch_max), 1, 100000, 0},
    {"events.flush_interval_ms", KEY_INT, OFF(events_flush_interval_ms),
     SZ(events_flush_interval_ms), 1, 10000, 0},
    {"events.retention_days", KEY_INT, OFF(events_retention_days), SZ(events_retention_days), 0,
     36500, 0},
    {"events.spool_path", KEY_STRING, OFF(spool_path), SZ(spool_path), 1, 255, 0},
    {"events.spool_max_bytes", KEY_SIZE, OFF(spool_max_bytes), SZ(spool_max_bytes), 1048576,
     1099511627776LL, 0},
    {"events.node_id", KEY_U32, OFF(events.node_id), 0, 0, 255, 0},
    {"events.statement_timeout_ms", KEY_U32, OFF(events.statement_timeout_ms), 0, 100, 600000, 0},
    {"events.lock_timeout_ms", KEY_U32, OFF(events.lock_timeout_ms), 0, 10, 600000, 0},
    {"ha", KEY_SECTION, 0, 0, 0, 0, 0},
    {"ha.lease_ms", KEY_INT, OFF(ha_lease_ms), SZ(ha_lease_ms), 300, 600000, 0},
    {"customs", KEY_SECTION, 0, 0, 0, 0, 0},
    {"customs.duty_rules", KEY_STRING, OFF(customs_duty_rules), SZ(customs_duty_rules), 1, 255, 0},
    {"customs.exchange_rates", KEY_STRING, OFF(customs_rates), SZ(customs_rates), 1, 255, 0},
    {"customs.broker_url", KEY_STRING, OFF(customs.broker_url), SZ(customs.broker_url), 8, 255, 0},
    {"customs.token_file", KEY_STRING, OFF(customs.token_file), SZ(customs.token_file), 1, 255, 0},
    {"customs.ca_file", KEY_STRING, OFF(customs.ca_file), SZ(customs.ca_file), 1, 255, 0},
    {"customs.insecure_http", KEY_BOOL, OFF(customs.insecure_http), 0, 0, 0, 0},
    {"customs.profile", KEY_PROFILE, OFF(customs.profile), SZ(customs.profile), 1, 15, 0},
    {"customs.brokers", KEY_BROKERS, 0, 0, 0, 0, 0},
    {"customs.broker_name", KEY_STRING, OFF(customs.broker_name), SZ(customs.broker_name), 1, 63, 0},
    {"customs.events_ms", KEY_INT, OFF(customs.events_ms), SZ(customs.events_ms), 0, 3600000, 0},
    {"customs.batch", KEY_INT, OFF(customs.batch), SZ(customs.batch), 1, 500, 0},
    {"customs.parallel", KEY_INT, OFF(customs.parallel), SZ(customs.parallel), 1, 64, 0},
    {"plcs", KEY_PLCS, 0, 0, 0, 0, 0},
    {"scanners", KEY_SCANNERS, 0, 0, 0, 0, 0},
    {"cameras", KEY_SECTION, 0, 0, 0, 0, 0},
    {"cameras.workers", KEY_INT, OFF(cameras.workers), SZ(cameras.workers), 1, 64, 0},
    {"cameras.queue", KEY_INT, OFF(cameras.queue), SZ(cameras.queue), 1, 1024, 0},
    {"cameras.keep_frames", KEY_INT, OFF(cameras.keep_frames), SZ(cameras.keep_frames), 1, 64, 0},
    {"cameras.budget_ms", KEY_INT, OFF(cameras.budget_ms), SZ(cameras.budget_ms), 0, 10000, 0},
    {"cameras.kinds", KEY_STRING, OFF(cameras.kinds), SZ(cameras.kinds), 1, 63, 0},
    {"cameras.symbologies", KEY_STRING, OFF(cameras.symbologies), SZ(cameras.symbologies), 1, 63,
     0},
    {"cameras.noread_dir", KEY_STRING, OFF(cameras.noread_dir), SZ(cameras.noread_dir), 1, 255, 0},
    {"cameras.noread_max_mb", KEY_INT, OFF(cameras.noread_max_mb), SZ(cameras.noread_max_mb), 1,
     1048576, 0},
    {"cameras.noread_max", KEY_INT, OFF(cameras.noread_max), SZ(cameras.noread_max), 1, 10000000,
     0},
    {"cameras.sources", KEY_CAMERAS, 0, 0, 0, 0, 0},
    {"label_printers", KEY_PRINTERS, 0, 0, 0, 0, 0},
};

#define SOFF(f) offsetof(struct scan_usb_cfg, f)
#define SSZ(f) sizeof(((struct scan_usb_cfg *)0)->f)

static const struct key_def scanner_keys[] = {
    {"id", KEY_STRING, SOFF(id), SSZ(id), 1, SCAN_ID_MAX, 1},
    {"location", KEY_STRING, SOFF(location), SSZ(location), 1, SCAN_ID_MAX, 1},
    {"kind", KEY_SCAN_KIND, SOFF(kind), 0, 0, 0, 1},
    {"vid", KEY_HEX16, SOFF(vid), 0, 0, 0xFFFF, 0},
    {"pid", KEY_HEX16, SOFF(pid), 0, 0, 0xFFFF, 0},
    {"serial", KEY_STRING, SOFF(serial), SSZ(serial), 1, SCAN_SERIAL_MAX, 0},
    {"interface_class", KEY_INT, SOFF(interface_class), SSZ(interface_class), 0, 255, 0},
    {"layout", KEY_LAYOUT, SOFF(layout), 0, 0, 0, 0},
    {"tab_terminates", KEY_BOOL, SOFF(tab_terminates), 0, 0, 0, 0},
    {"char_timeout_ms", KEY_U32, SOFF(char_timeout_ms), 0, 0, 60000, 0},
    {"tty", KEY_STRING, SOFF(tty_path), SSZ(tty_path), 1, SCAN_PATH_MAX, 0},
    {"tty_retry_ms", KEY_U32, SOFF(tty_retry_ms), 0, 0, 600000, 0},
};

static const struct key_def plc_keys[] = {
    {"id", KEY_STRING, POFF(id), PSZ(id), 5, 5, 1},
    {"mode", KEY_PLC_MODE, POFF(mode), PSZ(mode), 0, 0, 0},
    {"host", KEY_STRING, POFF(host), PSZ(host), 1, 63, 0},
    {"port", KEY_INT, POFF(port), PSZ(port), 0, 65535, 1},
    {"telegram_len", KEY_INT, POFF(telegram_len), PSZ(telegram_len), 128, 1024, 0},
    {"life_interval_ms", KEY_INT, POFF(life_interval_ms), PSZ(life_interval_ms), 50, 600000, 0},
    {"decision_deadline_ms", KEY_INT, POFF(decision_deadline_ms), PSZ(decision_deadline_ms), 1,
     10000, 0},
    {"read_window_before_ms", KEY_INT, POFF(read_window_before_ms), PSZ(read_window_before_ms), 0,
     10000, 0},
    {"read_window_after_ms", KEY_INT, POFF(read_window_after_ms), PSZ(read_window_after_ms), 0,
     10000, 0},
    {"locations", KEY_LOCATIONS, POFF(locations), 0, 1, WCS_PLC_LOCATIONS_MAX, 0},
    {"allow", KEY_ALLOW, POFF(allow), 0, 1, CONV_PEER_ALLOW_MAX, 0},
};

/* A camera entry as written: exactly one of device, dir, stream. */
struct camera_entry {
    struct scan_camera_cfg c;
    char device[SCAN_PATH_MAX + 1], dir[SCAN_PATH_MAX + 1], stream[SCAN_PATH_MAX + 1];
};

#define COFF(f) offsetof(struct camera_entry, f)
#define CSZ(f) sizeof(((struct camera_entry *)0)->f)

static const struct key_def camera_keys[] = {
    {"id", KEY_STRING, COFF(c.id), CSZ(c.id), 1, SCAN_ID_MAX, 1},
    {"location", KEY_STRING, COFF(c.location), CSZ(c.location), 1, SCAN_ID_MAX, 1},
    {"device", KEY_STRING, COFF(device), CSZ(device), 1, SCAN_PATH_MAX, 0},
    {"dir", KEY_STRING, COFF(dir), CSZ(dir), 1, SCAN_PATH_MAX, 0},
    {"stream", KEY_STRING, COFF(stream), CSZ(stream), 1, SCAN_PATH_MAX, 0},
    {"width", KEY_INT, COFF(c.width), CSZ(c.width), 16, 32768, 0},
    {"height", KEY_INT, COFF(c.height), CSZ(c.height), 16, 32768, 0},
};

#define NCAMERA (sizeof(camera_keys) / sizeof(camera_keys[0]))

#define ROFF(f) offsetof(struct wcs_printer_config, f)
#define RSZ(f) sizeof(((struct wcs_printer_config *)0)->f)

static const struct key_def printer_keys[] = {
    {"id", KEY_STRING, ROFF(id), RSZ(id), 1, 15, 1},
    {"host", KEY_STRING, ROFF(host), RSZ(host), 1, 63, 1},
    {"port", KEY_INT, ROFF(port), RSZ(port), 1, 65535, 0},
    {"routes", KEY_IDS, ROFF(routes), 0, 1, WCS_ID_LIST_MAX, 1},
};

#define BOFF(f) offsetof(struct wcs_broker_config, f)
#define BSZ(f) sizeof(((struct wcs_broker_config *)0)->f)

static const struct key_def broker_keys[] = {
    {"name", KEY_STRING, BOFF(name), BSZ(name), 1, 63, 1},
    {"profile", KEY_PROFILE, BOFF(profile), BSZ(profile), 1, 15, 1},
    {"broker_url", KEY_STRING, BOFF(broker_url), BSZ(broker_url), 8, 255, 1},
    {"token_file", KEY_STRING, BOFF(token_file), BSZ(token_file), 1, 255, 1},
    {"ca_file", KEY_STRING, BOFF(ca_file), BSZ(ca_file), 1, 255, 0},
    {"insecure_http", KEY_BOOL, BOFF(insecure_http), 0, 0, 0, 0},
    {"services", KEY_IDS, BOFF(services), 0, 1, WCS_ID_LIST_MAX, 0},
    {"routes", KEY_IDS, BOFF(routes), 0, 1, WCS_ID_LIST_MAX, 0},
};

#define NBROKER (sizeof(broker_keys) / sizeof(broker_keys[0]))

#define NTOP (sizeof(top_keys) / sizeof(top_keys[0]))
#define NPRINTER (sizeof(printer_keys) / sizeof(printer_keys[0]))
#define NPLC (sizeof(plc_keys) / sizeof(plc_keys[0]))
#define NSCAN (sizeof(scanner_keys) / sizeof(scanner_keys[0]))

void wcs_plc_config_defaults(struct wcs_plc_config *p)
{
    memset(p, 0, sizeof(*p));
    p->mode = WCS_PLC_SERVER;
    strcpy(p->host, "0.0.0.0");
    p->telegram_len = 160;
    p->life_interval_ms = 5000;
    p->decision_deadline_ms = 150;
    p->read_window_before_ms = 400;
    p->read_window_after_ms = 100;
}

void wcs_config_defaults(struct wcs_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->node, "WCS01");
    c->log_level = LOG_LEVEL_INFO;
    strcpy(c->http_listen, "127.0.0.1");
    c->http_port = 8080;
    c->http_scan_rate = 50;
    c->http_scan_burst = 100;
    c->http_conns_per_client = 16; /* a browser opens 6 at once, and its console's stream */
    c->chute_capacity = 50;
    c->read_rate_min_pct = 90;
    c->alarm_delay_s[0] = 5;   /* PLC link down */
    c->alarm_delay_s[1] = 30;  /* chute full */
    c->alarm_delay_s[2] = 10;  /* line stopped */
    c->alarm_delay_s[3] = 60;  /* read rate low */
    c->alarm_delay_s[4] = 5;   /* scanner unplugged */
    c->alarm_delay_s[5] = 10;  /* database down */
    c->loop_cpu = CPU_NONE;
    c->registry_expected = 100000;
    c->registry_resync_s = 60;
    c->ha_lease_ms = 3000; /* WCS_LEASE_MS_DEFAULT */
    c->events.queue_capacity = 65536;
    c->events.batch_max = 2000;
    c->events.statement_timeout_ms = 5000;
    c->events.lock_timeout_ms = 1000;
    c->spool_max_bytes = 1024ull * 1024 * 1024;
    c->cameras.workers = 1;
    c->cameras.queue = 8;
    c->cameras.keep_frames = 8;
    c->cameras.budget_ms = 100;
    c->cameras.noread_max_mb = 1024;
    c->cameras.noread_max = 100000;
}

struct ctx {
    struct wcs_config *c;
    struct diag *d;
};

static const char *type_name(const struct node *n)
{
    return n->type == NODE_MAP ? "a mapping" : n->type == NODE_SEQ ? "a list" : "a single value";
}

static void bad(struct ctx *x, const struct node *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bad(struct ctx *x, const struct node *at, const char *key, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    diag_add(x->d, "%s:%d: %s: %s", x->c->path, at->line, key, why);
}

static void plc_entry(struct ctx *x, const struct node *item, const char *name, int index);
static void scanner_entry(struct ctx *x, const struct node *item, const char *name, int index);
static void printer_entry(struct ctx *x, const struct node *item, const char *name, int index);
static void broker_entry(struct ctx *x, const struct node *item, const char *name, int index);
static void camera_entry(struct ctx *x, const struct node *item, const char *name, int index);

/* Stores the value node v of key k (full name `name`, key node at) into base. */
static void set_value(struct ctx *x, void *base_ptr, const struct key_def *k, const char *name,
                      const struct node *at, const struct node *v)
{
    char *base = (char *)base_ptr + k->offset, *end;
    long long num;
    size_t len, i;

    if (k->type == KEY_PLCS) {
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of PLC entries, found %s", type_name(v));
            return;
        }
        for (i = 0; i < v->n; i++)
            plc_entry(x, v->kids[i], name, (int)i);
        return;
    }
    if (k->type == KEY_SCANNERS) {
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of scanners, found %s", type_name(v));
            return;
        }
        for (i = 0; i < v->n; i++)
            scanner_entry(x, v->kids[i], name, (int)i);
        return;
    }
    if (k->type == KEY_CAMERAS) {
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of cameras, found %s", type_name(v));
            return;
        }
        for (i = 0; i < v->n; i++)
            camera_entry(x, v->kids[i], name, (int)i);
        return;
    }
    if (k->type == KEY_PRINTERS) {
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of label printers, found %s", type_name(v));
            return;
        }
        for (i = 0; i < v->n; i++)
            printer_entry(x, v->kids[i], name, (int)i);
        return;
    }
    if (k->type == KEY_BROKERS) {
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of brokers, found %s", type_name(v));
            return;
        }
        for (i = 0; i < v->n; i++)
            broker_entry(x, v->kids[i], name, (int)i);
        return;
    }
    if (k->type == KEY_IDS) {
        struct wcs_id_list *l = (struct wcs_id_list *)(void *)base;
        const char *what = strcmp(k->name, "services") == 0 ? "service code" : "route id";
        if (v->type != NODE_SEQ || v->n < (size_t)k->min || v->n > (size_t)k->max) {
            bad(x, at, name, "expected a list of 1 to %lld %ss", k->max, what);
            return;
        }
        for (i = 0; i < v->n; i++) {
            const struct node *it = v->kids[i];
            if (it->type != NODE_SCALAR || strlen(it->value) == 0 || strlen(it->value) > 31) {
                bad(x, it, name, "a %s is 1 to 31 characters", what);
                continue;
            }
            snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", it->value);
        }
        return;
    }
    if (k->type == KEY_LOCATIONS) {
        struct wcs_plc_config *p = base_ptr;
        if (v->type != NODE_SEQ) {
            bad(x, at, name, "expected a list of location ids, found %s", type_name(v));
            return;
        }
        if (v->n < (size_t)k->min || v->n > (size_t)k->max) {
            bad(x, at, name, "%zu locations, expected %lld to %lld", v->n, k->min, k->max);
            return;
        }
        for (i = 0; i < v->n; i++) {
            const struct node *it = v->kids[i];
            if (it->type != NODE_SCALAR || strlen(it->value) == 0 || strlen(it->value) > 20) {
                bad(x, it, name, "a location id is 1 to 20 characters");
                continue;
            }
            snprintf(p->locations[p->nlocations++], sizeof(p->locations[0]), "%s", it->value);
        }
        return;
    }
    if (k->type == KEY_ALLOW) {
        struct wcs_plc_config *p = base_ptr;
        if (v->type != NODE_SEQ || v->n < (size_t)k->min || v->n > (size_t)k->max) {
            bad(x, at, name, "expected a list of 1 to %lld addresses or CIDR blocks", k->max);
            return;
        }
        for (i = 0; i < v->n; i++) {
            const struct node *it = v->kids[i];
            struct err e;

            if (it->type != NODE_SCALAR ||
                conv_cidr_parse(it->value, &p->allow[p->nallow], &e) < 0) {
                bad(x, it, name, "%s", it->type == NODE_SCALAR ? e.msg : "not an address");
                continue;
            }
            p->nallow++;
        }
        return;
    }
    if (k->type == KEY_SECTION) {
        bad(x, at, name, "is a section; expected a mapping of keys, found %s", type_name(v));
        return;
    }
    if (v->type != NODE_SCALAR) {
        bad(x, at, name, "expected a single value, found %s", type_name(v));
        return;
    }
    len = strlen(v->value);
    switch (k->type) {
    case KEY_STRING:
        if ((long long)len < k->min || (long long)len > k->max) {
            if (k->min == k->max)
                bad(x, at, name, "must be exactly %lld characters", k->min);
            else
                bad(x, at, name, "must be %lld to %lld characters", k->min, k->max);
            return;
        }
        memcpy(base, v->value, len + 1);
        return;
    case KEY_INT:
    case KEY_SIZE:
        errno = 0;
        num = strtoll(v->value, &end, 10);
        if (len == 0 || *end != '\0' || errno != 0) {
            bad(x, at, name, "\"%s\" is not a whole number", v->value);
            return;
        }
        if (num < k->min || num > k->max) {
            bad(x, at, name, "%lld is out of range %lld..%lld", num, k->min, k->max);
            return;
        }
        if (k->type == KEY_SIZE)
            *(size_t *)(void *)base = (size_t)num;
        else
            *(int *)(void *)base = (int)num;
        return;
    case KEY_CPU:
        if (cpu_parse(v->value, (int *)(void *)base) < 0)
            bad(x, at, name, "\"%s\" is not auto, none or a CPU number below %d", v->value,
                CPU_MAX);
        return;
    case KEY_PROFILE:
        if (cust_profile_find(v->value) == NULL) {
            bad(x, at, name, "\"%s\" is not a broker profile (" CUST_PROFILE_NAMES ")",
                v->value);
            return;
        }
        snprintf(base, k->size, "%s", v->value);
        return;
    case KEY_LOGLEVEL:
        if (log_level_parse(v->value, (enum log_level *)(void *)base) < 0)
            bad(x, at, name, "\"%s\" is not one of error, warn, info, debug", v->value);
        return;
    case KEY_SCAN_KIND:
        if (scan_source_kind_parse(v->value, (enum scan_source_kind *)(void *)base) < 0)
            bad(x, at, name, "\"%s\" is not keyboard, pos or tty", v->value);
        return;
    case KEY_LAYOUT:
        if (scan_layout_parse(v->value, (enum scan_layout *)(void *)base) < 0)
            bad(x, at, name, "\"%s\" is not a keyboard layout (us, de)", v->value);
        return;
    case KEY_HEX16:
        errno = 0;
        num = strtoll(v->value, &end, 16);
        if (len != 4 || *end != '\0' || errno != 0 || num < 0 || num > 0xFFFF) {
            bad(x, at, name, "\"%s\" is not 4 hex digits (e.g. 0C2E)", v->value);
            return;
        }
        *(uint16_t *)(void *)base = (uint16_t)num;
        return;
    case KEY_U32:
        errno = 0;
        num = strtoll(v->value, &end, 10);
        if (len == 0 || *end != '\0' || errno != 0 || num < k->min || num > k->max) {
            bad(x, at, name, "\"%s\" is not a whole number %lld..%lld", v->value, k->min, k->max);
            return;
        }
        *(uint32_t *)(void *)base = (uint32_t)num;
        return;
    case KEY_BOOL:
        if (strcmp(v->value, "true") == 0 || strcmp(v->value, "yes") == 0)
            *(bool *)(void *)base = true;
        else if (strcmp(v->value, "false") == 0 || strcmp(v->value, "no") == 0)
            *(bool *)(void *)base = false;
        else
            bad(x, at, name, "\"%s\" is not true or false", v->value);
        return;
    case KEY_PLC_MODE:
        if (strcmp(v->value, "server") == 0)
            *(int *)(void *)base = WCS_PLC_SERVER;
        else if (strcmp(v->value, "client") == 0)
            *(int *)(void *)base = WCS_PLC_CLIENT;
        else
            bad(x, at, name, "\"%s\" is not server or client", v->value);
        return;
    default:
        return;
    }
}

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Walks mapping m against keys (prefix "" or "section"), filling base. seen[]
 * records the line each key was set on. */
static void walk_map(struct ctx *x, const struct node *m, const char *prefix,
                     const struct key_def *keys, size_t nkeys, void *base, int *seen)
{
    size_t i;

    for (i = 0; i + 1 < m->n; i += 2) {
        const struct node *kn = m->kids[i], *vn = m->kids[i + 1];
        const struct key_def *k;
        char name[160];

        if (kn->type != NODE_SCALAR) {
            bad(x, kn, prefix[0] ? prefix : "(top level)", "keys must be plain words");
            continue;
        }
        if (snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", kn->value) >=
            (int)sizeof(name)) {
            bad(x, kn, prefix[0] ? prefix : "(top level)", "key longer than any known key");
            continue;
        }
        k = find_key(keys, nkeys, keys == top_keys ? name : kn->value);
        if (k == NULL) {
            bad(x, kn, name, "unknown key");
            continue;
        }
        if (seen[k - keys]) {
            bad(x, kn, name, "given twice (first at line %d)", seen[k - keys]);
            continue;
        }
        seen[k - keys] = kn->line;
        if (k->type == KEY_SECTION && vn->type == NODE_MAP)
            walk_map(x, vn, name, keys, nkeys, base, seen);
        else
            set_value(x, base, k, name, kn, vn);
    }
}

static void plc_entry(struct ctx *x, const struct node *item, const char *list, int index)
{
    struct wcs_config *c = x->c;
    struct wcs_plc_config *p;
    int seen[NPLC] = {0}, i;
    size_t k;
    char name[192];

    snprintf(name, sizeof(name), "%s[%d]", list, index);
    if (item->type != NODE_MAP) {
        bad(x, item, name, "expected a mapping (id, mode, host, port...), found %s",
            type_name(item));
        return;
    }
    if (c->nplcs == WCS_PLC_MAX) {
        bad(x, item, name, "more than %d PLCs", WCS_PLC_MAX);
        return;
    }
    p = &c->plcs[c->nplcs];
    wcs_plc_config_defaults(p);
    p->line = item->line;
    walk_map(x, item, name, plc_keys, NPLC, p, seen);
    for (k = 0; k < NPLC; k++)
        if (plc_keys[k].required && !seen[k])
            bad(x, item, name, "%s: required key missing", plc_keys[k].name);
    if (p->read_window_after_ms >= p->decision_deadline_ms)
        bad(x, item, name,
            "read_window_after_ms (%d) must be below decision_deadline_ms (%d): the answer "
            "waits for late scans",
            p->read_window_after_ms, p->decision_deadline_ms);
    for (i = 0; i < c->nplcs; i++) {
        if (strcmp(c->plcs[i].id, p->id) == 0)
            bad(x, item, name, "id %s already used at line %d", p->id, c->plcs[i].line);
        else if (p->mode == WCS_PLC_SERVER && c->plcs[i].mode == WCS_PLC_SERVER && p->port != 0 &&
                 p->port == c->plcs[i].port)
            bad(x, item, name, "port %d already used by %s at line %d", p->port, c->plcs[i].id,
                c->plcs[i].line);
    }
    if (p->mode == WCS_PLC_CLIENT && p->port == 0)
        bad(x, item, name, "a client link needs the PLC's port");
    c->nplcs++;
}

static void scanner_entry(struct ctx *x, const struct node *item, const char *list, int index)
{
    struct wcs_config *c = x->c;
    struct scan_usb_cfg *s;
    int seen[NSCAN] = {0}, i;
    size_t k;
    char name[192];

    snprintf(name, sizeof(name), "%s[%d]", list, index);
    if (item->type != NODE_MAP) {
        bad(x, item, name, "expected a mapping (id, location, kind...), found %s", type_name(item));
        return;
    }
    if (c->nscanners == WCS_SCANNER_MAX) {
        bad(x, item, name, "more than %d scanners", WCS_SCANNER_MAX);
        return;
    }
    s = &c->scanners[c->nscanners];
    scan_usb_cfg_defaults(s);
    walk_map(x, item, name, scanner_keys, NSCAN, s, seen);
    for (k = 0; k < NSCAN; k++)
        if (scanner_keys[k].required && !seen[k])
            bad(x, item, name, "%s: required key missing", scanner_keys[k].name);
    if (s->kind == SCAN_SRC_TTY && s->tty_path[0] == '\0')
        bad(x, item, name, "a tty scanner needs `tty` (its device path)");
    if (s->kind != SCAN_SRC_TTY && s->tty_path[0] != '\0')
        bad(x, item, name, "`tty` is only for kind tty");
    if (s->kind != SCAN_SRC_TTY && s->vid == 0 && s->serial[0] == '\0')
        bad(x, item, name, "a USB scanner needs vid (and pid) or serial to be found");
    for (i = 0; i < c->nscanners; i++)
        if (strcmp(c->scanners[i].id, s->id) == 0)
            bad(x, item, name, "id %s already used", s->id);
    c->nscanners++;
}

static void camera_entry(struct ctx *x, const struct node *item, const char *list, int index)
{
    struct wcs_cameras_config *cc = &x->c->cameras;
    struct camera_entry ce;
    int seen[NCAMERA] = {0}, i;
    size_t k;
    char name[192];

    snprintf(name, sizeof(name), "%s[%d]", list, index);
    if (item->type != NODE_MAP) {
        bad(x, item, name, "expected a mapping (id, location, device/dir/stream), found %s",
            type_name(item));
        return;
    }
    if (cc->nsources == SCAN_CAMERA_MAX) {
        bad(x, item, name, "more than %d cameras", SCAN_CAMERA_MAX);
        return;
    }
    memset(&ce, 0, sizeof(ce));
    walk_map(x, item, name, camera_keys, NCAMERA, &ce, seen);
    for (k = 0; k < NCAMERA; k++)
        if (camera_keys[k].required && !seen[k])
            bad(x, item, name, "%s: required key missing", camera_keys[k].name);
    if (!!ce.device[0] + !!ce.dir[0] + !!ce.stream[0] != 1) {
        bad(x, item, name, "exactly one of device (V4L2), dir or stream is needed");
        return;
    }
    ce.c.kind = ce.device[0] ? SCAN_CAM_V4L2 : ce.dir[0] ? SCAN_CAM_DIR : SCAN_CAM_STREAM;
    snprintf(ce.c.path, sizeof(ce.c.path), "%s",
             ce.device[0] ? ce.device : ce.dir[0] ? ce.dir : ce.stream);
    if (ce.c.kind != SCAN_CAM_V4L2 && (ce.c.width || ce.c.height))
        bad(x, item, name, "width and height are for a V4L2 device");
    for (i = 0; i < cc->nsources; i++)
        if (strcmp(cc->sources[i].id, ce.c.id) == 0)
            bad(x, item, name, "id %s already used", ce.c.id);
    cc->sources[cc->nsources++] = ce.c;
}

static void printer_entry(struct ctx *x, const struct node *item, const char *list, int index)
{
    struct wcs_config *c = x->c;
    struct wcs_printer_config *p;
    int seen[NPRINTER] = {0}, i, r, k;
    size_t n;
    char name[192];

    snprintf(name, sizeof(name), "%s[%d]", list, index);
    if (item->type != NODE_MAP) {
        bad(x, item, name, "expected a mapping (id, host, port, routes), found %s",
            type_name(item));
        return;
    }
    if (c->nprinters == WCS_PRINTER_MAX) {
        bad(x, item, name, "more than %d label printers", WCS_PRINTER_MAX);
        return;
    }
    p = &c->printers[c->nprinters];
    memset(p, 0, sizeof(*p));
    p->port = 9100;
    walk_map(x, item, name, printer_keys, NPRINTER, p, seen);
    for (n = 0; n < NPRINTER; n++)
        if (printer_keys[n].required && !seen[n])
            bad(x, item, name, "%s: required key missing", printer_keys[n].name);
    for (i = 0; i < c->nprinters; i++) {
        if (strcmp(c->printers[i].id, p->id) == 0)
            bad(x, item, name, "id %s already used", p->id);
        /* One route, one printer: a bag's label goes to exactly one place. */
        for (r = 0; r < p->routes.n; r++)
            for (k = 0; k < c->printers[i].routes.n; k++)
                if (strcmp(p->routes.v[r], c->printers[i].routes.v[k]) == 0)
                    bad(x, item, name, "route %s already printed by %s", p->routes.v[r],
                        c->printers[i].id);
    }
    c->nprinters++;
}

static void broker_entry(struct ctx *x, const struct node *item, const char *list, int index)
{
    struct wcs_customs_config *cc = &x->c->customs;
    struct wcs_broker_config *b;
    int seen[NBROKER] = {0}, i;
    size_t n;
    char name[192];

    snprintf(name, sizeof(name), "%s[%d]", list, index);
    if (item->type != NODE_MAP) {
        bad(x, item, name, "expected a mapping (name, profile, broker_url, token_file...), found %s",
            type_name(item));
        return;
    }
    if (cc->nbrokers == WCS_BROKER_MAX) {
        bad(x, item, name, "more than %d brokers", WCS_BROKER_MAX);
        return;
    }
    b = &cc->brokers[cc->nbrokers];
    memset(b, 0, sizeof(*b));
    walk_map(x, item, name, broker_keys, NBROKER, b, seen);
    for (n = 0; n < NBROKER; n++)
        if (broker_keys[n].required && !seen[n])
            bad(x, item, name, "%s: required key missing", broker_keys[n].name);
    if (b->services.n == 0 && b->routes.n == 0)
        bad(x, item, name, "a broker takes the parcels of some services or routes: list them");
    if (strcmp(b->name, "default") == 0)
        bad(x, item, name, "\"default\" is the broker of the customs: keys");
    for (i = 0; i < cc->nbrokers; i++)
        if (strcmp(cc->brokers[i].name, b->name) == 0)
            bad(x, item, name, "name %s already used", b->name);
    cc->nbrokers++;
}

/* Line of top-level key name in the file (seen[] of walk_map), 1 if unset. */
static int key_line(const int *seen, const char *name)
{
    const struct key_def *k = find_key(top_keys, NTOP, name);

    return k != NULL && seen[k - top_keys] ? seen[k - top_keys] : 1;
}

/* The distinct scan locations of c (plcs[].locations, scanners[].location,
 * cameras.sources[].location). */
static int count_scan_locations(const struct wcs_config *c)
{
    const char *seen[WCS_PLC_MAX * WCS_PLC_LOCATIONS_MAX + WCS_SCANNER_MAX + SCAN_CAMERA_MAX];
    int n = 0, i, j, k, ns = c->nplcs + c->nscanners;

    for (i = 0; i < ns + c->cameras.nsources; i++) {
        int nloc = i < c->nplcs ? c->plcs[i].nlocations : 1;
        for (j = 0; j < nloc; j++) {
            const char *loc = i < c->nplcs ? c->plcs[i].locations[j]
                              : i < ns     ? c->scanners[i - c->nplcs].location
                                           : c->cameras.sources[i - ns].location;
            for (k = 0; k < n && strcmp(seen[k], loc) != 0; k++)
                ;
            if (k == n)
                seen[n++] = loc;
        }
    }
    return n;
}

/* Rules between keys of different places, checked once the whole file is read. */
static void check_across(struct ctx *x, const int *seen)
{
    const struct wcs_config *c = x->c;
    int n;

    if (c->http_tls_cert[0] != '\0' && c->http_tls_key[0] == '\0')
        diag_add(x->d, "%s:%d: http.tls_cert: needs http.tls_key (its private key)", c->path,
                 key_line(seen, "http.tls_cert"));
    if (c->http_tls_key[0] != '\0' && c->http_tls_cert[0] == '\0')
        diag_add(x->d, "%s:%d: http.tls_key: needs http.tls_cert (its certificate)", c->path,
                 key_line(seen, "http.tls_key"));
    /* The node names the line in telegrams, in the database and in ids'
     * owners: letters, digits, '-' and '_' only. */
    if (strspn(c->node, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
        strlen(c->node))
        diag_add(x->d, "%s:%d: node: %s: letters, digits, '-' and '_' only", c->path,
                 key_line(seen, "node"), c->node);
    n = count_scan_locations(c);
    if (n > WCS_SCAN_LOCATIONS_MAX)
        diag_add(x->d,
                 "%s:%d: plcs: %d distinct scan locations (plcs[].locations, "
                 "scanners[].location and cameras.sources[].location), at most %d",
                 c->path, key_line(seen, "plcs"), n, WCS_SCAN_LOCATIONS_MAX);
    /* The cameras' words, checked here so `wcsd -n` finds a wrong one. */
    {
        struct err e;
        unsigned bits;

        if (c->cameras.kinds[0] && scan_kinds_parse(c->cameras.kinds, &bits, &e) < 0)
            diag_add(x->d, "%s:%d: cameras.kinds: %s (s10, cainiao, rupost, receptacle, any)",
                     c->path, key_line(seen, "cameras.kinds"), e.msg);
        if (c->cameras.symbologies[0] &&
            scan_symbology_parse(c->cameras.symbologies, &bits, &e) < 0)
            diag_add(x->d, "%s:%d: cameras.symbologies: %s (code128, code39, ean13, i25, qr)",
                     c->path, key_line(seen, "cameras.symbologies"), e.msg);
    }
    /* Each broker's feed cursor and alarms are kept under its name. */
    for (n = 0; n < c->customs.nbrokers; n++)
        if (strcmp(c->customs.brokers[n].name, c->customs.broker_name) == 0)
            diag_add(x->d, "%s:%d: customs.brokers: %s is also customs.broker_name (the default"
                     " broker's): each broker needs a name of its own", c->path,
                     key_line(seen, "customs.brokers"), c->customs.brokers[n].name);
}

int wcs_config_load(const char *path, struct wcs_config *c, struct diag *d, struct err *e)
{
    FILE *f;
    int rc;

    wcs_config_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    f = fopen(path, "r");
    if (f == NULL)
        return err_set(e, -errno, "%s: cannot open: %s", path, strerror(errno));
    rc = wcs_config_load_stream(f, path, c, d, e);
    fclose(f);
    return rc;
}

int wcs_config_load_stream(FILE *f, const char *path, struct wcs_config *c, struct diag *d,
                           struct err *e)
{
    struct node *root = NULL;
    struct ctx x = {c, d};
    int seen[NTOP] = {0}, rc;
    size_t before = diag_count(d), i;

    wcs_config_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    rc = parse_file(f, path, &root, d);
    if (rc == -ENOMEM)
        return err_set(e, rc, "%s: out of memory", path);
    if (rc == 0) {
        if (root == NULL || root->type != NODE_MAP)
            diag_add(d, "%s:%d: (top level): expected a mapping of keys", path,
                     root ? root->line : 1);
        else
            walk_map(&x, root, "", top_keys, NTOP, c, seen);
        if (diag_count(d) == before)
            check_across(&x, seen);
        for (i = 0; i < NTOP; i++)
            if (top_keys[i].required && !seen[i])
                diag_add(d, "%s:1: %s: required key missing", path, top_keys[i].name);
    }
    node_free(root);
    if (diag_count(d) > before)
        return err_set(e, ERR_CONFIG, "%s: %zu problem(s)", path, diag_count(d) - before);
    return 0;
}

int wcs_config_db_conninfo(const struct wcs_config *c, char *buf, size_t len, struct err *e)
{
    char pw[256], esc[600];
    size_t n, i, j = 0;
    int rc;

    if (c->db_password_file[0] == '\0') {
        if ((size_t)snprintf(buf, len, "%s", c->db_conninfo) >= len)
            return err_set(e, ERR_CONFIG, "database.conninfo: too long");
        return 0;
    }
    /* wcsd, wcsctl and the worker may share a service group. */
    rc = secret_file_first_line(c->db_password_file, "database.password_file", SECRET_FILE_GROUP,
                                pw, sizeof(pw), e);
    if (rc < 0)
        return rc;
    n = strlen(pw);
    /* conninfo quoting: single quotes around, backslash before ' and \. */
    for (i = 0; i < n && j < sizeof(esc) - 3; i++) {
        if (pw[i] == '\'' || pw[i] == '\\')
            esc[j++] = '\\';
        esc[j++] = pw[i];
    }
    esc[j] = '\0';
    rc = 0;
    if ((size_t)snprintf(buf, len, "%s password='%s'", c->db_conninfo, esc) >= len) {
        explicit_bzero(buf, len);
        rc = err_set(e, ERR_CONFIG, "database.conninfo: too long with the password");
    }
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(esc, sizeof(esc));
    return rc;
}
