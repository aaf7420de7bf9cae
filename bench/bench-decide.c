/*
 * bench-decide.c - how fast is one sort decision, and what does the parcel
 * registry cost in memory?
 *
 * Builds a registry of 1,000,000 synthetic parcels (every one with a Cainiao
 * LP number, 60% also with an S10 id: 1.6 codes each), loads a sort plan
 * (argv[1], default data/sortplan-sample.csv), then times, one by one with
 * CLOCK_MONOTONIC, at least 2,000,000 decisions as wcsd makes them:
 * wcs_sorter_decide() with commit (each code read checked, looked up in the
 * registry, then the engine). The mix: mostly one known code, some S10+LP
 * pairs of one parcel, some reads of two parcels, unknown codes and
 * no-reads. Beside it, in the same run and on the same queries, the
 * baseline: one bare registry lookup per query.
 *
 * Both loops run on one CPU, chosen as wcsd's loop.cpu chooses it (--cpu:
 * auto, the CPU that has served the fewest device interrupts; none; or a
 * number): a decision takes well under a microsecond, and what decides its
 * tail is the interrupts its CPU serves (common/cpu.h, docs/benchmarks.md).
 *
 * Usage: bench-decide [--cpu auto|none|N] [plan.csv] [decisions] [parcels]
 *
 * The test command runs it small (tests/bench: a few thousand parcels and
 * decisions) to see that it still runs and prints its figures and goals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cpu.h"
#include "common/diag.h"
#include "scanners/scanners.h"
#include "wcs/core/sorter.h"

#define NPARCELS 1000000u /* registry size, and the most parcels argv[3] may ask for */
#define NUNKNOWN 10000u

enum qkind { Q_ONE, Q_PAIR, Q_TWO_PARCELS, Q_UNKNOWN, Q_NOREAD };

struct query {
    uint32_t a, b;  /* parcel indices (or unknown-code index) */
    uint8_t kind;   /* enum qkind */
    uint8_t use_s10;
};

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

/* xorshift64*: fast and reproducible; statistical quality is plenty here. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

struct stats {
    double per_s;
    uint32_t p50, p99, p999, max;
};

static struct stats summarize(uint32_t *lat, size_t n, uint64_t wall_ns)
{
    struct stats s;

    qsort(lat, n, sizeof(*lat), cmp_u32);
    s.per_s = (double)n / ((double)wall_ns / 1e9);
    s.p50 = lat[n / 2];
    s.p99 = lat[(size_t)((double)n * 0.99)];
    s.p999 = lat[(size_t)((double)n * 0.999)];
    s.max = lat[n - 1];
    return s;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
        rewind(f);
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Realistic destinations: first three digits of big Russian regions. */
static const uint16_t prefixes[] = {
    101, 105, 109, 115, 119, 125, 129, 141, 143, 190, 194, 197, 188, 344, 350, 352, 355,
    394, 400, 420, 443, 450, 454, 603, 614, 620, 623, 625, 630, 633, 634, 644, 650, 656,
    660, 664, 670, 672, 675, 677, 679, 680, 683, 685, 690, 692, 693, 236, 295, 300,
};
static const char *const services[] = {"ECONOMY", "ECONOMY", "ECONOMY", "STANDARD", "STANDARD",
                                       "EMS"};

/* Pins this thread as wcsd's loop.cpu would; prints where it runs. */
static int pin(const char *how)
{
    unsigned long long irqs = 0;
    struct err e;
    int cpu;

    if (cpu_parse(how, &cpu) < 0) {
        fprintf(stderr, "bench-decide: --cpu %s: auto, none or a CPU number\n", how);
        return -1;
    }
    if (cpu == CPU_AUTO && cpu_quietest(&cpu, &irqs, &e) < 0) {
        fprintf(stderr, "bench-decide: --cpu auto: %s\n", e.msg);
        return -1;
    }
    if (cpu != CPU_NONE && cpu_pin_thread(cpu, &e) < 0) {
        fprintf(stderr, "bench-decide: %s\n", e.msg);
        return -1;
    }
    if (cpu == CPU_NONE)
        printf("cpu: not pinned (--cpu none)\n");
    else
        printf("cpu: %d (%s%llu device interrupts since boot)\n", cpu,
               strcmp(how, "auto") == 0 ? "auto: the fewest, " : "", irqs);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cpu_arg = "auto";
    if (argc > 2 && strcmp(argv[1], "--cpu") == 0) {
        cpu_arg = argv[2];
        argc -= 2;
        argv += 2;
    }
    const char *plan_path = argc > 1 ? argv[1] : "data/sortplan-sample.csv";
    size_t ndec = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 2000000;
    uint32_t nparcels = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : NPARCELS;
    static char lp[NPARCELS][17], s10[NPARCELS][14], unknown[NUNKNOWN][17];
    struct diag d = DIAG_INIT;
    struct wcs_sorter *sorter;
    const struct wcs_registry *reg;
    struct wcs_engine *eng;
    struct wcs_plan *plan = NULL;
    struct query *q;
    uint32_t *lat_dec, *lat_look;
    size_t i, len, reasons[CONV_REASON_COUNT] = {0};
    uint64_t t0, wall_dec, wall_look, timer_ns, sink = 0;
    struct stats sd, sl;
    char *text;
    int rc;

    if (pin(cpu_arg) < 0)
        return 1;
    if (ndec < 1000)
        ndec = 1000;
    if (nparcels < 1000 || nparcels > NPARCELS)
        nparcels = NPARCELS;
    text = read_file(plan_path, &len);
    if (text == NULL) {
        fprintf(stderr, "bench-decide: %s: %s\n", plan_path, strerror(errno));
        return 1;
    }
    rc = wcs_plan_parse_csv(plan_path, text, len, &plan, &d);
    free(text);
    if (rc < 0) {
        for (i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
        fprintf(stderr, "bench-decide: %s: %s\n", plan_path, err_text(rc));
        return 1;
    }
    diag_free(&d);

    /* The registry: nparcels (1M unless argv[3] says), LP for all, S10 for 60%. */
    sorter = wcs_sorter_new(nparcels);
    if (sorter == NULL) {
        fprintf(stderr, "bench-decide: out of memory\n");
        return 1;
    }
    t0 = now_ns();
    for (i = 0; i < nparcels; i++) {
        struct wcs_parcel p;
        const char *codes[2], *svc;
        struct err e;
        uint32_t serial = (uint32_t)(10000000 + i * 37 % 89999999);
        memset(&p, 0, sizeof(p));
        p.id = (int64_t)i + 1;
        p.postal = prefixes[rnd_below(sizeof(prefixes) / sizeof(prefixes[0]))] * 1000u +
                   rnd_below(1000);
        p.weight_g = 100 + rnd_below(rnd_below(10) == 0 ? 30000 : 5000);
        p.length_mm = (uint16_t)(100 + rnd_below(600));
        p.width_mm = (uint16_t)(50 + rnd_below(400));
        p.height_mm = (uint16_t)(20 + rnd_below(300));
        p.customs = rnd_below(100) == 0 ? CUST_STATUS_HELD : CUST_STATUS_RELEASED;
        memcpy(p.country, rnd_below(200) == 0 ? "KZ" : "RU", 2);
        svc = services[rnd_below(6)];
        memcpy(p.service, svc, strlen(svc));
        snprintf(lp[i], sizeof(lp[i]), "LP%014llu", 100000000000ull + (unsigned long long)i * 7919);
        {
            /* A valid S10 id (check digit and all), as on a real label: the
             * sorter checks every code before it looks it up. */
            char digits[9];

            snprintf(digits, sizeof(digits), "%08u", (unsigned)serial);
            snprintf(s10[i], sizeof(s10[i]), "%s%s%dCN", i % 2 ? "RB" : "CP", digits,
                     scan_s10_check_digit(digits));
        }
        codes[0] = lp[i];
        codes[1] = s10[i];
        if (wcs_sorter_put_parcel(sorter, &p, codes, i % 5 < 3 ? 2 : 1, &e) < 0) {
            fprintf(stderr, "bench-decide: put: %s\n", e.msg);
            return 1;
        }
    }
    reg = wcs_sorter_registry(sorter);
    printf("registry: %u parcels loaded in %.0f ms, %zu bytes, %.1f bytes per parcel\n",
           nparcels, (double)(now_ns() - t0) / 1e6, wcs_registry_memory(reg),
           (double)wcs_registry_memory(reg) / nparcels);
    for (i = 0; i < NUNKNOWN; i++)
        snprintf(unknown[i], sizeof(unknown[i]), "LP%014llu", 900000000000ull + i);

    /* The queries, drawn before timing. */
    q = malloc(ndec * sizeof(*q));
    lat_dec = malloc(ndec * sizeof(*lat_dec));
    lat_look = malloc(ndec * sizeof(*lat_look));
    if (q == NULL || lat_dec == NULL || lat_look == NULL) {
        fprintf(stderr, "bench-decide: out of memory\n");
        return 1;
    }
    for (i = 0; i < ndec; i++) {
        uint32_t r = rnd_below(1000);
        q[i].a = rnd_below(nparcels);
        q[i].b = rnd_below(nparcels);
        q[i].use_s10 = q[i].a % 5 < 3 && rnd_below(2);
        q[i].kind = r < 900 ? Q_ONE : r < 950 ? Q_PAIR : r < 960 ? Q_TWO_PARCELS
                  : r < 990 ? Q_UNKNOWN : Q_NOREAD;
        if (q[i].kind == Q_PAIR && q[i].a % 5 >= 3)
            q[i].kind = Q_ONE;
        if (q[i].kind == Q_UNKNOWN)
            q[i].a = rnd_below(NUNKNOWN);
    }

    wcs_sorter_set_plan(sorter, plan, 1);
    eng = wcs_sorter_engine(sorter);

    /* The cost of the timer itself, for reading the figures. */
    t0 = now_ns();
    for (i = 0; i < 1000000; i++)
        sink += now_ns();
    timer_ns = (now_ns() - t0) / 1000000;

    /* Baseline: one bare registry lookup per query. */
    t0 = now_ns();
    for (i = 0; i < ndec; i++) {
        const char *code = q[i].kind == Q_UNKNOWN ? unknown[q[i].a]
                           : q[i].use_s10         ? s10[q[i].a]
                                                  : lp[q[i].a];
        size_t n = q[i].use_s10 && q[i].kind != Q_UNKNOWN ? 13 : 16;
        char buf[17];
        uint64_t a;
        const struct wcs_parcel *p;

        /* wcsd has the code in the telegram it just received: in cache. */
        memcpy(buf, code, n);
        a = now_ns();
        p = wcs_registry_find(reg, buf, n);
        uint64_t b = now_ns();
        sink += p ? (uint64_t)p->id : 0;
        lat_look[i] = (uint32_t)(b - a);
    }
    wall_look = now_ns() - t0;

    /* Decisions as wcsd makes them: check and look up every code read,
     * decide, commit. */
    t0 = now_ns();
    for (i = 0; i < ndec; i++) {
        const char *codes[2];
        char bufs[2][17];
        struct wcs_decide_input m;
        struct wcs_decision out;
        size_t nr = 0, k;
        uint64_t a, b;

        switch (q[i].kind) {
        case Q_ONE:
            codes[nr++] = q[i].use_s10 ? s10[q[i].a] : lp[q[i].a];
            break;
        case Q_PAIR:
            codes[nr++] = lp[q[i].a];
            codes[nr++] = s10[q[i].a];
            break;
        case Q_TWO_PARCELS:
            codes[nr++] = lp[q[i].a];
            codes[nr++] = lp[q[i].b];
            break;
        case Q_UNKNOWN:
            codes[nr++] = unknown[q[i].a];
            break;
        default:
            break;
        }
        /* As above: the codes arrive in a telegram, already in cache. */
        for (k = 0; k < nr; k++) {
            memcpy(bufs[k], codes[k], strlen(codes[k]) + 1);
            codes[k] = bufs[k];
        }
        memset(&m, 0, sizeof(m));
        m.weight_g = (uint32_t)(q[i].b % 3 == 0 ? 0 : 500 + q[i].b % 4000);
        a = now_ns();
        wcs_sorter_decide(sorter, codes, nr, &m, true, &out, NULL);
        b = now_ns();
        lat_dec[i] = (uint32_t)(b - a);
        reasons[out.reason]++;
        /* Bags close now and then: empty the chute that got this parcel. */
        if (out.chute >= 0 && wcs_engine_chute(eng, (size_t)out.chute)->load >= 300)
            wcs_engine_chute_emptied(eng, out.destination);
    }
    wall_dec = now_ns() - t0;

    sd = summarize(lat_dec, ndec, wall_dec);
    sl = summarize(lat_look, ndec, wall_look);
    printf("plan: %s (%zu chutes, %zu routes, %zu rules)\n", plan_path, wcs_plan_nchutes(plan),
           wcs_plan_nroutes(plan), wcs_plan_nrules(plan));
    printf("queries: %zu; timer overhead %llu ns per clock_gettime (included below)\n", ndec,
           (unsigned long long)timer_ns);
    printf("\n%-26s %16s %16s %8s\n", "", "decision", "lookup only", "ratio");
    printf("%-26s %16.0f %16.0f %8.2f\n", "per second (loop wall)", sd.per_s, sl.per_s,
           sl.per_s / sd.per_s);
    printf("%-26s %16u %16u %8.2f\n", "p50 latency, ns", sd.p50, sl.p50, (double)sd.p50 / sl.p50);
    printf("%-26s %16u %16u %8.2f\n", "p99 latency, ns", sd.p99, sl.p99, (double)sd.p99 / sl.p99);
    printf("%-26s %16u %16u %8.2f\n", "p99.9 latency, ns", sd.p999, sl.p999,
           (double)sd.p999 / sl.p999);
    printf("%-26s %16u %16u %8.2f\n", "max latency, ns", sd.max, sl.max, (double)sd.max / sl.max);
    printf("%-26s %16.1f\n", "registry bytes per parcel",
           (double)wcs_registry_memory(reg) / nparcels);
    printf("\ngoals: p99.9 < 10000 ns: %s; < 300 bytes per parcel: %s\n",
           sd.p999 < 10000 ? "met" : "MISSED",
           wcs_registry_memory(reg) / nparcels < 300 ? "met" : "MISSED");
    printf("\nreasons:");
    for (i = 0; i < CONV_REASON_COUNT; i++)
        if (reasons[i])
            printf(" %s %zu", conv_reason_code((enum conv_reason)i), reasons[i]);
    printf("\n(sink %llu)\n", (unsigned long long)(sink & 1));

    free(q);
    free(lat_dec);
    free(lat_look);
    wcs_sorter_free(sorter); /* and the plan it owns */
    return 0;
}
