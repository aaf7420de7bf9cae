/*
 * layouts.c - keyboard layouts as data: which character each Keyboard/Keypad
 * page usage (HID Usage Tables, page 0x07) types on a scanner set to a given
 * keyboard country, and back.
 *
 * DESIGN: each layout is a table of rows {usage, base, Shift, AltGr}, one row
 * per physical key that types printable ASCII, so a layout is read and
 * checked against a keyboard picture line by line. 0 marks a level that types
 * nothing we keep (non-ASCII such as German 'ß', '§', 'ü', or nothing). The
 * same tables serve the decoder (usage -> character) and the encoder used by
 * tests and emulators (character -> usage), so the two cannot disagree.
 *
 * Sources: US - the HID Usage Tables key names ("Keyboard 1 and !", ...),
 * which are the US legends. DE - Windows' German layout (KBDGR, de-DE), which
 * is what scanners set to "Germany" emulate: QWERTZ (usage 0x1C types z,
 * 0x1D types y), Shift on the digit row gives ! " § $ % & / ( ) =, AltGr
 * (right Alt) gives @ on Q, { [ ] } on 7 8 9 0, \ on ß, ~ on +, | on the
 * ISO key 0x64; '-' is the key right of '.' (0x38); '^' (0x35) and '`'
 * (Shift+0x2E) are dead keys. Coverage: all 95 printable ASCII characters
 * (space to '~') on both layouts; on DE '^' and '`' only as dead keys.
 * Usage 0x32 (Non-US #) types what 0x31 does, as USB hosts map both to the
 * same key; 0x64 (Non-US \) is left unmapped on US, where the key does not
 * exist. Keypad keys type the same with and without Shift (Num Lock on, as a
 * scanner assumes); the keypad decimal is '.' on US and ',' on DE.
 */
#include "scanners/hid.h"

#include <string.h>

#define LEVELS 3       /* base, Shift, AltGr */
#define DEAD_BASE 0x01 /* flags: this level is a dead key */
#define DEAD_SHIFT 0x02
#define KEYPAD 0x80    /* flags: same character whatever Shift says */

struct key_row {
    uint8_t usage;
    char c[LEVELS];    /* base, Shift, AltGr; 0 = none */
    uint8_t flags;
};

struct layout {
    const char *name;
    bool has_altgr;
    const struct key_row *rows;
    size_t nrows;
};

static const struct key_row us_rows[] = {
    {0x04, {'a', 'A', 0}, 0}, {0x05, {'b', 'B', 0}, 0}, {0x06, {'c', 'C', 0}, 0},
    {0x07, {'d', 'D', 0}, 0}, {0x08, {'e', 'E', 0}, 0}, {0x09, {'f', 'F', 0}, 0},
    {0x0A, {'g', 'G', 0}, 0}, {0x0B, {'h', 'H', 0}, 0}, {0x0C, {'i', 'I', 0}, 0},
    {0x0D, {'j', 'J', 0}, 0}, {0x0E, {'k', 'K', 0}, 0}, {0x0F, {'l', 'L', 0}, 0},
    {0x10, {'m', 'M', 0}, 0}, {0x11, {'n', 'N', 0}, 0}, {0x12, {'o', 'O', 0}, 0},
    {0x13, {'p', 'P', 0}, 0}, {0x14, {'q', 'Q', 0}, 0}, {0x15, {'r', 'R', 0}, 0},
    {0x16, {'s', 'S', 0}, 0}, {0x17, {'t', 'T', 0}, 0}, {0x18, {'u', 'U', 0}, 0},
    {0x19, {'v', 'V', 0}, 0}, {0x1A, {'w', 'W', 0}, 0}, {0x1B, {'x', 'X', 0}, 0},
    {0x1C, {'y', 'Y', 0}, 0}, {0x1D, {'z', 'Z', 0}, 0},
    {0x1E, {'1', '!', 0}, 0}, {0x1F, {'2', '@', 0}, 0}, {0x20, {'3', '#', 0}, 0},
    {0x21, {'4', '$', 0}, 0}, {0x22, {'5', '%', 0}, 0}, {0x23, {'6', '^', 0}, 0},
    {0x24, {'7', '&', 0}, 0}, {0x25, {'8', '*', 0}, 0}, {0x26, {'9', '(', 0}, 0},
    {0x27, {'0', ')', 0}, 0},
    {0x2C, {' ', ' ', 0}, 0},
    {0x2D, {'-', '_', 0}, 0}, {0x2E, {'=', '+', 0}, 0}, {0x2F, {'[', '{', 0}, 0},
    {0x30, {']', '}', 0}, 0}, {0x31, {'\\', '|', 0}, 0}, {0x32, {'\\', '|', 0}, 0},
    {0x33, {';', ':', 0}, 0}, {0x34, {'\'', '"', 0}, 0}, {0x35, {'`', '~', 0}, 0},
    {0x36, {',', '<', 0}, 0}, {0x37, {'.', '>', 0}, 0}, {0x38, {'/', '?', 0}, 0},
    /* Keypad. */
    {0x54, {'/', '/', 0}, KEYPAD}, {0x55, {'*', '*', 0}, KEYPAD},
    {0x56, {'-', '-', 0}, KEYPAD}, {0x57, {'+', '+', 0}, KEYPAD},
    {0x59, {'1', '1', 0}, KEYPAD}, {0x5A, {'2', '2', 0}, KEYPAD}, {0x5B, {'3', '3', 0}, KEYPAD},
    {0x5C, {'4', '4', 0}, KEYPAD}, {0x5D, {'5', '5', 0}, KEYPAD}, {0x5E, {'6', '6', 0}, KEYPAD},
    {0x5F, {'7', '7', 0}, KEYPAD}, {0x60, {'8', '8', 0}, KEYPAD}, {0x61, {'9', '9', 0}, KEYPAD},
    {0x62, {'0', '0', 0}, KEYPAD}, {0x63, {'.', '.', 0}, KEYPAD},
};

static const struct key_row de_rows[] = {
    {0x04, {'a', 'A', 0}, 0}, {0x05, {'b', 'B', 0}, 0}, {0x06, {'c', 'C', 0}, 0},
    {0x07, {'d', 'D', 0}, 0}, {0x08, {'e', 'E', 0}, 0} /* AltGr: euro sign */,
    {0x09, {'f', 'F', 0}, 0}, {0x0A, {'g', 'G', 0}, 0}, {0x0B, {'h', 'H', 0}, 0},
    {0x0C, {'i', 'I', 0}, 0}, {0x0D, {'j', 'J', 0}, 0}, {0x0E, {'k', 'K', 0}, 0},
    {0x0F, {'l', 'L', 0}, 0}, {0x10, {'m', 'M', 0}, 0} /* AltGr: micro sign */,
    {0x11, {'n', 'N', 0}, 0}, {0x12, {'o', 'O', 0}, 0}, {0x13, {'p', 'P', 0}, 0},
    {0x14, {'q', 'Q', '@'}, 0}, {0x15, {'r', 'R', 0}, 0}, {0x16, {'s', 'S', 0}, 0},
    {0x17, {'t', 'T', 0}, 0}, {0x18, {'u', 'U', 0}, 0}, {0x19, {'v', 'V', 0}, 0},
    {0x1A, {'w', 'W', 0}, 0}, {0x1B, {'x', 'X', 0}, 0},
    {0x1C, {'z', 'Z', 0}, 0}, {0x1D, {'y', 'Y', 0}, 0}, /* QWERTZ */
    {0x1E, {'1', '!', 0}, 0}, {0x1F, {'2', '"', 0}, 0},
    {0x20, {'3', 0, 0}, 0} /* Shift: section sign */,
    {0x21, {'4', '$', 0}, 0}, {0x22, {'5', '%', 0}, 0}, {0x23, {'6', '&', 0}, 0},
    {0x24, {'7', '/', '{'}, 0}, {0x25, {'8', '(', '['}, 0}, {0x26, {'9', ')', ']'}, 0},
    {0x27, {'0', '=', '}'}, 0},
    {0x2C, {' ', ' ', 0}, 0},
    {0x2D, {0, '?', '\\'}, 0} /* base: sharp s */,
    {0x2E, {0, '`', 0}, DEAD_SHIFT} /* base: dead acute */,
    /* 0x2F: u-umlaut, nothing ASCII. */
    {0x30, {'+', '*', '~'}, 0},
    {0x31, {'#', '\'', 0}, 0}, {0x32, {'#', '\'', 0}, 0},
    /* 0x33, 0x34: o- and a-umlaut, nothing ASCII. */
    {0x35, {'^', 0, 0}, DEAD_BASE} /* Shift: degree sign */,
    {0x36, {',', ';', 0}, 0}, {0x37, {'.', ':', 0}, 0}, {0x38, {'-', '_', 0}, 0},
    {0x64, {'<', '>', '|'}, 0},
    /* Keypad. */
    {0x54, {'/', '/', 0}, KEYPAD}, {0x55, {'*', '*', 0}, KEYPAD},
    {0x56, {'-', '-', 0}, KEYPAD}, {0x57, {'+', '+', 0}, KEYPAD},
    {0x59, {'1', '1', 0}, KEYPAD}, {0x5A, {'2', '2', 0}, KEYPAD}, {0x5B, {'3', '3', 0}, KEYPAD},
    {0x5C, {'4', '4', 0}, KEYPAD}, {0x5D, {'5', '5', 0}, KEYPAD}, {0x5E, {'6', '6', 0}, KEYPAD},
    {0x5F, {'7', '7', 0}, KEYPAD}, {0x60, {'8', '8', 0}, KEYPAD}, {0x61, {'9', '9', 0}, KEYPAD},
    {0x62, {'0', '0', 0}, KEYPAD}, {0x63, {',', ',', 0}, KEYPAD},
};

static const struct layout layouts[SCAN_LAYOUT_COUNT] = {
    [SCAN_LAYOUT_US] = {"us", false, us_rows, sizeof us_rows / sizeof us_rows[0]},
    [SCAN_LAYOUT_DE] = {"de", true, de_rows, sizeof de_rows / sizeof de_rows[0]},
};

const char *scan_layout_name(enum scan_layout l)
{
    if ((unsigned)l >= SCAN_LAYOUT_COUNT)
        return "unknown";
    return layouts[l].name;
}

int scan_layout_parse(const char *s, enum scan_layout *out)
{
    if (s == NULL)
        return ERR_PARSE;
    for (unsigned i = 0; i < SCAN_LAYOUT_COUNT; i++) {
        if (strcmp(s, layouts[i].name) == 0) {
            if (out != NULL)
                *out = (enum scan_layout)i;
            return 0;
        }
    }
    return ERR_PARSE;
}

static const struct key_row *find_row(const struct layout *lay, uint8_t usage)
{
    for (size_t i = 0; i < lay->nrows; i++)
        if (lay->rows[i].usage == usage)
            return &lay->rows[i];
    return NULL;
}

/*
 * The level (0 base, 1 Shift, 2 AltGr) that mods select, or -1 when mods
 * hold Ctrl, Alt or GUI beyond AltGr: scanners use those for control
 * characters and shortcuts, which a scan text never holds.
 */
static int level_of(const struct layout *lay, uint8_t mods)
{
    uint8_t rest = mods & (uint8_t)~SCAN_MOD_SHIFT;
    bool shift = (mods & SCAN_MOD_SHIFT) != 0;

    if (rest == 0)
        return shift ? 1 : 0;
    /* Windows treats AltGr as Ctrl+Alt, so scanners send either form. */
    if (lay->has_altgr && !shift &&
        (rest == SCAN_MOD_RALT || rest == (SCAN_MOD_LCTRL | SCAN_MOD_LALT)))
        return 2;
    return -1;
}

char scan_layout_char(enum scan_layout l, uint8_t usage, uint8_t mods, bool *dead)
{
    const struct layout *lay;
    const struct key_row *row;
    int level;

    if (dead != NULL)
        *dead = false;
    if ((unsigned)l >= SCAN_LAYOUT_COUNT)
        return 0;
    lay = &layouts[l];
    row = find_row(lay, usage);
    if (row == NULL)
        return 0;
    level = level_of(lay, mods);
    if (level < 0)
        return 0;
    if ((row->flags & KEYPAD) && level == 1)
        level = 0;
    if (dead != NULL && row->c[level] != 0)
        *dead = (level == 0 && (row->flags & DEAD_BASE)) || (level == 1 && (row->flags & DEAD_SHIFT));
    return row->c[level];
}

int scan_layout_key(enum scan_layout l, char c, uint8_t *usage, uint8_t *mods, bool *dead)
{
    static const uint8_t level_mods[LEVELS] = {0, SCAN_MOD_LSHIFT, SCAN_MOD_RALT};
    const struct layout *lay;

    if ((unsigned)l >= SCAN_LAYOUT_COUNT || c == 0)
        return ERR_NOTFOUND;
    lay = &layouts[l];
    for (size_t i = 0; i < lay->nrows; i++) {
        const struct key_row *row = &lay->rows[i];
        for (int level = 0; level < LEVELS; level++) {
            if (row->c[level] != c)
                continue;
            if (usage != NULL)
                *usage = row->usage;
            if (mods != NULL)
                *mods = level_mods[level];
            if (dead != NULL)
                *dead = (level == 0 && (row->flags & DEAD_BASE)) ||
                        (level == 1 && (row->flags & DEAD_SHIFT));
            return 0;
        }
    }
    return ERR_NOTFOUND;
}
