/*
 * db_partitions.c - the day partitions of the event and telegram logs
 * (events.h, migration 0019): made ahead, dropped past the retention.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "wcs/store/db_internal.h"
#include "wcs/store/events.h"

static const char SQL_ENSURE[] = "SELECT wcs_log_partitions_ensure($1::int, $2::int)";
static const char SQL_DROP[] = "SELECT * FROM wcs_log_partitions_drop($1::int)";

int wcs_db_log_partitions(PGconn *c, int days_back, int days_ahead, int keep_days, int *made,
                          int *dropped, struct err *e)
{
    char back[16], ahead[16], keep[16];
    const char *p[2] = {back, ahead};
    const char *k[1] = {keep};
    PGresult *r;
    int i;

    if (made != NULL)
        *made = 0;
    if (dropped != NULL)
        *dropped = 0;
    snprintf(back, sizeof(back), "%d", days_back);
    snprintf(ahead, sizeof(ahead), "%d", days_ahead);
    r = wcs_db_query(c, "log partitions", SQL_ENSURE, 2, p, e);
    if (r == NULL)
        return ERR_DB;
    if (made != NULL)
        *made = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (keep_days <= 0)
        return 0;
    snprintf(keep, sizeof(keep), "%d", keep_days);
    r = wcs_db_query(c, "log retention", SQL_DROP, 1, k, e);
    if (r == NULL)
        return ERR_DB;
    for (i = 0; i < PQntuples(r); i++)
        log_info("retention: %s dropped (events.retention_days %d)", PQgetvalue(r, i, 0),
                 keep_days);
    if (dropped != NULL)
        *dropped = PQntuples(r);
    PQclear(r);
    return 0;
}
