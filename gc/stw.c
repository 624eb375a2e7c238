/*
 * stw.c -- stopping and restarting the world with signals.
 *
 * C threads have no safe points, so a thread that spins without calling
 * the library must still stop: the collector sends each registered thread
 * the suspend signal (SIGPWR by default, as Boehm GC does).  Its handler
 * records the stack pointer (the kernel has pushed every register into the
 * signal frame, above it on the stack, so scanning from there up covers
 * them), acknowledges through a semaphore, and waits in sigsuspend() until
 * the world epoch changes and the restart signal arrives; then it
 * acknowledges again, so the collector knows nobody is still inside the
 * handler when it returns.
 *
 * No-preempt sections: if the signal lands while the thread is inside one
 * (allocating, sweeping, holding a runtime lock), the handler only sets
 * suspend_pending and returns; the thread suspends itself at the end of the
 * section (mgc_nopreempt_slow).  So a stopped thread never holds a runtime
 * lock and never leaves metadata half-written, and the same mechanism will
 * keep a write barrier's read of the barrier flag and its store together.
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
#include <semaphore.h>

#include "runtime/internal.h"

static int sig_suspend, sig_restart;
static _Atomic unsigned stw_epoch;   /* odd: stopped or stopping */
static sem_t stw_ack;
static sigset_t wait_mask;          /* what sigsuspend lets through */
static unsigned stopped_count;      /* threads lock */

/* ** Address just below the caller's frame: the low end of what to scan. */
__attribute__((noinline)) uintptr_t mgc_current_sp(void) {
    volatile uintptr_t marker = 0;
    return (uintptr_t)&marker;
}

/* ** Park this thread until the world restarts.  Called from the signal
 * handler, or from the end of a no-preempt section with the two signals
 * blocked.  __builtin_unwind_init spills callee-saved registers into this
 * frame so a pointer held only in one of them is scanned. */
void __attribute__((noinline)) mgc_suspend_self(gc_thread *t) {
    __builtin_unwind_init();
    unsigned epoch = atomic_load(&stw_epoch);
    if (!(epoch & 1)) return; /* the stop already ended (cannot happen: it waits for us) */
    t->suspended_sp = mgc_current_sp();
    sem_post(&stw_ack);
    while (atomic_load(&stw_epoch) == epoch) sigsuspend(&wait_mask);
    sem_post(&stw_ack);
}

static void suspend_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)info, (void)uctx;
    int saved = errno;
    gc_thread *t = mgc_self;
    if (t && (atomic_load(&stw_epoch) & 1)) {
        if (t->nopreempt) t->suspend_pending = 1;
        else mgc_suspend_self(t);
    }
    errno = saved;
}

static void restart_handler(int sig) { (void)sig; }

int mgc_stw_init(int suspend_sig, int restart_sig) {
    sig_suspend = suspend_sig;
    sig_restart = restart_sig;
    if (sem_init(&stw_ack, 0, 0) != 0) return GC_ESYS;

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

static void ack_wait(unsigned n) {
    for (unsigned i = 0; i < n; i++)
        while (sem_wait(&stw_ack) != 0 && errno == EINTR) {}
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
    atomic_fetch_add(&stw_epoch, 1); /* odd */
    stopped_count = 0;
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        t->stopped = 0;
        if (t == self) continue;
        int rc = pthread_kill(t->pthread, sig_suspend);
        if (rc == 0) {
            t->stopped = 1;
            stopped_count++;
        } else {
            mgc_warn("stop-the-world: cannot signal a registered thread (%s); was it "
                     "killed without unregistering?", strerror(rc));
        }
    }
    ack_wait(stopped_count);
}

void mgc_start_the_world(void) {
    atomic_fetch_add(&stw_epoch, 1); /* even */
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        if (t->stopped) pthread_kill(t->pthread, sig_restart);
    ack_wait(stopped_count);
    mgc_threads_unlock();
}

/* ** Stop one thread (to scan its stack) with the same handshake; the
 * caller holds the threads lock and is not t.  Returns false if t cannot
 * be signalled. */
bool mgc_stop_thread(gc_thread *t) {
    atomic_fetch_add(&stw_epoch, 1); /* odd */
    int rc = pthread_kill(t->pthread, sig_suspend);
    if (rc != 0) {
        atomic_fetch_add(&stw_epoch, 1);
        mgc_warn("stack scan: cannot signal a registered thread (%s); was it killed "
                 "without unregistering?", strerror(rc));
        return false;
    }
    ack_wait(1);
    return true;
}

void mgc_start_thread(gc_thread *t) {
    atomic_fetch_add(&stw_epoch, 1); /* even */
    pthread_kill(t->pthread, sig_restart);
    ack_wait(1);
}
