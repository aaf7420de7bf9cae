/*
 * log.h - the one logger (ntpd/relayd style).
 *
 * log_warn() appends strerror(errno); log_warnx() does not. Each thread may
 * carry a tag ("loop", "store") printed after the program name. The level is
 * tested before the arguments are formatted. Never pass a secret.
 * Lines go to stderr: "2026-11-23T14:09:01.123Z wcsd[loop] info: text".
 */
#ifndef WCS_COMMON_LOG_H
#define WCS_COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the program name and the maximum level printed. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* "error", "warn", "info", "debug"; "?" out of range. */
const char *log_level_name(enum log_level level);
/* Parses "error|warn|info|debug"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
/* Tags the calling thread's lines ("loop", "store"); tag must outlive use. */
void log_set_tag(const char *tag);

extern enum log_level log_max_level;

void log_emit(enum log_level level, int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vemit(enum log_level level, int with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Logs at error level and exits 1: startup failures and broken invariants only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_enabled(lvl) ((lvl) <= log_max_level)
#define log_error(...) log_emit(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_WARN))                                                           \
            log_emit(LOG_LEVEL_WARN, 1, __VA_ARGS__);                                              \
    } while (0)
#define log_warnx(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_WARN))                                                           \
            log_emit(LOG_LEVEL_WARN, 0, __VA_ARGS__);                                              \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_INFO))                                                           \
            log_emit(LOG_LEVEL_INFO, 0, __VA_ARGS__);                                              \
    } while (0)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_emit(LOG_LEVEL_DEBUG, 0, __VA_ARGS__);                                             \
    } while (0)

#endif
