/*
 * sweep.c -- freeing what marking did not reach.
 *
 * Sweeping a span is a bitmap swap: the mark bits become the allocation
 * bits (a marked slot is exactly an allocated, reachable one), the old
 * allocation bits are cleared to become next cycle's mark bits, and the
 * search restarts at slot 0.  No slot is touched, so sweeping costs one
 * pass over two small bitmaps per span.  A span with nothing marked goes
 * back to the page heap whole.
 *
 * Who may sweep a span: whoever moves its sweepgen from sg-2 to sg-1 with a
 * CAS (mgc_span_claim_for_sweep), or the mcache that held it across the
 * sweepgen change (sg+1, see mcentral.c).  A sweep always runs inside a
 * no-preempt section, so a stopped world never holds a half-swept span.
 */
#include "runtime/internal.h"

bool mgc_span_claim_for_sweep(mspan *s, uint32_t sg) {
    uint32_t want = sg - 2;
    return atomic_compare_exchange_strong(&s->sweepgen, &want, sg - 1);
}

/* ** Sweep a span we own.  With preserve, the caller (a refill) keeps the
 * span whatever its state; otherwise it is filed in its mcentral or freed.
 * Returns true if the span was given back to the page heap. */
bool mgc_sweep_span(gc_thread *t, mspan *s, bool preserve) {
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    unsigned words = mgc_span_bitmap_words(s);
    unsigned nalloc = mgc_span_count_marked(s);
    unsigned before = s->allocCount;
    if (nalloc > before)
        mgc_throw("sweep: span %#lx (class %u) has %u marked slots but only %u allocated",
                  (unsigned long)s->base, s->spanclass >> 1, nalloc, before);
    unsigned nfreed = before - nalloc;

    uint64_t *old = s->allocBits;
    s->allocBits = s->gcmarkBits;
    s->gcmarkBits = old;
    memset(s->gcmarkBits, 0, words * sizeof(uint64_t));
    s->freeindex = 0;
    s->allocCount = (uint16_t)nalloc;
    mgc_span_refill_alloc_cache(s);
    if (nfreed) {
        s->needzero = 1;
        atomic_fetch_add_explicit(&mgc_hstats.nfree, nfreed, memory_order_relaxed);
        atomic_fetch_add_explicit(&mgc_hstats.freed_bytes, (uint64_t)nfreed * s->elemsize,
                                  memory_order_relaxed);
    }
    atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
    if (preserve) return false;
    if (nalloc == 0) {
        mgc_heap_free(t, s);
        return true;
    }
    mgc_central_push(t, &mgc_heap.central[s->spanclass], s, nalloc == s->nelems);
    return false;
}

/* ** Sweep every span still unswept (the collector, after restarting the
 * world; other threads may be sweeping beside it). */
void mgc_sweep_all(gc_thread *t) {
    uint32_t sg = atomic_load(&mgc_heap.sweepgen);
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) {
        mcentral *c = &mgc_heap.central[i];
        for (;;) {
            mgc_nopreempt_begin(t);
            mspan *s = mgc_central_pop_unswept(t, c);
            if (!s) {
                mgc_nopreempt_end(t);
                break;
            }
            if (!mgc_span_claim_for_sweep(s, sg))
                mgc_throw("sweep: unswept list holds a span in sweepgen %u (heap %u)",
                          atomic_load(&s->sweepgen), sg);
            mgc_sweep_span(t, s, false);
            mgc_nopreempt_end(t);
        }
    }
}
