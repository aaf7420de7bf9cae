/* log.c - the one logger: timestamped, tagged per thread, one write per line. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum log_level log_max_level = LOG_LEVEL_INFO;
static const char *progname = "wcs";
static _Thread_local const char *thread_tag;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *name, enum log_level level)
{
    progname = name;
    log_max_level = level;
}

void log_set_level(enum log_level level)
{
    log_max_level = level;
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level <= LOG_LEVEL_DEBUG ? level_names[level] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
    int i;

    for (i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_tag(const char *tag)
{
    thread_tag = tag;
}

void log_vemit(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int saved = errno, n, m;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s%s%s%s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, progname, thread_tag ? "[" : "",
                 thread_tag ? thread_tag : "", thread_tag ? "]" : "", level_names[level]);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m > 0)
        n += m;
    if (n > (int)sizeof(line) - 64)
        n = (int)sizeof(line) - 64;
    if (with_errno)
        n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(saved));
    line[n++] = '\n';
    /* One write per line so lines of several threads never interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* Nothing sensible to do when stderr is gone. */
    }
    errno = saved;
}

void log_emit(enum log_level level, int with_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(level, with_errno, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
    va_end(ap);
    exit(1);
}
