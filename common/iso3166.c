/* iso3166.c - the table of ISO 3166-1 alpha-2 codes and its lookup. */
#include "common/iso3166.h"

#include <string.h>

/*
 * ISO 3166-1 alpha-2 officially assigned codes (249 of them, as published by
 * the ISO 3166 Maintenance Agency), one row per first letter listing the
 * second letters. User-assigned codes (AA, QM-QZ, XA-XZ, ZZ), exceptionally
 * reserved codes (EU, UK, ...) and withdrawn codes (SU, YU) are not in it.
 */
static const char *const iso3166_rows[26] = {
    /* A */ "DEFGILMOQRSTUWXZ",
    /* B */ "ABDEFGHIJLMNOQRSTVWYZ",
    /* C */ "ACDFGHIKLMNORUVWXYZ",
    /* D */ "EJKMOZ",
    /* E */ "CEGHRST",
    /* F */ "IJKMOR",
    /* G */ "ABDEFGHILMNPQRSTUWY",
    /* H */ "KMNRTU",
    /* I */ "DELMNOQRST",
    /* J */ "EMOP",
    /* K */ "EGHIMNPRWYZ",
    /* L */ "ABCIKRSTUVY",
    /* M */ "ACDEFGHKLMNOPQRSTUVWXYZ",
    /* N */ "ACEFGILOPRUZ",
    /* O */ "M",
    /* P */ "AEFGHKLMNRSTWY",
    /* Q */ "A",
    /* R */ "EOSUW",
    /* S */ "ABCDEGHIJKLMNORSTVXYZ",
    /* T */ "CDFGHJKLMNORTVWZ",
    /* U */ "AGMSYZ",
    /* V */ "ACEGINU",
    /* W */ "FS",
    /* X */ "",
    /* Y */ "ET",
    /* Z */ "AMW",
};

int iso3166_valid(char c1, char c2)
{
    /* The range checks also keep c2 == '\0' away from strchr, which would
     * otherwise "find" the terminator. */
    if (c1 < 'A' || c1 > 'Z' || c2 < 'A' || c2 > 'Z')
        return 0;
    return strchr(iso3166_rows[c1 - 'A'], c2) != NULL;
}
