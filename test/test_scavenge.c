/*
 * test_scavenge.c -- returning free heap pages to the OS.
 *
 * The claim under test is about the process, not the heap's own books: after
 * a program drops a large heap, its resident set (RSS, from /proc/self/statm)
 * falls, through gc_free_os_memory() at once or through the background
 * scavenger within a few of its periods; heap_released says how much; and
 * memory handed out again from released pages is zero (the allocator stops
 * clearing released runs, trusting the kernel's fresh zero pages).  Waits
 * for the background thread are bounded polls, never bare sleeps.
 *
 * Sizes: the 1 GB where it names it; less under the sanitizers,
 * which make every touched page cost more.
 */
#include <time.h>
#include <unistd.h>

#include "test/test_util.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define BIG_BYTES (128 * TU_MIB)
#else
#define BIG_BYTES (1024 * TU_MIB)
#endif
#define OBJ_BYTES (64 * TU_KIB)
/* ThreadSanitizer keeps shadow memory for every heap word the program
 * touched, and madvising the heap does not drop it: under TSan the RSS
 * falls by less than the heap released, so only heap_released is checked. */
#if defined(__SANITIZE_THREAD__)
#define CHECK_RSS 0
#else
#define CHECK_RSS 1
#endif
#define NOBJS (BIG_BYTES / OBJ_BYTES)

/* The only references to the big objects: a registered root range, so
 * dropping them is one pass of stores. */
static void *objs[1024 * TU_MIB / OBJ_BYTES];

static size_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f, "cannot open /proc/self/statm");
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    cr_assert_eq(n, 2, "cannot parse /proc/self/statm");
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static int verbose(void) { return getenv("SCAVENGE_VERBOSE") != NULL; }

/* ** The measured figures, on stderr when SCAVENGE_VERBOSE is set. */
static void report(const char *what, size_t rss0, size_t peak, size_t dropped, size_t after,
                   uint64_t released) {
    if (verbose())
        fprintf(stderr,
                "scavenge: %s: RSS start %zu MiB, full %zu MiB, dropped+collected %zu MiB, "
                "after release %zu MiB; heap_released %llu MiB\n",
                what, rss0 >> 20, peak >> 20, dropped >> 20, after >> 20,
                (unsigned long long)(released >> 20));
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
static void *sleep_ms_fn(void *arg) {
    sleep_ms((long)(intptr_t)arg);
    return NULL;
}
/* Registered threads wait parked, so a collection never needs to signal
 * them (ThreadSanitizer holds signals back from threads blocked in calls). */
static void wait_ms(long ms) { gc_do_blocking(sleep_ms_fn, (void *)(intptr_t)ms); }

/* ** Allocate n 64 KiB noscan objects into objs[], every byte written (so
 * every page is resident) with a non-zero pattern. */
static TU_NOINLINE void fill_big(size_t n) {
    gc_add_roots(objs, objs + n);
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = gc_alloc_noscan(OBJ_BYTES);
        cr_assert_not_null(p, "gc_alloc_noscan(64 KiB) #%zu failed", i);
        memset(p, (int)(i % 255) + 1, OBJ_BYTES);
        gc_store(&objs[i], p);
    }
}

static TU_NOINLINE void drop_range(size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) gc_store(&objs[i], NULL);
    tu_collect_clean();
}

static TU_NOINLINE void drop_big(size_t n) { drop_range(0, n); }

/* RSS at the steps of a drop-and-release, and the statistics after it. */
typedef struct rss_points {
    size_t peak, dropped, after;
    gc_stats st;
} rss_points;

/* ** Drop the first n roots, collect, and give the memory back, measuring
 * RSS at each step. */
static TU_NOINLINE rss_points drop_and_free(size_t rss0, size_t n, const char *what) {
    rss_points m;
    m.peak = rss_bytes();
    drop_big(n);
    m.dropped = rss_bytes();
    gc_free_os_memory();
    m.after = rss_bytes();
    m.st = tu_stats();
    report(what, rss0, m.peak, m.dropped, m.after, m.st.heap_released);
    return m;
}

/* ** Allocate n objects again and check that each is zero (one word per 4
 * KiB page, the first and last word): released pages must come back as the
 * kernel's zero pages, or be cleared. */
static TU_NOINLINE void refill_and_check_zero(size_t n) {
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t *p = gc_alloc_noscan(OBJ_BYTES);
        cr_assert_not_null(p, "second round: gc_alloc_noscan(64 KiB) #%zu failed", i);
        size_t words = OBJ_BYTES / sizeof(uint64_t);
        for (size_t w = 0; w < words; w += 512)
            if (p[w] || p[w + 511]) {
                if (!bad++) first_bad = i;
            }
        p[0] = i + 1; /* touch it, as a program would */
        gc_store(&objs[i], p);
    }
    cr_assert_eq(bad, 0, "%zu pages of re-allocated objects were not zero (first in object %zu)",
                 bad, first_bad);
}

Test(scavenge, free_os_memory_returns_a_dropped_heap, .timeout = 60) {
    tu_init();
    size_t rss0 = rss_bytes();
    fill_big(NOBJS);
    rss_points m = drop_and_free(rss0, NOBJS, "gc_free_os_memory, 64 KiB objects");
    size_t rss_peak = m.peak, rss_after = m.after;
    gc_stats st = m.st;
    cr_assert_geq(rss_peak - rss0, BIG_BYTES * 9 / 10, "the heap never became resident: %zu -> %zu",
                  rss0, rss_peak);
    cr_assert(!CHECK_RSS || rss_peak - rss_after >= BIG_BYTES * 3 / 4,
                  "RSS fell only from %zu MiB to %zu MiB after dropping %zu MiB", rss_peak >> 20,
                  rss_after >> 20, BIG_BYTES >> 20);
    cr_assert_geq(st.heap_released, BIG_BYTES * 3 / 4,
                  "heap_released is %llu MiB after dropping %zu MiB",
                  (unsigned long long)(st.heap_released >> 20), BIG_BYTES >> 20);
    cr_assert_leq(st.heap_released, st.heap_sys - st.heap_inuse,
                  "heap_released (%llu) exceeds the free heap (%llu)",
                  (unsigned long long)st.heap_released,
                  (unsigned long long)(st.heap_sys - st.heap_inuse));

    refill_and_check_zero(NOBJS);
    gc_stats st2 = tu_stats();
    cr_assert_lt(st2.heap_released, st.heap_released / 4,
                 "re-allocating the heap left heap_released at %llu MiB (was %llu MiB)",
                 (unsigned long long)(st2.heap_released >> 20),
                 (unsigned long long)(st.heap_released >> 20));
}

/* Pointer-rich small objects: lists of 48-byte nodes (small spans, which
 * sweeping frees page by page), dropped and released the same way. */
typedef struct node {
    struct node *next;
    uint64_t id, check;
} node;

static TU_NOINLINE void build_lists(size_t bytes, size_t nlists) {
    gc_add_roots(objs, objs + nlists);
    size_t per = bytes / sizeof(node) / nlists;
    for (size_t l = 0; l < nlists; l++)
        for (size_t i = 0; i < per; i++) {
            node *n = gc_alloc(sizeof *n);
            cr_assert_not_null(n);
            n->id = i;
            n->check = tu_mix(i ^ l);
            gc_store(&n->next, (node *)objs[l]);
            gc_store(&objs[l], n);
        }
}

Test(scavenge, free_os_memory_returns_small_pointer_objects, .timeout = 60) {
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    tu_init();
    size_t bytes = BIG_BYTES / 4;
    size_t rss0 = rss_bytes();
    build_lists(bytes, 64);
    rss_points m = drop_and_free(rss0, 64, "gc_free_os_memory, small objects");
    size_t rss_peak = m.peak, rss_after = m.after;
    gc_stats st = m.st;
    cr_assert(!CHECK_RSS || rss_peak - rss_after >= (rss_peak - rss0) * 3 / 4,
                  "RSS fell only from %zu MiB to %zu MiB (start %zu MiB)", rss_peak >> 20,
                  rss_after >> 20, rss0 >> 20);
    cr_assert_geq(st.heap_released, bytes * 3 / 4, "released %llu MiB of %zu MiB dropped",
                  (unsigned long long)(st.heap_released >> 20), bytes >> 20);
    /* The freed small spans come back zeroed too. */
    for (int i = 0; i < 100000; i++) {
        node *n = gc_alloc(sizeof *n);
        cr_assert(n && !n->next && !n->id && !n->check, "node %d not zeroed", i);
        n->id = 1;
    }
}

/* ** Poll (bounded) until heap_released reaches want; the last value. */
static uint64_t wait_released(uint64_t want, int polls) {
    uint64_t r = 0;
    for (int i = 0; i < polls; i++) {
        r = tu_stats().heap_released;
        if (r >= want) break;
        wait_ms(50);
    }
    return r;
}

Test(scavenge, background_scavenger_returns_memory, .timeout = 60) {
    /* Each pauses the background scavenger (runtime/scavenge.c). */
    unsetenv("MGC_CHECKMARK");
    setenv("MGC_VERIFY", "0", 1); /* on by default in MGC_DEBUG builds */
    unsetenv("MGC_BARRIERCHECK");
    tu_init();
    size_t n = NOBJS / 2;
    size_t rss0 = rss_bytes();
    fill_big(n);
    size_t rss_peak = rss_bytes();
    drop_big(n);
    size_t rss_dropped = rss_bytes();
    uint64_t want = n * OBJ_BYTES * 3 / 4;
    uint64_t r = wait_released(want, 200); /* 10 s: twenty scavenger periods */
    size_t rss_after = rss_bytes();
    report("background scavenger", rss0, rss_peak, rss_dropped, rss_after, r);
    cr_assert_geq(r, want, "the background scavenger released only %llu of %llu MiB in 10 s",
                  (unsigned long long)(r >> 20), (unsigned long long)(want >> 20));
    cr_assert(!CHECK_RSS || rss_peak - rss_after >= want * 2 / 3, "RSS fell only from %zu to %zu MiB",
                  rss_peak >> 20, rss_after >> 20);
}

/* ** Start with MGC_SCAVENGE=0, then allocate and drop n big objects. */
static void start_unscavenged_and_drop(size_t n) {
    setenv("MGC_SCAVENGE", "0", 1);
    tu_init();
    unsetenv("MGC_SCAVENGE");
    fill_big(n);
    drop_big(n); /* collected and swept: the pages are free */
}

Test(scavenge, mgc_scavenge_0_disables_only_the_background_thread, .timeout = 60) {
    size_t n = 1024; /* 64 MiB */
    start_unscavenged_and_drop(n);
    for (int i = 0; i < 30; i++) { /* 1.5 s: three scavenger periods */
        uint64_t r = tu_stats().heap_released;
        cr_assert_eq(r, 0, "heap_released is %llu with MGC_SCAVENGE=0", (unsigned long long)r);
        wait_ms(50);
    }
    gc_free_os_memory();
    uint64_t r = tu_stats().heap_released;
    cr_assert_geq(r, n * OBJ_BYTES * 3 / 4, "gc_free_os_memory released only %llu KiB",
                  (unsigned long long)(r >> 10));
}

/* A released run and a used free run next to it stay two runs; a request
 * that fits only across both merges them instead of growing the heap, and
 * the merged memory still comes back zeroed (the used half is cleared). */
Test(scavenge, a_request_spanning_released_and_used_runs_merges_them, .timeout = 60) {
    size_t half = 256; /* 16 MiB of 64 KiB objects each: all in the first arena */
    start_unscavenged_and_drop(0);
    fill_big(2 * half);
    drop_big(half); /* the first half */
    gc_free_os_memory();
    drop_range(half, 2 * half); /* the second half: free, dirty, next to the released one */
    gc_stats st = tu_stats();
    cr_assert_geq(st.heap_released, half * OBJ_BYTES * 3 / 4);
    size_t want = (size_t)(st.heap_sys - st.heap_inuse) - 4 * TU_MIB;
    cr_assert_gt(want, (half + 1) * OBJ_BYTES * 2, "setup: free heap only %zu MiB", want >> 20);
    uint64_t *p = gc_alloc_noscan(want);
    cr_assert_not_null(p);
    gc_stats st2 = tu_stats();
    cr_assert_eq(st2.heap_sys, st.heap_sys, "the heap grew from %llu to %llu MiB instead of merging",
                 (unsigned long long)(st.heap_sys >> 20), (unsigned long long)(st2.heap_sys >> 20));
    for (size_t w = 0; w < want / sizeof *p; w += 512)
        cr_assert_eq(p[w], 0, "word %zu of the merged run is not zero", w);
}

/* ** From an unregistered thread: no collection, but what is free goes. */
static void *free_unregistered(void *arg) {
    (void)arg;
    gc_free_os_memory();
    return NULL;
}
static void *join_fn(void *arg) {
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

Test(scavenge, free_os_memory_from_an_unregistered_thread, .timeout = 60) {
    size_t n = 512; /* 32 MiB */
    start_unscavenged_and_drop(n);
    tu_warn_capture();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, free_unregistered, NULL), 0);
    gc_do_blocking(join_fn, &th);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    uint64_t r = tu_stats().heap_released;
    cr_assert_geq(r, n * OBJ_BYTES * 3 / 4, "released only %llu KiB", (unsigned long long)(r >> 10));
}

/* ---- concurrent: allocation against releasing ------------------------------ */

#define CNT_THREADS 3
#define CNT_SLOTS 64
#if defined(__SANITIZE_THREAD__)
#define CNT_ITERS 6000
#else
#define CNT_ITERS 60000
#endif

static _Atomic int cnt_running;

/* Object layout: word 0 = seed, word 1 = size, payload from word 2 filled
 * by tu_fill(seed). */
static size_t cnt_size(uint64_t r) {
    switch (r % 8) {
    case 0: return 64 * TU_KIB + (r >> 8) % (64 * TU_KIB); /* large: their own spans */
    case 1: return 8 * TU_KIB + (r >> 8) % TU_KIB;
    default: return 32 + (r >> 8) % 2000;
    }
}

static int cnt_check(const uint64_t *p) {
    size_t size = (size_t)p[1];
    return tu_check(p + 2, size - 16, p[0]);
}

static void *cnt_worker(void *arg) {
    uint64_t id = (uint64_t)(intptr_t)arg;
    if (gc_register_thread() != GC_OK) {
        tu_fail("thread %llu: gc_register_thread failed", (unsigned long long)id);
        atomic_fetch_sub(&cnt_running, 1);
        return NULL;
    }
    uint64_t *slot[CNT_SLOTS] = {0}; /* on the stack: a root */
    for (uint64_t it = 0; it < CNT_ITERS; it++) {
        uint64_t r = tu_mix(id << 40 | it);
        unsigned k = (unsigned)(r % CNT_SLOTS);
        if (slot[k] && !cnt_check(slot[k])) {
            tu_fail("thread %llu: object of %llu bytes corrupted", (unsigned long long)id,
                    (unsigned long long)slot[k][1]);
            break;
        }
        size_t size = cnt_size(r >> 6);
        uint64_t *p = (r & 32) ? gc_alloc_noscan(size) : gc_alloc(size);
        if (!p) {
            tu_fail("thread %llu: allocation of %zu bytes failed", (unsigned long long)id, size);
            break;
        }
        /* Zeroed, whether the pages were reused, released or fresh. */
        if (!tu_all_zero(p, size < 4096 ? size : 4096) ||
            (size > 4096 && !tu_all_zero((char *)p + size - 64, 64))) {
            tu_fail("thread %llu: fresh object of %zu bytes not zeroed", (unsigned long long)id,
                    size);
            break;
        }
        p[0] = r;
        p[1] = size;
        tu_fill(p + 2, size - 16, r);
        slot[k] = p;
    }
    for (unsigned k = 0; k < CNT_SLOTS; k++)
        if (slot[k] && !cnt_check(slot[k])) tu_fail("thread %llu: corrupted at the end",
                                                    (unsigned long long)id);
    atomic_fetch_sub(&cnt_running, 1);
    gc_unregister_thread();
    return NULL;
}

Test(scavenge, allocation_races_releasing, .timeout = 120) {
    tu_init();
    pthread_t th[CNT_THREADS];
    atomic_store(&cnt_running, CNT_THREADS);
    for (int i = 0; i < CNT_THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, cnt_worker, (void *)(intptr_t)(i + 1)), 0);
    int calls = 0;
    while (atomic_load(&cnt_running) > 0) {
        gc_free_os_memory();
        calls++;
        wait_ms(20);
    }
    for (int i = 0; i < CNT_THREADS; i++) gc_do_blocking(join_fn, &th[i]);
    tu_assert_no_thread_failures();
    if (verbose())
        fprintf(stderr, "scavenge: concurrent: %d gc_free_os_memory calls, %llu GCs\n", calls,
                (unsigned long long)tu_stats().num_gc);
    cr_assert_gt(calls, 0);
}

/* ---- transparent huge pages (runtime/mheap.c) -----------------------------
 * Is the mapping that holds addr advised MADV_HUGEPAGE ("hg" in its
 * VmFlags, /proc/self/smaps)?  -1 if addr is in no mapping. */
static int advised_huge(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0, found = -1;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a >= lo && a < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

static void *huge_blocks[64];

Test(scavenge, a_small_heap_keeps_small_pages_and_a_big_one_gets_huge_pages, .timeout = 60) {
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
        cr_skip_test("no transparent huge pages in this kernel");
    if (getenv("MGC_HUGEPAGES"))
        cr_skip_test("MGC_HUGEPAGES is set: the default policy is what this tests");
    tu_init();
    gc_add_roots(huge_blocks, huge_blocks + 64);
    void *small = gc_alloc(64);
    cr_assert_not_null(small);
    gc_store(&huge_blocks[0], small);
    cr_assert_eq(advised_huge(small), 0, "a 64-byte heap was given huge pages");
    /* 48 MiB in use: past the 32 MiB threshold. */
    for (int i = 1; i < 49; i++) {
        void *b = gc_alloc(TU_MIB);
        cr_assert_not_null(b);
        gc_store(&huge_blocks[i], b);
    }
    cr_assert_eq(advised_huge(small), 1, "48 MiB in use, and the first arena is not advised");
    cr_assert_eq(advised_huge(huge_blocks[48]), 1, "the arena of the last block is not advised");
    gc_remove_roots(huge_blocks, huge_blocks + 64);
}
