/*
 * roots.c -- root ranges registered by the program.
 *
 * Globals, VM tables and malloc'd memory that hold heap pointers are
 * registered as ranges [start, end) and scanned conservatively at every
 * collection, word by aligned word.  The table is a growable array under
 * roots_lock (registered threads take it only inside a no-preempt section,
 * so none is stopped holding it).
 *
 * During a concurrent mark the ranges are scanned by the markers in 64 KiB
 * chunks, each under roots_lock, so gc_remove_roots() never frees memory a
 * marker is reading.  Each range has a cursor: where its scan has got to
 * this cycle.  Mark setup (world stopped) rewinds every cursor; a range
 * added while marking starts unscanned; mark termination requires every
 * cursor at its end.  Root ranges are scanned concurrently like heap
 * objects, so stores of heap pointers into them go through gc_store(): the
 * write barrier is what makes a concurrent scan of memory the program is
 * changing correct.
 */
#include <stdlib.h>

#include "runtime/internal.h"

typedef struct root_range {
    uintptr_t lo, hi;  /* as given */
    uintptr_t cursor;  /* next word to scan this cycle (aligned); roots_lock */
} root_range;

#define ROOT_CHUNK (64 * 1024)

static uintptr_t align_up(uintptr_t p) { return (p + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1); }
static uintptr_t align_down(uintptr_t p) { return p & ~(uintptr_t)(sizeof(void *) - 1); }

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static root_range *roots;   /* roots_lock */
static size_t nroots, cap_roots;

void mgc_roots_init(void) {}

/* ** Validate a range given to gc_add_roots/gc_remove_roots. */
static bool range_ok(const char *fn, void *start, void *end) {
    if (!start || !end) {
        mgc_warn("%s(%p, %p): NULL bound; pass the first byte and one past the last byte "
                 "of the range", fn, start, end);
        return false;
    }
    if ((uintptr_t)start > (uintptr_t)end) {
        mgc_warn("%s(%p, %p): start is above end; pass (start, end) in address order", fn,
                 start, end);
        return false;
    }
    /* Memory of this process lies above the zero page and below the top
     * of the user address space: a range outside cannot be (scanning it
     * would crash the next collection). */
    if ((uintptr_t)start < 4096 || (uintptr_t)end > ((uintptr_t)1 << (MGC_ADDR_BITS - 1))) {
        mgc_warn("%s(%p, %p): not memory of this process (outside the user address space); "
                 "pass the bounds of a global, a malloc'd block or a mapped region", fn, start, end);
        return false;
    }
    return true;
}

MGC_API void gc_add_roots(void *start, void *end) {
    if (!range_ok("gc_add_roots", start, end)) return;
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    while (nroots == cap_roots) {
        /* Grow outside the lock and the no-preempt section: malloc may wait
         * for its own lock, held by a thread a collector has stopped, and a
         * thread in a no-preempt section must never wait on one. */
        size_t ncap = cap_roots ? cap_roots * 2 : 64;
        mgc_unlock(t, &roots_lock);
        root_range *n = malloc(ncap * sizeof *n);
        if (!n) {
            mgc_warn("gc_add_roots(%p, %p): out of memory for the root table", start, end);
            return;
        }
        mgc_lock(t, &roots_lock);
        root_range *old = NULL;
        if (cap_roots < ncap) {
            if (nroots) memcpy(n, roots, nroots * sizeof *n);
            old = roots;
            roots = n;
            cap_roots = ncap;
        } else {
            old = n; /* another thread grew it meanwhile */
        }
        if (old) {
            /* free() outside the section too. */
            mgc_unlock(t, &roots_lock);
            free(old);
            mgc_lock(t, &roots_lock);
        }
    }
    roots[nroots].lo = (uintptr_t)start;
    roots[nroots].hi = (uintptr_t)end;
    /* Added while marking: the markers still have to scan it this cycle. */
    roots[nroots].cursor = atomic_load(&mgc_marking) ? align_up((uintptr_t)start) : align_down((uintptr_t)end);
    nroots++;
    mgc_unlock(t, &roots_lock);
}

MGC_API void gc_remove_roots(void *start, void *end) {
    if (!range_ok("gc_remove_roots", start, end)) return;
    gc_thread *t = mgc_self;
    size_t removed = 0;
    mgc_lock(t, &roots_lock);
    for (size_t i = 0; i < nroots;) {
        if (roots[i].lo >= (uintptr_t)start && roots[i].hi <= (uintptr_t)end) {
            roots[i] = roots[--nroots];
            removed++;
        } else {
            i++;
        }
    }
    mgc_unlock(t, &roots_lock);
    if (!removed)
        mgc_warn("gc_remove_roots(%p, %p): no range added with gc_add_roots() lies inside; "
                 "pass the same bounds given to gc_add_roots()", start, end);
}

/* ** Call fn on every root range (aligned inward); the world is stopped. */
uint64_t mgc_roots_each(mgc_range_fn fn, void *arg) {
    uint64_t bytes = 0;
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < nroots; i++) {
        uintptr_t lo = align_up(roots[i].lo), hi = align_down(roots[i].hi);
        if (hi > lo) {
            fn(lo, hi, arg);
            bytes += hi - lo;
        }
        roots[i].cursor = hi;
    }
    pthread_mutex_unlock(&roots_lock);
    return bytes;
}

uint64_t mgc_roots_bytes(void) {
    uint64_t bytes = 0;
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < nroots; i++)
        if (align_down(roots[i].hi) > align_up(roots[i].lo))
            bytes += align_down(roots[i].hi) - align_up(roots[i].lo);
    pthread_mutex_unlock(&roots_lock);
    return bytes;
}

/* ** Mark setup: every range is to be scanned again. */
void mgc_roots_mark_begin(void) {
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < nroots; i++) roots[i].cursor = align_up(roots[i].lo);
    pthread_mutex_unlock(&roots_lock);
}

/* ** Claim and scan the next chunk of some range, holding roots_lock so the
 * range cannot be removed under us.  False when every range is done. */
bool mgc_roots_scan_chunk(mgc_range_fn fn, void *arg) {
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    for (size_t i = 0; i < nroots; i++) {
        uintptr_t hi = align_down(roots[i].hi);
        if (roots[i].cursor >= hi) continue;
        uintptr_t lo = roots[i].cursor;
        uintptr_t end = hi - lo > ROOT_CHUNK ? lo + ROOT_CHUNK : hi;
        roots[i].cursor = end;
        fn(lo, end, arg);
        mgc_unlock(t, &roots_lock);
        return true;
    }
    mgc_unlock(t, &roots_lock);
    return false;
}

bool mgc_roots_pending(void) {
    bool pending = false;
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    for (size_t i = 0; i < nroots && !pending; i++) pending = roots[i].cursor < align_down(roots[i].hi);
    mgc_unlock(t, &roots_lock);
    return pending;
}

void mgc_roots_fork_lock(void) { pthread_mutex_lock(&roots_lock); }
void mgc_roots_fork_unlock(void) { pthread_mutex_unlock(&roots_lock); }
