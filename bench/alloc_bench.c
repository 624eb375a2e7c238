/*
 * alloc_bench.c -- small-object allocation cost with a small live heap.
 *
 *   alloc_bench MODE SIZE ITERS [THREADS]
 *
 * SIZE is a byte count, or a range LO-HI (e.g. 16-64): then the sizes
 * LO, LO+8, ..., HI in turn (a pseudo-random order, the same for every
 * allocator), which spreads the objects over several size classes.
 *
 * MODE is one of
 *   mgc           gc_alloc(SIZE)              (scanned objects)
 *   mgc-noscan    gc_alloc_noscan(SIZE)       (pointer-free objects)
 *   boehm         GC_MALLOC(SIZE)             (Boehm GC 8.2, scanned)
 *   boehm-atomic  GC_MALLOC_ATOMIC(SIZE)      (Boehm GC, pointer-free)
 *   malloc        malloc(SIZE) + free() of the object leaving the ring;
 *                 the allocator is whatever malloc the process runs with
 *                 (LD_PRELOAD selects jemalloc, mimalloc, tcmalloc); the
 *                 system column names the one detected.
 *
 * Each of THREADS threads (default 1) allocates ITERS objects of SIZE
 * bytes, writes one word into each, and keeps its RING most recent ones
 * live in a global array (a registered root for mgc; the data segment,
 * which Boehm scans by itself).  The collectors run with a live heap of
 * about THREADS * RING * SIZE bytes and their collections are part of the
 * measured time.  A warm-up (same loop, ITERS/10 capped) runs first and is
 * not timed.
 *
 * Output: one CSV line of bench_util.h, bench "alloc", case "SIZEB/Tt",
 * metric ns per allocation per thread: wall time of the timed loop divided
 * by ITERS (so perfect scaling with threads keeps it constant).
 */
#include <stdbool.h>

#include "bench_util.h"

#define RING 1024 /* live objects per thread; a power of two */
#define MAXT 8
#define WARMUP_MAX 2000000

static void *ring[MAXT][RING];

static void die(const char *what, size_t size) {
    fprintf(stderr, "alloc_bench: %s(%zu) returned NULL\n", what, size);
    exit(2);
}

/*
 * One loop per allocator, each a separate non-inlined function calling the
 * allocator directly (no function pointer on the measured path).  `start`
 * continues the index sequence across warm-up and timed run so the ring
 * keeps rotating.  mgc stores into its root ring through gc_store.
 */
static size_t size_lo, size_steps; /* a SIZE range: LO and the number of sizes */

/* ** The size of allocation i in a range run: a multiplicative hash of i
 * picks one of the sizes, so neighbours differ and no allocator sees a
 * pattern it could exploit. */
static inline size_t range_size(uint64_t i) {
    return size_lo + 8 * (size_t)(((i * 0x9E3779B97F4A7C15ull) >> 40) % size_steps);
}

#define GC_LOOP(name, ALLOC, STORE, WHAT, SIZE)                                              \
    static __attribute__((noinline)) void name(void **r, size_t size, uint64_t start,      \
                                               uint64_t n) {                                \
        for (uint64_t i = start; i < start + n; i++) {                                     \
            uintptr_t *p = (uintptr_t *)ALLOC(SIZE);                                       \
            if (__builtin_expect(p == NULL, 0)) die(WHAT, SIZE);                           \
            p[0] = (uintptr_t)i;                                                           \
            STORE(&r[i & (RING - 1)], (void *)p);                                          \
        }                                                                                  \
        (void)size;                                                                        \
    }
#define PLAIN_STORE(slot, v) (*(slot) = (v))
#define GC_LOOPS(suffix, SIZE)                                                               \
    GC_LOOP(loop_mgc##suffix, gc_alloc, gc_store, "gc_alloc", SIZE)                          \
    GC_LOOP(loop_mgc_noscan##suffix, gc_alloc_noscan, gc_store, "gc_alloc_noscan", SIZE)     \
    GC_LOOP(loop_boehm##suffix, GC_MALLOC, PLAIN_STORE, "GC_MALLOC", SIZE)                   \
    GC_LOOP(loop_boehm_atomic##suffix, GC_MALLOC_ATOMIC, PLAIN_STORE, "GC_MALLOC_ATOMIC", SIZE)

GC_LOOPS(, size)
GC_LOOPS(_range, range_size(i))

static __attribute__((noinline)) void loop_malloc(void **r, size_t size, uint64_t start,
                                                  uint64_t n) {
    for (uint64_t i = start; i < start + n; i++) {
        uintptr_t *p = malloc(size);
        if (__builtin_expect(p == NULL, 0)) die("malloc", size);
        p[0] = (uintptr_t)i;
        size_t slot = i & (RING - 1);
        free(r[slot]); /* free(NULL) while the ring fills */
        r[slot] = p;
    }
}

typedef void (*loop_fn)(void **, size_t, uint64_t, uint64_t);

static loop_fn loop;
static size_t size;
static uint64_t iters, warm;
static int nthreads;
static pthread_barrier_t go, done;

/* ** Threads 1.. : warm up, meet the others, run the timed loop, meet
 * again.  The main thread is worker 0 and takes the times. */
static void bwait(pthread_barrier_t *b);
static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    loop(ring[id], size, 0, warm);
    bwait(&go);
    loop(ring[id], size, warm, iters);
    bwait(&done);
    return NULL;
}

static int system_;

/* Barrier waits are parked under mgc (gc_do_blocking): a thread that only
 * waits need not be stopped by collections. */
static void *wait_barrier(void *b) {
    pthread_barrier_wait(b);
    return NULL;
}
static void bwait(pthread_barrier_t *b) {
    if (system_ == BU_MGC) gc_do_blocking(wait_barrier, b);
    else pthread_barrier_wait(b);
}

static void usage(void) {
    fprintf(stderr, "usage: alloc_bench mgc|mgc-noscan|boehm|boehm-atomic|malloc SIZE|LO-HI ITERS "
                    "[THREADS]\n");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) usage();
    const char *m = argv[1];
    int system;
    /* A SIZE range: LO-HI, both multiples of 8. */
    char lo_s[32];
    const char *dash = strchr(argv[2], '-');
    uint64_t size64, hi64 = 0, t64 = 1;
    bool range = dash && (size_t)(dash - argv[2]) < sizeof lo_s;
    if (range) {
        memcpy(lo_s, argv[2], (size_t)(dash - argv[2]));
        lo_s[dash - argv[2]] = 0;
    }
    if (bu_parse_u64(range ? lo_s : argv[2], &size64) ||
        (range && (bu_parse_u64(dash + 1, &hi64) || hi64 < size64 || size64 % 8 || hi64 % 8 ||
                   hi64 > (1u << 20))) ||
        bu_parse_u64(argv[3], &iters) || (argc == 5 && bu_parse_u64(argv[4], &t64)) ||
        size64 < sizeof(uintptr_t) || size64 > (1u << 20) || iters == 0 || t64 < 1 || t64 > MAXT) {
        fprintf(stderr, "alloc_bench: SIZE must be %zu..1048576 or a range LO-HI of multiples "
                        "of 8, ITERS > 0, THREADS 1..%d\n", sizeof(uintptr_t), MAXT);
        return 1;
    }
    size_lo = (size_t)size64;
    size_steps = range ? (size_t)(hi64 - size64) / 8 + 1 : 1;
    if (!strcmp(m, "mgc")) system = BU_MGC, loop = range ? loop_mgc_range : loop_mgc;
    else if (!strcmp(m, "mgc-noscan")) system = BU_MGC, loop = range ? loop_mgc_noscan_range : loop_mgc_noscan;
    else if (!strcmp(m, "boehm")) system = BU_BOEHM, loop = range ? loop_boehm_range : loop_boehm;
    else if (!strcmp(m, "boehm-atomic")) system = BU_BOEHM, loop = range ? loop_boehm_atomic_range : loop_boehm_atomic;
    else if (!strcmp(m, "malloc") && !range) system = BU_MALLOC, loop = loop_malloc;
    else usage();
    size = (size_t)size64;
    nthreads = (int)t64;
    warm = iters / 10 < WARMUP_MAX ? iters / 10 : WARMUP_MAX;
    if (warm < 4 * RING) warm = 4 * RING;

    system_ = system;
    bu_init(system);
    /* Every store into the ring goes through gc_store, so it is a barrier
     * range (mgc.h): no rescan, and no stop, at the end of each mark. */
    if (system == BU_MGC) gc_add_roots_flags(ring, ring + MAXT, GC_ROOTS_BARRIER);
    const char *label = system == BU_MALLOC ? bu_malloc_name() : m;

    pthread_barrier_init(&go, NULL, (unsigned)nthreads);
    pthread_barrier_init(&done, NULL, (unsigned)nthreads);
    bu_thread th[MAXT];
    for (int i = 1; i < nthreads; i++) bu_thread_start(&th[i], system, worker, (void *)(intptr_t)i);

    loop(ring[0], size, 0, warm); /* the main thread is worker 0 */
    bwait(&go);
    long gc0 = bu_num_gc(system);
    double c0 = bu_cpu_s();
    uint64_t t_start = bu_now_ns();
    loop(ring[0], size, warm, iters);
    bwait(&done);
    uint64_t t_end = bu_now_ns();
    double c1 = bu_cpu_s();
    long gc1 = bu_num_gc(system);
    for (int i = 1; i < nthreads; i++) bu_thread_join(&th[i]);
    if (system == BU_MALLOC)
        for (int t = 0; t < nthreads; t++)
            for (int i = 0; i < RING; i++) free(ring[t][i]);

    char bcase[32];
    if (range) snprintf(bcase, sizeof bcase, "%zu-%zuB/%dt", size, (size_t)hi64, nthreads);
    else snprintf(bcase, sizeof bcase, "%zuB/%dt", size, nthreads);
    bu_result r = {"alloc", bcase, label, (double)(t_end - t_start) / (double)iters, "ns/alloc",
                   t_start, t_end, c1 - c0, system == BU_MALLOC ? -1 : gc1 - gc0, -1, NULL};
    r.mmu10_all = bu_mmu10_all(system);
    bu_print(&r);
    return 0;
}
