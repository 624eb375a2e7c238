/*
 * test_mmu.c -- minimum mutator utilisation and the histogram buckets.
 *
 * The expected values are worked out by hand in the comments; the random
 * test checks the exact algorithm against a brute-force sliding window over
 * a 1 us grid, which can only under-estimate the worst window, and by at
 * most two grid steps' worth of busy time.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gc/mmu.h"

#define MS ((uint64_t)1000000)
#define US ((uint64_t)1000)

static void assert_near(double got, double want, const char *what) {
    cr_assert(fabs(got - want) < 1e-9, "%s: got %.12f, want %.12f", what, got, want);
}

Test(mmu, single_pause) {
    /* A 100 ms run with one 10 ms pause at 40..50 ms.  A window of 10 ms or
     * less fits inside the pause: 0.  A 20 ms window holds at most the
     * whole pause: 10/20 busy, 0.5.  50 ms: 1 - 10/50 = 0.8.  100 ms and
     * anything longer is the whole run: 1 - 10/100 = 0.9. */
    mgc_interval iv[] = {{40 * MS, 10 * MS}};
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 5 * MS), 0.0, "5ms");
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 10 * MS), 0.0, "10ms");
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 20 * MS), 0.5, "20ms");
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 50 * MS), 0.8, "50ms");
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 100 * MS), 0.9, "100ms");
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 1000 * MS), 0.9, "window > run");
}

Test(mmu, two_pauses) {
    /* Pauses at 10..20 and 30..40 ms in a 100 ms run.
     * 25 ms: [10,35) holds 10 + 5 = 15 ms (any start in 10..15 does), 0.4.
     * 30 ms: [10,40) holds both, 20 ms: 1/3.
     * 50 ms: still both, 20 ms: 0.6. */
    mgc_interval iv[] = {{10 * MS, 10 * MS}, {30 * MS, 10 * MS}};
    assert_near(mgc_mmu(iv, 2, 0, 100 * MS, 25 * MS), 0.4, "25ms");
    assert_near(mgc_mmu(iv, 2, 0, 100 * MS, 30 * MS), 1.0 / 3.0, "30ms");
    assert_near(mgc_mmu(iv, 2, 0, 100 * MS, 50 * MS), 0.6, "50ms");
}

Test(mmu, pauses_at_and_across_run_edges) {
    /* A pause at 0..10 ms of a 100 ms run: the worst 20 ms window starts at
     * t0 and is half busy. */
    mgc_interval a[] = {{0, 10 * MS}};
    assert_near(mgc_mmu(a, 1, 0, 100 * MS, 20 * MS), 0.5, "at t0");
    /* A pause at 90..100 ms: the worst 20 ms window ends at t1. */
    mgc_interval b[] = {{90 * MS, 10 * MS}};
    assert_near(mgc_mmu(b, 1, 0, 100 * MS, 20 * MS), 0.5, "at t1");
    /* A pause at 40..60 ms of a run [50, 150) ms: only 50..60 is inside.
     * 10 ms window at 50: all busy, 0.  Whole run: 1 - 10/100 = 0.9. */
    mgc_interval c[] = {{40 * MS, 20 * MS}};
    assert_near(mgc_mmu(c, 1, 50 * MS, 150 * MS, 10 * MS), 0.0, "across t0, 10ms");
    assert_near(mgc_mmu(c, 1, 50 * MS, 150 * MS, 40 * MS), 0.75, "across t0, 40ms");
    assert_near(mgc_mmu(c, 1, 50 * MS, 150 * MS, 100 * MS), 0.9, "across t0, run");
    /* A pause at 95..110 ms of a run [0, 100) ms: windows may not reach
     * past t1, so the worst 20 ms window is [80, 100), 5 ms busy: 0.75;
     * one at 100..120 ms is not in the run at all. */
    mgc_interval d[] = {{95 * MS, 15 * MS}};
    assert_near(mgc_mmu(d, 1, 0, 100 * MS, 20 * MS), 0.75, "across t1");
    mgc_interval e[] = {{100 * MS, 20 * MS}};
    assert_near(mgc_mmu(e, 1, 0, 100 * MS, 20 * MS), 1.0, "after t1");
}

Test(mmu, empty_and_degenerate) {
    mgc_interval iv[] = {{10 * MS, 10 * MS}};
    assert_near(mgc_mmu(NULL, 0, 0, 100 * MS, 10 * MS), 1.0, "no pauses");
    assert_near(mgc_mmu(iv, 1, 100 * MS, 100 * MS, 10 * MS), 1.0, "empty run");
    /* The limit w -> 0 is 0 as soon as one busy instant is in the run. */
    assert_near(mgc_mmu(iv, 1, 0, 100 * MS, 0), 0.0, "zero window");
    assert_near(mgc_mmu(iv, 1, 50 * MS, 100 * MS, 0), 1.0, "zero window, pause outside");
}

Test(mmu, merge_sorts_and_joins) {
    /* Unsorted, overlapping, touching and empty intervals (in ms):
     *   30..40, 10..20, 15..25, 35..38 (inside 30..40), 25..26 (touches
     *   15..25), 50..50 (empty), 60..61
     * merge to 10..26, 30..40, 60..61. */
    mgc_interval iv[] = {{30 * MS, 10 * MS}, {10 * MS, 10 * MS}, {15 * MS, 10 * MS},
                         {35 * MS, 3 * MS},  {25 * MS, 1 * MS},  {50 * MS, 0},
                         {60 * MS, 1 * MS}};
    size_t n = mgc_mmu_merge(iv, sizeof iv / sizeof iv[0]);
    cr_assert_eq(n, 3);
    cr_assert_eq(iv[0].start, 10 * MS);
    cr_assert_eq(iv[0].dur, 16 * MS);
    cr_assert_eq(iv[1].start, 30 * MS);
    cr_assert_eq(iv[1].dur, 10 * MS);
    cr_assert_eq(iv[2].start, 60 * MS);
    cr_assert_eq(iv[2].dur, 1 * MS);
    /* 20 ms: [10,30) holds all of 10..26, 16 ms: 1 - 16/20 = 0.2.
     * Whole 100 ms run: 16 + 10 + 1 = 27 ms busy, 0.73. */
    assert_near(mgc_mmu(iv, n, 0, 100 * MS, 20 * MS), 0.2, "merged 20ms");
    assert_near(mgc_mmu(iv, n, 0, 100 * MS, 100 * MS), 0.73, "merged run");
    cr_assert_eq(mgc_mmu_merge(iv, 0), 0);
}

/* A fixed xorshift generator: the same "random" lists on every run. */
static uint64_t rng_state;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Busy ns inside each 1 us cell of [0, ncells us), from disjoint intervals
 * (the merge is checked on its own above). */
static void cells_from(const mgc_interval *iv, size_t n, uint64_t *cells, size_t ncells) {
    for (size_t c = 0; c < ncells; c++) cells[c] = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t s = iv[k].start, e = iv[k].start + iv[k].dur;
        for (uint64_t c = s / US; c < ncells && c * US < e; c++) {
            uint64_t lo = c * US > s ? c * US : s, hi = (c + 1) * US < e ? (c + 1) * US : e;
            cells[c] += hi - lo;
        }
    }
}

Test(mmu, matches_brute_force_on_random_lists) {
    enum { RUN_US = 200000, N = 120 };
    uint64_t *cells = malloc(RUN_US * sizeof *cells);
    uint64_t *pre = malloc((RUN_US + 1) * sizeof *pre);
    cr_assert(cells && pre);
    const uint64_t windows_us[] = {50, 300, 1000, 2500, 10000, 50000, 150000, 200000};
    for (uint64_t seed = 1; seed <= 4; seed++) {
        rng_state = 0x9E3779B97F4A7C15u * seed;
        mgc_interval iv[N];
        for (size_t k = 0; k < N; k++) {
            /* ns-resolution edges, lengths up to 3 ms so some overlap. */
            iv[k].start = rng() % (RUN_US * US);
            iv[k].dur = rng() % (3 * MS);
            if (iv[k].start + iv[k].dur > RUN_US * US) iv[k].dur = RUN_US * US - iv[k].start;
        }
        size_t n = mgc_mmu_merge(iv, N);
        for (size_t k = 1; k < n; k++)
            cr_assert(iv[k - 1].start + iv[k - 1].dur < iv[k].start, "merge left overlap");
        cells_from(iv, n, cells, RUN_US);
        pre[0] = 0;
        for (size_t c = 0; c < RUN_US; c++) pre[c + 1] = pre[c] + cells[c];
        for (size_t wi = 0; wi < sizeof windows_us / sizeof windows_us[0]; wi++) {
            uint64_t w = windows_us[wi];
            uint64_t worst = 0;
            for (uint64_t x = 0; x + w <= RUN_US; x++)
                if (pre[x + w] - pre[x] > worst) worst = pre[x + w] - pre[x];
            double brute = 1.0 - (double)worst / (double)(w * US);
            double exact = mgc_mmu(iv, n, 0, RUN_US * US, w * US);
            /* The grid only tries some windows, so it never finds a worse
             * one than the exact minimum; moving a window by under 1 us
             * changes its busy time by under 2 us. */
            cr_assert(exact <= brute + 1e-12, "seed %lu w %lu us: exact %.9f > brute %.9f",
                      (unsigned long)seed, (unsigned long)w, exact, brute);
            cr_assert(brute - exact <= 2.0 / (double)w + 1e-12,
                      "seed %lu w %lu us: exact %.9f, brute %.9f", (unsigned long)seed,
                      (unsigned long)w, exact, brute);
        }
    }
    free(cells);
    free(pre);
}

Test(mmu, histogram_buckets) {
    /* Bounds: 1, 2, 5, 10, 20, 50 us ... 1, 2, 5, 10 s. */
    cr_assert_eq(mgc_hist_bound(0), 1 * US);
    cr_assert_eq(mgc_hist_bound(1), 2 * US);
    cr_assert_eq(mgc_hist_bound(2), 5 * US);
    cr_assert_eq(mgc_hist_bound(3), 10 * US);
    cr_assert_eq(mgc_hist_bound(9), 1 * MS);
    cr_assert_eq(mgc_hist_bound(MGC_HIST_NBOUNDS - 1), 10000 * MS);
    cr_assert_eq(mgc_hist_bound(MGC_HIST_NBOUNDS), UINT64_MAX);
    cr_assert_eq(mgc_hist_bucket(0), 0);
    cr_assert_eq(mgc_hist_bucket(999), 0);
    cr_assert_eq(mgc_hist_bucket(1 * US), 1);
    cr_assert_eq(mgc_hist_bucket(2 * US - 1), 1);
    cr_assert_eq(mgc_hist_bucket(2 * US), 2);
    cr_assert_eq(mgc_hist_bucket(700 * US), 9); /* [500 us, 1 ms) */
    cr_assert_eq(mgc_hist_bucket(10000 * MS), MGC_HIST_NBUCKETS - 1);
    cr_assert_eq(mgc_hist_bucket(UINT64_MAX), MGC_HIST_NBUCKETS - 1);
}
