/*
 * malloc.c -- gc_alloc and friends: the allocation paths.
 *
 * Three paths, by size, as in Go's mallocgc:
 *   tiny   pointer-free and under 16 bytes: bump inside the thread's current
 *          16-byte block; the block dies when every sub-object in it is dead.
 *   small  up to 32 KiB: a slot of the size class from the thread's cached
 *          span.  The fast path (small_fast) is a count-trailing-zeros over
 *          alloc_cache, no lock and no atomic, and no stack frame: every
 *          rarer case is a tail call.  About 47 instructions a call at 32
 *          bytes (gc_alloc's own, refills not counted: callgrind over
 *          alloc_bench), the size-class lookup and the no-preempt section
 *          included; the statistics count a span's slots when it leaves
 *          the cache, not each slot here.  A slot needs clearing
 *          only in a span that was not empty when cached (mcache.c clears
 *          an empty one whole).
 *   large  over 32 KiB: a span of its own straight from the page heap.
 *
 * The whole of an allocation is a no-preempt section (runtime/collector.h):
 * the collector may flush this thread's cache while it is stopped, which
 * would be fatal halfway through taking a slot.  A collection that the
 * allocation asked for (heap past its goal) starts when the section ends,
 * with the new object held in a local, so it survives.
 */
#include <sched.h>

#include "runtime/collector.h"
#include "runtime/heap.h"

static gc_oom_handler oom_handler; /* atomic via __atomic builtins */
int mgc_alloc_debug; /* set once by gc_init */

/* ** Take the next free slot from the cached span into *v, or false if
 * the slow path must run (cache word exhausted, span full, or no span).
 * A bool, not "0 for none": the caller's test is then the branches above,
 * where an address it had to test again cost two instructions a slot. */
static inline bool next_free_fast(mspan *s, uintptr_t *v) {
    uint64_t cache = s->alloc_cache;
    if (unlikely(cache == 0)) return false;
    unsigned bit = (unsigned)__builtin_ctzll(cache);
    unsigned result = s->freeindex + bit;
    if (unlikely(result >= s->nelems)) return false;
    unsigned next = result + 1;
    if (unlikely(next % 64 == 0 && next != s->nelems)) return false; /* reload alloc_cache */
    s->alloc_cache = (cache >> bit) >> 1;
    mgc_span_set_freeindex(s, next);
    s->alloc_count++;
    *v = s->base + (uintptr_t)result * s->elemsize;
    return true;
}

/* ** Slow path: search the span's bitmap, else refill the cache. */
static uintptr_t next_free_slow(gc_thread *t, int spanclass, mspan **sp) {
    mspan *s = t->cache.alloc[spanclass];
    unsigned idx = mgc_span_next_free_index(s);
    if (idx == s->nelems) {
        if (!mgc_cache_refill(t, spanclass)) return 0;
        s = t->cache.alloc[spanclass];
        idx = mgc_span_next_free_index(s);
        if (idx == s->nelems) mgc_throw("refill returned a full span of class %d", spanclass);
    }
    s->alloc_count++;
    *sp = s;
    return s->base + (uintptr_t)idx * s->elemsize;
}

void mgc_call_oom(size_t n) {
    gc_oom_handler h = __atomic_load_n(&oom_handler, __ATOMIC_ACQUIRE);
    if (h) h(n);
}

static void *alloc_misuse(const char *fn) {
    mgc_caller(fn, "returning NULL"); /* names the rule: register, gc_do_blocking, callback */
    return NULL;
}

/* ** Clear a reused slot.  Small slots with plain stores: a memset call, or
 * the `rep stos` GCC turns a plain loop into, costs several times more for
 * 16-64 bytes; the empty asm keeps the loop a loop.  Every slot is
 * 8-aligned and a multiple of 8 bytes (16 from 16 up). */
#define ZERO_INLINE_MAX 128
static inline void zero_slot(uintptr_t v, size_t n) {
    if (n <= ZERO_INLINE_MAX) {
        uint64_t *w = (uint64_t *)v, *end = (uint64_t *)(v + n);
        if (n & 8) *w++ = 0;
        while (w < end) {
            w[0] = 0;
            w[1] = 0;
            w += 2;
            __asm__("" : "+r"(w));
        }
    } else {
        memset((void *)v, 0, n);
    }
}

/* ** The end of taking slot v of s, inside the no-preempt section: clear
 * it if its span says so, write a typed object's pointer map (once the
 * section ends a stop may come and the object may be scanned).  Not
 * counted here: the statistics count a span's slots when it leaves the
 * cache (mcache.c), a few instructions a slot fewer. */
static inline __attribute__((always_inline)) void finish_slot(mspan *s, uintptr_t v, size_t size,
                                                              const gc_type *type) {
    if (s->needzero) zero_slot(v, s->elemsize);
    if (type) mgc_typed_write_bits(s, v, type, size / type->size);
}

/* ** A slot of size's class (the tiny allocator's blocks, and the retry at
 * the heap limit; gc_alloc itself takes small_fast). */
static inline __attribute__((always_inline)) void *malloc_small(gc_thread *t, size_t size, int kind,
                                                                const gc_type *type) {
    int spanclass = MGC_SPANCLASS(mgc_size_to_class(size), kind);
    mgc_nopreempt_begin(t);
    mspan *s = t->cache.alloc[spanclass];
    uintptr_t v;
    if (unlikely(!next_free_fast(s, &v))) {
        v = next_free_slow(t, spanclass, &s);
        if (!v) {
            mgc_nopreempt_end(t);
            if (!t->over_limit) mgc_call_oom(size); /* else mallocgc collects and retries */
            return NULL;
        }
    }
    finish_slot(s, v, size, type);
    mgc_nopreempt_end(t);
    return (void *)v;
}

static void *malloc_tiny(gc_thread *t, size_t size) {
    mcache *c = &t->cache;
    uintptr_t off = c->tinyoffset;
    /* Align as the size suggests: an 8-byte request may hold a double. */
    if ((size & 7) == 0) off = (off + 7) & ~(uintptr_t)7;
    else if ((size & 3) == 0) off = (off + 3) & ~(uintptr_t)3;
    else if ((size & 1) == 0) off = (off + 1) & ~(uintptr_t)1;
    if (c->tiny && off + size <= MGC_TINY_SIZE) {
        c->tinyoffset = off + size;
        mgc_count_alloc(c, 1, 0);
        atomic_store_explicit(&c->ntiny, atomic_load_explicit(&c->ntiny, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return (void *)(c->tiny + off);
    }
    void *v = malloc_small(t, MGC_TINY_SIZE, MGC_KIND_NOSCAN, NULL);
    if (!v) return NULL;
    /* Keep whichever block has more room left. */
    if (!c->tiny || size < c->tinyoffset) {
        c->tiny = (uintptr_t)v;
        c->tinyoffset = size;
    }
    return v;
}

static void *malloc_large(gc_thread *t, size_t size, int kind, const gc_type *type) {
    size_t npages = (size + MGC_PAGE_SIZE - 1) >> MGC_PAGE_SHIFT;
    if (mgc_over_max_heap(npages * MGC_PAGE_SIZE)) {
        t->over_limit = 1; /* mallocgc collects and retries */
        return NULL;
    }
    mgc_nopreempt_begin(t);
    mspan *s = mgc_heap_alloc(t, npages, MGC_SPANCLASS(0, kind));
    if (!s) {
        mgc_nopreempt_end(t);
        mgc_call_oom(size);
        return NULL;
    }
    if (s->needzero) memset((void *)s->base, 0, s->elemsize);
    s->large_type = type; /* before anything can scan the object */
    mgc_span_set_freeindex(s, 1);
    s->alloc_count = 1;
    s->alloc_cache = 0;
    if (t->black_sg == t->sg_view) {
        /* Allocate black (small objects are, span by span: mcache.c). */
        mgc_mark_bit_set_atomic(s, 0);
        mgc_mark_add_black(s->elemsize);
    }
    if (t->marking) {
        t->assist_debt += (int64_t)((double)s->elemsize * mgc_pacer_assist_ratio());
        if (t->assist_debt > 0) t->want_assist = 1;
    }
    atomic_fetch_add_explicit(&mgc_hstats.heap_live, s->elemsize, memory_order_relaxed);
    mgc_central_push(t, &mgc_heap.central[MGC_SPANCLASS(0, kind)], s, true);
    mgc_count_alloc(&t->cache, 1, s->elemsize);
    if (mgc_pacer_should_trigger()) t->want_gc = 1;
    /* Into a local before the section ends: a collection run (or a stop
     * taken) there must find the object on this stack, not only in the
     * span struct, which is never scanned. */
    void *obj = (void *)s->base;
    mgc_nopreempt_end(t);
    return obj;
}

static __attribute__((noinline)) void *debug_hook(gc_thread *t, void *p) {
    if (p) mgc_gc_torture(t); /* p, held here, survives the cycle */
    return p;
}

static void *alloc_once(gc_thread *t, size_t size, int kind, const gc_type *type) {
    if (kind == MGC_KIND_NOSCAN && size < MGC_TINY_SIZE) return malloc_tiny(t, size);
    if (size <= MGC_MAX_SMALL_SIZE) return malloc_small(t, size, kind, type);
    return malloc_large(t, size, kind, type);
}

/* ** The allocation hit the hard heap limit: collect at once (the sweep
 * frees what is dead), try again, and only then give up with the
 * out-of-memory handler. */
static __attribute__((noinline)) void *alloc_at_limit(gc_thread *t, size_t size, int kind,
                                                      const gc_type *type) {
    t->over_limit = 0;
    gc_collect();
    void *p = alloc_once(t, size, kind, type);
    if (!p && t->over_limit) {
        t->over_limit = 0;
        mgc_call_oom(size);
    }
    return p;
}

/* ** What every allocation does last: at the hard heap limit (p NULL,
 * over_limit set) collect and retry; under MGC_DEBUG_ALLOC the torture hook. */
static inline __attribute__((always_inline)) void *alloc_tail(gc_thread *t, void *p, size_t size,
                                                              int kind, const gc_type *type) {
    if (unlikely(!p) && t->over_limit) p = alloc_at_limit(t, size, kind, type);
    if (unlikely(mgc_alloc_debug)) return debug_hook(t, p);
    return p;
}

/* ** Every allocation but a small one: size 0, tiny, large, too large. */
static __attribute__((noinline)) void *mallocgc_other(gc_thread *t, size_t size, int kind,
                                                      const gc_type *type, const char *fn) {
    void *p;
    if (size <= MGC_MAX_SMALL_SIZE) {
        if (size == 0) size = 1; /* distinct pointers, as malloc(0) gives */
        if (kind == MGC_KIND_NOSCAN && size < MGC_TINY_SIZE) p = malloc_tiny(t, size);
        else p = malloc_small(t, size, kind, type);
    } else if (unlikely(size > MGC_MAX_ALLOC)) {
        mgc_warn("%s(%zu): larger than the largest object (2^40 bytes); a negative size or "
                 "an overflowed product? (returning NULL)", fn, size);
        mgc_call_oom(size);
        return NULL;
    } else {
        p = malloc_large(t, size, kind, type);
    }
    return alloc_tail(t, p, size, kind, type);
}

/* ** Slot v of s is taken, inside small_fast's section: finish it (the
 * paths that call: a large slot's memset, a typed object's map), end the
 * section, and finish as mallocgc would. */
static __attribute__((noinline)) void *small_finish(gc_thread *t, mspan *s, uintptr_t v, size_t size,
                                                    int kind, const gc_type *type) {
    finish_slot(s, v, size, type);
    void *p = (void *)v; /* a local across the section's end: a collection there finds it */
    mgc_nopreempt_end(t);
    return alloc_tail(t, p, size, kind, type);
}

/* ** small_fast found the fork gate raised (gated) or no slot at hand, in
 * the section it opened: wait at the gate, search the span's bitmap or
 * refill, and finish as mallocgc would. */
static __attribute__((noinline)) void *small_miss(gc_thread *t, size_t size, int kind,
                                                  const gc_type *type, bool gated) {
    int spanclass = MGC_SPANCLASS(mgc_size_to_class(size), kind);
    if (gated) mgc_nopreempt_gate(t);
    mspan *s = t->cache.alloc[spanclass];
    uintptr_t v;
    if (!next_free_fast(s, &v)) v = next_free_slow(t, spanclass, &s);
    if (v) return small_finish(t, s, v, size, kind, type);
    mgc_nopreempt_end(t);
    if (!t->over_limit) mgc_call_oom(size); /* else alloc_tail collects and retries */
    return alloc_tail(t, NULL, size, kind, type);
}

/* ** Leaving small_fast's section found a stop or a collection to take:
 * take it with the new object held here (so it survives), out of line. */
static __attribute__((noinline)) void *small_end_slow(gc_thread *t, void *p) {
    mgc_nopreempt_slow(t);
    if (unlikely(mgc_alloc_debug)) return debug_hook(t, p);
    return p;
}

/* ** A small object, 1 byte to 32 KiB, not tiny: a slot from the cached
 * span, with mgc_nopreempt_begin/end written out.  Everything but the
 * common case is a tail call, so the common case keeps no register across
 * a call and runs without a stack frame (that frame, and the tail of
 * mallocgc, were a seventh of gc_alloc's instructions). */
static inline __attribute__((always_inline)) void *small_fast(gc_thread *t, size_t size, int kind,
                                                              const gc_type *type) {
    int spanclass = MGC_SPANCLASS(mgc_size_to_class(size), kind);
    t->nopreempt++;
    atomic_signal_fence(memory_order_seq_cst);
    if (unlikely(atomic_load_explicit(&mgc_fork_gate, memory_order_relaxed)))
        return small_miss(t, size, kind, type, true);
    mspan *s = t->cache.alloc[spanclass];
    uintptr_t v;
    if (unlikely(!next_free_fast(s, &v))) return small_miss(t, size, kind, type, false);
    if (unlikely(type != NULL || (s->needzero && s->elemsize > ZERO_INLINE_MAX)))
        return small_finish(t, s, v, size, kind, type);
    finish_slot(s, v, size, NULL);
    atomic_signal_fence(memory_order_seq_cst);
    if (--t->nopreempt == 0 && unlikely(t->section_work)) /* MGC_TORTURE's hook too */
        return small_end_slow(t, (void *)v);
    return (void *)v;
}

/* ** Every allocation: kind is MGC_KIND_*, type the typed objects' type
 * (NULL otherwise; a constant in the untyped callers, so it costs them
 * nothing). */
static inline __attribute__((always_inline)) void *mallocgc(size_t size, int kind,
                                                            const gc_type *type, const char *fn) {
    gc_thread *t = mgc_self;
    if (unlikely(!t)) return alloc_misuse(fn);
    if (likely(size - 1 < MGC_MAX_SMALL_SIZE) && !(kind == MGC_KIND_NOSCAN && size < MGC_TINY_SIZE))
        return small_fast(t, size, kind, type);
    return mallocgc_other(t, size, kind, type, fn);
}

_Atomic size_t mgc_max_heap;

MGC_API size_t gc_set_max_heap(size_t limit) {
    return atomic_exchange(&mgc_max_heap, limit);
}

MGC_API void *gc_alloc(size_t n) { return mallocgc(n, MGC_KIND_SCAN, NULL, "gc_alloc"); }
MGC_API void *gc_alloc_noscan(size_t n) {
    return mallocgc(n, MGC_KIND_NOSCAN, NULL, "gc_alloc_noscan");
}

/* ** gc_alloc_typed and gc_alloc_typed_array (runtime/typed.c checks the
 * arguments): a type with no pointers is noscan, one with nothing but
 * pointers is a scan object (the same marking, without the map). */
void *mgc_alloc_typed(const gc_type *type, size_t size, const char *fn) {
    if (type->nptrs == 0) return mallocgc(size, MGC_KIND_NOSCAN, NULL, fn);
    if (type->nptrs == type->nwords) return mallocgc(size, MGC_KIND_SCAN, NULL, fn);
    void *p = mallocgc(size, MGC_KIND_TYPED, type, fn);
    if (unlikely(mgc_bc_on) && p) mgc_bc_note_type(p, type); /* for its reports' type names */
    return p;
}

MGC_API void *gc_alloc_array(size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        mgc_warn("gc_alloc_array(%zu, %zu): count * size overflows (returning NULL)", count, size);
        mgc_call_oom(SIZE_MAX);
        return NULL;
    }
    return mallocgc(n, MGC_KIND_SCAN, NULL, "gc_alloc_array");
}

/* ** The slot of s that p points into and whether it is allocated.  Racy by
 * design: a sweep may swap and clear the bitmaps, or the span may be freed
 * and reused, meanwhile; object_of's sweepgen check throws such answers
 * away, so ThreadSanitizer is told not to look. */
__attribute__((no_sanitize("thread"), noinline)) static bool slot_of_racy(const mspan *s,
                                                                        const void *p,
                                                                        uintptr_t *b) {
    /* Written out rather than through the header's inline helpers: a
     * helper the compiler does not inline would be instrumented. */
    unsigned i = s->nelems == 1 ? 0
                                : (unsigned)(((uint64_t)((uintptr_t)p - s->base) * s->divmagic) >> 32);
    *b = s->base + (uintptr_t)i * s->elemsize;
    if (i < s->freeindex) return true;
    const uint64_t *bits = s->alloc_bits;
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* ** Find the object p points into, consistently with a sweep that may be
 * swapping the span's bitmaps under us: read the span's sweepgen before
 * and after, and retry if a sweep ran in between (seqlock style). */
static mspan *object_of(const void *p, uintptr_t *base) {
    for (;;) {
        mspan *s = mgc_span_of_heap((uintptr_t)p);
        if (!s) return NULL;
        uint32_t g = atomic_load_explicit(&s->sweepgen, memory_order_acquire);
        if (g == mgc_sg_sweeping(mgc_sweepgen())) {
            sched_yield();
            continue;
        }
        uintptr_t b;
        bool alloc = slot_of_racy(s, p, &b);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->sweepgen, memory_order_relaxed) != g ||
            mgc_span_of_heap((uintptr_t)p) != s)
            continue;
        if (!alloc) return NULL;
        *base = b;
        return s;
    }
}

MGC_API void *gc_base(const void *p) {
    uintptr_t b;
    return object_of(p, &b) ? (void *)b : NULL;
}

MGC_API size_t gc_size(const void *p) {
    uintptr_t b;
    mspan *s = object_of(p, &b);
    return s ? s->elemsize : 0;
}

MGC_API gc_oom_handler gc_set_oom_handler(gc_oom_handler fn) {
    return __atomic_exchange_n(&oom_handler, fn, __ATOMIC_ACQ_REL);
}
