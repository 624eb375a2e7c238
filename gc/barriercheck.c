/*
 * barriercheck.c -- MGC_BARRIERCHECK, a sanitizer for missing write barriers.
 *
 * A pointer stored into a heap object with a plain assignment while a
 * collection marks can make the collector free a live object, but only
 * when the store falls in the wrong window; checkmark and the heap
 * verifier see the consequence, later.  This mode catches the store
 * itself.  The idea: when a marker scans an object (the object turns
 * black), it records the object's words in a shadow copy; every barrier
 * store (gc_store, gc_store_range, gc_clear_range) in this mode updates the
 * shadow with the word it wrote; objects allocated black during the mark
 * are zero and their shadow is zero.  At mark termination (world stopped)
 * every black object is compared with its shadow: a word that differs, and
 * where the old or the new value is a heap pointer, was written behind the
 * barrier's back after the object was scanned.  Only pointer words count
 * (a typed object's numbers may be written freely).  Stores made before the
 * marker reached the object are not seen: the detection window is from the
 * object's scan to mark termination.
 *
 * The shadow: for each heap arena (64 MiB), a 64 MiB anonymous mapping
 * reserved without swap, so only the pages of scanned objects are ever
 * backed; shadow(p) is at the same offset in it as p in its arena.  It
 * holds value ^ SHADOW_KEY, so zero -- the state every page is in after
 * mark termination drops the pages -- means "nothing recorded" and reads
 * as an expected value of zero, which is what an object allocated black
 * holds.  A second mapping per arena keeps, at each typed object's first
 * word, its type (for the report's type name).
 *
 * Races.  The marker records a word only if the shadow is still zero
 * (compare-and-swap), and a barrier store writes the slot and then the
 * shadow, both under a striped spinlock keyed by the slot's address:
 * whichever order a marker and barrier stores interleave in, the shadow
 * ends equal to the last barrier-stored value (or to what the marker saw,
 * if no barrier store came).  Stripe locks are held only inside the
 * barrier's no-preempt section, so no stopped thread holds one.  Shadow
 * writes happen only while marking; termination reads and drops the shadow
 * with the world stopped and the markers idle.
 *
 * Reports are collected in the pause (up to REPORT_MAX a cycle) and
 * printed through mgc_warn once the world runs again: a stopped thread may
 * hold stdio's lock or the warn handler's.
 */
#include <stdio.h>
#include <sys/mman.h>

#include "gc/gc.h"
#include "gc/barrier.h"

#define SHADOW_KEY ((uintptr_t)0xA7F3C5E1B9D2460Bull) /* odd: never a heap address */
#define STRIPES 1024
#define REPORT_MAX 64

int mgc_bc_on;

/* shadow_index[a]: values, then types, for heap arena a (2 * 64 MiB), or
 * NULL; set once by CAS, never changed after. */
static _Atomic(uintptr_t) *shadow_index;
static atomic_flag stripes[STRIPES];

typedef struct bc_report {
    uintptr_t obj, old, new;
    size_t size, word;
    const gc_type *type;
} bc_report;
/* Written by the coordinator in the termination pause, read by it after
 * the restart. */
static bc_report reports[REPORT_MAX];
static uint64_t nreports;

void mgc_bc_init(int on) {
    /* Static roots: the reports name objects; they must not keep them. */
    mgc_static_exclude(reports, sizeof reports);
    if (!on) return;
    void *m = mmap(NULL, MGC_ARENA_INDEX_LEN * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        mgc_warn("gc_init: MGC_BARRIERCHECK: cannot map the shadow index; the barrier check is off");
        return;
    }
    shadow_index = m;
    mgc_bc_on = 1;
}

/* An arena whose shadow could not be mapped (address space exhausted):
 * never checked, since nothing was recorded for it. */
#define SHADOW_FAILED ((uintptr_t)1)

/* ** The shadow mapping of p's arena, made on first use; 0 if there is
 * none (not made yet, or mmap failed). */
static uintptr_t shadow_arena(uintptr_t p, bool make) {
    _Atomic(uintptr_t) *e = &shadow_index[p >> MGC_ARENA_SHIFT];
    uintptr_t a = atomic_load_explicit(e, memory_order_acquire);
    if (a == SHADOW_FAILED) return 0;
    if (a || !make) return a;
    void *m = mmap(NULL, 2 * MGC_ARENA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        atomic_compare_exchange_strong(e, &a, SHADOW_FAILED);
        return 0;
    }
    if (!atomic_compare_exchange_strong(e, &a, (uintptr_t)m)) {
        munmap(m, 2 * MGC_ARENA_SIZE);
        return a;
    }
    return (uintptr_t)m;
}

static _Atomic uintptr_t *shadow_of(uintptr_t p, bool make) {
    uintptr_t a = shadow_arena(p, make);
    return a ? (_Atomic uintptr_t *)(a + (p & (MGC_ARENA_SIZE - 1))) : NULL;
}

static atomic_flag *stripe(uintptr_t p) { return &stripes[(p >> 3) % STRIPES]; }
static void stripe_lock(atomic_flag *f) {
    while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) {}
}
static void stripe_unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }

/* ** Is word p of span s one the sanitizer compares? */
static bool tracked_word(const mspan *s, uintptr_t p) {
    return !mgc_span_has_ptrmap(s) || mgc_span_word_is_ptr(s, p);
}

/* ** The marker is about to scan obj (an object, or one 128 KiB oblet of a
 * large one): record what each tracked word holds, unless a barrier store
 * already recorded it. */
__attribute__((no_sanitize("address", "thread"))) void mgc_bc_scan(const mspan *s, uintptr_t obj) {
    if (s->noscan) return;
    uintptr_t end = s->base + ((obj - s->base) / s->elemsize + 1) * s->elemsize;
    uintptr_t hi = end - obj > 128 * 1024 ? obj + 128 * 1024 : end;
    for (uintptr_t p = obj; p < hi; p += 8) {
        if (!tracked_word(s, p)) continue;
        _Atomic uintptr_t *sh = shadow_of(p, true);
        uintptr_t v = *(volatile const uintptr_t *)p, zero = 0;
        if (sh && atomic_load_explicit(sh, memory_order_relaxed) == 0)
            atomic_compare_exchange_strong(sh, &zero, v ^ SHADOW_KEY);
    }
}

void mgc_bc_store(void **slot, void *value) {
    mspan *s = mgc_span_of_heap((uintptr_t)slot);
    _Atomic uintptr_t *sh = s && !s->noscan ? shadow_of((uintptr_t)slot, true) : NULL;
    if (!sh) {
        *(void *volatile *)slot = value;
        return;
    }
    atomic_flag *f = stripe((uintptr_t)slot);
    stripe_lock(f);
    *(void *volatile *)slot = value;
    atomic_store_explicit(sh, (uintptr_t)value ^ SHADOW_KEY, memory_order_relaxed);
    stripe_unlock(f);
}

/* ** After a bulk store into [lo, hi) of heap span s: each word's shadow
 * becomes what the word now holds, read under its stripe lock so a
 * racing gc_store's pair (slot, shadow) is never split. */
__attribute__((no_sanitize("address", "thread"))) void mgc_bc_refresh(const mspan *s, uintptr_t lo,
                                                                        uintptr_t hi) {
    if (!s || s->noscan) return;
    for (uintptr_t p = lo & ~(uintptr_t)7; p < hi; p += 8) {
        _Atomic uintptr_t *sh = shadow_of(p, true);
        if (!sh) return;
        atomic_flag *f = stripe(p);
        stripe_lock(f);
        atomic_store_explicit(sh, *(volatile const uintptr_t *)p ^ SHADOW_KEY, memory_order_relaxed);
        stripe_unlock(f);
    }
}

void mgc_bc_note_type(void *obj, const gc_type *type) {
    uintptr_t a = shadow_arena((uintptr_t)obj, true);
    if (a) *(const gc_type **)(a + MGC_ARENA_SIZE + ((uintptr_t)obj & (MGC_ARENA_SIZE - 1))) = type;
}

static bool is_heap_ptr(uintptr_t v) { return mgc_span_of_heap(v) != NULL; }

/* ** Compare one black object with its shadow; world stopped. */
static void check_object(const mspan *s, uintptr_t obj) {
    uintptr_t a = shadow_arena(obj, false);
    for (uintptr_t p = obj; p < obj + s->elemsize; p += 8) {
        if (!tracked_word(s, p) || atomic_load(&shadow_index[p >> MGC_ARENA_SHIFT]) == SHADOW_FAILED)
            continue;
        uintptr_t cur = *(const uintptr_t *)p;
        _Atomic uintptr_t *shp = shadow_of(p, false); /* a large object may span arenas */
        uintptr_t sh = shp ? atomic_load_explicit(shp, memory_order_relaxed) : 0;
        uintptr_t old = sh ? sh ^ SHADOW_KEY : 0;
        if (cur == old || (!is_heap_ptr(cur) && !is_heap_ptr(old))) continue;
        if (nreports < REPORT_MAX) {
            const gc_type *t = NULL;
            if (s->large_type) t = s->large_type;
            else if (s->typed && a)
                t = *(const gc_type **)(a + MGC_ARENA_SIZE + (obj & (MGC_ARENA_SIZE - 1)));
            reports[nreports] = (bc_report){obj, old, cur, s->elemsize, (p - obj) / 8, t};
        }
        nreports++;
    }
}

static void check_span(mspan *s, void *arg) {
    (void)arg;
    if (s->noscan) return;
    for (unsigned i = 0; i < s->nelems; i++)
        if (mgc_span_is_allocated(s, i) && mgc_bit_get(s->gcmark_bits, i))
            check_object(s, s->base + (uintptr_t)i * s->elemsize);
}

/* ** Drop every shadow page: they read as zero again. */
static void clear_shadow(void) {
    uintptr_t lo = atomic_load(&mgc_heap_lo) >> MGC_ARENA_SHIFT;
    uintptr_t hi = (atomic_load(&mgc_heap_hi) + MGC_ARENA_SIZE - 1) >> MGC_ARENA_SHIFT;
    for (uintptr_t i = lo; i < hi && i < MGC_ARENA_INDEX_LEN; i++) {
        uintptr_t a = atomic_load(&shadow_index[i]);
        if (a && a != SHADOW_FAILED) madvise((void *)a, MGC_ARENA_SIZE, MADV_DONTNEED);
    }
}

void mgc_bc_terminate(void) {
    nreports = 0;
    mgc_heap_for_each_span(check_span, NULL);
    clear_shadow();
}

void mgc_bc_report(void) {
    for (uint64_t i = 0; i < nreports && i < REPORT_MAX; i++) {
        const bc_report *r = &reports[i];
        char type[48] = "";
        if (r->type) snprintf(type, sizeof type, " type %s", r->type->name);
        mgc_warn("barriercheck: object %p size %zu%s word %zu (offset %zu): old %#lx new %#lx: "
                 "a pointer store into a scanned object bypassed gc_store while a collection "
                 "marked; store this field with gc_store (or gc_store_range)",
                 (void *)r->obj, r->size, type, r->word, r->word * 8, (unsigned long)r->old,
                 (unsigned long)r->new);
    }
    if (nreports > REPORT_MAX)
        mgc_warn("barriercheck: %llu more stores without gc_store in this cycle not shown",
                 (unsigned long long)(nreports - REPORT_MAX));
}
