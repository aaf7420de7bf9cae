/*
 * scan_words.c - the words a config or a command line names camera
 * symbologies and code kinds with (camera.h): pure, so the config loader
 * checks `cameras.kinds` without linking the image stack.
 */
#include <string.h>

#include "scanners/camera.h"

static const struct {
    unsigned bit;
    const char *name;
} symbologies[] = {
    {SCAN_SYM_CODE128, "code128"}, {SCAN_SYM_CODE39, "code39"}, {SCAN_SYM_EAN13, "ean13"},
    {SCAN_SYM_I25, "i25"},         {SCAN_SYM_QR, "qr"},
};
#define N_SYMBOLOGIES (sizeof(symbologies) / sizeof(symbologies[0]))

static const enum scan_code_kind all_kinds[] = {SCAN_CODE_S10, SCAN_CODE_CAINIAO, SCAN_CODE_RUPOST,
                                                SCAN_CODE_RECEPTACLE};

const char *scan_symbology_name(unsigned sym)
{
    for (size_t i = 0; i < N_SYMBOLOGIES; i++)
        if (symbologies[i].bit == sym)
            return symbologies[i].name;
    return "?";
}

unsigned scan_kinds_known(void)
{
    unsigned known = SCAN_KINDS_ANY;

    for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++)
        known |= 1u << all_kinds[i];
    return known;
}

/* Calls word_cb for each comma-separated word of list (1..31 chars). */
static int for_each_word(const char *list, const char *what, unsigned *out, struct err *e,
                         int (*word_cb)(const char *word, unsigned *bits))
{
    unsigned bits = 0;
    const char *p = list;
    if (!list || !*list)
        return err_set(e, ERR_INVALID, "empty %s list", what);
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char word[32];
        if (n == 0 || n >= sizeof(word))
            return err_set(e, ERR_INVALID, "%s list \"%s\": empty or overlong item", what, list);
        memcpy(word, p, n);
        word[n] = '\0';
        if (word_cb(word, &bits) < 0)
            return err_set(e, ERR_INVALID, "unknown %s \"%s\"", what, word);
        if (!end)
            break;
        p = end + 1;
    }
    *out = bits;
    return 0;
}

static int symbology_word_cb(const char *word, unsigned *bits)
{
    for (size_t i = 0; i < N_SYMBOLOGIES; i++)
        if (strcmp(word, symbologies[i].name) == 0) {
            *bits |= symbologies[i].bit;
            return 0;
        }
    return -1;
}

static int kind_word_cb(const char *word, unsigned *bits)
{
    if (strcmp(word, "any") == 0) {
        *bits |= SCAN_KINDS_ANY;
        return 0;
    }
    for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++)
        if (strcmp(word, scan_code_kind_name(all_kinds[i])) == 0) {
            *bits |= 1u << all_kinds[i];
            return 0;
        }
    return -1;
}

int scan_symbology_parse(const char *list, unsigned *out, struct err *e)
{
    return for_each_word(list, "symbology", out, e, symbology_word_cb);
}

int scan_kinds_parse(const char *list, unsigned *out, struct err *e)
{
    return for_each_word(list, "code kind", out, e, kind_word_cb);
}
