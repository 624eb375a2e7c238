/*
 * mcentral.c -- per span class, the spans no thread is caching.
 *
 * An mcentral keeps partial spans (some free slot) and full spans, each in
 * a swept and an unswept set.  Which set is which depends on sweepgen
 * parity: partial[sg/2 % 2] is swept, the other unswept.  When a cycle ends
 * the world is stopped and sweepgen rises by 2, so every swept span becomes
 * unswept at once, without a walk over the heap.
 *
 * A span's own sweepgen, against the heap's sg, says where it is:
 *     sg-2  needs sweeping          sg-1  being swept (claimed by CAS)
 *     sg    swept                   sg+1  cached before the sweep began
 *     sg+3  swept and cached
 * A span is on at most one list at a time and is popped under the lock
 * before anyone sweeps or caches it: the lock protects the lists, the
 * CAS on sweepgen the right to sweep.
 *
 * cache_span() serves mcache refills: a swept partial span first, else it
 * sweeps unswept spans until one has room (bounded, as Go's is), else it
 * takes fresh pages from mheap.
 */
#include "runtime/internal.h"

#define SWEEP_BUDGET 100

static inline span_list *partial_swept(mcentral *c, uint32_t sg) { return &c->partial[(sg / 2) % 2]; }
static inline span_list *partial_unswept(mcentral *c, uint32_t sg) { return &c->partial[1 - (sg / 2) % 2]; }
static inline span_list *full_swept(mcentral *c, uint32_t sg) { return &c->full[(sg / 2) % 2]; }
static inline span_list *full_unswept(mcentral *c, uint32_t sg) { return &c->full[1 - (sg / 2) % 2]; }

void mgc_central_init(mcentral *c, int spanclass) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->spanclass = (uint16_t)spanclass;
}

/* ** File a swept span under the current sweepgen. */
void mgc_central_push(gc_thread *t, mcentral *c, mspan *s, bool full) {
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    mgc_lock(t, &c->lock);
    mgc_span_list_push(full ? full_swept(c, sg) : partial_swept(c, sg), s);
    mgc_unlock(t, &c->lock);
}

/* ** Pop any span still waiting for this cycle's sweep (for sweep-all). */
mspan *mgc_central_pop_unswept(gc_thread *t, mcentral *c) {
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    mgc_lock(t, &c->lock);
    mspan *s = mgc_span_list_pop(partial_unswept(c, sg));
    if (!s) s = mgc_span_list_pop(full_unswept(c, sg));
    mgc_unlock(t, &c->lock);
    return s;
}

/* ** A fresh span for this class from the page heap. */
static mspan *central_grow(gc_thread *t, mcentral *c) {
    size_t npages = mgc_class_to_npages[MGC_SPANCLASS_SIZECLASS(c->spanclass)];
    if (mgc_over_max_heap(t, npages * MGC_PAGE_SIZE)) return NULL;
    return mgc_heap_alloc(t, npages, c->spanclass);
}

/* ** A span with at least one free slot, owned by the caller; NULL when
 * out of memory.  Must run in a no-preempt section. */
mspan *mgc_central_cache_span(gc_thread *t, mcentral *c) {
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    mspan *s;
    int budget = SWEEP_BUDGET;

    mgc_lock(t, &c->lock);
    s = mgc_span_list_pop(partial_swept(c, sg));
    mgc_unlock(t, &c->lock);
    if (s) goto have;

    /* Sweep on demand: an unswept partial span is likely to have room. */
    for (; budget > 0; budget--) {
        mgc_lock(t, &c->lock);
        s = mgc_span_list_pop(partial_unswept(c, sg));
        mgc_unlock(t, &c->lock);
        if (!s) break;
        if (!mgc_span_claim_for_sweep(s, sg)) mgc_throw("unswept list holds a span in sweepgen %u (heap %u)", atomic_load(&s->sweepgen), sg);
        mgc_sweep_span(t, s, true);
        if (s->allocCount < s->nelems) goto have;
        mgc_central_push(t, c, s, true);
    }
    /* Full spans may have had slots freed by this cycle's mark. */
    for (; budget > 0; budget--) {
        mgc_lock(t, &c->lock);
        s = mgc_span_list_pop(full_unswept(c, sg));
        mgc_unlock(t, &c->lock);
        if (!s) break;
        if (!mgc_span_claim_for_sweep(s, sg)) mgc_throw("unswept list holds a span in sweepgen %u (heap %u)", atomic_load(&s->sweepgen), sg);
        mgc_sweep_span(t, s, true);
        if (s->allocCount < s->nelems) goto have;
        mgc_central_push(t, c, s, true);
    }
    s = central_grow(t, c);
    if (!s) return NULL;
have:
    mgc_span_refill_alloc_cache(s);
    return s;
}

/* ** Take a span back from an mcache.  A span cached before the current
 * sweep began (sg+1) missed its sweep: sweep it now, which files it.
 * Otherwise give back to heap_live the free slots refill counted; a stale
 * span's count was already reset when marking ended. */
void mgc_central_uncache_span(gc_thread *t, mcentral *c, mspan *s) {
    uint64_t black = mgc_span_unmark_free(s);
    if (black) mgc_mark_add_black(black);
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    uint32_t ssg = atomic_load(&s->sweepgen);
    if (ssg == sg + 1) {
        atomic_store(&s->sweepgen, sg - 1); /* being swept, by us */
        mgc_sweep_span(t, s, false);
        return;
    }
    atomic_store(&s->sweepgen, sg);
    atomic_fetch_sub_explicit(&mgc_hstats.heap_live, (uint64_t)(s->nelems - s->allocCount) * s->elemsize,
                              memory_order_relaxed);
    mgc_central_push(t, c, s, s->allocCount == s->nelems);
}
