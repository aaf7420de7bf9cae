/* status.c - customs status words, shared by the store and the decision. */
#include "customs/customs.h"

#include <string.h>

#include "common/err.h"

static const char *const status_names[CUST_STATUS_COUNT] = {
    [CUST_STATUS_NONE] = "none",       [CUST_STATUS_PENDING] = "pending",
    [CUST_STATUS_RELEASED] = "released", [CUST_STATUS_HELD] = "held",
    [CUST_STATUS_BLOCKED] = "blocked",
};

const char *cust_status_name(enum cust_status s)
{
    if ((unsigned)s >= CUST_STATUS_COUNT)
        return "none";
    return status_names[s];
}

int cust_status_parse(const char *s, enum cust_status *out)
{
    int i;

    for (i = 0; i < CUST_STATUS_COUNT; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum cust_status)i;
            return 0;
        }
    }
    return ERR_PARSE;
}

int cust_status_holds(enum cust_status s)
{
    return s == CUST_STATUS_HELD || s == CUST_STATUS_BLOCKED;
}
