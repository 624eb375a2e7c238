/*
 * fork.c -- fork() in a program that uses mgc: the parent goes on as
 * before, the child gets a working collector with one thread.
 *
 * POSIX copies only the forking thread into the child, with every mutex
 * as it was: a lock another thread held at the instant of fork() stays
 * held forever in the child, and the data behind it may be half updated.
 * So (as Boehm GC's GC_atfork_prepare does) the forking thread first
 * brings the library to a quiet point and holds it there across fork():
 *
 *   1. no collection runs and none can start: it waits for the coordinator
 *      to be idle and keeps the request lock (cmu);
 *   2. every other registered thread is out of the runtime (in no
 *      no-preempt section, holding none of its locks) and kept out: the
 *      forking thread does it itself, since no collector can, and without
 *      parking anyone, since a thread parked inside malloc would hang
 *      glibc's fork() (gc/stw.c, "fork quiesce");
 *   3. it takes the locks the library's unregistered threads and the
 *      program's unregistered threads may hold: the unregistered
 *      barrier's, the heap's (the scavenger), the specials', the roots',
 *      the mark workers', the metadata allocator's.
 *
 * The parent releases everything and restarts the world.  The child
 * releases the locks it holds, forgets the threads that do not exist in
 * it (their caches go back to the heap; what only their stacks kept alive
 * is garbage now), re-creates the condition variables and the locks no
 * one could be made to release (event ring, trace buffers: statistics,
 * not the heap), and starts the library's threads again: coordinator, mark
 * workers, scavenger, and the finalizer thread if there was one.  A trace
 * file stays the parent's: the child stops writing to it.
 *
 * A fork from inside a finalizer, a phase callback or a notifier (library
 * threads) is not supported.
 */
#include "gc/gc.h"
#include "gc/special.h"

const pthread_cond_t mgc_fresh_cond = PTHREAD_COND_INITIALIZER;

static void prepare(void) {
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire)) return;
    mgc_gc_fork_hold(mgc_self);
    mgc_quiesce_for_fork(); /* not mgc_stop_the_world: see gc/stw.c */
    /* In the order of runtime/lockrank.h, so no other path can be waiting
     * in the opposite order.  The workers' lock comes late: a mark drains,
     * and so may wake the workers, under the unregistered barrier's lock
     * and the heap's. */
    mgc_barrier_lock_unregistered();
    mgc_mutex_lock(&mgc_heap.lock);
    mgc_mutex_lock(&mgc_special_lock);
    mgc_roots_fork_lock();
    mgc_workers_fork_lock();
    mgc_fix_fork_lock();
}

/* ** Before the child hands other threads' caches back (mcentral, heap):
 * no lock above those may still be held. */
static void release_locks(void) {
    mgc_fix_fork_unlock();
    mgc_workers_fork_unlock();
    mgc_roots_fork_unlock();
    mgc_mutex_unlock(&mgc_special_lock);
    mgc_mutex_unlock(&mgc_heap.lock);
    mgc_barrier_unlock_unregistered();
}

static void parent(void) {
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire)) return;
    release_locks();
    mgc_unquiesce_after_fork();
    mgc_gc_fork_release();
}

static void child(void) {
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire)) return;
    release_locks();
    mgc_threads_fork_child(); /* threads lock still held: only we are left */
    mgc_unquiesce_after_fork(); /* nobody to restart; releases the threads lock */
    mgc_trace_fork_child();
    mgc_stats_fork_child();
    mgc_workers_fork_child(); /* re-creates their state */
    mgc_fin_fork_child();
    mgc_gc_fork_child();      /* re-creates cmu's condvars, releases cmu */
    int rc = mgc_gc_init();   /* coordinator and mark workers */
    if (rc == GC_OK) rc = mgc_scavenger_fork_child();
    if (rc == GC_OK) rc = mgc_fin_restart_thread();
    if (rc != GC_OK)
        mgc_warn("fork: the child could not restart the collector's threads (%s); "
                 "allocation works until the heap fills", gc_strerror(rc));
}

void mgc_fork_init(void) {
    if (pthread_atfork(prepare, parent, child) != 0)
        mgc_warn("gc_init: pthread_atfork failed; fork() in a threaded program may deadlock "
                 "the child's collector");
}
