/*
 * service.h - a long-running program under systemd (Type=notify): it says
 * when it is ready to serve and when it is stopping, and keeps the
 * watchdog fed from the loop that does its work, so a loop that hangs is
 * restarted (sd_notify(3), libsystemd). Outside systemd (no NOTIFY_SOCKET)
 * every call does nothing.
 */
#ifndef WCS_COMMON_SERVICE_H
#define WCS_COMMON_SERVICE_H

#include <stdint.h>

/* READY=1 with a one-line STATUS= (may be NULL). */
void svc_ready(const char *status);

/* STOPPING=1. */
void svc_stopping(void);

/* RELOADING=1 (a READY=1 follows when the reload is done). */
void svc_reloading(void);

/* How often the watchdog must be fed, in microseconds (half the unit's
 * WatchdogSec=, as sd_watchdog_enabled(3) advises), or 0 when no watchdog
 * is asked for. */
uint64_t svc_watchdog_interval_us(void);

/* WATCHDOG=1: the caller's loop is alive. */
void svc_watchdog(void);

#endif
