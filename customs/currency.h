/*
 * currency.h - ISO 4217 currencies in circulation and their minor units.
 *
 * The table is of active currencies of circulation only (as of 2026): fund
 * codes (CLF, BOV, ...), precious metals (XAU, ...), testing codes (XTS, XXX)
 * and withdrawn codes (HRK, SLL, ZWL, ANG, BGN, CUC) are refused, because a
 * customs value has to be money someone can pay with.
 */
#ifndef WCS_CUSTOMS_CURRENCY_H
#define WCS_CUSTOMS_CURRENCY_H

/* Number of decimal digits of the minor unit of code ("CNY" -> 2, "JPY" -> 0,
 * "KWD" -> 3), or -1 when code (NULL allowed) is not an active ISO 4217
 * code written as exactly 3 upper-case letters. */
int cust_currency_exponent(const char *code);

#endif
