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

/* Starts Boehm GC and times its collections (gcglue.c). */
void heap_init(void);
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
/* Boehm scans all roots with the world stopped: thread roots are roots. */
static inline void heap_add_thread_roots(void *lo, void *hi) { GC_add_roots(lo, hi); }
static inline void heap_remove_thread_roots(void *lo, void *hi) { GC_remove_roots(lo, hi); }
static inline void heap_store_range(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
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
/* Pause counts and times (gcglue.c). */
void heap_print_summary(FILE *out);

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
/* This thread's own ranges (the VM's stack and frames): scanned with its
 * stack, written with plain stores.  Same lo again grows the range. */
static inline void heap_add_thread_roots(void *lo, void *hi) {
    if (gc_add_thread_roots(lo, hi) != GC_OK) exit(70); /* mgc printed why */
}
static inline void heap_remove_thread_roots(void *lo, void *hi) { gc_remove_thread_roots(lo, hi); }
/* memmove of values into the heap, the barrier applied once per call. */
static inline void heap_store_range(void *dst, const void *src, size_t n) { gc_store_range(dst, src, n); }
static inline void heap_collect(void) { gc_collect(); }
static inline void heap_weak_set(void **slot, void *obj) { gc_weak_slot_set(slot, obj); }
static inline void *heap_weak_get(void **slot) { return gc_weak_slot_get(slot); }
static inline void heap_weak_clear(void **slot) { gc_weak_slot_clear(slot); }
/* A blocking call (the REPL's read) runs parked: a cycle that is marking
 * scans this thread's stack as it was, without interrupting the read. */
static inline void *heap_blocking(void *(*fn)(void *), void *arg) { return gc_do_blocking(fn, arg); }
/* The collector's pause summary (gcglue.c). */
void heap_print_summary(FILE *out);
#endif

#endif /* LOX_GCGLUE_H */
