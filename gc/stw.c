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
 * Nesting: a thread is parked at most once.  mgc_parked() called while the
 * thread already is parked (an internal wait reached from inside
 * gc_do_blocking's fn, the fork handlers of a fork made there) just runs
 * its function: the thread is already counted stopped whenever a stopper
 * wants it, and only the outermost park may leave it.  Inside fn the
 * thread counts as unregistered (gc/thread.c).
 *
 * Cancellation: nothing of this protocol may be left half done by a
 * thread that pthread_cancel unwinds.  The handler runs with cancellation
 * disabled and deferred (glibc switches a thread blocked in read() to
 * asynchronous cancellation, so without that the handler could be unwound
 * between its two acknowledgements, leaving the stopper waiting for ever
 * or the thread running in a stopped world) and waits with the raw system
 * call (cancel_off, wait_for_restart), and so do
 * the library's own parked waits (a cancelled pthread_cond_wait returns
 * holding the mutex, which the dying thread would keep).  fn of
 * gc_do_blocking stays cancellable: its thread exits parked, and the exit
 * hook leaves the park before it unregisters the thread.  A restart also
 * counts a thread found parked as out of the handler.
 *
 * A stop that waits over a second for a thread says why, once (the
 * thread blocks the signal, the program replaced mgc's handler -- mgc puts
 * its own back and signals again --, or the thread is in the state /proc
 * shows, such as D or T), and keeps waiting.
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
#include <fcntl.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "gc/gc.h"

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
/* A stop that only asks for an answer, without parking: a handshake
 * (mgc_handshake_locked; hs_action, if set, runs on each thread first) or a
 * fork quiesce (mgc_quiesce_for_fork).  Both set before the stop's epoch
 * turns odd and cleared after it is even again, by the thread that stops. */
static _Atomic int answer_only;
static void (*_Atomic hs_action)(gc_thread *);
/* The forking thread, which alone may pass the fork gate. */
static _Atomic(gc_thread *) gate_owner;
_Atomic unsigned mgc_fork_gate;

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

/* ** Run the handshake's action for t, timing the hold it makes t feel (on
 * t itself in its handler, or by the stopper while t is held parked). */
static void hs_run(gc_thread *t) {
    uint64_t t0 = mgc_nanotime();
    atomic_load(&hs_action)(t);
    t->hs_start = t0;
    t->hs_dur = mgc_nanotime() - t0;
}

/* ** Acknowledge a stop (odd epoch) or a restart (even epoch).  Two fields,
 * so a thread that reacts to a stale signal -- its epoch already over --
 * can never be counted as stopped for a later stop. */
static void ack(_Atomic unsigned *field, unsigned epoch) {
    atomic_store_explicit(field, epoch, memory_order_release);
    atomic_fetch_add_explicit(&ack_seq, 1, memory_order_release);
    futex_wake(&ack_seq);
}

/* ** Sleep until a signal comes, sig_restart let through.  The raw system
 * call, not glibc's sigsuspend: that one is a cancellation point, and
 * around the call it switches to asynchronous cancellation and back.  The
 * switch back waits while a cancel is "in progress"; when our handler has
 * interrupted glibc's own SIGCANCEL handler halfway (the cancel of a
 * thread blocked in read()), that handler cannot finish beneath us, and
 * the thread hung there for good (seen: a stopped world never restarted,
 * in hostile/cancelling_a_thread_blocked_in_read_never_deadlocks).  The
 * kernel's sigset is 64 signals. */
_Static_assert(sizeof(sigset_t) >= 8, "the kernel's signal set fits in sigset_t");
static void wait_for_restart(void) {
    syscall(SYS_rt_sigsuspend, &wait_mask, (size_t)8);
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
    if (atomic_load(&answer_only)) {
        /* Out of every section: that is all a fork needs; a handshake's
         * action runs here, once per epoch (a stray signal of this epoch
         * may come after the answer). */
        if (atomic_load_explicit(&t->ack_epoch, memory_order_relaxed) == epoch) return;
        if (atomic_load(&hs_action)) {
            /* Counted in the runtime while fn takes its locks (the lock-order
             * check wants that); no stop can come meanwhile, this one holds
             * the threads lock, and the signals are blocked. */
            t->nopreempt++;
            hs_run(t);
            t->nopreempt--;
        }
        ack(&t->ack_epoch, epoch);
        return;
    }
    t->suspended_sp = mgc_current_sp();
    mgc_thread_roots_note_sp(t, t->suspended_sp);
    ack(&t->ack_epoch, epoch);
    while (atomic_load(&stw_epoch) == epoch) wait_for_restart();
    ack(&t->restart_epoch, atomic_load(&stw_epoch));
}

/* ** Cancellation off, for a wait or handler that must not be unwound:
 * disabled, and deferred as well.  Disabling alone is not enough: glibc
 * 2.36's SIGCANCEL handler looks only at the type, and a thread blocked in
 * read() runs with asynchronous cancellation.  A pthread_cancel sent while
 * it was in read() and delivered after our suspend signal (the lower
 * number goes first) unwound the thread out of the handler's sigsuspend
 * after it had answered the stop: it then gave its cached spans back while
 * the world was "stopped" (MGC_VERIFY=1 caught a span in no list, in
 * hostile/cancelling_a_thread_blocked_in_read_never_deadlocks).  A cancel
 * before the type is set unwinds the handler before it answered, which the
 * stopper handles as a thread that parks or exits. */
typedef struct cancel_saved {
    int state, type;
} cancel_saved;
static cancel_saved cancel_off(void) {
    cancel_saved c;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &c.state);
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &c.type);
    return c;
}

/* ** Back to the caller's cancel state and type.  If the interrupted code
 * runs with asynchronous cancellation (glibc's read() does, while
 * blocked), a cancel that came meanwhile acts now, through
 * pthread_testcancel: re-enabling while asynchronous would unwind without
 * setting the PTHREAD_CANCELED result that pthread_join reports (glibc
 * 2.36). */
static void cancel_restore(cancel_saved c) {
    pthread_setcancelstate(c.state, NULL);
    if (c.type == PTHREAD_CANCEL_ASYNCHRONOUS) {
        pthread_testcancel();
        pthread_setcanceltype(c.type, NULL);
    }
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)info;
    int saved = errno;
    cancel_saved cancel = cancel_off();
    gc_thread *t = mgc_me();
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
    /* A cancel that came meanwhile acts in cancel_restore, which unwinds
     * out of this handler: no sigreturn puts back the interrupted code's
     * signal mask then, and the dying thread would keep both signals
     * blocked on its way through its exit hook.  So put it back first. */
    if (cancel.type == PTHREAD_CANCEL_ASYNCHRONOUS && cancel.state == PTHREAD_CANCEL_ENABLE)
        pthread_sigmask(SIG_SETMASK, &((ucontext_t *)uctx)->uc_sigmask, NULL);
    cancel_restore(cancel); /* may act on a cancel that came meanwhile: we are done */
}

static void restart_handler(int sig) { (void)sig; }

static void install_suspend_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sa.sa_sigaction = suspend_handler;
    /* Inside the handler the restart signal stays blocked until
     * sigsuspend opens it: no wake-up can be lost. */
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    sigaction(sig_suspend, &sa, NULL);
}

static void install_restart_handler(void) {
    struct sigaction sr;
    memset(&sr, 0, sizeof sr);
    sr.sa_flags = SA_RESTART;
    sr.sa_handler = restart_handler;
    sigemptyset(&sr.sa_mask);
    sigaction(sig_restart, &sr, NULL);
}

/* ** Is sig's handler still the one mgc installed? */
static bool handler_is_ours(int sig) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0) return false;
    if (sig == sig_suspend)
        return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == suspend_handler;
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == restart_handler;
}

int mgc_stw_init(int suspend_sig, int restart_sig) {
    sig_suspend = suspend_sig;
    sig_restart = restart_sig;
    install_suspend_handler();
    install_restart_handler();
    if (!handler_is_ours(sig_suspend) || !handler_is_ours(sig_restart)) return GC_ESYS;

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
 * blocks.  noinline, and the registers are spilled here, so every root of
 * the frames above is in memory at or above suspended_sp for the whole
 * call.  Leaves the park when fn returns; a thread that fn unwinds (a
 * cancellation in gc_do_blocking's fn) stays parked until mgc_unpark. */
__attribute__((noinline)) void *mgc_park_call(gc_thread *t, void *(*fn)(void *), void *arg) {
    __builtin_unwind_init();
    t->suspended_sp = mgc_current_sp();
    mgc_thread_roots_note_sp(t, t->suspended_sp);
    atomic_fetch_add_explicit(&mgc_num_parked, 1, memory_order_relaxed);
    atomic_store_explicit(&t->park, PARK_PARKED, memory_order_release);
    void *r = fn(arg);
    mgc_unpark(t);
    return r;
}

/* ** Leave the parked state: at once, or when the stopper that holds us
 * lets go. */
void mgc_unpark(gc_thread *t) {
    for (;;) {
        unsigned s = PARK_PARKED;
        if (atomic_compare_exchange_strong(&t->park, &s, PARK_RUNNING)) {
            atomic_fetch_sub_explicit(&mgc_num_parked, 1, memory_order_relaxed);
            return;
        }
        futex_wait(&t->park, PARK_HELD, 0); /* a stopper holds us: wait for it */
    }
}

/* ** The library's own waits, parked.  fn must not touch heap objects or
 * call the library (other than through the waits written for this).  Not
 * a cancellation point: fn's waits leave no lock behind that way.  t NULL
 * (an unregistered caller, never stopped) or already parked (a nested
 * call): just fn(arg). */
void *mgc_parked(gc_thread *t, void *(*fn)(void *), void *arg) {
    if (!t || atomic_load_explicit(&t->park, memory_order_relaxed) != PARK_RUNNING)
        return fn(arg);
    cancel_saved cancel = cancel_off();
    void *r = mgc_park_call(t, fn, arg);
    cancel_restore(cancel);
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

/* ** A handshake's action for a thread held parked, done by the stopper on
 * its behalf; then the thread is let go at once, so it never waits for the
 * others' answers.  Counts as its answer. */
static void hs_held(gc_thread *t, unsigned epoch) {
    hs_run(t);
    atomic_store_explicit(&t->ack_epoch, epoch, memory_order_release);
    unhold(t);
    t->stopped = STOP_NONE;
}

/* ** Has t answered the stop (stopping) or the restart with this epoch?  A
 * thread found parked during a restart has left the handler (a thread
 * unwound out of it by a cancellation parks in its exit hook). */
static bool answered(gc_thread *t, unsigned epoch, bool stopping) {
    _Atomic unsigned *field = stopping ? &t->ack_epoch : &t->restart_epoch;
    if (atomic_load_explicit(field, memory_order_acquire) == epoch) return true;
    return !stopping && atomic_load(&t->park) != PARK_RUNNING;
}

/* ** Has every signalled thread acknowledged epoch?  A signalled thread
 * found parked (it parked after the signal was sent) is held instead.  With
 * resend, signal again the running ones that have not answered: a signal
 * consumed while the thread was parked, then left, would otherwise be lost
 * (a duplicate is harmless: signals coalesce, and the handler of a stopped
 * or deferring thread does nothing new, and a restart signal only ends a
 * sigsuspend). */
static bool all_acked(unsigned epoch, bool stopping, gc_thread *only, bool resend) {
    bool done = true;
    for (gc_thread *t = only ? only : mgc_all_threads; t; t = only ? NULL : t->next) {
        if (t->stopped != STOP_SIGNALLED || answered(t, epoch, stopping)) continue;
        unsigned s = PARK_PARKED;
        if (stopping && atomic_compare_exchange_strong(&t->park, &s, PARK_HELD)) {
            t->stopped = STOP_HELD;
            if (atomic_load(&hs_action)) hs_held(t, epoch); /* done with it at once */
            continue;
        }
        if (resend && s == PARK_RUNNING)
            pthread_kill(t->pthread, stopping ? sig_suspend : sig_restart);
        done = false;
    }
    return done;
}

/* ** SIGPWR for 30: the name a message gives a signal. */
static const char *signame(int sig, char buf[16]) {
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev) snprintf(buf, 16, "SIG%s", abbrev);
    else snprintf(buf, 16, "signal %d", sig);
    return buf;
}

/* ** From /proc: t's name, scheduler state, and whether it blocks sig.
 * Raw open/read: the caller may have threads stopped that hold stdio or
 * malloc locks. */
static void thread_status(gc_thread *t, int sig, char name[17], char *state, bool *blocked) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", t->tid);
    snprintf(name, 17, "?");
    *state = '?';
    *blocked = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *p = strstr(buf, "Name:\t");
    if (p) {
        size_t i = 0;
        for (p += 6; i < 16 && p[i] && p[i] != '\n'; i++) name[i] = p[i];
        name[i] = 0;
    }
    if ((p = strstr(buf, "\nState:\t"))) *state = p[8];
    if ((p = strstr(buf, "\nSigBlk:\t"))) {
        unsigned long long mask = strtoull(p + 9, NULL, 16);
        *blocked = (mask >> (sig - 1)) & 1;
    }
}

/* ** A stop or restart has waited a second: say why, once.  A handler the
 * program replaced is put back (returns true: the caller signals again and
 * waits another second); otherwise one line per thread that has not
 * answered, and the caller keeps waiting. */
static bool report_stall(unsigned epoch, bool stopping, gc_thread *only) {
    int sig = stopping ? sig_suspend : sig_restart;
    const char *field = stopping ? "suspend" : "restart";
    char sn[16];
    if (!handler_is_ours(sig)) {
        if (stopping) install_suspend_handler();
        else install_restart_handler();
        mgc_warn("%s threads: the handler of %s, the signal mgc %s threads with, was "
                 "replaced after gc_init (by sigaction or signal); mgc installed its own again and "
                 "the program's no longer runs: give mgc another signal with "
                 "gc_config.%s_signal or MGC_SIG_%s", stopping ? "stopping" : "restarting",
                 signame(sig, sn),
                 stopping ? "stops" : "restarts", field, stopping ? "SUSPEND" : "RESTART");
        return true;
    }
    for (gc_thread *t = only ? only : mgc_all_threads; t; t = only ? NULL : t->next) {
        if (t->stopped != STOP_SIGNALLED || answered(t, epoch, stopping)) continue;
        char name[17], state;
        bool blocked;
        thread_status(t, sig, name, &state, &blocked);
        if (blocked)
            mgc_warn_stalled("registered thread %d (\"%s\", tid %d) has not answered the %s signal %s "
                     "for 1 s: it blocks %s (pthread_sigmask after gc_register_thread?); the "
                     "collection waits until it unblocks it: keep %s unblocked in registered "
                     "threads, or block it only inside gc_do_blocking()", t->id, name, t->tid,
                     field, signame(sig, sn), sn, sn);
        else
            mgc_warn_stalled("registered thread %d (\"%s\", tid %d) has not answered the %s signal %s "
                     "for 1 s: it is in state %c (D: a call the kernel does not interrupt, "
                     "T: stopped by a debugger or SIGSTOP); the collection waits for it",
                     t->id, name, t->tid, field, signame(sig, sn), state);
    }
    return false;
}

static void wait_acks(unsigned epoch, bool stopping, gc_thread *only) {
    bool timed_out = false, reported = false;
    uint64_t since = 0;
    for (;;) {
        unsigned seq = atomic_load_explicit(&ack_seq, memory_order_acquire);
        if (all_acked(epoch, stopping, only, timed_out)) return;
        timed_out = futex_wait(&ack_seq, seq, 1000000);
        if (!timed_out || reported) continue;
        uint64_t now = mgc_nanotime();
        if (!since) since = now;
        else if (now - since >= 1000000000u) {
            if (report_stall(epoch, stopping, only)) since = now;
            else reported = true;
        }
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

/* ** The stop deferred by a no-preempt section, taken at its end. */
static void take_deferred_stop(gc_thread *t) {
    if (t->suspend_pending) {
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, sig_suspend);
        sigaddset(&block, sig_restart);
        cancel_saved cancel = cancel_off(); /* not to be unwound while stopped */
        pthread_sigmask(SIG_BLOCK, &block, &old);
        t->suspend_pending = 0;
        mgc_suspend_self(t);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        cancel_restore(cancel);
    }
}

/* ** End of a no-preempt section with work to do: a deferred stop, or a
 * collection this thread asked for. */
void mgc_nopreempt_slow(gc_thread *t) {
    take_deferred_stop(t);
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
    gc_thread *self = mgc_me(); /* parked in gc_do_blocking when a fork stops */
    mgc_threads_lock();
    mgc_stopping = 1; /* warnings wait for the restart (gc/init.c) */
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* odd */
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        t->stopped = t == self ? STOP_NONE : stop_one(t, "stop-the-world");
    wait_acks(epoch, true, NULL);
}

void mgc_start_the_world(void) {
    restart(NULL);
    mgc_stopping = 0;
    mgc_threads_unlock();
}

/* ---- fork quiesce --------------------------------------------------------
 * fork() needs every other registered thread out of the runtime (no
 * no-preempt section half done, no runtime lock held) at the instant it
 * copies the process, but it must not park them: glibc's fork() takes
 * malloc's locks after the atfork prepare handlers ran, and a thread
 * parked inside malloc or free would hold one for ever (the forking thread
 * then hangs in fork(); with a sanitizer's allocator, the child does).  So
 * a fork stop only makes each thread acknowledge: the handler of a thread
 * outside every section answers and returns, a thread inside one answers
 * at its end, a parked thread is held as for any stop (its blocking code
 * runs on).  The gate keeps them out afterwards: mgc_nopreempt_begin
 * increments nopreempt, then tests the gate; the gate is raised before the
 * signal is sent, so either the handler sees the section (and the thread
 * answers at its end) or the thread sees the gate, backs out and waits on
 * it, with nothing half done.  A nested begin inside a section that began
 * before the gate goes on: the outer section ends before the thread
 * answers.  The threads go on running the program's own code meanwhile:
 * malloc, stdio, blocking calls -- whatever glibc's fork() makes safe. */

void mgc_nopreempt_gate(gc_thread *t) {
    if (t->nopreempt > 1 || atomic_load(&gate_owner) == t) return;
    for (;;) {
        atomic_signal_fence(memory_order_seq_cst);
        t->nopreempt--;
        take_deferred_stop(t); /* a fork stop's: answers, does not park */
        unsigned g;
        while ((g = atomic_load(&mgc_fork_gate)) != 0) futex_wait(&mgc_fork_gate, g, 0);
        t->nopreempt++;
        atomic_signal_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&mgc_fork_gate, memory_order_relaxed)) return;
    }
}

/* ** Stop the world the fork way: every other registered thread answers
 * out of the runtime and stays out until mgc_unquiesce_after_fork. */
void mgc_quiesce_for_fork(void) {
    atomic_store(&gate_owner, mgc_me());
    atomic_store(&answer_only, 1);
    atomic_store(&mgc_fork_gate, 1);
    mgc_stop_the_world();
}

/* ** The parent's and the child's side: the signalled threads answered
 * without parking, so nothing restarts them; the epoch turns even before
 * answer_only clears (a late signal must never park a thread that no
 * restart would wake), then the gate opens. */
void mgc_unquiesce_after_fork(void) {
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        if (t->stopped == STOP_SIGNALLED) t->stopped = STOP_NONE;
    mgc_start_the_world();
    atomic_store(&answer_only, 0);
    atomic_store(&mgc_fork_gate, 0);
    atomic_store(&gate_owner, NULL);
    futex_wake(&mgc_fork_gate);
}

/* ---- handshakes ----------------------------------------------------------
 * A handshake runs fn on every registered thread but the caller, each
 * thread on its own: a running thread runs it in its signal handler (or at
 * the end of the no-preempt section it is in) and goes on at once; a
 * parked thread is held just while the caller runs fn for it.  No thread
 * waits for another; the caller waits for all.  fn runs outside every
 * no-preempt section of its thread, so it may touch the thread's cache and
 * work buffers and take runtime locks, but it runs in a signal handler:
 * no malloc, no stdio, nothing that waits for another registered thread.
 * Each thread's hold (fn's run) is reported with mgc_stat_hold as kind.  The
 * caller holds the threads lock (no thread joins or leaves meanwhile) and
 * is not registered. */
void mgc_handshake_locked(void (*fn)(gc_thread *), int kind) {
    atomic_store(&hs_action, fn);
    atomic_store(&answer_only, 1);
    mgc_stopping = 1;
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* odd */
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        t->stopped = stop_one(t, "handshake");
        if (t->stopped == STOP_HELD) hs_held(t, epoch);
    }
    wait_acks(epoch, true, NULL);
    /* Everyone answered without parking: nothing to restart.  The epoch
     * turns even before answer_only clears (as for a fork). */
    atomic_fetch_add(&stw_epoch, 1);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) t->stopped = STOP_NONE;
    atomic_store(&answer_only, 0);
    atomic_store(&hs_action, NULL);
    mgc_stopping = 0;
    /* Each thread answered (its handler wrote these before its release
     * store of ack_epoch) or was held (we wrote them): every one ran fn. */
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        mgc_stat_hold(t->id, kind, t->hs_start, t->hs_dur);
}

/* ** Stop one thread (to scan its stack) with the same handshake; the
 * caller holds the threads lock and is not t.  Returns false if t cannot
 * be signalled. */
bool mgc_stop_thread(gc_thread *t) {
    atomic_store(&stop_target, t);
    mgc_stopping = 1;
    unsigned epoch = atomic_fetch_add(&stw_epoch, 1) + 1; /* odd */
    t->stopped = stop_one(t, "stack scan");
    if (t->stopped == STOP_NONE) {
        atomic_fetch_add(&stw_epoch, 1);
        atomic_store(&stop_target, NULL);
        mgc_stopping = 0;
        return false;
    }
    wait_acks(epoch, true, t);
    return true;
}

void mgc_start_thread(gc_thread *t) {
    restart(t);
    atomic_store(&stop_target, NULL);
    mgc_stopping = 0;
}

/* ** A thread about to register that blocks the stop signals (servers
 * block every signal before they start threads) would hang every
 * collection: unblock them, and say so once per process. */
void mgc_check_stop_signals(const char *call) {
    static _Atomic int said;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    bool s = sigismember(&cur, sig_suspend) == 1, r = sigismember(&cur, sig_restart) == 1;
    if (!s && !r) return;
    mgc_unblock_stop_signals();
#if defined(__SANITIZE_THREAD__)
    return; /* ThreadSanitizer starts every thread with the signals blocked */
#endif
    if (atomic_exchange(&said, 1)) return;
    char sn[16], rn[16];
    signame(sig_suspend, sn);
    signame(sig_restart, rn);
    mgc_warn("%s: the calling thread blocks %s%s%s, which mgc stops and restarts threads "
             "with (blocked, it would hang every collection); unblocked in this thread (said "
             "once).  To keep %s blocked, give mgc other signals: gc_config.suspend_signal and "
             "restart_signal, or MGC_SIG_SUSPEND and MGC_SIG_RESTART", call, s ? sn : rn,
             s && r ? " and " : "", s && r ? rn : "", s ? sn : rn);
}

void mgc_unblock_stop_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig_suspend);
    sigaddset(&set, sig_restart);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
