/*
 * testwcsd.h - what the integration tests share to run a real wcsd as a
 * child process: a fresh database with the schema, the sample sort plan
 * (active) and the sample pre-advice; a private directory for the config,
 * the spool and whatever else the test writes; the YAML config (a common
 * head and the test's own sections); wcsd started and waited for (its ready
 * line), stopped or killed, started again on the same config, and all of it
 * removed at the end. Every helper fails the test (cmocka) on anything
 * unexpected.
 */
#ifndef WCS_TESTWCSD_H
#define WCS_TESTWCSD_H

#include <stddef.h>

#include "tests/common/proc.h"

#define TWCSD_PLCS 2 /* free ports picked for a test's plcs: list */

/* The roles of the tokens twcsd_prepare() writes (wcs/config/secrets.h). */
enum twcsd_role {
    TWCSD_ADMIN = 0,
    TWCSD_OPERATOR,
    TWCSD_MONITOR,
    TWCSD_SCANNER,
    TWCSD_PARTNER,
    TWCSD_ROLES
};

struct twcsd {
    char conninfo[512];       /* the test database */
    char dir[128];            /* private directory /tmp/<name>-XXXXXX */
    char cfg_path[256];       /* <dir>/wcsd.yaml */
    char bin[512];            /* the built wcsd */
    char plan_csv[512];       /* the sample sort plan, loaded as v1 and active */
    char preadvice_csv[512];  /* the sample pre-advice, imported */
    int plc_port[TWCSD_PLCS]; /* free on 127.0.0.1 when picked, all different */
    char tokens_path[256];    /* <dir>/tokens (mode 0600): test-admin, test-operator,
                               * test-monitor, test-scanner,
                               * test-partner, one of each role */
    char token[TWCSD_ROLES][33];       /* their secrets, random for each test */
    char token_file[TWCSD_ROLES][256]; /* <dir>/token-<role>: a secret alone, as the
                                        * programs' --token-file reads it */
    char http_extra[512];     /* more `http:` keys for twcsd_config(), each line
                               * indented by two spaces; "" = none */
    int no_tokens;            /* twcsd_config() leaves http.tokens_file out */
    char node[6];             /* the config's node (the line); "" = WCS01 */
    int curl_inited;          /* twcsd_prepare() ran curl_global_init() */
    int http_port;            /* from the last ready line */
    char ready[1024];         /* the last ready line */
    struct proc p;            /* wcsd; p.log is its stderr of the last start */
};

/*
 * Prepares w for a test: creates database `name` (dropped first if it
 * exists) on cluster, a conninfo base such as "host=/tmp/pg port=5432
 * user=postgres" (NULL: the "pg" ctest fixture's, WCS_TEST_PG), migrates it,
 * loads and activates the sample plan and imports the sample pre-advice;
 * then creates the private directory, writes the tokens file and a token
 * file per role, makes tu_http() send the admin token, and picks the PLC
 * ports; libcurl is initialised (twcsd_teardown() cleans it up). Writes no
 * config and starts nothing.
 */
void twcsd_prepare(struct twcsd *w, const char *name, const char *cluster);

/*
 * Prepares a second (third...) wcsd on first's database, as it stands: its
 * own directory and PLC ports, first's tokens (first must outlive it);
 * nothing written to the database.
 */
void twcsd_prepare_shared(struct twcsd *w, const struct twcsd *first, const char *name);

/*
 * Writes w->cfg_path: node WCS01 (or w->node), the database, HTTP on 127.0.0.1 port 0
 * (wcsd picks one; the ready line tells which) with w->tokens_path (unless
 * w->no_tokens) and w->http_extra, followed by the test's own sections
 * (events, plcs, scanners, registry...) formatted from fmt.
 */
void twcsd_config(struct twcsd *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Starts wcsd on w->cfg_path and waits (60 s at most) for its ready line;
 * sets w->ready and w->http_port. After twcsd_stop() or twcsd_kill() this is
 * the restart: the same config, so the same PLC ports (wcsd picks the HTTP
 * port anew). Frees the previous run's log.
 */
void twcsd_start(struct twcsd *w);

/* SIGTERM; asserts the clean exit (status 0) within 30 s. w->p.log stays
 * for the test to read until the next start or the teardown. */
void twcsd_stop(struct twcsd *w);

/* SIGKILL if wcsd runs, and waits for its exit; no assertion. */
void twcsd_kill(struct twcsd *w);

/* The port wcsd listens on for PLC plc_id (one configured with port 0), from
 * its "<plc_id>: listening on 127.0.0.1:<port>" log line. */
int twcsd_listen_port(const struct twcsd *w, const char *plc_id);

/* The code (first column) of row i (0: the first after the header) of the
 * sample pre-advice file twcsd_prepare() imports, truncated to fit len. */
void twcsd_sample_code(int i, char *buf, size_t len);

/*
 * Kills wcsd if it still runs, frees its log, cleans up libcurl and removes
 * the private directory; the database stays for a look after a failure. Safe to call
 * again. Returns 0, or -1 if the directory could not be removed (for a
 * cmocka teardown).
 */
int twcsd_teardown(struct twcsd *w);

#endif
