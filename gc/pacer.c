/*
 * pacer.c -- when the next cycle starts, and how much assists pay.
 *
 * Goal.  After each cycle, as Go does (GOGC):
 *     goal = marked + (marked + roots) * percent / 100,
 * at least 4 MiB * percent / 100, so a tiny heap does not collect
 * constantly.  A soft memory limit (MGC_MEMLIMIT, gc_set_memory_limit)
 * gives a second goal, limit minus the collector's own metadata; the lower
 * one wins, but never below marked + 1/16 (so a heap already at the limit
 * still gets some runway instead of collecting without end).
 *
 * Trigger.  Marking runs concurrently, so it must start before the goal:
 * the trigger is placed so that the heap reaches the goal as marking by
 * the background workers alone (25% of the CPUs) ends.  That takes
 *     runway = alloc_rate * expected_scan_work / background_scan_rate,
 * with the program's allocation rate measured between cycles, the workers'
 * scan rate measured while they mark, and the expected scan work taken as
 * last cycle's marked bytes plus roots.  The trigger is goal - runway
 * (+10% margin), kept within [30%, 95%] of the way from marked to goal.
 *
 * Assists.  While marking, allocating threads owe scan work in proportion
 * to what they allocate: assist_ratio = expected scan work / heap left
 * before the goal.  Work the background workers have done is banked as
 * credit that assists draw on first (Go's bgScanCredit), so with a well
 * placed trigger the program rarely assists; if the workers fall behind,
 * the allocators finish the mark by the time the heap reaches the goal.
 *
 * All values are atomics written by the coordinator (end_cycle) or by the
 * setters, read anywhere.
 */
#include "gc/gc.h"

/* Go's 4 MB.  A build may pick another (-DMGC_HEAP_MINIMUM_MIB=N) to
 * measure what the minimum buys (docs/performance.md, issue 16 item 6). */
#ifndef MGC_HEAP_MINIMUM_MIB
#define MGC_HEAP_MINIMUM_MIB 4
#endif
#define HEAP_MINIMUM ((uint64_t)MGC_HEAP_MINIMUM_MIB << 20)

_Atomic uint64_t mgc_heap_goal;
_Atomic uint64_t mgc_heap_trigger;
static _Atomic int gc_percent;
static _Atomic uint64_t mem_limit = UINT64_MAX;
static _Atomic uint64_t last_marked, last_roots;
static _Atomic uint64_t runway = 0;          /* learned growth during a mark */
static _Atomic uint64_t trigger_live;         /* heap_live when this mark began */
static _Atomic uint64_t assist_ratio_milli;   /* assist ratio * 1000 */
/* Rates (bytes per second), learned: */
static _Atomic uint64_t alloc_rate;           /* program allocation, between marks */
static _Atomic uint64_t worker_scan_rate;     /* per worker CPU, while marking */
static _Atomic uint64_t cycle_end_ns, cycle_end_live; /* at the last termination */
static _Atomic uint64_t worker_bytes, worker_ns;      /* this cycle's worker scanning */
_Atomic int64_t mgc_bg_credit;                /* scan bytes workers banked this cycle */

static uint64_t compute_goal(uint64_t marked, uint64_t roots) {
    int percent = atomic_load(&gc_percent);
    uint64_t limit = atomic_load(&mem_limit);
    uint64_t goal = UINT64_MAX;
    if (percent >= 0) {
        goal = marked + (marked + roots) / 100 * (uint64_t)percent;
        uint64_t floor = HEAP_MINIMUM / 100 * (uint64_t)percent;
        if (goal < floor) goal = floor;
    }
    if (limit != UINT64_MAX) {
        uint64_t meta = atomic_load(&mgc_hstats.meta_sys);
        uint64_t lgoal = limit > meta ? limit - meta : 0;
        uint64_t minimum = marked + marked / 16 + (256 << 10);
        if (lgoal < minimum) lgoal = minimum;
        if (lgoal < goal) goal = lgoal;
    }
    return goal;
}

/* ** Place the trigger between marked and goal, leaving the runway the
 * background workers need. */
static uint64_t compute_trigger(uint64_t marked, uint64_t goal) {
    if (goal == UINT64_MAX) return UINT64_MAX;
    if (mgc_cfg.stw || goal <= marked) return goal; /* no concurrent phase to run ahead of */
    uint64_t span = goal - marked;
    uint64_t lo = marked + span / 10 * 3, hi = marked + span / 20 * 19;
    uint64_t r = atomic_load(&runway);
    uint64_t t = r ? (goal > r + r / 10 ? goal - r - r / 10 : 0) : marked + span / 10 * 6;
    if (t < lo) t = lo;
    if (t > hi) t = hi;
    return t;
}

static void update(uint64_t marked, uint64_t roots) {
    uint64_t goal = compute_goal(marked, roots);
    atomic_store(&mgc_heap_goal, goal);
    atomic_store(&mgc_heap_trigger, compute_trigger(marked, goal));
}

void mgc_pacer_init(int percent, uint64_t memlimit) {
    atomic_store(&gc_percent, percent < 0 ? -1 : percent);
    atomic_store(&mem_limit, memlimit ? memlimit : UINT64_MAX);
    update(0, 0);
}

/* ** Mark setup: learn the allocation rate since the last cycle, and how
 * hard assists must work this one. */
void mgc_pacer_start_cycle(uint64_t heap_live) {
    uint64_t now = mgc_nanotime(), then = atomic_load(&cycle_end_ns);
    uint64_t base = atomic_load(&cycle_end_live);
    if (then && now > then + 100000 && heap_live > base) {
        double rate = (double)(heap_live - base) * 1e9 / (double)(now - then);
        uint64_t old = atomic_load(&alloc_rate);
        atomic_store(&alloc_rate, old ? old / 2 + (uint64_t)rate / 2 : (uint64_t)rate);
    }
    atomic_store(&worker_bytes, 0);
    atomic_store(&worker_ns, 0);
    atomic_store(&mgc_bg_credit, 0);
    atomic_store(&trigger_live, heap_live);
    uint64_t goal = atomic_load(&mgc_heap_goal);
    uint64_t expected = atomic_load(&last_marked) + atomic_load(&last_roots);
    if (expected < HEAP_MINIMUM / 4) expected = HEAP_MINIMUM / 4;
    uint64_t left = goal != UINT64_MAX && goal > heap_live ? goal - heap_live : 0;
    if (left < expected / 8) left = expected / 8; /* past the goal: pay hard, not infinitely */
    double ratio = (double)expected / (double)left;
    atomic_store(&assist_ratio_milli, (uint64_t)(ratio * 1000.0));
}

double mgc_pacer_assist_ratio(void) { return (double)atomic_load(&assist_ratio_milli) / 1000.0; }

/* ** A worker reports a slice: bytes scanned in ns of its CPU. */
void mgc_pacer_debug(uint64_t *wb, uint64_t *wn, uint64_t *trig, uint64_t *rw) {
    *wb = atomic_load(&worker_bytes); *wn = atomic_load(&worker_ns);
    *trig = atomic_load(&trigger_live); *rw = atomic_load(&runway);
}
void mgc_pacer_worker_scanned(uint64_t bytes, uint64_t ns) {
    atomic_fetch_add_explicit(&worker_bytes, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&worker_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&mgc_bg_credit, (int64_t)bytes, memory_order_relaxed);
}

/* ** Mark termination: learn the scan rate, set the next goal, the runway
 * and the trigger. */
void mgc_pacer_end_cycle(uint64_t marked, uint64_t root_bytes, uint64_t peak_live) {
    (void)peak_live;
    uint64_t wb = atomic_load(&worker_bytes), wn = atomic_load(&worker_ns);
    if (wn > 100000 && wb > 0) {
        uint64_t rate = (uint64_t)((double)wb * 1e9 / (double)wn);
        uint64_t old = atomic_load(&worker_scan_rate);
        atomic_store(&worker_scan_rate, old ? old / 2 + rate / 2 : rate);
    }
    uint64_t ar = atomic_load(&alloc_rate), sr = atomic_load(&worker_scan_rate);
    if (ar && sr) {
        /* Background marking gets 25% of the CPUs plus the idle ones
         * (gc/markworker.c), at most one per worker. */
        long idle = mgc_ncpu() - mgc_threads_running();
        double cpus = 0.25 * (double)mgc_ncpu() + (idle > 0 ? (double)idle : 0.0);
        if (cpus > mgc_cfg.mark_workers) cpus = mgc_cfg.mark_workers;
        double work = (double)(marked + root_bytes);
        atomic_store(&runway, (uint64_t)((double)ar * work / ((double)sr * cpus)));
    }
    atomic_store(&cycle_end_ns, mgc_nanotime());
    atomic_store(&cycle_end_live, marked);
    atomic_store(&last_marked, marked);
    atomic_store(&last_roots, root_bytes);
    update(marked, root_bytes);
    mgc_sweep_pace(marked, atomic_load(&mgc_heap_trigger));
}

int mgc_pacer_set_percent(int percent) {
    if (percent < 0) percent = -1;
    int old = atomic_exchange(&gc_percent, percent);
    update(atomic_load(&last_marked), atomic_load(&last_roots));
    return old;
}

uint64_t mgc_pacer_set_memlimit(uint64_t limit) {
    uint64_t old = atomic_exchange(&mem_limit, limit ? limit : UINT64_MAX);
    update(atomic_load(&last_marked), atomic_load(&last_roots));
    return old;
}

MGC_API int gc_set_percent(int percent) { return mgc_pacer_set_percent(percent); }

MGC_API size_t gc_set_memory_limit(size_t limit) {
    uint64_t old = mgc_pacer_set_memlimit(limit == SIZE_MAX ? 0 : limit);
    return old == UINT64_MAX ? SIZE_MAX : (size_t)old;
}
