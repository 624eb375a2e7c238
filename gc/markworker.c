/*
 * markworker.c -- background mark workers.
 *
 * While a cycle is marking, these threads scan stacks (one thread stopped
 * at a time), root-range chunks and grey objects.  They are not registered
 * threads: the world's stops never wait for them, and they own no heap
 * pointers outside their work buffers.
 *
 * CPU share.  Go gives marking 25% of the CPU, plus every processor that
 * would otherwise be idle (its idle mark workers).  Here the N workers
 * share 0.25 * ncpu CPUs, plus one CPU for each CPU the program's
 * registered threads cannot be using (ncpu - registered threads not
 * parked: a thread blocked in gc_collect or gc_do_blocking leaves its CPU
 * to the workers, as Go's idle mark workers take an idle P), each
 * worker at most one CPU: a single-threaded program on two cores gets a
 * full core of marking beside it.  A worker marks for a 1 ms slice, then
 * rests long enough to keep its share; while resting it hands its buffers
 * back to the pool so nothing waits on it.
 *
 * Termination protocol: a worker counts itself in mgc_mark_nbusy from
 * before it takes work until after it has returned its buffers to the pool.
 * So "nbusy == 0 and the pool is empty" means no grey object is hidden in
 * a worker (gc/mgc.c checks it with the world stopped).
 */
#include <stdio.h>
#include <time.h>

#include "gc/gc.h"
#include "gc/workbuf.h"

#define SLICE_NS 1000000L

static mgc_mutex wmu = MGC_MUTEX_INIT(WORKERS);
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static _Atomic int active;  /* marking is on and workers may take work; set under wmu */
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER; /* coordinator waits here */
/* Workers waiting in the 1 ms poll below for lack of work: written under
 * wmu, read by markers without it (a hint: a stale value only delays the
 * sharing or costs one extra buffer). */
_Atomic int mgc_workers_hungry;
/* Bumped (under wmu) to cut short every worker's rest: see mgc_workers_kick. */
static unsigned kick_gen;

/* ** A marker published work for hungry workers: wake them now rather
 * than at their next poll. */
void mgc_workers_wake(void) {
    mgc_mutex_lock(&wmu);
    if (atomic_load(&mgc_workers_hungry)) pthread_cond_broadcast(&wcv);
    mgc_mutex_unlock(&wmu);
}

/* ** Program thread t is about to wait for the mark to end (the hard
 * goal): the CPU it leaves is the workers' (Go's idle mark workers), so a
 * worker resting for its share goes back to work now, not after its rest
 * (and counts t out of the running threads after its next slice).
 * Left to rest, the only worker of a two-core machine slept 1 ms out of
 * two while both GCBench threads waited for it. */
void mgc_workers_kick(gc_thread *t) {
    mgc_lock(t, &wmu); /* a stop takes wmu: held in a no-preempt section */
    kick_gen++;
    pthread_cond_broadcast(&wcv);
    mgc_unlock(t, &wmu);
}

/* ** This worker's share of a CPU right now (see the CPU share above). */
static double worker_util(void) {
    long ncpu = mgc_ncpu();
    long idle = ncpu - mgc_threads_running();
    double cpus = 0.25 * (double)ncpu + (idle > 0 ? (double)idle : 0.0);
    double u = cpus / (double)mgc_cfg.mark_workers;
    return u > 1.0 ? 1.0 : u < 0.05 ? 0.05 : u;
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    char name[32];
    snprintf(name, sizeof name, "mgc-mark %d", id + 1);
    mgc_trace_thread_name(MGC_TID_WORKER0 + id, name);
    gcwork w;
    mgc_gcwork_init(&w);
    for (;;) {
        mgc_mutex_lock(&wmu);
        while (!active) mgc_cond_wait(&wcv, &wmu);
        mgc_mutex_unlock(&wmu);

        atomic_fetch_add(&mgc_mark_nbusy, 1);
        w.last = NULL; /* may be from an earlier cycle */
        uint64_t start = mgc_nanotime(), cpu0 = mgc_thread_cputime();
        uint64_t scanned0 = w.scan_bytes;
        bool found = false;
        while (atomic_load(&active) && mgc_nanotime() - start < (uint64_t)SLICE_NS) {
            if (!mgc_mark_some(&w, 64 * 1024, true)) break;
            found = true;
        }
        if (found) {
            uint64_t busy = mgc_nanotime() - start;
            mgc_pacer_worker_scanned(w.scan_bytes - scanned0, busy);
            mgc_stat_worker(id, start, busy, mgc_thread_cputime() - cpu0);
        }
        mgc_gcwork_dispose(&w);
        mgc_gcwork_account(&w);
        atomic_fetch_sub(&mgc_mark_nbusy, 1);

        uint64_t ran = mgc_nanotime() - start;
        double util = worker_util();
        mgc_mutex_lock(&wmu);
        if (!found) {
            /* Nothing to do: tell the coordinator, then poll again in 1 ms
             * (barrier shades reach the pool without waking anyone). */
            pthread_cond_broadcast(&idle_cv);
            struct timespec ts = mgc_deadline(SLICE_NS);
            if (active) {
                atomic_fetch_add(&mgc_workers_hungry, 1);
                mgc_cond_timedwait(&wcv, &wmu, &ts);
                atomic_fetch_sub(&mgc_workers_hungry, 1);
            }
            mgc_mutex_unlock(&wmu);
        } else {
            /* Rest for our share, unless a thread stops to wait for the
             * mark (mgc_workers_kick): then its CPU is ours. */
            if (util < 0.999) {
                unsigned gen = kick_gen;
                struct timespec ts = mgc_deadline((uint64_t)((double)ran * (1.0 - util) / util));
                while (active && kick_gen == gen && mgc_cond_timedwait(&wcv, &wmu, &ts) == 0) {
                }
            }
            mgc_mutex_unlock(&wmu);
        }
    }
    return NULL;
}

int mgc_workers_start(int n) {
    for (int i = 0; i < n; i++)
        if (mgc_start_daemon("mgc-mark", worker_main, (void *)(intptr_t)i) != GC_OK) return GC_ESYS;
    return GC_OK;
}

void mgc_workers_set_active(int on) {
    mgc_mutex_lock(&wmu);
    active = on;
    pthread_cond_broadcast(&wcv);
    mgc_mutex_unlock(&wmu);
}

/* ** The coordinator waits (at most ns) for a worker to report idleness. */
void mgc_workers_wait_idle(long ns) {
    struct timespec ts = mgc_deadline((uint64_t)ns);
    mgc_mutex_lock(&wmu);
    mgc_cond_timedwait(&idle_cv, &wmu, &ts);
    mgc_mutex_unlock(&wmu);
}

/* ---- fork (gc/fork.c) ---------------------------------------------------- */

void mgc_workers_fork_lock(void) { mgc_mutex_lock(&wmu); }
void mgc_workers_fork_unlock(void) { mgc_mutex_unlock(&wmu); }

/* ** In the child (wmu released already: no one else can take it): no
 * worker exists; gc_init's start makes new ones. */
void mgc_workers_fork_child(void) {
    wcv = mgc_fresh_cond;
    idle_cv = mgc_fresh_cond;
    atomic_store(&active, 0);
    atomic_store(&mgc_workers_hungry, 0);
    atomic_store(&mgc_mark_nbusy, 0);
}
