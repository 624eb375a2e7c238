/*
 * mmu.h -- minimum mutator utilisation and pause-histogram buckets.
 *
 * Pure computation over lists of "the collector was busy" intervals, shared
 * by the library, the trace analyzer (scripts/mgc-trace/) and the
 * benchmarks (bench/bench_util.h); it depends on nothing else in mgc, so
 * those compile it in without the collector.  Times are nanoseconds.  An interval is the half-open
 * [start, start + dur).  mgc_mmu() requires its input sorted by start and
 * disjoint, which is exactly what mgc_mmu_merge() leaves behind.
 */
#ifndef MGC_MMU_H
#define MGC_MMU_H

#include <stddef.h>
#include <stdint.h>

#define MGC_MMU_HIDDEN __attribute__((visibility("hidden")))

typedef struct mgc_interval {
    uint64_t start, dur;
} mgc_interval;

/* Sort by start, drop empty intervals, join overlapping and touching ones,
 * in place.  Returns the new count. */
MGC_MMU_HIDDEN size_t mgc_mmu_merge(mgc_interval *iv, size_t n);

/* Minimum over every window [x, x + window) inside [t0, t1) of the share of
 * the window not covered by `merged`; a window of at least t1 - t0 is the
 * whole run.  1.0 for an empty list or an empty run. */
MGC_MMU_HIDDEN double mgc_mmu(const mgc_interval *merged, size_t n, uint64_t t0, uint64_t t1,
                              uint64_t window);

/* Log-scale histogram buckets: bounds 1, 2, 5, 10, 20, 50 ... us up to 10 s.
 * Bucket 0 holds [0, 1 us), bucket k (1 <= k < MGC_HIST_NBUCKETS - 1) holds
 * [bound(k-1), bound(k)), and the last bucket everything from 10 s on. */
#define MGC_HIST_NBOUNDS 22
#define MGC_HIST_NBUCKETS (MGC_HIST_NBOUNDS + 1)
MGC_MMU_HIDDEN unsigned mgc_hist_bucket(uint64_t ns);
/* The upper bound of bucket k in ns (UINT64_MAX for the last bucket). */
MGC_MMU_HIDDEN uint64_t mgc_hist_bound(unsigned k);

#endif
