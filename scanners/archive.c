/*
 * archive.c - the no-read archive (archive.h): a directory of frames and
 * their JSON, bounded in entries and bytes, oldest dropped first.
 *
 * DESIGN. The entries are kept in memory as a list sorted by name (= by
 * age): at open from the directory, then appended as they are written, so
 * dropping the oldest is taking from the front. The directory is the truth
 * (another process may have removed a file): a removal that finds nothing
 * is fine.
 */
#include "scanners/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <png.h>

#define DEFAULT_MAX_BYTES (1024ull * 1024 * 1024)
#define DEFAULT_MAX_ENTRIES 100000u

struct entry {
    char name[SCAN_ARCHIVE_NAME_MAX];
    uint64_t bytes; /* image and JSON */
};

struct scan_archive {
    char *dir;
    uint64_t max_bytes, bytes;
    unsigned max_entries;
    struct entry *e;   /* sorted by name */
    size_t head, n, cap; /* live entries e[head .. head+n) */
    unsigned seq;      /* tells apart entries of one millisecond */
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int push(struct scan_archive *a, const char *name, uint64_t bytes)
{
    if (a->head + a->n == a->cap) {
        if (a->head > 0) { /* reuse the front the drops freed */
            memmove(a->e, a->e + a->head, a->n * sizeof(*a->e));
            a->head = 0;
        } else {
            size_t cap = a->cap ? a->cap * 2 : 256;
            struct entry *e = realloc(a->e, cap * sizeof(*e));
            if (e == NULL)
                return -ENOMEM;
            a->e = e;
            a->cap = cap;
        }
    }
    snprintf(a->e[a->head + a->n].name, SCAN_ARCHIVE_NAME_MAX, "%s", name);
    a->e[a->head + a->n].bytes = bytes;
    a->n++;
    a->bytes += bytes;
    return 0;
}

static void remove_entry_files(const struct scan_archive *a, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s.json", a->dir, name);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s.pgm", a->dir, name);
    unlink(path);
}

/* Drops the oldest entries until the archive is within its bounds. */
static void trim(struct scan_archive *a)
{
    while (a->n > 0 && (a->n > a->max_entries || a->bytes > a->max_bytes)) {
        struct entry *old = &a->e[a->head];

        remove_entry_files(a, old->name);
        a->bytes -= old->bytes < a->bytes ? old->bytes : a->bytes;
        a->head++;
        a->n--;
    }
}

/* Reads the directory: every NAME.pgm with its NAME.json is an entry; a
 * temporary file (".tmp") or an image without its JSON is what a crash
 * left, and goes. */
static int scan_dir(struct scan_archive *a, struct err *e)
{
    DIR *d = opendir(a->dir);
    struct dirent *de;
    char path[4096], name[SCAN_ARCHIVE_NAME_MAX];
    int rc = 0;

    if (d == NULL)
        return err_set(e, -errno, "no-read archive %s: %s", a->dir, strerror(errno));
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            snprintf(path, sizeof(path), "%s/%s", a->dir, de->d_name);
            unlink(path);
            continue;
        }
        if (len < 5 || len - 4 >= sizeof(name) || strcmp(de->d_name + len - 4, ".pgm") != 0)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(len - 4), de->d_name);
        snprintf(path, sizeof(path), "%s/%s.json", a->dir, name);
        uint64_t meta = file_size(path);
        snprintf(path, sizeof(path), "%s/%s.pgm", a->dir, name);
        if (meta == 0) {
            unlink(path);
            continue;
        }
        if (push(a, name, file_size(path) + meta) < 0)
            rc = err_set(e, -ENOMEM, "no-read archive %s: out of memory", a->dir);
    }
    closedir(d);
    if (rc == 0 && a->n > 1)
        qsort(a->e + a->head, a->n, sizeof(*a->e), cmp_entry);
    return rc;
}

int scan_archive_open(const struct scan_archive_config *cfg, struct scan_archive **out,
                      struct err *e)
{
    struct scan_archive *a = calloc(1, sizeof(*a));
    int rc;

    *out = NULL;
    if (a == NULL || (a->dir = strdup(cfg->dir)) == NULL) {
        free(a);
        return err_set(e, -ENOMEM, "no-read archive: out of memory");
    }
    a->max_bytes = cfg->max_bytes ? cfg->max_bytes : DEFAULT_MAX_BYTES;
    a->max_entries = cfg->max_entries ? cfg->max_entries : DEFAULT_MAX_ENTRIES;
    if (mkdir(a->dir, 0750) < 0 && errno != EEXIST) {
        rc = err_set(e, -errno, "no-read archive %s: %s", a->dir, strerror(errno));
        scan_archive_close(a);
        return rc;
    }
    rc = scan_dir(a, e);
    if (rc < 0) {
        scan_archive_close(a);
        return rc;
    }
    trim(a);
    *out = a;
    return 0;
}

/* Writes len bytes to path.tmp, fsyncs, and renames it to path. */
static int write_file(const char *path, const void *head, size_t head_len, const void *data,
                      size_t len, struct err *e)
{
    char tmp[4096];
    int fd, rc = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    if ((head_len > 0 && write(fd, head, head_len) != (ssize_t)head_len) ||
        (len > 0 && write(fd, data, len) != (ssize_t)len) || fsync(fd) < 0)
        rc = err_set(e, errno ? -errno : -EIO, "%s: %s", tmp, strerror(errno ? errno : EIO));
    if (close(fd) < 0 && rc == 0)
        rc = err_set(e, -errno, "%s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static json_t *text_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *meta_json(const struct scan_archive_meta *m, const char *at, const char *image)
{
    const struct scan_noread *w = m->why;
    json_t *region = w == NULL ? json_null()
                               : json_pack("{s:i,s:i,s:f,s:f}", "blocks", w->region_blocks,
                                           "contrast", w->contrast, "module_px", w->module_px,
                                           "angle_deg", w->angle_deg);

    return json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:s}", "at", at, "location",
                     text_or_null(m->location), "source", text_or_null(m->source), "tracking",
                     text_or_null(m->tracking), "cause",
                     scan_noread_cause_name(w != NULL ? w->cause : SCAN_NOREAD_NO_REGION),
                     "region", region, "image", image);
}

int scan_archive_put(struct scan_archive *a, const struct scan_frame *f,
                     const struct scan_archive_meta *m, char name[SCAN_ARCHIVE_NAME_MAX],
                     struct err *e)
{
    char path[4096], at[80], head[64], image[SCAN_ARCHIVE_NAME_MAX + 4];
    time_t s = (time_t)(m->at_us / 1000000);
    struct tm tm;
    char *text = NULL;
    json_t *j;
    int hlen, rc;

    name[0] = '\0';
    if (f == NULL || f->data == NULL || f->w <= 0 || f->h <= 0 || f->stride < (size_t)f->w)
        return err_set(e, ERR_INVALID, "no-read archive: no frame");
    if ((uint64_t)f->w * (uint64_t)f->h > a->max_bytes)
        return err_set(e, ERR_INVALID, "no-read archive: a %dx%d frame is past its %llu bytes",
                       f->w, f->h, (unsigned long long)a->max_bytes);
    if (gmtime_r(&s, &tm) == NULL)
        return err_set(e, ERR_INVALID, "no-read archive: time %lld", (long long)m->at_us);
    snprintf(at, sizeof(at), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(m->at_us / 1000 % 1000));
    snprintf(name, SCAN_ARCHIVE_NAME_MAX, "%04d%02d%02dT%02d%02d%02d.%03dZ-%06u",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(m->at_us / 1000 % 1000), a->seq++ % 1000000u);
    snprintf(image, sizeof(image), "%s.pgm", name);

    /* The image first: an entry is there once its JSON is. */
    hlen = snprintf(head, sizeof(head), "P5\n%d %d\n255\n", f->w, f->h);
    snprintf(path, sizeof(path), "%s/%s", a->dir, image);
    if (f->stride == (size_t)f->w) {
        rc = write_file(path, head, (size_t)hlen, f->data, (size_t)f->w * (size_t)f->h, e);
    } else {
        uint8_t *packed = malloc((size_t)f->w * (size_t)f->h);
        if (packed == NULL) {
            name[0] = '\0';
            return err_set(e, -ENOMEM, "no-read archive: out of memory");
        }
        for (int y = 0; y < f->h; y++)
            memcpy(packed + (size_t)y * f->w, f->data + (size_t)y * f->stride, (size_t)f->w);
        rc = write_file(path, head, (size_t)hlen, packed, (size_t)f->w * (size_t)f->h, e);
        free(packed);
    }
    if (rc == 0) {
        j = meta_json(m, at, image);
        text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        snprintf(path, sizeof(path), "%s/%s.json", a->dir, name);
        rc = text == NULL ? err_set(e, -ENOMEM, "no-read archive: out of memory")
                          : write_file(path, NULL, 0, text, strlen(text), e);
    }
    if (rc == 0)
        rc = push(a, name, (uint64_t)hlen + (uint64_t)f->w * (uint64_t)f->h + strlen(text));
    free(text);
    if (rc < 0) {
        remove_entry_files(a, name);
        name[0] = '\0';
        return rc == -ENOMEM ? err_set(e, rc, "no-read archive: out of memory") : rc;
    }
    trim(a);
    return 0;
}

unsigned scan_archive_entries(const struct scan_archive *a)
{
    return (unsigned)a->n;
}

uint64_t scan_archive_bytes(const struct scan_archive *a)
{
    return a->bytes;
}

void scan_archive_close(struct scan_archive *a)
{
    if (a == NULL)
        return;
    free(a->e);
    free(a->dir);
    free(a);
}

bool scan_archive_name_ok(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n < SCAN_ARCHIVE_NAME_MAX && name[0] != '.' &&
           strspn(name, "0123456789TZ.-") == n;
}

struct png_out {
    unsigned char *buf;
    size_t len, cap;
    bool failed;
};

static void png_write_cb(png_structp p, png_bytep data, png_size_t n)
{
    struct png_out *o = png_get_io_ptr(p);

    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2;
        unsigned char *b = realloc(o->buf, cap);

        if (b == NULL) {
            o->failed = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void png_flush_cb(png_structp p)
{
    (void)p;
}

/* img as an 8-bit grey PNG into o; false on libpng's or memory's failure. */
static bool png_encode(const struct scan_image *img, struct png_out *o)
{
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p != NULL ? png_create_info_struct(p) : NULL;
    volatile bool ok = false;
    int y;

    if (info == NULL) {
        png_destroy_write_struct(&p, NULL);
        return false;
    }
    if (setjmp(png_jmpbuf(p)) == 0) {
        png_set_write_fn(p, o, png_write_cb, png_flush_cb);
        /* Fast over small: the console shows it once. */
        png_set_compression_level(p, 1);
        png_set_IHDR(p, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_GRAY,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(p, info);
        for (y = 0; y < img->h; y++)
            png_write_row(p, img->data + (size_t)y * (size_t)img->w);
        png_write_end(p, NULL);
        ok = !o->failed;
    }
    png_destroy_write_struct(&p, &info);
    return ok;
}

int scan_archive_png(const char *dir, const char *name, unsigned char **png, size_t *len,
                     struct err *e)
{
    char path[4096];
    struct scan_image img = {0};
    struct png_out o = {0};
    int rc;

    *png = NULL;
    *len = 0;
    if (!scan_archive_name_ok(name))
        return err_set(e, ERR_INVALID, "no-read image %.80s: not an image name", name);
    snprintf(path, sizeof(path), "%s/%s.pgm", dir, name);
    rc = scan_image_load(path, &img, e);
    if (rc == -ENOENT)
        return err_set(e, ERR_NOTFOUND, "no-read image %s: no longer kept", name);
    if (rc < 0) {
        scan_image_release(&img);
        return err_wrap(e, rc, "no-read image %s", name);
    }
    if (!png_encode(&img, &o)) {
        scan_image_release(&img);
        free(o.buf);
        return err_set(e, -ENOMEM, "no-read image %s: PNG: out of memory", name);
    }
    scan_image_release(&img);
    *png = o.buf;
    *len = o.len;
    return 0;
}

