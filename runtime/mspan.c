/*
 * mspan.c -- the slots of a span and its two bitmaps.
 *
 * A span of size class c holds nelems = npages * 8 KiB / size slots.  Which
 * are free is told by two things together: alloc_bits, the slots that
 * survived the last sweep, and freeindex, below which every slot is taken:
 * the sweep starts it at the first slot alloc_bits leaves free, and
 * allocation moves it past each slot it hands out.  So slot i is allocated
 * iff i < freeindex or alloc_bits[i].  Allocation never builds a free list: alloc_cache holds the
 * complement of the alloc_bits word that freeindex is in, shifted so bit 0
 * is slot freeindex, and the next free slot is a count-trailing-zeros away.
 *
 * Invariant: alloc_cache bit k set <=> slot freeindex+k is free, for the
 * slots of freeindex's 64-slot word; bits past nelems may be set and are
 * bounds-checked by the users.
 */
#include "runtime/heap.h"

/* ** Set up slot geometry and fresh bitmaps for a span about to be used. */
void mgc_span_init_objects(mspan *s, int spanclass) {
    int sizeclass = MGC_SPANCLASS_SIZECLASS(spanclass);
    int kind = MGC_SPANCLASS_KIND(spanclass);
    s->spanclass = (uint16_t)spanclass;
    s->noscan = kind == MGC_KIND_NOSCAN;
    s->typed = kind == MGC_KIND_TYPED;
    s->large_type = NULL;
    /* Small typed spans map their words; a large one keeps its type. */
    s->ptrbits = s->typed && sizeclass != 0 ? mgc_ptrbits_alloc(s->npages) : NULL;
    if (sizeclass == 0) {
        s->elemsize = s->npages * MGC_PAGE_SIZE;
        s->nelems = 1;
        s->divmagic = 0;
    } else {
        s->elemsize = mgc_class_to_size[sizeclass];
        s->nelems = mgc_class_to_nobjs[sizeclass];
        s->divmagic = mgc_class_to_divmagic[sizeclass];
    }
    s->limit = s->base + s->nelems * s->elemsize;
    s->grey_words = sizeclass != 0 && kind == MGC_KIND_SCAN ? (uint16_t)(s->elemsize / 8) : 0;
    mgc_span_set_freeindex(s, 0);
    s->alloc_count = 0;
    s->alloc_bits = mgc_bitmap_alloc(mgc_span_bitmap_words(s));
    s->gcmark_bits = s->alloc_bits ? s->alloc_bits + mgc_span_bitmap_words(s) : NULL;
    s->alloc_cache = ~(uint64_t)0;
}

/* ** Reload alloc_cache from alloc_bits at freeindex. */
void mgc_span_refill_alloc_cache(mspan *s) {
    unsigned w = s->freeindex / 64;
    if (s->freeindex >= s->nelems) {
        s->alloc_cache = 0;
        return;
    }
    s->alloc_cache = ~s->alloc_bits[w] >> (s->freeindex % 64);
}

/* ** Index of the next free slot at or after freeindex, advancing
 * freeindex and alloc_cache past it; nelems if the span is full.  The slow
 * half of the allocation fast path (Go's nextFreeIndex). */
unsigned mgc_span_next_free_index(mspan *s) {
    unsigned idx = s->freeindex, n = s->nelems;
    if (idx >= n) return n;
    uint64_t cache = s->alloc_cache;
    while (cache == 0) {
        idx = (idx + 64) & ~63u;
        if (idx >= n) {
            mgc_span_set_freeindex(s, n);
            return n;
        }
        cache = ~s->alloc_bits[idx / 64];
    }
    unsigned bit = (unsigned)__builtin_ctzll(cache);
    unsigned result = idx + bit;
    if (result >= n) {
        mgc_span_set_freeindex(s, n);
        s->alloc_cache = 0;
        return n;
    }
    mgc_span_set_freeindex(s, result + 1);
    if (s->freeindex % 64 == 0) mgc_span_refill_alloc_cache(s);
    else s->alloc_cache = (cache >> bit) >> 1;
    return result;
}

/* ** The first slot alloc_bits leaves free (nelems if none), where a sweep
 * starts freeindex: the slots below it are allocated whichever way they
 * are read, and a marker's "allocated?" test (mgc_span_is_allocated_racy)
 * answers them with one compare instead of a bitmap load.  Long-lived data
 * fills spans, so most of an old heap is answered that way: markrate 8 MB
 * seq ran 3 fewer instructions per object (callgrind, 161.4 M -> 158.3 M). */
unsigned mgc_span_first_free(const mspan *s) {
    unsigned words = mgc_span_bitmap_words(s);
    for (unsigned w = 0; w < words; w++)
        if (~s->alloc_bits[w]) {
            unsigned i = w * 64 + (unsigned)__builtin_ctzll(~s->alloc_bits[w]);
            return i < s->nelems ? i : s->nelems;
        }
    return s->nelems;
}

unsigned mgc_span_count_marked(const mspan *s) {
    unsigned n = 0, words = mgc_span_bitmap_words(s);
    for (unsigned i = 0; i < words; i++) n += mgc_popcount64(s->gcmark_bits[i]);
    return n;
}

/* ** Mask of the slots of bitmap word w that are free: at or after
 * freeindex, below nelems, and not in alloc_bits. */
static uint64_t free_mask(const mspan *s, unsigned w) {
    uint64_t m = ~s->alloc_bits[w];
    unsigned lo = w * 64;
    if (s->freeindex > lo) m &= s->freeindex - lo >= 64 ? 0 : ~(uint64_t)0 << (s->freeindex - lo);
    if (s->nelems < lo + 64) m &= s->nelems <= lo ? 0 : ~(uint64_t)0 >> (lo + 64 - s->nelems);
    return m;
}

/* ** Allocate black, a span at a time: when a span is cached while
 * marking, mark every free slot at once (about 8 atomic ORs for a whole
 * span instead of one per object on the allocation fast path).  The slots
 * still free when the span is given back are unmarked again. */
void mgc_span_premark_free(mspan *s) {
    unsigned words = mgc_span_bitmap_words(s);
    uint64_t *scan = s->grey_words && mgc_cfg.span_mark ? mgc_span_scan_bits(s) : NULL;
    for (unsigned w = 0; w < words; w++) {
        uint64_t m = free_mask(s, w);
        if (!m) continue;
        /* Scanned before marked: a span-wise scan (gc/mark.c) running now
         * takes marked, unscanned slots, and a black object needs no scan. */
        if (scan) __atomic_fetch_or(&scan[w], m, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(&s->gcmark_bits[w], m, __ATOMIC_RELAXED);
    }
    s->premarked = 1;
    s->premark_count = s->alloc_count;
}

/* ** Undo the premark of slots never allocated; returns the bytes that were
 * allocated (black) meanwhile.  No marker ever marks a free slot, so the
 * bits cleared here are all ours. */
uint64_t mgc_span_unmark_free(mspan *s) {
    if (!s->premarked) return 0;
    unsigned words = mgc_span_bitmap_words(s);
    uint64_t *scan = s->grey_words && mgc_cfg.span_mark ? mgc_span_scan_bits(s) : NULL;
    for (unsigned w = 0; w < words; w++) {
        uint64_t m = free_mask(s, w);
        if (!m) continue;
        __atomic_fetch_and(&s->gcmark_bits[w], ~m, __ATOMIC_RELAXED);
        /* And unscanned: a slot allocated later and then marked must be
         * scanned, even before the sweep clears the scan bits. */
        if (scan) __atomic_fetch_and(&scan[w], ~m, __ATOMIC_RELAXED);
    }
    s->premarked = 0;
    return (uint64_t)(s->alloc_count - s->premark_count) * s->elemsize;
}
