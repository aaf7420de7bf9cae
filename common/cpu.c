/*
 * cpu.c - the quietest CPU and thread pinning (see cpu.h).
 */
#include "common/cpu.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cpu_parse(const char *s, int *out)
{
    char *end;
    long n;

    if (s == NULL)
        return ERR_PARSE;
    if (strcmp(s, "none") == 0) {
        *out = CPU_NONE;
        return 0;
    }
    if (strcmp(s, "auto") == 0) {
        *out = CPU_AUTO;
        return 0;
    }
    if (!isdigit((unsigned char)s[0]))
        return ERR_PARSE;
    errno = 0;
    n = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || n >= CPU_MAX)
        return ERR_PARSE;
    *out = (int)n;
    return 0;
}

/* Adds the per-CPU counts of one /proc/interrupts line to sum[] when it is
 * a device interrupt (the line starts with an IRQ number). */
static void add_line(const char *line, int ncols, unsigned long long *sum)
{
    const char *p = line;
    char *end;
    int col;

    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        return;
    strtoul(p, &end, 10);
    if (*end != ':')
        return;
    p = end + 1;
    for (col = 0; col < ncols; col++) {
        unsigned long long v = strtoull(p, &end, 10);

        if (end == p)
            return;
        sum[col] += v;
        p = end;
    }
}

int cpu_quietest(int *cpu, unsigned long long *irqs, struct err *e)
{
    unsigned long long sum[CPU_MAX] = {0};
    int cols[CPU_MAX], ncols = 0, best = -1, i;
    char *line = NULL, *tok, *save;
    size_t cap = 0;
    cpu_set_t allowed;
    FILE *f;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        return err_set(e, -errno, "sched_getaffinity: %s", strerror(errno));
    f = fopen("/proc/interrupts", "r");
    if (f == NULL)
        return err_set(e, -errno, "/proc/interrupts: %s", strerror(errno));
    /* The header names the online CPUs: "CPU0 CPU1 ...". */
    if (getline(&line, &cap, f) > 0)
        for (tok = strtok_r(line, " \t\n", &save); tok != NULL && ncols < CPU_MAX;
             tok = strtok_r(NULL, " \t\n", &save))
            if (strncmp(tok, "CPU", 3) == 0)
                cols[ncols++] = atoi(tok + 3);
    while (getline(&line, &cap, f) > 0)
        add_line(line, ncols, sum);
    free(line);
    fclose(f);
    for (i = 0; i < ncols; i++) {
        if (cols[i] < 0 || cols[i] >= CPU_MAX || !CPU_ISSET(cols[i], &allowed))
            continue;
        if (best < 0 || sum[i] < sum[best])
            best = i;
    }
    if (best < 0)
        return err_set(e, ERR_STATE, "/proc/interrupts: no CPU this process may use");
    *cpu = cols[best];
    if (irqs != NULL)
        *irqs = sum[best];
    return 0;
}

int cpu_pin_thread(int cpu, struct err *e)
{
    cpu_set_t set;
    int rc;

    if (cpu < 0 || cpu >= CPU_MAX)
        return err_set(e, -EINVAL, "CPU %d out of range", cpu);
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0)
        return err_set(e, -rc, "pin to CPU %d: %s", cpu, strerror(rc));
    return 0;
}

int cpu_avoid(int cpu, struct err *e)
{
    cpu_set_t set;
    int rc;

    rc = pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0)
        return err_set(e, -rc, "thread affinity: %s", strerror(rc));
    if (cpu < 0 || cpu >= CPU_MAX || !CPU_ISSET(cpu, &set) || CPU_COUNT(&set) < 2)
        return 0;
    CPU_CLR(cpu, &set);
    rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0)
        return err_set(e, -rc, "keep off CPU %d: %s", cpu, strerror(rc));
    return 0;
}
