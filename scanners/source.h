/*
 * source.h - a scanner as a configuration describes it: its kind (keyboard
 * wedge, HID POS, tty), how a USB device is matched, the keyboard layout and
 * timing. Pure (no libusb, no loop), so the config loader can validate a
 * `scanners:` entry without linking the hardware layer (scanners/usb.h).
 */
#ifndef WCS_SCANNERS_SOURCE_H
#define WCS_SCANNERS_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "scanners/hid.h"

#define SCAN_ID_MAX 20     /* scanner id and location, characters */
#define SCAN_SERIAL_MAX 63 /* USB serial number string, characters */
#define SCAN_PATH_MAX 127  /* tty path, characters */

/* The scanner source variants. */
enum scan_source_kind {
    SCAN_SRC_KBD = 0, /* USB HID keyboard wedge (boot keyboard reports) */
    SCAN_SRC_POS,     /* USB HID POS (usage page 0x8C, 64-byte reports) */
    SCAN_SRC_TTY,     /* CDC-ACM or serial: lines ended by CR and/or LF */
};

/* "keyboard", "pos", "tty". */
const char *scan_source_kind_name(enum scan_source_kind k);
/* Parses a name above; returns 0 or ERR_PARSE. */
int scan_source_kind_parse(const char *s, enum scan_source_kind *out);

/*
 * One configured scanner. A USB device matches when every set field
 * agrees: vid, pid (0 = any), serial ("" = any; read from the device, so it
 * costs one control transfer and is checked last) and an interface of
 * interface_class (-1 = HID, 3) with an interrupt-IN endpoint. Scanners
 * often change PID when switched between keyboard and POS mode, so match on
 * vid + interface class or on the serial rather than on the PID alone.
 */
struct scan_usb_cfg {
    char id[SCAN_ID_MAX + 1];       /* scanner id, e.g. "SC-IN-01" */
    char location[SCAN_ID_MAX + 1]; /* scan point, e.g. "INDUCT-1" */
    enum scan_source_kind kind;
    uint16_t vid, pid;              /* USB ids; 0 = any */
    char serial[SCAN_SERIAL_MAX + 1];
    int interface_class;            /* bInterfaceClass to claim; -1 = HID (3) */
    enum scan_layout layout;        /* keyboard wedge: the scanner's keyboard country */
    bool tab_terminates;            /* keyboard wedge: Tab ends a scan as Enter does */
    uint32_t char_timeout_ms;       /* keyboard wedge: longest pause inside a scan, ms; 0 = none */
    char tty_path[SCAN_PATH_MAX + 1]; /* tty: device path, e.g. /dev/serial/by-id/usb-...-if00 */
    uint32_t tty_retry_ms;          /* tty: reopen interval while absent, ms; 0 = 1000 */
};

/* Fills c with defaults: kind keyboard, any ids, interface_class -1,
 * layout US, char_timeout_ms 100, tty_retry_ms 1000. */
void scan_usb_cfg_defaults(struct scan_usb_cfg *c);

/* --- cameras (scanners/cameras.h runs them) ------------------------------ */

#define SCAN_CAMERA_MAX 16 /* cameras per wcsd */

enum scan_camera_kind {
    SCAN_CAM_V4L2 = 0, /* a V4L2 capture device, read through libv4l2 */
    SCAN_CAM_DIR,      /* a directory: each image file put there is a frame */
    SCAN_CAM_STREAM,   /* a FIFO or file of PNM images (P5 grey, P6 colour) back to back */
};

/* "v4l2", "dir", "stream". */
const char *scan_camera_kind_name(enum scan_camera_kind k);

/* One camera as the config describes it. */
struct scan_camera_cfg {
    char id[SCAN_ID_MAX + 1];       /* camera id, e.g. "CAM-TOP" */
    char location[SCAN_ID_MAX + 1]; /* its scan point: a tunnel is several cameras at one */
    enum scan_camera_kind kind;
    char path[SCAN_PATH_MAX + 1];   /* device, directory or stream */
    int width, height;              /* v4l2: the frame size asked for; 0 = the device's */
};

#endif
