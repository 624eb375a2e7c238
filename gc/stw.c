/*
 * stw.c -- stopping and restarting the world: signals for running threads,
 * a state word for parked ones.
 *
 * C threads have no safe points, so a thread that spins without calling
 * the library must still stop: the collector sends each running registered
 * thread the suspend signal (SIGPWR by default, as Boehm GC does).  Its
 * handler records the stack pointer (the kernel has pushed every register
 * into the signal frame, above it on the stack, so scanning from there up
 * covers them), acknowledges, and waits in sigsuspend() until the world
 * epoch changes and the restart signal arrives; then it acknowledges again,
 * so the collector knows nobody is still inside the handler.
 *
 * Parked threads (Go's threads in a system call; Boehm's do_blocking): a
 * registered thread that blocks inside the library (gc_collect waiting for
 * its cycle, backpressure, the threads lock) or inside gc_do_blocking()
 * first spills its registers into a frame that stays live, publishes that
 * frame as its stack's low end and sets its park word:
 *
 *     RUNNING --(thread)--> PARKED --(stopper CAS)--> HELD
 *        ^                     |  ^                      |
 *        +----(thread CAS)-----+  +---(stopper store)----+
 *
 * A stopper takes a PARKED thread by CAS to HELD, with no signal at all, and
 * scans it from the published frame; the thread may keep running its
 * blocking code meanwhile (it touches no heap object and no frame above the
 * published one), but it cannot leave: its CAS PARKED->RUNNING fails, and
 * it sleeps on the word until the stopper stores PARKED back.  So a waiting
 * thread is never suspended inside glibc's condition variable code (where a
 * suspended waiter can block the thread that signals the condvar), and
 * ThreadSanitizer, which does not deliver signals to threads blocked in
 * pthread calls, never has to.  A suspend signal that was sent while a thread
 * was running but lands after it parked finds it PARKED: the handler only
 * wakes the stopper, whose wait takes the thread to HELD; the same wait takes
 * it if the signal is held back (TSan) and, every millisecond, signals again
 * a running thread that has not answered.
 *
 * Acknowledgements are per thread (ack_epoch = the epoch acknowledged), so a
 * late or coalesced signal can never be miscounted; ack_seq plus a futex wake
 * the waiting stopper.
 *
 * No-preempt sections: if the signal lands while the thread is inside one
 * (allocating, sweeping, holding a runtime lock), the handler only sets
 * suspend_pending and returns; the thread suspends itself at the end of the
 * section (mgc_nopreempt_slow).  So a stopped thread never holds a runtime
 * lock and never leaves metadata half-written, and a write barrier's read of
 * the barrier flag and its store stay together.
 *
 * Epoch protocol: stw_epoch is odd while the world, or one thread, is
 * (being) stopped.  A stray suspend signal arriving while it is even is
 * ignored.  Whoever stops threads holds the threads lock from stop to
 * start, so no thread joins or leaves in between and only one stop is in
 * flight.  Stopping a single thread (mgc_stop_thread) is the per-thread
 * handshake the concurrent mark uses to scan one stack while every other
 * thread runs.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"

enum { PARK_RUNNING = 0, PARK_PARKED = 1, PARK_HELD = 2 };
enum { STOP_NONE = 0, STOP_SIGNALLED = 1, STOP_HELD = 2 };

static int sig_suspend, sig_restart;
static _Atomic unsigned stw_epoch;   /* odd: stopped or stopping */
static _Atomic unsigned ack_seq;     /* bumped by every acknowledgement */
/* The one thread a single-thread stop is for (NULL for a world stop); set
 * before the epoch turns odd.  A late or re-sent signal reaching another
 * thread then must not suspend it: nobody would restart it. */
static _Atomic(gc_thread *) stop_target;
static sigset_t wait_mask;           /* what sigsuspend lets through */

/* ** futex(2) wait/wake: async-signal-safe, and no libc lock a stopped
 * thread could hold. */
static bool futex_wait(_Atomic unsigned *addr, unsigned val, long ns) {
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    int saved = errno;
    bool timed_out = syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val,
                             ns ? &ts : NULL, NULL, 0) != 0 && errno == ETIMEDOUT;
    errno = saved;
    return timed_out;
}
static void futex_wake(_Atomic unsigned *addr) {
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* ** Address just below the caller's frame: the low end of what to scan.
 * (This function's own frame; clang rejects returning a local's address.) */
__attribute__((noinline)) uintptr_t mgc_current_sp(void) {
    return (uintptr_t)__builtin_frame_address(0);
}

/* ** Acknowledge a stop (odd epoch) or a restart (even epoch).  Two fields,
 * so a thread that reacts to a stale signal -- its epoch already over --
 * can never be counted as stopped for a later stop. */
static void ack(_Atomic unsigned *field, unsigned epoch) {
    atomic_store_explicit(field, epoch, memory_order_release);
    atomic_fetch_add_explicit(&ack_seq, 1, memory_order_release);
    futex_wake(&ack_seq);
}

/* ** Park this thread until the world restarts.  Called from the signal
 * handler, or from the end of a no-preempt section with the two signals
 * blocked.  __builtin_unwind_init spills callee-saved registers into this
 * frame so a pointer held only in one of them is scanned. */
void __attribute__((noinline)) mgc_suspend_self(gc_thread *t) {
    __builtin_unwind_init();
    unsigned epoch = atomic_load(&stw_epoch);
    if (!(epoch & 1)) return; /* a stale signal: no stop in progress */
    gc_thread *only = atomic_load(&stop_target);
    if (only && only != t) return; /* a single-thread stop for another thread */
    t->suspended_sp = mgc_current_sp();
    mgc_thread_roots_note_sp(t, t->suspended_sp);
    ack(&t->ack_epoch, epoch);
    while (atomic_load(&stw_epoch) == epoch) sigsuspend(&wait_mask);
    ack(&t->restart_epoch, atomic_load(&stw_epoch));
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)info, (void)uctx;
    int saved = errno;
    gc_thread *t = mgc_self;
    if (t && (atomic_load(&stw_epoch) & 1)) {
        if (atomic_load(&t->park) != PARK_RUNNING) {
            /* Parked since the signal was sent.  Only the stopper may take
             * us to HELD (a handler cannot tell a stale epoch from the
             * current one atomically with the CAS): wake it to do so. */
            atomic_fetch_add(&ack_seq, 1);
            futex_wake(&ack_seq);
        } else if (t->nopreempt) {
            t->suspend_pending = 1;
        } else {
            mgc_suspend_self(t);
        }
    }
    errno = saved;
}

static void restart_handler(int sig) { (void)sig; }

int mgc_stw_init(int suspend_sig, int restart_sig) {
    sig_suspend = suspend_sig;
    sig_restart = restart_sig;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sa.sa_sigaction = suspend_handler;
    /* Inside the handler the restart signal stays blocked until
     * sigsuspend opens it: no wake-up can be lost. */
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    if (sigaction(sig_suspend, &sa, NULL) != 0) return GC_ESYS;

    struct sigaction sr;
    memset(&sr, 0, sizeof sr);
    sr.sa_flags = SA_RESTART;
    sr.sa_handler = restart_handler;
    sigemptyset(&sr.sa_mask);
    if (sigaction(sig_restart, &sr, NULL) != 0) return GC_ESYS;

    /* While parked, only the restart signal and the ones a user needs to
     * kill a stuck program get through. */
    sigfillset(&wait_mask);
    sigdelset(&wait_mask, sig_restart);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGQUIT);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGABRT);
    return GC_OK;
}

/* ---- parking ------------------------------------------------------------ */

/* ** Run fn(arg) parked: a stopper need not signal this thread while fn
 * blocks.  fn must not touch heap objects or call the library (other than
 * through the waits written for this).  noinline, and the registers are
 * spilled here, so every root of the frames above is in memory at or above
 * suspended_sp for the whole call.  t NULL (an unregistered caller, never
 * stopped): just fn(arg). */
__attribute__((noinline)) void *mgc_parked(gc_thread *t, void *(*fn)(void *), void *arg) {
    if (!t) return fn(arg);
    __builtin_unwind_init();
    t->suspended_sp = mgc_current_sp();
    mgc_thread_roots_note_sp(t, t->suspended_sp);
    atomic_store_explicit(&t->park, PARK_PARKED, memory_order_release);
    void *r = fn(arg);
    for (;;) {
        unsigned s = PARK_PARKED;
        if (atomic_compare_exchange_strong(&t->park, &s, PARK_RUNNING)) break;
        futex_wait(&t->park, PARK_HELD, 0); /* a stopper holds us: wait for it */
    }
    return r;
}

/* ** Release a thread this stopper held. */
static void unhold(gc_thread *t) {
    atomic_store_explicit(&t->park, PARK_PARKED, memory_order_release);
    futex_wake(&t->park);
}

/* ** Stop t for the stop with this (odd) epoch: hold it if parked, else
 * signal it.  STOP_NONE if it cannot be signalled. */
static int stop_one(gc_thread *t, const char *what) {
    unsigned s = PARK_PARKED;
    if (atomic_compare_exchange_strong(&t->park, &s, PARK_HELD)) return STOP_HELD;
    int rc = pthread_kill(t->pthread, sig_suspend);
    if (rc == 0) return STOP_SIGNALLED;
    mgc_warn("%s: cannot signal a registered thread (%s); was it killed without "
             "unregistering?", what, strerror(rc));
    return STOP_NONE;
}

/* ** Has every signalled thread acknowledged epoch?  A signalled thread
 * found parked (it parked after the signal was sent) is held instead.  With
 * resend, signal again the running ones that have not answered: a signal
 * consumed while the thread was parked, then left, would otherwise be lost
 * (a duplicate is harmless: signals coalesce, and the handler of a stopped
 * or deferring thread does nothing new). */
static bool all_acked(unsigned epoch, bool stopping, gc_thread *only, bool resend) {
    bool done = true;
    for (gc_thread *t = only ? only : mgc_all_threads; t; t = only ? NULL : t->next) {
        if (t->stopped != STOP_SIGNALLED) continue;
        _Atomic unsigned *field = stopping ? &t->ack_epoch : &t->restart_epoch;
        if (atomic_load_explicit(field, memory_order_acquire) == epoch) continue;
        if (stopping) {
            unsigned s = PARK_PARKED;
            if (atomic_compare_exchange_strong(&t->park, &s, PARK_HELD)) {
                t->stopped = STOP_HELD;
                continue;
            }
            if (resend && s == PARK_RUNNING) pthread_kill(t->pthread, sig_suspend);
        }
        done = false;
    }
    return done;
}

static void wait_acks(unsigned epoch, bool stopping, gc_thread *only) {
    bool timed_out = false;
    for (;;) {
        unsigned seq = atomic_load_explicit(&ack_seq, memory_order_acquire);
        if (all_acked(epoch, stopping, only, timed_out)) return;
        timed_out = futex_wait(&ack_seq, seq, 1000000);
    }
}

/* ** Restart what stop_one stopped: unhold held threads, signal the rest. */
static void restart(gc_thread *only) {
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* even */
    bool any = false;
    for (gc_thread *t = only ? only : mgc_all_threads; t; t = only ? NULL : t->next) {
        if (t->stopped == STOP_HELD) {
            unhold(t);
            t->stopped = STOP_NONE;
        } else if (t->stopped == STOP_SIGNALLED) {
            pthread_kill(t->pthread, sig_restart);
            any = true;
        }
    }
    if (any) wait_acks(epoch, false, only);
    for (gc_thread *t = only ? only : mgc_all_threads; t; t = only ? NULL : t->next)
        t->stopped = STOP_NONE;
}

/* ** End of a no-preempt section with work to do: a deferred stop, or a
 * collection this thread asked for. */
void mgc_nopreempt_slow(gc_thread *t) {
    if (t->suspend_pending) {
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, sig_suspend);
        sigaddset(&block, sig_restart);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        t->suspend_pending = 0;
        mgc_suspend_self(t);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (t->want_assist) {
        t->want_assist = 0;
        mgc_assist(t);
    }
    if (t->want_gc && !t->in_gc) {
        t->want_gc = 0;
        mgc_gc_start(t, false);
    }
}

/* ** Stop every registered thread but the caller.  Takes the threads lock
 * and keeps it until mgc_start_the_world(). */
void mgc_stop_the_world(void) {
    gc_thread *self = mgc_self;
    mgc_threads_lock();
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* odd */
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        t->stopped = t == self ? STOP_NONE : stop_one(t, "stop-the-world");
    wait_acks(epoch, true, NULL);
}

void mgc_start_the_world(void) {
    restart(NULL);
    mgc_threads_unlock();
}

/* ** Stop one thread (to scan its stack) with the same handshake; the
 * caller holds the threads lock and is not t.  Returns false if t cannot
 * be signalled. */
bool mgc_stop_thread(gc_thread *t) {
    atomic_store(&stop_target, t);
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* odd */
    t->stopped = stop_one(t, "stack scan");
    if (t->stopped == STOP_NONE) {
        atomic_fetch_add(&stw_epoch, 1);
        atomic_store(&stop_target, NULL);
        return false;
    }
    wait_acks(epoch, true, t);
    return true;
}

void mgc_start_thread(gc_thread *t) {
    restart(t);
    atomic_store(&stop_target, NULL);
}

void mgc_unblock_stop_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig_suspend);
    sigaddset(&set, sig_restart);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
