/*
 * barrier.h -- what the write barrier (gc/barrier.c), its sanitizer
 * (gc/barriercheck.c) and the marker share.
 *
 * Which words of an object hold pointers is the span's business: every
 * word of a scan object, no word of a noscan one, and for a typed object
 * the words its pointer map names (runtime/typed.c).  The bulk barrier
 * shades, and the sanitizer compares, only those words: a typed object's
 * numbers may be written freely and are never taken for pointers.
 */
#ifndef MGC_BARRIER_H
#define MGC_BARRIER_H

#include "gc/gc.h"

/* ** Does span s keep a pointer map (a typed span whose objects are not all
 * pointers)?  Otherwise every word of a scan span is a pointer word. */
static inline bool mgc_span_has_ptrmap(const mspan *s) {
    return s->typed && (s->ptrbits || s->large_type);
}

/* ** Is the aligned word at p, inside span s with a pointer map, one of its
 * objects' pointer words?  The map of a live object is constant (written
 * before the object is published), read with relaxed atomics as the marker
 * does. */
static inline bool mgc_span_word_is_ptr(const mspan *s, uintptr_t p) {
    size_t k = (p - s->base) / 8;
    if (s->ptrbits) return (__atomic_load_n(&s->ptrbits[k / 64], __ATOMIC_RELAXED) >> (k % 64)) & 1;
    const gc_type *t = s->large_type;
    k %= t->nwords;
    return (t->mask[k / 64] >> (k % 64)) & 1;
}

/* ** Shade p for the write barrier: the two answers most stores get,
 * inline, and mgc_grey (a call, the span lookup, the allocated test, the
 * atomic mark) only for the rest.  "Already marked" comes from the span
 * the last shaded pointer fell in (w->last, valid for the whole mark: no
 * span is freed while marking), and a marked slot needs nothing whether
 * it is allocated or not, so returning is what mgc_grey would do too;
 * "not a heap pointer" (NULL above all: a fresh object's field) is the
 * heap's bounds.  A VM or a tree builder stores fresh objects (allocated
 * black) into fresh fields (NULL) all the time: binary-trees spent 13% of
 * its CPU in the marking barrier's calls before this (perf).  About 12
 * to 16 instructions for either answer (objdump of store_marking). */
static inline void mgc_shade(gcwork *w, uintptr_t p) {
    const mspan *s = w->last;
#ifdef __SANITIZE_THREAD__
    /* w->last came from the page table through an acquire in code
     * ThreadSanitizer does not instrument (mgc_span_of_heap), so it saw no
     * edge from the span's initialisation to the reads below and reported
     * them (lifecycle/a_program_that_uses_..., about one run in eight,
     * with a span struct reused from fixalloc).  The acquire of the state,
     * which mgc_heap_alloc publishes after the fields, is that edge. */
    if (s) (void)atomic_load_explicit(&((mspan *)s)->state, memory_order_acquire);
#endif
    if (s && p - s->base < s->limit - s->base) {
        if (mgc_mark_bit_get_racy(s, mgc_span_obj_index(s, p))) return;
    } else {
        uintptr_t lo = atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed);
        if (p - lo >= atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed) - lo) return;
    }
    mgc_grey(w, p);
}



/* ---- MGC_BARRIERCHECK (gc/barriercheck.c) --------------------------------
 * mgc_bc_on and mgc_bc_note_type are in runtime/collector.h (allocation
 * reports typed objects). */
HIDDEN void mgc_bc_init(int on);                  /* gc_init */
HIDDEN void mgc_bc_scan(const mspan *s, uintptr_t obj); /* a marker scans obj (or an oblet) */
HIDDEN void mgc_bc_store(void **slot, void *value); /* the barrier's store, while marking */
HIDDEN void mgc_bc_refresh(const mspan *s, uintptr_t lo, uintptr_t hi); /* after a bulk store */
HIDDEN void mgc_bc_terminate(void); /* mark termination, world stopped */
HIDDEN void mgc_bc_report(void);    /* after the world restarts */
#endif
