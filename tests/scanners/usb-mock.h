/*
 * usb-mock.h - emulated USB barcode scanners for tests, on umockdev.
 *
 * A umockdev testbed holds the devices (sysfs, udev properties, a usbfs node)
 * and a handler answers the usbfs ioctls libusb sends, the way the kernel
 * would: claim refused with EBUSY while usbhid is bound, detach/attach of the
 * kernel driver, control requests (string descriptors, HID SET_PROTOCOL /
 * SET_IDLE, only on a claimed interface), interrupt-IN URBs completed from a
 * queue of input reports, discard, and unplug (each in-flight URB reaped
 * once with -ESHUTDOWN, then ENODEV). The handler runs on umockdev's worker
 * thread; every function here may be called from the test thread.
 * The program must run under umockdev-wrapper, and the testbed must exist
 * (with at least one device) before the first libusb_init.
 */
#ifndef WCS_TESTS_USB_MOCK_H
#define WCS_TESTS_USB_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usb_mock;
struct mock_dev;

enum mock_kind {
    MOCK_KBD,   /* HID boot keyboard interface, 8-byte reports */
    MOCK_POS,   /* HID (no boot protocol) interface, 64-byte HID POS reports */
};

/* What the emulated device saw; a snapshot. */
struct mock_stats {
    bool present;          /* plugged in */
    bool bound;            /* usbhid holds the interface */
    bool claimed;          /* a usbfs client holds the interface */
    unsigned claims_busy;  /* claims refused with EBUSY */
    unsigned claims_ok;
    unsigned releases;
    unsigned driver_detaches;  /* USBDEVFS_DISCONNECT honoured */
    unsigned driver_attaches;  /* USBDEVFS_CONNECT */
    unsigned set_protocol;     /* SET_PROTOCOL requests */
    int set_protocol_value;    /* last wValue, -1 none */
    unsigned set_idle;
    unsigned submits;          /* URBs submitted (control and interrupt) */
    unsigned reports_done;     /* input reports handed to the host */
    unsigned reports_queued;   /* still queued */
    unsigned unclaimed_requests; /* interface requests refused: not claimed */
};

/* Creates the testbed. Returns NULL on failure. */
struct usb_mock *usb_mock_new(void);
/* Removes every device and frees the testbed. */
void usb_mock_free(struct usb_mock *m);

/*
 * Adds a device on its own bus (bus numbers must differ between devices),
 * usbhid bound, and announces it (uevent "add"). serial may be NULL (no
 * serial string). Returns NULL on failure.
 */
struct mock_dev *usb_mock_add(struct usb_mock *m, int bus, uint16_t vid, uint16_t pid,
                              enum mock_kind kind, const char *serial);

/* Unplugs: in-flight URBs end with -ESHUTDOWN, queued reports are dropped,
 * a "remove" uevent is sent. The sysfs entry stays until usb_mock_remove
 * (call that once the host has closed the device). */
void usb_mock_unplug(struct mock_dev *d);
/* Removes an unplugged device from the testbed. */
void usb_mock_remove(struct mock_dev *d);
/* Plugs a removed device back in: fresh state, usbhid bound, uevent "add". */
int usb_mock_replug(struct mock_dev *d);

/* Queues n input reports of len bytes each (len <= 64). */
void usb_mock_queue(struct mock_dev *d, const uint8_t *reports, size_t n, size_t len);

void usb_mock_stats(struct mock_dev *d, struct mock_stats *out);

#endif
