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
 * sweepgen change (sg+1, see mcentral.c).  A sweep by a registered thread
 * runs inside a no-preempt section, so a stopped world never holds a
 * half-swept span; the background sweeper is not a registered thread and
 * the world is only stopped by the same coordinator thread, between sweeps.
 *
 * When: after mark termination, concurrently with the program -- the
 * coordinator sweeps in the background, every cache refill sweeps a span
 * or two (proportional sweeping), and mcentral sweeps the spans it needs
 * on demand.  mgc_sweep_done says all of this cycle's spans are swept;
 * the next cycle may not start before it is.
 *
 * MGC_CLOBBER=1 fills each freed slot with 0xdeadbeef..., so a program
 * that still uses a freed object (a collector bug, or a hidden pointer)
 * reads garbage at once instead of stale data that looks right.
 */
#include "gc/gc.h"

_Atomic int mgc_sweep_done = 1;
/* Sweepers between looking for a span and finishing its sweep (Go's
 * sweep.active): counted before the span leaves its list, so sweep
 * termination, which waits for 0 after the lists are empty, knows no sweep
 * is still swapping a span's bitmaps.  The stop-the-world setup waited for
 * them implicitly (a sweep is a no-preempt section); the handshake mode's
 * setup does not, and a thread that entered the mark would otherwise set
 * mark bits in a span another thread is still sweeping. */
_Atomic int mgc_sweep_active;
static _Atomic int sweep_cursor; /* span class to look at first */

bool mgc_span_claim_for_sweep(mspan *s, uint32_t sg) {
    uint32_t want = mgc_sg_needs_sweep(sg);
    return atomic_compare_exchange_strong(&s->sweepgen, &want, mgc_sg_sweeping(sg));
}

/* ** Fill every slot that was allocated and is now unmarked. */
static void clobber_freed(mspan *s) {
    for (unsigned i = 0; i < s->nelems; i++) {
        if (!mgc_span_is_allocated(s, i) || mgc_bit_get(s->gcmark_bits, i)) continue;
        uint64_t *w = (uint64_t *)(s->base + (uintptr_t)i * s->elemsize);
        for (size_t k = 0; k < s->elemsize / 8; k++) w[k] = 0xdeadbeefdeadbeefULL;
    }
}

/* ** Sweep a span we own.  With preserve, the caller (a refill) keeps the
 * span whatever its state; otherwise it is filed in its mcentral or freed.
 * Returns true if the span was given back to the page heap. */
bool mgc_sweep_span(gc_thread *t, mspan *s, bool preserve) {
    uint32_t sg = mgc_sweepgen_of(t);
    unsigned words = mgc_span_bitmap_words(s);
    unsigned nalloc = mgc_span_count_marked(s);
    unsigned before = s->alloc_count;
    if (nalloc > before)
        mgc_throw("sweep: span %#lx (class %u) has %u marked slots but only %u allocated",
                  (unsigned long)s->base, MGC_SPANCLASS_SIZECLASS(s->spanclass), nalloc, before);
    unsigned nfreed = before - nalloc;
    /* Weak references to the dead are cleared before their slots are
     * free; finalizers resurrect their objects (marking them). */
    if (unlikely(atomic_load_explicit(&s->specials, memory_order_acquire) != NULL) && nfreed) {
        unsigned revived = mgc_specials_sweep(s);
        nalloc += revived;
        nfreed -= revived;
        atomic_fetch_add_explicit(&mgc_hstats.heap_live, (uint64_t)revived * s->elemsize,
                                  memory_order_relaxed);
    }
    if (unlikely(mgc_cfg.clobber) && nfreed) clobber_freed(s);

    uint64_t *old = s->alloc_bits;
    s->alloc_bits = s->gcmark_bits;
    s->gcmark_bits = old;
    memset(s->gcmark_bits, 0, words * sizeof(uint64_t));
    mgc_span_set_freeindex(s, mgc_span_first_free(s));
    s->alloc_count = (uint16_t)nalloc;
    mgc_span_refill_alloc_cache(s);
    if (nfreed) {
        s->needzero = 1;
        atomic_fetch_add_explicit(&mgc_hstats.nfree, nfreed, memory_order_relaxed);
        atomic_fetch_add_explicit(&mgc_hstats.freed_bytes, (uint64_t)nfreed * s->elemsize,
                                  memory_order_relaxed);
    }
    atomic_store_explicit(&s->sweepgen, mgc_sg_swept(sg), memory_order_release);
    if (preserve) return false;
    if (nalloc == 0) {
        mgc_heap_free(t, s);
        return true;
    }
    mgc_central_push(t, &mgc_heap.central[s->spanclass], s, nalloc == s->nelems);
    return false;
}

/* ** Sweep one unswept span from any class; false when there is none.  t
 * is NULL for the background sweeper.  The classes to try come from
 * mcentral's bitmap of non-empty unswept lists, so no lock is taken for a
 * class with nothing to sweep; a false answer means every list was empty
 * when looked at, and none is refilled before sweepgen next rises. */
bool mgc_sweep_one(gc_thread *t) {
    if (atomic_load_explicit(&mgc_sweep_done, memory_order_relaxed)) return false;
    if (t) mgc_nopreempt_begin(t); /* the view stays put */
    atomic_fetch_add(&mgc_sweep_active, 1);
    uint32_t sg = mgc_sweepgen_of(t);
    int i = atomic_load_explicit(&sweep_cursor, memory_order_relaxed);
    mspan *s = NULL;
    /* A thread whose view is a cycle behind (between the advance and its
     * handshake) leaves the sweeping to the others. */
    while (!s && sg == mgc_sweepgen() && (i = mgc_central_next_unswept(i, sg)) >= 0)
        s = mgc_central_pop_unswept(t, &mgc_heap.central[i]); /* NULL: raced, look again */
    if (s && !mgc_central_claim(s, sg)) s = NULL;
    if (s) {
        mgc_sweep_span(t, s, false);
        atomic_store_explicit(&sweep_cursor, i, memory_order_relaxed);
    }
    atomic_fetch_sub(&mgc_sweep_active, 1);
    if (t) mgc_nopreempt_end(t);
    return s != NULL;
}

/* ** Sweep every span still unswept (other threads may sweep beside us). */
void mgc_sweep_all(gc_thread *t) {
    while (mgc_sweep_one(t)) {}
}

/* ** Sweep termination: every span swept, and no sweep still running in
 * another thread (it is a short no-preempt section). */
void mgc_sweep_finish(void) {
    mgc_sweep_all(NULL);
    while (atomic_load(&mgc_sweep_active) != 0) sched_yield();
}
