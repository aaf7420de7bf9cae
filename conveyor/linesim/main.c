/*
 * main.c - wcs-linesim, the line emulator: a virtual sorter PLC that talks
 * the telegram protocol (docs/plc-protocol.md) to wcsd, for tests, load runs
 * and fault drills.
 *
 * DESIGN. This file is the I/O shell around the pure core in sim.c: it
 * parses the command line, owns the libuv loop, one PLC link (conv_link,
 * local id PLC01, peer WCS01; client or server mode), a timer that moves the
 * virtual clock and a once-a-second progress timer. Virtual time starts at
 * the first connection and runs `speed` virtual seconds per real second;
 * every callback first brings the core's clock up to date, then hands it
 * what arrived, then sends what it produced. Faults that live on the wire
 * (link drops, garbage, a telegram with a wrong length field, a slow
 * reader) are drawn here per telegram sent; faults in the telegram stream
 * itself (duplicates, repeated REQ_, REQ_ without barcode) are the core's.
 * Scans for REQ_ without barcode go to wcsd over HTTP from a worker thread
 * (scanpost.c), so the loop never waits for HTTP.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "common/diag.h"
#include "common/log.h"
#include "common/token.h"
#include "conveyor/link.h"
#include "conveyor/linesim/scanpost.h"
#include "conveyor/linesim/sim.h"

struct shell {
    uv_loop_t *loop;
    struct conv_sim *sim;
    struct conv_link *link;
    struct conv_scanpost *scan;
    uv_timer_t tick, progress;
    uv_signal_t sigint, sigterm;
    struct conv_link_config lcfg;

    double speed;               /* virtual seconds per real second */
    bool started;               /* virtual clock running (first connection seen) */
    uint64_t start_ns;          /* real time of virtual 0 */
    uint64_t drain_deadline_ns; /* set when induction ends */
    unsigned drain_timeout_s;
    bool stopping;
    bool flushing;
    int exit_code;

    /* Wire faults, probabilities per telegram sent. */
    double f_drop, f_garbage, f_badlen, f_slow;
    unsigned slow_ms;
    uint64_t rng;

    bool progress_on;
    const char *report_path;
    const char *journal_path;  /* --journal: every parcel's fate and every ACKed UPD_ */
    FILE *noread_log;          /* --noread-log: "TRACKING CODE" of each first no-read */
    uint64_t prev_sorted, prev_ns;
    const char *scan_url;
    const char *token_file; /* wcsd's bearer token for the scan posts (role scanner) */
    bool scan_used; /* a scan poster ran; its final counts: */
    struct conv_scanpost_stats scan_stats;
};

static uint64_t shell_rand(struct shell *sh)
{
    uint64_t z = (sh->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool shell_chance(struct shell *sh, double p)
{
    return p > 0 && (double)(shell_rand(sh) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static uint64_t virt_now_us(const struct shell *sh)
{
    if (!sh->started)
        return 0;
    return (uint64_t)((double)(uv_hrtime() - sh->start_ns) * sh->speed / 1000.0);
}

static void finish(struct shell *sh);
static void arm_tick(struct shell *sh);

/* --- wire faults ---------------------------------------------------------- */

static void inject_garbage(struct shell *sh)
{
    char buf[48];
    size_t n = 1 + shell_rand(sh) % 40, i;

    /* Printable noise without '#', so the receiver must resync on the next
     * telegram's "###" (spec "Transport"). */
    for (i = 0; i < n; i++) {
        buf[i] = (char)(0x20 + shell_rand(sh) % 95);
        if (buf[i] == '#')
            buf[i] = '@';
    }
    if (conv_link_send_raw(sh->link, buf, n, NULL) == 0)
        conv_sim_stats(sh->sim)->faults.garbage++;
}

static void inject_badlen(struct shell *sh)
{
    struct conv_telegram t;
    char buf[CONV_TG_LEN_MAX];
    size_t L = sh->lcfg.telegram_len;

    memset(&t, 0, sizeof(t));
    t.type = CONV_TG_LIFE;
    snprintf(t.sender, sizeof(t.sender), "%s", sh->lcfg.local_id);
    snprintf(t.receiver, sizeof(t.receiver), "%s", sh->lcfg.peer_id);
    t.seq = 1;
    conv_tg_time((int64_t)time(NULL), t.u.life.time);
    if (conv_tg_format(&t, L, buf, NULL) < 0)
        return;
    /* A length field other than L: the WCS reads L characters and refuses
     * them with ERR_ 00000011 (spec "Header"). */
    snprintf(buf + 3, 6, "%05zu", L == 200 ? (size_t)201 : (size_t)200);
    buf[8] = t.sender[0];
    if (conv_link_send_raw(sh->link, buf, L, NULL) == 0)
        conv_sim_stats(sh->sim)->faults.bad_length++;
}

/* --- moving the core -------------------------------------------------------- */

/* Sends everything the core produced. */
static void flush(struct shell *sh)
{
    struct conv_sim_out o;
    struct conv_sim_stats *st = conv_sim_stats(sh->sim);

    if (sh->flushing)
        return; /* a state callback inside conv_link_send: the outer loop goes on */
    sh->flushing = true;
    while (conv_sim_pop(sh->sim, &o)) {
        uint32_t seq = 0;
        int rc;

        if (o.kind == CONV_SIM_OUT_SCAN) {
            if (sh->scan != NULL)
                (void)conv_scanpost_push(sh->scan, o.location, o.code);
            continue;
        }
        if (o.kind == CONV_SIM_OUT_NOREAD) {
            /* What the label says, line by line at once: an operator
             * stand-in reads it while the parcel goes round. */
            if (sh->noread_log != NULL) {
                fprintf(sh->noread_log, "%s %s\n", o.tracking, o.code);
                fflush(sh->noread_log);
            }
            continue;
        }
        if (!conv_link_connected(sh->link)) {
            conv_sim_unsent(sh->sim, o.ref);
            continue;
        }
        if (shell_chance(sh, sh->f_garbage))
            inject_garbage(sh);
        if (conv_link_connected(sh->link) && shell_chance(sh, sh->f_badlen))
            inject_badlen(sh);
        if (!conv_link_connected(sh->link)) {
            conv_sim_unsent(sh->sim, o.ref);
            continue;
        }
        rc = conv_link_send(sh->link, &o.tg, &seq, NULL);
        if (rc < 0) {
            conv_sim_unsent(sh->sim, o.ref);
            continue;
        }
        conv_sim_sent(sh->sim, o.ref, seq, uv_hrtime());
        if (shell_chance(sh, sh->f_slow)) {
            conv_link_pause_read(sh->link, sh->slow_ms);
            st->faults.slow_reader++;
        }
        if (shell_chance(sh, sh->f_drop)) {
            st->faults.link_drops++;
            conv_link_drop(sh->link); /* state_cb(false) runs inside */
        }
    }
    sh->flushing = false;
}

static void check_end(struct shell *sh)
{
    uint64_t now = uv_hrtime();

    if (sh->stopping || !conv_sim_induction_done(sh->sim))
        return;
    if (sh->drain_deadline_ns == 0)
        sh->drain_deadline_ns = now + (uint64_t)sh->drain_timeout_s * 1000000000ULL;
    if (conv_sim_unfinished(sh->sim) == 0 && conv_sim_unacked(sh->sim) == 0) {
        log_info("all %" PRIu64 " parcels final and acknowledged",
                 conv_sim_stats(sh->sim)->inducted);
        finish(sh);
    } else if (now >= sh->drain_deadline_ns) {
        log_warnx("drain timeout: %" PRIu64 " parcels unfinished, %zu telegrams unacknowledged",
                  conv_sim_unfinished(sh->sim), conv_sim_unacked(sh->sim));
        finish(sh);
    }
}

static void step(struct shell *sh)
{
    if (!sh->started || sh->stopping)
        return;
    conv_sim_advance(sh->sim, virt_now_us(sh));
    flush(sh);
    check_end(sh);
    if (!sh->stopping)
        arm_tick(sh);
}

static void tick_cb(uv_timer_t *t)
{
    step(t->data);
}

/* Wakes up for the next event, or in 100 ms at the latest (end checks,
 * and the clock must not sleep through a reconnect's resends). */
static void arm_tick(struct shell *sh)
{
    uint64_t next = conv_sim_next_due(sh->sim), now = virt_now_us(sh), ms = 100;

    if (next != UINT64_MAX) {
        double real_ms = next > now ? (double)(next - now) / sh->speed / 1000.0 : 0;

        if (real_ms < (double)ms)
            ms = (uint64_t)ceil(real_ms);
    }
    uv_timer_start(&sh->tick, tick_cb, ms, 0);
}

/* --- link callbacks ------------------------------------------------------------ */

static void telegram_cb(struct conv_link *l, const struct conv_telegram *t, const char *raw,
                        void *arg)
{
    struct shell *sh = arg;
    struct err e = {0};
    uint64_t real = uv_hrtime();

    (void)l;
    (void)raw;
    if (!sh->started || sh->stopping)
        return;
    /* The clock first: an answer is late or not by the time it arrived. */
    conv_sim_advance(sh->sim, virt_now_us(sh));
    if (t->type == CONV_TG_ERR)
        log_warnx("ERR_ from the WCS: %s %05" PRIu32 " code %s: %s",
                  t->u.err.has_refused ? t->u.err.refused_type : "-", t->u.err.refused_seq,
                  t->u.err.code, t->u.err.text);
    if (conv_sim_receive(sh->sim, t, real, &e) < 0)
        log_debug("%s", e.msg);
    step(sh);
}

static void state_cb(struct conv_link *l, bool up, void *arg)
{
    struct shell *sh = arg;

    (void)l;
    if (sh->stopping)
        return;
    log_info("link %s", up ? "up" : "down");
    if (up && !sh->started) {
        sh->started = true;
        sh->start_ns = uv_hrtime();
        sh->prev_ns = sh->start_ns;
    }
    conv_sim_link_state(sh->sim, up);
    if (up)
        step(sh);
}

/* --- progress and report -------------------------------------------------------- */

static void progress_cb(uv_timer_t *t)
{
    struct shell *sh = t->data;
    struct conv_sim_stats *st = conv_sim_stats(sh->sim);
    uint64_t now = uv_hrtime(), sorted = st->final[CONV_SIM_SORTED], answers = 0;
    double dt = (double)(now - sh->prev_ns) / 1e9;
    char rej[512] = "";
    size_t off = 0;
    int i;

    if (!sh->started)
        return;
    for (i = 0; i < CONV_REASON_COUNT; i++) {
        answers += st->res_by_reason[i];
        if (i != CONV_REASON_OK && st->res_by_reason[i] && off < sizeof(rej) - 32)
            off += (size_t)snprintf(rej + off, sizeof(rej) - off, " %s=%" PRIu64,
                                    conv_reason_code((enum conv_reason)i), st->res_by_reason[i]);
    }
    fprintf(stderr,
            "t=%.1fs virt=%.1fs inducted %" PRIu64 " sorted %" PRIu64 " (%.0f/min) read %.1f%%"
            " rejects:%s%s unfinished %" PRIu64 " unacked %zu timeouts %" PRIu64 " link %s\n",
            (double)(now - sh->start_ns) / 1e9, (double)virt_now_us(sh) / 1e6, st->inducted, sorted,
            dt > 0 ? (double)(sorted - sh->prev_sorted) * 60.0 / dt : 0.0,
            answers ? 100.0 * (double)(answers - st->res_by_reason[CONV_REASON_NOREAD]) /
                          (double)answers
                    : 0.0,
            rej[0] ? rej : " none", "", conv_sim_unfinished(sh->sim), conv_sim_unacked(sh->sim),
            st->plc_timeouts, conv_link_connected(sh->link) ? "up" : "down");
    sh->prev_sorted = sorted;
    sh->prev_ns = now;
}

static int write_report(struct shell *sh)
{
    json_t *r = conv_sim_report(sh->sim), *run, *link;
    struct conv_link_stats ls;
    int rc = 0;

    if (r == NULL)
        return -ENOMEM;
    conv_link_get_stats(sh->link, &ls);
    run = json_pack("{s:f, s:f, s:s, s:b}", "speed", sh->speed, "real_s",
                    sh->started ? (double)(uv_hrtime() - sh->start_ns) / 1e9 : 0.0, "mode",
                    sh->lcfg.mode == CONV_LINK_CLIENT ? "connect" : "listen", "drained",
                    conv_sim_unfinished(sh->sim) == 0);
    link = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_telegrams", (json_int_t)ls.rx_telegrams,
        "tx_telegrams", (json_int_t)ls.tx_telegrams, "rx_refused", (json_int_t)ls.rx_refused,
        "rx_skipped_bytes", (json_int_t)ls.rx_skipped_bytes, "connects", (json_int_t)ls.connects,
        "disconnects", (json_int_t)ls.disconnects, "dead_links", (json_int_t)ls.dead_links,
        "connect_failures", (json_int_t)ls.connect_failures);
    if (run)
        json_object_set_new(r, "run", run);
    if (link)
        json_object_set_new(r, "link", link);
    if (sh->scan_used) {
        const struct conv_scanpost_stats *ss = &sh->scan_stats;

        json_object_set_new(r, "scan_post",
                            json_pack("{s:I, s:I, s:I}", "posted", (json_int_t)ss->posted, "failed",
                                      (json_int_t)ss->failed, "dropped", (json_int_t)ss->dropped));
    }
    if (json_dump_file(r, sh->report_path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        log_warnx("%s: cannot write the report", sh->report_path);
        rc = -EIO;
    }
    json_decref(r);
    return rc;
}

/* The journal (--journal FILE, JSON Lines) for an independent check of what
 * the WCS stored: one line per inducted parcel ({"parcel": tracking, "code",
 * "final", "chute", "passes"}) and one per UPD_ the WCS acknowledged
 * ({"ack": tracking, "event", "location", "duplicate"}). */
static int write_journal(struct shell *sh)
{
    const struct conv_sim_acked *a;
    struct conv_sim_fate f;
    size_t i, n;
    FILE *out = fopen(sh->journal_path, "w");
    int rc = 0;

    if (out == NULL) {
        log_warn("%s", sh->journal_path);
        return -errno;
    }
    for (i = 0; conv_sim_fate(sh->sim, i, &f) == 0; i++)
        fprintf(out,
                "{\"parcel\": \"%s\", \"code\": \"%s\", \"final\": \"%s\", "
                "\"chute\": \"%s\", \"passes\": %u}\n",
                f.tracking, f.code, f.final ? conv_sim_final_name(f.state) : "", f.chute,
                (unsigned)f.passes);
    n = conv_sim_acked_list(sh->sim, &a);
    for (i = 0; i < n; i++)
        fprintf(out,
                "{\"ack\": \"%s\", \"event\": \"%s\", \"location\": \"%s\", "
                "\"duplicate\": %s}\n",
                a[i].tracking, conv_upd_event_name(a[i].event), a[i].location,
                a[i].duplicate ? "true" : "false");
    if (ferror(out))
        rc = -EIO;
    if (fclose(out) != 0 || rc < 0) {
        log_warnx("%s: cannot write the journal", sh->journal_path);
        rc = -EIO;
    }
    return rc;
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void link_closed_cb(void *arg)
{
    (void)arg;
}

static void finish(struct shell *sh)
{
    if (sh->stopping)
        return;
    sh->stopping = true;
    if (sh->scan != NULL) {
        /* Posts still queued go out first, so the report counts them. */
        conv_scanpost_stop(sh->scan, &sh->scan_stats);
        sh->scan = NULL;
        sh->scan_used = true;
    }
    if (sh->progress_on)
        progress_cb(&sh->progress);
    if (sh->report_path != NULL && write_report(sh) < 0)
        sh->exit_code = 1;
    if (sh->journal_path != NULL && write_journal(sh) < 0)
        sh->exit_code = 1;
    if (conv_sim_unfinished(sh->sim) != 0)
        sh->exit_code = 2;
    conv_link_stop(sh->link, link_closed_cb, sh);
    uv_close((uv_handle_t *)&sh->tick, close_cb);
    uv_close((uv_handle_t *)&sh->progress, close_cb);
    uv_close((uv_handle_t *)&sh->sigint, close_cb);
    uv_close((uv_handle_t *)&sh->sigterm, close_cb);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct shell *sh = s->data;

    log_info("signal %d: stopping", signum);
    if (sh->started)
        conv_sim_advance(sh->sim, virt_now_us(sh));
    finish(sh);
}

/* --- command line ------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: wcs-linesim (--connect HOST:PORT | --listen HOST:PORT) --preadvice FILE\n"
          "         (--count N | --duration S) [options]\n"
          "line:    --rate PARCELS_PER_HOUR (3600)  --speed X (1)  --seed S (1)\n"
          "         --layout CSV (id,distance_mm,capacity,empty_ms; default: the sample plan's\n"
          "           CH001..CH040 and SP-* chutes)  --capacity N (50)  --empty-ms MS (60000)\n"
          "         --belt-mm-s MM (2000)  --loop-mm MM  --default-exit ID[:MM] (EOL)\n"
          "         --default-exit-recirc  --max-passes N (10)  --plc-timeout-ms MS (150)\n"
          "         --noread-recirc (a parcel answered NOREAD__ goes round once)\n"
          "         --scan-location ID (SCAN01)  --line-id ID (LINE01)  --tracking-base N\n"
          "parcels: --noread R  --unreadable R  --misread R  --divert-fail R  --lost R\n"
          "         --removed R   (probabilities 0..1)\n"
          "faults:  --fault-drop R  --fault-garbage R  --fault-badlen R  --fault-slow R\n"
          "         --slow-ms MS (500)  --fault-dup R  --fault-repeat R  --fault-noscan R\n"
          "         (per telegram sent / per telegram / per REQ_ / per pass)\n"
          "link:    --telegram-len L (160)  --life-ms MS (5000)  --local-id PLC01 --peer-id WCS01\n"
          "output:  --report FILE  --journal FILE  --progress  --drain-timeout S (30)  --scan-url URL\n"
          "         --noread-log FILE (\"TRACKING CODE\" of each parcel first answered NOREAD__)\n"
          "         --token-file F (wcsd's bearer token for --scan-url, role scanner;\n"
          "           default: env WCS_TOKEN_FILE)\n"
          "         --log-level error|warn|info|debug\n",
          f);
}

static int parse_hostport(const char *s, struct conv_link_config *c)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl;
    char *end;
    long port;

    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        h = s + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(c->host))
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return -1;
    memcpy(c->host, h, hl);
    c->host[hl] = '\0';
    c->port = (int)port;
    return 0;
}

static bool num_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || *end != '\0' || end == s || !(v >= lo && v <= hi)) {
        fprintf(stderr, "wcs-linesim: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

static bool id_arg(const char *opt, const char *s, char *dst, size_t cap)
{
    if (*s == '\0' || strlen(s) >= cap) {
        fprintf(stderr, "wcs-linesim: %s: '%s' is empty or too long\n", opt, s);
        return false;
    }
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

enum {
    O_CONNECT = 256,
    O_LISTEN,
    O_PREADVICE,
    O_LAYOUT,
    O_RATE,
    O_COUNT,
    O_DURATION,
    O_SPEED,
    O_SEED,
    O_TGLEN,
    O_LIFE,
    O_PLCTO,
    O_CAP,
    O_EMPTY,
    O_BELT,
    O_LOOP,
    O_DEFEXIT,
    O_DEFRECIRC,
    O_MAXPASS,
    O_SCANLOC,
    O_LINEID,
    O_TRACK,
    O_NOREAD,
    O_UNREAD,
    O_MISREAD,
    O_DIVERT,
    O_LOST,
    O_REMOVED,
    O_FDROP,
    O_FGARB,
    O_FBADLEN,
    O_FSLOW,
    O_SLOWMS,
    O_FDUP,
    O_FREPEAT,
    O_FNOSCAN,
    O_REPORT,
    O_JOURNAL,
    O_NOREAD_LOG,
    O_NOREAD_RECIRC,
    O_PROGRESS,
    O_DRAIN,
    O_SCANURL,
    O_TOKENFILE,
    O_LOGLEVEL,
    O_LOCALID,
    O_PEERID,
    O_HELP
};

static const struct option options[] = {
    {"connect", required_argument, NULL, O_CONNECT},
    {"listen", required_argument, NULL, O_LISTEN},
    {"preadvice", required_argument, NULL, O_PREADVICE},
    {"layout", required_argument, NULL, O_LAYOUT},
    {"rate", required_argument, NULL, O_RATE},
    {"count", required_argument, NULL, O_COUNT},
    {"duration", required_argument, NULL, O_DURATION},
    {"speed", required_argument, NULL, O_SPEED},
    {"seed", required_argument, NULL, O_SEED},
    {"telegram-len", required_argument, NULL, O_TGLEN},
    {"life-ms", required_argument, NULL, O_LIFE},
    {"plc-timeout-ms", required_argument, NULL, O_PLCTO},
    {"capacity", required_argument, NULL, O_CAP},
    {"empty-ms", required_argument, NULL, O_EMPTY},
    {"belt-mm-s", required_argument, NULL, O_BELT},
    {"loop-mm", required_argument, NULL, O_LOOP},
    {"default-exit", required_argument, NULL, O_DEFEXIT},
    {"default-exit-recirc", no_argument, NULL, O_DEFRECIRC},
    {"max-passes", required_argument, NULL, O_MAXPASS},
    {"scan-location", required_argument, NULL, O_SCANLOC},
    {"line-id", required_argument, NULL, O_LINEID},
    {"tracking-base", required_argument, NULL, O_TRACK},
    {"noread", required_argument, NULL, O_NOREAD},
    {"unreadable", required_argument, NULL, O_UNREAD},
    {"misread", required_argument, NULL, O_MISREAD},
    {"divert-fail", required_argument, NULL, O_DIVERT},
    {"lost", required_argument, NULL, O_LOST},
    {"removed", required_argument, NULL, O_REMOVED},
    {"fault-drop", required_argument, NULL, O_FDROP},
    {"fault-garbage", required_argument, NULL, O_FGARB},
    {"fault-badlen", required_argument, NULL, O_FBADLEN},
    {"fault-slow", required_argument, NULL, O_FSLOW},
    {"slow-ms", required_argument, NULL, O_SLOWMS},
    {"fault-dup", required_argument, NULL, O_FDUP},
    {"fault-repeat", required_argument, NULL, O_FREPEAT},
    {"fault-noscan", required_argument, NULL, O_FNOSCAN},
    {"report", required_argument, NULL, O_REPORT},
    {"journal", required_argument, NULL, O_JOURNAL},
    {"noread-log", required_argument, NULL, O_NOREAD_LOG},
    {"noread-recirc", no_argument, NULL, O_NOREAD_RECIRC},
    {"progress", no_argument, NULL, O_PROGRESS},
    {"drain-timeout", required_argument, NULL, O_DRAIN},
    {"scan-url", required_argument, NULL, O_SCANURL},
    {"token-file", required_argument, NULL, O_TOKENFILE},
    {"log-level", required_argument, NULL, O_LOGLEVEL},
    {"local-id", required_argument, NULL, O_LOCALID},
    {"peer-id", required_argument, NULL, O_PEERID},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

struct cli {
    const char *preadvice, *layout;
    bool have_mode, have_tracking;
    double capacity, empty_ms;
    char defexit[CONV_SIM_ID_MAX + 1];
    double defexit_mm, loop_mm;
};

/* Parses argv into the link config, the sim config and the shell. Returns
 * 0, 1 for --help, -1 on a bad option (already reported). */
static int parse_args(int argc, char **argv, struct shell *sh, struct conv_sim_config *c,
                      struct cli *cl)
{
    int o;
    double v;
    enum log_level lvl;

    while ((o = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (o) {
        case O_CONNECT:
        case O_LISTEN:
            if (parse_hostport(optarg, &sh->lcfg) < 0) {
                fprintf(stderr, "wcs-linesim: '%s' is not HOST:PORT\n", optarg);
                return -1;
            }
            sh->lcfg.mode = o == O_CONNECT ? CONV_LINK_CLIENT : CONV_LINK_SERVER;
            cl->have_mode = true;
            break;
        case O_PREADVICE:
            cl->preadvice = optarg;
            break;
        case O_LAYOUT:
            cl->layout = optarg;
            break;
        case O_RATE:
            if (!num_arg("--rate", optarg, 1e-3, 3.6e9, &c->rate_per_hour))
                return -1;
            break;
        case O_COUNT:
            if (!num_arg("--count", optarg, 1, 4e9, &v))
                return -1;
            c->count = (uint64_t)v;
            break;
        case O_DURATION:
            if (!num_arg("--duration", optarg, 1e-3, 1e9, &v))
                return -1;
            c->duration_ms = (uint64_t)llround(v * 1000);
            break;
        case O_SPEED:
            if (!num_arg("--speed", optarg, 1e-3, 1e6, &sh->speed))
                return -1;
            break;
        case O_SEED:
            if (!num_arg("--seed", optarg, 0, 1.8e19, &v))
                return -1;
            c->seed = (uint64_t)v;
            break;
        case O_TGLEN:
            if (!num_arg("--telegram-len", optarg, CONV_TG_LEN_MIN, CONV_TG_LEN_MAX, &v))
                return -1;
            sh->lcfg.telegram_len = (size_t)v;
            break;
        case O_LIFE:
            if (!num_arg("--life-ms", optarg, 10, 3.6e6, &v))
                return -1;
            sh->lcfg.life_interval_ms = (unsigned)v;
            break;
        case O_PLCTO:
            if (!num_arg("--plc-timeout-ms", optarg, 1, 3.6e6, &v))
                return -1;
            c->plc_timeout_ms = (uint32_t)v;
            break;
        case O_CAP:
            if (!num_arg("--capacity", optarg, 0, 1e9, &cl->capacity))
                return -1;
            break;
        case O_EMPTY:
            if (!num_arg("--empty-ms", optarg, 0, 4e9, &cl->empty_ms))
                return -1;
            break;
        case O_BELT:
            /* The SYSU telegram carries the speed in 5 digits. */
            if (!num_arg("--belt-mm-s", optarg, 1, 99999, &v))
                return -1;
            c->belt_speed_mm_s = (uint32_t)v;
            break;
        case O_LOOP:
            if (!num_arg("--loop-mm", optarg, 1, 4e9, &cl->loop_mm))
                return -1;
            break;
        case O_DEFEXIT: {
            char *colon = strchr(optarg, ':');

            if (colon != NULL) {
                *colon = '\0';
                if (!num_arg("--default-exit", colon + 1, 0, 4e9, &cl->defexit_mm))
                    return -1;
            }
            if (!id_arg("--default-exit", optarg, cl->defexit, sizeof(cl->defexit)))
                return -1;
            break;
        }
        case O_DEFRECIRC:
            c->default_exit_recirc = true;
            break;
        case O_MAXPASS:
            if (!num_arg("--max-passes", optarg, 1, 1000, &v))
                return -1;
            c->max_passes = (uint32_t)v;
            break;
        case O_SCANLOC:
            if (!id_arg("--scan-location", optarg, c->scan_location, sizeof(c->scan_location)))
                return -1;
            break;
        case O_LINEID:
            if (!id_arg("--line-id", optarg, c->line_id, sizeof(c->line_id)))
                return -1;
            break;
        case O_TRACK:
            if (!num_arg("--tracking-base", optarg, 1, 9999999999.0, &v))
                return -1;
            c->tracking_base = (uint64_t)v;
            cl->have_tracking = true;
            break;
#define RATIO(opt, field)                                                                          \
    case opt:                                                                                      \
        if (!num_arg(argv[optind - 1], optarg, 0, 1, &(field)))                                    \
            return -1;                                                                             \
        break;
            RATIO(O_NOREAD, c->noread_ratio)
            RATIO(O_UNREAD, c->unreadable_ratio)
            RATIO(O_MISREAD, c->misread_ratio)
            RATIO(O_DIVERT, c->divert_fail_ratio)
            RATIO(O_LOST, c->lost_ratio)
            RATIO(O_REMOVED, c->removed_ratio)
            RATIO(O_FDROP, sh->f_drop)
            RATIO(O_FGARB, sh->f_garbage)
            RATIO(O_FBADLEN, sh->f_badlen)
            RATIO(O_FSLOW, sh->f_slow)
            RATIO(O_FDUP, c->dup_ratio)
            RATIO(O_FREPEAT, c->req_repeat_ratio)
            RATIO(O_FNOSCAN, c->noscan_ratio)
#undef RATIO
        case O_SLOWMS:
            if (!num_arg("--slow-ms", optarg, 1, 3.6e6, &v))
                return -1;
            sh->slow_ms = (unsigned)v;
            break;
        case O_REPORT:
            sh->report_path = optarg;
            break;
        case O_NOREAD_RECIRC:
            c->noread_recirc = true;
            break;
        case O_NOREAD_LOG:
            if (sh->noread_log != NULL)
                fclose(sh->noread_log);
            sh->noread_log = fopen(optarg, "w");
            c->noread_outputs = true;
            if (sh->noread_log == NULL) {
                fprintf(stderr, "wcs-linesim: --noread-log %s: %s\n", optarg, strerror(errno));
                return -1;
            }
            break;
        case O_JOURNAL:
            sh->journal_path = optarg;
            break;
        case O_PROGRESS:
            sh->progress_on = true;
            break;
        case O_DRAIN:
            if (!num_arg("--drain-timeout", optarg, 0, 1e6, &v))
                return -1;
            sh->drain_timeout_s = (unsigned)v;
            break;
        case O_SCANURL:
            sh->scan_url = optarg;
            break;
        case O_TOKENFILE:
            sh->token_file = optarg;
            break;
        case O_LOGLEVEL:
            if (log_level_parse(optarg, &lvl) < 0) {
                fprintf(stderr, "wcs-linesim: --log-level: '%s'?\n", optarg);
                return -1;
            }
            log_set_level(lvl);
            break;
        case O_LOCALID:
            if (!id_arg("--local-id", optarg, sh->lcfg.local_id, sizeof(sh->lcfg.local_id)))
                return -1;
            break;
        case O_PEERID:
            if (!id_arg("--peer-id", optarg, sh->lcfg.peer_id, sizeof(sh->lcfg.peer_id)))
                return -1;
            break;
        case O_HELP:
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc || !cl->have_mode || cl->preadvice == NULL ||
        (c->count == 0 && c->duration_ms == 0)) {
        fprintf(stderr, "wcs-linesim: need --connect or --listen, --preadvice, and --count "
                        "or --duration\n");
        usage(stderr);
        return -1;
    }
    if (c->noscan_ratio > 0 && sh->scan_url == NULL)
        log_warnx("--fault-noscan without --scan-url: the WCS will see no scans for those "
                  "REQ_ and answer NOREAD__");
    return 0;
}

/* Starts the scan poster, with the bearer token of --token-file (or
 * WCS_TOKEN_FILE) when one is given. */
static int start_scanpost(struct shell *sh, struct err *e)
{
    const char *path = sh->token_file ? sh->token_file : getenv("WCS_TOKEN_FILE");
    char secret[TOKEN_SECRET_MAX + 1], auth[TOKEN_SECRET_MAX + 32];
    int rc;

    if (path == NULL)
        return conv_scanpost_start(sh->scan_url, NULL, 4096, &sh->scan, e);
    rc = token_read_file(path, secret, sizeof(secret), e);
    if (rc == 0 && token_auth_header(secret, auth, sizeof(auth)) < 0)
        rc = err_set(e, ERR_INVALID, "%s: the token is too long", path);
    if (rc == 0)
        rc = conv_scanpost_start(sh->scan_url, auth, 4096, &sh->scan, e);
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(auth, sizeof(auth));
    return rc;
}

/* Builds the line: the layout file or the sample plan's chutes, then the
 * exit and loop settings given on the command line. */
static int build_config(struct conv_sim_config *c, struct cli *cl)
{
    struct diag d = DIAG_INIT;
    struct err e = {0};
    int rc;

    conv_sim_config_sample_layout(c, (uint32_t)cl->capacity, (uint32_t)cl->empty_ms);
    if (cl->layout != NULL) {
        uint32_t maxd = 0;
        size_t i;

        rc = conv_sim_load_layout(cl->layout, c, &d, &e);
        diag_print(&d, stderr);
        diag_free(&d);
        if (rc < 0) {
            log_error("%s", e.msg);
            return rc;
        }
        for (i = 0; i < c->nchutes; i++)
            if (c->chutes[i].distance_mm > maxd)
                maxd = c->chutes[i].distance_mm;
        c->default_exit_mm = maxd + 1000;
        c->loop_mm = maxd + 6000;
    }
    if (cl->defexit[0] != '\0')
        memcpy(c->default_exit, cl->defexit, sizeof(c->default_exit));
    if (cl->defexit_mm > 0) {
        c->default_exit_mm = (uint32_t)cl->defexit_mm;
        if (c->loop_mm <= c->default_exit_mm)
            c->loop_mm = c->default_exit_mm + 5000;
    }
    if (cl->loop_mm > 0)
        c->loop_mm = (uint32_t)cl->loop_mm;
    return 0;
}

int main(int argc, char **argv)
{
    struct shell sh;
    struct conv_sim_config c;
    struct cli cl;
    struct conv_link_callbacks cbs = {.telegram_cb = telegram_cb, .state_cb = state_cb};
    struct conv_sim_item *items = NULL;
    size_t nitems = 0;
    struct diag d = DIAG_INIT;
    struct err e = {0};
    uv_loop_t loop;
    int rc;

    /* A write to a socket the WCS closed must come back as EPIPE, not kill
     * the emulator (libuv writes with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    log_init("wcs-linesim", LOG_LEVEL_INFO);
    log_set_tag("loop");
    memset(&sh, 0, sizeof(sh));
    memset(&cl, 0, sizeof(cl));
    sh.speed = 1;
    sh.drain_timeout_s = 30;
    sh.slow_ms = 500;
    cl.capacity = 50;
    cl.empty_ms = 60000;
    conv_link_config_defaults(&sh.lcfg);
    snprintf(sh.lcfg.name, sizeof(sh.lcfg.name), "linesim");
    snprintf(sh.lcfg.local_id, sizeof(sh.lcfg.local_id), "PLC01");
    snprintf(sh.lcfg.peer_id, sizeof(sh.lcfg.peer_id), "WCS01");
    conv_sim_config_defaults(&c);
    c.epoch_unix_s = (int64_t)time(NULL);
    /* Tracking numbers unique on the line for a day (spec "REQ_"): a base
     * from the second of the day, 100000 numbers apart per second. */
    c.tracking_base = 1000000000ULL + (uint64_t)(c.epoch_unix_s % 86400) * 100000ULL;

    rc = parse_args(argc, argv, &sh, &c, &cl);
    if (rc != 0)
        return rc > 0 ? 0 : 64;
    sh.rng = c.seed ^ 0x5deece66dULL;
    if (build_config(&c, &cl) < 0)
        return 1;
    rc = conv_sim_load_preadvice(cl.preadvice, &items, &nitems, &d, &e);
    diag_print(&d, stderr);
    diag_free(&d);
    if (rc < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (c.count > nitems)
        log_warnx("%" PRIu64 " parcels from %zu pre-advised codes: codes repeat", c.count, nitems);
    rc = conv_sim_new(&c, items, nitems, &sh.sim, &e);
    free(items);
    if (rc < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        fatal("curl_global_init failed");
    if (sh.scan_url != NULL && start_scanpost(&sh, &e) < 0)
        fatal("%s", e.msg);

    if (uv_loop_init(&loop) != 0)
        fatal("uv_loop_init failed");
    sh.loop = &loop;
    uv_timer_init(&loop, &sh.tick);
    uv_timer_init(&loop, &sh.progress);
    uv_signal_init(&loop, &sh.sigint);
    uv_signal_init(&loop, &sh.sigterm);
    sh.tick.data = sh.progress.data = sh.sigint.data = sh.sigterm.data = &sh;
    uv_signal_start(&sh.sigint, signal_cb, SIGINT);
    uv_signal_start(&sh.sigterm, signal_cb, SIGTERM);
    if (sh.progress_on)
        uv_timer_start(&sh.progress, progress_cb, 1000, 1000);

    rc = conv_link_start(&loop, &sh.lcfg, &cbs, &sh, &sh.link, &e);
    if (rc < 0) {
        log_error("link: %s", e.msg);
        uv_close((uv_handle_t *)&sh.tick, close_cb);
        uv_close((uv_handle_t *)&sh.progress, close_cb);
        uv_close((uv_handle_t *)&sh.sigint, close_cb);
        uv_close((uv_handle_t *)&sh.sigterm, close_cb);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        conv_scanpost_stop(sh.scan, NULL);
        if (sh.noread_log != NULL)
            fclose(sh.noread_log);
        conv_sim_free(sh.sim);
        curl_global_cleanup();
        return 1;
    }
    /* The readiness line test harnesses wait for (STYLE "Tests"). */
    if (sh.lcfg.mode == CONV_LINK_SERVER)
        printf("linesim ready listen %s:%d\n", sh.lcfg.host, conv_link_port(sh.link));
    else
        printf("linesim ready connect %s:%d\n", sh.lcfg.host, sh.lcfg.port);
    fflush(stdout);

    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warnx("loop closed with handles still open");
    conv_scanpost_stop(sh.scan, NULL);
    {
        struct conv_sim_stats *st = conv_sim_stats(sh.sim);

        log_info("inducted %" PRIu64 ": sorted %" PRIu64 " rejected %" PRIu64 " lost %" PRIu64
                 " removed %" PRIu64 ", unfinished %" PRIu64,
                 st->inducted, st->final[CONV_SIM_SORTED], st->final[CONV_SIM_REJECTED],
                 st->final[CONV_SIM_LOST], st->final[CONV_SIM_REMOVED],
                 conv_sim_unfinished(sh.sim));
    }
    if (sh.noread_log != NULL)
        fclose(sh.noread_log);
    conv_sim_free(sh.sim);
    curl_global_cleanup();
    return sh.exit_code;
}
