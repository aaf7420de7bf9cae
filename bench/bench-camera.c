/*
 * bench-camera - camera decoding: read rate, wrong codes and time per frame
 * for each degradation class, the pipeline beside plain ZBar in the same run.
 *
 *   bench/gen-labels.sh /tmp/labels 30
 *   bench-camera [-b BUDGET_MS] [-z ZBARIMG] /tmp/labels
 *
 * Frames are DIR/CLASS-NNN-CODE.{pgm,png,jpg}: the true code is in the name.
 * Three readers per frame:
 *   pipeline  scan_pipeline_decode with the defaults (Code 128, parcel kinds)
 *             and the given budget; time is the decode only (file load apart);
 *   plain     the pipeline's first pass alone (libzbar, Code 128; every
 *             second line, every line on a frame the noise estimate calls
 *             noisy): what ZBar does without the extra passes, in-process;
 *   zbarimg   the zbar-tools CLI with its defaults (every symbology), as an
 *             operator would run it; its time includes process start and
 *             image loading, so compare its read rate, not its time.
 * A "wrong" read is any reported code other than the frame's true code;
 * "lost" counts frames zbarimg read and the pipeline did not.
 * Runs on one thread: frames/s on one core is 1000 / ms.
 * Goals (docs/benchmarks.md), each printed met or NOT met: rot20_45 frames
 * at least 95% read by the pipeline; clean frames at least 30 frames/s on
 * one core; no wrong code from the pipeline; nothing lost against zbarimg.
 * The test command runs it on one frame per class (tests/bench) to see that
 * it still runs and prints its figures and goals.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scanners/camera.h"

#define MAX_CLASSES 32

struct reader_stats {
    unsigned read, wrong;
    double ms_sum;
    double *ms; /* one per frame, for the 95th percentile */
};

struct class_stats {
    char name[32];
    unsigned frames;
    struct reader_stats r[3]; /* pipeline, plain, zbarimg */
    unsigned passes_sum;      /* pipeline passes run, summed */
    unsigned lost;            /* frames zbarimg read and the pipeline did not */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Splits "CLASS-NNN-CODE.ext" into class and code; -1 when it is not one. */
static int parse_name(const char *name, char *cls, size_t clen, char *code, size_t codelen)
{
    const char *d1 = strchr(name, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
    const char *dot = strrchr(name, '.');
    if (!d1 || !d2 || !dot || dot < d2 || (size_t)(d1 - name) >= clen ||
        (size_t)(dot - d2 - 1) >= codelen)
        return -1;
    if (strcmp(dot, ".pgm") && strcmp(dot, ".png") && strcmp(dot, ".jpg"))
        return -1;
    snprintf(cls, clen, "%.*s", (int)(d1 - name), name);
    snprintf(code, codelen, "%.*s", (int)(dot - d2 - 1), d2 + 1);
    return 0;
}

static void record(struct reader_stats *s, unsigned idx, bool read, bool wrong, double ms)
{
    s->read += read;
    s->wrong += wrong;
    s->ms_sum += ms;
    s->ms[idx] = ms;
}

/* Runs zbarimg on path; sets *read / *wrong against truth. */
static int run_zbarimg(const char *zbarimg, const char *path, const char *truth, bool *read,
                       bool *wrong)
{
    char cmd[8400], line[512];
    snprintf(cmd, sizeof(cmd), "'%s' -q --raw '%s' 2>/dev/null", zbarimg, path);
    FILE *fp = popen(cmd, "r");
    if (!fp)
        return -1;
    *read = *wrong = false;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (strcmp(line, truth) == 0)
            *read = true;
        else
            *wrong = true;
    }
    int st = pclose(fp);
    /* zbarimg exits 4 when it found nothing: not an error here. */
    return st == -1 ? -1 : 0;
}

/* The class called name, or NULL when there were no such frames. */
static const struct class_stats *find_class(const struct class_stats *cls, size_t n,
                                            const char *name)
{
    for (size_t c = 0; c < n; c++)
        if (strcmp(cls[c].name, name) == 0)
            return &cls[c];
    return NULL;
}

static void print_goal(const char *what, const struct class_stats *c, bool met)
{
    if (c == NULL)
        printf("goal: %s: n/a (no such frames)\n", what);
    else
        printf("goal: %s: %s\n", what, met ? "met" : "NOT met");
}

static void print_row(const struct class_stats *c)
{
    printf("| %-12s | %4u |", c->name, c->frames);
    for (int k = 0; k < 3; k++) {
        const struct reader_stats *s = &c->r[k];
        double *ms = s->ms;
        qsort(ms, c->frames, sizeof(double), cmp_double);
        double p95 = c->frames ? ms[(c->frames * 95 + 99) / 100 - 1] : 0;
        printf(" %5.1f%% | %u | %6.1f | %6.1f |", c->frames ? 100.0 * s->read / c->frames : 0,
               s->wrong, c->frames ? s->ms_sum / c->frames : 0, p95);
    }
    printf(" %.1f | %u |\n", c->frames ? (double)c->passes_sum / c->frames : 0, c->lost);
}

int main(int argc, char **argv)
{
    const char *zbarimg = "zbarimg";
    unsigned budget = 100;
    int ch;
    while ((ch = getopt(argc, argv, "b:z:h")) != -1) {
        switch (ch) {
        case 'b': budget = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'z': zbarimg = optarg; break;
        default:
            fprintf(stderr, "usage: bench-camera [-b BUDGET_MS] [-z ZBARIMG] DIR\n");
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: bench-camera [-b BUDGET_MS] [-z ZBARIMG] DIR\n");
        return 2;
    }
    const char *dir = argv[optind];
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 2;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char cls[32], code[64];
        if (parse_name(de->d_name, cls, sizeof(cls), code, sizeof(code)) < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn)
                return 2;
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n])
            return 2;
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "%s: no CLASS-NNN-CODE frames (run bench/gen-labels.sh)\n", dir);
        return 2;
    }
    qsort(names, n, sizeof(*names), cmp_str);

    struct scan_pipeline_config cfg;
    scan_pipeline_config_default(&cfg);
    cfg.budget_ms = budget;
    struct scan_pipeline *pipe, *plain;
    struct err e;
    if (scan_pipeline_new(&cfg, &pipe, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    cfg.max_passes = 1;
    if (scan_pipeline_new(&cfg, &plain, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }

    static struct class_stats cls[MAX_CLASSES + 1]; /* the last is the total */
    size_t ncls = 0;
    struct class_stats *total = &cls[MAX_CLASSES];
    snprintf(total->name, sizeof(total->name), "all");
    for (int k = 0; k < 3; k++)
        total->r[k].ms = calloc(n, sizeof(double));
    struct scan_image img = {0};
    double load_ms = 0;
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        char cname[32], truth[64], path[4096];
        parse_name(names[i], cname, sizeof(cname), truth, sizeof(truth));
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t c;
        for (c = 0; c < ncls && strcmp(cls[c].name, cname); c++)
            ;
        if (c == ncls) {
            if (ncls == MAX_CLASSES) {
                fprintf(stderr, "more than %d classes\n", MAX_CLASSES);
                return 2;
            }
            snprintf(cls[c].name, sizeof(cls[c].name), "%s", cname);
            for (int k = 0; k < 3; k++)
                cls[c].r[k].ms = calloc(n, sizeof(double));
            ncls++;
        }
        double t = now_ms();
        if (scan_image_load(path, &img, &e) < 0) {
            fprintf(stderr, "%s: %s\n", path, e.msg);
            status = 2;
            continue;
        }
        load_ms += now_ms() - t;
        struct scan_frame f = scan_image_frame(&img);
        struct scan_pipeline *readers[2] = {pipe, plain};
        bool pipe_read = false;
        unsigned ci = cls[c].frames, ti = total->frames;
        for (int k = 0; k < 2; k++) {
            struct scan_result r;
            if (scan_pipeline_decode(readers[k], &f, &r, &e) < 0) {
                fprintf(stderr, "%s: %s\n", path, e.msg);
                return 2;
            }
            bool read = false, wrong = false;
            for (size_t s = 0; s < r.n; s++) {
                if (strcmp(r.sym[s].text, truth) == 0)
                    read = true;
                else
                    wrong = true;
            }
            if (wrong)
                fprintf(stderr, "%s: %s read %s\n", names[i], k ? "plain" : "pipeline",
                        r.sym[0].text);
            record(&cls[c].r[k], ci, read, wrong, r.ms);
            record(&total->r[k], ti, read, wrong, r.ms);
            if (k == 0 && !read)
                fprintf(stderr, "%s: pipeline read nothing (%d passes, %.1f ms)\n", names[i],
                        r.passes_run, r.ms);
            if (k == 0) {
                pipe_read = read;
                cls[c].passes_sum += (unsigned)r.passes_run;
                total->passes_sum += (unsigned)r.passes_run;
            }
        }
        bool zread, zwrong;
        t = now_ms();
        if (run_zbarimg(zbarimg, path, truth, &zread, &zwrong) < 0) {
            fprintf(stderr, "%s: cannot run %s\n", path, zbarimg);
            return 2;
        }
        double zms = now_ms() - t;
        if (zread && !pipe_read) {
            cls[c].lost++;
            total->lost++;
            fprintf(stderr, "%s: read by zbarimg, not by the pipeline\n", names[i]);
        }
        record(&cls[c].r[2], ci, zread, zwrong, zms);
        record(&total->r[2], ti, zread, zwrong, zms);
        cls[c].frames++;
        total->frames++;
    }

    printf("camera decoding, %zu frames from %s; pipeline budget %u ms; one thread\n", n, dir,
           budget);
    printf("read %% | wrong codes | mean ms | p95 ms, per reader; passes = pipeline passes run "
           "per frame\n\n");
    printf("| class        | n    | pipeline read | wrong | ms | p95 | plain ZBar read | wrong | "
           "ms | p95 | zbarimg CLI read | wrong | ms | p95 | passes | lost |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < ncls; c++)
        print_row(&cls[c]);
    print_row(total);
    printf("\nfile load (PGM): %.2f ms/frame\n", total->frames ? load_ms / total->frames : 0);

    const struct class_stats *rot = find_class(cls, ncls, "rot20_45");
    const struct class_stats *clean = find_class(cls, ncls, "clean");
    printf("\n");
    print_goal("rot20_45 at least 95% read by the pipeline", rot,
               rot != NULL && rot->r[0].read * 100 >= rot->frames * 95);
    print_goal("clean frames at least 30 frames/s on one core", clean,
               clean != NULL && clean->r[0].ms_sum * 30 <= clean->frames * 1000.0);
    print_goal("no wrong code from the pipeline", total, total->r[0].wrong == 0);
    print_goal("nothing lost against zbarimg", total, total->lost == 0);

    for (size_t c = 0; c <= MAX_CLASSES; c++)
        for (int k = 0; k < 3; k++)
            free(cls[c].r[k].ms);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    scan_image_release(&img);
    scan_pipeline_free(pipe);
    scan_pipeline_free(plain);
    return status;
}
