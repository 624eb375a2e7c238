/*
 * thread.c -- registered threads: the roots that move.
 *
 * Each registered thread has a gc_thread (its allocation cache, its stack
 * bounds, its no-preempt state), found through the thread-local mgc_self.
 * All threads are on one list, protected by the threads lock; the collector
 * holds that lock from the moment it stops the world until it restarts it,
 * so the set of threads it stopped is the set it scans and restarts.
 *
 * A thread that exits while registered is unregistered by a pthread key
 * destructor, so the collector never signals a dead thread -- also when it
 * exits from inside gc_do_blocking's fn (pthread_cancel of a thread
 * blocked in read() there): the destructor leaves the park first.
 *
 * Inside gc_do_blocking's fn the thread is parked (gc/stw.c) and counts as
 * unregistered: mgc_self is NULL and parked_self holds its gc_thread.  So
 * every call made there behaves as for an unregistered thread, which is
 * safe by construction (such a thread is never stopped, it stores through
 * the shared barrier buffer): gc_store, gc_base, gc_get_stats and
 * gc_collect work; gc_alloc is refused, since the new object would be held
 * only by frames the collector does not scan.  The library's own parked
 * waits reached from there run unparked-nested (mgc_parked), and fork()
 * keeps the forking thread, found through mgc_me().
 *
 * Library threads (coordinator, mark workers, scavenger, trace writer,
 * finalizer) carry library_thread, so a misused call from a phase callback
 * or a notifier (run on the coordinator) names the rule for callbacks
 * instead of telling the caller to register.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gc/gc.h"

__thread gc_thread *mgc_self __attribute__((tls_model("initial-exec")));
/* Owner: the thread (its signal handler reads both).  Set for the length
 * of gc_do_blocking's fn, while mgc_self is NULL. */
static __thread gc_thread *parked_self __attribute__((tls_model("initial-exec")));
gc_thread *mgc_all_threads;
uint64_t mgc_num_threads; /* written under the threads lock, read atomically without it */
_Atomic long mgc_num_parked; /* gc/stw.c mgc_park_call and mgc_unpark */

/* ** How many registered threads may be running the program now: what the
 * mark workers' CPU share and the pacer's runway count as busy CPUs. */
long mgc_threads_running(void) {
    long n = (long)__atomic_load_n(&mgc_num_threads, __ATOMIC_RELAXED) -
             atomic_load_explicit(&mgc_num_parked, memory_order_relaxed);
    return n > 0 ? n : 0;
}
static mgc_mutex threads_lock = MGC_MUTEX_INIT(THREADS);
static pthread_key_t exit_key;

static void unregister(gc_thread *t);

void mgc_threads_lock(void) { mgc_mutex_lock(&threads_lock); }
void mgc_threads_unlock(void) { mgc_mutex_unlock(&threads_lock); }
bool mgc_threads_trylock(void) { return mgc_mutex_trylock(&threads_lock) == 0; }

static void *lock_threads_fn(void *arg) {
    (void)arg;
    mgc_mutex_lock(&threads_lock);
    return NULL;
}

/* ** The threads lock for a thread outside the runtime: a stopper may hold
 * the lock while it waits for this (registered) thread, so wait parked
 * (gc/stw.c; t NULL: unregistered, simply wait).  Once we have the lock no stopper is active, so we
 * leave the parked state at once. */
void mgc_threads_lock_parked(gc_thread *t) { mgc_parked(t, lock_threads_fn, NULL); }

gc_thread *mgc_me(void) { return mgc_self ? mgc_self : parked_self; }

/* ** Key destructor: a registered thread is exiting without having said so
 * (it returned, called pthread_exit or was cancelled), perhaps from inside
 * gc_do_blocking's fn, still parked. */
static void thread_exit_hook(void *arg) {
    gc_thread *t = arg;
    if (t && parked_self == t) {
        mgc_unpark(t);
        mgc_self = t;
        parked_self = NULL;
    }
    if (t && mgc_self == t) unregister(t);
}

int mgc_threads_init(void) {
    if (pthread_key_create(&exit_key, thread_exit_hook) != 0) return GC_ESYS;
    return GC_OK;
}

/* ** Where this thread's stack ends (it grows down from stack_hi). */
static int stack_bounds(uintptr_t *lo, uintptr_t *hi) {
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return -1;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0) return -1;
    *lo = (uintptr_t)addr;
    *hi = (uintptr_t)addr + size;
    return 0;
}

int mgc_thread_register_self(void) {
    if (mgc_self) return GC_EALREADY;
    gc_thread *t = mgc_thread_struct_alloc();
    if (!t) return GC_ENOMEM;
    if (stack_bounds(&t->stack_lo, &t->stack_hi) != 0) {
        mgc_thread_struct_free(t);
        mgc_warn("gc_register_thread: cannot find the calling thread's stack "
                 "(pthread_getattr_np failed)");
        return GC_ESYS;
    }
    mgc_cache_init(&t->cache);
    memset(&t->roots, 0, sizeof t->roots);
    t->alloc_hook = mgc_alloc_debug != 0; /* MGC_TORTURE */
    t->pthread = pthread_self();
    t->tid = (int)gettid();
    /* Joining the list blocks while a collection has the world stopped;
     * we are not yet registered, so nobody waits for us meanwhile. */
    static int next_id; /* threads lock */
    mgc_threads_lock();
    t->id = ++next_id;
    /* Join the cycle where it stands (changed only with this lock held). */
    t->marking = atomic_load(&mgc_marking);
    t->black_sg = atomic_load(&mgc_black_sg);
    t->sg_view = mgc_sweepgen();
    t->next = mgc_all_threads;
    t->prev = NULL;
    if (mgc_all_threads) mgc_all_threads->prev = t;
    mgc_all_threads = t;
    __atomic_fetch_add(&mgc_num_threads, 1, __ATOMIC_RELAXED);
    mgc_self = t;
    mgc_threads_unlock();
    pthread_setspecific(exit_key, t);
    if (mgc_trace_file_on) {
        char name[32];
        snprintf(name, sizeof name, "mutator %d", t->id);
        mgc_trace_thread_name(t->id, name);
    }
    return GC_OK;
}

/* ** Give the cache back, fold the counters into the totals, leave. */
static void unregister(gc_thread *t) {
    /* The cache release takes runtime locks (no-preempt), and leaving the
     * list takes the threads lock, which a collector may hold while it waits
     * for us to stop: so lock only with nopreempt == 0, then hold the
     * threads lock while we are still on the list but out of the runtime. */
    mgc_nopreempt_begin(t);
    mgc_cache_release_all(t, &t->cache);
    mgc_mark_flush_thread(t); /* barrier shades and black bytes of this cycle */
    mgc_nopreempt_end(t);
    mgc_threads_lock_parked(t);
    /* With the threads lock held no collector can be stopping us. */
    atomic_fetch_add(&mgc_hstats.nalloc_dead, atomic_load(&t->cache.nalloc));
    atomic_fetch_add(&mgc_hstats.alloc_bytes_dead, atomic_load(&t->cache.alloc_bytes));
    atomic_fetch_add(&mgc_hstats.ntiny_dead, atomic_load(&t->cache.ntiny));
    if (t->prev) t->prev->next = t->next;
    else mgc_all_threads = t->next;
    if (t->next) t->next->prev = t->prev;
    __atomic_fetch_sub(&mgc_num_threads, 1, __ATOMIC_RELAXED);
    mgc_self = NULL;
    mgc_threads_unlock();
    pthread_setspecific(exit_key, NULL);
    mgc_thread_roots_drop(t);
    mgc_thread_struct_free(t);
}

MGC_API int gc_register_thread(void) {
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire)) {
        mgc_warn("gc_register_thread: called before gc_init(); call gc_init(NULL) once at "
                 "the start of the program");
        return GC_ENOTINIT;
    }
    if (parked_self) {
        mgc_warn("gc_register_thread: called inside the fn of gc_do_blocking(); the thread is "
                 "registered already (it counts as unregistered only until fn returns)");
        return GC_EALREADY;
    }
    if (mgc_self) {
        mgc_warn("gc_register_thread: this thread is already registered; register each "
                 "thread once");
        return GC_EALREADY;
    }
    return mgc_register_caller("gc_register_thread");
}

/* ** Register the calling thread for a public call, with its stop signals
 * unblocked (gc/stw.c). */
int mgc_register_caller(const char *call) {
    mgc_check_stop_signals(call);
    return mgc_thread_register_self();
}

MGC_API void gc_unregister_thread(void) {
    gc_thread *t = mgc_self;
    if (!t && parked_self) {
        mgc_warn("gc_unregister_thread: called inside the fn of gc_do_blocking(); unregister "
                 "after gc_do_blocking returns (nothing done)");
        return;
    }
    if (!t) {
        mgc_warn("gc_unregister_thread: the calling thread is not registered; nothing to do");
        return;
    }
    unregister(t);
}

MGC_API int gc_thread_is_registered(void) { return mgc_me() != NULL; }

bool mgc_in_do_blocking(void) { return parked_self != NULL; }

/* ** The calling thread for an API call that needs a registered one; NULL
 * after a message that names the call, the fix (gc_init before it was
 * called, else gc_register_thread) and what the call does instead. */
gc_thread *mgc_caller(const char *call, const char *instead) {
    gc_thread *t = mgc_self;
    if (t) return t;
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire))
        mgc_warn("%s: called before gc_init(); call gc_init(NULL) once at the start of the "
                 "program (%s)", call, instead);
    else if (parked_self)
        mgc_warn("%s: called inside the fn of gc_do_blocking(), where the thread is parked and "
                 "counts as unregistered (frames fn creates are not scanned); call it before or "
                 "after gc_do_blocking (%s)", call, instead);
    else if (mgc_on_library_thread())
        mgc_warn("%s: called from a phase callback or finalizer notifier, which run on the "
                 "collector's own thread: they may only read statistics and set flags; have a "
                 "program thread make this call (%s)", call, instead);
    else
        mgc_warn("%s: the calling thread is not registered; call gc_register_thread() first "
                 "(%s)", call, instead);
    return NULL;
}

/* ** fn runs parked (gc/stw.c) and cancellable, with the thread counting as
 * unregistered (mgc_self NULL, parked_self set: the handler and the exit
 * hook find it through either).  The signal fences order the TLS writes
 * against this thread's own handler. */
MGC_API void *gc_do_blocking(void *(*fn)(void *arg), void *arg) {
    gc_thread *t = mgc_self;
    if (!fn) {
        mgc_warn("gc_do_blocking: fn is NULL; pass the function to run");
        return NULL;
    }
    if (!t) {
        if (parked_self) return fn(arg); /* nested: parked already */
        mgc_caller("gc_do_blocking", "running fn unparked");
        return fn(arg);
    }
    if (t->nopreempt) {
        /* Only reachable from a callback inside the runtime: never park
         * there, a stopper could then wait for a runtime lock we hold. */
        return fn(arg);
    }
    parked_self = t;
    atomic_signal_fence(memory_order_seq_cst);
    mgc_self = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    void *r = mgc_park_call(t, fn, arg);
    mgc_self = t;
    atomic_signal_fence(memory_order_seq_cst);
    parked_self = NULL;
    return r;
}

/* ** In a forked child, threads lock held: only the forking thread exists.
 * The others' caches go back to the heap and their counters into the
 * totals, as if they had unregistered. */
void mgc_threads_fork_child(void) {
    gc_thread *self = mgc_me(); /* a fork inside gc_do_blocking: still parked */
    for (gc_thread *t = mgc_all_threads, *next; t; t = next) {
        next = t->next;
        if (t == self) continue;
        mgc_cache_release_all(NULL, &t->cache);
        atomic_fetch_add(&mgc_hstats.nalloc_dead, atomic_load(&t->cache.nalloc));
        atomic_fetch_add(&mgc_hstats.alloc_bytes_dead, atomic_load(&t->cache.alloc_bytes));
        atomic_fetch_add(&mgc_hstats.ntiny_dead, atomic_load(&t->cache.ntiny));
        mgc_thread_roots_drop(t);
        mgc_thread_struct_free(t);
    }
    mgc_all_threads = self;
    if (self) self->next = self->prev = NULL;
    __atomic_store_n(&mgc_num_threads, self ? 1 : 0, __ATOMIC_RELAXED);
    atomic_store(&mgc_num_parked, 0); /* the forking thread runs */
}
