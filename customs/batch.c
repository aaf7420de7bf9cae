/*
 * batch.c - a claimed batch's memory (customs/store.h).
 */
#include <stdlib.h>
#include <string.h>

#include "customs/store.h"

void cust_batch_free(struct cust_batch *b)
{
    size_t i;

    for (i = 0; b->items != NULL && i < b->n; i++) {
        free(b->items[i].parcel_id);
        free(b->items[i].body);
    }
    free(b->items);
    free(b->batch_key);
    free(b->idem_key);
    memset(b, 0, sizeof(*b));
}
