/*
 * analysis.c -- the model to statistics: the lane order of the threads,
 * pause counts, percentiles and histogram, time per kind of slice, heap
 * peaks, holds per thread, and minimum mutator utilisation, by gc/mmu.c
 * (the library's own code, so the tool and gc_mmu() agree), of three
 * definitions of "busy": STW pauses only; pauses with every assist and hold
 * (as if each stopped the whole program); and, per thread, pauses with that
 * thread's own holds (what the thread itself felt; gc_mmu's GC_MMU_SELF).
 */
#include <stdlib.h>
#include <string.h>

#include "mgc-trace.h"

static enum group group_of(const thread *th) {
    if (!th->name) return G_OTHER;
    if (!strcmp(th->name, "mgc-gc")) return G_COORD;
    if (!strncmp(th->name, "mgc-mark", 8)) return G_WORKER;
    if (!strncmp(th->name, "mutator", 7)) return G_MUTATOR;
    return G_OTHER;
}

/* The number in "mgc-mark 3" / "mutator 12", for a natural lane order. */
static long name_number(const char *s) {
    if (!s) return -1;
    while (*s && (*s < '0' || *s > '9')) s++;
    return *s ? strtol(s, NULL, 10) : -1;
}

static int cmp_thread(const void *a, const void *b) {
    const thread *x = a, *y = b;
    enum group gx = group_of(x), gy = group_of(y);
    if (gx != gy) return gx < gy ? -1 : 1;
    long nx = name_number(x->name), ny = name_number(y->name);
    if (nx != ny) return nx < ny ? -1 : 1;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_slice(const void *a, const void *b) {
    const slice *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->dur < y->dur) - (x->dur > y->dur);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (the smallest value with at least p per mille
 * of the values at or below it), in integers so p50 of 10 is the 5th. */
int64_t percentile(const int64_t *sorted, size_t n, unsigned permille) {
    if (n == 0) return 0;
    size_t r = (permille * n + 999) / 1000;
    return sorted[r < 1 ? 0 : r - 1];
}

#define BIT(k) (1u << (k))
#define PAUSE_KINDS BIT(K_STW)
#define HOLD_KINDS (BIT(K_STACK) | BIT(K_HANDSHAKE))
#define STOP_KINDS (BIT(K_STW) | BIT(K_ASSIST) | HOLD_KINDS)

/* Busy intervals of the given kinds, merged, relative to t0 (ns); unless
 * own_tid is ANY_TID the hold kinds count only on that thread's lane. */
#define ANY_TID INT64_MAX
static size_t busy_intervals(const trace *t, unsigned kindmask, int64_t own_tid, mgc_interval **out) {
    mgc_interval *iv = xrealloc(NULL, (t->ns + 1) * sizeof *iv);
    size_t n = 0;
    for (size_t i = 0; i < t->ns; i++) {
        const slice *s = &t->s[i];
        if (!(kindmask >> s->kind & 1) || s->dur <= 0) continue;
        if (own_tid != ANY_TID && HOLD_KINDS >> s->kind & 1 && s->tid != own_tid) continue;
        iv[n++] = (mgc_interval){(uint64_t)(s->ts - t->t0), (uint64_t)s->dur};
    }
    *out = iv;
    return mgc_mmu_merge(iv, n);
}

static void mmu_table(const mgc_interval *iv, size_t n, uint64_t span, double *out) {
    for (size_t w = 0; w < N_MMU_WINDOWS; w++) out[w] = mgc_mmu(iv, n, 0, span, mmu_windows_ms[w] * 1000000);
}

static int cmp_held(const void *a, const void *b) {
    const thread_holds *x = a, *y = b;
    if (x->total != y->total) return x->total > y->total ? -1 : 1;
    return (x->th->tid > y->th->tid) - (x->th->tid < y->th->tid);
}

/* ** Every held thread's count, total, max, p99 and MMU (STW pauses and
 * its own holds), most held first; the worst thread's MMU per window. */
static void per_thread_holds(const trace *t, stats *st) {
    uint64_t span = (uint64_t)(t->t1 - t->t0);
    st->held = xrealloc(NULL, (t->nth + 1) * sizeof *st->held);
    int64_t *d = xrealloc(NULL, (t->ns + 1) * sizeof *d);
    memcpy(st->mmu_thread_min, st->mmu_stw, sizeof st->mmu_thread_min);
    for (size_t i = 0; i < t->nth; i++) {
        size_t n = 0;
        for (size_t j = 0; j < t->ns; j++)
            if (HOLD_KINDS >> t->s[j].kind & 1 && t->s[j].tid == t->th[i].tid) d[n++] = t->s[j].dur;
        if (!n) continue;
        qsort(d, n, sizeof *d, cmp_i64);
        thread_holds *h = &st->held[st->nheld++];
        memset(h, 0, sizeof *h);
        h->th = &t->th[i];
        h->n = n;
        for (size_t j = 0; j < n; j++) h->total += d[j];
        h->max = d[n - 1];
        h->p99 = percentile(d, n, 990);
        mgc_interval *iv;
        size_t niv = busy_intervals(t, BIT(K_STW) | HOLD_KINDS, t->th[i].tid, &iv);
        mmu_table(iv, niv, span, h->mmu);
        free(iv);
        for (size_t w = 0; w < N_MMU_WINDOWS; w++)
            if (h->mmu[w] < st->mmu_thread_min[w]) st->mmu_thread_min[w] = h->mmu[w];
    }
    free(d);
    qsort(st->held, st->nheld, sizeof *st->held, cmp_held);
    st->nheld0 = busy_intervals(t, BIT(K_STW) | HOLD_KINDS, st->nheld ? st->held[0].th->tid : INT64_MIN,
                                &st->held0);
}


const uint64_t mmu_windows_ms[N_MMU_WINDOWS] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

void analyse(trace *t, stats *st) {
    memset(st, 0, sizeof *st);
    if (t->ns) qsort(t->s, t->ns, sizeof *t->s, cmp_slice);
    if (t->nth) qsort(t->th, t->nth, sizeof *t->th, cmp_thread);
    st->pause = xrealloc(NULL, (t->ns + 1) * sizeof *st->pause);
    st->stop = xrealloc(NULL, (t->ns + 1) * sizeof *st->stop);
    st->hold = xrealloc(NULL, (t->ns + 1) * sizeof *st->hold);
    for (size_t i = 0; i < t->ns; i++) {
        const slice *s = &t->s[i];
        st->kind_total[s->kind] += s->dur;
        if (s->kind == K_CYCLE) {
            st->ncycles++;
            st->nforced += s->forced;
        } else if (s->kind == K_STW) {
            st->pause[st->npause++] = s->dur;
            st->npause_setup += s->setup;
            st->hist[mgc_hist_bucket((uint64_t)s->dur)][!s->setup]++;
            if (s->stop_ns >= 0) st->stop[st->nstop++] = s->stop_ns;
        } else if (HOLD_KINDS >> s->kind & 1) {
            st->hold[st->nhold++] = s->dur;
            st->nhold_kind[s->kind == K_HANDSHAKE]++;
        }
    }
    qsort(st->hold, st->nhold, sizeof *st->hold, cmp_i64);
    st->pause_total = st->kind_total[K_STW];
    qsort(st->pause, st->npause, sizeof *st->pause, cmp_i64);
    qsort(st->stop, st->nstop, sizeof *st->stop, cmp_i64);
    for (size_t i = 0; i < t->nth; i++) {
        if (!t->th[i].used && !t->th[i].name) continue;
        st->nthreads++;
        st->ngroup[group_of(&t->th[i])]++;
    }
    st->nstw = busy_intervals(t, PAUSE_KINDS, ANY_TID, &st->stw);
    st->nstop_all = busy_intervals(t, STOP_KINDS, ANY_TID, &st->stop_all);
    uint64_t span = (uint64_t)(t->t1 - t->t0);
    mmu_table(st->stw, st->nstw, span, st->mmu_stw);
    mmu_table(st->stop_all, st->nstop_all, span, st->mmu_all);
    per_thread_holds(t, st);
    for (size_t i = 0; i < t->nh; i++) {
        if (t->h[i].live > st->peak_live) st->peak_live = t->h[i].live;
        if (t->h[i].sys > st->peak_sys) st->peak_sys = t->h[i].sys;
    }
}


void free_stats(stats *st) {
    free(st->pause);
    free(st->stop);
    free(st->stw);
    free(st->stop_all);
    free(st->hold);
    free(st->held);
    free(st->held0);
}
