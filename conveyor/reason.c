/* reason.c - RES_ reason codes (PLC telegram spec, "RES_"). */
#include "conveyor/conveyor.h"

#include <string.h>

#include "common/err.h"

static const char *const reason_codes[CONV_REASON_COUNT] = {
    [CONV_REASON_OK] = "OK______",       [CONV_REASON_NOREAD] = "NOREAD__",
    [CONV_REASON_MULTIRD] = "MULTIRD_",  [CONV_REASON_UNKNOWN] = "UNKNOWN_",
    [CONV_REASON_NOROUTE] = "NOROUTE_",  [CONV_REASON_CUSTHOLD] = "CUSTHOLD",
    [CONV_REASON_OVERSIZE] = "OVERSIZE", [CONV_REASON_CHFULL] = "CHFULL__",
    [CONV_REASON_RECIRLIM] = "RECIRLIM", [CONV_REASON_TIMEOUT] = "TIMEOUT_",
    [CONV_REASON_INVALID] = "INVALID_",
};

const char *conv_reason_code(enum conv_reason r)
{
    if ((unsigned)r >= CONV_REASON_COUNT)
        return "INVALID_";
    return reason_codes[r];
}

int conv_reason_parse(const char *code, size_t len, enum conv_reason *out)
{
    int i;

    if (len != CONV_REASON_LEN)
        return ERR_PARSE;
    for (i = 0; i < CONV_REASON_COUNT; i++) {
        if (memcmp(code, reason_codes[i], CONV_REASON_LEN) == 0) {
            *out = (enum conv_reason)i;
            return 0;
        }
    }
    return ERR_PARSE;
}
