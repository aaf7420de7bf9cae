/*
 * registry.c - the in-memory parcel index: parcel code -> compact parcel
 * record, for decisions that never touch the database.
 *
 * DESIGN. Sized for millions of parcels in a few hundred bytes each:
 *   - records: a flat array of struct wcs_parcel (40 bytes), plus, per
 *     record, the arena offset of its first code (4 bytes);
 *   - codes: an arena of nodes {next, slot, len, bytes}, 4-byte aligned; a
 *     record's codes are chained through `next`, so a replace can find and
 *     drop the codes a parcel no longer has, and a code moving to another
 *     parcel is relinked, not copied;
 *   - code table: open addressing with linear probing, entries {hash, node}
 *     (8 bytes), at most half full; the stored hash filters probes without
 *     touching the arena and makes growth a rehash without rereading codes;
 *     deletion shifts entries back (no tombstones), so probe chains stay
 *     short however many codes move;
 *   - id table: open addressing of record slot + 1 (4 bytes), at most half
 *     full, keyed by parcels.id, compared through the record.
 * A lookup is a hash, one or two probes of the table, one arena node and the
 * record: about three cache misses. Codes dropped by a replace leave dead
 * arena bytes; when they pass half of the arena it is compacted.
 * A put first reserves all memory it may need, so it either fully happens or
 * changes nothing.
 */
#include "wcs/core/registry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CODES_PER_PUT_MAX 16       /* codes in one put; a parcel has WCS_MAX_IDS */
#define COMPACT_MIN_BYTES (1u << 20) /* never compact for less dead space than this */

struct node {
    uint32_t next;  /* arena offset of the record's next code, 0 = end */
    uint32_t slot;  /* record index */
    uint8_t len;
    char code[];    /* len bytes, not NUL-terminated */
};

struct centry {
    uint32_t hash;
    uint32_t node;  /* arena offset, 0 = empty slot */
};

struct wcs_registry {
    struct wcs_parcel *recs;
    uint32_t *first;      /* first code node of each record, 0 none */
    size_t nrecs, cap_recs;

    uint32_t *ids;        /* slot + 1, 0 empty */
    size_t idcap;         /* power of two */

    struct centry *codes;
    size_t ccap;          /* power of two */
    size_t ncodes;

    unsigned char *arena; /* offset 0 is never a node, so 0 can mean none */
    size_t alen, acap, dead;
};

/* Asks for transparent huge pages on a large block. Lookups touch the
 * tables at random, and with 4 KiB pages nearly every lookup also misses
 * the TLB; 2 MiB pages remove most of those misses. Only a hint: the
 * kernel may ignore it (THP off), and failure changes nothing. */
static void hint_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + len) & ~(huge - 1);

    if (p != NULL && end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

static size_t node_size(size_t len)
{
    return (sizeof(struct node) + len + 3) & ~(size_t)3;
}

static struct node *node_at(const struct wcs_registry *r, uint32_t off)
{
    return (struct node *)(r->arena + off);
}

/* A multiply-xorshift hash over 8-byte words; codes are short (<= 32). */
static uint32_t code_hash(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len;

    while (len > 0) {
        uint64_t w = 0;
        size_t n = len < 8 ? len : 8;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += n;
        len -= n;
    }
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static uint32_t id_hash(int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;

    h ^= h >> 32;
    return (uint32_t)h;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;

    while (c < n)
        c *= 2;
    return c;
}

struct wcs_registry *wcs_registry_new(size_t expected_parcels)
{
    struct wcs_registry *r = calloc(1, sizeof(*r));
    size_t n = expected_parcels ? expected_parcels : 1;

    if (r == NULL)
        return NULL;
    r->cap_recs = n;
    r->recs = malloc(n * sizeof(*r->recs));
    r->first = malloc(n * sizeof(*r->first));
    r->idcap = pow2_at_least(2 * n);
    r->ids = calloc(r->idcap, sizeof(*r->ids));
    /* Room for two codes per parcel at half load. */
    r->ccap = pow2_at_least(4 * n);
    r->codes = calloc(r->ccap, sizeof(*r->codes));
    r->acap = 4 + n * 44; /* about 1.6 nodes of 24-28 bytes per parcel */
    r->arena = malloc(r->acap);
    if (r->recs == NULL || r->first == NULL || r->ids == NULL || r->codes == NULL ||
        r->arena == NULL) {
        wcs_registry_free(r);
        return NULL;
    }
    hint_huge(r->recs, n * sizeof(*r->recs));
    hint_huge(r->first, n * sizeof(*r->first));
    hint_huge(r->ids, r->idcap * sizeof(*r->ids));
    hint_huge(r->codes, r->ccap * sizeof(*r->codes));
    hint_huge(r->arena, r->acap);
    r->alen = 4;
    return r;
}

void wcs_registry_free(struct wcs_registry *r)
{
    if (r == NULL)
        return;
    free(r->recs);
    free(r->first);
    free(r->ids);
    free(r->codes);
    free(r->arena);
    free(r);
}

/* --- code table ----------------------------------------------------------- */

/* Index in the code table of the entry for code, or -1. */
static long code_pos(const struct wcs_registry *r, const char *code, size_t len, uint32_t h)
{
    size_t mask = r->ccap - 1, i = h & mask;

    for (;;) {
        const struct centry *e = &r->codes[i];
        if (e->node == 0)
            return -1;
        if (e->hash == h) {
            const struct node *n = node_at(r, e->node);
            if (n->len == len && memcmp(n->code, code, len) == 0)
                return (long)i;
        }
        i = (i + 1) & mask;
    }
}

static void code_insert(struct centry *tab, size_t cap, uint32_t h, uint32_t node)
{
    size_t mask = cap - 1, i = h & mask;

    while (tab[i].node != 0)
        i = (i + 1) & mask;
    tab[i].hash = h;
    tab[i].node = node;
}

/* Removes entry i, shifting later entries of the probe chain back into the
 * hole (linear-probing deletion without tombstones). */
static void code_delete(struct wcs_registry *r, size_t i)
{
    size_t mask = r->ccap - 1, j = i;

    for (;;) {
        size_t k;
        j = (j + 1) & mask;
        if (r->codes[j].node == 0)
            break;
        k = r->codes[j].hash & mask;
        /* The entry at j may stay when its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        r->codes[i] = r->codes[j];
        i = j;
    }
    r->codes[i].node = 0;
    r->codes[i].hash = 0;
    r->ncodes--;
}

static int code_table_resize(struct wcs_registry *r, size_t cap)
{
    struct centry *t = calloc(cap, sizeof(*t));
    size_t i;

    if (t == NULL)
        return -ENOMEM;
    hint_huge(t, cap * sizeof(*t));
    for (i = 0; i < r->ccap; i++)
        if (r->codes[i].node != 0)
            code_insert(t, cap, r->codes[i].hash, r->codes[i].node);
    free(r->codes);
    r->codes = t;
    r->ccap = cap;
    return 0;
}

/* --- id table ------------------------------------------------------------- */

static long id_find(const struct wcs_registry *r, int64_t id)
{
    size_t mask = r->idcap - 1, i = id_hash(id) & mask;

    for (;;) {
        uint32_t s = r->ids[i];
        if (s == 0)
            return -1;
        if (r->recs[s - 1].id == id)
            return (long)(s - 1);
        i = (i + 1) & mask;
    }
}

static void id_insert(uint32_t *tab, size_t cap, int64_t id, uint32_t slot)
{
    size_t mask = cap - 1, i = id_hash(id) & mask;

    while (tab[i] != 0)
        i = (i + 1) & mask;
    tab[i] = slot + 1;
}

static int id_table_resize(struct wcs_registry *r, size_t cap)
{
    uint32_t *t = calloc(cap, sizeof(*t));
    size_t i;

    if (t == NULL)
        return -ENOMEM;
    hint_huge(t, cap * sizeof(*t));
    for (i = 0; i < r->nrecs; i++)
        id_insert(t, cap, r->recs[i].id, (uint32_t)i);
    free(r->ids);
    r->ids = t;
    r->idcap = cap;
    return 0;
}

/* --- arena ---------------------------------------------------------------- */

/* Rewrites the arena with live nodes only, then rebuilds the code table from
 * the records (table entries point into the old arena). Skipped quietly when
 * memory is short: dead bytes only cost space. */
static void compact(struct wcs_registry *r)
{
    size_t cap = r->alen - r->dead + r->alen / 4, len = 4, i;
    unsigned char *a = malloc(cap);

    if (a == NULL)
        return;
    hint_huge(a, cap);
    memset(r->codes, 0, r->ccap * sizeof(*r->codes));
    for (i = 0; i < r->nrecs; i++) {
        uint32_t off = r->first[i], *link = &r->first[i];
        while (off != 0) {
            const struct node *n = node_at(r, off);
            size_t sz = node_size(n->len);
            memcpy(a + len, n, sz);
            *link = (uint32_t)len;
            link = &((struct node *)(a + len))->next;
            code_insert(r->codes, r->ccap, code_hash(n->code, n->len), (uint32_t)len);
            len += sz;
            off = n->next;
        }
        *link = 0;
    }
    free(r->arena);
    r->arena = a;
    r->acap = cap;
    r->alen = len;
    r->dead = 0;
}

static int arena_reserve(struct wcs_registry *r, size_t more)
{
    size_t cap;
    unsigned char *a;

    if (r->alen + more <= r->acap)
        return 0;
    cap = r->acap + r->acap / 2;
    if (cap < r->alen + more)
        cap = r->alen + more;
    if (cap > UINT32_MAX)
        return -ENOMEM; /* offsets are 32-bit: 4 GiB of codes */
    a = realloc(r->arena, cap);
    if (a == NULL)
        return -ENOMEM;
    r->arena = a;
    r->acap = cap;
    hint_huge(a, cap);
    return 0;
}

/* Unlinks node off from the chain of record slot. */
static void chain_unlink(struct wcs_registry *r, uint32_t slot, uint32_t off)
{
    uint32_t *link = &r->first[slot];

    while (*link != 0) {
        if (*link == off) {
            *link = node_at(r, off)->next;
            return;
        }
        link = &node_at(r, *link)->next;
    }
}

/* --- public --------------------------------------------------------------- */

int wcs_registry_put(struct wcs_registry *r, const struct wcs_parcel *p,
                     const char *const *codes, size_t ncodes, struct err *e)
{
    size_t lens[CODES_PER_PUT_MAX];
    uint32_t hashes[CODES_PER_PUT_MAX], nodes[CODES_PER_PUT_MAX];
    bool skip[CODES_PER_PUT_MAX];
    size_t i, j, need = 0;
    long slot;
    uint32_t off, *link;

    if (ncodes > CODES_PER_PUT_MAX)
        return err_set(e, ERR_INVALID, "parcel %lld: %zu codes, at most %d",
                       (long long)p->id, ncodes, CODES_PER_PUT_MAX);
    for (i = 0; i < ncodes; i++) {
        lens[i] = codes[i] ? strlen(codes[i]) : 0;
        if (lens[i] == 0)
            return err_set(e, ERR_INVALID, "parcel %lld: code %zu is empty", (long long)p->id,
                           i + 1);
        if (lens[i] > WCS_CODE_MAX)
            return err_set(e, ERR_INVALID, "parcel %lld: code '%.40s' is longer than %d "
                           "characters", (long long)p->id, codes[i], WCS_CODE_MAX);
        hashes[i] = code_hash(codes[i], lens[i]);
        skip[i] = false;
        for (j = 0; j < i; j++)
            if (lens[j] == lens[i] && memcmp(codes[j], codes[i], lens[i]) == 0)
                skip[i] = true;
        if (!skip[i])
            need += node_size(lens[i]);
    }

    /* Reserve everything first, so nothing below can fail. */
    if (r->dead > COMPACT_MIN_BYTES && r->dead > r->alen / 2)
        compact(r);
    slot = id_find(r, p->id);
    if (slot < 0) {
        if (r->nrecs >= UINT32_MAX - 1)
            return err_set(e, -ENOMEM, "registry full");
        if (r->nrecs == r->cap_recs) {
            size_t cap = r->cap_recs * 2;
            struct wcs_parcel *nr = realloc(r->recs, cap * sizeof(*nr));
            uint32_t *nf;
            if (nr == NULL)
                return err_set(e, -ENOMEM, "registry: out of memory");
            r->recs = nr;
            nf = realloc(r->first, cap * sizeof(*nf));
            if (nf == NULL)
                return err_set(e, -ENOMEM, "registry: out of memory");
            r->first = nf;
            r->cap_recs = cap;
            hint_huge(r->recs, cap * sizeof(*r->recs));
            hint_huge(r->first, cap * sizeof(*r->first));
        }
        if ((r->nrecs + 1) * 2 > r->idcap && id_table_resize(r, r->idcap * 2) < 0)
            return err_set(e, -ENOMEM, "registry: out of memory");
    }
    if ((r->ncodes + ncodes) * 2 > r->ccap && code_table_resize(r, r->ccap * 2) < 0)
        return err_set(e, -ENOMEM, "registry: out of memory");
    if (arena_reserve(r, need) < 0)
        return err_set(e, -ENOMEM, "registry: out of memory");

    if (slot < 0) {
        slot = (long)r->nrecs++;
        r->first[slot] = 0;
        id_insert(r->ids, r->idcap, p->id, (uint32_t)slot);
    } else {
        /* Drop the codes the parcel no longer has. */
        off = r->first[slot];
        while (off != 0) {
            struct node *n = node_at(r, off);
            uint32_t next = n->next;
            bool keep = false;
            for (i = 0; i < ncodes && !keep; i++)
                keep = lens[i] == n->len && memcmp(codes[i], n->code, n->len) == 0;
            if (!keep) {
                long pos = code_pos(r, n->code, n->len, code_hash(n->code, n->len));
                if (pos >= 0)
                    code_delete(r, (size_t)pos);
                chain_unlink(r, (uint32_t)slot, off);
                r->dead += node_size(n->len);
            }
            off = next;
        }
    }
    r->recs[slot] = *p;

    /* Find or make a node for each code, taking codes from other parcels. */
    for (i = 0; i < ncodes; i++) {
        long pos;
        struct node *n;
        if (skip[i])
            continue;
        pos = code_pos(r, codes[i], lens[i], hashes[i]);
        if (pos >= 0) {
            nodes[i] = r->codes[pos].node;
            n = node_at(r, nodes[i]);
            if (n->slot != (uint32_t)slot) {
                chain_unlink(r, n->slot, nodes[i]);
                n->slot = (uint32_t)slot;
            }
            continue;
        }
        nodes[i] = (uint32_t)r->alen;
        n = node_at(r, nodes[i]);
        n->next = 0;
        n->slot = (uint32_t)slot;
        n->len = (uint8_t)lens[i];
        memcpy(n->code, codes[i], lens[i]);
        r->alen += node_size(lens[i]);
        code_insert(r->codes, r->ccap, hashes[i], nodes[i]);
        r->ncodes++;
    }
    /* Relink the chain in the order given, so the first code stays first. */
    link = &r->first[slot];
    for (i = 0; i < ncodes; i++) {
        if (skip[i])
            continue;
        *link = nodes[i];
        link = &node_at(r, nodes[i])->next;
    }
    *link = 0;
    return 0;
}

const struct wcs_parcel *wcs_registry_find(const struct wcs_registry *r, const char *code,
                                           size_t len)
{
    long pos;

    if (code == NULL || len == 0 || len > WCS_CODE_MAX)
        return NULL;
    pos = code_pos(r, code, len, code_hash(code, len));
    if (pos < 0)
        return NULL;
    return &r->recs[node_at(r, r->codes[pos].node)->slot];
}

size_t wcs_registry_count(const struct wcs_registry *r)
{
    return r->nrecs;
}

size_t wcs_registry_memory(const struct wcs_registry *r)
{
    return sizeof(*r) + r->cap_recs * (sizeof(*r->recs) + sizeof(*r->first)) +
           r->idcap * sizeof(*r->ids) + r->ccap * sizeof(*r->codes) + r->acap;
}
