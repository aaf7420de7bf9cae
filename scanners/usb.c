/*
 * usb.c - USB and tty scanners on a libuv loop: libusb context, hotplug,
 * matching configured scanners, claiming, interrupt-IN reading, decoding
 * and the per-scanner status.
 *
 * DESIGN: libusb runs without a thread of its own. Its file descriptors
 * (libusb_get_pollfds, then the add/remove notifiers) are watched with one
 * uv_poll each; when one is ready, or the timer set from
 * libusb_get_next_timeout fires, the loop calls
 * libusb_handle_events_timeout_completed with a zero timeout. libusb calls
 * our hotplug and transfer callbacks from inside that call; the hotplug
 * callback only queues the device (opening and claiming do I/O, which
 * libusb does not allow there), and the queue, device closing and stopping
 * are worked off right after the call returns. A file descriptor that epoll
 * refuses (only a regular file does that, which is what umockdev's emulated
 * usbfs node is; a real usbfs node is a character device) cannot be
 * watched, so while one exists libusb is serviced every SPIN_MS instead:
 * a bounded cost (a few hundred empty polls per second) in place of a busy
 * loop.
 *
 * Scanner sources are variants behind struct source_ops: keyboard wedge and
 * HID POS read USB interrupt reports, tty reads lines (tty.c); each feeds
 * its decoder and the common code turns a decoded scan into a scan_event.
 * One configured scanner holds at most one device at a time.
 */
#include <errno.h>
#include <libusb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "scanners/usb.h"

#define SPIN_MS 4             /* service interval while an fd cannot be polled, ms */
#define STOP_GRACE_MS 2000    /* longest wait for cancelled transfers at stop, ms */
#define MAX_XFER_ERRORS 10    /* consecutive failed transfers before the device is dropped */
#define CTRL_TIMEOUT_MS 1000  /* control requests during attach, ms */

/* HID class requests (HID 1.11, section 7.2). */
#define HID_REQ_SET_IDLE 0x0A
#define HID_REQ_SET_PROTOCOL 0x0B
#define HID_PROTOCOL_BOOT 0

struct scanner;

/* One opened USB device, owned by s->devs until closed. */
struct usb_dev {
    struct usb_dev *next;
    struct scan_usb *s;
    struct scanner *sc;            /* NULL once dropped */
    libusb_device *dev;            /* referenced */
    libusb_device_handle *h;
    struct libusb_transfer *xfer;
    uint8_t buf[SCAN_POS_REPORT_LEN];
    int iface;
    bool claimed;
    bool detached_driver;          /* we took the interface from a kernel driver */
    bool in_flight;                /* xfer submitted, completion not seen yet */
    bool dying;                    /* to be closed once nothing is in flight */
    bool gone;                     /* unplugged: no more requests to it */
    unsigned xfer_errors;          /* consecutive failed transfers */
};

struct source_ops {
    const char *name;
    bool usb;                      /* matched against USB devices */
    int (*start)(struct scanner *sc, struct err *e);  /* NULL: nothing to start */
    void (*stop)(struct scanner *sc);                 /* NULL: nothing to stop */
    void (*reset)(struct scanner *sc);                /* drop a partial scan */
    /* 1 and *out for a complete scan, 0 for none yet, <0 for refused input. */
    int (*feed)(struct scanner *sc, const uint8_t *b, size_t n, uint64_t now_ms,
                struct scan_read *out, struct err *e);
};

struct scanner {
    struct scan_usb *s;
    struct scan_usb_cfg cfg;
    const struct source_ops *ops;
    union {
        struct scan_kbd_decoder kbd;
        struct scan_pos_decoder pos;
    } dec;
    struct usb_dev *dev;           /* attached device, NULL when none */
    struct scan_tty *tty;
    struct scan_usb_status st;
};

/* One libusb file descriptor. */
struct pfd {
    struct pfd *next;
    struct scan_usb *s;
    int fd;
    bool polled;                   /* false: epoll refused it, serviced by the spin timer */
    uv_poll_t poll;
};

/* A hotplug event queued for after libusb_handle_events. */
struct pending {
    struct pending *next;
    libusb_device *dev;            /* referenced */
    bool arrived;
};

struct scan_usb {
    uv_loop_t *loop;
    scan_event_cb cb;
    void *arg;
    struct scanner *sc;
    size_t n;
    libusb_context *ctx;           /* NULL when no USB scanner is configured */
    libusb_hotplug_callback_handle hp;
    bool hp_registered;
    bool timers_live;
    uv_timer_t timeout;            /* libusb's next timeout */
    uv_timer_t spin;               /* services unpollable fds every SPIN_MS */
    struct pfd *pfds;
    int unpolled;                  /* pfds with polled == false */
    struct pending *pend_head, **pend_tail;
    struct usb_dev *devs;
    bool in_events;                /* inside libusb_handle_events: defer work */
    bool draining;                 /* inside drain_pending */
    bool stopping;
    bool finished;                 /* libusb closed, handles closing */
    int closing;                   /* close callbacks and tty stops outstanding */
    uint64_t stop_deadline;        /* uv_now() ms after which open devices are closed anyway */
    void (*done_cb)(void *arg);
    void *done_arg;
};

static void run_events(struct scan_usb *s);

/* --- helpers ------------------------------------------------------------ */

static int64_t realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* Hands a decoded scan to the caller and records it in the status. */
static void deliver(struct scanner *sc, const struct scan_read *rd)
{
    struct scan_event ev = {
        .scanner_id = sc->cfg.id,
        .location = sc->cfg.location,
        .kind = sc->cfg.kind,
        .code = rd->text,
        .len = rd->len,
        .symbology = rd->symbology,
        .at_us = realtime_us(),
    };

    sc->st.reads++;
    sc->st.last_read_us = ev.at_us;
    memcpy(sc->st.last_code, rd->text, rd->len);
    sc->st.last_code[rd->len] = '\0';
    log_debug("scanner %s (%s): read %s", sc->cfg.id, sc->cfg.location, rd->text);
    if (!sc->s->stopping)
        sc->s->cb(&ev, sc->s->arg);
}

static void feed(struct scanner *sc, const uint8_t *b, size_t n)
{
    struct scan_read rd;
    struct err e;
    int rc;

    err_clear(&e);
    rc = sc->ops->feed(sc, b, n, mono_ms(), &rd, &e);
    if (rc < 0) {
        sc->st.errors++;
        log_warnx("scanner %s (%s): input refused: %s", sc->cfg.id, sc->cfg.location, e.msg);
    } else if (rc == 1) {
        deliver(sc, &rd);
    }
}

/* --- source variants ---------------------------------------------------- */

static void kbd_reset(struct scanner *sc)
{
    scan_kbd_init(&sc->dec.kbd, sc->cfg.layout, sc->cfg.tab_terminates, sc->cfg.char_timeout_ms);
}

static int kbd_feed(struct scanner *sc, const uint8_t *b, size_t n, uint64_t now_ms,
                    struct scan_read *out, struct err *e)
{
    return scan_kbd_feed(&sc->dec.kbd, b, n, now_ms, out, e);
}

static void pos_reset(struct scanner *sc)
{
    scan_pos_init(&sc->dec.pos);
}

static int pos_feed(struct scanner *sc, const uint8_t *b, size_t n, uint64_t now_ms,
                    struct scan_read *out, struct err *e)
{
    (void)now_ms;
    return scan_pos_feed(&sc->dec.pos, b, n, out, e);
}

static void tty_line_cb(struct scan_tty *t, const char *line, size_t len, void *arg)
{
    (void)t;
    feed(arg, (const uint8_t *)line, len);
}

static void tty_state_cb(struct scan_tty *t, bool open, int why, void *arg)
{
    struct scanner *sc = arg;

    (void)t;
    (void)why;
    sc->st.connected = open;
    if (open)
        sc->st.attaches++;
    else
        sc->st.detaches++;
}

static void tty_stopped(void *arg)
{
    struct scan_usb *s = arg;

    s->closing--;
    run_events(s);
}

static int tty_start(struct scanner *sc, struct err *e)
{
    return scan_tty_start(sc->s->loop, sc->cfg.tty_path, sc->cfg.tty_retry_ms, tty_line_cb,
                          tty_state_cb, sc, &sc->tty, e);
}

static void tty_stop(struct scanner *sc)
{
    if (!sc->tty)
        return;
    sc->s->closing++;
    scan_tty_stop(sc->tty, tty_stopped, sc->s);
    sc->tty = NULL;
    sc->st.connected = false;
}

static void tty_reset(struct scanner *sc)
{
    (void)sc; /* a line is complete or dropped by the reader itself */
}

/* A line is one scan. Scanners set to send the AIM id put it first ("]C0"). */
static int tty_feed(struct scanner *sc, const uint8_t *b, size_t n, uint64_t now_ms,
                    struct scan_read *out, struct err *e)
{
    size_t skip = 0;

    (void)sc;
    (void)now_ms;
    out->symbology[0] = '\0';
    if (n > 3 && b[0] == ']') {
        memcpy(out->symbology, b, 3);
        out->symbology[3] = '\0';
        skip = 3;
    }
    if (n - skip > SCAN_TEXT_MAX)
        return err_set(e, ERR_INVALID, "line of %zu characters, over %d", n, SCAN_TEXT_MAX);
    for (size_t i = skip; i < n; i++) {
        if (b[i] < 0x20 || b[i] > 0x7E)
            return err_set(e, ERR_INVALID, "byte %zu: 0x%02X is not printable", i, b[i]);
    }
    out->len = n - skip;
    memcpy(out->text, b + skip, out->len);
    out->text[out->len] = '\0';
    return 1;
}

static const struct source_ops kbd_ops = {
    .name = "keyboard",
    .usb = true,
    .reset = kbd_reset,
    .feed = kbd_feed,
};

static const struct source_ops pos_ops = {
    .name = "pos",
    .usb = true,
    .reset = pos_reset,
    .feed = pos_feed,
};

static const struct source_ops tty_ops = {
    .name = "tty",
    .usb = false,
    .start = tty_start,
    .stop = tty_stop,
    .reset = tty_reset,
    .feed = tty_feed,
};

static const struct source_ops *ops_for(enum scan_source_kind k)
{
    switch (k) {
    case SCAN_SRC_KBD:
        return &kbd_ops;
    case SCAN_SRC_POS:
        return &pos_ops;
    case SCAN_SRC_TTY:
        return &tty_ops;
    }
    return NULL;
}

/* --- USB devices -------------------------------------------------------- */

/* Detaches d from its scanner (partial scan dropped, status disconnected)
 * and cancels its transfer; reap_devs() closes it once nothing is in flight. */
static void dev_drop(struct usb_dev *d, const char *why)
{
    struct scanner *sc = d->sc;

    if (d->dying)
        return;
    d->dying = true;
    if (sc) {
        sc->dev = NULL;
        d->sc = NULL;
        sc->st.connected = false;
        sc->st.vid = sc->st.pid = 0;
        sc->ops->reset(sc);
        if (!d->s->stopping) {
            sc->st.detaches++;
            log_warnx("scanner %s (%s): %s", sc->cfg.id, sc->cfg.location, why);
        }
    }
    if (d->in_flight)
        libusb_cancel_transfer(d->xfer); /* completes as CANCELLED or NO_DEVICE */
}

static int submit(struct usb_dev *d)
{
    int rc = libusb_submit_transfer(d->xfer);

    if (rc == 0)
        d->in_flight = true;
    return rc;
}

static void xfer_cb(struct libusb_transfer *x)
{
    struct usb_dev *d = x->user_data;
    int rc;

    d->in_flight = false;
    switch (x->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        d->xfer_errors = 0;
        if (d->sc && !d->dying)
            feed(d->sc, x->buffer, (size_t)x->actual_length);
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        d->gone = true;
        dev_drop(d, "unplugged");
        return;
    case LIBUSB_TRANSFER_CANCELLED:
        return;
    case LIBUSB_TRANSFER_TIMED_OUT:
        break;
    default: /* ERROR, STALL, OVERFLOW */
        if (d->sc) {
            d->sc->st.errors++;
            log_warnx("scanner %s (%s): transfer failed (%s)", d->sc->cfg.id, d->sc->cfg.location,
                      libusb_error_name(x->status));
        }
        if (++d->xfer_errors >= MAX_XFER_ERRORS) {
            dev_drop(d, "repeated transfer errors, device dropped until it is plugged in again");
            return;
        }
        break;
    }
    if (d->dying || d->s->stopping)
        return;
    rc = submit(d);
    if (rc == LIBUSB_ERROR_NO_DEVICE) {
        d->gone = true;
        dev_drop(d, "unplugged");
    } else if (rc < 0) {
        if (d->sc)
            d->sc->st.errors++;
        dev_drop(d, libusb_error_name(rc));
    }
}

/* Closes dying devices whose transfer has come back (all of them when
 * force is set: at the end of the stop grace period). */
static void reap_devs(struct scan_usb *s, bool force)
{
    struct usb_dev **pp = &s->devs;

    while (*pp) {
        struct usb_dev *d = *pp;

        if (!d->dying || (d->in_flight && !force)) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        if (d->claimed && !d->gone) {
            libusb_release_interface(d->h, d->iface);
            /* Give the interface back to usbhid, so the scanner types again
             * as a keyboard while we do not read it. */
            if (d->detached_driver) {
                int rc = libusb_attach_kernel_driver(d->h, d->iface);
                if (rc < 0)
                    log_debug("usb: re-attaching the kernel driver: %s", libusb_error_name(rc));
            }
        }
        /* libusb_close takes a still-flying transfer off its lists, so it
         * must come before libusb_free_transfer. */
        libusb_close(d->h);
        libusb_free_transfer(d->xfer);
        libusb_unref_device(d->dev);
        free(d);
    }
}

/* Finds the interface sc reads: bInterfaceClass as configured, with an
 * interrupt-IN endpoint; a keyboard wedge prefers a boot keyboard interface,
 * a HID POS scanner one that is not (such scanners often offer both). */
static bool find_iface(libusb_device *dev, const struct scanner *sc, int *iface, uint8_t *ep,
                       uint16_t *maxpkt, bool *boot_kbd)
{
    struct libusb_config_descriptor *cd;
    int want = sc->cfg.interface_class < 0 ? LIBUSB_CLASS_HID : sc->cfg.interface_class;
    int best = 0;

    if (libusb_get_active_config_descriptor(dev, &cd) != 0 &&
        libusb_get_config_descriptor(dev, 0, &cd) != 0)
        return false;
    for (int i = 0; i < cd->bNumInterfaces; i++) {
        const struct libusb_interface_descriptor *alt;

        if (cd->interface[i].num_altsetting < 1)
            continue;
        alt = &cd->interface[i].altsetting[0];
        if (alt->bInterfaceClass != want)
            continue;
        for (int k = 0; k < alt->bNumEndpoints; k++) {
            const struct libusb_endpoint_descriptor *epd = &alt->endpoint[k];
            bool kbd = alt->bInterfaceSubClass == 1 && alt->bInterfaceProtocol == 1;
            int score;

            if (!(epd->bEndpointAddress & LIBUSB_ENDPOINT_IN) ||
                (epd->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_INTERRUPT)
                continue;
            score = (sc->cfg.kind == SCAN_SRC_KBD) == kbd ? 2 : 1;
            if (score > best) {
                best = score;
                *iface = alt->bInterfaceNumber;
                *ep = epd->bEndpointAddress;
                *maxpkt = epd->wMaxPacketSize;
                *boot_kbd = kbd;
            }
            break;
        }
    }
    libusb_free_config_descriptor(cd);
    return best > 0;
}

/* A HID class request to the interface; failures are the caller's to judge. */
static int hid_request(libusb_device_handle *h, int iface, uint8_t req, uint16_t value)
{
    return libusb_control_transfer(h,
                                   LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS |
                                       LIBUSB_RECIPIENT_INTERFACE,
                                   req, value, (uint16_t)iface, NULL, 0, CTRL_TIMEOUT_MS);
}

/* Claims iface of d, taking it from a kernel driver (usbhid) when the claim
 * is refused because one holds it. */
static int claim(struct usb_dev *d)
{
    int rc = libusb_claim_interface(d->h, d->iface);

    if (rc == LIBUSB_ERROR_BUSY && libusb_kernel_driver_active(d->h, d->iface) == 1) {
        rc = libusb_detach_kernel_driver(d->h, d->iface);
        if (rc == 0) {
            d->detached_driver = true;
            rc = libusb_claim_interface(d->h, d->iface);
        }
    }
    if (rc == 0)
        d->claimed = true;
    return rc;
}

/* Opens (unless h is given), claims and starts reading dev for sc. */
static void attach(struct scanner *sc, libusb_device *dev, libusb_device_handle *h, int iface,
                   uint8_t ep, uint16_t maxpkt, bool boot_kbd)
{
    struct scan_usb *s = sc->s;
    struct libusb_device_descriptor dd;
    struct usb_dev *d;
    const char *what;
    int rc;

    libusb_get_device_descriptor(dev, &dd);
    d = calloc(1, sizeof(*d));
    if (!d) {
        if (h)
            libusb_close(h);
        sc->st.errors++;
        log_warnx("scanner %s: out of memory", sc->cfg.id);
        return;
    }
    d->s = s;
    d->dev = libusb_ref_device(dev);
    d->iface = iface;
    d->h = h;
    d->xfer = libusb_alloc_transfer(0);
    d->next = s->devs;
    s->devs = d;
    d->dying = true; /* until attached: reap_devs() cleans up after a failure */
    what = "out of memory";
    if (!d->xfer)
        goto fail;
    what = "open";
    rc = h ? 0 : libusb_open(dev, &d->h);
    if (rc < 0)
        goto fail_usb;
    what = "claim";
    rc = claim(d);
    if (rc < 0)
        goto fail_usb;
    if (sc->cfg.kind == SCAN_SRC_KBD && boot_kbd) {
        /* A boot keyboard interface may come up in report protocol with a
         * report layout of its own; boot protocol gives the 8-byte reports
         * the decoder reads (HID 1.11, 7.2.6). SET_IDLE 0: report only on
         * change, many devices stall it, which is harmless. */
        rc = hid_request(d->h, iface, HID_REQ_SET_PROTOCOL, HID_PROTOCOL_BOOT);
        if (rc == LIBUSB_ERROR_NO_DEVICE)
            goto fail_usb;
        if (rc < 0)
            log_warnx("scanner %s: SET_PROTOCOL boot: %s (reading anyway)", sc->cfg.id,
                      libusb_error_name(rc));
        hid_request(d->h, iface, HID_REQ_SET_IDLE, 0);
    }
    if (maxpkt == 0 || maxpkt > sizeof(d->buf))
        maxpkt = sizeof(d->buf);
    libusb_fill_interrupt_transfer(d->xfer, d->h, ep, d->buf, maxpkt, xfer_cb, d, 0);
    what = "submit";
    rc = submit(d);
    if (rc < 0)
        goto fail_usb;
    d->dying = false;
    d->sc = sc;
    sc->dev = d;
    sc->ops->reset(sc);
    sc->st.connected = true;
    sc->st.attaches++;
    sc->st.vid = dd.idVendor;
    sc->st.pid = dd.idProduct;
    log_info("scanner %s (%s): %04X:%04X bus %u address %u, interface %d endpoint 0x%02X (%s)",
             sc->cfg.id, sc->cfg.location, dd.idVendor, dd.idProduct, libusb_get_bus_number(dev),
             libusb_get_device_address(dev), iface, ep, sc->ops->name);
    return;

fail_usb:
    if (rc == LIBUSB_ERROR_NO_DEVICE)
        d->gone = true;
    sc->st.errors++;
    log_warnx("scanner %s (%s): %04X:%04X: %s: %s%s", sc->cfg.id, sc->cfg.location, dd.idVendor,
              dd.idProduct, what, libusb_error_name(rc),
              rc == LIBUSB_ERROR_ACCESS ? " (see the udev rule in docs/scanners.md)" : "");
    if (!d->h) {
        /* Never opened: nothing for reap_devs to close. */
        s->devs = d->next;
        libusb_free_transfer(d->xfer);
        libusb_unref_device(d->dev);
        free(d);
    }
    return;
fail:
    sc->st.errors++;
    log_warnx("scanner %s: %s", sc->cfg.id, what);
    s->devs = d->next;
    if (d->h)
        libusb_close(d->h);
    libusb_unref_device(d->dev);
    free(d);
}

/* Reads the serial number string of dev through h (opened on first use). */
static bool read_serial(libusb_device *dev, const struct libusb_device_descriptor *dd,
                        libusb_device_handle **h, char *buf, size_t len)
{
    int rc;

    if (dd->iSerialNumber == 0)
        return false;
    if (!*h && libusb_open(dev, h) < 0) {
        *h = NULL;
        return false;
    }
    rc = libusb_get_string_descriptor_ascii(*h, dd->iSerialNumber, (unsigned char *)buf,
                                            (int)len);
    if (rc < 0)
        return false;
    buf[rc < (int)len ? rc : (int)len - 1] = '\0';
    return true;
}

/* Matches a newly seen device against the scanners still without one. */
static void device_arrived(struct scan_usb *s, libusb_device *dev)
{
    struct libusb_device_descriptor dd;
    libusb_device_handle *h = NULL;
    char serial[SCAN_SERIAL_MAX + 1];
    int serial_state = 0; /* 0 not read, 1 read, -1 unreadable */

    for (struct usb_dev *d = s->devs; d; d = d->next) {
        if (d->dev == dev && !d->dying)
            return; /* seen both at enumeration and as a hotplug event */
    }
    if (libusb_get_device_descriptor(dev, &dd) < 0)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct scanner *sc = &s->sc[i];
        int iface = 0;
        uint8_t ep = 0;
        uint16_t maxpkt = 0;
        bool boot_kbd = false;

        if (!sc->ops->usb || (sc->cfg.vid && sc->cfg.vid != dd.idVendor) ||
            (sc->cfg.pid && sc->cfg.pid != dd.idProduct))
            continue;
        if (!find_iface(dev, sc, &iface, &ep, &maxpkt, &boot_kbd))
            continue;
        if (sc->cfg.serial[0]) {
            if (serial_state == 0)
                serial_state = read_serial(dev, &dd, &h, serial, sizeof(serial)) ? 1 : -1;
            if (serial_state < 0 || strcmp(serial, sc->cfg.serial) != 0)
                continue;
        }
        if (sc->dev) {
            log_warnx("scanner %s (%s): a second matching device %04X:%04X is ignored",
                      sc->cfg.id, sc->cfg.location, dd.idVendor, dd.idProduct);
            continue;
        }
        attach(sc, dev, h, iface, ep, maxpkt, boot_kbd);
        return; /* attach owns h now */
    }
    if (h)
        libusb_close(h);
    log_debug("usb: %04X:%04X bus %u address %u matches no configured scanner", dd.idVendor,
              dd.idProduct, libusb_get_bus_number(dev), libusb_get_device_address(dev));
}

static void device_left(struct scan_usb *s, libusb_device *dev)
{
    for (struct usb_dev *d = s->devs; d; d = d->next) {
        if (d->dev == dev) {
            d->gone = true;
            dev_drop(d, "unplugged");
        }
    }
}

static int hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev, void *arg)
{
    struct scan_usb *s = arg;
    struct pending *p;

    (void)ctx;
    if (s->stopping)
        return 0;
    p = calloc(1, sizeof(*p));
    if (!p) {
        log_warnx("usb: out of memory, hotplug event lost");
        return 0;
    }
    p->dev = libusb_ref_device(dev);
    p->arrived = ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED;
    *s->pend_tail = p;
    s->pend_tail = &p->next;
    return 0;
}

/* Works off queued hotplug events. Attaching does synchronous I/O, during
 * which libusb may queue more: they are taken in the same pass. */
static void drain_pending(struct scan_usb *s)
{
    if (s->draining)
        return;
    s->draining = true;
    while (s->pend_head) {
        struct pending *p = s->pend_head;

        s->pend_head = p->next;
        if (!s->pend_head)
            s->pend_tail = &s->pend_head;
        if (!s->stopping) {
            if (p->arrived)
                device_arrived(s, p->dev);
            else
                device_left(s, p->dev);
        }
        libusb_unref_device(p->dev);
        free(p);
    }
    s->draining = false;
}

/* --- libusb on the loop ------------------------------------------------- */

static void pfd_closed(uv_handle_t *h)
{
    struct pfd *p = h->data;
    struct scan_usb *s = p->s;

    free(p);
    s->closing--;
    run_events(s);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct pfd *p = h->data;

    /* status < 0 is POLLERR (a usbfs node of an unplugged device): libusb
     * sees it too in its own poll and removes the fd; libuv has stopped
     * this handle already. */
    (void)status;
    (void)events;
    run_events(p->s);
}

static void spin_cb(uv_timer_t *t)
{
    run_events(t->data);
}

static void pollfd_added(int fd, short events, void *arg)
{
    struct scan_usb *s = arg;
    struct pfd *p = calloc(1, sizeof(*p));
    int rc, ev = 0;

    if (!p) {
        /* Not watched: the spin timer keeps libusb serviced. */
        log_warnx("usb: out of memory watching fd %d", fd);
        return;
    }
    p->s = s;
    p->fd = fd;
    p->next = s->pfds;
    s->pfds = p;
    if (events & POLLIN)
        ev |= UV_READABLE;
    if (events & POLLOUT)
        ev |= UV_WRITABLE;
    rc = uv_poll_init(s->loop, &p->poll, fd);
    if (rc == 0) {
        p->poll.data = p;
        p->polled = true;
        rc = uv_poll_start(&p->poll, ev, poll_cb);
        if (rc == 0)
            return;
        uv_poll_stop(&p->poll);
    }
    log_debug("usb: fd %d cannot be polled (%s): serviced every %d ms", fd, uv_strerror(rc),
              SPIN_MS);
    if (p->polled) {
        /* Initialised but not started: the handle still needs closing. */
        p->polled = false;
        s->closing++;
        uv_close((uv_handle_t *)&p->poll, pfd_closed);
        s->pfds = p->next; /* freed by pfd_closed */
        p = calloc(1, sizeof(*p));
        if (!p)
            return;
        p->s = s;
        p->fd = fd;
        p->next = s->pfds;
        s->pfds = p;
    }
    if (s->unpolled++ == 0)
        uv_timer_start(&s->spin, spin_cb, SPIN_MS, SPIN_MS);
}

static void pfd_free(struct scan_usb *s, struct pfd *p)
{
    if (p->polled) {
        s->closing++;
        uv_close((uv_handle_t *)&p->poll, pfd_closed);
        return;
    }
    if (--s->unpolled == 0)
        uv_timer_stop(&s->spin);
    free(p);
}

/* libusb calls this before it closes fd, so the uv_poll (stopped at once by
 * uv_close) never watches a closed or reused descriptor. */
static void pollfd_removed(int fd, void *arg)
{
    struct scan_usb *s = arg;

    for (struct pfd **pp = &s->pfds; *pp; pp = &(*pp)->next) {
        if ((*pp)->fd == fd) {
            struct pfd *p = *pp;

            *pp = p->next;
            pfd_free(s, p);
            return;
        }
    }
}

static void timeout_cb(uv_timer_t *t)
{
    run_events(t->data);
}

static void arm_timeout(struct scan_usb *s)
{
    struct timeval tv;
    uint64_t ms = UINT64_MAX;

    if (!s->timers_live || s->finished)
        return;
    if (s->ctx && libusb_get_next_timeout(s->ctx, &tv) == 1)
        ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    if (s->stopping && ms > 50)
        ms = 50; /* check the stop grace period */
    if (ms == UINT64_MAX)
        uv_timer_stop(&s->timeout);
    else
        uv_timer_start(&s->timeout, timeout_cb, ms, 0);
}

static void usb_log_cb(libusb_context *ctx, enum libusb_log_level level, const char *str)
{
    size_t n = strlen(str);

    (void)ctx;
    while (n > 0 && (str[n - 1] == '\n' || str[n - 1] == '\r'))
        n--;
    switch (level) {
    case LIBUSB_LOG_LEVEL_ERROR:
    case LIBUSB_LOG_LEVEL_WARNING:
        log_warnx("libusb: %.*s", (int)n, str);
        break;
    case LIBUSB_LOG_LEVEL_INFO:
        log_info("libusb: %.*s", (int)n, str);
        break;
    default:
        log_debug("libusb: %.*s", (int)n, str);
        break;
    }
}

static void timer_closed(uv_handle_t *h)
{
    struct scan_usb *s = h->data;

    s->closing--;
    run_events(s);
}

/* Stopping, step by step as things come back: devices closed (their
 * cancelled transfers returned, or the grace period over), then libusb,
 * then the loop handles; done_cb when the last close callback ran. */
static void stop_progress(struct scan_usb *s)
{
    if (!s->finished) {
        bool force = uv_now(s->loop) >= s->stop_deadline;

        reap_devs(s, force);
        if (s->devs)
            return;
        s->finished = true;
        if (s->ctx) {
            if (s->hp_registered)
                libusb_hotplug_deregister_callback(s->ctx, s->hp);
            s->hp_registered = false;
            drain_pending(s); /* frees events queued meanwhile (not acted on) */
            libusb_set_pollfd_notifiers(s->ctx, NULL, NULL, NULL);
            while (s->pfds) {
                struct pfd *p = s->pfds;

                s->pfds = p->next;
                pfd_free(s, p);
            }
            libusb_exit(s->ctx);
            s->ctx = NULL;
        }
        if (s->timers_live) {
            s->timers_live = false;
            s->closing += 2;
            uv_close((uv_handle_t *)&s->timeout, timer_closed);
            uv_close((uv_handle_t *)&s->spin, timer_closed);
        }
    }
    if (s->closing > 0)
        return;
    s->closing = -1; /* done_cb once */
    if (s->done_cb)
        s->done_cb(s->done_arg);
    free(s->sc);
    free(s);
}

static void run_events(struct scan_usb *s)
{
    if (s->in_events || s->draining)
        return;
    if (s->ctx && !s->finished) {
        struct timeval zero = {0, 0};
        int rc;

        s->in_events = true;
        rc = libusb_handle_events_timeout_completed(s->ctx, &zero, NULL);
        s->in_events = false;
        if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
            log_warnx("usb: handling events: %s", libusb_error_name(rc));
        drain_pending(s);
        if (!s->stopping)
            reap_devs(s, false);
    }
    if (s->stopping) {
        stop_progress(s); /* may free s */
        return;
    }
    arm_timeout(s);
}

/* --- public ------------------------------------------------------------- */

static int check_cfg(const struct scan_usb_cfg *cfg, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        const struct scan_usb_cfg *c = &cfg[i];

        if (!c->id[0] || memchr(c->id, '\0', sizeof(c->id)) == NULL)
            return err_set(e, ERR_CONFIG, "scanner %zu: id empty or longer than %d", i + 1,
                           SCAN_ID_MAX);
        if (memchr(c->location, '\0', sizeof(c->location)) == NULL)
            return err_set(e, ERR_CONFIG, "scanner %s: location longer than %d", c->id,
                           SCAN_ID_MAX);
        if (!ops_for(c->kind))
            return err_set(e, ERR_CONFIG, "scanner %s: unknown kind %d", c->id, (int)c->kind);
        if (c->kind == SCAN_SRC_TTY && (!c->tty_path[0] ||
                                        memchr(c->tty_path, '\0', sizeof(c->tty_path)) == NULL))
            return err_set(e, ERR_CONFIG, "scanner %s: tty without a path", c->id);
        if (c->kind != SCAN_SRC_TTY && c->interface_class > 255)
            return err_set(e, ERR_CONFIG, "scanner %s: interface class %d over 255", c->id,
                           c->interface_class);
        if (c->kind == SCAN_SRC_KBD && (unsigned)c->layout >= SCAN_LAYOUT_COUNT)
            return err_set(e, ERR_CONFIG, "scanner %s: unknown layout %d", c->id, (int)c->layout);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(cfg[k].id, c->id) == 0)
                return err_set(e, ERR_CONFIG, "scanner %s: configured twice", c->id);
        }
    }
    return 0;
}

/* Sets s to stopping and lets the loop close what is open; used by
 * scan_usb_stop and by a failed start. */
static void begin_stop(struct scan_usb *s)
{
    s->stopping = true;
    s->stop_deadline = uv_now(s->loop) + STOP_GRACE_MS;
    for (size_t i = 0; i < s->n; i++) {
        struct scanner *sc = &s->sc[i];

        if (sc->ops->stop)
            sc->ops->stop(sc);
        if (sc->dev)
            dev_drop(sc->dev, "stopping");
        sc->st.connected = false;
    }
    run_events(s);
}

int scan_usb_start(uv_loop_t *loop, const struct scan_usb_cfg *cfg, size_t n, scan_event_cb cb,
                   void *arg, struct scan_usb **out, struct err *e)
{
    struct scan_usb *s;
    const struct libusb_pollfd **fds;
    bool any_usb = false;
    int rc;

    rc = check_cfg(cfg, n, e);
    if (rc < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->sc = calloc(n ? n : 1, sizeof(*s->sc)))) {
        free(s);
        return err_set(e, -ENOMEM, "scanners: out of memory");
    }
    s->loop = loop;
    s->cb = cb;
    s->arg = arg;
    s->n = n;
    s->pend_tail = &s->pend_head;
    for (size_t i = 0; i < n; i++) {
        struct scanner *sc = &s->sc[i];

        sc->s = s;
        sc->cfg = cfg[i];
        sc->ops = ops_for(cfg[i].kind);
        sc->ops->reset(sc);
        memcpy(sc->st.id, sc->cfg.id, sizeof(sc->st.id));
        memcpy(sc->st.location, sc->cfg.location, sizeof(sc->st.location));
        sc->st.kind = sc->cfg.kind;
        any_usb |= sc->ops->usb;
    }
    if (any_usb) {
        rc = libusb_init(&s->ctx);
        if (rc < 0) {
            s->ctx = NULL;
            free(s->sc);
            free(s);
            return err_set(e, -EIO, "libusb: init: %s", libusb_error_name(rc));
        }
        libusb_set_log_cb(s->ctx, usb_log_cb, LIBUSB_LOG_CB_CONTEXT);
        libusb_set_option(s->ctx, LIBUSB_OPTION_LOG_LEVEL,
                          log_enabled(LOG_LEVEL_DEBUG) ? LIBUSB_LOG_LEVEL_INFO
                                                       : LIBUSB_LOG_LEVEL_WARNING);
        if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
            libusb_exit(s->ctx);
            free(s->sc);
            free(s);
            return err_set(e, ERR_STATE, "libusb: built without hotplug support");
        }
        uv_timer_init(loop, &s->timeout);
        uv_timer_init(loop, &s->spin);
        s->timeout.data = s->spin.data = s;
        s->timers_live = true;
        libusb_set_pollfd_notifiers(s->ctx, pollfd_added, pollfd_removed, s);
        fds = libusb_get_pollfds(s->ctx);
        for (size_t i = 0; fds && fds[i]; i++)
            pollfd_added(fds[i]->fd, fds[i]->events, s);
        libusb_free_pollfds(fds);
        /* ENUMERATE: devices present now come as ARRIVED events at once. */
        rc = libusb_hotplug_register_callback(
            s->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
            LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, s, &s->hp);
        if (rc < 0) {
            err_set(e, -EIO, "libusb: hotplug: %s", libusb_error_name(rc));
            goto fail;
        }
        s->hp_registered = true;
    }
    for (size_t i = 0; i < n; i++) {
        struct scanner *sc = &s->sc[i];

        if (sc->ops->start) {
            rc = sc->ops->start(sc, e);
            if (rc < 0) {
                err_wrap(e, rc, "scanner %s", sc->cfg.id);
                goto fail;
            }
        }
    }
    *out = s;
    if (s->ctx) {
        drain_pending(s);
        arm_timeout(s);
    }
    return 0;

fail:
    /* Handles exist: close them through the stop path (memory is freed by
     * the loop's close callbacks; no scan callback is called). */
    begin_stop(s);
    return rc;
}

size_t scan_usb_status(const struct scan_usb *s, struct scan_usb_status *out, size_t max)
{
    for (size_t i = 0; i < s->n && i < max; i++)
        out[i] = s->sc[i].st;
    return s->n;
}

void scan_usb_stop(struct scan_usb *s, void (*done_cb)(void *arg), void *arg)
{
    if (s->stopping)
        return;
    s->done_cb = done_cb;
    s->done_arg = arg;
    begin_stop(s);
}
