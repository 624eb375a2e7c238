/*
 * report.c -- the text summary on stdout: the run, the heap, the pauses
 * and the time to stop, the per-thread holds, GC CPU as a share of the
 * CPUs over the run, the MMU table (the program's, and the worst single
 * thread's), and the holds and MMU of each held thread.  Prints what
 * analysis.c computed and computes nothing.
 */
#include <stdio.h>

#include "mgc-trace.h"

const char *micro = "us";
const char *fmt_dur(char *buf, size_t n, double ns) {
    if (ns < 1e6) snprintf(buf, n, "%.1f %s", ns / 1e3, micro);
    else if (ns < 1e9) snprintf(buf, n, "%.3f ms", ns / 1e6);
    else snprintf(buf, n, "%.3f s", ns / 1e9);
    return buf;
}

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

static const char *window_label(size_t w) {
    static char win[32];
    if (mmu_windows_ms[w] < 1000) snprintf(win, sizeof win, "%llu ms", (unsigned long long)mmu_windows_ms[w]);
    else snprintf(win, sizeof win, "%llu s", (unsigned long long)(mmu_windows_ms[w] / 1000));
    return win;
}

static const char *thread_label(const thread *th) {
    static char buf[40];
    if (th->name) snprintf(buf, sizeof buf, "%s", th->name);
    else snprintf(buf, sizeof buf, "tid %lld", (long long)th->tid);
    return buf;
}

/* The MMU windows the per-thread table shows (indexes into mmu_windows_ms). */
static const size_t thread_windows[] = {0, 3, 6};
#define THREAD_ROWS 16

/* ** Each held thread, most held first (the first THREAD_ROWS). */
static void print_thread_holds(const stats *st) {
    if (!st->nheld) return;
    printf("holds per thread (most held first)\n");
    printf("  %-20s %7s %12s %12s %12s   MMU", "thread", "holds", "total", "max", "p99");
    for (size_t i = 0; i < sizeof thread_windows / sizeof *thread_windows; i++)
        printf(" %8s", window_label(thread_windows[i]));
    printf("\n");
    for (size_t i = 0; i < st->nheld && i < THREAD_ROWS; i++) {
        const thread_holds *h = &st->held[i];
        printf("  %-20s %7zu %12s %12s %12s      ", thread_label(h->th), h->n, DUR(h->total),
               DUR(h->max), DUR(h->p99));
        for (size_t w = 0; w < sizeof thread_windows / sizeof *thread_windows; w++)
            printf(" %8.3f", h->mmu[thread_windows[w]]);
        printf("\n");
    }
    if (st->nheld > THREAD_ROWS)
        printf("  ... and %zu more thread%s, held less\n", st->nheld - THREAD_ROWS,
               plural(st->nheld - THREAD_ROWS));
}

void print_report(const trace *t, const stats *st, const char *svg_path) {
    int ncpu = t->ncpu ? t->ncpu : 1;
    printf("mgc trace %s: mgc %s, %d CPU%s%s, %zu event%s\n", t->path,
           t->version[0] ? t->version : "(version unknown)", ncpu, plural((size_t)ncpu),
           t->ncpu ? "" : " (ncpu not in the trace, assumed)", t->events, plural(t->events));
    printf("run          %s, %zu GC cycle%s (%zu forced), %zu thread%s (%zu coordinator, %zu mark "
           "worker%s, %zu mutator%s, %zu other)\n",
           DUR(run_ns(t)), st->ncycles, plural(st->ncycles), st->nforced, st->nthreads,
           plural(st->nthreads), st->ngroup[G_COORD], st->ngroup[G_WORKER],
           plural(st->ngroup[G_WORKER]), st->ngroup[G_MUTATOR], plural(st->ngroup[G_MUTATOR]),
           st->ngroup[G_OTHER]);
    if (t->nh)
        printf("heap         peak live %.1f MB, peak from the OS %.1f MB (%zu samples)\n",
               st->peak_live, st->peak_sys, t->nh);

    double run = run_ns(t);
    printf("STW pauses   %zu (%zu mark setup, %zu mark termination), total %s", st->npause,
           st->npause_setup, st->npause - st->npause_setup, DUR(st->pause_total));
    if (run > 0) printf(" = %.2f%% of the run", 100.0 * (double)st->pause_total / run);
    printf("\n");
    if (st->npause) {
        printf("  duration   p50 %s   p90 %s   p99 %s   max %s\n",
               DUR(percentile(st->pause, st->npause, 500)),
               DUR(percentile(st->pause, st->npause, 900)),
               DUR(percentile(st->pause, st->npause, 990)), DUR(st->pause[st->npause - 1]));
    }
    if (st->nstop)
        printf("  time to stop the world   p50 %s   max %s\n",
               DUR(percentile(st->stop, st->nstop, 500)), DUR(st->stop[st->nstop - 1]));

    const int64_t *k = st->kind_total;
    int64_t held = k[K_STACK] + k[K_HANDSHAKE];
    printf("holds        %zu (%zu stack scans, %zu handshakes), one thread held while the others "
           "run, total %s over %zu thread%s\n",
           st->nhold, st->nhold_kind[0], st->nhold_kind[1], DUR(held), st->nheld, plural(st->nheld));
    if (st->nhold) {
        printf("  duration   p50 %s   p90 %s   p99 %s   max %s\n",
               DUR(percentile(st->hold, st->nhold, 500)), DUR(percentile(st->hold, st->nhold, 900)),
               DUR(percentile(st->hold, st->nhold, 990)), DUR(st->hold[st->nhold - 1]));
        printf("  most held  %s, %s = %.2f%% of the run\n", thread_label(st->held[0].th),
               DUR(st->held[0].total), run > 0 ? 100.0 * (double)st->held[0].total / run : 0.0);
    }

    int64_t busy = k[K_STW] + k[K_WORKER] + k[K_ASSIST] + held;
    double cap = run * ncpu;
    if (cap > 0) {
        printf("GC CPU       %.2f%% of %d CPU%s x the run, %.2f%% without the background sweep\n",
               100.0 * (double)(busy + k[K_SWEEP]) / cap, ncpu, plural((size_t)ncpu),
               100.0 * (double)busy / cap);
        printf("  counts     STW pauses %s (once, the coordinator's time) + mark workers %s + "
               "assists %s + stack scans %s + sweep phase %s",
               DUR(k[K_STW]), DUR(k[K_WORKER]), DUR(k[K_ASSIST]), DUR(k[K_STACK]),
               DUR(k[K_SWEEP]));
        if (k[K_HANDSHAKE]) printf(" + handshakes %s", DUR(k[K_HANDSHAKE]));
        printf("\n");
    }

    printf("MMU          window   STW only   STW+assists+holds   worst thread\n");
    for (size_t w = 0; w < N_MMU_WINDOWS; w++)
        printf("  %15s   %8.3f   %8.3f            %8.3f\n", window_label(w), st->mmu_stw[w],
               st->mmu_all[w], st->mmu_thread_min[w]);
    printf("  (the second column treats every assist and hold as if it stopped the whole\n"
           "   program; with several mutator threads the real utilisation is higher.  A\n"
           "   thread's MMU counts the STW pauses and its own holds: the third column is\n"
           "   the lowest of any thread's)\n");
    print_thread_holds(st);
    if (svg_path) printf("picture      %s\n", svg_path);
}
