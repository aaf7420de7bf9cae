/*
 * service.c - systemd notifications (service.h) through libsystemd.
 */
#include "common/service.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void svc_ready(const char *status)
{
    if (status != NULL)
        sd_notifyf(0, "READY=1\nSTATUS=%.200s", status);
    else
        sd_notify(0, "READY=1");
}

void svc_reloading(void)
{
    sd_notify(0, "RELOADING=1");
}

void svc_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

uint64_t svc_watchdog_interval_us(void)
{
    uint64_t us = 0;

    return sd_watchdog_enabled(0, &us) > 0 ? us / 2 : 0;
}

void svc_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}
