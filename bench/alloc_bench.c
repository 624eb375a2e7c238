/*
 * alloc_bench.c -- small-object allocation cost with a small live heap.
 *
 *   alloc_bench MODE SIZE ITERS
 *   alloc_bench --header
 *
 * MODE is one of
 *   mgc           gc_alloc(SIZE)              (scanned objects)
 *   mgc-noscan    gc_alloc_noscan(SIZE)       (pointer-free objects)
 *   boehm         GC_MALLOC(SIZE)             (Boehm GC 8.2, scanned)
 *   boehm-atomic  GC_MALLOC_ATOMIC(SIZE)      (Boehm GC, pointer-free)
 *   malloc        malloc(SIZE) + free() of the object leaving the ring;
 *                 the allocator is whatever malloc the process runs with
 *                 (LD_PRELOAD selects jemalloc, mimalloc, tcmalloc; none
 *                 is glibc).  The program detects which one it got and
 *                 reports it in the mode column: glibc, jemalloc,
 *                 mimalloc or tcmalloc.
 *
 * Each mode allocates ITERS objects of SIZE bytes, writes one word into
 * each, and keeps the RING most recent ones live in a global array (a
 * registered root for mgc; a data-segment global that Boehm scans by
 * itself).  The garbage collectors therefore run with a live heap of about
 * RING * SIZE bytes and their collections are part of the measured time.
 * A warm-up of WARMUP allocations (same loop) runs first and is not timed.
 *
 * Output: one CSV line (the columns --header prints):
 *   mode,size,iters,ns_per_alloc,cpu_ns_per_alloc,num_gc,peak_rss_kb,
 *   heap_sys,heap_inuse,meta_sys
 * num_gc counts collections during the timed loop (empty for malloc);
 * heap_sys, heap_inuse and meta_sys come from gc_get_stats() after the
 * timed loop (mgc modes only, empty otherwise).
 *
 * The benchmark reports; it never judges the numbers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* mgc (gc_*, MGC_*) and Boehm GC (GC_*) live side by side in one binary. */
#include "mgc.h"
#include <gc.h>

#define RING 1024 /* live objects; a power of two */
#define WARMUP_MAX 2000000

static void *ring[RING];

#define CSV_HEADER                                                                        \
    "mode,size,iters,ns_per_alloc,cpu_ns_per_alloc,num_gc,peak_rss_kb,heap_sys,heap_inuse," \
    "meta_sys"

static void die(const char *what, size_t size) {
    fprintf(stderr, "alloc_bench: %s(%zu) returned NULL\n", what, size);
    exit(2);
}

/*
 * One loop per allocator, each a separate non-inlined function calling the
 * allocator directly (no function pointer on the measured path).  `start`
 * continues the index sequence across warm-up and timed run so the ring
 * keeps rotating.
 */
#define GC_LOOP(name, ALLOC, WHAT)                                          \
    static __attribute__((noinline)) void name(size_t size, uint64_t start, \
                                               uint64_t n) {                \
        for (uint64_t i = start; i < start + n; i++) {                      \
            uintptr_t *p = (uintptr_t *)ALLOC(size);                        \
            if (__builtin_expect(p == NULL, 0)) die(WHAT, size);            \
            p[0] = (uintptr_t)i;                                            \
            ring[i & (RING - 1)] = p;                                       \
        }                                                                   \
    }

GC_LOOP(loop_mgc, gc_alloc, "gc_alloc")
GC_LOOP(loop_mgc_noscan, gc_alloc_noscan, "gc_alloc_noscan")
GC_LOOP(loop_boehm, GC_MALLOC, "GC_MALLOC")
GC_LOOP(loop_boehm_atomic, GC_MALLOC_ATOMIC, "GC_MALLOC_ATOMIC")

static __attribute__((noinline)) void loop_malloc(size_t size, uint64_t start, uint64_t n) {
    for (uint64_t i = start; i < start + n; i++) {
        uintptr_t *p = malloc(size);
        if (__builtin_expect(p == NULL, 0)) die("malloc", size);
        p[0] = (uintptr_t)i;
        size_t slot = i & (RING - 1);
        free(ring[slot]); /* free(NULL) while the ring fills */
        ring[slot] = p;
    }
}

static void free_ring(void) {
    for (size_t i = 0; i < RING; i++) {
        free(ring[i]);
        ring[i] = NULL;
    }
}

/* Which malloc this process runs with: each preloadable allocator exports a
 * symbol glibc does not have. */
static const char *malloc_impl(void) {
    if (dlsym(RTLD_DEFAULT, "mi_version")) return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
    if (dlsym(RTLD_DEFAULT, "tc_version")) return "tcmalloc";
    return "glibc";
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    /* Accept a k/M/G suffix for convenience: 20M, 500k. */
    if (end != s && *end) {
        if ((*end == 'k' || *end == 'K') && !end[1]) v *= 1000ull, end++;
        else if (*end == 'M' && !end[1]) v *= 1000000ull, end++;
        else if (*end == 'G' && !end[1]) v *= 1000000000ull, end++;
    }
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: alloc_bench mgc|mgc-noscan|boehm|boehm-atomic|malloc SIZE ITERS\n"
            "       alloc_bench --header\n");
    exit(1);
}

enum mode { M_MGC, M_MGC_NOSCAN, M_BOEHM, M_BOEHM_ATOMIC, M_MALLOC };

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--header") == 0) {
        puts(CSV_HEADER);
        return 0;
    }
    if (argc != 4) usage();

    enum mode mode;
    const char *m = argv[1];
    if (strcmp(m, "mgc") == 0) mode = M_MGC;
    else if (strcmp(m, "mgc-noscan") == 0) mode = M_MGC_NOSCAN;
    else if (strcmp(m, "boehm") == 0) mode = M_BOEHM;
    else if (strcmp(m, "boehm-atomic") == 0) mode = M_BOEHM_ATOMIC;
    else if (strcmp(m, "malloc") == 0) mode = M_MALLOC;
    else usage();

    uint64_t size64, iters;
    if (parse_u64(argv[2], &size64) || parse_u64(argv[3], &iters) || size64 < sizeof(uintptr_t) ||
        size64 > (1u << 20) || iters == 0) {
        fprintf(stderr, "alloc_bench: SIZE must be %zu..1048576 and ITERS > 0\n",
                sizeof(uintptr_t));
        return 1;
    }
    size_t size = (size_t)size64;
    uint64_t warm = iters / 10 < WARMUP_MAX ? iters / 10 : WARMUP_MAX;
    if (warm < 4 * RING) warm = 4 * RING;

    void (*loop)(size_t, uint64_t, uint64_t) = NULL;
    const char *label = m;
    switch (mode) {
    case M_MGC:
    case M_MGC_NOSCAN: {
        int rc = gc_init(NULL);
        if (rc != GC_OK) {
            fprintf(stderr, "alloc_bench: gc_init: %s\n", gc_strerror(rc));
            return 2;
        }
        gc_add_roots(ring, ring + RING);
        loop = mode == M_MGC ? loop_mgc : loop_mgc_noscan;
        break;
    }
    case M_BOEHM:
    case M_BOEHM_ATOMIC:
        GC_INIT();
        loop = mode == M_BOEHM ? loop_boehm : loop_boehm_atomic;
        break;
    case M_MALLOC:
        label = malloc_impl();
        loop = loop_malloc;
        break;
    }

    loop(size, 0, warm);

    uint64_t gc0 = 0;
    if (mode == M_MGC || mode == M_MGC_NOSCAN) {
        gc_stats st;
        gc_get_stats(&st);
        gc0 = st.num_gc;
    } else if (mode == M_BOEHM || mode == M_BOEHM_ATOMIC) {
        gc0 = GC_get_gc_no();
    }

    uint64_t c0 = cpu_ns(), t0 = now_ns();
    loop(size, warm, iters);
    uint64_t t1 = now_ns(), c1 = cpu_ns();

    char gcs[32] = "", extra[96] = ",,";
    if (mode == M_MGC || mode == M_MGC_NOSCAN) {
        gc_stats st;
        gc_get_stats(&st);
        snprintf(gcs, sizeof gcs, "%" PRIu64, st.num_gc - gc0);
        snprintf(extra, sizeof extra, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, st.heap_sys,
                 st.heap_inuse, st.meta_sys);
    } else if (mode == M_BOEHM || mode == M_BOEHM_ATOMIC) {
        snprintf(gcs, sizeof gcs, "%" PRIu64, (uint64_t)GC_get_gc_no() - gc0);
    } else {
        free_ring();
    }

    printf("%s,%zu,%" PRIu64 ",%.3f,%.3f,%s,%ld,%s\n", label, size, iters,
           (double)(t1 - t0) / (double)iters, (double)(c1 - c0) / (double)iters, gcs,
           peak_rss_kb(), extra);
    return 0;
}
