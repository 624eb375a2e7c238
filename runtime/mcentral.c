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
 *
 * Finding unswept spans without the locks.  Sweepers (proportional sweeping
 * on every refill, the background sweeper, sweep termination) look for any
 * class with an unswept span; on a small heap nearly every class has none,
 * and taking 272 locks to learn that cost a quarter of a fast allocator's
 * time.  So each parity of lists has a bitmap of span classes: bit c of
 * nonempty[p] is set iff central[c].partial[p] or .full[p] holds a span.
 * Protocol: changed only under central[c].lock, by whoever made the lists
 * go empty or non-empty (atomic OR/AND: classes share words); read with no
 * lock.  Like the lists themselves, the bitmap of the swept parity becomes
 * the unswept one when sweepgen rises, with no walk.  During a cycle the
 * unswept lists only shrink (spans are filed under the current sweepgen,
 * inside a no-preempt section or by the coordinator), so a clear bit in
 * the unswept bitmap is final: a sweeper that finds the bitmap empty has
 * seen every unswept span gone, which is what sweep termination needs.  A
 * set bit may be stale; the popper then finds the lists empty and looks
 * again, by which time the thread that emptied them has cleared it.
 */
#include "runtime/collector.h"
#include "runtime/heap.h"

#define SWEEP_BUDGET 100
/* Spans a refill sweeps per batch when it must sweep to find room. */
#define DEMAND_BATCH 4
#define CLASS_WORDS ((MGC_NUM_SPAN_CLASSES + 63) / 64)

/* Span classes with a span on a list of parity p; see the top of file. */
static _Atomic uint64_t nonempty[2][CLASS_WORDS];

static inline span_list *partial_swept(mcentral *c, uint32_t sg) { return &c->partial[mgc_sg_swept_set(sg)]; }
static inline span_list *partial_unswept(mcentral *c, uint32_t sg) { return &c->partial[mgc_sg_unswept_set(sg)]; }
static inline span_list *full_swept(mcentral *c, uint32_t sg) { return &c->full[mgc_sg_swept_set(sg)]; }
static inline span_list *full_unswept(mcentral *c, uint32_t sg) { return &c->full[mgc_sg_unswept_set(sg)]; }

void mgc_central_init(mcentral *c, int spanclass) {
    memset(c, 0, sizeof *c);
    mgc_mutex_init(&c->lock, MGC_RANK_CENTRAL);
    c->spanclass = (uint16_t)spanclass;
}

/* ** Bring c's bit in the bitmap of parity p up to date after its lists
 * of that parity changed.  Caller holds c->lock. */
static void note_lists(mcentral *c, unsigned p) {
    _Atomic uint64_t *w = &nonempty[p][c->spanclass / 64];
    uint64_t bit = (uint64_t)1 << (c->spanclass % 64);
    bool any = c->partial[p].first || c->full[p].first;
    bool was = (atomic_load_explicit(w, memory_order_relaxed) & bit) != 0;
    if (any && !was) atomic_fetch_or_explicit(w, bit, memory_order_release);
    else if (!any && was) atomic_fetch_and_explicit(w, ~bit, memory_order_release);
}

/* ** File a swept span under the current sweepgen. */
void mgc_central_push(gc_thread *t, mcentral *c, mspan *s, bool full) {
    uint32_t sg = mgc_sweepgen_of(t);
    mgc_lock(t, &c->lock);
    mgc_span_list_push(full ? full_swept(c, sg) : partial_swept(c, sg), s);
    note_lists(c, mgc_sg_swept_set(sg));
    mgc_unlock(t, &c->lock);
}

/* ** File a span an mcache kept through the sweepgen advance (sg+1) as one
 * that needs sweeping, for the sweepers to find (gc/handshake.c: a
 * handshake gives such spans back, in a signal handler, where it must not
 * sweep).  Only between the advance and the start of the background sweep,
 * so no sweeper has yet found this class's unswept lists empty for good. */
void mgc_central_push_unswept(mcentral *c, mspan *s) {
    uint32_t sg = mgc_sweepgen();
    atomic_store(&s->sweepgen, mgc_sg_needs_sweep(sg));
    mgc_lock(NULL, &c->lock);
    mgc_span_list_push(s->alloc_count == s->nelems ? full_unswept(c, sg) : partial_unswept(c, sg), s);
    note_lists(c, mgc_sg_unswept_set(sg));
    mgc_unlock(NULL, &c->lock);
}

/* ** Under c->lock: pop an unswept span, a partial one first (more likely
 * to have room); NULL when there is none. */
static mspan *pop_unswept_locked(mcentral *c, uint32_t sg) {
    mspan *s = mgc_span_list_pop(partial_unswept(c, sg));
    if (!s) s = mgc_span_list_pop(full_unswept(c, sg));
    if (s) note_lists(c, mgc_sg_unswept_set(sg));
    return s;
}

/* ** Pop up to max spans still waiting for this cycle's sweep, under one
 * hold of the lock; how many. */
unsigned mgc_central_pop_unswept(gc_thread *t, mcentral *c, mspan **out, unsigned max) {
    uint32_t sg = mgc_sweepgen_of(t);
    if (!mgc_central_has_unswept(c->spanclass, sg)) return 0;
    unsigned n = 0;
    mgc_lock(t, &c->lock);
    while (n < max && (out[n] = pop_unswept_locked(c, sg)) != NULL) n++;
    mgc_unlock(t, &c->lock);
    return n;
}

/* ** File n swept spans we own, each full or partial as its count says,
 * under one hold of the lock. */
void mgc_central_push_swept(gc_thread *t, mcentral *c, mspan **v, unsigned n) {
    if (n == 0) return;
    uint32_t sg = mgc_sweepgen_of(t);
    mgc_lock(t, &c->lock);
    for (unsigned k = 0; k < n; k++)
        mgc_span_list_push(v[k]->alloc_count == v[k]->nelems ? full_swept(c, sg) : partial_swept(c, sg), v[k]);
    note_lists(c, mgc_sg_swept_set(sg));
    mgc_unlock(t, &c->lock);
}

/* ** Might class spanclass have an unswept span?  No lock: a false answer
 * is final for this cycle (see the top of file). */
bool mgc_central_has_unswept(int spanclass, uint32_t sg) {
    uint64_t w = atomic_load_explicit(&nonempty[mgc_sg_unswept_set(sg)][spanclass / 64],
                                      memory_order_acquire);
    return (w >> (spanclass % 64)) & 1;
}

/* ** The first span class at or after from (cyclically) whose bit says it
 * has unswept spans, or -1 when no class has any. */
int mgc_central_next_unswept(int from, uint32_t sg) {
    _Atomic uint64_t *bits = nonempty[mgc_sg_unswept_set(sg)];
    for (int k = 0; k <= CLASS_WORDS; k++) {
        int wi = (from / 64 + k) % CLASS_WORDS;
        uint64_t w = atomic_load_explicit(&bits[wi], memory_order_acquire);
        if (k == 0) w &= ~(uint64_t)0 << (from % 64); /* the rest of from's word */
        if (k == CLASS_WORDS) w &= ((uint64_t)1 << (from % 64)) - 1; /* its beginning */
        if (w) return wi * 64 + __builtin_ctzll(w);
    }
    return -1;
}

/* ** A fresh span for this class from the page heap. */
static mspan *central_grow(gc_thread *t, mcentral *c) {
    size_t npages = mgc_class_to_npages[MGC_SPANCLASS_SIZECLASS(c->spanclass)];
    if (mgc_over_max_heap(npages * MGC_PAGE_SIZE)) {
        if (t) t->over_limit = 1;
        return NULL;
    }
    return mgc_heap_alloc(t, npages, c->spanclass);
}

/* ** Claim s, just popped from an unswept list of view sg, for sweeping.
 * It can fail only if sweepgen advanced since the caller checked its view
 * was current, and a thread with the new view swept s (its swept list is
 * our unswept one): then s goes back where it was, and the caller, whose
 * view is stale now, sweeps nothing. */
bool mgc_central_claim(mspan *s, uint32_t sg) {
    if (mgc_span_claim_for_sweep(s, sg)) return true;
    uint32_t g = atomic_load(&s->sweepgen), hg = mgc_sweepgen();
    if (hg == sg || g != mgc_sg_swept(hg))
        mgc_throw("unswept list holds a span in sweepgen %u (view %u, heap %u)", g, sg, hg);
    mgc_central_push(NULL, &mgc_heap.central[s->spanclass], s, s->alloc_count == s->nelems);
    return false;
}

/* ** A span with at least one free slot, owned by the caller; NULL when
 * out of memory.  Must run in a no-preempt section. */
mspan *mgc_central_cache_span(gc_thread *t, mcentral *c) {
    uint32_t sg = mgc_sweepgen_of(t);
    mspan *s;
    int budget = SWEEP_BUDGET;

    mgc_lock(t, &c->lock);
    s = mgc_span_list_pop(partial_swept(c, sg));
    if (s) note_lists(c, mgc_sg_swept_set(sg));
    mgc_unlock(t, &c->lock);
    if (s) goto have;

    /* Sweep on demand: an unswept partial span is likely to have room;
     * full ones may have had slots freed by this cycle's mark.  A few at a
     * time, so the lock is taken twice per batch, not twice per span. */
    while (budget > 0 && sg == mgc_sweepgen()) { /* a stale view never sweeps */
        mspan *room = NULL;
        atomic_fetch_add(&mgc_sweep_active, 1);
        unsigned n = mgc_sweep_batch(t, c, sg, budget < DEMAND_BATCH ? budget : DEMAND_BATCH, &room);
        atomic_fetch_sub(&mgc_sweep_active, 1);
        if (room) {
            s = room;
            goto have;
        }
        if (n == 0) break;
        budget -= (int)n;
    }
    s = central_grow(t, c);
    if (!s) return NULL;
have:
    mgc_span_refill_alloc_cache(s);
    return s;
}

/* ** Give back to heap_live what a refill counted, never below 0: in the
 * handshake mode a thread may give back, after the end of a mark reset
 * heap_live, a span it cached before (gc/handshake.c). */
static void heap_live_sub(uint64_t bytes) {
    uint64_t v = atomic_load_explicit(&mgc_hstats.heap_live, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&mgc_hstats.heap_live, &v, v > bytes ? v - bytes : 0,
                                                  memory_order_relaxed, memory_order_relaxed)) {}
}

/* ** Take a span back from an mcache.  A span cached before the current
 * sweep began (sg+1) missed its sweep: sweep it now, which files it.
 * Otherwise give back to heap_live the free slots refill counted; a stale
 * span's count was already reset when marking ended. */
void mgc_central_uncache_span(gc_thread *t, mcentral *c, mspan *s) {
    uint64_t black = mgc_span_unmark_free(s);
    if (black) mgc_mark_add_black(black);
    uint32_t sg = mgc_sweepgen_of(t);
    if (atomic_load(&s->sweepgen) == mgc_sg_cached_unswept(sg)) {
        atomic_store(&s->sweepgen, mgc_sg_sweeping(sg)); /* by us */
        atomic_fetch_add(&mgc_sweep_active, 1);
        mgc_sweep_span(t, s, false);
        atomic_fetch_sub(&mgc_sweep_active, 1);
        return;
    }
    atomic_store(&s->sweepgen, mgc_sg_swept(sg));
    heap_live_sub((uint64_t)(s->nelems - s->alloc_count) * s->elemsize);
    mgc_central_push(t, c, s, s->alloc_count == s->nelems);
}
