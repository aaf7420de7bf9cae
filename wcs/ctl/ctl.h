/*
 * ctl.h - what wcsctl.c shares with its command files (ctl_customs.c,
 * ctl_users.c).
 */
#ifndef WCS_CTL_H
#define WCS_CTL_H

#include <stddef.h>
#include <stdint.h>

/* Who acts, for operator events (the audit): "wcsctl:" and the user behind
 * sudo, else the OS user. */
void wcsctl_actor(char *buf, size_t len);

/* Parses "2026-11-23T14:00:00" (UTC) or a relative "30s", "10m", "2h", "1d"
 * into microseconds since the epoch. Returns 0, or -1 when it is neither. */
int wcsctl_parse_since(const char *s, int64_t *us);

/* The config's cameras.noread_dir (where no-read images are), NULL when
 * wcsctl has no config or it names none. */
const char *wcsctl_noread_dir(void);

#endif
