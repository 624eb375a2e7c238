/*
 * stats.c -- every observation of the collector goes through here once.
 *
 * The cycle (gc/mgc.c), the markers (gc/mark.c, gc/markworker.c) and the
 * stack scans report what happened with one call each (mgc_stat_*, declared
 * in gc/gc.h); each call feeds every sink that wants it, in a fixed order:
 *
 *   the event ring         pauses, assists, holds (gc_get_events, gc_mmu)
 *   the cycle counters     pause total/max/last and the pause ring
 *                          (gc_get_pauses, gc_get_stats)
 *   the hold records       per-thread holds: totals by kind, the hold
 *                          ring, each thread's own totals, the cycle's
 *                          largest hold (gc_get_pause_summary,
 *                          gc_get_thread_holds, the gctrace line)
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
    _Atomic uint64_t num_stalls, stall_total_ns; /* any mutator, fetch_add */
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

/* The hold records, also under events_lock (a hold adds its event in the
 * same critical section, so the ring and the counts always agree).  A hold
 * is one registered thread held alone while the others run: its stack scan
 * (MGC_HOLD_STACK) or a handshake (MGC_HOLD_HANDSHAKE).  Pauses, which hold
 * every thread at once, are counted apart (cstats).
 *
 * Per thread: a direct-mapped table by registration number (gc_thread.id),
 * since the reporter knows the number and may not take the threads lock to
 * find the record (a stack scan reports with it held).  A newer number
 * takes over an older one's slot: with more than HOLD_THREADS threads
 * registered over the run, a thread whose slot was taken reads its own
 * record as empty again.  The worst thread's total is a running maximum,
 * so it survives that. */
#define HOLD_THREADS 1024
typedef struct hold_rec {
    int id; /* the slot's thread; 0 = unused */
    uint64_t count, total_ns, max_ns;
} hold_rec;
static struct {
    uint64_t count[2], total_ns[2], max_ns[2]; /* by MGC_HOLD_* kind */
    uint64_t n;                                /* holds ever: ring[n % PAUSE_RING] is next */
    uint64_t ring[PAUSE_RING];                 /* the last PAUSE_RING durations, both kinds */
    hold_rec thread[HOLD_THREADS];
    uint64_t worst_total_ns;                   /* the largest hold_rec.total_ns ever */
    int worst_id;
    uint64_t cyc_count, cyc_max_ns;            /* this cycle's, reset by mgc_stat_cycle */
} holds;

/* The largest global pause of this cycle: written by the coordinator only. */
static _Atomic uint64_t cyc_pause_max_ns;

/* ** events_lock held. */
static void ring_put(int kind, int thread, uint64_t start_ns, uint64_t dur_ns) {
    events[nevents++ % EVENT_RING] = (gc_event){start_ns, dur_ns, kind, thread};
}

static void ring_add(int kind, int thread, uint64_t start_ns, uint64_t dur_ns) {
    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    ring_put(kind, thread, start_ns, dur_ns);
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

static void call_phase(int phase, uint64_t cycle, uint64_t start, uint64_t dur, int stopped) {
    gc_phase_callback fn = atomic_load(&phase_cb);
    if (!fn) return;
    gc_phase_event e = {phase, cycle, start, dur, stopped};
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
    mgc_static_exclude(&holds, sizeof holds);
}

/* ** A stop-the-world pause, reported after the world restarted.  stop_ns:
 * how long stopping took; retries: termination attempts before this one. */
void mgc_stat_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                    uint64_t stop_ns, int retries) {
    ring_add(GC_EVENT_PAUSE, 0, start, dur);
    record_pause(dur);
    if (dur > atomic_load_explicit(&cyc_pause_max_ns, memory_order_relaxed))
        atomic_store_explicit(&cyc_pause_max_ns, dur, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist[mgc_hist_bucket(dur)], 1, memory_order_relaxed);
    add_cpu(NULL, dur);
    mgc_trace_pause(termination, cycle, start, dur, stop_ns, retries);
    call_phase(termination ? GC_PHASE_MARK_TERMINATION : GC_PHASE_MARK_SETUP, cycle, start, dur, 1);
}

/* ** The handshake mode's mark setup or termination (gc/handshake.c): no
 * pause, so only the phase callback hears of it, at the same point of the
 * cycle as the stop-the-world mode's pause (start: when the first thread
 * was asked; dur: until the last answered and the phase was done). */
void mgc_stat_hs_phase(int termination, uint64_t cycle, uint64_t start, uint64_t dur) {
    call_phase(termination ? GC_PHASE_MARK_TERMINATION : GC_PHASE_MARK_SETUP, cycle, start, dur, 0);
}

/* ** Concurrent marking begins (the world has just restarted). */
void mgc_stat_mark_start(uint64_t cycle, uint64_t at) { call_phase(GC_PHASE_MARK_START, cycle, at, 0, 0); }

/* ** A concurrent phase ended: the mark (sweep 0) or the sweep (1). */
void mgc_stat_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur) {
    if (sweep) add_cpu(NULL, dur);
    mgc_trace_phase(sweep, cycle, start, dur);
    if (sweep) call_phase(GC_PHASE_SWEEP_DONE, cycle, start, dur, 0);
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
    mgc_stat_hold(tid, MGC_HOLD_STACK, start, dur);
}

/* ** Add a hold to thread id's record.  events_lock held. */
static void hold_thread_add(int id, uint64_t dur) {
    hold_rec *r = &holds.thread[(unsigned)id % HOLD_THREADS];
    if (r->id != id) {
        if (r->id > id) return; /* the slot is a newer thread's */
        *r = (hold_rec){.id = id};
    }
    r->count++;
    r->total_ns += dur;
    if (dur > r->max_ns) r->max_ns = dur;
    if (r->total_ns > holds.worst_total_ns) {
        holds.worst_total_ns = r->total_ns;
        holds.worst_id = id;
    }
}

/* ** Thread tid was held dur ns, alone, for a handshake or its stack scan. */
void mgc_stat_hold(int tid, int kind, uint64_t start, uint64_t dur) {
    int k = kind == MGC_HOLD_STACK ? MGC_HOLD_STACK : MGC_HOLD_HANDSHAKE;
    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    ring_put(k == MGC_HOLD_STACK ? GC_EVENT_THREAD_STOP : GC_EVENT_HANDSHAKE, tid, start, dur);
    holds.count[k]++;
    holds.total_ns[k] += dur;
    if (dur > holds.max_ns[k]) holds.max_ns[k] = dur;
    holds.ring[holds.n++ % PAUSE_RING] = dur;
    hold_thread_add(tid, dur);
    holds.cyc_count++;
    if (dur > holds.cyc_max_ns) holds.cyc_max_ns = dur;
    mgc_unlock(self, &events_lock);
    mgc_trace_hold(tid, k, start, dur);
}

/* ** A mutator waited for the mark to end at the hard goal (gc/mgc.c):
 * the one cost of a collector that falls behind which no pause shows. */
void mgc_stat_stall(uint64_t dur) {
    atomic_fetch_add_explicit(&cstats.num_stalls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&cstats.stall_total_ns, dur, memory_order_relaxed);
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
    mgc_cycle_holds h = {.pause_max_ns = atomic_exchange_explicit(&cyc_pause_max_ns, 0, memory_order_relaxed)};
    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    h.holds = holds.cyc_count;
    h.hold_max_ns = holds.cyc_max_ns;
    holds.cyc_count = holds.cyc_max_ns = 0;
    mgc_unlock(self, &events_lock);
    uint64_t now = mgc_nanotime();
    if (mgc_trace_stderr) {
        double wall = (double)(now - mgc_t_init);
        double pct = wall > 0 ? 100.0 * (double)atomic_load(&gc_cpu_total) / (wall * (double)mgc_ncpu()) : 0;
        mgc_trace_gctrace(c, &h, assist, worker, pct);
    }
    mgc_trace_cycle(c, &h, assist, worker, now);
    call_phase(GC_PHASE_CYCLE_END, c->cycle, c->start, now - c->start, 0);
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
    if (mgc_self) {
        /* Our own cached spans' slots, not yet counted (runtime/mcache.c):
         * a thread sees everything it allocated.  Under the threads lock,
         * which keeps a coordinator from releasing our cache for us while
         * we are parked (gc_do_blocking). */
        uint64_t n, b;
        mgc_cache_inflight(&mgc_self->cache, &n, &b);
        nalloc += n;
        bytes += b;
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
    out->num_stalls = atomic_load(&cstats.num_stalls);
    out->stall_total_ns = atomic_load(&cstats.stall_total_ns);
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

/* ** Sort v[0, n) and set *recent to n, p[] to its p50, p90, p99, p99.9. */
static void percentiles(uint64_t *v, size_t n, uint64_t *recent, uint64_t *const p[4]) {
    static const double at[4] = {50, 90, 99, 99.9};
    qsort(v, n, sizeof *v, cmp_u64);
    *recent = n;
    for (int i = 0; i < 4; i++) *p[i] = pct(v, n, at[i]);
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
    /* Both rings are at most PAUSE_RING long; one buffer, taken before
     * the lock (no malloc inside a runtime lock). */
    uint64_t *v = malloc(PAUSE_RING * sizeof *v);
    if (!v) return;
    size_t n = gc_get_pauses(v, PAUSE_RING);
    percentiles(v, n, &out->recent, (uint64_t *[4]){&out->p50_ns, &out->p90_ns, &out->p99_ns, &out->p999_ns});

    gc_thread *self = mgc_self;
    mgc_lock(self, &events_lock);
    out->handshake_count = holds.count[MGC_HOLD_HANDSHAKE];
    out->handshake_total_ns = holds.total_ns[MGC_HOLD_HANDSHAKE];
    out->handshake_max_ns = holds.max_ns[MGC_HOLD_HANDSHAKE];
    out->stack_count = holds.count[MGC_HOLD_STACK];
    out->stack_total_ns = holds.total_ns[MGC_HOLD_STACK];
    out->stack_max_ns = holds.max_ns[MGC_HOLD_STACK];
    out->thread_hold_max_ns = holds.worst_total_ns;
    out->thread_hold_max_thread = holds.worst_id;
    n = holds.n < PAUSE_RING ? (size_t)holds.n : PAUSE_RING;
    for (size_t i = 0; i < n; i++) v[i] = holds.ring[(holds.n - n + i) % PAUSE_RING];
    mgc_unlock(self, &events_lock);
    out->hold_count = out->handshake_count + out->stack_count;
    out->hold_total_ns = out->handshake_total_ns + out->stack_total_ns;
    out->hold_max_ns = out->handshake_max_ns > out->stack_max_ns ? out->handshake_max_ns
                                                                 : out->stack_max_ns;
    percentiles(v, n, &out->hold_recent,
                (uint64_t *[4]){&out->hold_p50_ns, &out->hold_p90_ns, &out->hold_p99_ns, &out->hold_p999_ns});
    free(v);
}

MGC_API int gc_get_thread_holds(gc_thread_holds *out) {
    if (!out) {
        mgc_warn("gc_get_thread_holds(NULL): pass a pointer to a gc_thread_holds to fill");
        return GC_EINVAL;
    }
    memset(out, 0, sizeof *out);
    gc_thread *self = mgc_self;
    if (!self) return GC_ENOTREG;
    out->thread = self->id;
    mgc_lock(self, &events_lock);
    const hold_rec *r = &holds.thread[(unsigned)self->id % HOLD_THREADS];
    if (r->id == self->id) {
        out->count = r->count;
        out->total_ns = r->total_ns;
        out->max_ns = r->max_ns;
    }
    mgc_unlock(self, &events_lock);
    return GC_OK;
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
    /* GC_MMU_SELF: the calling thread's own events only (an unregistered
     * caller has none: pauses alone). */
    int me = (flags & GC_MMU_SELF) ? (mgc_self ? mgc_self->id : -1) : 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool hold = ev[i].kind == GC_EVENT_THREAD_STOP || ev[i].kind == GC_EVENT_HANDSHAKE;
        bool take;
        if (ev[i].kind == GC_EVENT_PAUSE) take = true;
        else if (flags & GC_MMU_SELF)
            take = ev[i].thread == me && (hold || ((flags & GC_MMU_ASSISTS) && ev[i].kind == GC_EVENT_ASSIST));
        else take = (flags & GC_MMU_ASSISTS) && (hold || ev[i].kind == GC_EVENT_ASSIST);
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

