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
 * coordinator sweeps in the background, cache refills sweep in proportion
 * to what they allocate (paced below), and mcentral sweeps the spans it
 * needs on demand.  mgc_sweep_done says all of this cycle's spans are
 * swept; the next cycle may not start before it is.
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

/* Proportional sweeping, paced as Go's sweepPagesPerByte: the program's
 * refills sweep so that every page in use at mark termination is swept
 * before the heap reaches the next trigger.  A fixed "a span or two per
 * refill" left the background sweeper, one thread among the program's on
 * a busy machine, to finish: GCBench with two threads on two cores
 * crossed the trigger 1.5-3 ms before the sweep ended, and the next mark,
 * which cannot start before it, began with the heap already past its goal
 * (20 MB trigger, 33-55 MB at mark start), so the program then waited for
 * the mark at the hard goal.
 *   pages_swept: this cycle's, by every sweeper; reset in sweep termination
 *     (no sweeper is active then) -- atomic.
 *   pace_basis, pace_q32: heap_live when the sweep began (what was marked)
 *     and pages to sweep per byte allocated since, times 2^32; written by
 *     the coordinator at mark termination.  A refill between the sweepgen
 *     advance and that write paces by the last cycle's values: it sweeps
 *     a little more or less, never wrongly (the values only say how much). */
static _Atomic uint64_t pages_swept, pace_basis, pace_q32;

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
    if (mgc_cfg.span_mark) /* the scan bits and the queued flag (gc/mark.c) */
        memset(mgc_span_scan_bits(s), 0, (words + 1) * sizeof(uint64_t));
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

/* ** Claim and sweep up to max (at most SWEEP_BATCH) of class c's unswept
 * spans: c's lock is taken once to pop them all and once to file them all
 * (one span at a time, GCBench's program thread and the background
 * sweeper met on that lock at every span).  With room, the first swept
 * span with a free slot is not filed but handed to the caller (a refill)
 * in *room.  Spans left empty go back to the page heap.  Returns how many
 * were swept.  The caller counts itself in mgc_sweep_active and keeps its
 * view sg for the whole call (a no-preempt section). */
unsigned mgc_sweep_batch(gc_thread *t, mcentral *c, uint32_t sg, unsigned max, mspan **room) {
    mspan *v[SWEEP_BATCH], *empty[SWEEP_BATCH];
    unsigned n = mgc_central_pop_unswept(t, c, v, max < SWEEP_BATCH ? max : SWEEP_BATCH);
    unsigned swept = 0, nfile = 0, nempty = 0;
    uint64_t pages = 0;
    for (unsigned k = 0; k < n; k++) {
        mspan *s = v[k];
        if (!mgc_central_claim(s, sg)) continue; /* our view went stale: s is filed again */
        mgc_sweep_span(t, s, true);
        pages += s->npages;
        swept++;
        if (room && !*room && s->alloc_count < s->nelems) *room = s;
        else if (s->alloc_count == 0) empty[nempty++] = s;
        else v[nfile++] = s; /* nfile <= k: v[k] is read already */
    }
    mgc_central_push_swept(t, c, v, nfile);
    mgc_heap_free_n(t, empty, nempty);
    if (pages) atomic_fetch_add_explicit(&pages_swept, pages, memory_order_relaxed);
    return swept;
}

/* ** Sweep up to max unswept spans (at most SWEEP_BATCH), all of one
 * class; 0 when there is none left.  t is NULL for the background
 * sweeper.  The classes to try come from mcentral's bitmap of non-empty
 * unswept lists, so no lock is taken for a class with nothing to sweep; a
 * 0 means every list was empty when looked at, and none is refilled
 * before sweepgen next rises. */
unsigned mgc_sweep_some(gc_thread *t, unsigned max) {
    if (atomic_load_explicit(&mgc_sweep_done, memory_order_relaxed)) return 0;
    if (t) mgc_nopreempt_begin(t); /* the view stays put */
    atomic_fetch_add(&mgc_sweep_active, 1);
    uint32_t sg = mgc_sweepgen_of(t);
    int i = atomic_load_explicit(&sweep_cursor, memory_order_relaxed);
    unsigned n = 0;
    /* A thread whose view is a cycle behind (between the advance and its
     * handshake) leaves the sweeping to the others.  0 from a class whose
     * bit was set: raced with another sweeper, look again. */
    while (!n && sg == mgc_sweepgen() && (i = mgc_central_next_unswept(i, sg)) >= 0)
        n = mgc_sweep_batch(t, &mgc_heap.central[i], sg, max, NULL);
    if (n) atomic_store_explicit(&sweep_cursor, i, memory_order_relaxed);
    atomic_fetch_sub(&mgc_sweep_active, 1);
    if (t) mgc_nopreempt_end(t);
    return n;
}

/* ** Sweep every span still unswept (other threads may sweep beside us). */
void mgc_sweep_all(gc_thread *t) {
    while (mgc_sweep_some(t, SWEEP_BATCH)) {}
}

/* ** Sweep termination: every span swept, and no sweep still running in
 * another thread (it is a short no-preempt section). */
void mgc_sweep_finish(void) {
    mgc_sweep_all(NULL);
    while (atomic_load(&mgc_sweep_active) != 0) sched_yield();
    atomic_store_explicit(&pages_swept, 0, memory_order_relaxed);
}

/* ** Mark termination, the coordinator: the sweep that begins must be done
 * when heap_live, now marked, reaches trigger.  Aim at three quarters of
 * the way, as Go keeps a margin, so the last refills before the trigger do
 * not all sweep at once; with no way at all (a trigger at the mark's own
 * size), the first refill sweeps everything. */
void mgc_sweep_pace(uint64_t marked, uint64_t trigger) {
    uint64_t pages = atomic_load_explicit(&mgc_hstats.heap_inuse, memory_order_relaxed) / MGC_PAGE_SIZE;
    uint64_t way = trigger > marked && trigger != UINT64_MAX ? (trigger - marked) / 4 * 3 : 0;
    double q = way ? (double)pages / (double)way * 4294967296.0 : 1e30;
    atomic_store_explicit(&pace_basis, marked, memory_order_relaxed);
    atomic_store_explicit(&pace_q32, q > 1e18 ? (uint64_t)1e18 : (uint64_t)q, memory_order_relaxed);
}

/* ** A refill outside the mark, with the sweep unfinished: sweep until the
 * pages swept (by anyone) catch up with what this cycle's allocation so
 * far owes.  Usually nothing: the background sweeper is ahead. */
void mgc_sweep_proportional(gc_thread *t) {
    uint64_t live = atomic_load_explicit(&mgc_hstats.heap_live, memory_order_relaxed);
    uint64_t basis = atomic_load_explicit(&pace_basis, memory_order_relaxed);
    if (live <= basis) return;
    double owed = (double)(live - basis) * (double)atomic_load_explicit(&pace_q32, memory_order_relaxed) /
                  4294967296.0;
    while ((double)atomic_load_explicit(&pages_swept, memory_order_relaxed) < owed &&
           mgc_sweep_some(t, SWEEP_BATCH)) {
    }
}
