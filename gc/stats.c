/*
 * stats.c -- every observation of the collector goes through here once.
 *
 * The cycle (gc/mgc.c), the markers (gc/mark.c, gc/markworker.c) and the
 * stack scans report what happened with one call each (mgc_stat_*, declared
 * in gc/gc.h); each call feeds every sink that wants it, in a fixed order:
 *
 *   the event ring         pauses, assists, stack-scan stops (gc_get_events,
 *                          gc_mmu)
 *   the cycle counters     pause total/max/last and the pause ring
 *                          (gc_get_pauses, gc_get_stats)
 *   the pause histogram    log buckets (gc_get_pause_summary)
 *   the CPU accounting     the gctrace line's GC CPU share
 *   the trace file         gc/trace.c (MGC_TRACE_FILE) and the gctrace
 *                          line (MGC_TRACE)
 *   the phase callback     gc_set_phase_callback
 *
 * Who calls: the coordinator reports pauses, phases and cycles, always after
 * it has restarted the world (formatting with threads stopped would
 * lengthen the pause, and a stopped thread may hold a lock a sink needs);
 * workers report their slices, mutators their assists (outside no-preempt
 * sections), the stack scanner each thread it held.  Counters are relaxed
 * atomics with one writer (the coordinator) unless said otherwise.
 */
#include <stdlib.h>

#include "gc/gc.h"
#include "gc/mmu.h"

_Static_assert(GC_PAUSE_BUCKETS == MGC_HIST_NBUCKETS, "public and internal histograms differ");

uint64_t mgc_t_init; /* nanotime at gc_init; constant after */

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

/* The event ring: events_lock protects it (events come at most every few
 * tens of microseconds).  A runtime lock (mgc_lock): a mutator records its
 * assists, and one stopped while holding the lock would block a mark
 * worker's stack-scan event, which the stopper may be waiting for. */
#define EVENT_RING MGC_EVENT_RING
static mgc_mutex events_lock = MGC_MUTEX_INIT(EVENTS);
static gc_event events[EVENT_RING];
static uint64_t nevents;

static void ring_add(int kind, int thread, uint64_t start_ns, uint64_t dur_ns) {
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

static void record_pause(uint64_t ns) {
    atomic_fetch_add(&cstats.pause_total_ns, ns);
    if (ns > atomic_load(&cstats.pause_max_ns)) atomic_store(&cstats.pause_max_ns, ns);
    atomic_store(&cstats.last_pause_ns, ns);
    uint64_t n = atomic_load(&cstats.num_pauses);
    atomic_store(&cstats.pauses[n % PAUSE_RING], ns);
    atomic_store(&cstats.num_pauses, n + 1);
}

/* Cumulative GC CPU (ns) for the gctrace percentage, and this cycle's
 * assist and worker time: relaxed atomics, written by whoever did the work. */
static _Atomic uint64_t gc_cpu_total, cyc_assist_ns, cyc_worker_ns;

/* Histogram of every pause: relaxed atomics, written by the coordinator. */
static _Atomic uint64_t hist[GC_PAUSE_BUCKETS];

/* The phase callback: set by the program at any time, read by the coordinator. */
static _Atomic(gc_phase_callback) phase_cb;
static _Atomic(void *) phase_cb_arg;

static void call_phase(int phase, uint64_t cycle, uint64_t start, uint64_t dur) {
    gc_phase_callback fn = atomic_load(&phase_cb);
    if (!fn) return;
    gc_phase_event e = {phase, cycle, start, dur};
    fn(&e, atomic_load(&phase_cb_arg));
}

static void add_cpu(_Atomic uint64_t *cycle_part, uint64_t ns) {
    if (cycle_part) atomic_fetch_add_explicit(cycle_part, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc_cpu_total, ns, memory_order_relaxed);
}

/* ---- the observations ----------------------------------------------------- */

/* ** Called once by gc_init, before any other thread of the library runs. */
void mgc_stats_init(void) {
    mgc_t_init = mgc_nanotime();
    /* Static roots: the event ring and statistics hold no heap pointers. */
    mgc_static_exclude(events, sizeof events);
    mgc_static_exclude(&cstats, sizeof cstats);
}

/* ** A stop-the-world pause, reported after the world restarted.  stop_ns:
 * how long stopping took; retries: termination attempts before this one. */
void mgc_stat_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                    uint64_t stop_ns, int retries) {
    ring_add(GC_EVENT_PAUSE, 0, start, dur);
    record_pause(dur);
    atomic_fetch_add_explicit(&hist[mgc_hist_bucket(dur)], 1, memory_order_relaxed);
    add_cpu(NULL, dur);
    mgc_trace_pause(termination, cycle, start, dur, stop_ns, retries);
    call_phase(termination ? GC_PHASE_MARK_TERMINATION : GC_PHASE_MARK_SETUP, cycle, start, dur);
}

/* ** The handshake mode's mark setup or termination (gc/handshake.c): no
 * pause, so only the phase callback hears of it, at the same point of the
 * cycle as the stop-the-world mode's pause (start: when the first thread
 * was asked; dur: until the last answered and the phase was done). */
void mgc_stat_hs_phase(int termination, uint64_t cycle, uint64_t start, uint64_t dur) {
    call_phase(termination ? GC_PHASE_MARK_TERMINATION : GC_PHASE_MARK_SETUP, cycle, start, dur);
}

/* ** Concurrent marking begins (the world has just restarted). */
void mgc_stat_mark_start(uint64_t cycle, uint64_t at) { call_phase(GC_PHASE_MARK_START, cycle, at, 0); }

/* ** A concurrent phase ended: the mark (sweep 0) or the sweep (1). */
void mgc_stat_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur) {
    if (sweep) add_cpu(NULL, dur);
    mgc_trace_phase(sweep, cycle, start, dur);
    if (sweep) call_phase(GC_PHASE_SWEEP_DONE, cycle, start, dur);
}

/* Workers and assists: dur is wall time (the timeline), cpu the thread's
 * CPU time over it (the accounting). */
void mgc_stat_worker(int worker, uint64_t start, uint64_t dur, uint64_t cpu) {
    add_cpu(&cyc_worker_ns, cpu);
    mgc_trace_worker(worker, start, dur);
}

void mgc_stat_assist(int tid, uint64_t start, uint64_t dur, uint64_t cpu) {
    ring_add(GC_EVENT_ASSIST, tid, start, dur);
    add_cpu(&cyc_assist_ns, cpu);
    mgc_trace_assist(tid, start, dur);
}

/* ** Thread tid was held dur ns for its stack scan. */
void mgc_stat_stack(int tid, uint64_t start, uint64_t dur) {
    ring_add(GC_EVENT_THREAD_STOP, tid, start, dur);
    mgc_trace_stack(tid, start, dur);
}

/* ** Thread tid was held dur ns, alone, for a handshake or its stack scan. */
void mgc_stat_hold(int tid, int kind, uint64_t start, uint64_t dur) {
    if (kind == MGC_HOLD_STACK) mgc_stat_stack(tid, start, dur);
    else ring_add(GC_EVENT_THREAD_STOP, tid, start, dur);
}

/* ** Heap counters at a point of the cycle (its start, the mark's end). */
void mgc_stat_heap(uint64_t at, uint64_t live) { mgc_trace_heap(at, live); }

/* ** Mark termination, world stopped: the heap's peak and the goal it ran to. */
void mgc_stat_mark_end(uint64_t peak, uint64_t goal) {
    atomic_store(&cstats.last_peak, peak);
    atomic_store(&cstats.last_goal, goal);
}

/* ** The end of a cycle (its sweep done): the counters, the gctrace line,
 * the cycle on the timeline, the callback. */
void mgc_stat_cycle(const mgc_cycle_info *c) {
    atomic_store(&cstats.last_mark_ns, c->mark_phase_ns);
    atomic_store(&cstats.last_sweep_ns, c->sweep_ns);
    atomic_store(&cstats.heap_marked, c->heap_marked);
    if (c->forced) atomic_fetch_add(&cstats.num_forced, 1);
    uint64_t assist = atomic_exchange_explicit(&cyc_assist_ns, 0, memory_order_relaxed);
    uint64_t worker = atomic_exchange_explicit(&cyc_worker_ns, 0, memory_order_relaxed);
    uint64_t now = mgc_nanotime();
    if (mgc_trace_stderr) {
        double wall = (double)(now - mgc_t_init);
        double pct = wall > 0 ? 100.0 * (double)atomic_load(&gc_cpu_total) / (wall * (double)mgc_ncpu()) : 0;
        mgc_trace_gctrace(c, assist, worker, pct);
    }
    mgc_trace_cycle(c, assist, worker, now);
    call_phase(GC_PHASE_CYCLE_END, c->cycle, c->start, now - c->start);
}

/* ** In a forked child: the event lock may have been held by a thread that
 * does not exist there. */
void mgc_stats_fork_child(void) { mgc_mutex_fork_reset(&events_lock); }

/* ---- the API ------------------------------------------------------------------ */

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

MGC_API gc_phase_callback gc_set_phase_callback(gc_phase_callback fn, void *arg) {
    atomic_store(&phase_cb_arg, arg);
    return atomic_exchange(&phase_cb, fn);
}

MGC_API uint64_t gc_pause_bucket_limit(int i) {
    if (i < 0 || i >= GC_PAUSE_BUCKETS) {
        mgc_warn("gc_pause_bucket_limit(%d): buckets are 0 to %d", i, GC_PAUSE_BUCKETS - 1);
        return 0;
    }
    return mgc_hist_bound((unsigned)i);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ** Nearest-rank percentile of a sorted array. */
static uint64_t pct(const uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

MGC_API void gc_get_pause_summary(gc_pause_summary *out) {
    if (!out) {
        mgc_warn("gc_get_pause_summary(NULL): pass a pointer to a gc_pause_summary to fill");
        return;
    }
    memset(out, 0, sizeof *out);
    gc_stats st;
    gc_get_stats(&st);
    out->count = st.num_pauses;
    out->total_ns = st.pause_total_ns;
    out->max_ns = st.pause_max_ns;
    for (int i = 0; i < GC_PAUSE_BUCKETS; i++)
        out->hist[i] = atomic_load_explicit(&hist[i], memory_order_relaxed);
    size_t n = gc_get_pauses(NULL, 0);
    if (n == 0) return;
    uint64_t *v = malloc(n * sizeof *v);
    if (!v) return;
    n = gc_get_pauses(v, n);
    qsort(v, n, sizeof *v, cmp_u64);
    out->recent = n;
    out->p50_ns = pct(v, n, 50);
    out->p90_ns = pct(v, n, 90);
    out->p99_ns = pct(v, n, 99);
    out->p999_ns = pct(v, n, 99.9);
    free(v);
}

MGC_API double gc_mmu(uint64_t window_ns, int flags) {
    size_t n = gc_get_events(NULL, 0);
    gc_event *ev = malloc((n ? n : 1) * sizeof *ev);
    mgc_interval *iv = malloc((n ? n : 1) * sizeof *iv);
    if (!ev || !iv) {
        free(ev);
        free(iv);
        return -1.0;
    }
    n = gc_get_events(ev, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool take = ev[i].kind == GC_EVENT_PAUSE ||
                    ((flags & GC_MMU_ASSISTS) && (ev[i].kind == GC_EVENT_ASSIST ||
                                                  ev[i].kind == GC_EVENT_THREAD_STOP));
        if (take) iv[k++] = (mgc_interval){ev[i].start_ns, ev[i].duration_ns};
    }
    /* The run: from gc_init, or from the oldest kept event if the ring has
     * wrapped (older pauses are forgotten). */
    uint64_t t0 = n == MGC_EVENT_RING ? ev[0].start_ns : mgc_t_init;
    uint64_t t1 = mgc_nanotime();
    k = mgc_mmu_merge(iv, k);
    double u = mgc_mmu(iv, k, t0, t1, window_ns);
    free(ev);
    free(iv);
    return u;
}

