/*
 * mgc.c -- the collection cycle.
 *
 * One cycle at a time, under the world lock:
 *
 *   1. stop the world (gc/stw.c): every other registered thread parks
 *      outside any no-preempt section;
 *   2. flush every thread's allocation cache back to the mcentrals, so no
 *      span is half-owned and "allocated" is exact for the marker;
 *   3. mark from the roots (gc/mark.c);
 *   4. heap_live = marked bytes, sweepgen += 2 (every span becomes
 *      unswept), set the next goal;
 *   5. restart the world;
 *   6. sweep every span (gc/sweep.c) -- other threads allocate meanwhile and
 *      sweep the spans they need on demand -- then count the cycle done.
 *
 * The pause is 1-5.  Steps 1-5 are what the concurrent collector will split
 * into two short pauses around a concurrent mark; this schedule stays as
 * the debug mode MGC_STW.
 *
 * Invariant: when the world lock is free, every span is swept (sweepgen ==
 * sg or cached sg+3), which is what the next cycle's step 4 requires.
 */
#include <stdio.h>

#include "runtime/internal.h"

_Atomic uint64_t mgc_num_gc;
static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;

/* Cycle statistics: written under the world lock, read atomically. */
typedef struct cycle_stats {
    _Atomic uint64_t num_forced;
    _Atomic uint64_t pause_total_ns, pause_max_ns, last_pause_ns;
    _Atomic uint64_t last_mark_ns, last_sweep_ns;
    _Atomic uint64_t heap_marked;
} cycle_stats;
static cycle_stats cstats;

static void record_pause(uint64_t ns) {
    atomic_fetch_add(&cstats.pause_total_ns, ns);
    if (ns > atomic_load(&cstats.pause_max_ns)) atomic_store(&cstats.pause_max_ns, ns);
    atomic_store(&cstats.last_pause_ns, ns);
}

static void run_cycle(gc_thread *self, bool forced) {
    uint64_t t_start = mgc_nanotime();
    uint64_t live_before = atomic_load(&mgc_hstats.heap_live);

    mgc_stop_the_world();
    uint64_t t_stopped = mgc_nanotime();
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_cache_release_all(self, &t->cache);

    uint64_t root_bytes = 0;
    uint64_t marked = mgc_mark(&root_bytes);
    uint64_t t_marked = mgc_nanotime();

    atomic_store(&mgc_hstats.heap_live, marked);
    atomic_fetch_add(&mgc_heap.sweepgen, 2);
    mgc_pacer_end_cycle(marked, root_bytes);
    mgc_start_the_world();
    uint64_t t_restarted = mgc_nanotime();

    mgc_sweep_all(self);
    uint64_t t_swept = mgc_nanotime();

    record_pause(t_restarted - t_start);
    atomic_store(&cstats.last_mark_ns, t_marked - t_stopped);
    atomic_store(&cstats.last_sweep_ns, t_swept - t_restarted);
    atomic_store(&cstats.heap_marked, marked);
    if (forced) atomic_fetch_add(&cstats.num_forced, 1);
    uint64_t n = atomic_fetch_add(&mgc_num_gc, 1) + 1;

    if (mgc_cfg.verbose) {
        uint64_t goal = atomic_load(&mgc_heap_goal);
        fprintf(stderr,
                "mgc: gc %llu%s: pause %.3f ms (stop %.3f, mark %.3f), sweep %.3f ms, "
                "%.1f -> %.1f MB, goal %.1f MB, roots %.1f KB, %llu threads\n",
                (unsigned long long)n, forced ? " (forced)" : "",
                (double)(t_restarted - t_start) / 1e6, (double)(t_stopped - t_start) / 1e6,
                (double)(t_marked - t_stopped) / 1e6, (double)(t_swept - t_restarted) / 1e6,
                (double)live_before / 1048576.0, (double)marked / 1048576.0,
                goal == UINT64_MAX ? 0.0 : (double)goal / 1048576.0, (double)root_bytes / 1024.0,
                (unsigned long long)mgc_num_threads);
    }
}

/* ** Run a cycle.  Must be called with nopreempt == 0 (we may block on the
 * world lock while another collector stops us).  An automatic trigger that
 * finds a cycle already ran while it waited does nothing. */
void mgc_gc_start(gc_thread *t, bool forced) {
    uint64_t seen = atomic_load(&mgc_num_gc);
    pthread_mutex_lock(&world_lock);
    if (forced || (atomic_load(&mgc_num_gc) == seen && mgc_pacer_should_trigger())) {
        t->in_gc = 1;
        run_cycle(t, forced);
        t->in_gc = 0;
    }
    pthread_mutex_unlock(&world_lock);
}

MGC_API void gc_collect(void) {
    gc_thread *t = mgc_self;
    if (!t) {
        if (!atomic_load(&mgc_initialized))
            mgc_warn("gc_collect: called before gc_init(); call gc_init(NULL) first");
        else
            mgc_warn("gc_collect: the calling thread is not registered; call "
                     "gc_register_thread() first");
        return;
    }
    mgc_gc_start(t, true);
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
    /* Not a no-preempt section: a collector holds the threads lock while it
     * waits for us to stop, and only a collector stops threads. */
    mgc_threads_lock();
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
    out->last_mark_ns = atomic_load(&cstats.last_mark_ns);
    out->last_sweep_ns = atomic_load(&cstats.last_sweep_ns);
}
