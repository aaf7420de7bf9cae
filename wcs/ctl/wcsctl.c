/*
 * wcsctl.c - the operator's and administrator's command line over the
 * store (and, for live state, over wcsd's HTTP API, with a bearer token
 * that may read: --token-file, WCS_TOKEN_FILE, or the config's tokens file).
 *
 * Exit codes: 0 success; 1 the command ran but found problems (invalid
 * codes, refused rows, an invalid plan); 2 usage, I/O or database errors.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/token.h"
#include "scanners/scanners.h"
#include "wcs/core/bill.h"
#include "wcs/core/label.h"
#include "wcs/render/bill_pdf.h"
#include "wcs/render/label_pdf.h"
#include "wcs/store/actions.h"
#include "wcs/store/bags.h"
#include "wcs/store/console_store.h"
#include "wcs/store/lease.h"
#include "wcs/config/config.h"
#include "wcs/config/secrets.h"
#include "wcs/ctl/ctl.h"
#include "wcs/ctl/ctl_brokers.h"
#include "wcs/ctl/ctl_customs.h"
#include "wcs/ctl/ctl_tracking.h"
#include "wcs/ctl/ctl_noreads.h"
#include "wcs/ctl/ctl_users.h"
#include "wcs/core/declare.h"
#include "wcs/store/events.h"
#include "wcs/store/import.h"
#include "wcs/core/sortplan.h"
#include "wcs/store/store.h"

#define DEFAULT_CONFIG "/etc/wcs/wcsd.yaml"

struct ctl {
    const char *config_path;
    const char *db;         /* --db or WCS_DB */
    const char *http;       /* --http or WCS_HTTP */
    const char *token_file; /* --token-file or WCS_TOKEN_FILE: wcsd's bearer token */
    const char *ca_file;    /* --ca-file or WCS_CA_FILE: wcsd's TLS certificate */
    struct wcs_config cfg;
    int have_cfg;
    char conninfo[1024];
    char http_base[128];
    char auth[TOKEN_SECRET_MAX + 32]; /* "Authorization: Bearer ...", "" = none */
    int auth_done;                    /* auth was looked for */
};

struct command {
    const char *name;   /* "sortplan load" */
    const char *args;   /* "FILE [--activate]" */
    const char *help;
    int min_args;
    int (*run)(struct ctl *ctl, int argc, char **argv);
    /* or, for a command kept in a file of its own: run on an open connection */
    int (*run_db)(PGconn *c, int argc, char **argv);
};

/* Loads the config file when one is named or the default exists. */
static int load_config(struct ctl *ctl)
{
    struct diag d = DIAG_INIT;
    struct err e;
    const char *path = ctl->config_path;
    struct stat st;

    if (ctl->have_cfg)
        return 0;
    if (path == NULL && stat(DEFAULT_CONFIG, &st) == 0)
        path = DEFAULT_CONFIG;
    wcs_config_defaults(&ctl->cfg);
    if (path == NULL)
        return 0;
    if (wcs_config_load(path, &ctl->cfg, &d, &e) < 0) {
        diag_print(&d, stderr);
        if (d.n == 0)
            fprintf(stderr, "wcsctl: %s\n", e.msg);
        diag_free(&d);
        return -1;
    }
    diag_free(&d);
    ctl->have_cfg = 1;
    return 0;
}

static struct ctl *the_ctl; /* for wcsctl_noread_dir() */

const char *wcsctl_noread_dir(void)
{
    if (the_ctl == NULL || load_config(the_ctl) < 0 || !the_ctl->have_cfg ||
        the_ctl->cfg.cameras.noread_dir[0] == '\0')
        return NULL;
    return the_ctl->cfg.cameras.noread_dir;
}

static PGconn *open_db(struct ctl *ctl)
{
    PGconn *c;
    struct err e;

    if (ctl->db == NULL) {
        if (load_config(ctl) < 0)
            return NULL;
        if (!ctl->have_cfg) {
            fprintf(stderr, "wcsctl: no database: give --db CONNINFO, --config FILE or set WCS_DB\n");
            return NULL;
        }
        if (wcs_config_db_conninfo(&ctl->cfg, ctl->conninfo, sizeof(ctl->conninfo), &e) < 0) {
            fprintf(stderr, "wcsctl: %s\n", e.msg);
            return NULL;
        }
    } else {
        snprintf(ctl->conninfo, sizeof(ctl->conninfo), "%s", ctl->db);
    }
    if (wcs_db_connect(ctl->conninfo, &c, &e) < 0) {
        fprintf(stderr, "wcsctl: database unreachable: %s\n", e.msg);
        return NULL;
    }
    return c;
}

/* Appends an operator event (who did what) to the event log. A failure is
 * reported but does not undo the action it describes. */
static void record_operator_event(PGconn *c, const char *parcel_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wcsctl_actor(char *buf, size_t len)
{
    const struct passwd *pw = getpwuid(geteuid());
    const char *who = getenv("SUDO_USER");

    if (who == NULL)
        who = pw ? pw->pw_name : "unknown";
    snprintf(buf, len, "wcsctl:%.13s", who);
}

static void record_operator_event(PGconn *c, const char *parcel_code, const char *fmt, ...)
{
    char who[32], detail[128];
    struct err e;
    va_list ap;

    wcsctl_actor(who, sizeof(who));
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (wcs_db_operator_event(c, who, parcel_code, NULL, detail, &e) < 0)
        fprintf(stderr, "wcsctl: warning: operator event not recorded: %s\n", e.msg);
}

static void warn_unrecorded(bool warned, const struct err *e)
{
    if (warned)
        fprintf(stderr, "wcsctl: warning: operator event not recorded: %s\n", e->msg);
}

/* --- HTTP to wcsd ---------------------------------------------------- */

struct buf {
    char *data;
    size_t len;
};

static size_t write_cb(char *ptr, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    char *p = realloc(b->data, b->len + add + 1);

    if (p == NULL)
        return 0;
    memcpy(p + b->len, ptr, add);
    b->data = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

static const char *http_base(struct ctl *ctl)
{
    if (ctl->http)
        return ctl->http;
    if (load_config(ctl) == 0 && ctl->have_cfg && ctl->cfg.http_listen[0] && ctl->cfg.http_port)
        snprintf(ctl->http_base, sizeof(ctl->http_base), "%s://%s:%d",
                 ctl->cfg.http_tls_cert[0] ? "https" : "http", ctl->cfg.http_listen,
                 ctl->cfg.http_port);
    else
        snprintf(ctl->http_base, sizeof(ctl->http_base), "http://127.0.0.1:8080");
    return ctl->http_base;
}

/* The certificate to trust for wcsd's TLS: --ca-file, else the config's
 * http.tls_cert when the URL came from the config; NULL = the system's. */
static const char *http_ca(struct ctl *ctl)
{
    if (ctl->ca_file)
        return ctl->ca_file;
    if (ctl->http == NULL && ctl->have_cfg && ctl->cfg.http_tls_cert[0])
        return ctl->cfg.http_tls_cert;
    return NULL;
}

/* The token wcsctl's requests carry (into ctl->auth): --token-file, else
 * the first token of the config's http.tokens_file that may read, when this
 * user can read that file; else none (wcsd then answers 401). */
static void http_auth(struct ctl *ctl)
{
    char secret[TOKEN_SECRET_MAX + 1];
    struct wcs_tokens t;
    struct err e;
    size_t i;

    if (ctl->auth_done)
        return;
    ctl->auth_done = 1;
    if (ctl->token_file != NULL) {
        if (token_read_file(ctl->token_file, secret, sizeof(secret), &e) < 0) {
            fprintf(stderr, "wcsctl: --token-file: %s\n", e.msg);
            return;
        }
        token_auth_header(secret, ctl->auth, sizeof(ctl->auth));
        explicit_bzero(secret, sizeof(secret));
        return;
    }
    if (load_config(ctl) < 0 || !ctl->have_cfg || !ctl->cfg.http_tokens_file[0])
        return;
    if (wcs_tokens_load(ctl->cfg.http_tokens_file, "http.tokens_file", &t, NULL, &e) < 0) {
        if (e.code != -EACCES)
            fprintf(stderr, "wcsctl: %s\n", e.msg);
        return;
    }
    for (i = 0; i < t.n; i++) {
        if (wcs_role_may_read(t.v[i].role)) {
            memcpy(secret, t.v[i].secret.text, t.v[i].secret.len);
            secret[t.v[i].secret.len] = '\0';
            token_auth_header(secret, ctl->auth, sizeof(ctl->auth));
            explicit_bzero(secret, sizeof(secret));
            break;
        }
    }
    wcs_tokens_free(&t);
}

/* GETs base+path; returns the parsed JSON body (caller decrefs) or NULL with
 * a message on stderr. *status gets the HTTP status. */
static json_t *http_get_json(struct ctl *ctl, const char *path, long *status)
{
    char url[1024];
    struct buf b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    CURL *h = curl_easy_init();
    CURLcode cc;
    json_t *j;
    json_error_t je;

    if (h == NULL)
        return NULL;
    snprintf(url, sizeof(url), "%s%s", http_base(ctl), path);
    http_auth(ctl);
    if (ctl->auth[0] != '\0')
        hdr = curl_slist_append(hdr, ctl->auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (http_ca(ctl) != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, http_ca(ctl));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) {
        fprintf(stderr, "wcsctl: wcsd not reachable at %s: %s\n", http_base(ctl),
                curl_easy_strerror(cc));
        curl_easy_cleanup(h);
        free(b.data);
        return NULL;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    if (*status == 401 || *status == 403)
        fprintf(stderr, "wcsctl: wcsd refused the request (HTTP %ld): %s\n", *status,
                *status == 401 ? "no valid token: give --token-file F (or WCS_TOKEN_FILE), or a "
                                 "config whose http.tokens_file this user may read"
                               : "the token's role may not read");
    j = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    if (j == NULL)
        fprintf(stderr, "wcsctl: wcsd answered %ld with a body that is not JSON: %s\n", *status,
                je.text);
    free(b.data);
    return j;
}

/* --- commands -------------------------------------------------------- */

static int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
    PGconn *c = open_db(ctl);
    struct err e;
    int applied = 0, version = 0;

    (void)argc;
    (void)argv;
    if (c == NULL)
        return 2;
    if (wcs_db_migrate(c, &applied, &e) < 0 || wcs_db_schema_version(c, &version, &e) < 0) {
        fprintf(stderr, "wcsctl: migrate: %s\n", e.msg);
        PQfinish(c);
        return 2;
    }
    printf("schema at version %d (%d migration(s) applied now)\n", version, applied);
    PQfinish(c);
    return 0;
}

static int cmd_code_check(struct ctl *ctl, int argc, char **argv)
{
    int i, all_valid = 1;

    (void)ctl;
    for (i = 0; i < argc; i++) {
        struct scan_code_info info;

        scan_code_check(argv[i], strlen(argv[i]), &info);
        printf("%s\t%s\t%s\t%s\n", argv[i], scan_code_kind_name(info.kind),
               info.valid ? "valid" : "invalid", info.valid ? "ok" : info.reason);
        if (!info.valid)
            all_valid = 0;
    }
    return all_valid ? 0 : 1;
}

/* The declaration context of an import: today, and the duty rules and
 * exchange rates named by the config (customs.duty_rules,
 * customs.exchange_rates), loaded into rules/rates. Returns 0 or -1 (told). */
static int declare_ctx(struct ctl *ctl, struct wcs_declare_ctx *cx, struct cust_duty_rules *rules,
                       struct cust_rates *rates)
{
    struct diag d = DIAG_INIT;
    struct err e;

    wcs_declare_ctx_init(cx);
    if (load_config(ctl) < 0)
        return -1;
    if (!ctl->have_cfg || (!ctl->cfg.customs_duty_rules[0] && !ctl->cfg.customs_rates[0]))
        return 0;
    if (!ctl->cfg.customs_duty_rules[0] || !ctl->cfg.customs_rates[0]) {
        fprintf(stderr, "wcsctl: %s: customs: duty_rules and exchange_rates go together\n",
                ctl->cfg.path);
        return -1;
    }
    if (cust_duty_rules_load(ctl->cfg.customs_duty_rules, rules, &d, &e) < 0 ||
        cust_rates_load(ctl->cfg.customs_rates, rates, &d, &e) < 0) {
        diag_print(&d, stderr);
        if (d.n == 0)
            fprintf(stderr, "wcsctl: %s\n", e.msg);
        diag_free(&d);
        cust_duty_rules_free(rules);
        return -1;
    }
    diag_free(&d);
    cx->rules = rules;
    cx->rates = rates;
    return 0;
}

static int cmd_import(struct ctl *ctl, int argc, char **argv)
{
    struct cust_duty_rules rules = {0};
    struct cust_rates rates = {0};
    struct wcs_declare_ctx cx;
    struct wcsctl_brokers *brokers = NULL;
    PGconn *c;
    int i, result = 0;

    if (declare_ctx(ctl, &cx, &rules, &rates) < 0)
        return 2;
    c = open_db(ctl);
    if (c == NULL || (ctl->have_cfg && wcsctl_brokers_open(c, &ctl->cfg.customs, &brokers) < 0)) {
        PQfinish(c);
        cust_duty_rules_free(&rules);
        cust_rates_free(&rates);
        return 2;
    }
    if (brokers != NULL) {
        cx.broker_of = wcsctl_brokers_of;
        cx.broker_arg = brokers;
    }
    for (i = 0; i < argc; i++) {
        struct wcs_import_summary s;
        struct diag d = DIAG_INIT;
        struct err e;
        int rc;

        memset(&s, 0, sizeof(s));
        err_clear(&e);
        rc = wcs_import_file(c, argv[i], &cx, &s, &d, &e);
        diag_print(&d, stderr);
        diag_free(&d);
        if (rc < 0) {
            fprintf(stderr, "wcsctl: import %s: %s\n", argv[i], e.msg);
            result = 2;
            continue;
        }
        printf("%s: %zu row(s): %zu loaded (%zu new, %zu updated, %zu unchanged), %zu refused\n",
               argv[i], s.counts.rows, s.inserted + s.updated + s.unchanged, s.inserted,
               s.updated, s.unchanged, s.counts.bad + s.rejected);
        if (s.decl_queued + s.decl_blocked + s.decl_kept > 0)
            printf("%s: declarations: %zu queued for the broker, %zu invalid (parcels blocked:"
                   " wcsctl customs problems), %zu already sent and kept\n",
                   argv[i], s.decl_queued, s.decl_blocked, s.decl_kept);
        record_operator_event(c, NULL, "import %.60s: %zu new, %zu updated, %zu refused",
                              argv[i], s.inserted, s.updated, s.counts.bad + s.rejected);
        if ((s.counts.bad + s.rejected + s.decl_blocked + s.decl_kept) > 0 && result == 0)
            result = 1;
    }
    PQfinish(c);
    wcsctl_brokers_close(brokers);
    cust_duty_rules_free(&rules);
    cust_rates_free(&rates);
    return result;
}

/* Runs a command kept in its own file on an open connection. */
static int with_db(struct ctl *ctl, int (*fn)(PGconn *, int, char **), int argc, char **argv)
{
    PGconn *c = open_db(ctl);
    int rc;

    if (c == NULL)
        return 2;
    rc = fn(c, argc, argv);
    PQfinish(c);
    return rc;
}

/* Reads a whole file (or a pipe such as /dev/stdin) into a NUL-terminated
 * buffer. Returns NULL with errno set. */
static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 65536, n = 0, got;
    char *buf, *p;

    if (f == NULL)
        return NULL;
    buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            p = realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Parses a plan file; prints every problem. Returns the plan or NULL. */
static struct wcs_plan *parse_plan_file(const char *path, char **text, size_t *len)
{
    struct wcs_plan *plan = NULL;
    struct diag d = DIAG_INIT;

    *text = read_whole_file(path, len);
    if (*text == NULL) {
        fprintf(stderr, "wcsctl: %s: cannot read: %s\n", path, strerror(errno));
        return NULL;
    }
    if (wcs_plan_parse_csv(path, *text, *len, &plan, &d) < 0) {
        diag_print(&d, stderr);
        fprintf(stderr, "%s: invalid sort plan (%zu problem(s)); nothing stored\n", path,
                diag_count(&d));
        diag_free(&d);
        free(*text);
        *text = NULL;
        return NULL;
    }
    diag_free(&d);
    return plan;
}

static int cmd_sortplan_check(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_plan *plan;
    char *text;
    size_t len;

    (void)ctl;
    (void)argc;
    plan = parse_plan_file(argv[0], &text, &len);
    if (plan == NULL)
        return 1;
    printf("%s: valid (%zu chutes, %zu routes, %zu rules)\n", argv[0], wcs_plan_nchutes(plan),
           wcs_plan_nroutes(plan), wcs_plan_nrules(plan));
    wcs_plan_free(plan);
    free(text);
    return 0;
}

static int activate(PGconn *c, int version)
{
    struct err e;

    char who[32];
    bool warned;

    wcsctl_actor(who, sizeof(who));
    if (wcs_act_plan_activate(c, who, version, &warned, &e) < 0) {
        fprintf(stderr, "wcsctl: activate %d: %s\n", version, e.msg);
        return e.code == ERR_NOTFOUND ? 1 : 2;
    }
    warn_unrecorded(warned, &e);
    printf("sort plan version %d is active; a running wcsd switches to it at once\n", version);
    return 0;
}

static int cmd_sortplan_load(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_plan *plan;
    PGconn *c;
    struct err e;
    char *text;
    size_t len;
    int version = 0, rc = 0, do_activate = argc > 1 && strcmp(argv[1], "--activate") == 0;

    if (argc > 2 || (argc == 2 && !do_activate)) {
        fprintf(stderr, "usage: wcsctl sortplan load FILE [--activate]\n");
        return 2;
    }
    plan = parse_plan_file(argv[0], &text, &len);
    if (plan == NULL)
        return 1;
    c = open_db(ctl);
    if (c == NULL) {
        rc = 2;
        goto out;
    }
    if (wcs_db_plan_store(c, plan, text, len, &version, &e) < 0) {
        fprintf(stderr, "wcsctl: store %s: %s\n", argv[0], e.msg);
        rc = 2;
        goto out;
    }
    record_operator_event(c, NULL, "sort plan v%d loaded from %.60s", version, argv[0]);
    printf("%s: valid, stored as version %d (%zu chutes, %zu routes, %zu rules)\n", argv[0],
           version, wcs_plan_nchutes(plan), wcs_plan_nroutes(plan), wcs_plan_nrules(plan));
    if (do_activate)
        rc = activate(c, version);
out:
    if (c)
        PQfinish(c);
    wcs_plan_free(plan);
    free(text);
    return rc;
}

static int parse_version(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v <= 0 || v > 1000000000) {
        fprintf(stderr, "wcsctl: \"%s\" is not a plan version number\n", s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int cmd_sortplan_activate(struct ctl *ctl, int argc, char **argv)
{
    PGconn *c;
    int version, rc;

    (void)argc;
    if (parse_version(argv[0], &version) < 0)
        return 2;
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    rc = activate(c, version);
    PQfinish(c);
    return rc;
}

static int cmd_sortplan_list(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_plan_version v[50];
    PGconn *c = open_db(ctl);
    struct err e;
    size_t n = 0, i;

    (void)argc;
    (void)argv;
    if (c == NULL)
        return 2;
    if (wcs_db_plan_list(c, v, 50, &n, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return 2;
    }
    printf("%-7s %-6s %-6s %-6s %-6s %-20s %-20s %s\n", "VERSION", "ACTIVE", "CHUTES", "ROUTES",
           "RULES", "LOADED", "ACTIVATED", "SOURCE");
    for (i = 0; i < n; i++)
        printf("%-7d %-6s %-6d %-6d %-6d %-20.19s %-20.19s %s\n", v[i].version,
               v[i].active ? "yes" : "", v[i].nchutes, v[i].nroutes, v[i].nrules, v[i].loaded_at,
               v[i].activated_at[0] ? v[i].activated_at : "-", v[i].source);
    PQfinish(c);
    return 0;
}

static int cmd_sortplan_show(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_plan *plan = NULL;
    PGconn *c;
    struct err e;
    int version = 0, s, n, k;
    size_t i, j;

    if (argc > 0 && parse_version(argv[0], &version) < 0)
        return 2;
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    if (wcs_db_plan_load(c, version, &plan, &version, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return e.code == ERR_NOTFOUND ? 1 : 2;
    }
    PQfinish(c);
    printf("sort plan version %d (%s)\n\nROUTES\n", version, wcs_plan_source(plan));
    for (i = 0; i < wcs_plan_nroutes(plan); i++) {
        const struct wcs_plan_route *r = wcs_plan_route(plan, i);
        printf("  %-14s %-5s %-28s chutes", r->id, r->mode, r->crossing[0] ? r->crossing : "-");
        for (k = 0; k < r->nchutes; k++)
            printf(" %s", wcs_plan_chute(plan, r->chutes[k])->id);
        if (r->fallback >= 0)
            printf("  fallback %s", wcs_plan_route(plan, (size_t)r->fallback)->id);
        printf("\n");
    }
    printf("\nRULES (postal prefix -> route)\n");
    for (i = 0; i < wcs_plan_nrules(plan); i++) {
        const struct wcs_plan_rule *r = wcs_plan_rule(plan, i);
        printf("  %03u-%03u  %-14s prio %-3d weight %u-", r->prefix_from, r->prefix_to,
               wcs_plan_route(plan, (size_t)r->route)->id, r->priority, r->weight_min_g);
        if (r->weight_max_g == UINT32_MAX)
            printf("any g");
        else
            printf("%u g", r->weight_max_g);
        printf("  services");
        if (r->nservices == 0)
            printf(" any");
        for (k = 0; k < r->nservices; k++)
            printf(" %s", r->services[k]);
        printf("\n");
    }
    printf("\nSPECIAL DESTINATIONS\n");
    for (s = 0; s < WCS_SPECIAL_COUNT; s++) {
        const uint16_t *ch = wcs_plan_special(plan, (enum wcs_special)s, &n);
        printf("  %-13s", wcs_plan_special_name((enum wcs_special)s));
        for (k = 0; k < n; k++)
            printf(" %s", wcs_plan_chute(plan, ch[k])->id);
        printf("\n");
    }
    printf("\nPARAMETERS\n");
    for (j = 0; j < wcs_plan_nparams(plan); j++) {
        const char *name, *value;
        wcs_plan_param_at(plan, j, &name, &value);
        printf("  %-14s %s\n", name, value);
    }
    wcs_plan_free(plan);
    return 0;
}

static int print_event_cb(void *arg, const struct wcs_event *ev)
{
    time_t t = (time_t)(ev->at_us / 1000000);
    struct tm tm;
    char ts[32];

    (void)arg;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("  %s.%03dZ  %-8s %-10s %-8s %-8s %-10s %s\n", ts, (int)(ev->at_us / 1000 % 1000),
           wcs_event_kind_name((enum wcs_event_kind)ev->kind), ev->location[0] ? ev->location : "-",
           ev->chute[0] ? ev->chute : "-", ev->reason[0] ? ev->reason : "-",
           ev->source[0] ? ev->source : "-", ev->detail);
    return 0;
}

/* One group of chutes from a "why": "CH012 full load 60, CH013 active load 12 (chosen)". */
static void print_group(const char *label, json_t *g)
{
    size_t i;
    json_t *x;

    if (!json_is_array(g))
        return;
    printf("  %-12s", label);
    json_array_foreach(g, i, x) {
        printf("%s %s %s", i ? "," : "", json_string_value(json_object_get(x, "chute")),
               json_string_value(json_object_get(x, "state")));
        if (json_is_integer(json_object_get(x, "load"))) /* a record has states only */
            printf(" load %lld", (long long)json_integer_value(json_object_get(x, "load")));
        printf("%s", json_is_true(json_object_get(x, "chosen")) ? " (chosen)" : "");
    }
    printf("\n");
}

/* wcsctl parcel show CODE --why, from the record: the parcel's last
 * decision and its route's chutes in the state they were in then (the
 * trace view's `then`, docs/console.md). */
static void print_then(PGconn *c, const char *code)
{
    char *text = NULL;
    struct err e;
    json_t *j, *then;
    time_t at;
    char when[32];

    if (wcs_db_console_view(c, WCS_VIEW_TRACE, code, &text, &e) < 0)
        return;
    j = json_loads(text, 0, NULL);
    free(text);
    then = json_object_get(j, "then");
    if (json_is_object(then)) {
        at = (time_t)(json_integer_value(json_object_get(then, "at")) / 1000);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
        printf("then (the last decision, %s, as recorded):\n", when);
        printf("  decision    %s, route %s plan v%lld rule line %lld%s\n",
               json_string_value(json_object_get(then, "chute")),
               json_string_value(json_object_get(then, "route")),
               (long long)json_integer_value(json_object_get(then, "plan_version")),
               (long long)json_integer_value(json_object_get(then, "rule_line")),
               json_is_true(json_object_get(then, "fallback")) ? " (its rule's route's fallback)"
                                                               : "");
        print_group("group", json_object_get(then, "group"));
        print_group("matched", json_object_get(then, "matched_group"));
    }
    json_decref(j);
}

/* wcsctl parcel show CODE --why: where wcsd would send the parcel now, and
 * why (GET /v1/decide: the rule, the route, its chutes' states and loads). */
static int print_why(struct ctl *ctl, const char *code)
{
    char path[256], wmax[24] = "any";
    long status = 0;
    json_t *j, *why, *rule, *route;
    CURL *h = curl_easy_init();
    char *esc = curl_easy_escape(h, code, 0);

    snprintf(path, sizeof(path), "/v1/decide?code=%s", esc);
    curl_free(esc);
    curl_easy_cleanup(h);
    j = http_get_json(ctl, path, &status);
    if (j == NULL)
        return 2;
    if (status != 200) {
        fprintf(stderr, "wcsctl: wcsd: %s\n",
                json_string_value(json_object_get(json_object_get(j, "error"), "message")));
        json_decref(j);
        return 2;
    }
    why = json_object_get(j, "why");
    rule = json_object_get(why, "rule");
    route = json_object_get(why, "route");
    printf("why (a dry run of wcsd now, plan v%lld):\n",
           (long long)json_integer_value(json_object_get(j, "plan_version")));
    printf("  decision    %s %s\n", json_string_value(json_object_get(j, "destination")),
           json_string_value(json_object_get(j, "reason")));
    if (json_is_integer(json_object_get(rule, "weight_max_g")))
        snprintf(wmax, sizeof(wmax), "%lld",
                 (long long)json_integer_value(json_object_get(rule, "weight_max_g")));
    if (json_is_object(rule))
        printf("  rule        line %lld: postal %03lld-%03lld, weight %lld-%s g, priority %lld%s%s\n",
               (long long)json_integer_value(json_object_get(rule, "line")),
               (long long)json_integer_value(json_object_get(rule, "postal_prefix_from")),
               (long long)json_integer_value(json_object_get(rule, "postal_prefix_to")),
               (long long)json_integer_value(json_object_get(rule, "weight_min_g")), wmax,
               (long long)json_integer_value(json_object_get(rule, "priority")),
               json_string_length(json_object_get(rule, "description")) ? ": " : "",
               json_string_value(json_object_get(rule, "description")));
    else
        printf("  rule        none (the reason above decided before the rules)\n");
    if (json_is_object(route))
        printf("  route       %s (%s%s%s)\n", json_string_value(json_object_get(route, "id")),
               json_string_value(json_object_get(route, "mode")),
               json_string_length(json_object_get(route, "crossing")) ? ", " : "",
               json_string_value(json_object_get(route, "crossing")));
    if (json_is_string(json_object_get(why, "fallback_from")))
        printf("  fallback    from %s: no chute of its group was active\n",
               json_string_value(json_object_get(why, "fallback_from")));
    print_group("group", json_object_get(why, "group"));
    print_group("fallback", json_object_get(why, "fallback_group"));
    json_decref(j);
    return 0;
}

static int cmd_parcel_show(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_preadvice a;
    PGconn *c;
    struct err e;
    int64_t id = 0;
    int i, rc, why = argc > 1 && strcmp(argv[1], "--why") == 0;

    if (argc > 2 || (argc == 2 && !why)) {
        fprintf(stderr, "usage: wcsctl parcel show CODE [--why]\n");
        return 2;
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    rc = wcs_db_parcel_get(c, argv[0], &a, &id, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s: %s\n", argv[0], rc == ERR_NOTFOUND ? "no such parcel" : e.msg);
        PQfinish(c);
        return rc == ERR_NOTFOUND ? 1 : 2;
    }
    printf("parcel %s (id %lld)\n", a.code, (long long)id);
    printf("  other ids    ");
    for (i = 0; i < a.n_other_ids; i++)
        printf(" %s", a.other_ids[i]);
    printf("%s\n", a.n_other_ids ? "" : " -");
    printf("  service       %s\n", a.service);
    printf("  recipient     %s, %s\n", a.recipient_name[0] ? a.recipient_name : "-",
           a.phone[0] ? a.phone : "-");
    printf("  address       %s %s, %s, %s\n", a.postal_code, a.city, a.address, a.country);
    printf("  weight        %d g, %d x %d x %d mm\n", a.weight_g, a.length_mm, a.width_mm,
           a.height_mm);
    if (a.declared_value >= 0)
        printf("  value         %lld.%02lld %s\n", (long long)(a.declared_value / 100),
               (long long)(a.declared_value % 100), a.currency);
    printf("  item          %s (HS %s)\n", a.item_description[0] ? a.item_description : "-",
           a.hs_code[0] ? a.hs_code : "-");
    printf("  customs       %s\n", cust_status_name(a.customs));
    printf("events:\n");
    rc = wcs_db_parcel_events(c, id, print_event_cb, NULL, &e);
    if (rc == 0 && why)
        print_then(c, a.code);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: events: %s\n", e.msg);
        return 2;
    }
    return why ? print_why(ctl, a.code) : 0;
}

static int print_telegram_cb(void *arg, const struct wcs_telegram_rec *tg)
{
    time_t t = (time_t)(tg->at_us / 1000000);
    struct tm tm;
    char ts[32];

    (void)arg;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s.%03dZ  %-5s %s  %.*s\n", ts, (int)(tg->at_us / 1000 % 1000), tg->plc,
           tg->direction == 'i' ? "<-" : "->", (int)tg->raw_len, tg->raw);
    return 0;
}

int wcsctl_parse_since(const char *s, int64_t *us)
{
    struct tm tm;
    char *end;
    long n;
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    n = strtol(s, &end, 10);
    if (end != s && n >= 0 && end[0] != '\0' && end[1] == '\0' && strchr("smhd", end[0])) {
        long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
        *us = ((int64_t)now.tv_sec - (int64_t)n * mult) * 1000000;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    *us = (int64_t)timegm(&tm) * 1000000;
    return 0;
}

static int line_found_cb(void *arg, const struct wcs_line_status *l)
{
    *(int *)arg = (int)l->node_id;
    return 0;
}

/* The events.node_id of line node (its ids' low bits), for --line; -1 with
 * a message when the database knows no such line. */
static int line_node_id(PGconn *c, const char *node)
{
    struct err e;
    int id = -1;

    if (wcs_db_lines(c, node, line_found_cb, &id, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return -1;
    }
    if (id < 0)
        fprintf(stderr, "wcsctl: --line %s: no such line (a line is known once its wcsd "
                        "started; wcsctl status lists them)\n",
                node);
    return id;
}

static int cmd_telegrams(struct ctl *ctl, int argc, char **argv)
{
    const char *plc = NULL, *line = NULL;
    int node_id = -1;
    int64_t since;
    long limit = 1000;
    PGconn *c;
    struct err e;
    int i, rc;

    wcsctl_parse_since("15m", &since); /* default: the last quarter of an hour */
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--plc") == 0 && i + 1 < argc) {
            plc = argv[++i];
        } else if (strcmp(argv[i], "--line") == 0 && i + 1 < argc) {
            line = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (wcsctl_parse_since(argv[++i], &since) < 0) {
                fprintf(stderr, "wcsctl: --since %s: give 2026-11-23T14:00:00 (UTC) or 10m, 2h...\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtol(argv[++i], NULL, 10);
            if (limit <= 0) {
                fprintf(stderr, "wcsctl: --limit must be a positive number\n");
                return 2;
            }
        } else {
            fprintf(stderr,
                    "usage: wcsctl telegrams [--line NODE] [--plc ID] [--since T] [--limit N]\n");
            return 2;
        }
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    if (line != NULL && (node_id = line_node_id(c, line)) < 0) {
        PQfinish(c);
        return 2;
    }
    rc = wcs_db_telegrams_list(c, node_id, plc, since, (size_t)limit, print_telegram_cb, NULL, &e);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: telegrams: %s\n", e.msg);
        return 2;
    }
    return 0;
}

struct summary_state {
    char group[16];
    int col;
};

static int print_summary_cb(void *arg, const char *group, const char *key, long long n)
{
    struct summary_state *st = arg;
    static const struct {
        const char *group, *title;
    } titles[] = {{"decision", "decisions by reason"},
                  {"confirm", "sorter confirmations"},
                  {"chute", "parcels sorted per chute"}};
    size_t i;

    if (strcmp(st->group, group) != 0) {
        snprintf(st->group, sizeof(st->group), "%s", group);
        for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
            if (strcmp(titles[i].group, group) == 0)
                printf("%s%s:\n", st->col % 4 ? "\n" : "", titles[i].title);
        st->col = 0;
    }
    printf("  %-12s %7lld", key[0] ? key : "-", n);
    if (++st->col % 4 == 0)
        printf("\n");
    return 0;
}

static int cmd_audit(struct ctl *ctl, int argc, char **argv)
{
    const char *user = NULL;
    int64_t since;
    PGconn *c;
    struct err e;
    int i, rc;

    wcsctl_parse_since("24h", &since);
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--since") == 0 && i + 1 < argc && wcsctl_parse_since(argv[i + 1], &since) == 0)
            i++;
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else {
            fprintf(stderr, "usage: wcsctl audit [--since T] [--user NAME]\n");
            return 2;
        }
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    rc = wcs_db_operator_events(c, since, user, print_event_cb, NULL, &e);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    return 0;
}

static int cmd_summary(struct ctl *ctl, int argc, char **argv)
{
    struct summary_state st;
    int64_t since;
    PGconn *c;
    struct err e;
    int rc;

    wcsctl_parse_since("24h", &since);
    if (argc == 2 && strcmp(argv[0], "--since") == 0) {
        if (wcsctl_parse_since(argv[1], &since) < 0) {
            fprintf(stderr, "wcsctl: --since %s: give 2026-11-23T14:00:00 (UTC) or 10m, 2h...\n",
                    argv[1]);
            return 2;
        }
    } else if (argc != 0) {
        fprintf(stderr, "usage: wcsctl summary [--since T]\n");
        return 2;
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    memset(&st, 0, sizeof(st));
    rc = wcs_db_summary(c, since, print_summary_cb, &st, &e);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: summary: %s\n", e.msg);
        return 2;
    }
    if (st.col % 4 != 0)
        printf("\n");
    return 0;
}

/* "2026-12-07T18:20:01Z" of Unix microseconds, "-" for 0. */
static const char *utc_text(int64_t us, char *buf, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (us == 0 || gmtime_r(&t, &tm) == NULL)
        snprintf(buf, len, "-");
    else
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* One line of `wcsctl status` per sorting line: its active wcsd, since
 * when, its standby and the last takeover (the lease's row). */
static int print_line_cb(void *arg, const struct wcs_line_status *l)
{
    char since[32], last[32];

    (void)arg;
    printf("line %s (events.node_id %u): ", l->node, l->node_id);
    if (l->held)
        printf("active %s since %s (token %lld)", l->holder,
               utc_text(l->active_since_us, since, sizeof(since)), (long long)l->token);
    else
        printf("NO ACTIVE wcsd (lease of %s lapsed or released)",
               l->holder[0] ? l->holder : "-");
    printf(", standby %s", l->standby[0] ? l->standby : "none");
    if (l->takeovers > 0)
        printf(", %ld takeover(s), the last at %s from %s", l->takeovers,
               utc_text(l->last_takeover_us, last, sizeof(last)), l->last_takeover_from);
    printf("\n");
    return 0;
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_db_status s;
    PGconn *c = open_db(ctl);
    struct err e;
    json_t *j;
    long code = 0;
    int rc = 0;

    (void)argc;
    (void)argv;
    if (c == NULL)
        return 2;
    if (wcs_db_status(c, &s, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return 2;
    }
    printf("database: schema v%d, plan v%d active, %lld parcels (%lld ids), %lld events%s%s\n",
           s.schema_version, s.plan_version, s.parcels, s.parcel_ids, s.events,
           s.last_event_at[0] ? ", last at " : "", s.last_event_at);
    if (wcs_db_lines(c, NULL, print_line_cb, NULL, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return 2;
    }
    rc = wcsctl_noread_status(c);
    if (rc == 0)
        rc = wcsctl_customs_status(c);
    PQfinish(c);
    if (rc == 2)
        return 2;
    j = http_get_json(ctl, "/v1/status", &code);
    if (j == NULL)
        return 1;
    if (code != 200) {
        printf("wcsd: answered HTTP %ld\n", code);
        rc = 1;
    } else {
        json_t *ev = json_object_get(j, "events");
        printf("wcsd: %s ready, plan v%lld, %lld parcels indexed, %lld decisions, events "
               "%lld written / %lld queued, up %.0f s\n",
               json_string_value(json_object_get(j, "node")),
               (long long)json_integer_value(json_object_get(j, "plan_version")),
               (long long)json_integer_value(json_object_get(j, "parcels")),
               (long long)json_integer_value(json_object_get(j, "decisions")),
               (long long)json_integer_value(json_object_get(ev, "written")),
               (long long)json_integer_value(json_object_get(ev, "queued")),
               json_real_value(json_object_get(j, "uptime_s")));
    }
    json_decref(j);
    return rc;
}

static int cmd_scanners(struct ctl *ctl, int argc, char **argv)
{
    json_t *j, *list, *sc;
    long code = 0;
    size_t i;

    (void)argc;
    (void)argv;
    j = http_get_json(ctl, "/v1/scanners", &code);
    if (j == NULL)
        return 2;
    if (code != 200) {
        fprintf(stderr, "wcsctl: wcsd answered HTTP %ld\n", code);
        json_decref(j);
        return 2;
    }
    list = json_object_get(j, "scanners");
    printf("%-12s %-10s %-8s %-9s %-9s %7s %6s  %-20s %s\n", "SCANNER", "LOCATION", "KIND", "STATE",
           "DEVICE", "READS", "ERRORS", "LAST READ", "LAST CODE");
    json_array_foreach(list, i, sc)
    {
        json_int_t last = json_integer_value(json_object_get(sc, "last_read_us"));
        char when[32] = "-";

        if (last > 0) {
            time_t t = (time_t)(last / 1000000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        printf("%-12s %-10s %-8s %-9s %-9s %7lld %6lld  %-20s %s\n",
               json_string_value(json_object_get(sc, "id")),
               json_string_value(json_object_get(sc, "location")),
               json_string_value(json_object_get(sc, "kind")),
               json_is_true(json_object_get(sc, "connected")) ? "connected" : "absent",
               json_string_value(json_object_get(sc, "device"))[0]
                   ? json_string_value(json_object_get(sc, "device"))
                   : "-",
               (long long)json_integer_value(json_object_get(sc, "reads")),
               (long long)json_integer_value(json_object_get(sc, "errors")), when,
               json_string_value(json_object_get(sc, "last_code"))[0]
                   ? json_string_value(json_object_get(sc, "last_code"))
                   : "-");
    }
    if (json_array_size(list) == 0)
        printf("(no scanners configured in wcsd's `scanners:` list)\n");
    list = json_object_get(j, "cameras");
    if (json_array_size(list) > 0)
        printf("\n%-12s %-10s %-6s %-6s %8s %7s %7s %7s %7s %4s %9s  %s\n", "CAMERA", "LOCATION",
               "KIND", "STATE", "FRAMES", "READ", "NOREAD", "SEVERAL", "DROPPED", "BAD",
               "DECODE MS", "PATH");
    json_array_foreach(list, i, sc)
    {
        printf("%-12s %-10s %-6s %-6s %8lld %7lld %7lld %7lld %7lld %4lld %9.1f  %s\n",
               json_string_value(json_object_get(sc, "id")),
               json_string_value(json_object_get(sc, "location")),
               json_string_value(json_object_get(sc, "kind")),
               json_is_true(json_object_get(sc, "open")) ? "open" : "absent",
               (long long)json_integer_value(json_object_get(sc, "frames")),
               (long long)json_integer_value(json_object_get(sc, "read")),
               (long long)json_integer_value(json_object_get(sc, "noread")),
               (long long)json_integer_value(json_object_get(sc, "several")),
               (long long)json_integer_value(json_object_get(sc, "dropped")),
               (long long)json_integer_value(json_object_get(sc, "bad")),
               json_real_value(json_object_get(sc, "decode_ms")),
               json_string_value(json_object_get(sc, "path")));
    }
    json_decref(j);
    return 0;
}

static int cmd_decide(struct ctl *ctl, int argc, char **argv)
{
    char path[1024];
    size_t off;
    json_t *j, *route, *parcel;
    long code = 0;
    int i;
    CURL *h = curl_easy_init();

    off = (size_t)snprintf(path, sizeof(path), "/v1/decide?");
    for (i = 0; i < argc && off < sizeof(path) - 64; i++) {
        char *esc = curl_easy_escape(h, argv[i], 0);
        if (strncmp(argv[i], "weight_g=", 9) == 0 || strncmp(argv[i], "recirc=", 7) == 0)
            off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s", i ? "&" : "",
                                    argv[i]);
        else
            off += (size_t)snprintf(path + off, sizeof(path) - off, "%scode=%s", i ? "&" : "",
                                    esc);
        curl_free(esc);
    }
    curl_easy_cleanup(h);
    j = http_get_json(ctl, path, &code);
    if (j == NULL)
        return 2;
    if (code != 200) {
        json_t *err = json_object_get(j, "error");
        fprintf(stderr, "wcsctl: wcsd: %s\n", json_string_value(json_object_get(err, "message")));
        json_decref(j);
        return 2;
    }
    route = json_object_get(j, "route");
    parcel = json_object_get(j, "parcel");
    printf("%s\t%s\t%s", json_string_value(json_object_get(j, "destination")),
           json_string_value(json_object_get(j, "reason")),
           json_is_string(route) ? json_string_value(route) : "-");
    if (json_is_object(parcel))
        printf("\tpostal %s, %s, %lld g, customs %s",
               json_string_value(json_object_get(parcel, "postal_code")),
               json_string_value(json_object_get(parcel, "service")),
               (long long)json_integer_value(json_object_get(parcel, "weight_g")),
               json_string_value(json_object_get(parcel, "customs")));
    printf("\n");
    json_decref(j);
    return 0;
}

/* --- bags, dispatches, manifests (wcs/bags.h, docs/bags.md) ------------- */

static int cmd_bag_close(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_bag_closed b;
    const char *chute = argc > 0 ? argv[0] : NULL, *line = NULL;
    char who[32];
    bool warned;
    long weight = -1;
    char *end;
    PGconn *c;
    struct err e;
    int i, rc;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--weight-g") == 0 && i + 1 < argc) {
            errno = 0;
            weight = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || end == argv[i] || weight < 0 || weight > 999949) {
                fprintf(stderr, "wcsctl: --weight-g %s: give grams, 0-999949\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--line") == 0 && i + 1 < argc) {
            line = argv[++i];
        } else {
            chute = NULL;
            break;
        }
    }
    if (chute == NULL || chute[0] == '-') {
        fprintf(stderr, "usage: wcsctl bag close CHUTE [--weight-g N] [--line NODE]\n");
        return 2;
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = wcs_act_bag_close(c, who, line, chute, (int)weight, &b, &warned, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return rc == ERR_DB ? 2 : 1;
    }
    printf("bag %s\tchute %s\troute %s\t%d g (%s)\t%d parcel(s)\n", b.bag_id, chute, b.route,
           b.weight_g, b.weighed ? "weighed" : "pre-advice", b.parcels);
    if (b.no_weight > 0)
        printf("warning: %d parcel(s) without a pre-advised weight\n", b.no_weight);
    if (b.unknown > 0)
        printf("warning: %d sorted code(s) without pre-advice are not in the manifest\n",
               b.unknown);
    warn_unrecorded(warned, &e);
    PQfinish(c);
    return 0;
}

static int cmd_dispatch_open(struct ctl *ctl, int argc, char **argv)
{
    const char *transport = NULL, *crossing = "", *departure = NULL, *carrier = "";
    char id[WCS_MANIFEST_ID_MAX], who[32];
    bool warned;
    PGconn *c;
    struct err e;
    int i, rc;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--transport") == 0)
            transport = argv[i + 1];
        else if (strcmp(argv[i], "--crossing") == 0)
            crossing = argv[i + 1];
        else if (strcmp(argv[i], "--carrier") == 0)
            carrier = argv[i + 1];
        else if (strcmp(argv[i], "--departure") == 0)
            departure = argv[i + 1];
        else
            break;
    }
    if (i != argc || transport == NULL || departure == NULL) {
        fprintf(stderr, "usage: wcsctl dispatch open ROUTE --transport air|rail|road "
                        "[--crossing NAME] [--carrier NAME] --departure ISO8601\n");
        return 2;
    }
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = wcs_act_dispatch_open(c, who, argv[0], transport, crossing, departure, carrier, id,
                               &warned, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return rc == ERR_DB ? 2 : 1;
    }
    printf("%s\n", id);
    warn_unrecorded(warned, &e);
    PQfinish(c);
    return 0;
}

static int cmd_dispatch_add(struct ctl *ctl, int argc, char **argv)
{
    PGconn *c = open_db(ctl);
    char who[32];
    bool warned;
    struct err e;
    int rc;

    if (c == NULL)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = wcs_act_dispatch_add(c, who, argv[0], (const char *const *)(argv + 1),
                              (size_t)(argc - 1), &warned, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return rc == ERR_DB ? 2 : 1;
    }
    printf("%s: %d bag(s) added\n", argv[0], argc - 1);
    warn_unrecorded(warned, &e);
    PQfinish(c);
    return 0;
}

static int cmd_dispatch_close(struct ctl *ctl, int argc, char **argv)
{
    PGconn *c = open_db(ctl);
    char who[32];
    bool warned;
    struct err e;
    int rc;

    (void)argc;
    if (c == NULL)
        return 2;
    wcsctl_actor(who, sizeof(who));
    rc = wcs_act_dispatch_close(c, who, argv[0], &warned, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return rc == ERR_DB ? 2 : 1;
    }
    printf("%s closed; manifest ready for the customs outbox\n", argv[0]);
    warn_unrecorded(warned, &e);
    PQfinish(c);
    return 0;
}

static int cmd_dispatch_show(struct ctl *ctl, int argc, char **argv)
{
    struct wcs_manifest m;
    PGconn *c = open_db(ctl);
    struct err e;
    size_t i, np = 0;
    long long w = 0;
    json_t *unknown;
    int rc = 0;

    (void)argc;
    if (c == NULL)
        return 2;
    if (wcs_db_manifest_load(c, argv[0], &m, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        PQfinish(c);
        return e.code == ERR_DB ? 2 : 1;
    }
    PQfinish(c);
    printf("dispatch %s  %s\nroute %s  transport %s  crossing %s  departure %s  carrier %s\n",
           m.manifest_id, m.status, m.route, m.transport,
           m.border_crossing[0] ? m.border_crossing : "-", m.departure,
           m.carrier[0] ? m.carrier : "-");
    printf("%-29s %-8s %10s %7s\n", "BAG", "CHUTE", "WEIGHT_G", "PARCELS");
    for (i = 0; i < m.nbags; i++) {
        printf("%-29s %-8s %10d %7zu\n", m.bags[i].bag_id, m.bags[i].chute,
               m.bags[i].gross_weight_g, m.bags[i].nparcels);
        np += m.bags[i].nparcels;
        w += m.bags[i].gross_weight_g;
    }
    printf("%zu bag(s), %zu parcel(s), %lld g\n", m.nbags, np, w);
    if (m.submission[0] != '\0')
        printf("manifest to the broker: %s%s%s%s%s\n", m.submission,
               m.broker_ref[0] ? ", broker reference " : "", m.broker_ref,
               m.answered_at[0] ? ", at " : "", m.answered_at);
    if (m.manifest_error[0] != '\0')
        printf("refused: %s\n", m.manifest_error);
    unknown = m.unknown_parcels ? json_loads(m.unknown_parcels, 0, NULL) : NULL;
    if (json_array_size(unknown) > 0) {
        /* The broker has no accepted declaration for these: customs will
         * stop them at the border unless they are declared or taken out. */
        printf("%zu parcel(s) unknown to the broker (no accepted declaration):\n",
               json_array_size(unknown));
        for (i = 0; i < json_array_size(unknown); i++)
            printf("  %s\n", json_string_value(json_array_get(unknown, i)));
        rc = 1;
    }
    json_decref(unknown);
    wcs_manifest_free(&m);
    return rc;
}

/* A document command's options after its id: [--format F] [--out FILE];
 * *format keeps its default unless given and must be one of formats
 * (NULL-terminated). Returns 0, or -1 after printing usage. */
static int document_opts(int argc, char **argv, const char *const *formats, const char *usage,
                         const char **format, const char **outpath)
{
    int i, k;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--format") == 0)
            *format = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            *outpath = argv[i + 1];
        else
            break;
    }
    for (k = 0; formats[k] != NULL && strcmp(formats[k], *format) != 0; k++)
        ;
    if (i != argc || formats[k] == NULL) {
        fprintf(stderr, "usage: wcsctl %s\n", usage);
        return -1;
    }
    return 0;
}

/* Writes a document to outpath, or to standard output when it is NULL.
 * Returns 0 or 2 (reported). */
static int write_document(const char *what, const char *outpath, const unsigned char *doc,
                          size_t len)
{
    FILE *f = outpath != NULL ? fopen(outpath, "w") : stdout;
    int rc;

    if (f == NULL) {
        fprintf(stderr, "wcsctl: %s: %s\n", outpath, strerror(errno));
        return 2;
    }
    rc = fwrite(doc, 1, len, f) == len && fflush(f) == 0 ? 0 : 2;
    if (outpath != NULL && fclose(f) != 0)
        rc = 2;
    if (rc != 0)
        fprintf(stderr, "wcsctl: %s: write failed\n", what);
    return rc;
}

static int cmd_bag_label(struct ctl *ctl, int argc, char **argv)
{
    static const char *const formats[] = {"pdf", "zpl", NULL};
    const char *format = "pdf", *outpath = NULL;
    struct wcs_bag_label l;
    unsigned char *doc = NULL;
    size_t len = 0;
    PGconn *c;
    struct err e;
    int rc;

    if (document_opts(argc, argv, formats, "bag label BAG_ID [--format pdf|zpl] [--out FILE]",
                      &format, &outpath) < 0)
        return 2;
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    rc = wcs_db_bag_label(c, argv[0], &l, &e);
    PQfinish(c);
    if (rc == 0)
        rc = strcmp(format, "pdf") == 0 ? wcs_label_pdf(&l, &doc, &len, &e)
                                         : wcs_label_zpl(&l, (char **)&doc, &len, &e);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_DB || rc == -ENOMEM ? 2 : 1;
    }
    rc = write_document("bag label", outpath, doc, len);
    free(doc);
    return rc;
}

/* Loads closed dispatch id into *m for a document (what names it in
 * messages). Returns 0, or wcsctl's exit code after saying why: 1 no such
 * dispatch or still open, 2 the database. */
static int closed_dispatch(struct ctl *ctl, const char *id, const char *what,
                           struct wcs_manifest *m)
{
    PGconn *c = open_db(ctl);
    struct err e;
    int rc;

    if (c == NULL)
        return 2;
    rc = wcs_db_manifest_load(c, id, m, &e);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_DB ? 2 : 1;
    }
    if (strcmp(m->status, "open") == 0) {
        fprintf(stderr, "wcsctl: %s: dispatch %s is still open: close it first\n", what,
                m->manifest_id);
        wcs_manifest_free(m);
        return 1;
    }
    return 0;
}

static int cmd_dispatch_export(struct ctl *ctl, int argc, char **argv)
{
    static const char *const formats[] = {"predes-json", NULL};
    const char *format = "", *outpath = NULL;
    struct wcs_manifest m;
    char *doc = NULL;
    json_t *j;
    struct err e = {0};
    int rc;

    if (document_opts(argc, argv, formats,
                      "dispatch export DISPATCH --format predes-json [--out FILE]", &format,
                      &outpath) < 0)
        return 2;
    rc = closed_dispatch(ctl, argv[0], "pre-advice", &m);
    if (rc != 0)
        return rc;
    j = wcs_predes_json(&m, &e);
    if (j == NULL || (doc = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII)) == NULL)
        rc = e.code ? e.code : err_set(&e, -ENOMEM, "pre-advice: out of memory");
    json_decref(j);
    wcs_manifest_free(&m);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_INVALID ? 1 : 2;
    }
    rc = write_document("dispatch export", outpath, (const unsigned char *)doc, strlen(doc));
    free(doc);
    return rc;
}

static int cmd_dispatch_bill(struct ctl *ctl, int argc, char **argv)
{
    static const char *const formats[] = {"pdf", "csv", NULL};
    const char *format = "pdf", *outpath = NULL;
    struct wcs_manifest m;
    unsigned char *doc = NULL;
    size_t len = 0;
    struct err e;
    int rc;

    if (document_opts(argc, argv, formats,
                      "dispatch bill DISPATCH [--format pdf|csv] [--out FILE]", &format,
                      &outpath) < 0)
        return 2;
    rc = closed_dispatch(ctl, argv[0], "bill", &m);
    if (rc != 0)
        return rc;
    if (strcmp(format, "pdf") == 0) {
        rc = wcs_bill_pdf(&m, &doc, &len, &e);
    } else {
        FILE *mem = open_memstream((char **)&doc, &len);
        rc = mem == NULL ? err_set(&e, -ENOMEM, "bill: out of memory") : wcs_bill_csv(&m, mem, &e);
        if (mem != NULL && fclose(mem) != 0 && rc == 0)
            rc = err_set(&e, -ENOMEM, "bill: out of memory");
    }
    wcs_manifest_free(&m);
    if (rc < 0) {
        free(doc);
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return 2;
    }
    rc = write_document("dispatch bill", outpath, doc, len);
    free(doc);
    return rc;
}

static int cmd_manifest_export(struct ctl *ctl, int argc, char **argv)
{
    static const char *const formats[] = {"json", "csv", NULL};
    const char *format = "json", *outpath = NULL;
    struct wcs_manifest m;
    FILE *f = stdout;
    PGconn *c;
    struct err e;
    int rc = 0;

    if (document_opts(argc, argv, formats,
                      "manifest export DISPATCH --format json|csv [--out FILE]", &format,
                      &outpath) < 0)
        return 2;
    c = open_db(ctl);
    if (c == NULL)
        return 2;
    rc = wcs_db_manifest_load(c, argv[0], &m, &e);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        return rc == ERR_DB ? 2 : 1;
    }
    if (outpath != NULL && (f = fopen(outpath, "w")) == NULL) {
        fprintf(stderr, "wcsctl: %s: %s\n", outpath, strerror(errno));
        wcs_manifest_free(&m);
        return 2;
    }
    if (strcmp(format, "json") == 0) {
        json_t *j = wcs_manifest_json(&m);
        if (j == NULL || json_dumpf(j, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF) {
            fprintf(stderr, "wcsctl: manifest: write failed\n");
            rc = 2;
        }
        json_decref(j);
    } else if (wcs_manifest_csv(&m, f, &e) < 0) {
        fprintf(stderr, "wcsctl: %s\n", e.msg);
        rc = 2;
    }
    if (outpath != NULL && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "wcsctl: %s: %s\n", outpath, strerror(errno));
        rc = 2;
    }
    wcs_manifest_free(&m);
    return rc;
}

static const struct command commands[] = {
    {"migrate", "", "apply pending schema migrations", 0, cmd_migrate, NULL},
    {"import", "FILE...", "load pre-advice (CSV with header, or JSON Lines)", 1, cmd_import, NULL},
    {"code check", "CODE...", "validate parcel/bag codes: CODE<TAB>KIND<TAB>valid|invalid<TAB>REASON",
     1, cmd_code_check, NULL},
    {"sortplan check", "FILE", "validate a sort plan CSV without storing it", 1,
     cmd_sortplan_check, NULL},
    {"sortplan load", "FILE [--activate]", "validate and store a sort plan as a new version", 1,
     cmd_sortplan_load, NULL},
    {"sortplan activate", "N", "make version N active (a running wcsd switches at once)", 1,
     cmd_sortplan_activate, NULL},
    {"sortplan list", "", "list stored plan versions", 0, cmd_sortplan_list, NULL},
    {"sortplan show", "[N]", "print a plan version (default: the active one)", 0,
     cmd_sortplan_show, NULL},
    {"parcel show", "CODE [--why]",
     "a parcel's pre-advice data and full event trace; --why: its last decision's route chutes as they were then, and where wcsd would send it now and why"
     " (rule, route, its chutes' states and loads)",
     1, cmd_parcel_show, NULL},
    {"telegrams", "[--plc ID] [--since T] [--limit N]",
     "PLC telegram log, oldest first; default last 15m, 1000 (T: 2026-11-23T14:00:00, 2h)", 0,
     cmd_telegrams, NULL},
    {"scanners", "", "the WCS's own scanners (connected, reads, errors, last code) and cameras"
     " (frames, read, no-read, dropped)", 0,
     cmd_scanners, NULL},
    {"summary", "[--since T]", "sorting summary: decisions by reason, confirmations, per chute", 0,
     cmd_summary, NULL},
    {"status", "", "what the database holds, customs worker alarms, what the running wcsd reports",
     0, cmd_status, NULL},
    {"decide", "CODE... [weight_g=N] [recirc=N]", "ask wcsd where a parcel would go (dry run)", 1,
     cmd_decide, NULL},
    {"bag close", "CHUTE [--weight-g N]",
     "close the chute's bag: parcels sorted since its last bag, UPU receptacle id", 1,
     cmd_bag_close, NULL},
    {"bag label", "BAG_ID [--format pdf|zpl] [--out FILE]",
     "a closed bag's label (100 x 150 mm, Code 128 of its receptacle id): PDF (default, to"
     " standard output) or ZPL for a thermal printer", 1, cmd_bag_label, NULL},
    {"dispatch bill", "DISPATCH [--format pdf|csv] [--out FILE]",
     "a closed dispatch's delivery bill (CN 38 air, CN 37 surface): every receptacle, totals"
     " carried over pages; PDF (default, to standard output) or CSV", 1, cmd_dispatch_bill, NULL},
    {"dispatch export", "DISPATCH --format predes-json [--out FILE]",
     "a closed dispatch's pre-advice for the receiving side (PREDES-like JSON: receptacles, their"
     " weights and items; schema docs/schemas/predes.json)", 1, cmd_dispatch_export, NULL},
    {"dispatch open", "ROUTE --transport T --departure ISO8601 [--crossing NAME] [--carrier NAME]",
     "open a dispatch (prints its manifest id, HRB-YYYYMMDD-XXX-NNN)", 1, cmd_dispatch_open, NULL},
    {"dispatch add", "DISPATCH BAG...", "put closed bags into an open dispatch", 2,
     cmd_dispatch_add, NULL},
    {"dispatch close", "DISPATCH", "close a dispatch; its manifest waits for the customs outbox",
     1, cmd_dispatch_close, NULL},
    {"dispatch show", "DISPATCH", "a dispatch with its bags, weights and parcel counts", 1,
     cmd_dispatch_show, NULL},
    {"tracking export", "[--since 10m|2h|TIME] [--after CURSOR] [--out FILE]",
     "the parcels' tracking events as JSON lines, oldest first (the feed's fields)", 0, NULL,
     wcsctl_tracking_export},
    {"customs problems", "[--kind K[,K...]] [--json]",
     "customs worker alarms, declarations invalid (parcel blocked) or rejected, held parcels,"
     " manifest answers with unknown parcels, duty over the limit, warnings",
     0, NULL, wcsctl_customs_problems},
    {"customs show", "CODE", "a parcel's declaration: status, errors, duty, outbox, broker events",
     1, NULL, wcsctl_customs_show},
    {"manifest export", "DISPATCH [--format json|csv] [--out FILE]",
     "the customs manifest: broker JSON body, or CSV one row per parcel", 1,
     cmd_manifest_export, NULL},
    {"user add", "NAME --role viewer|operator|supervisor|admin [--password-file F]",
     "add a console user (password from F's first line, else typed twice)", 1, NULL, wcsctl_user_add},
    {"user passwd", "NAME [--password-file F]", "set a user's password", 1, NULL, wcsctl_user_passwd},
    {"user disable", "NAME", "stop a user from logging in (the user stays, for the audit)", 1,
     NULL, wcsctl_user_disable},
    {"user enable", "NAME", "let a disabled user log in again", 1, NULL, wcsctl_user_enable},
    {"user list", "", "users: NAME ROLE active|disabled LANGUAGE created password-changed", 0,
     NULL, wcsctl_user_list},
    {"noread list", "[--state pending|keyed|unreadable|expired|all] [--line NODE] [--limit N] [--json]",
     "no-read parcels for video coding: pending ones oldest first (the queue), else newest first",
     0, NULL, wcsctl_noread_list},
    {"noread show", "ID [--json]", "a no-read parcel: tracking, cause, images (files), who keyed what", 1,
     NULL, wcsctl_noread_show},
    {"noread key", "ID CODE | ID --unreadable",
     "key in a no-read parcel's code (checked as a scan), or mark it unreadable; the line gives"
     " the parcel its destination when it comes round", 2, NULL, wcsctl_noread_key},
    {"audit", "[--since T] [--user NAME]",
     "what operators did (logins, bags, plans, dispatches, users...), oldest first; default last 24h",
     0, cmd_audit, NULL},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "usage: wcsctl [--config FILE | --db CONNINFO] [--http URL] [--token-file F]\n"
            "              [--ca-file F] COMMAND [ARGS]\n\n"
            "options:\n"
            "  -c, --config FILE  wcsd's YAML config (database, http); default %s\n"
            "  -d, --db CONNINFO  libpq connection string (or env WCS_DB)\n"
            "  -u, --http URL     wcsd's HTTP API (or env WCS_HTTP; default from config)\n"
            "  -t, --token-file F wcsd's bearer token, the secret alone on the first line\n"
            "                     (or env WCS_TOKEN_FILE; default: the first token of the\n"
            "                     config's http.tokens_file that may read, if readable)\n"
            "      --ca-file F    certificate to trust for https (or env WCS_CA_FILE;\n"
            "                     default: the config's http.tls_cert)\n"
            "  -h, --help         this text\n\ncommands:\n",
            DEFAULT_CONFIG);
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-18s %-34s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\nexit status: 0 ok, 1 problems found (invalid codes, refused rows, invalid "
               "plan), 2 usage, I/O or database error\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"http", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {"token-file", required_argument, NULL, 't'},
        {"ca-file", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    struct ctl ctl;
    size_t i;
    int ch, rc;

    memset(&ctl, 0, sizeof(ctl));
    the_ctl = &ctl;
    log_init("wcsctl", LOG_LEVEL_WARN);
    ctl.db = getenv("WCS_DB");
    ctl.http = getenv("WCS_HTTP");
    ctl.token_file = getenv("WCS_TOKEN_FILE");
    ctl.ca_file = getenv("WCS_CA_FILE");
    while ((ch = getopt_long(argc, argv, "+c:d:u:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            ctl.config_path = optarg;
            break;
        case 'd':
            ctl.db = optarg;
            break;
        case 'u':
            ctl.http = optarg;
            break;
        case 't':
            ctl.token_file = optarg;
            break;
        case 'C':
            ctl.ca_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc == 0) {
        usage(stderr);
        return 2;
    }
    if (ctl.config_path != NULL)
        ctl.db = NULL; /* an explicit config wins over the environment */
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *name = commands[i].name, *space = strchr(name, ' ');
        int words = space ? 2 : 1;

        if (words == 1 && strcmp(argv[0], name) != 0)
            continue;
        if (words == 2 && (argc < 2 || strncmp(argv[0], name, (size_t)(space - name)) != 0 ||
                           strlen(argv[0]) != (size_t)(space - name) ||
                           strcmp(argv[1], space + 1) != 0))
            continue;
        if (argc - words < commands[i].min_args) {
            fprintf(stderr, "usage: wcsctl %s %s\n", name, commands[i].args);
            return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = commands[i].run != NULL
                 ? commands[i].run(&ctl, argc - words, argv + words)
                 : with_db(&ctl, commands[i].run_db, argc - words, argv + words);
        curl_global_cleanup();
        explicit_bzero(ctl.conninfo, sizeof(ctl.conninfo));
        explicit_bzero(ctl.auth, sizeof(ctl.auth));
        return rc;
    }
    fprintf(stderr, "wcsctl: unknown command \"%s\"\n\n", argv[0]);
    usage(stderr);
    return 2;
}
