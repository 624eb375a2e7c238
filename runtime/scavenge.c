/*
 * scavenge.c -- giving free heap pages back to the operating system.
 *
 * Sweeping returns dead spans to the page heap (runtime/mheap.c), but the
 * pages stay resident: the process keeps its peak RSS forever.  The
 * scavenger madvises free runs away (MADV_DONTNEED), as Go's background
 * scavenger does.  A released run keeps its address range; touching it again
 * faults in zero pages, so it needs no clearing when handed out.
 *
 * Two ways in:
 *   - the background thread "mgc-scavenge" wakes every SCAV_PERIOD_NS and
 *     releases runs that have been free since before its previous pass
 *     (mheap.scav_gen: a free run records the pass count when it was freed),
 *     so pages the allocator reuses at once are not dropped and refaulted.
 *     At most SCAV_PASS_BYTES per pass, so a large backlog costs a few
 *     percent of one CPU over several periods rather than a burst.
 *   - gc_free_os_memory(): a full collection, then every free page at once.
 *
 * Invariants: only free spans are released, always under the heap lock, one
 * chunk of at most 2 MiB per lock hold (allocation waits on that lock);
 * mgc_hstats.heap_released is the byte total of free spans marked released.
 * MGC_SCAVENGE=0 disables the thread only; gc_free_os_memory still works.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "runtime/collector.h"
#include "runtime/heap.h"

#define SCAV_PERIOD_NS (500 * 1000000L)
#define SCAV_PASS_BYTES ((size_t)256 << 20)

/* ** Release up to max bytes (all free pages when all), one chunk per
 * lock hold.  t is the calling registered thread or NULL. */
static size_t scavenge(gc_thread *t, size_t max, bool all) {
    size_t done = 0;
    while (all || done < max) {
        mgc_lock(t, &mgc_heap.lock);
        size_t n = mgc_heap_release_locked(all);
        mgc_unlock(t, &mgc_heap.lock);
        if (!n) break;
        done += n;
    }
    return done;
}

/* ** The background thread: one pass per period, never registered (it
 * touches no object, only free pages under the heap lock). */
static void *scavenger_main(void *arg) {
    (void)arg;
    for (;;) {
        mgc_sleep_ns(SCAV_PERIOD_NS);
        /* MGC_CHECKMARK, MGC_BARRIERCHECK and MGC_VERIFY walk the page
         * table with the world stopped and without the heap lock
         * (mgc_heap_for_each_span); this thread is not stopped, and a
         * span struct it frees or splits could be reused under the walk
         * (ThreadSanitizer saw MGC_BARRIERCHECK's).  Debug modes only. */
        if (mgc_cfg.checkmark || mgc_cfg.verify || mgc_bc_on) continue;
        mgc_mutex_lock(&mgc_heap.lock);
        mgc_heap.scav_gen++;
        mgc_mutex_unlock(&mgc_heap.lock);
        size_t n = scavenge(NULL, SCAV_PASS_BYTES, false);
        /* By write(2), not stdio: a program thread may hold stderr's lock
         * for as long as it likes (MGC_TORTURE=1 found this thread blocked
         * in fprintf behind one, the only library message that was). */
        if (n && mgc_cfg.verbose >= 2)
            mgc_print("mgc: scavenger released %zu KiB (%llu KiB released in all)", n >> 10,
                      (unsigned long long)(atomic_load(&mgc_hstats.heap_released) >> 10));
    }
    return NULL;
}

/* ** Start the background scavenger (gc_init, after the heap exists). */
static int scav_started; /* gc_init, then fork children */

int mgc_scavenger_start(void) {
    int rc = mgc_start_daemon("mgc-scavenge", scavenger_main, NULL);
    scav_started = rc == GC_OK;
    return rc;
}

/* ** In a forked child: a new scavenger if the parent had one. */
int mgc_scavenger_fork_child(void) { return scav_started ? mgc_scavenger_start() : GC_OK; }

/* ** Collect first so the garbage's pages are free too, then release every
 * free page.  From an unregistered thread (a watchdog reacting to memory
 * pressure, say) there can be no collection: it releases what is free. */
MGC_API void gc_free_os_memory(void) {
    if (!atomic_load_explicit(&mgc_initialized, memory_order_acquire)) {
        mgc_warn("gc_free_os_memory: called before gc_init(); call gc_init(NULL) first");
        return;
    }
    gc_thread *t = mgc_self;
    if (t) gc_collect();
    scavenge(t, 0, true);
}
