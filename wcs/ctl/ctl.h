/*
 * ctl.h - what wcsctl.c shares with its command files (ctl_customs.c,
 * ctl_users.c).
 */
#ifndef WCS_CTL_H
#define WCS_CTL_H

#include <stddef.h>

/* Who acts, for operator events (the audit): "wcsctl:" and the user behind
 * sudo, else the OS user. */
void wcsctl_actor(char *buf, size_t len);

#endif
