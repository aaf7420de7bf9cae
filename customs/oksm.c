/*
 * oksm.c - OKSM numbers of ISO 3166 alpha-2 codes (customs/oksm.h). The
 * numbers are ISO 3166-1 numeric.
 */
#include <string.h>

#include "customs/oksm.h"

static const struct {
    char a2[3];
    short n;
} oksm[] = {
    {"AE", 784}, {"AF", 4},   {"AL", 8},   {"AM", 51},  {"AO", 24},  {"AR", 32},  {"AT", 40},
    {"AU", 36},  {"AZ", 31},  {"BD", 50},  {"BE", 56},  {"BG", 100}, {"BH", 48},  {"BR", 76},
    {"BY", 112}, {"CA", 124}, {"CH", 756}, {"CL", 152}, {"CN", 156}, {"CO", 170}, {"CU", 192},
    {"CY", 196}, {"CZ", 203}, {"DE", 276}, {"DK", 208}, {"DZ", 12},  {"EE", 233}, {"EG", 818},
    {"ES", 724}, {"FI", 246}, {"FR", 250}, {"GB", 826}, {"GE", 268}, {"GR", 300}, {"HK", 344},
    {"HR", 191}, {"HU", 348}, {"ID", 360}, {"IE", 372}, {"IL", 376}, {"IN", 356}, {"IQ", 368},
    {"IR", 364}, {"IT", 380}, {"JP", 392}, {"KG", 417}, {"KH", 116}, {"KP", 408}, {"KR", 410},
    {"KW", 414}, {"KZ", 398}, {"LA", 418}, {"LK", 144}, {"LT", 440}, {"LU", 442}, {"LV", 428},
    {"MD", 498}, {"MM", 104}, {"MN", 496}, {"MO", 446}, {"MX", 484}, {"MY", 458}, {"NL", 528},
    {"NO", 578}, {"NP", 524}, {"NZ", 554}, {"PH", 608}, {"PK", 586}, {"PL", 616}, {"PT", 620},
    {"QA", 634}, {"RO", 642}, {"RS", 688}, {"RU", 643}, {"SA", 682}, {"SE", 752}, {"SG", 702},
    {"SI", 705}, {"SK", 703}, {"TH", 764}, {"TJ", 762}, {"TM", 795}, {"TR", 792}, {"TW", 158},
    {"UA", 804}, {"US", 840}, {"UZ", 860}, {"VN", 704}, {"ZA", 710},
};

#define NOKSM (sizeof(oksm) / sizeof(oksm[0]))

int cust_oksm_of(const char *a2)
{
    size_t i;

    for (i = 0; a2 != NULL && i < NOKSM; i++)
        if (strcmp(oksm[i].a2, a2) == 0)
            return oksm[i].n;
    return -1;
}

const char *cust_oksm_alpha2(int n)
{
    size_t i;

    for (i = 0; i < NOKSM; i++)
        if (oksm[i].n == n)
            return oksm[i].a2;
    return NULL;
}
