/*
 * gc.h -- the collector: what the files of gc/ say to each other.
 *
 * The collector sits on the allocator (runtime/heap.h) and the base
 * (runtime/base.h); the calls the allocator makes back into it are listed,
 * with the reason each crosses, in runtime/collector.h.  The per-thread
 * record is in gc/thread.h, the mark queue in gc/workbuf.h.
 *
 * Nothing here is exported from libmgc (-fvisibility=hidden; mgc_ prefix).
 */
#ifndef MGC_GC_H
#define MGC_GC_H

#include "gc/thread.h"
#include "gc/workbuf.h"
#include "runtime/collector.h"
#include "runtime/heap.h"

/* heap verification (gc/verify.c): world stopped, heap lock held, between
 * cycles */
HIDDEN uint64_t mgc_verify_heap_stw(void);


/* threads and stop-the-world (gc/thread.c, gc/stw.c) */
HIDDEN int mgc_threads_init(void);
HIDDEN int mgc_thread_register_self(void);
HIDDEN void mgc_threads_lock(void);
HIDDEN void mgc_threads_unlock(void);
HIDDEN bool mgc_threads_trylock(void);
extern HIDDEN gc_thread *mgc_all_threads; /* threads lock */
extern HIDDEN uint64_t mgc_num_threads;   /* threads lock */
/* Registered threads parked (blocked in the library's waits or in
 * gc_do_blocking): not running the program, so their CPUs are idle for
 * the mark workers (Go's idle mark workers).  Atomic; a hint: each thread
 * adds itself as it parks and subtracts as it leaves the park. */
extern HIDDEN _Atomic long mgc_num_parked;
HIDDEN long mgc_threads_running(void); /* registered minus parked, at least 0 */
HIDDEN int mgc_stw_init(int suspend_sig, int restart_sig);
HIDDEN void mgc_stop_the_world(void);
HIDDEN void mgc_start_the_world(void);
HIDDEN void mgc_handshake_locked(void (*fn)(gc_thread *), int kind); /* threads lock held */
/* the handshake mode's cycle (gc/handshake.c) */
/* A mark found complete, sweepgen not yet advanced: 0, or the sweepgen the
 * decision was taken under << 2 | MGC_DECISION_*.  A tentative decision
 * lasts a few instructions (the coordinator's check that no weak get
 * resurrected meanwhile); readers wait it out (gc/handshake.c). */
extern HIDDEN _Atomic uint64_t mgc_mark_decided;
#define MGC_DECISION_TENTATIVE 1
#define MGC_DECISION_FINAL 2
#define MGC_DECISION_STATE(d) ((int)((d) & 3))
#define MGC_DECISION_SWEEPGEN(d) ((uint32_t)((d) >> 2))
HIDDEN bool mgc_weak_resurrected(void);     /* a weak get greyed a white object: keep it? */
/* White-box tests: called by a termination round that found the mark
 * complete, with stage 0 before the tentative decision and 1 after it,
 * before the resurrection check; threads lock held (gc/handshake.c). */
extern HIDDEN void (*_Atomic mgc_hs_test_decision_hook)(int stage);
extern HIDDEN _Atomic int mgc_weak_test_yields; /* white-box tests: widen a weak read's race (gc/weak.c) */
HIDDEN void mgc_hs_mark_setup(void);        /* coordinator */
HIDDEN bool mgc_hs_try_terminate(void);     /* coordinator: one round; true: mark complete */
HIDDEN void mgc_hs_barrier_off(void);
HIDDEN void mgc_hs_advance(uint64_t marked);
HIDDEN void mgc_quiesce_for_fork(void);  /* stop_the_world for fork(): parks no one */
HIDDEN void mgc_unquiesce_after_fork(void);
HIDDEN bool mgc_stop_thread(gc_thread *t);
HIDDEN void mgc_start_thread(gc_thread *t);
HIDDEN void mgc_suspend_self(gc_thread *t);
HIDDEN void *mgc_parked(gc_thread *t, void *(*fn)(void *), void *arg); /* not cancellable */
HIDDEN void *mgc_park_call(gc_thread *t, void *(*fn)(void *), void *arg); /* cancellable */
HIDDEN void mgc_unpark(gc_thread *t);
/* The calling thread's gc_thread, also while it runs gc_do_blocking's fn
 * (where mgc_self is NULL: the thread counts as unregistered there). */
HIDDEN gc_thread *mgc_me(void);
HIDDEN bool mgc_in_do_blocking(void);
HIDDEN int mgc_register_caller(const char *call); /* unblocks the stop signals first */
HIDDEN void mgc_check_stop_signals(const char *call);
HIDDEN void mgc_threads_lock_parked(gc_thread *t);
HIDDEN uintptr_t mgc_current_sp(void);
HIDDEN void mgc_unblock_stop_signals(void); /* a library thread about to register */

/* roots (gc/roots.c) */
typedef void (*mgc_range_fn)(uintptr_t lo, uintptr_t hi, void *arg);
HIDDEN uint64_t mgc_roots_each(mgc_range_fn fn, void *arg); /* STW; returns bytes */
HIDDEN void mgc_roots_mark_begin(void);              /* STW */
HIDDEN bool mgc_roots_scan_chunk(mgc_range_fn fn, void *arg); /* false: none left */
HIDDEN bool mgc_roots_pending(void);
HIDDEN uint64_t mgc_roots_bytes(void);
HIDDEN uint64_t mgc_roots_rescan(mgc_range_fn fn, void *arg); /* STW: plain-store ranges */
HIDDEN bool mgc_roots_need_rescan(void);
HIDDEN void *mgc_roots_add_static(uintptr_t lo, uintptr_t hi); /* NULL: no memory */
HIDDEN void mgc_roots_remove_static(void *node);

/* static data as roots (gc/staticroots.c); refresh and current: coordinator */
HIDDEN void mgc_static_roots_init(int on);       /* gc_init */
HIDDEN void mgc_static_roots_refresh(void);      /* world running: never the loader while stopped */
HIDDEN bool mgc_static_roots_current(void);      /* world stopped: nothing loaded since? */
HIDDEN uint64_t mgc_static_roots_bytes(void);
HIDDEN void mgc_static_scan(uintptr_t lo, uintptr_t hi, mgc_range_fn fn, void *arg); /* roots_lock */

/* thread-owned roots (gc/threadroots.c): read only while t is stopped */
HIDDEN uint64_t mgc_thread_roots_scan(gc_thread *t, uintptr_t sp, mgc_range_fn fn, void *arg);
HIDDEN void mgc_thread_roots_note_sp(gc_thread *t, uintptr_t sp); /* t itself, at a stop */
HIDDEN void mgc_thread_roots_drop(gc_thread *t); /* t off the thread list */
HIDDEN void mgc_thread_roots_warn_deferred(void); /* with no thread stopped */

/* finalizers and cleanups (gc/finalizer.c): a mark job like the roots */
HIDDEN void mgc_fin_mark_begin(void);         /* STW */
HIDDEN bool mgc_fin_mark_some(gcwork *w);     /* false: nothing left */
HIDDEN bool mgc_fin_pending(void);
HIDDEN void mgc_fin_scan_all(gcwork *w);      /* STW, checkmark */
HIDDEN void mgc_fin_cycle_end(void);          /* coordinator, after the sweep */

/* marking (gc/mark.c) */
HIDDEN void mgc_grey(gcwork *w, uintptr_t p);
HIDDEN void mgc_scan_contents(gcwork *w, uintptr_t obj); /* obj's words, obj not marked */
HIDDEN void mgc_mark_setup(void);          /* STW */
HIDDEN void mgc_mark_setup_global(void);   /* threads lock, before any thread's setup */
HIDDEN void mgc_mark_setup_thread(gc_thread *t); /* its handshake, or STW */
HIDDEN void mgc_mark_scan_self(gc_thread *t);    /* its handshake */
HIDDEN uint64_t mgc_mark_totals(uint64_t *root_bytes);
extern HIDDEN _Atomic uint32_t mgc_black_sg;
HIDDEN void mgc_mark_everything_stw(gcwork *w); /* STW: roots, stacks, drain */
HIDDEN void mgc_mark_rescan_stw(gcwork *w);     /* STW: plain-store roots, stacks, drain */
HIDDEN bool mgc_mark_some(gcwork *w, int64_t budget, bool stacks); /* one slice; false if no work found */
HIDDEN bool mgc_mark_work_left(void);
HIDDEN bool mgc_mark_stacks_pending_locked(void);
HIDDEN void mgc_mark_flush_thread(gc_thread *t); /* STW or self: gcw to the pool */
HIDDEN uint64_t mgc_mark_finish(uint64_t *root_bytes); /* STW: total marked */
HIDDEN uint64_t mgc_checkmark(void);
HIDDEN unsigned mgc_mark_rescan_dropped(gcwork *w); /* STW, after the mark */
HIDDEN uint64_t mgc_mark_stack_bytes(void); /* this cycle's stack bytes scanned */          /* STW */
HIDDEN void mgc_assist(gc_thread *t);
HIDDEN void mgc_barrier_lock_unregistered(void);
HIDDEN void mgc_barrier_unlock_unregistered(void);
HIDDEN void mgc_gcwork_account(gcwork *w); /* fold counters into the cycle totals */
extern HIDDEN _Atomic long mgc_mark_nbusy;
extern HIDDEN _Atomic int mgc_mark_paused;
/* Workers waiting for work (gc/markworker.c): markers share theirs. */
HIDDEN void mgc_workers_kick(gc_thread *t); /* t waits for the mark: no rest */
extern HIDDEN _Atomic int mgc_workers_hungry;
HIDDEN void mgc_workers_wake(void);
HIDDEN int mgc_workers_start(int n);
HIDDEN void mgc_workers_set_active(int on);
HIDDEN void mgc_workers_wait_idle(long ns); /* coordinator: until a worker idles, at most ns */
HIDDEN uint64_t mgc_mark_scanned(void);    /* bytes scanned this cycle (gc/mark.c) */
HIDDEN uint64_t mgc_mark_black(void);      /* bytes of marked allocated black this cycle */

/* sweeping (gc/sweep.c) */
HIDDEN void mgc_sweep_all(gc_thread *t);
HIDDEN void mgc_sweep_finish(void); /* coordinator: sweep termination */
HIDDEN void mgc_sweep_pace(uint64_t marked, uint64_t trigger); /* mark termination */
/* gc/special.c: weak refs, finalizers, cleanups of unmarked objects;
 * returns the objects finalizers resurrect. */
HIDDEN unsigned mgc_specials_sweep(mspan *s);

/* statistics (gc/stats.c): every observation is one call, which feeds the
 * event ring, the counters, the pause histogram, the trace file and the
 * phase callback (see the file's comment for who calls what, and when) */
#define MGC_TID_COORDINATOR 100000 /* trace lanes of library threads; mutators use t->id */
#define MGC_TID_WORKER0 100001
#define MGC_EVENT_RING 16384        /* events gc_get_events keeps */
typedef struct mgc_cycle_info {
    uint64_t cycle, start;          /* start: nanotime the cycle began */
    uint64_t setup_ns, mark_ns, term_ns; /* setup pause, concurrent mark wall, termination pauses */
    uint64_t mark_phase_ns;         /* from the start to the end of the mark (gc_stats.last_mark_ns) */
    uint64_t sweep_ns;              /* the background sweep's wall time */
    uint64_t heap_before, heap_peak, heap_marked, heap_goal, stack_bytes, root_bytes;
    int forced, retries;
} mgc_cycle_info;
extern HIDDEN uint64_t mgc_t_init; /* nanotime at gc_init; constant after */
HIDDEN void mgc_stats_init(void);  /* gc_init, before any library thread */
HIDDEN void mgc_stat_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                           uint64_t stop_ns, int retries);
HIDDEN void mgc_stat_mark_start(uint64_t cycle, uint64_t at);
HIDDEN void mgc_stat_hs_phase(int termination, uint64_t cycle, uint64_t start, uint64_t dur);
HIDDEN void mgc_stat_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur);
HIDDEN void mgc_stat_worker(int worker, uint64_t start, uint64_t dur, uint64_t cpu);
HIDDEN void mgc_stat_assist(int tid, uint64_t start, uint64_t dur, uint64_t cpu);
HIDDEN void mgc_stat_stack(int tid, uint64_t start, uint64_t dur);
/* A registered thread held by the collector on its own (never waiting for
 * another thread): for its stack scan, or for a handshake (its signal
 * handler's or, parked, the coordinator's work on its behalf).  Reported by
 * the coordinator or a mark worker, never from a signal handler. */
enum { MGC_HOLD_HANDSHAKE = 0, MGC_HOLD_STACK = 1 };
HIDDEN void mgc_stat_hold(int tid, int kind, uint64_t start, uint64_t dur);
HIDDEN void mgc_stat_heap(uint64_t at, uint64_t live);
HIDDEN void mgc_stat_stall(uint64_t dur); /* a wait at the hard goal (any thread) */
HIDDEN void mgc_stat_mark_end(uint64_t peak, uint64_t goal);
HIDDEN void mgc_stat_cycle(const mgc_cycle_info *c);

/* the trace file and gctrace lines (gc/trace.c): written by gc/stats.c */
extern HIDDEN int mgc_trace_stderr, mgc_trace_file_on;
HIDDEN void mgc_trace_init(void);
HIDDEN void mgc_trace_thread_name(int tid, const char *name);
HIDDEN void mgc_trace_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                            uint64_t stop_ns, int retries);
HIDDEN void mgc_trace_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_worker(int worker, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_assist(int tid, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_hold(int tid, int kind, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_heap(uint64_t at, uint64_t live);
/* A cycle's pauses and holds as a user feels them: its longest global
 * pause, and its per-thread holds (gc/stats.c counts them). */
typedef struct mgc_cycle_holds {
    uint64_t pause_max_ns, holds, hold_max_ns;
} mgc_cycle_holds;
HIDDEN void mgc_trace_gctrace(const mgc_cycle_info *c, const mgc_cycle_holds *h, uint64_t assist,
                              uint64_t worker, double pct);
HIDDEN void mgc_trace_cycle(const mgc_cycle_info *c, const mgc_cycle_holds *h, uint64_t assist,
                            uint64_t worker, uint64_t now);

/* the cycle and pacing (gc/mgc.c, gc/pacer.c) */
HIDDEN void mgc_gc_start(gc_thread *t, bool forced);
HIDDEN int mgc_gc_init(void);
extern HIDDEN _Atomic uint64_t mgc_num_gc;
HIDDEN void mgc_pacer_init(int percent, uint64_t memlimit);
HIDDEN void mgc_pacer_start_cycle(uint64_t heap_live);
HIDDEN void mgc_pacer_end_cycle(uint64_t marked, uint64_t root_bytes, uint64_t peak_live);
HIDDEN int mgc_pacer_set_percent(int percent);
HIDDEN uint64_t mgc_pacer_set_memlimit(uint64_t limit);
HIDDEN void mgc_pacer_worker_scanned(uint64_t bytes, uint64_t ns);
/* MGC_VERBOSE=3's view of the pacer: worker rate, trigger and runway. */
HIDDEN void mgc_pacer_debug(uint64_t *wb, uint64_t *wn, uint64_t *trig, uint64_t *rw);
extern HIDDEN _Atomic int64_t mgc_bg_credit;

/* fork (gc/fork.c and each module's part) */
HIDDEN void mgc_fork_init(void);
/* What a forked child assigns to a condition variable that a thread it does
 * not have may have waited on (a lock: mgc_mutex_fork_reset). */
extern HIDDEN const pthread_cond_t mgc_fresh_cond;
HIDDEN void mgc_gc_fork_hold(gc_thread *t);
HIDDEN void mgc_gc_fork_release(void);
HIDDEN void mgc_gc_fork_child(void);
HIDDEN void mgc_workers_fork_lock(void);
HIDDEN void mgc_workers_fork_unlock(void);
HIDDEN void mgc_workers_fork_child(void);
HIDDEN void mgc_roots_fork_lock(void);
HIDDEN void mgc_roots_fork_unlock(void);
HIDDEN void mgc_threads_fork_child(void);
HIDDEN void mgc_trace_fork_child(void);
HIDDEN void mgc_stats_fork_child(void);
HIDDEN void mgc_fin_fork_child(void);
HIDDEN int mgc_fin_restart_thread(void);

#endif /* MGC_GC_H */
