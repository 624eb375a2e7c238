/*
 * roots_bench.c -- the cost of registered root ranges.
 *
 *   roots_bench scale N...   for each N: N ranges of 32 bytes (the cells of
 *                            one malloc'd block, each holding a pointer to a
 *                            live object) added one by one, a gc_collect()
 *                            (median of 5), then removed one by one.  Prints
 *                            the milliseconds of each (issue 13, item 9: the
 *                            table was quadratic).
 *   roots_bench pause        the end-of-mark pause that plain-store ranges
 *                            add (gc/roots.c rescans them there): one range
 *                            of 0-16 MiB of pointers to live objects, and
 *                            0-100k ranges of 32 bytes, each added plain and
 *                            with GC_ROOTS_BARRIER (not rescanned); the
 *                            median of 15 collections' last pause, 0 for a
 *                            collection that stopped no thread (handshake
 *                            mode: only plain-store ranges need the stop).
 *
 * Wall-clock milliseconds on whatever the machine is doing: run it on a
 * quiet machine, or compare runs interleaved.  Built with the library of
 * any version (the pause mode needs GC_ROOTS_BARRIER).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgc.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return v[n / 2];
}

typedef struct cell {
    void *obj;
    void *pad[3];
} cell;

/* ** n 32-byte ranges: add, collect, remove; one line of milliseconds. */
static void scale(size_t n) {
    cell *cells = calloc(n, sizeof *cells);
    if (!cells) exit(1);
    for (size_t i = 0; i < n; i++) cells[i].obj = gc_alloc(16);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) gc_add_roots(&cells[i], &cells[i] + 1);
    uint64_t t_add = now_ns() - t0;
    uint64_t c[5];
    for (int k = 0; k < 5; k++) {
        t0 = now_ns();
        gc_collect();
        c[k] = now_ns() - t0;
    }
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) gc_remove_roots(&cells[i], &cells[i] + 1);
    uint64_t t_rm = now_ns() - t0;
    printf("%zu ranges: add %.2f ms, gc_collect %.2f ms (median of 5), remove %.2f ms\n", n,
           t_add / 1e6, median(c, 5) / 1e6, t_rm / 1e6);
    fflush(stdout);
    free(cells);
}

#ifdef GC_ROOTS_BARRIER
/* ** Median pause of 15 collections, a cycle without a pause counting 0:
 * in the handshake mode (the default) a cycle with no plain-store range
 * ends without stopping the world, so the last pause event would be an
 * earlier cycle's. */
static double pause_us(void) {
    uint64_t p[15];
    gc_stats st;
    gc_collect();
    for (int k = 0; k < 15; k++) {
        gc_get_stats(&st);
        uint64_t before = st.num_pauses;
        gc_collect();
        gc_get_stats(&st);
        p[k] = st.num_pauses > before ? st.last_pause_ns : 0;
    }
    return median(p, 15) / 1e3;
}

static void *live[1024];

/* ** One range of mib MiB of pointers to live objects, plain or barrier-only. */
static void big_range(size_t mib, unsigned flags) {
    size_t nw = mib * 1024 * 1024 / sizeof(void *);
    void **t = malloc((nw ? nw : 1) * sizeof *t);
    if (!t) exit(1);
    for (size_t i = 0; i < nw; i++) t[i] = live[i % 1024];
    if (nw) gc_add_roots_flags(t, t + nw, flags);
    printf("pause,one_range,%zu MiB,%s,%.1f us\n", mib, flags ? "barrier" : "plain", pause_us());
    fflush(stdout);
    if (nw) gc_remove_roots(t, t + nw);
    free(t);
}

/* ** n ranges of 32 bytes, plain or barrier-only. */
static void many_ranges(size_t n, unsigned flags) {
    cell *cells = calloc(n ? n : 1, sizeof *cells);
    if (!cells) exit(1);
    for (size_t i = 0; i < n; i++) {
        cells[i].obj = live[i % 1024];
        gc_add_roots_flags(&cells[i], &cells[i] + 1, flags);
    }
    printf("pause,ranges_32B,%zu,%s,%.1f us\n", n, flags ? "barrier" : "plain", pause_us());
    fflush(stdout);
    if (n) gc_remove_roots(cells, cells + n);
    free(cells);
}

static void pause_mode(void) {
    gc_add_roots_flags(live, live + 1024, GC_ROOTS_BARRIER);
    for (int i = 0; i < 1024; i++) gc_store(&live[i], gc_alloc(64));
    static const size_t mibs[] = {0, 1, 4, 16};
    for (int k = 0; k < 4; k++) {
        big_range(mibs[k], 0);
        big_range(mibs[k], GC_ROOTS_BARRIER);
    }
    static const size_t ns[] = {0, 1000, 10000, 100000};
    for (int k = 0; k < 4; k++) {
        many_ranges(ns[k], 0);
        many_ranges(ns[k], GC_ROOTS_BARRIER);
    }
}
#endif

int main(int argc, char **argv) {
    if (gc_init(NULL) != GC_OK) return 1;
    if (argc >= 3 && !strcmp(argv[1], "scale")) {
        for (int i = 2; i < argc; i++) scale((size_t)strtoull(argv[i], NULL, 10));
        return 0;
    }
#ifdef GC_ROOTS_BARRIER
    if (argc == 2 && !strcmp(argv[1], "pause")) {
        pause_mode();
        return 0;
    }
#endif
    fprintf(stderr, "usage: %s scale N... | pause\n", argv[0]);
    return 2;
}
