/*
 * usb.h - scanner hardware on a libuv loop: USB HID scanners through libusb
 * (keyboard wedge, HID POS) and CDC-ACM / serial scanners through a tty.
 *
 * The caller lists the scanners it expects (struct scan_usb_cfg, in
 * scanners/source.h: what a config says of a scanner, pure); the layer
 * watches USB hotplug, opens a device when one matches a configured entry,
 * claims its HID interface (detaching usbhid, which would otherwise turn
 * the scans into keystrokes on the console), keeps one interrupt-IN
 * transfer in flight, decodes the reports with scanners/hid.h and hands
 * each complete scan to one callback. Unplugging drops a partial scan and
 * marks the scanner disconnected; plugging it back in resumes reading
 * without a restart. tty scanners are opened by path and reopened after they
 * disappear. docs/scanners.md explains matching, the udev rule and
 * troubleshooting.
 *
 * Everything runs on the loop thread: callbacks are called there, and the
 * functions below must be called there.
 */
#ifndef WCS_SCANNERS_USB_H
#define WCS_SCANNERS_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/err.h"
#include "scanners/hid.h"
#include "scanners/source.h"

/* One complete scan. Pointers are valid during the callback only. */
struct scan_event {
    const char *scanner_id;         /* cfg id */
    const char *location;           /* cfg location */
    enum scan_source_kind kind;
    const char *code;               /* NUL-terminated printable ASCII */
    size_t len;
    const char *symbology;          /* AIM id ("]C0"), "" when the source does not say */
    int64_t at_us;                  /* realtime, µs since the epoch, when the scan completed */
};

typedef void (*scan_event_cb)(const struct scan_event *ev, void *arg);

/* Per configured scanner, since scan_usb_start. */
struct scan_usb_status {
    char id[SCAN_ID_MAX + 1];
    char location[SCAN_ID_MAX + 1];
    enum scan_source_kind kind;
    bool connected;                 /* device claimed / tty open now */
    uint16_t vid, pid;              /* of the attached USB device, 0 when none */
    int64_t last_read_us;           /* realtime µs of the last scan, 0 = none yet */
    uint64_t reads;                 /* scans delivered */
    uint64_t errors;                /* refused reports or lines, failed transfers, failed claims */
    uint64_t attaches;              /* times a device was claimed / the tty opened */
    uint64_t detaches;              /* times it went away (unplug, I/O error) */
    char last_code[SCAN_TEXT_MAX + 1]; /* "" = none yet */
};

struct scan_usb;

/*
 * Starts the scanner layer on loop for cfg[0..n-1] (copied). Registers
 * for USB hotplug (devices present now are matched at once), starts a tty
 * reader per tty entry. Scanners absent now are picked up when they
 * appear. cb(ev, arg) is called once per complete scan. Returns 0 and sets
 * *out, or ERR_CONFIG (duplicate id, tty entry without path, bad kind),
 * ERR_STATE (libusb without hotplug support), a -errno / libuv code, or
 * -EIO when libusb cannot start (e says why); on error nothing is left
 * running and no callback is called. Stop with scan_usb_stop().
 */
int scan_usb_start(uv_loop_t *loop, const struct scan_usb_cfg *cfg, size_t n, scan_event_cb cb,
                   void *arg, struct scan_usb **out, struct err *e);

/*
 * Copies the status of up to max configured scanners, in cfg order, into
 * out. Returns the number of configured scanners (may exceed max).
 */
size_t scan_usb_status(const struct scan_usb *s, struct scan_usb_status *out, size_t max);

/*
 * Stops: cancels transfers, releases the interfaces and gives them back to
 * the kernel driver they were taken from, closes the ttys, libusb and all
 * loop handles. No scan callback is called after this returns. done_cb(arg)
 * (may be NULL) is called on the loop when everything is closed; s is freed
 * then. The loop must keep running until then.
 */
void scan_usb_stop(struct scan_usb *s, void (*done_cb)(void *arg), void *arg);

/* --- tty reader (CDC-ACM, serial) -------------------------------------
 * Used by scan_usb for tty scanners; public so that tools and tests can
 * read a tty on their own. */

struct scan_tty;

/* A line without its CR/LF (empty lines are not reported). */
typedef void (*scan_tty_line_cb)(struct scan_tty *t, const char *line, size_t len, void *arg);
/* The tty was opened (open = true) or lost (err: why, a -errno). */
typedef void (*scan_tty_state_cb)(struct scan_tty *t, bool open, int err, void *arg);

/*
 * Opens path (O_NOCTTY, raw: no echo, no line editing, 8N1, 9600 baud - a
 * CDC-ACM device ignores the rate) and reads lines ended by CR, LF or CRLF.
 * When the path is missing or the tty is lost (unplug: read error or
 * hang-up), the reader retries every retry_ms (0 = 1000). A line longer than
 * SCAN_TEXT_MAX is dropped. state_cb may be NULL. Returns 0 and sets *out
 * (an absent tty is not an error: it is retried), or -ENOMEM / a libuv code.
 */
int scan_tty_start(uv_loop_t *loop, const char *path, uint32_t retry_ms, scan_tty_line_cb line_cb,
                   scan_tty_state_cb state_cb, void *arg, struct scan_tty **out, struct err *e);

/* True while the tty is open. */
bool scan_tty_is_open(const struct scan_tty *t);

/* Closes the tty and the handles; done_cb(arg) (may be NULL) runs on the loop
 * when all are closed, then t is freed. No line_cb after this returns. */
void scan_tty_stop(struct scan_tty *t, void (*done_cb)(void *arg), void *arg);

#endif
