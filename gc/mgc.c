/*
 * mgc.c -- the collection cycle, run by the coordinator thread.
 *
 * A cycle, as in Go's mgc.go:
 *
 *   0. sweep termination: finish sweeping the last cycle (normally done by
 *      the time anyone asks: the coordinator sweeps in the background);
 *   1. mark setup, world stopped: turn the write barrier and black
 *      allocation on, make stacks and root ranges grey, grey the tiny
 *      blocks.  O(threads): nothing is scanned here;
 *   2. concurrent mark: mark workers scan stacks (one thread stopped at a
 *      time), root ranges and grey objects; allocating threads assist;
 *   3. mark termination, world stopped: flush every thread's barrier
 *      buffer; if that, a busy marker, or an unscanned stack/root shows
 *      work is left, restart the world and go back to 2 (after eight tries,
 *      finish it in the pause); otherwise turn the barrier off, hand every
 *      cached span back, set heap_live to what was marked, advance
 *      sweepgen (every span becomes unswept), set the next goal;
 *   4. concurrent sweep: the coordinator sweeps in the background while
 *      allocating threads sweep proportionally and on demand.
 *
 * The cycle counts as done (num_gc, gc_collect returns) when the sweep is.
 *
 * Debug modes: MGC_STW=1 marks entirely inside the setup pause (the
 * stop-the-world collector), =2 also sweeps in the pause; MGC_CHECKMARK=1
 * re-marks with the world stopped after every mark and aborts with a
 * report on any reachable object left unmarked; MGC_TORTURE=N runs a full
 * cycle every N allocations.
 *
 * Threads: the coordinator is a library thread, never registered; mutators
 * ask it for cycles (mgc_gc_start) and gc_collect() waits for one.
 */
#include <sched.h>
#include <time.h>

#include "gc/gc.h"
#include "gc/barrier.h"
#include "gc/workbuf.h"


_Atomic uint64_t mgc_num_gc;

/* Requests: cmu protects all four; the coordinator sleeps on c_request,
 * waiters on c_done. */
static mgc_mutex cmu = MGC_MUTEX_INIT(CYCLE);
static pthread_cond_t c_request = PTHREAD_COND_INITIALIZER;
static pthread_cond_t c_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t c_marked = PTHREAD_COND_INITIALIZER; /* a mark terminated */
static uint64_t want_cycles, started_cycles, done_cycles;
static int forced_next;
/* Heap verifications asked for and done (gc_verify_heap), and the problems
 * the last one found; cmu. */
static uint64_t want_verify, done_verify, verify_problems;
static _Atomic int marking_cycle; /* from a cycle's start to its mark termination */

/* ** Wait until no marker holds work and nothing is left to scan. */
static void wait_mark_quiet(void) {
    while (atomic_load(&mgc_mark_nbusy) != 0 || mgc_mark_work_left()) mgc_workers_wait_idle(200000);
}

/* ** With the world stopped and the workers idle: take every thread's
 * barrier buffer, and say whether any work is left anywhere. */
static bool flush_and_check(void) {
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_mark_flush_thread(t);
    return atomic_load(&mgc_wbuf_nfull) > 0 || mgc_roots_pending() || mgc_fin_pending() ||
           mgc_mark_stacks_pending_locked();
}

/* ** MGC_VERBOSE=3: how long a termination attempt took to stop the world
 * and to idle the workers.  Printed after the restart, as every line is:
 * a thread stopped inside its own fprintf holds stderr's lock. */
static void report_termination_stop(uint64_t p0, uint64_t stopped, uint64_t idle) {
    if (mgc_cfg.verbose >= 3)
        mgc_print("mgc: termination stop %.1f us, workers idle after %.1f us", (stopped - p0) / 1e3,
                  (idle - stopped) / 1e3);
}

/* ** Say once (and with MGC_VERBOSE every time) that the mark ran out of
 * memory for work buffers and was finished by rescanning the heap: correct,
 * but a long pause, and a sign that the process is out of memory. */
static void report_rescans(unsigned rescans) {
    static bool warned; /* coordinator only */
    if (!rescans) return;
    if (!warned) {
        warned = true;
        mgc_warn("mark: out of memory for mark work buffers; this cycle (and any such later one) "
                 "finished its mark by rescanning the heap %u times in the pause; free memory "
                 "or raise the address-space limit", rescans);
    } else if (mgc_cfg.verbose) {
        mgc_print("mgc: mark: out of memory for work buffers, %u heap rescans", rescans);
    }
}

/* MGC_VERBOSE=2: the pacer's view of the mark, taken in the termination
 * pause and printed after it. */
typedef struct pacer_line {
    uint64_t scanned, black, worker_bytes, worker_ns, trigger, goal, runway, live;
} pacer_line;

static void pacer_line_take(pacer_line *l) {
    mgc_pacer_debug(&l->worker_bytes, &l->worker_ns, &l->trigger, &l->runway);
    l->scanned = mgc_mark_scanned();
    l->black = mgc_mark_black();
    l->goal = atomic_load(&mgc_heap_goal);
    l->live = atomic_load(&mgc_hstats.heap_live);
}

static void pacer_line_print(const pacer_line *l) {
    mgc_print("mgc: pacer: scanned %.1f MB (workers %.1f MB in %.1f ms), allocated black %.1f MB, "
              "trigger at %.1f MB, goal %.1f, runway %.1f MB, live now %.1f",
              l->scanned / 1e6, l->worker_bytes / 1e6, l->worker_ns / 1e6, l->black / 1e6,
              l->trigger / 1e6, l->goal / 1e6, l->runway / 1e6, l->live / 1e6);
}

/* The state of one cycle, handed from phase to phase (coordinator only). */
typedef struct cycle {
    mgc_cycle_info ci;  /* what the statistics and traces get */
    gcwork w;           /* the coordinator's own marking (STW work) */
    uint64_t p0;        /* the current or last pause: when its stop began */
    uint64_t stopped;   /* ... when the world was stopped */
    uint64_t idle;      /* ... when the workers were idle (termination) */
    uint64_t t_mark0;   /* concurrent mark began; 0 under MGC_STW */
    uint64_t t_decided; /* handshake mode: a round proved the mark complete */
    uint64_t t_marked, t_restarted, t_swept;
    uint64_t root_bytes, unverified;
    unsigned rescans;
    pacer_line pl;      /* MGC_VERBOSE=2, taken in the termination pause */
} cycle;

/* ** Restart the world after a pause that did not end the mark, and report
 * the pause (retries: termination attempts before it). */
static void restart_after_pause(cycle *c, int termination, uint64_t *acc, int retries) {
    mgc_start_the_world();
    uint64_t d = mgc_nanotime() - c->p0;
    *acc += d;
    mgc_stat_pause(termination, c->ci.cycle, c->p0, d, c->stopped - c->p0, retries);
}

/* ** Stop the world with the static-data snapshot current (gc/staticroots.c):
 * the loader may not be called once the world is stopped, so the snapshot
 * is refreshed just before, and a library loaded or unloaded in between
 * sends us round again; such a stop counts as a pause of this phase (acc).
 * Returns with the world stopped and c->p0, c->stopped set. */
static void stop_world_roots_current(cycle *c, int termination, uint64_t *acc) {
    for (;;) {
        mgc_static_roots_refresh();
        c->p0 = mgc_nanotime();
        mgc_stop_the_world();
        c->stopped = mgc_nanotime();
        if (mgc_static_roots_current()) return;
        restart_after_pause(c, termination, acc, 0);
    }
}


/* ---- the phases of a cycle, in order ------------------------------------------ */

/* ** Phase 0, sweep termination (Go's gcStart, first half): whatever the
 * last cycle left unswept is swept now, so every span starts the mark
 * swept. */
static void sweep_termination(cycle *c, bool forced) {
    memset(c, 0, sizeof *c);
    c->ci.forced = forced;
    c->ci.cycle = atomic_load(&mgc_num_gc) + 1;
    c->ci.start = mgc_nanotime();
    atomic_store(&marking_cycle, 1);
    mgc_sweep_finish();
    c->ci.heap_before = atomic_load(&mgc_hstats.heap_live);
    mgc_stat_heap(c->ci.start, c->ci.heap_before);
}

/* ** Phase 1, mark setup (gcStart, second half), world stopped: barrier and
 * black allocation on, roots and stacks grey, the pacer's goal for this
 * cycle.  Returns with the world still stopped. */
static void mark_setup(cycle *c) {
    stop_world_roots_current(c, 0, &c->ci.setup_ns);
    mgc_mark_setup();
    mgc_pacer_start_cycle(atomic_load(&mgc_hstats.heap_live));
    c->ci.heap_goal = atomic_load(&mgc_heap_goal);
    mgc_gcwork_init(&c->w);
}

/* ** Phase 2 begins: restart the world and let the workers mark. */
static void start_concurrent_mark(cycle *c) {
    uint64_t ps = mgc_nanotime();
    uint64_t setup0 = c->ci.setup_ns;
    restart_after_pause(c, 0, &c->ci.setup_ns, 0);
    mgc_warn_flush();
    if (mgc_cfg.verbose >= 3)
        mgc_print("mgc: setup pause %.1f us (stopped+setup %.1f us)",
                  (c->ci.setup_ns - setup0) / 1e3, (ps - c->p0) / 1e3);
    c->t_mark0 = mgc_nanotime();
    mgc_stat_mark_start(c->ci.cycle, c->t_mark0);
    mgc_workers_set_active(1);
}

/* ** Phase 3a, mark done (Go's gcMarkDone): stop the world when the markers
 * are quiet and look for grey objects anywhere (barrier buffers, roots,
 * stacks); if any, restart and go on marking, at most eight times, then
 * finish the mark in the pause.  Returns with the world stopped, the
 * unregistered barrier's lock held and no grey object left. */
static void mark_done(cycle *c) {
    for (;;) {
        wait_mark_quiet();
        stop_world_roots_current(c, 1, &c->ci.term_ns);
        /* Workers are not stopped by signals: tell them to stop taking
         * work and wait for the few that are mid-slice (a 64 KiB scan). */
        mgc_workers_set_active(0);
        while (atomic_load(&mgc_mark_nbusy) != 0) sched_yield();
        c->idle = mgc_nanotime();
        mgc_barrier_lock_unregistered();
        if (!flush_and_check()) break;
        if (++c->ci.retries >= 8) {
            /* Still racing the barrier: finish in this pause. */
            mgc_mark_everything_stw(&c->w);
            break;
        }
        mgc_barrier_unlock_unregistered();
        restart_after_pause(c, 1, &c->ci.term_ns, c->ci.retries - 1);
        report_termination_stop(c->p0, c->stopped, c->idle);
        mgc_workers_set_active(1);
    }
    mgc_mark_rescan_stw(&c->w); /* plain stores into root ranges: gc/roots.c */
}

/* ** Phase 3b, mark termination (gcMarkTermination), world stopped and
 * nothing left to mark: the barrier off, every cached span handed back,
 * heap_live set to what was marked, sweepgen advanced (every span becomes
 * unswept), the next goal set.  Restarts the world. */
static void mark_termination(cycle *c) {
    /* Grey objects dropped for want of memory (gc/workbuf.c): found again
     * by rescanning the heap, in this pause. */
    c->rescans = mgc_mark_rescan_dropped(&c->w);
    c->t_marked = mgc_nanotime();
    mgc_gcwork_dispose(&c->w);
    mgc_gcwork_account(&c->w);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_mark_flush_thread(t);
    uint64_t marked = mgc_mark_finish(&c->root_bytes);
    if (mgc_bc_on) mgc_bc_terminate();
    c->ci.stack_bytes = mgc_mark_stack_bytes();
    c->ci.root_bytes = c->root_bytes - c->ci.stack_bytes;
    if (mgc_cfg.verbose >= 2) pacer_line_take(&c->pl);
    if (!mgc_cfg.stw) mgc_barrier_unlock_unregistered();
    c->unverified = mgc_cfg.checkmark ? mgc_checkmark() : 0;
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_cache_release_all(NULL, &t->cache);
    uint64_t peak = c->ci.heap_peak = atomic_load(&mgc_hstats.heap_live);
    c->ci.heap_marked = marked;
    mgc_stat_mark_end(peak, atomic_load(&mgc_heap_goal));
    atomic_store(&mgc_hstats.heap_live, marked);
    mgc_sweepgen_advance();
    for (gc_thread *t = mgc_all_threads; t; t = t->next) t->sg_view = mgc_sweepgen();
    atomic_store(&mgc_mark_decided, 0);
    atomic_store(&mgc_sweep_done, 0);
    mgc_pacer_end_cycle(marked, c->root_bytes, peak);
    if (mgc_cfg.stw >= 2) {
        mgc_sweep_all(NULL);
        atomic_store(&mgc_sweep_done, 1);
    }
    atomic_store(&marking_cycle, 0);
    atomic_fetch_add(&mgc_num_gc, 1); /* counted at mark termination, as Go does */
    mgc_start_the_world();
    mgc_mutex_lock(&cmu);
    pthread_cond_broadcast(&c_marked);
    mgc_mutex_unlock(&cmu);
    c->t_restarted = mgc_nanotime();
}

/* ** Everything said about the mark and its last pause, now that nobody is
 * stopped (a stopped thread may hold stderr's lock or the handler's). */
static void report_mark_termination(cycle *c) {
    uint64_t pause = c->t_restarted - c->p0;
    mgc_warn_flush();
    mgc_thread_roots_warn_deferred(); /* MGC_STW: stacks were scanned in the pause */
    if (c->t_mark0) report_termination_stop(c->p0, c->stopped, c->idle);
    if (mgc_cfg.verbose >= 2) pacer_line_print(&c->pl);
    report_rescans(c->rescans);
    if (mgc_cfg.verbose && c->unverified)
        mgc_print("mgc: checkmark: %llu stack words point to unmarked objects (not verified)",
                  (unsigned long long)c->unverified);
    if (mgc_bc_on) mgc_bc_report();
    if (mgc_cfg.stw) c->ci.setup_ns = pause; /* one pause did it all */
    else c->ci.term_ns += pause;
    c->ci.mark_ns = c->t_mark0 ? c->p0 - c->t_mark0 : 0;
    mgc_stat_pause(!mgc_cfg.stw, c->ci.cycle, c->p0, pause, c->stopped - c->p0, c->ci.retries);
    if (c->t_mark0) mgc_stat_phase(0, c->ci.cycle, c->t_mark0, c->p0 - c->t_mark0);
    mgc_stat_heap(c->t_restarted, c->ci.heap_marked);
    if (mgc_cfg.verbose >= 3) mgc_print("mgc: termination pause %.1f us", pause / 1e3);
}

/* ** Phase 4, the concurrent sweep (gcSweep's background part), beside the
 * allocating threads' proportional and on-demand sweeping.  It does not
 * yield: it once did every 256 spans, and with the program's threads on
 * every core a yielded coordinator got the CPU back only after their time
 * slice, 1.5-3 ms later.  The sweep was long done by then (the program's
 * refills had finished it), but only this loop says so, and the next
 * cycle, asked for meanwhile, could not start: GCBench with two threads
 * began its marks 10-20 MB past the trigger. */
static void background_sweep(cycle *c) {
    while (mgc_sweep_some(NULL, SWEEP_BATCH) != 0) {
    }
    atomic_store(&mgc_sweep_done, 1);
    c->t_swept = mgc_nanotime();
    mgc_fin_cycle_end();
    mgc_stat_phase(1, c->ci.cycle, c->t_restarted, c->t_swept - c->t_restarted);
}

/* ** The cycle is done: its statistics, gctrace line and MGC_VERBOSE line. */
static void report_cycle(cycle *c) {
    c->ci.mark_phase_ns = c->t_marked - c->ci.start;
    c->ci.sweep_ns = c->t_swept - c->t_restarted;
    mgc_stat_cycle(&c->ci);
    mgc_warn_flush(); /* what single-thread stops queued during the mark */
    if (!mgc_cfg.verbose) return;
    uint64_t goal = atomic_load(&mgc_heap_goal);
    mgc_print("mgc: gc %llu%s: %.3f ms mark, %.3f ms sweep, last pause %.3f ms, "
              "%.1f -> %.1f -> %.1f MB, goal %.1f MB, roots %.1f KB, %d termination retries",
              (unsigned long long)c->ci.cycle, c->ci.forced ? " (forced)" : "",
              c->ci.mark_phase_ns / 1e6, c->ci.sweep_ns / 1e6, (c->t_restarted - c->p0) / 1e6,
              c->ci.heap_before / 1048576.0, c->ci.heap_peak / 1048576.0,
              c->ci.heap_marked / 1048576.0, goal == UINT64_MAX ? 0.0 : goal / 1048576.0,
              c->root_bytes / 1024.0, c->ci.retries);
}

/* ---- the same phases by per-thread handshakes (gc/handshake.c) ---------------- */

/* ** Phase 1 without a stop: each thread enters the mark at its handshake;
 * the workers start when all have. */
static void hs_mark_setup(cycle *c) {
    mgc_static_roots_refresh(); /* a library loaded later: the termination stop sees it */
    c->p0 = c->stopped = mgc_nanotime();
    mgc_hs_mark_setup();
    mgc_pacer_start_cycle(atomic_load(&mgc_hstats.heap_live));
    c->ci.heap_goal = atomic_load(&mgc_heap_goal);
    mgc_gcwork_init(&c->w);
    c->t_mark0 = mgc_nanotime();
    if (mgc_cfg.verbose >= 3)
        mgc_print("mgc: setup handshake %.1f us (no pause)", (c->t_mark0 - c->p0) / 1e3);
    mgc_stat_hs_phase(0, c->ci.cycle, c->p0, c->t_mark0 - c->p0);
    mgc_stat_mark_start(c->ci.cycle, c->t_mark0);
    mgc_workers_set_active(1);
}

/* ** Phase 3a by handshake rounds, until one proves the mark complete.
 * False when this cycle must end with the world stopped after all: root
 * ranges written with plain stores need their rescan against a still
 * memory, the barrier checker its stop, and grey objects dropped for want
 * of buffers a heap rescan. */
static bool hs_mark_done(cycle *c) {
    for (;;) {
        wait_mark_quiet();
        if (mgc_roots_need_rescan() || mgc_bc_on || atomic_load(&mgc_wbuf_dropped)) return false;
        if (mgc_hs_try_terminate()) return true;
        c->ci.retries++;
    }
}

/* ** What the barrier shaded after the mark was complete: black already,
 * or garbage a weak get greyed and then refused; scanned here so no work
 * buffer carries it into the next cycle. */
static void drain_leftovers(cycle *c) {
    while (mgc_mark_some(&c->w, -1, false)) {}
}

/* ** Phase 3b with no stop: the barrier off thread by thread, the
 * sweepgen advance, every thread's view of it caught up by handshake.
 * MGC_CHECKMARK verifies the mark with the world stopped first (the one
 * pause of such a cycle), before anything scans the leftovers, so a round
 * that decided with grey objects left would show as unmarked objects. */
static void hs_mark_termination(cycle *c) {
    c->t_decided = mgc_nanotime();
    mgc_hs_barrier_off();
    if (mgc_cfg.checkmark) {
        uint64_t acc = 0;
        c->p0 = mgc_nanotime();
        mgc_stop_the_world();
        c->stopped = mgc_nanotime();
        c->unverified = mgc_checkmark();
        restart_after_pause(c, 1, &acc, c->ci.retries);
        c->ci.term_ns += acc;
    }
    drain_leftovers(c);
    c->t_marked = mgc_nanotime();
    mgc_gcwork_dispose(&c->w);
    mgc_gcwork_account(&c->w);
    uint64_t marked = mgc_mark_totals(&c->root_bytes);
    c->ci.stack_bytes = mgc_mark_stack_bytes();
    c->ci.root_bytes = c->root_bytes - c->ci.stack_bytes;
    if (mgc_cfg.verbose >= 2) pacer_line_take(&c->pl);
    uint64_t peak = c->ci.heap_peak = atomic_load(&mgc_hstats.heap_live);
    c->ci.heap_marked = marked;
    mgc_stat_mark_end(peak, atomic_load(&mgc_heap_goal));
    mgc_hs_advance(marked);
    mgc_pacer_end_cycle(marked, c->root_bytes, peak);
    atomic_store(&marking_cycle, 0);
    atomic_fetch_add(&mgc_num_gc, 1);
    mgc_mutex_lock(&cmu);
    pthread_cond_broadcast(&c_marked);
    mgc_mutex_unlock(&cmu);
    c->t_restarted = mgc_nanotime();
    if (!mgc_cfg.checkmark) c->p0 = c->t_restarted; /* no pause to report */
}

/* ** What report_mark_termination says, for a cycle that had no pause
 * (or only the checkmark's, reported when it ended). */
static void hs_report_mark_termination(cycle *c) {
    mgc_warn_flush();
    if (mgc_cfg.verbose >= 2) pacer_line_print(&c->pl);
    if (mgc_cfg.verbose && c->unverified)
        mgc_print("mgc: checkmark: %llu stack words point to unmarked objects (not verified)",
                  (unsigned long long)c->unverified);
    c->ci.mark_ns = c->t_decided - c->t_mark0;
    mgc_stat_phase(0, c->ci.cycle, c->t_mark0, c->ci.mark_ns);
    mgc_stat_hs_phase(1, c->ci.cycle, c->t_decided, c->t_restarted - c->t_decided);
    mgc_stat_heap(c->t_restarted, c->ci.heap_marked);
    if (mgc_cfg.verbose >= 3)
        mgc_print("mgc: termination by handshake, %d rounds", c->ci.retries + 1);
}

/* ** One cycle, start to end: the table of contents of the collector. */
static void run_cycle(bool forced) {
    cycle c;
    sweep_termination(&c, forced);
    if (mgc_cfg.handshake) {
        hs_mark_setup(&c);             /* no stop */
        if (hs_mark_done(&c)) {
            hs_mark_termination(&c);   /* no stop (but MGC_CHECKMARK's) */
            hs_report_mark_termination(&c);
        } else {
            mark_done(&c);             /* world stopped, nothing grey */
            mark_termination(&c);      /* world restarted */
            report_mark_termination(&c);
        }
        background_sweep(&c);
        report_cycle(&c);
        return;
    }
    mark_setup(&c);                    /* world stopped from here */
    if (mgc_cfg.stw) {
        mgc_mark_everything_stw(&c.w); /* MGC_STW: the whole mark in the pause */
    } else {
        start_concurrent_mark(&c);     /* world running */
        mark_done(&c);                 /* world stopped again, nothing grey */
    }
    mark_termination(&c);              /* world restarted */
    report_mark_termination(&c);
    background_sweep(&c);
    report_cycle(&c);
}

/* ** Verify the heap's metadata (gc/verify.c), world stopped, between
 * cycles: the sweep is done and nothing marks.  Returns the problems. */
static uint64_t verify_stw(void) {
    mgc_stop_the_world();
    mgc_mutex_lock(&mgc_heap.lock); /* the scavenger is not stopped */
    uint64_t n = mgc_verify_heap_stw();
    mgc_mutex_unlock(&mgc_heap.lock);
    mgc_start_the_world();
    mgc_warn_flush();
    return n;
}

static void *coordinator_main(void *arg) {
    (void)arg;
    for (;;) {
        mgc_mutex_lock(&cmu);
        while (want_cycles <= started_cycles && want_verify <= done_verify)
            mgc_cond_wait(&c_request, &cmu);
        if (want_verify > done_verify) {
            uint64_t target = want_verify;
            mgc_mutex_unlock(&cmu);
            uint64_t n = verify_stw();
            mgc_mutex_lock(&cmu);
            verify_problems = n;
            done_verify = target;
            pthread_cond_broadcast(&c_done);
            mgc_mutex_unlock(&cmu);
            continue;
        }
        started_cycles++;
        /* Marking from now, under cmu: a request made between here and
         * run_cycle would otherwise queue a second, needless cycle. */
        atomic_store(&marking_cycle, 1);
        bool forced = forced_next;
        forced_next = 0;
        mgc_mutex_unlock(&cmu);

        run_cycle(forced);
        if (mgc_cfg.verify && verify_stw() != 0)
            mgc_throw("verify: the heap is inconsistent after collection %llu (MGC_VERIFY=1)",
                      (unsigned long long)atomic_load(&mgc_num_gc));

        mgc_mutex_lock(&cmu);
        done_cycles++;
        pthread_cond_broadcast(&c_done);
        mgc_mutex_unlock(&cmu);
    }
    return NULL;
}

int mgc_gc_init(void) {
    if (mgc_start_daemon("mgc-gc", coordinator_main, NULL) != GC_OK) return GC_ESYS;
    return mgc_workers_start(mgc_cfg.mark_workers);
}

/* ** Ask for a cycle.  Automatic triggers just wake the coordinator if it
 * is idle; forced ones (gc_collect, torture) wait for a cycle that starts
 * after the call to finish, sweep included.  The waits run parked
 * (gc/stw.c): a stop does not need to signal a thread waiting here. */
typedef struct cycle_req { bool forced, count_forced; } cycle_req;

static void *request_cycle_fn(void *arg) {
    cycle_req *r = arg;
    mgc_mutex_lock(&cmu);
    if (r->forced) {
        uint64_t target = started_cycles + 1;
        if (want_cycles < target) want_cycles = target;
        if (r->count_forced) forced_next = 1;
        pthread_cond_signal(&c_request);
        while (done_cycles < target) mgc_cond_wait(&c_done, &cmu);
    } else if (want_cycles <= started_cycles && !atomic_load(&marking_cycle) &&
               mgc_pacer_should_trigger()) {
        /* Not while a cycle marks (it is already collecting), but yes while
         * one sweeps: the next starts as soon as the sweep is done.  The
         * trigger is tested again: the caller's test may predate the end
         * of a mark that shrank the heap. */
        want_cycles = started_cycles + 1;
        pthread_cond_signal(&c_request);
    }
    mgc_mutex_unlock(&cmu);
    return NULL;
}

/* Call with nopreempt == 0. */
static void request_cycle(gc_thread *t, bool forced, bool count_forced) {
    cycle_req r = {forced, count_forced};
    /* Parked even when it does not wait for the cycle: a thread holding
     * cmu may be stopped (stops are not deferred here), and the threads
     * queued behind it must not need a signal to be stopped in turn
     * (ThreadSanitizer does not deliver one to a thread blocked on a
     * mutex). */
    mgc_parked(t, request_cycle_fn, &r);
}

/* ** Backpressure: a thread that allocates past the hard goal (goal + 1/16)
 * waits until a mark ends and the heap is back under it, as Go parks a
 * goroutine whose assist cannot find work.  Bounded waits, rechecked, so a
 * stuck cycle cannot hang the program. */
static void *wait_for_mark_end_fn(void *arg) {
    (void)arg;
    uint64_t goal = atomic_load(&mgc_heap_goal);
    if (goal == UINT64_MAX) return NULL;
    uint64_t hard = goal + goal / 16;
    mgc_mutex_lock(&cmu);
    for (int i = 0; i < 100 && atomic_load(&mgc_hstats.heap_live) > hard &&
                    atomic_load(&mgc_heap_goal) != UINT64_MAX; i++) {
        if (want_cycles <= started_cycles && !atomic_load(&marking_cycle)) {
            want_cycles = started_cycles + 1;
            pthread_cond_signal(&c_request);
        }
        struct timespec ts = mgc_deadline(10 * 1000000);
        mgc_cond_timedwait(&c_marked, &cmu, &ts);
        goal = atomic_load(&mgc_heap_goal);
        hard = goal + goal / 16;
    }
    mgc_mutex_unlock(&cmu);
    return NULL;
}

static void wait_for_mark_end(gc_thread *t) {
    uint64_t goal = atomic_load(&mgc_heap_goal);
    if (goal == UINT64_MAX || atomic_load(&mgc_hstats.heap_live) <= goal + goal / 16) return;
    uint64_t t0 = mgc_nanotime();
    mgc_workers_kick(t);
    mgc_parked(t, wait_for_mark_end_fn, NULL);
    mgc_stat_stall(mgc_nanotime() - t0);
}

void mgc_gc_start(gc_thread *t, bool forced) {
    request_cycle(t, forced, forced);
    if (!forced) wait_for_mark_end(t);
}

void mgc_gc_torture(gc_thread *t) {
    if (++t->torture_count < mgc_cfg.torture) return;
    t->torture_count = 0;
    request_cycle(t, true, false);
}

MGC_API void gc_collect(void) {
    gc_thread *t = mgc_self;
    /* Inside gc_do_blocking's fn t is NULL, the thread parked already. */
    if (!t && !mgc_in_do_blocking()) {
        mgc_caller("gc_collect", "no collection");
        return;
    }
    mgc_gc_start(t, true);
}

static void *verify_fn(void *arg) {
    uint64_t *problems = arg;
    mgc_mutex_lock(&cmu);
    uint64_t target = ++want_verify;
    pthread_cond_signal(&c_request);
    while (done_verify < target) mgc_cond_wait(&c_done, &cmu);
    *problems = verify_problems;
    mgc_mutex_unlock(&cmu);
    return NULL;
}

MGC_API size_t gc_verify_heap(void) {
    if (!atomic_load(&mgc_initialized)) {
        mgc_warn("gc_verify_heap: called before gc_init(); call gc_init(NULL) first");
        return 0;
    }
    if (!mgc_self && mgc_on_library_thread()) { /* the coordinator would wait for itself */
        mgc_caller("gc_verify_heap", "nothing checked: returns 0");
        return 0;
    }
    uint64_t problems = 0;
    mgc_parked(mgc_self, verify_fn, &problems); /* the verification stops us */
    return (size_t)problems;
}

/* ---- fork (gc/fork.c) ---------------------------------------------------- */

/* ** Returns with cmu held and the coordinator idle: no cycle or
 * verification runs, and none can start until mgc_gc_fork_release. */
static void *fork_hold_fn(void *arg) {
    (void)arg;
    mgc_mutex_lock(&cmu);
    while (started_cycles != done_cycles || want_verify != done_verify)
        mgc_cond_wait(&c_done, &cmu);
    return NULL;
}

void mgc_gc_fork_hold(gc_thread *t) {
    mgc_parked(t, fork_hold_fn, NULL); /* a cycle may stop us meanwhile */
}

void mgc_gc_fork_release(void) { mgc_mutex_unlock(&cmu); }

/* ** In the child: the condition variables may record waiters that do not
 * exist there, and the event lock may have been held by one: new ones. */
void mgc_gc_fork_child(void) {
    c_request = mgc_fresh_cond;
    c_done = mgc_fresh_cond;
    c_marked = mgc_fresh_cond;
    mgc_mutex_unlock(&cmu);
}
