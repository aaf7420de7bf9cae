/*
 * source.c - scanner kinds and configuration defaults (see source.h).
 */
#include "scanners/source.h"

#include <string.h>

static const char *const kind_names[] = {
    [SCAN_SRC_KBD] = "keyboard",
    [SCAN_SRC_POS] = "pos",
    [SCAN_SRC_TTY] = "tty",
};

const char *scan_source_kind_name(enum scan_source_kind k)
{
    if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]))
        return kind_names[k];
    return "unknown";
}

int scan_source_kind_parse(const char *s, enum scan_source_kind *out)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (s && strcmp(s, kind_names[i]) == 0) {
            *out = (enum scan_source_kind)i;
            return 0;
        }
    }
    return ERR_PARSE;
}

void scan_usb_cfg_defaults(struct scan_usb_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = SCAN_SRC_KBD;
    c->interface_class = -1;
    c->layout = SCAN_LAYOUT_US;
    c->char_timeout_ms = 100;
    c->tty_retry_ms = 1000;
}

const char *scan_camera_kind_name(enum scan_camera_kind k)
{
    switch (k) {
    case SCAN_CAM_V4L2:
        return "v4l2";
    case SCAN_CAM_DIR:
        return "dir";
    case SCAN_CAM_STREAM:
        return "stream";
    }
    return "?";
}
