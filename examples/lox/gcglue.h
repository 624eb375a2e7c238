/*
 * gcglue.h -- the only place where the Lox VM names its garbage collector.
 *
 * The VM allocates, stores pointers, registers roots and keeps weak slots
 * through the heap_* calls below.  By default they are mgc's; built with
 * -DLOX_BOEHM they are Boehm GC's (a benchmark build: the same VM on the
 * other collector, never linked into libmgc).  Keeping the two behind one
 * small header is what makes the comparison fair: the interpreter source is
 * identical, only these few lines differ.
 */
#ifndef LOX_GCGLUE_H
#define LOX_GCGLUE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef LOX_BOEHM
#include <gc.h>

#define HEAP_NAME "Boehm GC"

static inline void heap_init(void) { GC_INIT(); }
/* Boehm collects only inside its allocation calls on the one mutator
 * thread, so nothing marks concurrently and a pointer store is a plain
 * store. */
#define heap_store(slot, value) ((void)(*(slot) = (value)))
static inline void *heap_alloc(size_t n) { return GC_MALLOC(n); }
static inline void *heap_alloc_noscan(size_t n) {
    void *p = GC_MALLOC_ATOMIC(n); /* Boehm does not zero atomic blocks */
    if (p) memset(p, 0, n);
    return p;
}
static inline void heap_add_roots(void *lo, void *hi) { GC_add_roots(lo, hi); }
static inline void heap_remove_roots(void *lo, void *hi) { GC_remove_roots(lo, hi); }
static inline void heap_collect(void) { GC_gcollect(); }
/* Disappearing links.  Boehm clears them inside a collection, which only
 * runs inside this thread's allocation calls, so a plain read is safe. */
static inline void heap_weak_clear(void **slot) {
    if (*slot) GC_unregister_disappearing_link(slot);
    *slot = NULL;
}
static inline void heap_weak_set(void **slot, void *obj) {
    heap_weak_clear(slot);
    *slot = obj;
    if (obj) GC_general_register_disappearing_link(slot, obj);
}
static inline void *heap_weak_get(void **slot) { return *slot; }
/* Boehm stops threads by signal; single-threaded here, nothing to park. */
static inline void *heap_blocking(void *(*fn)(void *), void *arg) { return fn(arg); }
static inline void heap_print_summary(FILE *out) {
    fprintf(out, "[Boehm GC] %lu collections, %lu ms total in full collections, heap %zu KB\n",
            (unsigned long)GC_get_gc_no(), GC_get_full_gc_total_time(),
            GC_get_heap_size() / 1024);
}

#else /* mgc */
#include <mgc.h>

#define HEAP_NAME "mgc"

static inline void heap_init(void) {
    /* gc_init registers the calling (main) thread: its stack and
     * registers become a conservatively scanned root. */
    if (gc_init(NULL) != GC_OK) {
        fprintf(stderr, "lox: gc_init failed\n");
        exit(74);
    }
}
#define heap_store(slot, value) gc_store(slot, value)
static inline void *heap_alloc(size_t n) { return gc_alloc(n); }
static inline void *heap_alloc_noscan(size_t n) { return gc_alloc_noscan(n); }
static inline void heap_add_roots(void *lo, void *hi) { gc_add_roots(lo, hi); }
static inline void heap_remove_roots(void *lo, void *hi) { gc_remove_roots(lo, hi); }
static inline void heap_collect(void) { gc_collect(); }
static inline void heap_weak_set(void **slot, void *obj) { gc_weak_slot_set(slot, obj); }
static inline void *heap_weak_get(void **slot) { return gc_weak_slot_get(slot); }
static inline void heap_weak_clear(void **slot) { gc_weak_slot_clear(slot); }
/* A blocking call (the REPL's read) runs parked: a cycle that is marking
 * scans this thread's stack as it was, without interrupting the read. */
static inline void *heap_blocking(void *(*fn)(void *), void *arg) { return gc_do_blocking(fn, arg); }
static inline void heap_print_summary(FILE *out) {
    gc_pause_summary s;
    gc_stats st;
    gc_get_pause_summary(&s);
    gc_get_stats(&st);
    fprintf(out,
            "[mgc] %llu collections, %llu pauses: total %.3f ms, max %.1f us; "
            "p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us (of the last %llu)\n",
            (unsigned long long)st.num_gc, (unsigned long long)s.count, s.total_ns / 1e6,
            s.max_ns / 1e3, s.p50_ns / 1e3, s.p90_ns / 1e3, s.p99_ns / 1e3, s.p999_ns / 1e3,
            (unsigned long long)s.recent);
    fprintf(out, "[mgc] pause histogram:");
    for (int i = 0; i < GC_PAUSE_BUCKETS; i++) {
        if (!s.hist[i]) continue;
        uint64_t lim = gc_pause_bucket_limit(i);
        if (lim == UINT64_MAX)
            fprintf(out, " [rest]=%llu", (unsigned long long)s.hist[i]);
        else
            fprintf(out, " <%gus=%llu", lim / 1e3, (unsigned long long)s.hist[i]);
    }
    fprintf(out, "\n[mgc] allocated %.1f MB in %llu objects, freed %llu; MMU(10 ms) %.3f\n",
            st.total_alloc / 1e6, (unsigned long long)st.num_alloc,
            (unsigned long long)st.num_free, gc_mmu(10 * 1000 * 1000, 0));
}
#endif

#endif /* LOX_GCGLUE_H */
