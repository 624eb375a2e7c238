/*
 * mcache.c -- the per-thread allocation cache.
 *
 * A thread allocates small objects from the span it caches for the
 * object's span class, with no lock and no atomic (runtime/malloc.c has the
 * fast path).  When that span is full, refill() hands it back to its
 * mcentral and takes another.  Each refill also counts the new span's free
 * bytes into heap_live at once (as Go does), so pacing sees allocation at
 * span granularity without a counter on the fast path; releasing a span
 * takes back what was not used.  A refill also clears a span with no
 * object in it in one memset, so its slots need no clearing one by one.
 *
 * The statistics (gc_get_stats's num_alloc, total_alloc) are counted the
 * same way: a span's slots handed out while cached (alloc_count less
 * alloc_count_at_cache) go into the cache's counters in one step when the
 * span leaves the cache, at a refill, a handshake that gives back stale
 * spans, or thread exit.  Another thread's counters so lag by at most one
 * span per size class; mgc_cache_inflight reads the calling thread's own.
 *
 * Owner: the thread.  The collector touches a thread's mcache only while
 * that thread is stopped, which is never inside a no-preempt section.
 */
#include "runtime/collector.h"
#include "runtime/heap.h"

/* The span every empty cache slot points at: alloc_cache 0 and no slots, so
 * the fast path fails without a NULL check. */
mspan mgc_empty_span;

void mgc_cache_init(mcache *c) {
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) c->alloc[i] = &mgc_empty_span;
    c->tiny = 0;
    c->tinyoffset = 0;
}

/* ** Should this refill ask for a cycle?  Past the trigger; but while a
 * mark runs, only past the hard goal (goal + 1/16, where gc/mgc.c makes
 * the allocator wait for the mark): the running cycle is the one the
 * trigger asked for, and a request made during it could be served after
 * it ends, starting at once a cycle the now smaller heap does not need
 * (every other cycle on a small heap allocated fast). */
static bool refill_wants_cycle(bool marking) {
    if (!mgc_pacer_should_trigger()) return false;
    if (!marking) return true;
    uint64_t goal = atomic_load_explicit(&mgc_heap_goal, memory_order_relaxed);
    return goal != UINT64_MAX &&
           atomic_load_explicit(&mgc_hstats.heap_live, memory_order_relaxed) > goal + goal / 16;
}

/* ** A span with no object in it that needs zeroing (reused pages from the
 * page heap) is cleared whole, once, here: one memset of the span costs a
 * fraction of clearing its slots one by one on the fast path (a 16-byte
 * slot took ~16 instructions to clear).  The span is ours alone now (cached,
 * no sweep touches it) and its free slots are never read, so clearing them
 * early is unobservable; needzero then says what is true, and a later sweep
 * that frees a slot sets it again.  Not under MGC_CLOBBER, whose pattern in
 * freed slots must stay until each is reused. */
static void zero_if_empty(mspan *s) {
    if (!s->needzero || s->alloc_count != 0 || mgc_cfg.clobber) return;
    memset((void *)s->base, 0, (size_t)s->nelems * s->elemsize);
    s->needzero = 0;
}

/* ** Count the slots s handed out while this cache held it; s is leaving. */
static void flush_counts(mcache *c, mspan *s) {
    unsigned n = (unsigned)(s->alloc_count - s->alloc_count_at_cache);
    if (n) mgc_count_alloc(c, n, (uint64_t)n * s->elemsize);
}

/* ** The slots the cached spans handed out that flush_counts has not yet
 * counted: for gc_get_stats on the owner's own thread (or while the owner
 * is stopped), so a thread sees every object it allocated counted. */
void mgc_cache_inflight(const mcache *c, uint64_t *objects, uint64_t *bytes) {
    uint64_t n = 0, b = 0;
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) {
        const mspan *s = c->alloc[i];
        if (s == &mgc_empty_span) continue;
        unsigned k = (unsigned)(s->alloc_count - s->alloc_count_at_cache);
        n += k;
        b += (uint64_t)k * s->elemsize;
    }
    *objects = n;
    *bytes = b;
}

/* ** Replace the cached span of spanclass by one with a free slot.  Returns
 * false when out of memory.  Runs inside a no-preempt section. */
bool mgc_cache_refill(gc_thread *t, int spanclass) {
    mcache *c = &t->cache;
    mspan *old = c->alloc[spanclass];
    mcentral *central = &mgc_heap.central[spanclass];
    if (old != &mgc_empty_span) {
        flush_counts(c, old);
        c->alloc[spanclass] = &mgc_empty_span;
        mgc_central_uncache_span(t, central, old);
    }
    mspan *s = mgc_central_cache_span(t, central);
    if (!s) return false;
    atomic_store(&s->sweepgen, mgc_sg_cached_swept(t->sg_view));
    c->alloc[spanclass] = s;
    s->alloc_count_at_cache = s->alloc_count;
    zero_if_empty(s);
    uint64_t bytes = (uint64_t)(s->nelems - s->alloc_count) * s->elemsize;
    atomic_fetch_add_explicit(&mgc_hstats.heap_live, bytes, memory_order_relaxed);
    bool marking = t->marking;
    /* Allocate black: everything handed out from this span while the mark
     * runs (this thread's view of it: gc/handshake.c) is marked already. */
    if (t->black_sg == t->sg_view) mgc_span_premark_free(s);
    if (marking) {
        /* Pay for this span's worth of allocation with mark work. */
        t->assist_debt += (int64_t)((double)bytes * mgc_pacer_assist_ratio());
        if (t->assist_debt > 64 * 1024) t->want_assist = 1;
    } else if (!atomic_load_explicit(&mgc_sweep_done, memory_order_relaxed)) {
        /* Proportional sweeping, so the sweep ends before the trigger. */
        mgc_sweep_proportional(t);
    }
    if (refill_wants_cycle(marking)) t->want_gc = 1;
    return true;
}

/* ** Give back the spans cached since before the last sweepgen advance
 * (sg+1), unswept, for the sweepers: safe in the thread's signal handler
 * (no sweeping here).  Runs at the thread's handshakes, outside its
 * no-preempt sections. */
void mgc_cache_release_stale(gc_thread *t) {
    mcache *c = &t->cache;
    uint32_t stale = mgc_sg_cached_unswept(t->sg_view);
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) {
        mspan *s = c->alloc[i];
        if (s == &mgc_empty_span || atomic_load(&s->sweepgen) != stale) continue;
        flush_counts(c, s);
        c->alloc[i] = &mgc_empty_span;
        uint64_t black = mgc_span_unmark_free(s);
        if (black) mgc_mark_add_black(black);
        mgc_central_push_unswept(&mgc_heap.central[i], s);
    }
}

/* ** Give every cached span back (thread exit, or the collector preparing
 * to mark).  The tiny block stays: it is an allocated object. */
void mgc_cache_release_all(gc_thread *t, mcache *c) {
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) {
        mspan *s = c->alloc[i];
        if (s == &mgc_empty_span) continue;
        flush_counts(c, s);
        c->alloc[i] = &mgc_empty_span;
        mgc_central_uncache_span(t, &mgc_heap.central[i], s);
    }
}
