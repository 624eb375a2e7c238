/*
 * barrier.c -- gc_store, the write barrier.
 *
 * Go's hybrid barrier: while marking, a store of a pointer into the heap
 * (or a root range) shades both the pointer it overwrites and the one it
 * stores, then stores.  Shading the old value (Yuasa's deletion barrier)
 * stops the program from hiding an object by moving its only pointer from
 * an unscanned place into an already-scanned stack; shading the new value
 * (Dijkstra's insertion barrier) stops a pointer from an unscanned stack
 * landing in a black object.  Together they let each stack be scanned once,
 * with only its own thread stopped, and never rescanned.
 *
 * The whole barrier -- reading the marking flag, shading, storing -- is one
 * no-preempt section.  The flag changes only with the world stopped, and a
 * thread is never stopped inside such a section (the stop is deferred to
 * its end: see gc/stw.c), so a store is either entirely before mark setup
 * (plain store, and the setup's stack and root scans will see its result)
 * or entirely within the mark (barrier applied).  Without that, a thread
 * stopped between "flag is off" and its store could overwrite a pointer
 * after marking started without shading it.
 *
 * Shaded objects go to the thread's own gcwork, published to the global
 * pool when a buffer fills and flushed at mark termination.  Cost outside
 * marking: the TLS load, two counter updates and a predictable branch.
 */
#include "gc/workbuf.h"

static pthread_mutex_t unregistered_lock = PTHREAD_MUTEX_INITIALIZER;
static gcwork unregistered_gcw; /* unregistered_lock */

/* ** The store while marking: shade the old and the new value (Go's hybrid
 * barrier), inside the no-preempt section the caller opened. */
static __attribute__((noinline)) void store_marking(gc_thread *t, void **slot, void *value) {
    mgc_grey(&t->gcw, (uintptr_t)*(void *volatile *)slot);
    mgc_grey(&t->gcw, (uintptr_t)value);
    *(void *volatile *)slot = value;
    mgc_nopreempt_end(t);
}

/* ** A NULL slot is refused.  An unregistered thread is never stopped, so
 * it cannot straddle a stop; it shades into a shared buffer flushed
 * straight to the pool. */
static __attribute__((noinline)) void store_unregistered(void **slot, void *value) {
    if (!slot) {
        mgc_warn("gc_store: the slot is NULL; pass the address of the field or variable to "
                 "store into (nothing stored)");
        return;
    }
    if (atomic_load(&mgc_marking)) {
        pthread_mutex_lock(&unregistered_lock);
        mgc_grey(&unregistered_gcw, (uintptr_t)*(void *volatile *)slot);
        mgc_grey(&unregistered_gcw, (uintptr_t)value);
        mgc_gcwork_dispose(&unregistered_gcw);
        unregistered_gcw.last = NULL;
        mgc_gcwork_account(&unregistered_gcw);
        pthread_mutex_unlock(&unregistered_lock);
    }
    *(void *volatile *)slot = value;
}

/* The common case -- a registered thread, a slot, no mark running -- is
 * the TLS load, the no-preempt count up, one load of the flag, the store,
 * the count down and one test of the thread's pending requests: about 20
 * instructions on x86-64 and no register saved, the rare cases being tail
 * calls (it saved four registers when they were inline). */
MGC_API void gc_store_ptr(void **slot, void *value) {
    gc_thread *t = mgc_self;
    if (unlikely(t == NULL || slot == NULL)) {
        store_unregistered(slot, value);
        return;
    }
    mgc_nopreempt_begin(t);
    if (unlikely(atomic_load_explicit(&mgc_marking, memory_order_relaxed))) {
        store_marking(t, slot, value);
        return;
    }
    *(void *volatile *)slot = value;
    mgc_nopreempt_end(t);
}

/* ** Mark termination holds this around turning the barrier off, so an
 * unregistered thread's shading is either flushed before (and seen as new
 * work) or not done at all. */
void mgc_barrier_lock_unregistered(void) { pthread_mutex_lock(&unregistered_lock); }
void mgc_barrier_unlock_unregistered(void) { pthread_mutex_unlock(&unregistered_lock); }
