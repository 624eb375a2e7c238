/*
 * lockrank.h -- the order of the library's locks, in one table, checked in
 * debug builds (Go's runtime/lockrank.go).
 *
 * The rule: every lock has a rank, its row below, and a thread may take a
 * lock only while every lock it holds has a lower rank.  Locks marked leaf
 * are the end of every chain: nothing at all is taken while one is held.
 * Two threads taking locks by this rule can never wait for each other in a
 * cycle.  Trylock is exempt (it cannot wait), but a lock it took counts as
 * held.  A condition wait gives its lock up and takes it back, so it must
 * be a lock the order allows taking again: one above every other lock held.
 * And, for the locks marked stop, the rule of runtime/collector.h: a
 * registered thread takes them only inside a no-preempt section.
 *
 * Every library lock is an mgc_mutex, created with its rank
 * (MGC_MUTEX_INIT, mgc_mutex_init), and taken through mgc_mutex_lock (or
 * mgc_lock, runtime/collector.h: the same inside a no-preempt section).
 * Built with -DMGC_LOCKRANK (make debug and make tsan do), each thread
 * keeps the locks it holds on a small stack and every lock checks the
 * rule first: a violation is mgc_throw("lock order: taking X while holding
 * Y"), before the deadlock it could cause, on every run that takes the
 * path rather than the rare one that deadlocks.  Otherwise the wrappers
 * are the bare pthread calls.  The stack is plain initial-exec TLS, as
 * mgc_self: the stop signal's handler takes no lock and never looks at it.
 *
 * Where each order comes from (A > B: B is taken while A is held), read
 * from every lock site:
 *
 *   init_lock > tlock, roots_lock    gc_init: mgc_trace_init, static roots
 *   cmu > threads_lock, and through it everything below:
 *                                    fork: prepare holds cmu (the
 *                                    coordinator idle) and stops the world;
 *                                    the child releases other threads'
 *                                    caches before it lets go of cmu
 *   threads_lock > unregistered_lock, mgc_heap.lock, mgc_special_lock,
 *       roots_lock, wmu, mcentral, fix_lock, grow_lock, events_lock, tlock
 *                                    a stopped world (gc/mgc.c run_cycle,
 *                                    gc/verify.c, checkmark; cached spans handed
 *                                    back); a stack scan (gc/mark.c, by
 *                                    trylock) records its event and trace
 *   unregistered_lock > mgc_heap.lock, mgc_special_lock, roots_lock, wmu,
 *       grow_lock                    mark termination holds it from the
 *                                    flush to the barrier going off
 *   mgc_heap.lock > fix_lock         span structs and bitmaps (mheap.c)
 *   mgc_heap.lock > wmu, grow_lock   rescanning the heap for dropped grey
 *                                    objects drains, which may wake workers
 *   mgc_special_lock, roots_lock > grow_lock   greying under the lock
 *   wmu > fix_lock; heap > special > roots > wmu   only fork's prepare
 *   wlock > tlock                    gc/trace.c flush_buffer
 *
 * Nothing takes mgc_heap.lock, an mcentral's lock or the specials' lock
 * while holding another of the three: sweeping and allocation take them
 * one after the other.  The barrier checker's stripe spinlocks
 * (gc/barriercheck.c) are leaves outside this table.
 */
#ifndef MGC_LOCKRANK_H
#define MGC_LOCKRANK_H

#include <pthread.h>
#include <time.h>

#ifndef HIDDEN
#define HIDDEN __attribute__((visibility("hidden")))
#endif

/* X(id, name, leaf, stop), lowest rank first: the order locks may be taken
 * in.  stop: the collector takes it while threads are stopped, so a
 * registered thread holds it only inside a no-preempt section (mgc_lock),
 * or a stop could find it held and wait for it forever. */
#define MGC_LOCK_RANKS(X)                                                                 \
    X(INIT, "init_lock", 0, 0)                  /* gc/init.c: gc_init */                  \
    X(CYCLE, "cmu", 0, 0)                       /* gc/mgc.c: cycle requests */            \
    X(THREADS, "threads_lock", 0, 0)            /* gc/thread.c: held while stopped */     \
    X(UNREGISTERED, "unregistered_lock", 0, 1)  /* gc/barrier.c */                        \
    X(HEAP, "mgc_heap.lock", 0, 1)              /* runtime/mheap.c, scavenge.c */         \
    X(SPECIAL, "mgc_special_lock", 0, 1)        /* gc/special.c, weak.c, finalizer.c */   \
    X(ROOTS, "roots_lock", 0, 1)                /* gc/roots.c */                          \
    X(WORKERS, "wmu", 0, 1)                     /* gc/markworker.c */                     \
    X(TRACE_WRITE, "wlock", 0, 0)               /* gc/trace.c: the file */                \
    X(CENTRAL, "mcentral.lock", 1, 1)           /* runtime/mcentral.c, one per class */   \
    X(FIXALLOC, "fix_lock", 1, 1)               /* runtime/fixalloc.c */                  \
    X(WBUF_GROW, "grow_lock", 1, 1)             /* gc/workbuf.c */                        \
    X(EVENTS, "events_lock", 1, 1)              /* gc/stats.c: the event ring */          \
    X(TRACE_BUF, "tlock", 1, 1)                 /* gc/trace.c: the buffer */              \
    X(FIN_THREAD, "thread_mu", 1, 0)            /* gc/finalizer.c: the thread's wakeup */ \
    X(FIN_NOTIFIER, "notifier_mu", 1, 0)        /* gc/finalizer.c */

typedef enum mgc_lock_rank {
    MGC_RANK_NONE, /* never given one: taking it throws in checked builds */
#define MGC_RANK_ENUM(id, name, leaf, stop) MGC_RANK_##id,
    MGC_LOCK_RANKS(MGC_RANK_ENUM)
#undef MGC_RANK_ENUM
    MGC_RANK_COUNT
} mgc_lock_rank;

/* The rank is kept in every build, so objects built with and without the
 * check agree on the layout; only checked builds read it. */
typedef struct mgc_mutex {
    pthread_mutex_t m;
    mgc_lock_rank rank;
} mgc_mutex;

/* Adaptive (glibc): a waiter spins briefly before it sleeps.  The library's
 * critical sections are tens of instructions (a list pop, a page run freed),
 * so a plain mutex that sleeps at once turned every collision between the
 * mutator's refill and the background sweeper into futex calls: GCBench
 * with one thread made 58,000 of them, the adaptive mutex 3,000 (issue 17).
 * Elsewhere (musl) the plain mutex. */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define MGC_MUTEX_INITIALIZER PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define MGC_MUTEX_TYPE PTHREAD_MUTEX_ADAPTIVE_NP
#else
#define MGC_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#define MGC_MUTEX_TYPE PTHREAD_MUTEX_DEFAULT
#endif

#define MGC_MUTEX_INIT(r) {MGC_MUTEX_INITIALIZER, MGC_RANK_##r}

static inline void mgc_mutex_init(mgc_mutex *l, mgc_lock_rank rank) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, MGC_MUTEX_TYPE);
    pthread_mutex_init(&l->m, &a);
    pthread_mutexattr_destroy(&a);
    l->rank = rank;
}

/* ** In a fork child: a lock another parent thread may have held is
 * unlocked and new; its rank stays. */
static inline void mgc_mutex_fork_reset(mgc_mutex *l) {
    const pthread_mutex_t fresh = MGC_MUTEX_INITIALIZER;
    l->m = fresh;
}

#ifdef MGC_LOCKRANK
HIDDEN void mgc_mutex_lock(mgc_mutex *l);
HIDDEN int mgc_mutex_trylock(mgc_mutex *l); /* 0 when taken, as pthread's */
HIDDEN void mgc_mutex_unlock(mgc_mutex *l);
HIDDEN int mgc_cond_wait(pthread_cond_t *c, mgc_mutex *l);
HIDDEN int mgc_cond_timedwait(pthread_cond_t *c, mgc_mutex *l, const struct timespec *ts);
#else
static inline void mgc_mutex_lock(mgc_mutex *l) { pthread_mutex_lock(&l->m); }
static inline int mgc_mutex_trylock(mgc_mutex *l) { return pthread_mutex_trylock(&l->m); }
static inline void mgc_mutex_unlock(mgc_mutex *l) { pthread_mutex_unlock(&l->m); }
static inline int mgc_cond_wait(pthread_cond_t *c, mgc_mutex *l) {
    return pthread_cond_wait(c, &l->m);
}
static inline int mgc_cond_timedwait(pthread_cond_t *c, mgc_mutex *l, const struct timespec *ts) {
    return pthread_cond_timedwait(c, &l->m, ts);
}
#endif

/* The table's names, by rank ("?" for MGC_RANK_NONE). */
extern HIDDEN const char *const mgc_lock_names[MGC_RANK_COUNT];

#endif
