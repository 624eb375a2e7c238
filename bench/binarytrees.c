/*
 * binarytrees.c -- the Benchmarks Game binary-trees program, on mgc, on
 * Boehm GC, and on malloc/free (whichever malloc LD_PRELOAD selects).
 *
 *   binarytrees mgc|boehm|malloc [DEPTH]       (default depth 21)
 *
 * The program (as in ../shared/design/anchors.md): a stretch tree of depth
 * DEPTH+1, a long-lived tree of depth DEPTH, then 2^(DEPTH-d+4) trees of
 * each depth d = 4, 6, ..., DEPTH, each built bottom-up and checked.
 * Single-threaded.  mgc stores child pointers with gc_store, as the API
 * requires.
 *
 * Prints one CSV line:
 *   mode,depth,wall_s,cpu_s,peak_rss_kb,num_gc,pauses,p50_us,p99_us,max_us,
 *   mmu_1ms,mmu_10ms,mmu_100ms,check
 * Pauses are stop-the-world pauses (mgc: gc_get_events PAUSE; Boehm: each
 * collection, start to end, through GC_set_on_collection_event).  MMU
 * counts every interval in which the program's thread could not run: for
 * mgc the pauses, the stops of this thread to scan its stack and its mark
 * assists; for Boehm its collections.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mgc.h"
#include <gc.h>

typedef struct node {
    struct node *left, *right;
} node;

enum { MGC, BOEHM, MALLOC };
static int mode;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static node *make(int d) {
    node *n;
    switch (mode) {
    case MGC:
        n = gc_alloc(sizeof *n);
        if (d > 0) {
            gc_store(&n->left, make(d - 1));
            gc_store(&n->right, make(d - 1));
        }
        return n;
    case BOEHM:
        n = GC_MALLOC(sizeof *n);
        if (d > 0) {
            n->left = make(d - 1);
            n->right = make(d - 1);
        }
        return n;
    default:
        n = malloc(sizeof *n);
        n->left = d > 0 ? make(d - 1) : NULL;
        n->right = d > 0 ? make(d - 1) : NULL;
        return n;
    }
}

static long check(const node *n) { return 1 + (n->left ? check(n->left) + check(n->right) : 0); }

static void release(node *n) {
    if (mode != MALLOC) return;
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

/* ---- pause intervals ----------------------------------------------------- */

typedef struct interval { uint64_t start, end; } interval;
static interval *busy;   /* intervals the program could not run */
static size_t nbusy, capbusy;
static uint64_t *pauses; /* stop-the-world durations */
static size_t npauses, cappauses;
static uint64_t boehm_start;

static void add_busy(uint64_t s, uint64_t e) {
    if (nbusy == capbusy) {
        capbusy = capbusy ? capbusy * 2 : 1024;
        busy = realloc(busy, capbusy * sizeof *busy);
    }
    busy[nbusy++] = (interval){s, e};
}
static void add_pause(uint64_t d) {
    if (npauses == cappauses) {
        cappauses = cappauses ? cappauses * 2 : 1024;
        pauses = realloc(pauses, cappauses * sizeof *pauses);
    }
    pauses[npauses++] = d;
}

static void boehm_event(GC_EventType e) {
    if (e == GC_EVENT_START) boehm_start = now_ns();
    if (e == GC_EVENT_END) {
        uint64_t t = now_ns();
        add_busy(boehm_start, t);
        add_pause(t - boehm_start);
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static int cmp_iv(const void *a, const void *b) {
    const interval *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Busy time inside [a, b), from merged sorted intervals and prefix sums. */
static uint64_t busy_in(const interval *iv, const uint64_t *pre, size_t n, uint64_t a, uint64_t b) {
    /* first interval ending after a */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (iv[m].end <= a) lo = m + 1;
        else hi = m;
    }
    size_t i = lo;
    /* first interval starting at or after b */
    lo = i, hi = n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (iv[m].start < b) lo = m + 1;
        else hi = m;
    }
    size_t j = lo; /* intervals i..j-1 overlap [a, b) */
    if (j <= i) return 0;
    uint64_t total = pre[j] - pre[i];
    if (iv[i].start < a) total -= a - iv[i].start;
    if (iv[j - 1].end > b) total -= iv[j - 1].end - b;
    return total;
}

/* ** Minimum mutator utilisation for window w over [t0, t1]: the worst
 * window starts at an interval's start or ends at an interval's end. */
static double mmu(interval *iv, size_t n, uint64_t t0, uint64_t t1, uint64_t w) {
    if (t1 - t0 < w) w = t1 - t0;
    if (n == 0 || w == 0) return 1.0;
    uint64_t *pre = malloc((n + 1) * sizeof *pre);
    pre[0] = 0;
    for (size_t k = 0; k < n; k++) pre[k + 1] = pre[k] + (iv[k].end - iv[k].start);
    uint64_t worst = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t a = iv[k].start, b;
        if (a + w > t1) a = t1 - w;
        b = a + w;
        uint64_t x = busy_in(iv, pre, n, a, b);
        if (x > worst) worst = x;
        b = iv[k].end;
        a = b >= t0 + w ? b - w : t0;
        x = busy_in(iv, pre, n, a, a + w);
        if (x > worst) worst = x;
    }
    free(pre);
    double u = 1.0 - (double)worst / (double)w;
    return u < 0 ? 0 : u;
}

static size_t merge(interval *iv, size_t n) {
    qsort(iv, n, sizeof *iv, cmp_iv);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (m && iv[k].start <= iv[m - 1].end) {
            if (iv[k].end > iv[m - 1].end) iv[m - 1].end = iv[k].end;
        } else {
            iv[m++] = iv[k];
        }
    }
    return m;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s mgc|boehm|malloc [depth]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    mode = !strcmp(name, "mgc") ? MGC : !strcmp(name, "boehm") ? BOEHM : MALLOC;
    int max_depth = argc > 2 ? atoi(argv[2]) : 21;
    if (max_depth < 6) max_depth = 6;
    if (mode == MGC) gc_init(NULL);
    if (mode == BOEHM) {
        GC_INIT();
        GC_set_on_collection_event(boehm_event);
    }

    uint64_t t0 = now_ns();
    long total = 0;
    node *stretch = make(max_depth + 1);
    total += check(stretch);
    release(stretch);
    node *long_lived = make(max_depth);
    for (int d = 4; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + 4);
        long c = 0;
        for (long i = 0; i < iters; i++) {
            node *t = make(d);
            c += check(t);
            release(t);
        }
        total += c;
    }
    total += check(long_lived);
    release(long_lived);
    uint64_t t1 = now_ns();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    uint64_t ngc = 0;
    uint64_t t0_mmu = t0;
    if (mode == MGC) {
        /* Every pause (the pause ring keeps 4096, more than this run has). */
        size_t np = gc_get_pauses(NULL, 0);
        uint64_t *pv = malloc((np + 1) * sizeof *pv);
        np = gc_get_pauses(pv, np);
        for (size_t k = 0; k < np; k++) add_pause(pv[k]);
        free(pv);
        /* The event ring keeps the last 16384 events (assists are most of
         * them): if it is full, the MMU is over the span it covers. */
        size_t n = gc_get_events(NULL, 0);
        gc_event *ev = malloc((n + 1) * sizeof *ev);
        n = gc_get_events(ev, n);
        if (n == 16384 && ev[0].start_ns > t0) t0_mmu = ev[0].start_ns;
        for (size_t k = 0; k < n; k++) {
            if (ev[k].start_ns < t0) continue;
            if (ev[k].kind == GC_EVENT_PAUSE || ev[k].thread == 1)
                add_busy(ev[k].start_ns, ev[k].start_ns + ev[k].duration_ns);
        }
        free(ev);
        gc_stats st;
        gc_get_stats(&st);
        ngc = st.num_gc;
    } else if (mode == BOEHM) {
        ngc = GC_get_gc_no();
    }
    size_t nb = merge(busy, nbusy);
    qsort(pauses, npauses, sizeof *pauses, cmp_u64);
    double p50 = npauses ? pauses[npauses / 2] / 1e3 : 0;
    double p99 = npauses ? pauses[(npauses * 99) / 100 < npauses ? (npauses * 99) / 100 : npauses - 1] / 1e3 : 0;
    double pmax = npauses ? pauses[npauses - 1] / 1e3 : 0;
    if (mode == MALLOC) {
        const char *m = getenv("MALLOC_NAME");
        if (m) name = m;
    }
    printf("%s,%d,%.3f,%.3f,%ld,%llu,%zu,%.1f,%.1f,%.1f,%.3f,%.3f,%.3f,%ld\n", name, max_depth,
           (t1 - t0) / 1e9, cpu, ru.ru_maxrss, (unsigned long long)ngc, npauses, p50, p99, pmax,
           mmu(busy, nb, t0_mmu, t1, 1000000), mmu(busy, nb, t0_mmu, t1, 10000000),
           mmu(busy, nb, t0_mmu, t1, 100000000), total);
    return 0;
}
