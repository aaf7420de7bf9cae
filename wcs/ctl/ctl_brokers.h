/*
 * ctl_brokers.h - which customs broker a declaration goes to, for wcsctl
 * import (wcs/ctl/ctl_brokers.c): the first of the config's customs.brokers
 * whose services list the parcel's service, or whose routes list the route
 * the active sort plan's rules give it; else "default" (docs/customs.md
 * "Broker profiles").
 */
#ifndef WCS_CTL_BROKERS_H
#define WCS_CTL_BROKERS_H

#include <libpq-fe.h>

#include "wcs/config/config.h"
#include "wcs/core/parcel.h"

struct wcsctl_brokers;

/* The chooser for cfg's brokers, with the active plan when a broker lists
 * routes (*out NULL when cfg has no brokers). Returns 0, or -1 after saying
 * why on stderr (routes listed and no active plan, the database). */
int wcsctl_brokers_open(PGconn *c, const struct wcs_customs_config *cfg,
                        struct wcsctl_brokers **out);

/* The broker of pre-advised parcel a (arg: the chooser), or NULL for the
 * default one: the wcs_declare_ctx.broker_of of an import. */
const char *wcsctl_brokers_of(void *arg, const struct wcs_preadvice *a);

void wcsctl_brokers_close(struct wcsctl_brokers *r);

#endif
