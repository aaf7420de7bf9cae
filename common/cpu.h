/*
 * cpu.h - keeping a hot path on a CPU of its own (Linux).
 *
 * A decision takes well under a microsecond, so its latency tail is made by
 * whatever else runs on its CPU: measured on the project's 2-vCPU machines,
 * the virtio block device's completion interrupts all land on one CPU, and
 * while the disk is busy (PostgreSQL's fsyncs) a loop on that CPU sees
 * p99.9 decision times of 15-25 us instead of 1-3 us (docs/benchmarks.md).
 * cpu_quietest() finds the CPU that has served the fewest device interrupts
 * (/proc/interrupts), so the loop can be pinned there and the process's
 * other threads kept off it.
 */
#ifndef WCS_COMMON_CPU_H
#define WCS_COMMON_CPU_H

#include "common/err.h"

#define CPU_NONE (-1) /* leave placement to the kernel */
#define CPU_AUTO (-2) /* the quietest CPU, chosen at start */
#define CPU_MAX 1024  /* highest CPU number accepted, exclusive */

/* Parses "none", "auto" or a CPU number 0..CPU_MAX-1 into *out; returns 0 or
 * ERR_PARSE. */
int cpu_parse(const char *s, int *out);

/* The CPU, among those this thread may run on, that has served the fewest
 * device interrupts since boot (numbered lines of /proc/interrupts; timer,
 * IPI and other per-CPU lines do not count). Ties go to the lowest number.
 * *irqs (may be NULL) gets its count. Returns 0, -errno (no
 * /proc/interrupts) or ERR_STATE (no usable CPU). */
int cpu_quietest(int *cpu, unsigned long long *irqs, struct err *e);

/* Pins the calling thread to cpu. Returns 0 or -errno (e.g. -EINVAL for a
 * CPU this process may not use). */
int cpu_pin_thread(int cpu, struct err *e);

/* Lets the calling thread, and the threads it creates from now on, run on
 * every CPU it may use now except cpu; a no-op when cpu is the only one.
 * Returns 0 or -errno. */
int cpu_avoid(int cpu, struct err *e);

#endif
