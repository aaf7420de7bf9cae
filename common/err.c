/* err.c - the error struct setters and the table of domain error names. */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} domain_errors[] = {
#define ERR_TABLE_ITEM(name, code, text) {name, #name, text},
    ERR_MAP(ERR_TABLE_ITEM)
#undef ERR_TABLE_ITEM
};

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}

int err_wrap(struct err *e, int code, const char *fmt, ...)
{
    char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* Truncation is acceptable: the message is for people, bounded on purpose. */
    if (snprintf(e->msg, sizeof(e->msg), "%.255s: %.254s", prefix, old) < 0)
        e->msg[0] = '\0';
    return code;
}

const char *err_name(int code)
{
    size_t i;

    for (i = 0; i < sizeof(domain_errors) / sizeof(domain_errors[0]); i++)
        if (domain_errors[i].code == code)
            return domain_errors[i].name;
    if (code < 0 && code > -4096) {
        const char *n = strerrorname_np(-code);
        if (n != NULL)
            return n;
    }
    return "ERR_UNKNOWN";
}

const char *err_text(int code)
{
    size_t i;

    for (i = 0; i < sizeof(domain_errors) / sizeof(domain_errors[0]); i++)
        if (domain_errors[i].code == code)
            return domain_errors[i].text;
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}
