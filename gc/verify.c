/*
 * verify.c -- the heap verifier: every metadata invariant the allocator
 * and the collector rely on, checked with the world stopped.
 *
 * Run by the coordinator between cycles (gc_verify_heap(), or after every
 * cycle with MGC_VERIFY=1 and in MGC_DEBUG builds), when the sweep is
 * complete and nothing marks: every in-use span is then swept (sweepgen sg)
 * or swept and cached (sg+3), its mark bits are clear, and every span is in
 * exactly one place -- an mcentral list of its class or one thread's cache.
 * The checks:
 *
 *   spans     class, geometry (slot size, count, pages, limit) against the
 *             size-class tables; every page maps back to the span; kind
 *             flags; typed spans have their pointer maps
 *   slots     alloc_count equals the slots allocated (below freeindex or in
 *             alloc_bits); alloc_cache agrees with alloc_bits; no mark bit set
 *   specials  each names an allocated slot of its span
 *   lists     mcentral lists hold their class, swept, full spans full and
 *             partial ones not; unswept sets empty; every in-use span is
 *             listed or cached exactly once
 *   free runs exact-size lists hold runs of their size, released ones
 *             behind the others; free_mask matches; the long runs ascend;
 *             first and last pages map back; nothing overlaps
 *   totals    in-use bytes = heap_inuse; in-use + free = heap_sys;
 *             released free bytes = heap_released
 *
 * Each failure prints one line naming the span and the invariant (the
 * first 20 are printed); the count is returned.
 */
#include <stdarg.h>
#include <stdio.h>

#include "gc/gc.h"
#include "gc/special.h"

static uint64_t nbad;

static void __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...) {
    if (nbad++ >= 20) return;
    /* The world is stopped: format here and write(2) it, never stdio (a
     * stopped thread may hold stderr's lock). */
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mgc_print("mgc: verify: %s", line);
}

#define SPAN_FMT "span %#lx (class %u, %zu pages)"
#define SPAN_ARGS(s) (unsigned long)(s)->base, MGC_SPANCLASS_SIZECLASS((s)->spanclass), (s)->npages

typedef struct walk {
    uint32_t sg;
    uint64_t inuse_bytes, spans, placed; /* placed: listed or cached */
} walk;

static void check_geometry(mspan *s) {
    unsigned sc = MGC_SPANCLASS_SIZECLASS(s->spanclass), kind = MGC_SPANCLASS_KIND(s->spanclass);
    if (sc >= MGC_NUM_SIZE_CLASSES || kind > MGC_KIND_TYPED) {
        bad(SPAN_FMT ": span class %u is not valid", SPAN_ARGS(s), s->spanclass);
        return;
    }
    if (s->noscan != (kind == MGC_KIND_NOSCAN) || s->typed != (kind == MGC_KIND_TYPED))
        bad(SPAN_FMT ": noscan/typed flags (%u/%u) disagree with kind %u", SPAN_ARGS(s), s->noscan,
            s->typed, kind);
    if (sc == 0) {
        if (s->nelems != 1 || s->elemsize != s->npages * MGC_PAGE_SIZE)
            bad(SPAN_FMT ": a large span with %u slots of %zu bytes", SPAN_ARGS(s), s->nelems,
                s->elemsize);
    } else if (s->elemsize != mgc_class_to_size[sc] || s->nelems != mgc_class_to_nobjs[sc] ||
               s->npages != mgc_class_to_npages[sc]) {
        bad(SPAN_FMT ": %u slots of %zu bytes, the class has %u of %u in %u pages", SPAN_ARGS(s),
            s->nelems, s->elemsize, mgc_class_to_nobjs[sc], mgc_class_to_size[sc],
            mgc_class_to_npages[sc]);
    }
    if (s->limit != s->base + (uintptr_t)s->nelems * s->elemsize ||
        s->limit > s->base + s->npages * MGC_PAGE_SIZE)
        bad(SPAN_FMT ": limit %#lx is not base + slots * size", SPAN_ARGS(s), (unsigned long)s->limit);
    if (s->typed && sc != 0 && !s->ptrbits) bad(SPAN_FMT ": a typed span without its pointer map", SPAN_ARGS(s));
    if (s->typed && sc == 0 && s->alloc_count && !s->large_type)
        bad(SPAN_FMT ": a typed large object without its type", SPAN_ARGS(s));
    if (!s->typed && (s->ptrbits || s->large_type))
        bad(SPAN_FMT ": an untyped span with a pointer map", SPAN_ARGS(s));
    for (size_t i = 0; i < s->npages; i++)
        if (mgc_span_of(s->base + i * MGC_PAGE_SIZE) != s) {
            bad(SPAN_FMT ": page %zu does not map back to the span", SPAN_ARGS(s), i);
            break;
        }
}

static void check_slots(mspan *s) {
    if (s->freeindex > s->nelems) bad(SPAN_FMT ": freeindex %u past %u slots", SPAN_ARGS(s), s->freeindex, s->nelems);
    /* Allocated: below freeindex or in alloc_bits; a popcount per word. */
    unsigned n = 0;
    for (unsigned w = 0; w * 64 < s->nelems; w++) {
        unsigned lo = w * 64, f = s->freeindex;
        uint64_t below = f >= lo + 64 ? ~(uint64_t)0 : f > lo ? ((uint64_t)1 << (f - lo)) - 1 : 0;
        uint64_t valid = s->nelems >= lo + 64 ? ~(uint64_t)0 : ((uint64_t)1 << (s->nelems - lo)) - 1;
        n += mgc_popcount64((s->alloc_bits[w] | below) & valid);
    }
    if (n != s->alloc_count)
        bad(SPAN_FMT ": alloc_count %u but %u slots allocated", SPAN_ARGS(s), s->alloc_count, n);
    for (unsigned w = 0; w < mgc_span_bitmap_words(s); w++)
        if (s->gcmark_bits[w]) {
            bad(SPAN_FMT ": mark bits set between cycles (word %u: %#llx)", SPAN_ARGS(s), w,
                (unsigned long long)s->gcmark_bits[w]);
            break;
        }
    /* alloc_cache: bit k <=> slot freeindex+k free, within freeindex's word. */
    unsigned f = s->freeindex;
    for (unsigned k = 0; f + k < s->nelems && (f + k) / 64 == f / 64; k++) {
        bool cache_free = (s->alloc_cache >> k) & 1;
        if (cache_free != !mgc_bit_get(s->alloc_bits, f + k)) {
            bad(SPAN_FMT ": alloc_cache says slot %u is %s, alloc_bits disagree", SPAN_ARGS(s), f + k,
                cache_free ? "free" : "taken");
            break;
        }
    }
    for (mgc_special *sp = atomic_load(&s->specials); sp; sp = sp->next) {
        if (sp->kind < SPECIAL_HANDLE || sp->kind > SPECIAL_CLEANUP || sp->obj < s->base ||
            sp->obj >= s->limit || (sp->obj - s->base) % s->elemsize != 0 ||
            !mgc_span_is_allocated(s, mgc_span_obj_index(s, sp->obj))) {
            bad(SPAN_FMT ": a special (kind %d) names %#lx, not an allocated slot", SPAN_ARGS(s),
                sp->kind, (unsigned long)sp->obj);
            break;
        }
    }
}

static void check_span(mspan *s, void *arg) {
    walk *wk = arg;
    wk->spans++;
    wk->inuse_bytes += s->npages * MGC_PAGE_SIZE;
    uint32_t g = atomic_load(&s->sweepgen);
    if (g != wk->sg && g != wk->sg + 3)
        bad(SPAN_FMT ": sweepgen %u between cycles (heap %u): not swept", SPAN_ARGS(s), g, wk->sg);
    check_geometry(s);
    if (s->alloc_bits) check_slots(s);
    else bad(SPAN_FMT ": an in-use span without bitmaps", SPAN_ARGS(s));
}

static void check_central(walk *wk) {
    for (int c = 0; c < MGC_NUM_SPAN_CLASSES; c++) {
        mcentral *mc = &mgc_heap.central[c];
        for (int set = 0; set < 2; set++) {
            bool swept = set == (int)mgc_sg_swept_set(wk->sg);
            span_list *lists[2] = {&mc->partial[set], &mc->full[set]};
            for (int f = 0; f < 2; f++) {
                size_t count = 0;
                for (mspan *s = lists[f]->first; s; s = s->next, count++) {
                    wk->placed++;
                    if (!swept) bad(SPAN_FMT ": left in an unswept set after the sweep", SPAN_ARGS(s));
                    if (s->spanclass != c) bad(SPAN_FMT ": on the list of span class %d", SPAN_ARGS(s), c);
                    if (atomic_load(&s->state) != SPAN_INUSE) bad(SPAN_FMT ": listed but not in use", SPAN_ARGS(s));
                    if (atomic_load(&s->sweepgen) != wk->sg)
                        bad(SPAN_FMT ": listed with sweepgen %u (heap %u)", SPAN_ARGS(s), atomic_load(&s->sweepgen), wk->sg);
                    if (f == 1 && s->alloc_count != s->nelems)
                        bad(SPAN_FMT ": on a full list with %u of %u slots", SPAN_ARGS(s), s->alloc_count, s->nelems);
                    if (f == 0 && s->alloc_count >= s->nelems)
                        bad(SPAN_FMT ": on a partial list but full", SPAN_ARGS(s));
                }
                if (count != lists[f]->count)
                    bad("mcentral %d: list holds %zu spans, counts %zu", c, count, lists[f]->count);
            }
        }
    }
}

static void check_caches(walk *wk) {
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        for (int c = 0; c < MGC_NUM_SPAN_CLASSES; c++) {
            mspan *s = t->cache.alloc[c];
            if (s == &mgc_empty_span) continue;
            wk->placed++;
            if (s->spanclass != c) bad(SPAN_FMT ": cached as class %d", SPAN_ARGS(s), c);
            if (atomic_load(&s->sweepgen) != wk->sg + 3)
                bad(SPAN_FMT ": cached with sweepgen %u (heap %u)", SPAN_ARGS(s), atomic_load(&s->sweepgen), wk->sg);
        }
}

static void check_free_run(mspan *s, uint64_t *free_bytes, uint64_t *released) {
    *free_bytes += s->npages * MGC_PAGE_SIZE;
    if (s->released) *released += s->npages * MGC_PAGE_SIZE;
    if (atomic_load(&s->state) != SPAN_FREE) bad("free run %#lx: state %d", (unsigned long)s->base, atomic_load(&s->state));
    if (mgc_span_of(s->base) != s ||
        mgc_span_of(s->base + (s->npages - 1) * MGC_PAGE_SIZE) != s)
        bad("free run %#lx (%zu pages): its first or last page maps elsewhere (overlap?)",
            (unsigned long)s->base, s->npages);
}

static void check_free(uint64_t *free_bytes, uint64_t *released) {
    for (int n = 1; n < 128; n++) {
        span_list *l = &mgc_heap.free_small[n];
        bool seen_released = false;
        for (mspan *s = l->first; s; s = s->next) {
            if (s->npages != (size_t)n) bad("free run %#lx of %zu pages on the %d-page list", (unsigned long)s->base, s->npages, n);
            if (seen_released && !s->released)
                bad("free run %#lx: unreleased behind a released one on the %d-page list", (unsigned long)s->base, n);
            seen_released |= s->released;
            check_free_run(s, free_bytes, released);
        }
        bool bit = (mgc_heap.free_mask[n / 64] >> (n % 64)) & 1;
        if (bit != (l->first != NULL)) bad("free_mask bit %d is %d, the list is %s", n, bit, l->first ? "not empty" : "empty");
    }
    uintptr_t last = 0;
    for (mspan *s = mgc_heap.free_large.first; s; s = s->next) {
        if (s->npages < 128) bad("free run %#lx of %zu pages on the long list", (unsigned long)s->base, s->npages);
        if (s->base <= last) bad("free run %#lx: long runs out of address order", (unsigned long)s->base);
        last = s->base;
        check_free_run(s, free_bytes, released);
    }
}

uint64_t mgc_verify_heap_stw(void) {
    nbad = 0;
    walk wk = {.sg = atomic_load(&mgc_heap.sweepgen)};
    mgc_heap_for_each_span(check_span, &wk);
    check_central(&wk);
    check_caches(&wk);
    if (wk.placed != wk.spans)
        bad("%llu in-use spans, but %llu are listed in an mcentral or cached",
            (unsigned long long)wk.spans, (unsigned long long)wk.placed);
    uint64_t free_bytes = 0, released = 0;
    check_free(&free_bytes, &released);
    uint64_t inuse = atomic_load(&mgc_hstats.heap_inuse), sys = atomic_load(&mgc_hstats.heap_sys);
    if (wk.inuse_bytes != inuse)
        bad("in-use spans hold %llu bytes, heap_inuse says %llu", (unsigned long long)wk.inuse_bytes,
            (unsigned long long)inuse);
    if (wk.inuse_bytes + free_bytes != sys)
        bad("in-use %llu + free %llu bytes != heap_sys %llu", (unsigned long long)wk.inuse_bytes,
            (unsigned long long)free_bytes, (unsigned long long)sys);
    if (released != atomic_load(&mgc_hstats.heap_released))
        bad("released free runs hold %llu bytes, heap_released says %llu", (unsigned long long)released,
            (unsigned long long)atomic_load(&mgc_hstats.heap_released));
    if (nbad > 20) mgc_print("mgc: verify: ... %llu problems in all", (unsigned long long)nbad);
    return nbad;
}
