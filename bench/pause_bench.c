/*
 * pause_bench.c -- stop-the-world pauses with a large live heap.
 *
 *   pause_bench mgc|boehm LIVE_MB [GARBAGE_GB]
 *
 * Builds LIVE_MB of pointer-rich live heap (a ternary tree of 48-byte nodes
 * with three pointers each, under a root array of 1024 slots), then
 * allocates GARBAGE_GB (default 4) of short-lived 64-byte objects while
 * swapping subtrees through the write barrier, so every collection marks
 * the whole live heap.  Only the garbage phase is measured.
 *
 * Output: one CSV line of bench_util.h, bench "pause", case "LIVEMB",
 * metric the wall time of the garbage phase in seconds.
 */
#include "bench_util.h"

typedef struct node {
    struct node *p[3];
    uint64_t v[3];
} node;

static int sys;
static node **roots; /* registered root array (mgc); GC_MALLOC'd for Boehm */
static size_t nroots;

static uint64_t rng = 88172645463325252ULL;

static void *alloc(size_t n) { return sys == BU_BOEHM ? GC_MALLOC(n) : gc_alloc(n); }
static void store(node **slot, node *v) {
    if (sys == BU_BOEHM) *slot = v;
    else gc_store(slot, v);
}

int main(int argc, char **argv) {
    if (argc < 3 || (sys = bu_parse_system(argv[1])) < 0 || sys == BU_MALLOC) {
        fprintf(stderr, "usage: pause_bench mgc|boehm LIVE_MB [GARBAGE_GB]\n");
        return 2;
    }
    size_t live = strtoull(argv[2], NULL, 10) << 20;
    double garbage_gb = argc > 3 ? atof(argv[3]) : 4.0;
    bu_init(sys);
    size_t nnodes = live / sizeof(node);
    nroots = 1024;
    if (sys == BU_BOEHM) {
        roots = GC_MALLOC(nroots * sizeof *roots);
    } else {
        roots = calloc(nroots, sizeof *roots);
        /* Stored through gc_store: a barrier range, no rescan at the stop. */
        gc_add_roots_flags(roots, roots + nroots, GC_ROOTS_BARRIER);
    }
    /* A ternary tree in allocation order, hung from the root array: every
     * node stays reachable, so the live heap is what was asked for. */
    node **all = bu_xmalloc(nnodes * sizeof *all);
    for (size_t i = 0; i < nnodes; i++) {
        node *n = alloc(sizeof *n);
        n->v[0] = i;
        all[i] = n;
        if (i < nroots) store(&roots[i], n);
        else store(&all[(i - nroots) / 3]->p[(i - nroots) % 3], n);
    }
    free(all);
    if (sys == BU_BOEHM) GC_gcollect();
    else gc_collect();

    long gc0 = bu_num_gc(sys);
    double c0 = bu_cpu_s();
    uint64_t t0 = bu_now_ns();
    size_t garbage = (size_t)(garbage_gb * (1 << 30));
    for (size_t b = 0; b < garbage; b += 64) {
        char *g = alloc(64);
        g[0] = 1;
        if ((b & 0xfff) == 0) { /* rewire: swap two subtrees under the roots */
            size_t a = bu_rand(&rng) % nroots, c = bu_rand(&rng) % nroots;
            node *x = roots[a], *y = roots[c];
            store(&roots[a], y);
            store(&roots[c], x);
        }
    }
    uint64_t t1 = bu_now_ns();
    char bcase[24];
    snprintf(bcase, sizeof bcase, "%zuMB", live >> 20);
    bu_result r = {"pause", bcase, bu_system_label(sys), (t1 - t0) / 1e9, "s", t0, t1,
                   bu_cpu_s() - c0, bu_num_gc(sys) - gc0, bu_mmu10_all(sys), NULL};
    bu_print(&r);
    return 0;
}
