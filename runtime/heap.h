/*
 * heap.h -- the allocator: what runtime/ offers the rest of mgc.
 *
 * Arenas, pages, spans, size classes, the page heap (mheap), the central
 * span lists (mcentral), the per-thread caches (mcache), typed objects and
 * OS memory; the data structures are in runtime/types.h.  The allocator
 * calls into the collector only through runtime/collector.h.
 *
 * A thread may be stopped by a signal at any instruction, except inside a
 * no-preempt section (runtime/collector.h): everything here that leaves
 * shared metadata half-updated (the allocation fast path, refills,
 * sweeping a span, holding a runtime lock) runs inside one, so a stopped
 * world is always a consistent one.
 */
#ifndef MGC_HEAP_H
#define MGC_HEAP_H

#include "runtime/base.h"
#include "runtime/types.h"

/* The per-thread record is the collector's (gc/thread.h); the allocator
 * passes it along and reaches into it only through runtime/collector.h. */
typedef struct gc_thread gc_thread;

/* ---- globals ------------------------------------------------------------ */

extern HIDDEN mheap mgc_heap;
extern HIDDEN mspan mgc_empty_span;
extern HIDDEN _Atomic(heap_arena *) *mgc_arena_index;
extern HIDDEN _Atomic uintptr_t mgc_heap_lo, mgc_heap_hi;

/* Heap accounting (runtime/mheap.c), all atomic. */
typedef struct mgc_heap_stats {
    _Atomic uint64_t heap_sys;    /* arena bytes mapped */
    _Atomic uint64_t heap_inuse;  /* bytes in in-use spans */
    _Atomic uint64_t meta_sys;    /* metadata bytes mapped */
    _Atomic uint64_t heap_released; /* bytes of free spans marked released (runtime/scavenge.c) */
    _Atomic uint64_t heap_live;   /* pacing: marked + allocated since (span granularity) */
    _Atomic uint64_t freed_bytes; /* cumulative, by sweeping */
    _Atomic uint64_t nfree;       /* cumulative objects freed */
    _Atomic uint64_t nalloc_dead; /* counters of unregistered threads */
    _Atomic uint64_t alloc_bytes_dead;
    _Atomic uint64_t ntiny_dead;
} mgc_heap_stats;
extern HIDDEN mgc_heap_stats mgc_hstats;

/* ** Count allocations into a thread's cache counters: single writer (the
 * owner, or whoever holds the cache while the owner cannot run), so a
 * plain load and store, relaxed for the stats reader. */
static inline void mgc_count_alloc(mcache *c, uint64_t objects, uint64_t bytes) {
    atomic_store_explicit(&c->nalloc, atomic_load_explicit(&c->nalloc, memory_order_relaxed) + objects,
                          memory_order_relaxed);
    atomic_store_explicit(&c->alloc_bytes,
                          atomic_load_explicit(&c->alloc_bytes, memory_order_relaxed) + bytes,
                          memory_order_relaxed);
}

/* ---- the hard heap limit (runtime/malloc.c) ----------------------------- */

extern HIDDEN _Atomic size_t mgc_max_heap; /* 0: none */

/* ** Would bytes more of in-use spans pass the hard limit?  Then the
 * allocation fails softly: the caller sets t->over_limit, which tells
 * mallocgc to collect and retry before it gives up. */
static inline bool mgc_over_max_heap(size_t bytes) {
    size_t m = atomic_load_explicit(&mgc_max_heap, memory_order_relaxed);
    if (likely(m == 0)) return false;
    return atomic_load_explicit(&mgc_hstats.heap_inuse, memory_order_relaxed) + bytes > m;
}

/* ---- OS memory (runtime/os_linux.c) ------------------------------------ */

HIDDEN void *mgc_sys_alloc(size_t n, _Atomic uint64_t *stat);
HIDDEN void *mgc_sys_reserve_arena(size_t n);
HIDDEN void mgc_sys_free(void *p, size_t n, _Atomic uint64_t *stat);
HIDDEN bool mgc_sys_release(void *p, size_t n); /* drop the pages; they read as zero after */
HIDDEN void mgc_sys_hugepages(void *p, size_t n); /* madvise(MADV_HUGEPAGE); errors ignored */

/* ---- fixed-size metadata (runtime/fixalloc.c) -------------------------- */

HIDDEN mspan *mgc_span_struct_alloc(void);
HIDDEN void mgc_span_struct_free(mspan *s);
HIDDEN void mgc_bitmap_init(bool scan_bits);
HIDDEN uint64_t *mgc_bitmap_alloc(unsigned words);
HIDDEN void mgc_bitmap_free(uint64_t *b, unsigned words);
#define MGC_PTRBITS_WORDS_PER_PAGE (MGC_PAGE_SIZE / 8 / 64) /* 16: a bit per 8-byte word */
#define MGC_MAX_SMALL_NPAGES 16 /* checked against the size classes at init */
HIDDEN uint64_t *mgc_ptrbits_alloc(size_t npages);
HIDDEN void mgc_ptrbits_free(uint64_t *b, size_t npages);

/* ---- typed objects (runtime/typed.c, runtime/malloc.c) ------------------ */

HIDDEN void mgc_typed_write_bits(mspan *s, uintptr_t v, const gc_type *type, size_t count);
HIDDEN void *mgc_alloc_typed(const gc_type *type, size_t size, const char *fn);
HIDDEN gc_thread *mgc_thread_struct_alloc(void);
HIDDEN void mgc_thread_struct_free(gc_thread *t);

/* ---- arenas and span lookup (runtime/arena.c) --------------------------- */

HIDDEN int mgc_arena_init(void);
HIDDEN heap_arena *mgc_arena_register(uintptr_t base, size_t size);
/* Every in-use span, with the world stopped. */
HIDDEN void mgc_heap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg);

/* ** The span whose page holds p, or NULL.  Two loads after a range check:
 * the test every conservative word goes through.  The result may be stale
 * for pages not in use: callers check state and bounds. */
static inline mspan *mgc_span_of(uintptr_t p) {
    if (p < atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed) ||
        p >= atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed))
        return NULL;
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[p >> MGC_ARENA_SHIFT],
                                         memory_order_acquire);
    if (!a) return NULL;
    return __atomic_load_n(&a->spans[(p >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)],
                           __ATOMIC_ACQUIRE);
}

/* Racy readers of span structs: under ThreadSanitizer left uninstrumented
 * (in other builds the attribute is empty and they inline as before). */
#if defined(__SANITIZE_THREAD__)
#define MGC_RACY_READ_FN static __attribute__((no_sanitize("thread"), noinline, unused))
#else
#define MGC_RACY_READ_FN static inline
#endif

/* ** mgc_span_of_heap for a p already known to lie within the heap's
 * bounds (the marker's loop tests them first, from bounds it loaded): the
 * same answer without testing them again (2.5% of markrate's instructions,
 * callgrind). */
MGC_RACY_READ_FN mspan *mgc_span_of_heap_within(uintptr_t p) {
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[p >> MGC_ARENA_SHIFT],
                                         memory_order_acquire);
    if (!a) return NULL;
    mspan *s = __atomic_load_n(&a->spans[(p >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)],
                               __ATOMIC_ACQUIRE);
    if (!s || atomic_load_explicit(&s->state, memory_order_acquire) != SPAN_INUSE ||
        p < s->base || p >= s->limit)
        return NULL;
    return s;
}

/* ** The in-use span holding p in one of its slots, or NULL.  The span
 * struct read may be a stale one being recycled for another span (span
 * structs are reused, never unmapped): state, base and limit are checked
 * for exactly that, so the read is racy by design. */
MGC_RACY_READ_FN mspan *mgc_span_of_heap(uintptr_t p) {
    if (p < atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed) ||
        p >= atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed))
        return NULL;
    return mgc_span_of_heap_within(p);
}

/* ** The span holding p, where p is known to be inside an in-use span
 * (a grey object the marker itself found with mgc_span_of_heap, and no
 * span is freed while marking): the two loads alone, no range, arena or
 * state check. */
static inline mspan *mgc_span_of_unchecked(uintptr_t p) {
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[p >> MGC_ARENA_SHIFT],
                                         memory_order_acquire);
    return __atomic_load_n(&a->spans[(p >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)],
                           __ATOMIC_ACQUIRE);
}

static inline void mgc_arena_set_span(uintptr_t page_addr, mspan *s) {
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[page_addr >> MGC_ARENA_SHIFT],
                                         memory_order_relaxed);
    __atomic_store_n(&a->spans[(page_addr >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)], s,
                     __ATOMIC_RELEASE);
}

/* ---- spans (runtime/mspan.c) -------------------------------------------- */

/* ** Slot index of an address inside span s (no division: a multiply).
 * No branch for one-object spans: a large span's divmagic is 0, and a
 * small class's is exact for every offset in its span (the exhaustive test
 * in test/test_sizeclass.c), so both give 0 there. */
static inline __attribute__((always_inline)) unsigned mgc_span_obj_index(const mspan *s, uintptr_t p) {
    return (unsigned)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
}
static inline __attribute__((always_inline)) bool mgc_bit_get(const uint64_t *bits, unsigned i) {
    return (bits[i / 64] >> (i % 64)) & 1;
}
static inline void mgc_bit_set(uint64_t *bits, unsigned i) {
    bits[i / 64] |= (uint64_t)1 << (i % 64);
}
/* ** Allocated slot?  Slots below freeindex were handed out by the cache;
 * above it alloc_bits (the survivors of the last sweep) say. */
static inline bool mgc_span_is_allocated(const mspan *s, unsigned i) {
    return i < s->freeindex || mgc_bit_get(s->alloc_bits, i);
}
/* ** freeindex is written by its owner and read racily by markers and by
 * gc_base: relaxed atomic stores (plain moves on x86), so the reads are
 * well defined and ThreadSanitizer agrees. */
static inline void mgc_span_set_freeindex(mspan *s, unsigned v) {
    __atomic_store_n(&s->freeindex, (uint16_t)v, __ATOMIC_RELAXED);
}
/* The marker's per-pointer helpers below are always inlined: inlined into
 * the scan loop, which sanitizer builds keep uninstrumented (gc/mark.c
 * SCAN_LOOP_FN), their racy reads of span structs stay uninstrumented too;
 * left out of line at -O1 they were instrumented, and ThreadSanitizer saw
 * the page-table acquire that orders them only in uninstrumented code. */

/* ** The same, read while the owning mcache may be allocating from s (the
 * concurrent marker).  freeindex only grows during marking, and every slot
 * allocated before the mark began is below the value published by the
 * mark-setup stop; a slot allocated since is allocated black anyway. */
static inline __attribute__((always_inline)) bool mgc_span_is_allocated_racy(const mspan *s, unsigned i) {
    return i < __atomic_load_n(&s->freeindex, __ATOMIC_RELAXED) || mgc_bit_get(s->alloc_bits, i);
}
/* ** Mark bit i, read while markers may be setting bits of the same word
 * (the atomic OR below): a relaxed load, so the read is well defined. */
static inline __attribute__((always_inline)) bool mgc_mark_bit_get_racy(const mspan *s, unsigned i) {
    return (__atomic_load_n(&s->gcmark_bits[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1;
}
/* ** Set mark bit i; true if this call set it (markers race).  Test before
 * set: a bit already set costs a load, not a locked instruction. */
static inline __attribute__((always_inline)) bool mgc_mark_bit_set_atomic(mspan *s, unsigned i) {
    if (mgc_mark_bit_get_racy(s, i)) return false;
    uint64_t bit = (uint64_t)1 << (i % 64);
    return !(__atomic_fetch_or(&s->gcmark_bits[i / 64], bit, __ATOMIC_RELAXED) & bit);
}
/* ** The same, sequentially consistent: ordered before the caller's read
 * of the span's queued flag (gc/mark.c, span entries).  The same locked OR
 * on x86; on weaker machines a fence the default mark does not need. */
static inline __attribute__((always_inline)) bool mgc_mark_bit_set_sc(mspan *s, unsigned i) {
    if (mgc_mark_bit_get_racy(s, i)) return false;
    uint64_t bit = (uint64_t)1 << (i % 64);
    return !(__atomic_fetch_or(&s->gcmark_bits[i / 64], bit, __ATOMIC_SEQ_CST) & bit);
}
static inline unsigned mgc_span_bitmap_words(const mspan *s) {
    return (s->nelems + 63u) / 64u;
}

/* ** The scan bits (runtime/types.h, gcmark_bits): the third bitmap of the
 * block, whose first two the sweep swaps. */
static inline uint64_t *mgc_span_scan_bits(const mspan *s) {
    uint64_t *a = s->alloc_bits, *m = s->gcmark_bits;
    return (a < m ? a : m) + 2 * mgc_span_bitmap_words(s);
}

/* ** The span's queued flag (gc/mark.c, span entries): nonzero while a
 * work buffer holds an entry that will scan the span's marked, unscanned
 * objects.  Set (exchange) by the marker whose mark made the span grey,
 * cleared (exchange) by the marker that takes the entry, before it reads
 * the mark bits; all sequentially consistent with the mark bits' OR, so a
 * mark that misses the clear sees 0 and queues the span again.  Cleared
 * by the sweep with the scan bits.  The word after the scan bits. */
static inline uint64_t *mgc_span_queued_word(const mspan *s) {
    return mgc_span_scan_bits(s) + mgc_span_bitmap_words(s);
}

HIDDEN void mgc_span_init_objects(mspan *s, int spanclass);
HIDDEN void mgc_span_refill_alloc_cache(mspan *s);
HIDDEN unsigned mgc_span_next_free_index(mspan *s);
HIDDEN unsigned mgc_span_first_free(const mspan *s); /* where a sweep starts freeindex */
HIDDEN unsigned mgc_span_count_marked(const mspan *s);
HIDDEN void mgc_span_premark_free(mspan *s);
HIDDEN uint64_t mgc_span_unmark_free(mspan *s);

/* ---- sweep generations ----------------------------------------------------
 * mgc_heap.sweepgen (sg) rises by 2 per cycle, with the world stopped, at
 * mark termination.  A span's own sweepgen, against sg, says where the span
 * stands in this cycle's sweep (as Go's mspan.sweepgen):
 *     sg-2  needs sweeping             sg-1  being swept (claimed by CAS)
 *     sg    swept                      sg+1  cached before the sweep began
 *     sg+3  swept, then cached
 * Raising sg by 2 turns every swept span (sg) into one that needs sweeping
 * (the new sg-2) without touching it.  The mcentral lists are indexed by
 * the parity sg/2 % 2 for the same reason (runtime/mcentral.c). */
static inline uint32_t mgc_sweepgen(void) { return atomic_load(&mgc_heap.sweepgen); }
static inline uint32_t mgc_sg_needs_sweep(uint32_t sg) { return sg - 2; }
static inline uint32_t mgc_sg_sweeping(uint32_t sg) { return sg - 1; }
static inline uint32_t mgc_sg_swept(uint32_t sg) { return sg; }
static inline uint32_t mgc_sg_cached_unswept(uint32_t sg) { return sg + 1; }
static inline uint32_t mgc_sg_cached_swept(uint32_t sg) { return sg + 3; }
/* Which of an mcentral's two list sets holds swept spans; the other holds
 * the unswept ones. */
static inline unsigned mgc_sg_swept_set(uint32_t sg) { return (sg / 2) % 2; }
static inline unsigned mgc_sg_unswept_set(uint32_t sg) { return 1 - (sg / 2) % 2; }
/* ** Mark termination, world stopped: every span becomes unswept. */
static inline void mgc_sweepgen_advance(void) { atomic_fetch_add(&mgc_heap.sweepgen, 2); }

/* ---- page heap (runtime/mheap.c) ----------------------------------------- */

HIDDEN int mgc_heap_init(void);
HIDDEN mspan *mgc_heap_alloc(gc_thread *t, size_t npages, int spanclass);
HIDDEN void mgc_heap_free(gc_thread *t, mspan *s);
HIDDEN void mgc_heap_free_n(gc_thread *t, mspan *const *v, unsigned n);
/* Release one chunk of a free run to the OS (mheap lock held); all: any
 * run, else only runs free since before the last scavenger pass.  Returns
 * the bytes released, 0 if no run qualifies. */
HIDDEN size_t mgc_heap_release_locked(bool all);

/* ---- scavenger (runtime/scavenge.c) ---------------------------------------- */

HIDDEN int mgc_scavenger_start(void);

/* ---- central lists (runtime/mcentral.c) ----------------------------------- */

HIDDEN void mgc_central_init(mcentral *c, int spanclass);
HIDDEN mspan *mgc_central_cache_span(gc_thread *t, mcentral *c);
HIDDEN void mgc_central_uncache_span(gc_thread *t, mcentral *c, mspan *s);
HIDDEN void mgc_central_push(gc_thread *t, mcentral *c, mspan *s, bool full);
HIDDEN unsigned mgc_central_pop_unswept(gc_thread *t, mcentral *c, mspan **out, unsigned max);
HIDDEN void mgc_central_push_swept(gc_thread *t, mcentral *c, mspan **v, unsigned n);
HIDDEN bool mgc_central_has_unswept(int spanclass, uint32_t sg);
HIDDEN int mgc_central_next_unswept(int from, uint32_t sg); /* -1: none */
HIDDEN void mgc_span_list_push(span_list *l, mspan *s);
HIDDEN void mgc_span_list_remove(span_list *l, mspan *s);
HIDDEN mspan *mgc_span_list_pop(span_list *l);

/* ---- per-thread caches (runtime/mcache.c) ---------------------------------- */

HIDDEN void mgc_cache_init(mcache *c);
HIDDEN bool mgc_cache_refill(gc_thread *t, int spanclass);
HIDDEN void mgc_cache_release_all(gc_thread *t, mcache *c);
HIDDEN void mgc_cache_release_stale(gc_thread *t);
HIDDEN void mgc_cache_inflight(const mcache *c, uint64_t *objects, uint64_t *bytes);
HIDDEN bool mgc_central_claim(mspan *s, uint32_t sg);
HIDDEN void mgc_central_push_unswept(mcentral *c, mspan *s);

/* ---- allocation (runtime/malloc.c) --------------------------------------- */

HIDDEN void mgc_call_oom(size_t n);
/* Nonzero when any allocation-path debug mode is on (one load on the fast
 * path); set once by gc_init. */
extern HIDDEN int mgc_alloc_debug;

/* ---- the allocator's part of fork() (gc/fork.c drives it) ----------------- */

HIDDEN void mgc_fix_fork_lock(void);
HIDDEN void mgc_fix_fork_unlock(void);
HIDDEN int mgc_scavenger_fork_child(void);

#endif /* MGC_HEAP_H */
