/*
 * thread.h -- a registered thread, as both layers see it.
 *
 * gc_thread is the one per-thread record (Go's m and p in one): the
 * allocator owns its mcache, the collector the rest (the stop protocol,
 * the write barrier's work buffer, assist debt, the thread's roots).  Each
 * field says who may touch it and when.  The allocator reaches it through
 * runtime/collector.h, the collector through gc/gc.h.
 */
#ifndef MGC_THREAD_H
#define MGC_THREAD_H

#include <signal.h>

#include "gc/workbuf.h"
#include "runtime/types.h"

/* A registered thread's own root ranges (gc/threadroots.c): scanned with
 * its stack.  Owner: the thread, which changes them only inside no-preempt
 * sections; the collector reads them only while the thread is stopped (or
 * held parked), as it reads the stack. */
typedef struct mgc_troot { uintptr_t lo, hi; } mgc_troot;
typedef struct mgc_thread_roots {
    mgc_troot *ranges; /* [0, n), dense; one malloc'd block with index */
    uint32_t *index;   /* 2 * cap slots by lo: range number + 1, 0 = empty */
    uint32_t n, cap;
    /* The sigaltstack the thread was on when it last stopped or parked off
     * its own stack; written by the thread before it acknowledges. */
    uintptr_t alt_lo, alt_hi;
} mgc_thread_roots;

/* A registered thread.  Lives in metadata memory that is never scanned. */
typedef struct gc_thread {
    mcache cache;
    /* Owner: the thread itself and its own signal handler.  While nopreempt
     * is nonzero the thread is in the runtime (allocating, sweeping, holding
     * a runtime lock) and a stop request is deferred: the handler sets
     * suspend_pending and the thread suspends itself when nopreempt returns
     * to 0.  want_gc asks the thread to start a cycle once it is out.
     * The flags a section's end tests are bytes of one word, so the test
     * is one load (gc_alloc's fast path makes it on every allocation); a
     * byte store is a single instruction, so the handler's write is whole
     * whenever the thread reads the word. */
    volatile sig_atomic_t nopreempt;
    union {
        struct {
            volatile uint8_t suspend_pending;
            volatile uint8_t want_gc;
            volatile uint8_t want_assist; /* owes mark work: pay at section end */
            /* MGC_TORTURE: every allocation ends in the slow path, which
             * runs the torture hook; set at registration, never cleared. */
            volatile uint8_t alloc_hook;
        };
        volatile uint32_t section_work; /* any of the four */
    };
    int in_gc; /* this thread is running a cycle: don't start another */
    int over_limit; /* the last allocation failed at the hard heap limit */

    /* This thread's view of the cycle (gc/handshake.c).  marking: its write
     * barrier shades and its refills owe assist work; black_sg: refills
     * and large allocations are black while it equals the heap's sweepgen.
     * Owner: the thread, but written only at its handshakes (by its signal
     * handler, outside every no-preempt section, or by the collector while
     * it is held parked or stopped) and at registration (threads lock);
     * read by the thread inside no-preempt sections, so a section sees one
     * value from its start to its end. */
    int marking;
    uint32_t black_sg;
    uint32_t sg_view; /* the heap's sweepgen as this thread works by it */
    /* The last handshake's hold: when it began and how long the thread's
     * handler (or the collector on its behalf) worked.  Written by the
     * handler before it acknowledges (release store of ack_epoch), read by
     * the collector after the acknowledgement. */
    uint64_t hs_start, hs_dur;

    /* Marking state.  Owner: the thread; the collector reads and flushes
     * gcw only while the thread is stopped or at its handshake. */
    gcwork gcw;            /* write-barrier shades and assist work */
    int64_t assist_debt;   /* scan bytes owed (negative: credit) */
    uint64_t torture_count;/* allocations since the last MGC_TORTURE cycle */

    /* Cycle number whose stack scan covered this thread; threads lock. */
    uint64_t stack_scanned;
    int id; /* registration number, for events; constant */
    int tid; /* kernel thread id, for messages; constant */

    /* Set at registration; constant. */
    pthread_t pthread;
    uintptr_t stack_hi;  /* stack grows down from here */
    uintptr_t stack_lo;  /* lowest address of the stack mapping */

    /* gc_add_thread_roots ranges: owned as mgc_thread_roots says. */
    mgc_thread_roots roots;

    /* The low end of the stack to scan while stopped or parked.  Written
     * by the thread before it acknowledges a stop (release store of
     * ack_epoch) or parks (release store of park); read by the stopper
     * after it sees either. */
    uintptr_t suspended_sp;
    /* Stop protocol (gc/stw.c).  park: RUNNING, PARKED (blocked in the
     * library or gc_do_blocking; set and cleared only by the thread, by CAS
     * on the way out) or HELD (a stopper counts it stopped; only the stopper
     * stores PARKED back).  ack_epoch / restart_epoch: the last (odd) stop
     * and (even) restart the thread acknowledged, written by the thread or
     * its handler. */
    _Atomic unsigned park;
    _Atomic unsigned ack_epoch;
    _Atomic unsigned restart_epoch;

    /* Protected by the threads lock (gc/thread.c). */
    struct gc_thread *next, *prev;
    int stopped;  /* how the current stopper stopped it (gc/stw.c STOP_*) */
} gc_thread;

/* The calling thread's record, NULL when it is not registered (or runs
 * gc_do_blocking's fn). */
extern HIDDEN __thread gc_thread *mgc_self __attribute__((tls_model("initial-exec")));

#endif /* MGC_THREAD_H */
