/*
 * roots.c -- root ranges registered by the program.
 *
 * Globals, VM tables and malloc'd memory that hold heap pointers are
 * registered as ranges [start, end) and scanned conservatively at every
 * collection, word by aligned word.  The table is a growable array under
 * roots_lock; the collector reads it with the world stopped, holding the
 * same lock (registered threads only take it inside a no-preempt section,
 * so none is stopped holding it).
 */
#include <stdlib.h>

#include "runtime/internal.h"

typedef struct root_range { uintptr_t lo, hi; } root_range;

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
    return true;
}

MGC_API void gc_add_roots(void *start, void *end) {
    if (!range_ok("gc_add_roots", start, end)) return;
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    if (nroots == cap_roots) {
        size_t ncap = cap_roots ? cap_roots * 2 : 64;
        root_range *n = realloc(roots, ncap * sizeof *n);
        if (!n) {
            mgc_unlock(t, &roots_lock);
            mgc_warn("gc_add_roots(%p, %p): out of memory for the root table", start, end);
            return;
        }
        roots = n;
        cap_roots = ncap;
    }
    /* Kept as given, so gc_remove_roots() matches the same bounds; the
     * scan rounds inward to whole aligned words. */
    roots[nroots].lo = (uintptr_t)start;
    roots[nroots].hi = (uintptr_t)end;
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
        uintptr_t lo = (roots[i].lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
        uintptr_t hi = roots[i].hi & ~(uintptr_t)(sizeof(void *) - 1);
        if (hi > lo) {
            fn(lo, hi, arg);
            bytes += hi - lo;
        }
    }
    pthread_mutex_unlock(&roots_lock);
    return bytes;
}
