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
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c_request = PTHREAD_COND_INITIALIZER;
static pthread_cond_t c_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t c_marked = PTHREAD_COND_INITIALIZER; /* a mark terminated */
static uint64_t want_cycles, started_cycles, done_cycles;
static int forced_next;
/* Heap verifications asked for and done (gc_verify_heap), and the problems
 * the last one found; cmu. */
static uint64_t want_verify, done_verify, verify_problems;
static _Atomic int marking_cycle; /* from a cycle's start to its mark termination */

/* ** Is another cycle already asked for?  Then sweep flat out. */
static bool cycle_pending(void) {
    pthread_mutex_lock(&cmu);
    bool p = want_cycles > started_cycles;
    pthread_mutex_unlock(&cmu);
    return p;
}

/* Cycle statistics: written by the coordinator, read atomically. */
#define PAUSE_RING 4096
typedef struct cycle_stats {
    _Atomic uint64_t num_forced;
    _Atomic uint64_t pause_total_ns, pause_max_ns, last_pause_ns, num_pauses;
    _Atomic uint64_t last_mark_ns, last_sweep_ns;
    _Atomic uint64_t heap_marked;
    _Atomic uint64_t last_peak, last_goal;
    _Atomic uint64_t pauses[PAUSE_RING]; /* the last PAUSE_RING pauses */
} cycle_stats;
static cycle_stats cstats;

static void record_pause(uint64_t ns);

/* The event ring: events_lock protects it (events come at most every few
 * tens of microseconds).  A runtime lock (mgc_lock): a mutator records its
 * assists, and one stopped while holding the lock would block a mark
 * worker's stack-scan event, which the stopper may be waiting for. */
#define EVENT_RING MGC_EVENT_RING
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static gc_event events[EVENT_RING];
static uint64_t nevents;

void mgc_record_event(int kind, int thread, uint64_t start_ns, uint64_t dur_ns) {
    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    gc_event *e = &events[nevents % EVENT_RING];
    e->start_ns = start_ns;
    e->duration_ns = dur_ns;
    e->kind = kind;
    e->thread = thread;
    nevents++;
    mgc_unlock(self, &events_lock);
}

MGC_API size_t gc_get_events(gc_event *out, size_t max) {
    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    size_t have = nevents < EVENT_RING ? (size_t)nevents : EVENT_RING;
    size_t k = out ? (have < max ? have : max) : have;
    if (out)
        for (size_t i = 0; i < k; i++) out[i] = events[(nevents - k + i) % EVENT_RING];
    mgc_unlock(self, &events_lock);
    return k;
}

static void record_pause_at(uint64_t start, uint64_t ns) {
    mgc_record_event(GC_EVENT_PAUSE, 0, start, ns);
    record_pause(ns);
}

static void record_pause(uint64_t ns) {
    atomic_fetch_add(&cstats.pause_total_ns, ns);
    if (ns > atomic_load(&cstats.pause_max_ns)) atomic_store(&cstats.pause_max_ns, ns);
    atomic_store(&cstats.last_pause_ns, ns);
    uint64_t n = atomic_load(&cstats.num_pauses);
    atomic_store(&cstats.pauses[n % PAUSE_RING], ns);
    atomic_store(&cstats.num_pauses, n + 1);
}

/* ** Stop the world with the static-data snapshot current (gc/staticroots.c):
 * the loader may not be called once the world is stopped, so the snapshot
 * is refreshed just before, and a library loaded or unloaded in between
 * sends us round again; such a stop counts as a pause of this phase.
 * Returns when the world stopped, *p0 when the stop began. */
static uint64_t stop_world_roots_current(int kind, uint64_t cycle, uint64_t *p0, uint64_t *acc) {
    for (;;) {
        mgc_static_roots_refresh();
        *p0 = mgc_nanotime();
        mgc_stop_the_world();
        uint64_t stopped = mgc_nanotime();
        if (mgc_static_roots_current()) return stopped;
        mgc_start_the_world();
        uint64_t d = mgc_nanotime() - *p0;
        record_pause_at(*p0, d);
        *acc += d;
        mgc_trace_pause(kind, cycle, *p0, d, stopped - *p0, 0);
    }
}

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
    uint64_t scanned, worker_bytes, worker_ns, trigger, goal, runway, live;
} pacer_line;

static void pacer_line_take(pacer_line *l) {
    mgc_pacer_debug(&l->worker_bytes, &l->worker_ns, &l->trigger, &l->runway);
    l->scanned = mgc_mark_scanned();
    l->goal = atomic_load(&mgc_heap_goal);
    l->live = atomic_load(&mgc_hstats.heap_live);
}

static void pacer_line_print(const pacer_line *l) {
    mgc_print("mgc: pacer: scanned %.1f MB (workers %.1f MB in %.1f ms), trigger at %.1f MB, "
              "goal %.1f, runway %.1f MB, live now %.1f",
              l->scanned / 1e6, l->worker_bytes / 1e6, l->worker_ns / 1e6, l->trigger / 1e6,
              l->goal / 1e6, l->runway / 1e6, l->live / 1e6);
}

static void run_cycle(bool forced) {
    mgc_cycle_info ci;
    memset(&ci, 0, sizeof ci);
    ci.forced = forced;
    ci.cycle = atomic_load(&mgc_num_gc) + 1;
    uint64_t t_start = ci.start = mgc_nanotime();
    atomic_store(&marking_cycle, 1);
    mgc_sweep_all(NULL); /* sweep termination */
    uint64_t live_before = ci.heap_before = atomic_load(&mgc_hstats.heap_live);
    mgc_trace_heap(t_start, live_before);

    /* 1. mark setup */
    uint64_t p0;
    uint64_t stopped = stop_world_roots_current(0, ci.cycle, &p0, &ci.setup_ns);
    mgc_mark_setup();
    mgc_pacer_start_cycle(atomic_load(&mgc_hstats.heap_live));
    ci.heap_goal = atomic_load(&mgc_heap_goal);
    gcwork w;
    mgc_gcwork_init(&w);
    int tries = 0;
    uint64_t t_mark0 = 0, idle = 0;
    if (mgc_cfg.stw) {
        mgc_mark_everything_stw(&w);
    } else {
        uint64_t ps = mgc_nanotime();
        mgc_start_the_world();
        uint64_t setup = mgc_nanotime() - p0;
        record_pause_at(p0, setup);
        ci.setup_ns += setup;
        mgc_trace_pause(0, ci.cycle, p0, setup, stopped - p0, 0);
        mgc_warn_flush();
        if (mgc_cfg.verbose >= 3)
            mgc_print("mgc: setup pause %.1f us (stopped+setup %.1f us)", setup / 1e3,
                      (ps - p0) / 1e3);

        /* 2. concurrent mark, 3. termination attempts */
        t_mark0 = mgc_nanotime();
        mgc_trace_mark_start(ci.cycle, t_mark0);
        mgc_workers_set_active(1);
        for (;;) {
            wait_mark_quiet();
            stopped = stop_world_roots_current(1, ci.cycle, &p0, &ci.term_ns);
            /* Workers are not stopped by signals: tell them to stop taking
             * work and wait for the few that are mid-slice (a 64 KiB scan). */
            mgc_workers_set_active(0);
            while (atomic_load(&mgc_mark_nbusy) != 0) sched_yield();
            idle = mgc_nanotime();
            mgc_barrier_lock_unregistered();
            if (!flush_and_check()) break;
            if (++tries >= 8) {
                /* Still racing the barrier: finish in this pause. */
                mgc_mark_everything_stw(&w);
                break;
            }
            mgc_barrier_unlock_unregistered();
            mgc_start_the_world();
            uint64_t d = mgc_nanotime() - p0;
            record_pause_at(p0, d);
            ci.term_ns += d;
            report_termination_stop(p0, stopped, idle);
            mgc_trace_pause(1, ci.cycle, p0, d, stopped - p0, tries - 1);
            mgc_workers_set_active(1);
        }
        mgc_mark_rescan_stw(&w); /* plain stores into root ranges: gc/roots.c */
    }
    /* Grey objects dropped for want of memory (gc/workbuf.c): found again
     * by rescanning the heap, in this pause. */
    unsigned rescans = mgc_mark_rescan_dropped(&w);
    uint64_t t_marked = mgc_nanotime();

    /* 3. termination: world stopped, nothing left to mark. */
    mgc_gcwork_dispose(&w);
    mgc_gcwork_account(&w);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_mark_flush_thread(t);
    uint64_t root_bytes = 0;
    uint64_t marked = mgc_mark_finish(&root_bytes);
    if (mgc_bc_on) mgc_bc_terminate();
    ci.stack_bytes = mgc_mark_stack_bytes();
    ci.root_bytes = root_bytes - ci.stack_bytes;
    pacer_line pl;
    if (mgc_cfg.verbose >= 2) pacer_line_take(&pl);
    if (!mgc_cfg.stw) mgc_barrier_unlock_unregistered();
    uint64_t unverified = mgc_cfg.checkmark ? mgc_checkmark() : 0;
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_cache_release_all(NULL, &t->cache);
    uint64_t peak = ci.heap_peak = atomic_load(&mgc_hstats.heap_live);
    ci.heap_marked = marked;
    atomic_store(&cstats.last_peak, peak);
    atomic_store(&cstats.last_goal, atomic_load(&mgc_heap_goal));
    atomic_store(&mgc_hstats.heap_live, marked);
    atomic_fetch_add(&mgc_heap.sweepgen, 2);
    atomic_store(&mgc_sweep_done, 0);
    mgc_pacer_end_cycle(marked, root_bytes, peak);
    if (mgc_cfg.stw >= 2) {
        mgc_sweep_all(NULL);
        atomic_store(&mgc_sweep_done, 1);
    }
    atomic_store(&marking_cycle, 0);
    uint64_t n = atomic_fetch_add(&mgc_num_gc, 1) + 1; /* counted at mark termination, as Go does */
    mgc_start_the_world();
    pthread_mutex_lock(&cmu);
    pthread_cond_broadcast(&c_marked);
    pthread_mutex_unlock(&cmu);
    uint64_t t_restarted = mgc_nanotime();
    /* Everything said about the pause, now that nobody is stopped. */
    mgc_warn_flush();
    if (t_mark0) report_termination_stop(p0, stopped, idle);
    if (mgc_cfg.verbose >= 2) pacer_line_print(&pl);
    report_rescans(rescans);
    if (mgc_cfg.verbose && unverified)
        mgc_print("mgc: checkmark: %llu stack words point to unmarked objects (not verified)",
                  (unsigned long long)unverified);
    if (mgc_bc_on) mgc_bc_report();
    record_pause_at(p0, t_restarted - p0);
    if (mgc_cfg.stw) ci.setup_ns = t_restarted - p0; /* one pause did it all */
    else ci.term_ns += t_restarted - p0;
    ci.retries = tries;
    ci.mark_ns = t_mark0 ? p0 - t_mark0 : 0;
    mgc_trace_pause(!mgc_cfg.stw, ci.cycle, p0, t_restarted - p0, stopped - p0, tries);
    if (t_mark0) mgc_trace_phase(0, ci.cycle, t_mark0, p0 - t_mark0);
    mgc_trace_heap(t_restarted, marked);
    if (mgc_cfg.verbose >= 3) mgc_print("mgc: termination pause %.1f us", (t_restarted - p0) / 1e3);

    /* 4. concurrent sweep, in the background: yield now and then so the
     * program's threads get the CPU first. */
    for (int k = 0; mgc_sweep_one(NULL); k++)
        if (k % 256 == 255 && !cycle_pending()) sched_yield();
    atomic_store(&mgc_sweep_done, 1);
    uint64_t t_swept = mgc_nanotime();
    mgc_fin_cycle_end();
    mgc_trace_phase(1, ci.cycle, t_restarted, t_swept - t_restarted);

    atomic_store(&cstats.last_mark_ns, t_marked - t_start);
    atomic_store(&cstats.last_sweep_ns, t_swept - t_restarted);
    atomic_store(&cstats.heap_marked, marked);
    if (forced) atomic_fetch_add(&cstats.num_forced, 1);
    mgc_trace_cycle(&ci);

    mgc_warn_flush(); /* what single-thread stops queued during the mark */
    if (mgc_cfg.verbose) {
        uint64_t goal = atomic_load(&mgc_heap_goal);
        mgc_print("mgc: gc %llu%s: %.3f ms mark, %.3f ms sweep, last pause %.3f ms, "
                "%.1f -> %.1f -> %.1f MB, goal %.1f MB, roots %.1f KB, %d termination retries",
                (unsigned long long)n, forced ? " (forced)" : "",
                (double)(t_marked - t_start) / 1e6, (double)(t_swept - t_restarted) / 1e6,
                (double)(t_restarted - p0) / 1e6, (double)live_before / 1048576.0,
                (double)peak / 1048576.0, (double)marked / 1048576.0,
                goal == UINT64_MAX ? 0.0 : (double)goal / 1048576.0, (double)root_bytes / 1024.0,
                tries);
    }
}

/* ** Verify the heap's metadata (gc/verify.c), world stopped, between
 * cycles: the sweep is done and nothing marks.  Returns the problems. */
static uint64_t verify_stw(void) {
    mgc_stop_the_world();
    pthread_mutex_lock(&mgc_heap.lock); /* the scavenger is not stopped */
    uint64_t n = mgc_verify_heap_stw();
    pthread_mutex_unlock(&mgc_heap.lock);
    mgc_start_the_world();
    mgc_warn_flush();
    return n;
}

static void *coordinator_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&cmu);
        while (want_cycles <= started_cycles && want_verify <= done_verify)
            pthread_cond_wait(&c_request, &cmu);
        if (want_verify > done_verify) {
            uint64_t target = want_verify;
            pthread_mutex_unlock(&cmu);
            uint64_t n = verify_stw();
            pthread_mutex_lock(&cmu);
            verify_problems = n;
            done_verify = target;
            pthread_cond_broadcast(&c_done);
            pthread_mutex_unlock(&cmu);
            continue;
        }
        started_cycles++;
        /* Marking from now, under cmu: a request made between here and
         * run_cycle would otherwise queue a second, needless cycle. */
        atomic_store(&marking_cycle, 1);
        bool forced = forced_next;
        forced_next = 0;
        pthread_mutex_unlock(&cmu);

        run_cycle(forced);
        if (mgc_cfg.verify && verify_stw() != 0)
            mgc_throw("verify: the heap is inconsistent after collection %llu (MGC_VERIFY=1)",
                      (unsigned long long)atomic_load(&mgc_num_gc));

        pthread_mutex_lock(&cmu);
        done_cycles++;
        pthread_cond_broadcast(&c_done);
        pthread_mutex_unlock(&cmu);
    }
    return NULL;
}

int mgc_gc_init(void) {
    /* Static roots: the event ring and statistics hold no heap pointers. */
    mgc_static_exclude(events, sizeof events);
    mgc_static_exclude(&cstats, sizeof cstats);
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
    pthread_mutex_lock(&cmu);
    if (r->forced) {
        uint64_t target = started_cycles + 1;
        if (want_cycles < target) want_cycles = target;
        if (r->count_forced) forced_next = 1;
        pthread_cond_signal(&c_request);
        while (done_cycles < target) pthread_cond_wait(&c_done, &cmu);
    } else if (want_cycles <= started_cycles && !atomic_load(&marking_cycle) &&
               mgc_pacer_should_trigger()) {
        /* Not while a cycle marks (it is already collecting), but yes while
         * one sweeps: the next starts as soon as the sweep is done.  The
         * trigger is tested again: the caller's test may predate the end
         * of a mark that shrank the heap. */
        want_cycles = started_cycles + 1;
        pthread_cond_signal(&c_request);
    }
    pthread_mutex_unlock(&cmu);
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
    pthread_mutex_lock(&cmu);
    for (int i = 0; i < 100 && atomic_load(&mgc_hstats.heap_live) > hard &&
                    atomic_load(&mgc_heap_goal) != UINT64_MAX; i++) {
        if (want_cycles <= started_cycles && !atomic_load(&marking_cycle)) {
            want_cycles = started_cycles + 1;
            pthread_cond_signal(&c_request);
        }
        struct timespec ts = mgc_deadline(10 * 1000000);
        pthread_cond_timedwait(&c_marked, &cmu, &ts);
        goal = atomic_load(&mgc_heap_goal);
        hard = goal + goal / 16;
    }
    pthread_mutex_unlock(&cmu);
    return NULL;
}

static void wait_for_mark_end(gc_thread *t) {
    uint64_t goal = atomic_load(&mgc_heap_goal);
    if (goal == UINT64_MAX || atomic_load(&mgc_hstats.heap_live) <= goal + goal / 16) return;
    mgc_parked(t, wait_for_mark_end_fn, NULL);
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
    pthread_mutex_lock(&cmu);
    uint64_t target = ++want_verify;
    pthread_cond_signal(&c_request);
    while (done_verify < target) pthread_cond_wait(&c_done, &cmu);
    *problems = verify_problems;
    pthread_mutex_unlock(&cmu);
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

MGC_API size_t gc_get_pauses(uint64_t *out_ns, size_t max) {
    uint64_t n = atomic_load(&cstats.num_pauses);
    size_t have = n < PAUSE_RING ? (size_t)n : PAUSE_RING;
    if (!out_ns) return have;
    size_t k = have < max ? have : max;
    for (size_t i = 0; i < k; i++) out_ns[i] = atomic_load(&cstats.pauses[(n - k + i) % PAUSE_RING]);
    return k;
}

MGC_API void gc_get_stats(gc_stats *out) {
    if (!out) {
        mgc_warn("gc_get_stats(NULL): pass a pointer to a gc_stats to fill");
        return;
    }
    memset(out, 0, sizeof *out);
    uint64_t nalloc = atomic_load(&mgc_hstats.nalloc_dead);
    uint64_t bytes = atomic_load(&mgc_hstats.alloc_bytes_dead);
    uint64_t ntiny = atomic_load(&mgc_hstats.ntiny_dead);
    /* A collector may hold the threads lock while it waits for us to stop:
     * wait for it parked.  Unregistered callers are never waited for. */
    mgc_threads_lock_parked(mgc_self);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        nalloc += atomic_load_explicit(&t->cache.nalloc, memory_order_relaxed);
        bytes += atomic_load_explicit(&t->cache.alloc_bytes, memory_order_relaxed);
        ntiny += atomic_load_explicit(&t->cache.ntiny, memory_order_relaxed);
    }
    out->num_threads = mgc_num_threads;
    mgc_threads_unlock();

    uint64_t nfree = atomic_load(&mgc_hstats.nfree);
    uint64_t freed = atomic_load(&mgc_hstats.freed_bytes);
    out->num_gc = atomic_load(&mgc_num_gc);
    out->num_forced_gc = atomic_load(&cstats.num_forced);
    out->num_alloc = nalloc;
    out->total_alloc = bytes;
    out->num_free = nfree;
    out->heap_alloc = bytes >= freed ? bytes - freed : 0;
    out->heap_objects = nalloc - ntiny >= nfree ? nalloc - ntiny - nfree : 0;
    out->heap_inuse = atomic_load(&mgc_hstats.heap_inuse);
    out->heap_sys = atomic_load(&mgc_hstats.heap_sys);
    out->meta_sys = atomic_load(&mgc_hstats.meta_sys);
    out->heap_marked = atomic_load(&cstats.heap_marked);
    out->next_gc = atomic_load(&mgc_heap_goal);
    out->pause_total_ns = atomic_load(&cstats.pause_total_ns);
    out->pause_max_ns = atomic_load(&cstats.pause_max_ns);
    out->last_pause_ns = atomic_load(&cstats.last_pause_ns);
    out->num_pauses = atomic_load(&cstats.num_pauses);
    out->last_mark_ns = atomic_load(&cstats.last_mark_ns);
    out->last_sweep_ns = atomic_load(&cstats.last_sweep_ns);
    out->next_trigger = atomic_load(&mgc_heap_trigger);
    out->last_heap_peak = atomic_load(&cstats.last_peak);
    out->last_heap_goal = atomic_load(&cstats.last_goal);
    out->heap_released = atomic_load(&mgc_hstats.heap_released);
    out->root_bytes = mgc_roots_bytes();
    out->static_root_bytes = mgc_static_roots_bytes();
}

/* ---- fork (gc/fork.c) ---------------------------------------------------- */

/* ** Returns with cmu held and the coordinator idle: no cycle or
 * verification runs, and none can start until mgc_gc_fork_release. */
static void *fork_hold_fn(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cmu);
    while (started_cycles != done_cycles || want_verify != done_verify)
        pthread_cond_wait(&c_done, &cmu);
    return NULL;
}

void mgc_gc_fork_hold(gc_thread *t) {
    mgc_parked(t, fork_hold_fn, NULL); /* a cycle may stop us meanwhile */
}

void mgc_gc_fork_release(void) { pthread_mutex_unlock(&cmu); }

/* ** In the child: the condition variables may record waiters that do not
 * exist there, and the event lock may have been held by one: new ones. */
void mgc_gc_fork_child(void) {
    c_request = mgc_fresh_cond;
    c_done = mgc_fresh_cond;
    c_marked = mgc_fresh_cond;
    events_lock = mgc_fresh_mutex;
    pthread_mutex_unlock(&cmu);
}
