/*
 * fuzz_api.c -- a libFuzzer harness that reads its input as a sequence of
 * mgc API calls and checks the heap against a shadow model.
 *
 *   make fuzz                       build build-fuzz/fuzz_api (clang, ASan, UBSan)
 *   make fuzz-run FUZZ_SECONDS=60   run it on test/fuzz/corpus, bounded
 *   build-fuzz/fuzz_api FILE        replay one input
 *
 * The model knows every object the input allocated and kept: its address,
 * kind, size, the model objects its pointer fields hold and the seed of the
 * bytes in the rest.  What is reachable from the model's roots (a root
 * array, and root ranges the input adds and removes in a second array) is
 * checked after collections and at the end of every input:
 *
 *   - every reachable object is allocated (gc_base gives its base, also from
 *     an interior pointer; gc_size covers it) and its contents, pointer
 *     fields and data bytes, are exactly what the model says;
 *   - a weak handle or weak slot to a reachable object reads that object;
 *     one to an object the model dropped reads NULL or that object intact;
 *   - a finalizer or cleanup runs at most once and never for an object the
 *     model can reach, finalizers on an intact object whose referents are
 *     allocated;
 *   - gc_base / gc_size of any address (stack, static, bogus, a random
 *     64-bit value from the input) are consistent: NULL/0, or a base at or
 *     below it with the address inside gc_size bytes;
 *   - gc_verify_heap finds the heap's metadata sound after each collection;
 *   - misuse (reversed or NULL root ranges, weak references to non-heap
 *     memory, finalizers on interior pointers, sizes near SIZE_MAX) gets the
 *     documented result and changes nothing.
 *
 * Objects the model dropped may live on (conservatively) but are never
 * touched again.  libFuzzer runs many inputs in one process: gc_init runs
 * once (LLVMFuzzerInitialize, with MGC_FINALIZERS=manual and MGC_CLOBBER=1
 * so a premature free shows as clobbered contents); each input starts from
 * empty roots.  Any failure prints what broke and aborts, which libFuzzer
 * saves as a crash input.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgc.h"

#define MAXOBJ 128
#define NROOT 16
#define NRANGE 4
#define RANGE_SLOTS 8
#define NWEAK 8
#define NF 4 /* pointer fields: the first NF words of a scanned object */

enum kind { K_SCAN, K_ARRAY, K_NOSCAN, K_TINY, K_TYPED, K_TYPED_ARRAY, K_ZERO };

typedef struct mobj {
    int live;       /* in the model: reachable from its roots */
    uint64_t id;    /* unique over the whole run */
    unsigned char *p;
    enum kind kind;
    size_t size;    /* bytes the model owns */
    int nptr;       /* pointer words at the start of (each element of) the object */
    int field[NF];  /* model index held in pointer word i of element 0, or -1 */
    unsigned ncleanup; /* cleanups added: each has its own argument */
    unsigned seed;
} mobj;

static mobj objs[MAXOBJ];
static uint64_t next_id = 1;

/* The model's roots, registered with the collector.  Globals are not
 * roots by themselves (mgc.h rule 3): only these two arrays are. */
static void *roots[NROOT];
static void *ranges[NRANGE][RANGE_SLOTS];
typedef struct reg {
    int used, r, lo, hi; /* gc_add_roots(&ranges[r][lo], &ranges[r][hi]) */
} reg;
static reg regs[8];

/* Weak references: handles and slots (the slots are in a global that is
 * not a root: memory the collector does not scan). */
static gc_weak *wh[NWEAK];
static uint64_t wh_id[NWEAK];
static void *wslot[NWEAK];
static uint64_t wslot_id[NWEAK];

static const gc_type *t_all, *t_mixed, *t_bitmap;
static int root_of[NROOT], range_of[NRANGE][RANGE_SLOTS]; /* model index or -1 */

static size_t nwarn, noom;
static void quiet_warn(const char *msg) { (void)msg, nwarn++; }
static void count_oom(size_t n) { (void)n, noom++; }

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_api: FAILED %s (line %d): ", #cond, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- input ------------------------------------------------------------------------ */

typedef struct in {
    const uint8_t *d;
    size_t n, i;
} in;
static uint8_t byte(in *s) { return s->i < s->n ? s->d[s->i++] : 0; }
static uint16_t u16(in *s) { return (uint16_t)(byte(s) | byte(s) << 8); }
static uint64_t u64(in *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)byte(s) << (8 * i);
    return v;
}

/* ---- contents ----------------------------------------------------------------------- */

static unsigned char pattern(unsigned seed, size_t i) { return (unsigned char)(seed + i * 131u + (i >> 9)); }

/* Typed arrays are of t_mixed: 9 words, the first 4 pointers; only the
 * first element's are used (the others stay NULL). */
static int is_ptr_word(const mobj *o, size_t w)
{
    if (o->kind == K_TYPED_ARRAY)
        return w % 9 < 4;
    return w < (size_t)o->nptr;
}

static void fill(mobj *o)
{
    for (size_t i = 0; i < o->size; i++)
        if (!is_ptr_word(o, i / 8))
            o->p[i] = pattern(o->seed, i);
}

/* The object's contents are what the model says: 1, or 0 with *why. */
static int contents_ok(const mobj *o, const char **why, size_t *at)
{
    for (size_t i = 0; i < o->size; i++) {
        if (is_ptr_word(o, i / 8)) {
            if (i % 8)
                continue;
            size_t w = i / 8;
            void *v = ((void *const *)o->p)[w];
            void *want = NULL;
            if (w < NF && w < (size_t)o->nptr && o->field[w] >= 0)
                want = objs[o->field[w]].p;
            if (v != want) {
                *why = "pointer field";
                *at = i;
                return 0;
            }
        } else if (o->p[i] != pattern(o->seed, i)) {
            *why = "data byte";
            *at = i;
            return 0;
        }
    }
    return 1;
}

/* Allocated, with its base where the model says, from any interior byte. */
static void check_allocated(const mobj *o, const char *when)
{
    unsigned char *b = gc_base(o->p);
    size_t sz = gc_size(o->p);
    if (o->kind == K_TINY) {
        CHECK(b && b <= o->p && o->p + o->size <= b + sz,
              "%s: tiny object %" PRIu64 " at %p: gc_base %p gc_size %zu", when, o->id,
              (void *)o->p, (void *)b, sz);
        return;
    }
    CHECK(b == o->p, "%s: object %" PRIu64 " (kind %d, %zu bytes) at %p: gc_base %p", when, o->id,
          o->kind, o->size, (void *)o->p, (void *)b);
    CHECK(sz >= o->size && sz >= 1, "%s: object %" PRIu64 ": gc_size %zu < %zu", when, o->id, sz,
          o->size);
    if (o->size > 1) {
        CHECK(gc_base(o->p + o->size - 1) == o->p && gc_base(o->p + o->size / 2) == o->p,
              "%s: object %" PRIu64 ": an interior pointer does not give the base", when, o->id);
        CHECK(gc_size(o->p + o->size - 1) == sz, "%s: gc_size differs inside object %" PRIu64,
              when, o->id);
    }
}

static void check_obj(const mobj *o, const char *when)
{
    check_allocated(o, when);
    const char *why;
    size_t at;
    CHECK(contents_ok(o, &why, &at),
          "%s: object %" PRIu64 " (kind %d, %zu bytes, at %p): %s at offset %zu is wrong (byte %#x)",
          when, o->id, o->kind, o->size, (void *)o->p, why, at, o->p[at]);
}

/* ---- reachability ------------------------------------------------------------------- */

static int range_registered(int r, int k)
{
    for (int i = 0; i < 8; i++)
        if (regs[i].used && regs[i].r == r && regs[i].lo <= k && k < regs[i].hi)
            return 1;
    return 0;
}

/* Recompute live[] from the roots; an object that falls out is dropped. */
static void reach(void)
{
    int stack[MAXOBJ * (NF + 1) + NROOT + NRANGE * RANGE_SLOTS], sp = 0;
    char seen[MAXOBJ] = {0};
    for (int i = 0; i < NROOT; i++)
        if (root_of[i] >= 0)
            stack[sp++] = root_of[i];
    for (int r = 0; r < NRANGE; r++)
        for (int k = 0; k < RANGE_SLOTS; k++)
            if (range_of[r][k] >= 0 && range_registered(r, k))
                stack[sp++] = range_of[r][k];
    while (sp) {
        int i = stack[--sp];
        if (seen[i])
            continue;
        seen[i] = 1;
        for (int f = 0; f < NF && f < objs[i].nptr; f++)
            if (objs[i].field[f] >= 0)
                stack[sp++] = objs[i].field[f];
    }
    for (int i = 0; i < MAXOBJ; i++)
        objs[i].live = seen[i];
    /* Unregistered range slots and dropped objects' references are
     * forgotten with them (a later registration covers only what the
     * input stores anew). */
    for (int r = 0; r < NRANGE; r++)
        for (int k = 0; k < RANGE_SLOTS; k++)
            if (range_of[r][k] >= 0 && !objs[range_of[r][k]].live)
                range_of[r][k] = -1, gc_store(&ranges[r][k], NULL);
}

static void check_all(const char *when)
{
    reach();
    for (int i = 0; i < MAXOBJ; i++)
        if (objs[i].live)
            check_obj(&objs[i], when);
}

/* A live model object chosen by a byte, or -1. */
static int pick(in *s)
{
    int start = byte(s) % MAXOBJ;
    for (int k = 0; k < MAXOBJ; k++) {
        int i = (start + k) % MAXOBJ;
        if (objs[i].live)
            return i;
    }
    return -1;
}

static mobj *by_id(uint64_t id)
{
    for (int i = 0; i < MAXOBJ; i++)
        if (objs[i].id == id)
            return &objs[i];
    return NULL;
}

/* ---- finalizers and cleanups --------------------------------------------------------- */

/* Which ids had a finalizer or cleanup run: a small open-addressed set. */
#define RAN_CAP 65536
static uint64_t ran_set[RAN_CAP];
static size_t nran;
static int ran_insert(uint64_t key)
{
    if (nran > RAN_CAP * 3 / 4) { /* forget the oldest: start over */
        memset(ran_set, 0, sizeof ran_set);
        nran = 0;
    }
    size_t h = (size_t)(key * 0x9E3779B97F4A7C15u) % RAN_CAP;
    while (ran_set[h]) {
        if (ran_set[h] == key)
            return 0;
        h = (h + 1) % RAN_CAP;
    }
    ran_set[h] = key, nran++;
    return 1;
}

static void on_final(void *obj, void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    CHECK(ran_insert(id * 2), "the finalizer of object %" PRIu64 " ran twice", id);
    mobj *o = by_id(id);
    if (!o)
        return; /* its model record was reused: nothing more to check */
    reach();
    CHECK(!o->live, "the finalizer of object %" PRIu64 " ran while the model reaches it", id);
    CHECK(obj == o->p, "the finalizer of object %" PRIu64 " got %p, not %p", id, obj, (void *)o->p);
    check_allocated(o, "finalizer");
    /* Its referents were kept for it; the dropped object's own contents
     * may reference model records since reused, so only the data bytes
     * and the referents' allocation are checked. */
    for (size_t i = 0; i < o->size; i++)
        if (!is_ptr_word(o, i / 8))
            CHECK(o->p[i] == pattern(o->seed, i), "finalizer: object %" PRIu64 " byte %zu broken",
                  id, i);
    for (int f = 0; f < o->nptr && f < NF; f++) {
        void *v = ((void **)o->p)[f];
        CHECK(!v || gc_base(v), "finalizer: object %" PRIu64 " field %d -> %p is freed", id, f, v);
    }
}

/* A cleanup's argument: the object's id and the cleanup's number. */
static void on_cleanup(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg >> 16;
    CHECK(ran_insert((uint64_t)(uintptr_t)arg * 2 + 1), "cleanup %u of object %" PRIu64 " ran twice",
          (unsigned)((uintptr_t)arg & 0xffff), id);
    mobj *o = by_id(id);
    if (o) {
        reach();
        CHECK(!o->live, "a cleanup of object %" PRIu64 " ran while the model reaches it", id);
    }
}

/* ---- operations ------------------------------------------------------------------------- */

static int free_record(void)
{
    reach();
    for (int i = 0; i < MAXOBJ; i++)
        if (!objs[i].live)
            return i;
    return -1;
}

static void **where(in *s, int *model_slot_kind, int *a, int *b)
{
    uint8_t w = byte(s);
    if (w & 0x80) {
        *model_slot_kind = 1;
        *a = (w >> 3) % NRANGE;
        *b = w % RANGE_SLOTS;
        return &ranges[*a][*b];
    }
    *model_slot_kind = 0;
    *a = w % NROOT;
    return &roots[*a];
}

static void set_root(in *s, int idx)
{
    int kind, a, b = 0;
    void **slot = where(s, &kind, &a, &b);
    gc_store(slot, idx >= 0 ? objs[idx].p : NULL);
    if (kind)
        range_of[a][b] = idx;
    else
        root_of[a] = idx;
}

static void op_alloc(in *s)
{
    uint8_t k = byte(s);
    uint16_t z = u16(s);
    int i = free_record();
    if (i < 0)
        return;
    mobj o = {0};
    o.id = next_id++;
    o.seed = (unsigned)(o.id * 2654435761u);
    o.kind = (enum kind)(k % 7);
    size_t sz;
    switch ((k >> 3) & 3) { /* tiny, small, medium, large */
    case 0: sz = 1 + z % 15; break;
    case 1: sz = 16 + z % 1024; break;
    case 2: sz = 1024 + z % 31744; break;
    default: sz = 32768 + (size_t)z * 4; break; /* up to 288 KiB */
    }
    switch (o.kind) {
    case K_SCAN:
        o.p = gc_alloc(sz);
        break;
    case K_ARRAY:
        sz = (sz + 7) / 8 * 8;
        o.p = gc_alloc_array(sz / 8, 8);
        break;
    case K_NOSCAN:
        sz = sz < 16 ? 16 : sz;
        o.p = gc_alloc_noscan(sz);
        break;
    case K_TINY:
        sz = 1 + z % 15;
        o.p = gc_alloc_noscan(sz);
        break;
    case K_TYPED: {
        const gc_type *t = (z & 3) == 0 ? t_all : (z & 3) == 1 ? t_mixed : t_bitmap;
        sz = t == t_all ? 32 : t == t_mixed ? 72 : 200;
        o.p = gc_alloc_typed(t);
        break;
    }
    case K_TYPED_ARRAY:
        sz = 72 * (1 + z % 64);
        o.p = gc_alloc_typed_array(t_mixed, sz / 72);
        break;
    case K_ZERO:
        sz = 0;
        o.p = gc_alloc(0);
        break;
    }
    CHECK(o.p != NULL, "allocation of kind %d, %zu bytes returned NULL", o.kind, sz);
    o.size = sz;
    o.nptr = (o.kind == K_NOSCAN || o.kind == K_TINY || o.kind == K_ZERO) ? 0
                                                                       : (int)(sz / 8 < NF ? sz / 8 : NF);
    for (int f = 0; f < NF; f++)
        o.field[f] = -1;
    /* Fresh memory is zeroed. */
    for (size_t b = 0; b < sz; b++)
        CHECK(o.p[b] == 0, "a new object of kind %d, %zu bytes, is not zeroed at %zu", o.kind, sz, b);
    fill(&o);
    o.live = 1;
    objs[i] = o;
    set_root(s, i);
}

static void op_store(in *s)
{
    int a = pick(s);
    uint8_t f = byte(s);
    int b = (f & 0x80) ? -1 : pick(s);
    if (a < 0 || objs[a].nptr == 0)
        return;
    int k = f % NF;
    if (k >= objs[a].nptr)
        return;
    gc_store((void **)objs[a].p + k, b >= 0 ? objs[b].p : NULL);
    objs[a].field[k] = b;
}

static void op_root(in *s)
{
    uint8_t f = byte(s);
    set_root(s, (f & 1) ? -1 : pick(s));
}

static void op_range(in *s)
{
    uint8_t f = byte(s);
    int r = (f >> 1) % NRANGE;
    int lo = byte(s) % RANGE_SLOTS, hi = byte(s) % (RANGE_SLOTS + 1);
    if (f & 1) { /* add [lo, hi) */
        if (lo >= hi) { /* misuse: reversed or empty is refused, nothing changes */
            if (lo > hi) {
                size_t w = nwarn;
                gc_add_roots(&ranges[r][lo], &ranges[r][hi]);
                CHECK(nwarn == w + 1, "gc_add_roots(reversed) printed %zu messages", nwarn - w);
            }
            return;
        }
        for (int i = 0; i < 8; i++)
            if (!regs[i].used) {
                regs[i] = (reg){1, r, lo, hi};
                gc_add_roots(&ranges[r][lo], &ranges[r][hi]);
                return;
            }
    } else { /* remove every range inside [lo, hi) */
        if (lo > hi) {
            size_t w = nwarn;
            gc_remove_roots(&ranges[r][lo], &ranges[r][hi]);
            CHECK(nwarn == w + 1, "gc_remove_roots(reversed) printed %zu messages", nwarn - w);
            return;
        }
        int removed = 0;
        for (int i = 0; i < 8; i++)
            if (regs[i].used && regs[i].r == r && regs[i].lo >= lo && regs[i].hi <= hi)
                regs[i].used = 0, removed++;
        size_t w = nwarn;
        gc_remove_roots(&ranges[r][lo], &ranges[r][hi]);
        CHECK((nwarn == w) == (removed > 0),
              "gc_remove_roots of [%d, %d) in range %d: %d registrations inside, %zu messages", lo,
              hi, r, removed, nwarn - w);
    }
}

static void check_weak_read(void *p, uint64_t id, const char *what)
{
    mobj *o = by_id(id);
    if (o && o->live) {
        void *want = o->kind == K_TINY ? gc_base(o->p) : o->p;
        CHECK(p == want, "%s of reachable object %" PRIu64 " reads %p, not %p", what, id, p, want);
    } else if (p && o) {
        /* Dropped by the model but alive for the collector (conservative
         * retention): then it is intact. */
        const char *why;
        size_t at;
        CHECK(o->kind == K_TINY || p == o->p, "%s of dropped object %" PRIu64 " reads %p, not %p",
              what, id, p, (void *)o->p);
        if (o->kind != K_TINY)
            CHECK(gc_base(p) == p, "%s reads %p, which is not allocated", what, p);
        (void)why, (void)at;
    } else if (p) {
        CHECK(gc_base(p) != NULL, "%s reads %p, which is not allocated", what, p);
    }
}

static void op_weak(in *s)
{
    uint8_t f = byte(s);
    int j = (f >> 3) % NWEAK;
    switch (f % 6) {
    case 0: { /* new handle, maybe from an interior pointer */
        int a = pick(s);
        uint16_t off = u16(s);
        if (a < 0)
            return;
        gc_weak_free(wh[j]);
        wh[j] = gc_weak_new(objs[a].p + (objs[a].size ? off % objs[a].size : 0));
        CHECK(wh[j] != NULL, "gc_weak_new of live object %" PRIu64 " failed", objs[a].id);
        wh_id[j] = objs[a].id;
        check_weak_read(gc_weak_get(wh[j]), wh_id[j], "a new weak handle");
        break;
    }
    case 1:
        if (wh[j])
            check_weak_read(gc_weak_get(wh[j]), wh_id[j], "a weak handle");
        break;
    case 2:
        gc_weak_free(wh[j]);
        wh[j] = NULL;
        break;
    case 3: {
        int a = pick(s);
        if (a < 0)
            return;
        CHECK(gc_weak_slot_set(&wslot[j], objs[a].p) == GC_OK, "gc_weak_slot_set failed");
        wslot_id[j] = objs[a].id;
        break;
    }
    case 4:
        if (wslot_id[j])
            check_weak_read(gc_weak_slot_get(&wslot[j]), wslot_id[j], "a weak slot");
        break;
    default:
        gc_weak_slot_clear(&wslot[j]);
        CHECK(wslot[j] == NULL && gc_weak_slot_get(&wslot[j]) == NULL, "a cleared slot reads non-NULL");
        wslot_id[j] = 0;
        break;
    }
}

static void op_final(in *s)
{
    uint8_t f = byte(s);
    int a = pick(s);
    if (a < 0)
        return;
    mobj *o = &objs[a];
    void *arg = (void *)(uintptr_t)o->id;
    switch (f % 4) {
    case 0: {
        int rc = gc_set_finalizer(o->p, on_final, arg);
        if (o->kind == K_TINY)
            CHECK(rc == GC_OK || rc == GC_EINVAL, "gc_set_finalizer on a tiny object: %d", rc);
        else
            CHECK(rc == GC_OK, "gc_set_finalizer on object %" PRIu64 ": %s", o->id, gc_strerror(rc));
        break;
    }
    case 1:
        CHECK(gc_set_finalizer(o->p, NULL, NULL) == GC_OK || o->kind == K_TINY,
              "removing a finalizer failed");
        break;
    case 2: {
        uint64_t id = gc_add_cleanup(o->p, on_cleanup,
                                     (void *)(uintptr_t)(o->id << 16 | (o->ncleanup++ & 0xffff)));
        CHECK(id != 0 || o->kind == K_TINY, "gc_add_cleanup on object %" PRIu64 " failed", o->id);
        if (id && (f & 4))
            CHECK(gc_cancel_cleanup(o->p, id) == GC_OK, "gc_cancel_cleanup failed");
        break;
    }
    default: /* an interior pointer is refused */
        if (o->size > 1 && o->kind != K_TINY) {
            size_t w = nwarn;
            CHECK(gc_set_finalizer(o->p + 1, on_final, arg) == GC_EINVAL,
                  "gc_set_finalizer(interior) was accepted");
            CHECK(gc_add_cleanup(o->p + 1, on_cleanup, arg) == 0, "gc_add_cleanup(interior) was accepted");
            CHECK(nwarn == w + 2, "interior finalizer/cleanup printed %zu messages", nwarn - w);
        }
        break;
    }
}

/* gc_base / gc_size of any address: consistent, never a crash.  The
 * address may be in an object the model dropped, which a background sweep
 * can free between two calls: an answer that disagrees is asked again, and
 * only one that still disagrees (about an object still there) fails. */
static int probe_once(const void *p, const unsigned char **b, size_t *sz)
{
    *b = gc_base(p);
    *sz = gc_size(p);
    if (!*b)
        return *sz == 0;
    return *b <= (const unsigned char *)p && (const unsigned char *)p < *b + *sz &&
           gc_base(*b) == *b && gc_size(*b) == *sz;
}

static void probe(const void *p, const char *what)
{
    const unsigned char *b;
    size_t sz;
    for (int tries = 0; !probe_once(p, &b, &sz); tries++)
        CHECK(tries < 3, "gc_base(%s %p) = %p with gc_size %zu: not a consistent answer", what, p,
              (const void *)b, sz);
}

static int a_static;
static void op_probe(in *s)
{
    uint8_t f = byte(s);
    int local = 0;
    switch (f % 6) {
    case 0: probe(&local, "a stack address"); break;
    case 1: probe(&a_static, "a static"); break;
    case 2: probe((void *)(uintptr_t)u64(s), "a random value"); break;
    case 3: {
        int a = pick(s);
        uint16_t off = u16(s);
        if (a >= 0 && objs[a].size) {
            probe(objs[a].p + off % objs[a].size, "an interior pointer");
            probe(objs[a].p + objs[a].size, "one past an object");
        }
        break;
    }
    case 4: probe(NULL, "NULL"); break;
    default: { /* near a live object: into the heap, maybe a free slot */
        int a = pick(s);
        int16_t d = (int16_t)u16(s);
        if (a >= 0)
            probe(objs[a].p + d, "an address near an object");
        break;
    }
    }
}

/* Calls that must be refused; nothing may change. */
static void op_misuse(in *s)
{
    uint8_t f = byte(s);
    size_t w = nwarn, o = noom;
    switch (f % 10) {
    case 0:
        CHECK(gc_alloc(SIZE_MAX - (f >> 3)) == NULL, "gc_alloc(SIZE_MAX - %d) returned memory", f >> 3);
        CHECK(noom == o + 1, "gc_alloc near SIZE_MAX did not call the oom handler");
        break;
    case 1:
        CHECK(gc_alloc_array(SIZE_MAX / 2, 3) == NULL, "overflowing gc_alloc_array returned memory");
        break;
    case 2:
        CHECK(gc_weak_new(&a_static) == NULL && nwarn == w + 1, "gc_weak_new(static) was accepted");
        break;
    case 3:
        gc_add_roots(NULL, &ranges[0][1]);
        CHECK(nwarn == w + 1, "gc_add_roots(NULL, end) printed %zu messages", nwarn - w);
        break;
    case 4:
        CHECK(gc_weak_slot_set(NULL, NULL) == GC_EINVAL, "gc_weak_slot_set(NULL) was accepted");
        break;
    case 5: { /* a type: made iff the offset is 8-aligned and inside, the size a multiple of 8 */
        size_t off[] = {(f & 16) ? SIZE_MAX - u16(s) : (size_t)u16(s) % 256},
               size = (f & 8) ? SIZE_MAX - u16(s) : u16(s) % 512;
        int valid = size >= 8 && size <= ((size_t)1 << 40) && off[0] % 8 == 0 && off[0] < size &&
                    size - off[0] >= 8 && size % 8 == 0;
        const gc_type *t = gc_type_new("fuzz", size, off, 1);
        CHECK((t != NULL) == valid && nwarn == w + !valid,
              "gc_type_new(size %zu, offset %zu): %s with %zu messages", size, off[0],
              t ? "made" : "refused", nwarn - w);
        if (t) {
            unsigned char *p = gc_alloc_typed(t);
            CHECK(p && gc_base(p) == p, "gc_alloc_typed of a type gc_type_new accepted failed");
        }
        break;
    }
    case 6:
        CHECK(gc_set_finalizer(&a_static, on_final, NULL) == GC_EINVAL,
              "gc_set_finalizer(static) was accepted");
        break;
    case 7:
        gc_store_ptr(NULL, roots[0]);
        CHECK(nwarn == w + 1, "gc_store_ptr(NULL, v) printed %zu messages", nwarn - w);
        break;
    case 8:
        gc_add_roots((void *)16, (void *)-16);
        CHECK(nwarn == w + 1, "gc_add_roots(16, -16) printed %zu messages", nwarn - w);
        break;
    default:
        gc_weak_free(NULL);
        gc_weak_slot_clear(NULL);
        CHECK(gc_weak_get(NULL) == NULL && gc_weak_slot_get(NULL) == NULL, "NULL weak reads non-NULL");
        break;
    }
}

static void op_garbage(in *s)
{
    unsigned n = 1 + byte(s) % 64;
    size_t sz = 16u << (byte(s) % 12);
    for (unsigned i = 0; i < n; i++) {
        void *volatile p = gc_alloc(sz);
        CHECK(p != NULL, "garbage gc_alloc(%zu) failed", sz);
    }
}

/* ---- the harness -------------------------------------------------------------------- */

static void reset(void)
{
    for (int i = 0; i < NROOT; i++)
        gc_store(&roots[i], NULL), root_of[i] = -1;
    for (int r = 0; r < NRANGE; r++)
        for (int k = 0; k < RANGE_SLOTS; k++)
            gc_store(&ranges[r][k], NULL), range_of[r][k] = -1;
    for (int i = 0; i < 8; i++)
        if (regs[i].used) {
            gc_remove_roots(&ranges[regs[i].r][regs[i].lo], &ranges[regs[i].r][regs[i].hi]);
            /* removing one may have removed others inside it */
            for (int j = 0; j < 8; j++)
                if (regs[j].used && regs[j].r == regs[i].r && regs[j].lo >= regs[i].lo &&
                    regs[j].hi <= regs[i].hi)
                    regs[j].used = 0;
        }
    for (int j = 0; j < NWEAK; j++) {
        gc_weak_free(wh[j]);
        wh[j] = NULL;
        gc_weak_slot_clear(&wslot[j]);
        wslot_id[j] = 0;
    }
    for (int i = 0; i < MAXOBJ; i++)
        objs[i].live = 0;
}

/* Types are never freed (mgc.h), and the collector's own malloc'd tables
 * live as long as the process: not leaks. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("MGC_FINALIZERS", "manual", 1);
    setenv("MGC_CLOBBER", "1", 0);
    setenv("MGC_SCAVENGE", "0", 0);
    if (gc_init(NULL) != GC_OK)
        abort();
    gc_set_warn_handler(quiet_warn);
    gc_set_oom_handler(count_oom);
    gc_add_roots(roots, roots + NROOT);
    static const size_t all[] = {0, 8, 16, 24}, mixed[] = {0, 8, 16, 24};
    t_all = gc_type_new("all", 32, all, 4);
    t_mixed = gc_type_new("mixed", 72, mixed, 4);
    uint64_t bm[1] = {0xF}; /* words 0-3 of 25 */
    t_bitmap = gc_type_new_bitmap("bitmap", 200, bm);
    if (!t_all || !t_mixed || !t_bitmap)
        abort();
    for (int i = 0; i < NROOT; i++)
        root_of[i] = -1;
    for (int r = 0; r < NRANGE; r++)
        for (int k = 0; k < RANGE_SLOTS; k++)
            range_of[r][k] = -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in s = {data, size, 0};
    reset();
    int ops = 0;
    while (s.i < s.n && ops++ < 256) {
        switch (byte(&s) % 12) {
        case 0:
        case 1: op_alloc(&s); break;
        case 2: op_store(&s); break;
        case 3: op_root(&s); break;
        case 4: op_range(&s); break;
        case 5: op_weak(&s); break;
        case 6: op_final(&s); break;
        case 7:
            gc_collect();
            check_all("after gc_collect");
            CHECK(gc_verify_heap() == 0, "gc_verify_heap found problems (above)");
            break;
        case 8: op_probe(&s); break;
        case 9: gc_run_finalizers(); break;
        case 10: op_garbage(&s); break;
        default: op_misuse(&s); break;
        }
        reach();
    }
    check_all("at the end");
    gc_collect();
    check_all("after the last gc_collect");
    for (int j = 0; j < NWEAK; j++) {
        if (wh[j])
            check_weak_read(gc_weak_get(wh[j]), wh_id[j], "a weak handle at the end");
        if (wslot_id[j])
            check_weak_read(gc_weak_slot_get(&wslot[j]), wslot_id[j], "a weak slot at the end");
    }
    /* Unlink what the input built: a cycle through two finalizable
     * objects is never freed (mgc.h), and over millions of inputs those
     * would add up; unlinked, their finalizers run in later inputs. */
    for (int i = 0; i < MAXOBJ; i++)
        if (objs[i].live)
            for (int f = 0; f < objs[i].nptr && f < NF; f++)
                if (objs[i].field[f] >= 0) {
                    gc_store((void **)objs[i].p + f, NULL);
                    objs[i].field[f] = -1;
                }
    gc_run_finalizers();
    return 0;
}
