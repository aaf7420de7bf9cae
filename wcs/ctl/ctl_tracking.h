/*
 * ctl_tracking.h - wcsctl's tracking command (wcs/ctl/ctl_tracking.c).
 * Returns wcsctl's exit code (0 fine, 1 bad argument, 2 usage or database
 * error).
 */
#ifndef WCS_CTL_TRACKING_H
#define WCS_CTL_TRACKING_H

#include <libpq-fe.h>

/* wcsctl tracking export [--since TIME] [--after CURSOR] [--out FILE] */
int wcsctl_tracking_export(PGconn *c, int argc, char **argv);

#endif
