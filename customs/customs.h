/*
 * customs.h - public interface of the customs module.
 *
 * This header: the customs status of a parcel as the sort decision sees it.
 * The rest of the module has narrow headers of its own: declaration.h (the
 * declaration and its JSON), validate.h (Russian import rules), duty.h (duty
 * estimates from dated rule tables), currency.h, store.h (the store the
 * worker needs, as an ops table), answer.h (reading the broker's answers),
 * outbox.h (the submission worker: the broker protocol), and brokersim/ (the
 * broker emulator).
 */
#ifndef WCS_CUSTOMS_H
#define WCS_CUSTOMS_H

#include <stddef.h>

enum cust_status {
    CUST_STATUS_NONE = 0, /* nothing declared yet */
    CUST_STATUS_PENDING,  /* declared, no broker decision yet */
    CUST_STATUS_RELEASED, /* broker released the parcel */
    CUST_STATUS_HELD,     /* broker holds the parcel: customs-hold chute */
    CUST_STATUS_BLOCKED,  /* declaration invalid: held until an operator fixes it */
    CUST_STATUS_COUNT
};

/* "none", "pending", "released", "held", "blocked" (the database's words). */
const char *cust_status_name(enum cust_status s);

/* Parses a status word; returns 0 and sets *out, or ERR_PARSE. */
int cust_status_parse(const char *s, enum cust_status *out);

/* True when the parcel must go to the customs-hold destination. */
int cust_status_holds(enum cust_status s);

#endif
