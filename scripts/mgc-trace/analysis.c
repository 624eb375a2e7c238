/*
 * analysis.c -- the model to statistics: the lane order of the threads,
 * pause counts, percentiles and histogram, time per kind of slice, heap
 * peaks, and minimum mutator utilisation, by gc/mmu.c (the library's own
 * code, so the tool and gc_mmu() agree), of two definitions of "busy":
 * STW pauses only, and pauses with assists and stack scans.
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

/* Busy intervals of the given kinds, merged, relative to nothing (ns). */
static size_t busy_intervals(const trace *t, unsigned kindmask, mgc_interval **out) {
    mgc_interval *iv = xrealloc(NULL, (t->ns + 1) * sizeof *iv);
    size_t n = 0;
    for (size_t i = 0; i < t->ns; i++)
        if (kindmask >> t->s[i].kind & 1 && t->s[i].dur > 0)
            iv[n++] = (mgc_interval){(uint64_t)(t->s[i].ts - t->t0), (uint64_t)t->s[i].dur};
    *out = iv;
    return mgc_mmu_merge(iv, n);
}

#define BIT(k) (1u << (k))
#define PAUSE_KINDS BIT(K_STW)
#define STOP_KINDS (BIT(K_STW) | BIT(K_ASSIST) | BIT(K_STACK))

const uint64_t mmu_windows_ms[N_MMU_WINDOWS] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

void analyse(trace *t, stats *st) {
    memset(st, 0, sizeof *st);
    if (t->ns) qsort(t->s, t->ns, sizeof *t->s, cmp_slice);
    if (t->nth) qsort(t->th, t->nth, sizeof *t->th, cmp_thread);
    st->pause = xrealloc(NULL, (t->ns + 1) * sizeof *st->pause);
    st->stop = xrealloc(NULL, (t->ns + 1) * sizeof *st->stop);
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
        }
    }
    st->pause_total = st->kind_total[K_STW];
    qsort(st->pause, st->npause, sizeof *st->pause, cmp_i64);
    qsort(st->stop, st->nstop, sizeof *st->stop, cmp_i64);
    for (size_t i = 0; i < t->nth; i++) {
        if (!t->th[i].used && !t->th[i].name) continue;
        st->nthreads++;
        st->ngroup[group_of(&t->th[i])]++;
    }
    st->nstw = busy_intervals(t, PAUSE_KINDS, &st->stw);
    st->nstop_all = busy_intervals(t, STOP_KINDS, &st->stop_all);
    uint64_t span = (uint64_t)(t->t1 - t->t0);
    for (size_t w = 0; w < N_MMU_WINDOWS; w++) {
        st->mmu_stw[w] = mgc_mmu(st->stw, st->nstw, 0, span, mmu_windows_ms[w] * 1000000);
        st->mmu_all[w] = mgc_mmu(st->stop_all, st->nstop_all, 0, span, mmu_windows_ms[w] * 1000000);
    }
    for (size_t i = 0; i < t->nh; i++) {
        if (t->h[i].live > st->peak_live) st->peak_live = t->h[i].live;
        if (t->h[i].sys > st->peak_sys) st->peak_sys = t->h[i].sys;
    }
}

