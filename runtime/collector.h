/*
 * collector.h -- the calls the allocator makes into the collector: the one
 * place where the two layers meet.
 *
 * The allocator (runtime/) sits below the collector (gc/) and otherwise
 * knows nothing of it.  Each call below crosses for a reason the
 * allocation path cannot avoid; the reason is written next to it.  Adding a
 * call here is a design decision: prefer passing the information down.
 */
#ifndef MGC_COLLECTOR_H
#define MGC_COLLECTOR_H

#include "gc/thread.h"
#include "runtime/heap.h"

/* ---- no-preempt sections --------------------------------------------------
 * Why it crosses: the stop protocol is the collector's, but only the
 * allocator knows when its metadata is consistent.  A thread may be stopped
 * at any instruction except between mgc_nopreempt_begin() and
 * mgc_nopreempt_end(): there the stop is deferred until the section ends.
 * The converse rule: never block waiting for the collector (the world lock)
 * inside a section, or the collector waits for us forever. */

HIDDEN void mgc_nopreempt_slow(gc_thread *t);
HIDDEN void mgc_nopreempt_gate(gc_thread *t);
/* Nonzero while a fork() is being prepared (gc/fork.c): no thread may
 * enter a section until the fork is over.  Written by the forking thread
 * (seq_cst) before it signals the others; read relaxed here, after the
 * thread's own increment, so a thread either is seen inside its section
 * by the signal handler or sees the gate (gc/stw.c, "Fork quiesce"). */
HIDDEN extern _Atomic unsigned mgc_fork_gate;

/* ** Enter a section in which this thread must not be stopped.  A compiler
 * barrier is enough: the only other reader is this thread's signal handler.
 * The gate test is one load of a read-mostly line and a branch. */
static inline void mgc_nopreempt_begin(gc_thread *t) {
    t->nopreempt++;
    atomic_signal_fence(memory_order_seq_cst);
    if (unlikely(atomic_load_explicit(&mgc_fork_gate, memory_order_relaxed))) mgc_nopreempt_gate(t);
}

/* ** Leave it; take a deferred stop or a requested collection now. */
static inline void mgc_nopreempt_end(gc_thread *t) {
    atomic_signal_fence(memory_order_seq_cst);
    if (--t->nopreempt == 0 && unlikely(t->section_work))
        mgc_nopreempt_slow(t);
}

/* Runtime locks: held only inside a no-preempt section, so a stopped thread
 * never holds one and the collector can take any of them.  t may be NULL
 * for an unregistered thread (which is never stopped).  Taken in the order
 * of runtime/lockrank.h. */
static inline void mgc_lock(gc_thread *t, mgc_mutex *m) {
    if (t) mgc_nopreempt_begin(t);
    mgc_mutex_lock(m);
}
static inline void mgc_unlock(gc_thread *t, mgc_mutex *m) {
    mgc_mutex_unlock(m);
    if (t) mgc_nopreempt_end(t);
}

/* ---- registration ----------------------------------------------------------
 * Why: an allocation by an unregistered thread is refused with a message
 * that names the rule the caller broke (gc/thread.c knows which). */
HIDDEN gc_thread *mgc_caller(const char *call, const char *instead); /* NULL + message */

/* ---- black allocation ------------------------------------------------------
 * Why: an object allocated while the collector marks must be born marked
 * (and counted as marked), or the sweep that follows frees it. */
/* Nonzero from mark setup to mark termination: the write barrier shades
 * and allocation marks new objects.  Changed only with the world stopped;
 * read inside no-preempt sections, so a reader's whole operation falls on
 * one side of a change. */
extern HIDDEN _Atomic int mgc_marking;
/* The sweepgen a thread's own work goes by: a registered thread's view
 * (gc_thread.sg_view, which follows the heap's at the thread's handshakes:
 * gc/handshake.c), the heap's for library threads (t NULL).  Every span
 * state a thread reads or writes is relative to one view; a view one cycle
 * behind still reads every state right, because advancing by 2 turns each
 * swept state into the matching unswept one (runtime/heap.h). */
static inline uint32_t mgc_sweepgen_of(const gc_thread *t) {
    return t ? t->sg_view : mgc_sweepgen();
}
HIDDEN void mgc_mark_add_black(uint64_t bytes);

/* ---- pacing: the trigger and assist debt (gc/pacer.c) ------------------------
 * Why: allocation is what starts a cycle and what pays for marking; the
 * allocator checks the trigger on each span refill and charges assist debt
 * in proportion to what it hands out. */
extern HIDDEN _Atomic uint64_t mgc_heap_goal;    /* UINT64_MAX when off */
extern HIDDEN _Atomic uint64_t mgc_heap_trigger; /* UINT64_MAX when off */
HIDDEN double mgc_pacer_assist_ratio(void);
static inline bool mgc_pacer_should_trigger(void) {
    return atomic_load_explicit(&mgc_hstats.heap_live, memory_order_relaxed) >=
           atomic_load_explicit(&mgc_heap_trigger, memory_order_relaxed);
}

/* ---- sweep on demand (gc/sweep.c) -------------------------------------------
 * Why: a span must be swept before it is reused, and the allocator meets
 * unswept spans first (Go's "proportional sweep" and reclaim). */
HIDDEN bool mgc_sweep_span(gc_thread *t, mspan *s, bool preserve);
HIDDEN bool mgc_span_claim_for_sweep(mspan *s, uint32_t sg);
/* Up to max spans of one class; 0 when nothing is left. */
HIDDEN unsigned mgc_sweep_some(gc_thread *t, unsigned max);
#define SWEEP_BATCH 16 /* the most one call sweeps */
/* A refill's share of the sweep, paced by the pages left (gc/sweep.c). */
HIDDEN void mgc_sweep_proportional(gc_thread *t);
HIDDEN unsigned mgc_sweep_batch(gc_thread *t, struct mcentral *c, uint32_t sg, unsigned max, mspan **room);
extern HIDDEN _Atomic int mgc_sweep_done;
extern HIDDEN _Atomic int mgc_sweep_active; /* gc/sweep.c */

/* ---- debug modes ------------------------------------------------------------
 * Why: MGC_TORTURE counts allocations, and MGC_BARRIERCHECK must know the
 * type of every typed object as it is made. */
HIDDEN void mgc_gc_torture(gc_thread *t);
extern HIDDEN int mgc_bc_on; /* nonzero when the sanitizer is on; set once by gc_init */
HIDDEN void mgc_bc_note_type(void *obj, const gc_type *type);

/* ---- static data as roots (gc/staticroots.c) -------------------------------
 * Why: the allocator's own tables live in static data; the scanner must
 * not take them for roots (they point at every span). */
HIDDEN void mgc_static_exclude(const void *p, size_t n); /* module init */

#endif /* MGC_COLLECTOR_H */
