/*
 * pause_bench.c -- stop-the-world pauses with a large live heap.
 *
 *   pause_bench mgc|boehm LIVE_MB [GARBAGE_GB]
 *
 * Builds LIVE_MB of pointer-rich live heap (a ternary tree of 48-byte nodes
 * with three pointers each, under a root array of 1024 slots), then
 * allocates GARBAGE_GB (default 4) of short-lived objects while swapping
 * subtrees through the write barrier, so every collection marks the whole
 * live heap.  Prints
 * one CSV line:
 *   mode,live_mb,cycles,pauses,p50_us,p99_us,max_us,wall_s,peak_rss_kb
 * Pauses: mgc's stop-the-world pauses (gc_get_events); Boehm's collections.
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
    struct node *p[3];
    uint64_t v[3];
} node;

static int use_boehm;
static node **roots; /* registered root array (mgc); GC_MALLOC'd for Boehm */
static size_t nroots;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *alloc(size_t n) { return use_boehm ? GC_MALLOC(n) : gc_alloc(n); }
static void store(node **slot, node *v) {
    if (use_boehm) *slot = v;
    else gc_store(slot, v);
}

static uint64_t *pauses;
static size_t npauses, cap;
static uint64_t bstart;
static void add_pause(uint64_t d) {
    if (npauses == cap) {
        cap = cap ? cap * 2 : 4096;
        pauses = realloc(pauses, cap * sizeof *pauses);
    }
    pauses[npauses++] = d;
}
static void boehm_event(GC_EventType e) {
    if (e == GC_EVENT_START) bstart = now_ns();
    if (e == GC_EVENT_END) add_pause(now_ns() - bstart);
}
static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s mgc|boehm LIVE_MB [GARBAGE_GB]\n", argv[0]);
        return 2;
    }
    use_boehm = !strcmp(argv[1], "boehm");
    size_t live = strtoull(argv[2], NULL, 10) << 20;
    double garbage_gb = argc > 3 ? atof(argv[3]) : 4.0;
    if (use_boehm) {
        GC_INIT();
        GC_set_on_collection_event(boehm_event);
    } else {
        gc_init(NULL);
    }
    size_t nnodes = live / sizeof(node);
    nroots = 1024;
    if (use_boehm) {
        roots = GC_MALLOC(nroots * sizeof *roots);
    } else {
        roots = calloc(nroots, sizeof *roots);
        gc_add_roots(roots, roots + nroots);
    }
    /* A ternary tree in allocation order, hung from the root array: every
     * node stays reachable, so the live heap is what was asked for. */
    node **all = malloc(nnodes * sizeof *all);
    for (size_t i = 0; i < nnodes; i++) {
        node *n = alloc(sizeof *n);
        n->v[0] = i;
        all[i] = n;
        if (i < nroots) store(&roots[i], n);
        else store(&all[(i - nroots) / 3]->p[(i - nroots) % 3], n);
    }
    free(all);
    uint64_t before = 0;
    if (!use_boehm) {
        gc_collect();
        before = gc_get_events(NULL, 0);
    } else {
        GC_gcollect();
        npauses = 0;
    }
    uint64_t t0 = now_ns();
    size_t garbage = (size_t)(garbage_gb * (1 << 30));
    for (size_t b = 0; b < garbage; b += 64) {
        char *g = use_boehm ? GC_MALLOC(64) : gc_alloc(64);
        g[0] = 1;
        if ((b & 0xfff) == 0) { /* rewire: swap two subtrees under the roots */
            size_t a = next() % nroots, c = next() % nroots;
            node *x = roots[a], *y = roots[c];
            store(&roots[a], y);
            store(&roots[c], x);
        }
    }
    uint64_t t1 = now_ns();
    uint64_t cycles;
    if (!use_boehm) {
        size_t n = gc_get_events(NULL, 0);
        gc_event *ev = malloc(n * sizeof *ev);
        n = gc_get_events(ev, n);
        for (size_t k = 0; k < n; k++)
            if (ev[k].kind == GC_EVENT_PAUSE && ev[k].start_ns >= t0) add_pause(ev[k].duration_ns);
        free(ev);
        gc_stats st;
        gc_get_stats(&st);
        cycles = st.num_gc;
        (void)before;
    } else {
        cycles = GC_get_gc_no();
    }
    qsort(pauses, npauses, sizeof *pauses, cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s,%zu,%llu,%zu,%.1f,%.1f,%.1f,%.2f,%ld\n", use_boehm ? "boehm" : "mgc", live >> 20,
           (unsigned long long)cycles, npauses, npauses ? pauses[npauses / 2] / 1e3 : 0,
           npauses ? pauses[npauses * 99 / 100] / 1e3 : 0, npauses ? pauses[npauses - 1] / 1e3 : 0,
           (t1 - t0) / 1e9, ru.ru_maxrss);
    return 0;
}
