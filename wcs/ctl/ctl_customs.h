/*
 * ctl_customs.h - wcsctl's customs commands (wcs/ctl_customs.c), kept out of
 * wcsctl.c, which parses options and dispatches. Each takes an open
 * connection and the command's arguments; returns wcsctl's exit code (0
 * fine, 1 problems found or not found, 2 usage or database error).
 */
#ifndef WCS_CTL_CUSTOMS_H
#define WCS_CTL_CUSTOMS_H

#include <libpq-fe.h>

/* wcsctl customs problems [--kind K[,K...]] [--json] */
int wcsctl_customs_problems(PGconn *c, int argc, char **argv);

/* The customs line(s) of wcsctl status: the customs worker's open alarms
 * (1 when there is one), or "no alarm" (0). */
int wcsctl_customs_status(PGconn *c);

/* wcsctl customs show CODE */
int wcsctl_customs_show(PGconn *c, int argc, char **argv);

#endif
