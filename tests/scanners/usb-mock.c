/*
 * usb-mock.c - emulated USB barcode scanners on umockdev (see usb-mock.h).
 *
 * DESIGN: each device gets its own UMockdevIoctlBase whose "handle-ioctl"
 * signal answers the usbfs ioctls on umockdev's worker thread. URBs are
 * kept as the UMockdevIoctlData umockdev resolved at submit time (the local
 * copy of struct usbdevfs_urb and of its buffer); a reap hands one back by
 * pointing the reap argument at it, and umockdev writes the copy back into
 * libusb's memory when the ioctl completes. Control URBs are answered at
 * submit and wait in the done queue; interrupt-IN URBs wait in flight until
 * a queued report fills them. All state is under one mutex, as the test
 * thread queues reports and unplugs while the worker answers.
 */
#include "tests/scanners/usb-mock.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umockdev.h>

#define MAX_DEVS 8

struct urb {
    UMockdevIoctlData *data;       /* struct usbdevfs_urb (local copy) */
    UMockdevIoctlData *buf;        /* its buffer */
};

struct mock_dev {
    struct usb_mock *m;
    int bus;
    uint16_t vid, pid;
    enum mock_kind kind;
    char serial[64];               /* "" = none */
    char syspath[64];              /* /sys/devices/usbN */
    char devnode[64];              /* /dev/bus/usb/00N/001 */
    UMockdevIoctlBase *handler;
    bool in_testbed;
    struct mock_stats st;
    GQueue inflight;               /* struct urb *: interrupt-IN, waiting for a report */
    GQueue done;                   /* struct urb *: ready to be reaped */
    GQueue reports;                /* GBytes * */
};

struct usb_mock {
    UMockdevTestbed *tb;
    GMutex lock;
    struct mock_dev *devs[MAX_DEVS];
    size_t ndevs;
};

static void urb_free(struct urb *u)
{
    g_object_unref(u->data);
    if (u->buf)
        g_object_unref(u->buf);
    g_free(u);
}

static struct usbdevfs_urb *urb_of(struct urb *u)
{
    return (struct usbdevfs_urb *)u->data->data;
}

static void dev_clear_queues(struct mock_dev *d)
{
    struct urb *u;
    GBytes *b;

    while ((u = g_queue_pop_head(&d->inflight)))
        urb_free(u);
    while ((u = g_queue_pop_head(&d->done)))
        urb_free(u);
    while ((b = g_queue_pop_head(&d->reports)))
        g_bytes_unref(b);
}

/* --- descriptors ---------------------------------------------------------- */

static size_t descriptors(const struct mock_dev *d, uint8_t *o)
{
    bool kbd = d->kind == MOCK_KBD;
    uint8_t maxpkt = kbd ? 8 : 64;
    size_t n = 0;
    const uint8_t dev[18] = {
        18, 1, 0x00, 0x02, 0, 0, 0, 64, (uint8_t)d->vid, (uint8_t)(d->vid >> 8),
        (uint8_t)d->pid, (uint8_t)(d->pid >> 8), 0x00, 0x01, 1, 2, d->serial[0] ? 3 : 0, 1,
    };
    const uint8_t cfg[9] = {9, 2, 34, 0, 1, 1, 0, 0x80, 50};
    const uint8_t intf[9] = {9, 4, 0, 0, 1, 3, kbd ? 1 : 0, kbd ? 1 : 0, 0};
    const uint8_t hid[9] = {9, 0x21, 0x11, 0x01, 0, 1, 0x22, kbd ? 63 : 48, 0};
    const uint8_t ep[7] = {7, 5, 0x81, 3, maxpkt, 0, kbd ? 8 : 1};

    memcpy(o + n, dev, sizeof(dev)), n += sizeof(dev);
    memcpy(o + n, cfg, sizeof(cfg)), n += sizeof(cfg);
    memcpy(o + n, intf, sizeof(intf)), n += sizeof(intf);
    memcpy(o + n, hid, sizeof(hid)), n += sizeof(hid);
    memcpy(o + n, ep, sizeof(ep)), n += sizeof(ep);
    return n;
}

/* String descriptor idx (0: language ids) into out; returns its length. */
static size_t string_desc(const struct mock_dev *d, unsigned idx, uint8_t *out, size_t max)
{
    const char *s = idx == 1 ? "WCS Test" : idx == 2 ? "Mock Scanner" : idx == 3 ? d->serial : NULL;
    size_t n = 2;

    if (idx == 0) {
        const uint8_t langs[4] = {4, 3, 0x09, 0x04};
        memcpy(out, langs, max < 4 ? max : 4);
        return max < 4 ? max : 4;
    }
    if (!s || !*s)
        return 0;
    uint8_t tmp[256];
    for (size_t i = 0; s[i] && n + 2 <= sizeof(tmp); i++) {
        tmp[n++] = (uint8_t)s[i];
        tmp[n++] = 0;
    }
    tmp[0] = (uint8_t)n;
    tmp[1] = 3;
    if (n > max)
        n = max;
    memcpy(out, tmp, n);
    return n;
}

/* --- ioctl handler (umockdev worker thread) ------------------------------ */

static void complete_err(UMockdevIoctlClient *c, int err)
{
    umockdev_ioctl_client_complete(c, -1, err);
}

/* Answers a control URB at submit; 0 or an errno for the submit itself. */
static int control_urb(struct mock_dev *d, struct urb *u)
{
    struct usbdevfs_urb *urb = urb_of(u);
    uint8_t *b = u->buf->data;
    uint8_t rt = b[0], req = b[1];
    unsigned value = (unsigned)(b[2] | b[3] << 8), index = (unsigned)(b[4] | b[5] << 8);
    unsigned wlen = (unsigned)(b[6] | b[7] << 8);
    size_t room = urb->buffer_length > 8 ? (size_t)urb->buffer_length - 8 : 0;

    urb->status = 0;
    urb->actual_length = 0;
    if (rt == 0x80 && req == 6 && (value >> 8) == 3) { /* GET_DESCRIPTOR string */
        size_t n = string_desc(d, value & 0xFF, b + 8, wlen < room ? wlen : room);
        if (n == 0)
            urb->status = -EPIPE;
        urb->actual_length = (int)n;
        return 0;
    }
    if ((rt & 0x1F) == 1) { /* recipient interface: only when claimed */
        if (index != 0)
            return EINVAL;
        if (!d->st.claimed) {
            /* The kernel claims on the client's behalf, which fails
             * while usbhid holds the interface. */
            d->st.unclaimed_requests++;
            return EBUSY;
        }
        if (rt == 0x21 && req == 0x0B) {
            d->st.set_protocol++;
            d->st.set_protocol_value = (int)value;
            return 0;
        }
        if (rt == 0x21 && req == 0x0A) {
            d->st.set_idle++;
            return 0;
        }
    }
    urb->status = -EPIPE; /* stall: not supported */
    return 0;
}

static gboolean handle_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer arg)
{
    struct mock_dev *d = arg;
    gulong req = umockdev_ioctl_client_get_request(c);
    UMockdevIoctlData *a = umockdev_ioctl_client_get_arg(c);
    gboolean handled = TRUE;

    (void)h;
    g_mutex_lock(&d->m->lock);
    if (!d->st.present && req != USBDEVFS_REAPURB && req != USBDEVFS_REAPURBNDELAY) {
        complete_err(c, ENODEV);
        goto out;
    }
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *v = umockdev_ioctl_data_resolve(a, 0, sizeof(uint32_t), NULL);
        *(uint32_t *)v->data = USBDEVFS_CAP_NO_PACKET_SIZE_LIM;
        g_object_unref(v);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_GETDRIVER: {
        UMockdevIoctlData *v;

        if (!d->st.bound) {
            complete_err(c, ENODATA);
            break;
        }
        v = umockdev_ioctl_data_resolve(a, 0, sizeof(struct usbdevfs_getdriver), NULL);
        snprintf(((struct usbdevfs_getdriver *)v->data)->driver, USBDEVFS_MAXDRIVERNAME + 1,
                 "usbhid");
        g_object_unref(v);
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    case USBDEVFS_IOCTL: {
        UMockdevIoctlData *v = umockdev_ioctl_data_resolve(a, 0, sizeof(struct usbdevfs_ioctl), NULL);
        int code = ((struct usbdevfs_ioctl *)v->data)->ioctl_code;

        g_object_unref(v);
        if (code == (int)USBDEVFS_DISCONNECT) {
            if (!d->st.bound) {
                complete_err(c, ENODATA);
                break;
            }
            d->st.bound = false;
            d->st.driver_detaches++;
            umockdev_ioctl_client_complete(c, 0, 0);
        } else if (code == (int)USBDEVFS_CONNECT) {
            if (d->st.claimed) {
                complete_err(c, EBUSY);
                break;
            }
            d->st.bound = true;
            d->st.driver_attaches++;
            umockdev_ioctl_client_complete(c, 1, 0); /* the kernel: 1 = a driver bound */
        } else {
            complete_err(c, ENOTTY);
        }
        break;
    }
    case USBDEVFS_CLAIMINTERFACE: {
        UMockdevIoctlData *v = umockdev_ioctl_data_resolve(a, 0, sizeof(unsigned int), NULL);
        unsigned ifno = *(unsigned int *)v->data;

        g_object_unref(v);
        if (ifno != 0) {
            complete_err(c, EINVAL);
        } else if (d->st.bound) {
            d->st.claims_busy++;
            complete_err(c, EBUSY);
        } else {
            d->st.claimed = true;
            d->st.claims_ok++;
            umockdev_ioctl_client_complete(c, 0, 0);
        }
        break;
    }
    case USBDEVFS_RELEASEINTERFACE:
        d->st.claimed = false;
        d->st.releases++;
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    case USBDEVFS_SUBMITURB: {
        struct urb *u = g_new0(struct urb, 1);
        struct usbdevfs_urb *urb;
        int rc = 0;

        u->data = umockdev_ioctl_data_resolve(a, 0, sizeof(struct usbdevfs_urb), NULL);
        urb = urb_of(u);
        if (urb->buffer_length > 0)
            u->buf = umockdev_ioctl_data_resolve(u->data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                                 (gsize)urb->buffer_length, NULL);
        d->st.submits++;
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL && u->buf && urb->buffer_length >= 8) {
            rc = control_urb(d, u);
            if (rc == 0)
                g_queue_push_tail(&d->done, u);
        } else if (urb->type == USBDEVFS_URB_TYPE_INTERRUPT && urb->endpoint == 0x81 && u->buf) {
            if (!d->st.claimed)
                rc = EBUSY;
            else
                g_queue_push_tail(&d->inflight, u);
        } else {
            rc = EINVAL;
        }
        if (rc) {
            urb_free(u);
            complete_err(c, rc);
        } else {
            umockdev_ioctl_client_complete(c, 0, 0);
        }
        break;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        struct urb *u = g_queue_pop_head(&d->done);

        if (!u && !g_queue_is_empty(&d->inflight) && !g_queue_is_empty(&d->reports)) {
            GBytes *rep = g_queue_pop_head(&d->reports);
            gsize n;
            const uint8_t *p = g_bytes_get_data(rep, &n);
            struct usbdevfs_urb *urb;

            u = g_queue_pop_head(&d->inflight);
            urb = urb_of(u);
            if (n > (gsize)urb->buffer_length)
                n = (gsize)urb->buffer_length;
            memcpy(u->buf->data, p, n);
            urb->actual_length = (int)n;
            urb->status = 0;
            g_bytes_unref(rep);
            d->st.reports_done++;
        }
        if (!u) {
            complete_err(c, d->st.present ? EAGAIN : ENODEV);
            break;
        }
        {
            UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(a, 0, sizeof(void *), NULL);
            umockdev_ioctl_data_set_ptr(ptr, 0, u->data);
            g_object_unref(ptr);
        }
        umockdev_ioctl_client_complete(c, 0, 0);
        urb_free(u);
        break;
    }
    case USBDEVFS_DISCARDURB: {
        gulong addr = *(gulong *)a->data;
        GList *l;

        for (l = d->inflight.head; l; l = l->next) {
            struct urb *u = l->data;
            if (u->data->client_addr == addr)
                break;
        }
        if (!l) {
            complete_err(c, EINVAL);
            break;
        }
        {
            struct urb *u = l->data;
            g_queue_delete_link(&d->inflight, l);
            urb_of(u)->status = -ENOENT;
            urb_of(u)->actual_length = 0;
            g_queue_push_tail(&d->done, u);
        }
        umockdev_ioctl_client_complete(c, 0, 0);
        break;
    }
    default:
        complete_err(c, ENOTTY);
        break;
    }
out:
    g_mutex_unlock(&d->m->lock);
    return handled;
}

/* --- testbed -------------------------------------------------------------- */

struct usb_mock *usb_mock_new(void)
{
    struct usb_mock *m = g_new0(struct usb_mock, 1);

    g_mutex_init(&m->lock);
    m->tb = umockdev_testbed_new();
    if (!m->tb) {
        g_free(m);
        return NULL;
    }
    return m;
}

static int dev_plug(struct mock_dev *d)
{
    uint8_t desc[64];
    size_t n = descriptors(d, desc);
    char hex[2 * sizeof(desc) + 1];
    char *text;
    GError *ge = NULL;
    gboolean ok;

    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02X", desc[i]);
    g_mutex_lock(&d->m->lock);
    dev_clear_queues(d);
    memset(&d->st, 0, sizeof(d->st));
    d->st.present = true;
    d->st.bound = true; /* usbhid took it, as the kernel does for any HID device */
    d->st.set_protocol_value = -1;
    g_mutex_unlock(&d->m->lock);

    d->handler = umockdev_ioctl_base_new();
    g_signal_connect(d->handler, "handle-ioctl", G_CALLBACK(handle_ioctl), d);
    if (!umockdev_testbed_attach_ioctl(d->m->tb, d->devnode, d->handler, &ge)) {
        fprintf(stderr, "usb-mock: attach_ioctl %s: %s\n", d->devnode, ge ? ge->message : "?");
        g_clear_error(&ge);
        return -1;
    }
    text = g_strdup_printf("P: /devices/usb%d\n"
                           "N: bus/usb/%03d/001\n"
                           "E: SUBSYSTEM=usb\n"
                           "E: DEVTYPE=usb_device\n"
                           "E: DRIVER=usb\n"
                           "E: DEVNAME=/dev/bus/usb/%03d/001\n"
                           "E: BUSNUM=%03d\n"
                           "E: DEVNUM=001\n"
                           "E: PRODUCT=%x/%x/100\n"
                           "A: busnum=%d\\n\n"
                           "A: devnum=1\\n\n"
                           "A: idVendor=%04X\\n\n"
                           "A: idProduct=%04X\\n\n"
                           "A: bConfigurationValue=1\\n\n"
                           "A: speed=12\\n\n"
                           "H: descriptors=%s\n",
                           d->bus, d->bus, d->bus, d->bus, d->vid, d->pid, d->bus, d->vid, d->pid,
                           hex);
    ok = umockdev_testbed_add_from_string(d->m->tb, text, &ge);
    g_free(text);
    if (!ok) {
        fprintf(stderr, "usb-mock: add %s: %s\n", d->syspath, ge ? ge->message : "?");
        g_clear_error(&ge);
        return -1;
    }
    d->in_testbed = true;
    return 0;
}

struct mock_dev *usb_mock_add(struct usb_mock *m, int bus, uint16_t vid, uint16_t pid,
                              enum mock_kind kind, const char *serial)
{
    struct mock_dev *d;

    if (m->ndevs == MAX_DEVS)
        return NULL;
    d = g_new0(struct mock_dev, 1);
    d->m = m;
    d->bus = bus;
    d->vid = vid;
    d->pid = pid;
    d->kind = kind;
    snprintf(d->serial, sizeof(d->serial), "%s", serial ? serial : "");
    snprintf(d->syspath, sizeof(d->syspath), "/sys/devices/usb%d", bus);
    snprintf(d->devnode, sizeof(d->devnode), "/dev/bus/usb/%03d/001", bus);
    g_queue_init(&d->inflight);
    g_queue_init(&d->done);
    g_queue_init(&d->reports);
    m->devs[m->ndevs++] = d;
    if (dev_plug(d) < 0)
        return NULL;
    return d;
}

void usb_mock_unplug(struct mock_dev *d)
{
    struct urb *u;

    g_mutex_lock(&d->m->lock);
    d->st.present = false;
    d->st.claimed = false;
    /* What the kernel does to URBs of a vanished device: each in-flight
     * URB completes once with -ESHUTDOWN; after that reaping says ENODEV. */
    while ((u = g_queue_pop_head(&d->inflight))) {
        urb_of(u)->status = -ESHUTDOWN;
        urb_of(u)->actual_length = 0;
        g_queue_push_tail(&d->done, u);
    }
    {
        GBytes *b;
        while ((b = g_queue_pop_head(&d->reports)))
            g_bytes_unref(b);
    }
    g_mutex_unlock(&d->m->lock);
    umockdev_testbed_uevent(d->m->tb, d->syspath, "remove");
}

void usb_mock_remove(struct mock_dev *d)
{
    if (!d->in_testbed)
        return;
    umockdev_testbed_remove_device(d->m->tb, d->syspath);
    umockdev_testbed_detach_ioctl(d->m->tb, d->devnode, NULL);
    g_clear_object(&d->handler);
    d->in_testbed = false;
    g_mutex_lock(&d->m->lock);
    dev_clear_queues(d);
    g_mutex_unlock(&d->m->lock);
}

int usb_mock_replug(struct mock_dev *d)
{
    if (d->in_testbed)
        return -1;
    return dev_plug(d);
}

void usb_mock_queue(struct mock_dev *d, const uint8_t *reports, size_t n, size_t len)
{
    g_mutex_lock(&d->m->lock);
    for (size_t i = 0; i < n; i++)
        g_queue_push_tail(&d->reports, g_bytes_new(reports + i * len, len));
    g_mutex_unlock(&d->m->lock);
}

void usb_mock_stats(struct mock_dev *d, struct mock_stats *out)
{
    g_mutex_lock(&d->m->lock);
    *out = d->st;
    out->reports_queued = g_queue_get_length(&d->reports);
    g_mutex_unlock(&d->m->lock);
}

void usb_mock_free(struct usb_mock *m)
{
    for (size_t i = 0; i < m->ndevs; i++) {
        struct mock_dev *d = m->devs[i];

        if (d->in_testbed) {
            umockdev_testbed_detach_ioctl(m->tb, d->devnode, NULL);
            umockdev_testbed_remove_device(m->tb, d->syspath);
        }
        g_clear_object(&d->handler);
        dev_clear_queues(d);
        g_free(d);
    }
    g_clear_object(&m->tb);
    g_mutex_clear(&m->lock);
    g_free(m);
}
