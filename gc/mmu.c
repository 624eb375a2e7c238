/*
 * mmu.c -- minimum mutator utilisation (Cheng & Blelloch) over busy intervals.
 *
 * The program is "busy" (not running its own code) during the collector's
 * intervals.  For a window length w, MMU(w) is the worst share of any
 * window [x, x + w) inside the run [t0, t1) left to the program:
 *     MMU(w) = min over x in [t0, t1 - w] of 1 - B(x) / w,
 *     B(x)   = C(x + w) - C(x),   C(t) = busy time before t.
 *
 * Exact algorithm.  B is continuous and piecewise linear in x, with slope
 * busy(x + w) - busy(x).  The slope only decreases where busy(x) turns on
 * (x = an interval's start) or busy(x + w) turns off (x + w = an interval's
 * end), so the maximum of B on [t0, t1 - w] is at one of those x, clamped
 * into the range, or at a range end.  Both candidate sequences, the starts
 * s_i and the ends minus w e_i - w, are already ascending once the
 * intervals are sorted and disjoint, so they are walked as one merged
 * ascending sequence (the starts alone would do, since a maximum at some
 * e_i - w lies on a plateau that reaches the next start or the range end,
 * but walking both is as cheap and needs no such argument); C(x) and
 * C(x + w) are then evaluated by two cursors that only move forward.
 * O(n) after the O(n log n) sort in mgc_mmu_merge.
 *
 * Invariants: mgc_mmu's input is sorted by start, disjoint, non-empty
 * intervals; the cursor's `pre` is the total length of the intervals
 * before index j, all of which end at or before the last t it was asked.
 *
 * The histogram buckets live here too because the library's pause
 * statistics and the analyzer must agree on them.
 */
#include "gc/mmu.h"

#include <stdlib.h>

static uint64_t end_of(const mgc_interval *v) {
    /* Saturate rather than wrap: a wrapped end would sort as tiny. */
    return v->start + v->dur < v->start ? UINT64_MAX : v->start + v->dur;
}

static int cmp_start(const void *a, const void *b) {
    const mgc_interval *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->dur > y->dur) - (x->dur < y->dur);
}

size_t mgc_mmu_merge(mgc_interval *iv, size_t n) {
    if (n == 0) return 0;
    qsort(iv, n, sizeof *iv, cmp_start);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (iv[k].dur == 0) continue;
        if (m > 0 && iv[k].start <= end_of(&iv[m - 1])) {
            uint64_t e = end_of(&iv[k]);
            if (e > end_of(&iv[m - 1])) iv[m - 1].dur = e - iv[m - 1].start;
        } else {
            iv[m++] = iv[k];
        }
    }
    return m;
}

/* ** Busy time before t, for t that never decreases between calls. */
typedef struct {
    const mgc_interval *iv;
    size_t n, j;
    uint64_t pre;
} busy_cursor;

static uint64_t busy_before(busy_cursor *c, uint64_t t) {
    while (c->j < c->n && end_of(&c->iv[c->j]) <= t) c->pre += c->iv[c->j++].dur;
    if (c->j < c->n && c->iv[c->j].start < t) return c->pre + (t - c->iv[c->j].start);
    return c->pre;
}

double mgc_mmu(const mgc_interval *merged, size_t n, uint64_t t0, uint64_t t1, uint64_t window) {
    if (t1 <= t0 || n == 0) return 1.0;
    uint64_t w = window < t1 - t0 ? window : t1 - t0;
    uint64_t last = t1 - w; /* the latest window start */
    if (w == 0) {
        /* The limit of MMU(w) as w -> 0: nothing, if any busy instant
         * falls inside the run. */
        for (size_t k = 0; k < n; k++)
            if (merged[k].start < t1 && end_of(&merged[k]) > t0) return 0.0;
        return 1.0;
    }
    busy_cursor lo = {merged, n, 0, 0}, hi = {merged, n, 0, 0};
    uint64_t worst = 0;
    size_t a = 0, b = 0; /* next start-candidate, next end-candidate */
    /* t0 and `last` are candidates too: walk t0 first, then the merged
     * sequence, then `last` once both lists are exhausted. */
    uint64_t x = t0;
    for (;;) {
        uint64_t busy = busy_before(&hi, x + w) - busy_before(&lo, x);
        if (busy > worst) worst = busy;
        if (x == last || worst == w) break;
        uint64_t cs = a < n ? merged[a].start : UINT64_MAX;
        uint64_t ce = UINT64_MAX;
        if (b < n) {
            uint64_t e = end_of(&merged[b]);
            ce = e > w ? e - w : 0;
        }
        uint64_t next = cs < ce ? cs : ce;
        if (cs <= ce) a++;
        else b++;
        /* Clamping keeps the sequence ascending, so the cursors stay valid. */
        if (next < x) next = x;
        if (next > last) next = last;
        x = next;
    }
    return 1.0 - (double)worst / (double)w;
}

/* 1-2-5 per decade from 1 us up to 10 s. */
uint64_t mgc_hist_bound(unsigned k) {
    if (k >= MGC_HIST_NBOUNDS) return UINT64_MAX;
    static const uint64_t mant[3] = {1, 2, 5};
    uint64_t b = 1000 * mant[k % 3];
    for (unsigned d = 0; d < k / 3; d++) b *= 10;
    return b;
}

unsigned mgc_hist_bucket(uint64_t ns) {
    unsigned k = 0;
    while (k < MGC_HIST_NBOUNDS && ns >= mgc_hist_bound(k)) k++;
    return k;
}
