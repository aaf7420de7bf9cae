/*
 * customs_ops.c - the customs worker's store interface (customs/store.h)
 * on PostgreSQL: a session is one connection, each op the customs store
 * function of the same name (wcs/store/customs_store.h).
 */
#include "wcs/store/customs_store.h"
#include "wcs/store/store.h"

static int open_session(const void *arg, void **session, struct err *e)
{
    PGconn *c = NULL;
    int rc = wcs_db_connect(arg, &c, e);

    *session = c;
    return rc;
}

static void close_session(void *session)
{
    if (session != NULL)
        PQfinish(session);
}

static int claim(void *s, const char *broker, const char *owner, int lease_s, int max,
                 struct cust_batch *out, struct err *e)
{
    return wcs_customs_claim(s, broker, owner, lease_s, max, out, e);
}

static int claim_new(void *s, const char *broker, const char *owner, int lease_s, int max,
                     struct cust_batch *out, struct err *e)
{
    return wcs_customs_claim_new(s, broker, owner, lease_s, max, out, e);
}

static int finish(void *s, const char *batch_key, const struct cust_result *res, size_t n,
                  struct err *e)
{
    return wcs_customs_finish(s, batch_key, res, n, e);
}

static int finish_manifest(void *s, const char *batch_key, const char *manifest_id,
                           const struct cust_manifest_result *r, struct err *e)
{
    return wcs_customs_finish_manifest(s, batch_key, manifest_id, r, e);
}

static int release(void *s, const char *batch_key, const char *owner, long delay_ms,
                   struct err *e)
{
    return wcs_customs_release(s, batch_key, owner, delay_ms, e);
}

static int split(void *s, const char *batch_key, const char *owner, size_t first,
                 struct err *e)
{
    return wcs_customs_split(s, batch_key, owner, first, e);
}

static int alarm_raise(void *s, const struct cust_alarm *a, struct err *e)
{
    return wcs_customs_alarm_raise(s, a, e);
}

static int alarm_clear(void *s, const char *broker, const char *kind, const char *ref,
                       struct err *e)
{
    return wcs_customs_alarm_clear(s, broker, kind, ref, e);
}

static int open_count(void *s, const char *broker, long long *n, struct err *e)
{
    return wcs_customs_open_count(s, broker, n, e);
}

static int feed_cursor(void *s, const char *broker, char **out, struct err *e)
{
    return wcs_customs_feed_cursor(s, broker, out, e);
}

static int feed_store(void *s, const char *broker, const char *after,
                      const struct cust_feed_event *ev, size_t n, const char *next,
                      struct cust_feed_result *res, struct err *e)
{
    return wcs_customs_feed_store(s, broker, after, ev, n, next, res, e);
}

const struct cust_store_ops wcs_customs_store_ops = {
    .open = open_session,
    .close = close_session,
    .claim = claim,
    .claim_new = claim_new,
    .finish = finish,
    .finish_manifest = finish_manifest,
    .release = release,
    .split = split,
    .alarm_raise = alarm_raise,
    .alarm_clear = alarm_clear,
    .open_count = open_count,
    .feed_cursor = feed_cursor,
    .feed_store = feed_store,
};
