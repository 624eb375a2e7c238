/*
 * gcbench.c -- GCBench, the Ellis/Kovac/Boehm collector benchmark, written
 * anew after the published program, on mgc, Boehm GC and malloc/free.
 *
 *   gcbench mgc|boehm|malloc [THREADS [SHRINK]]
 *
 * The program: a stretch tree of depth 18 (built, dropped); a long-lived
 * tree of depth 16 and an array of 500,000 doubles kept for the whole run;
 * then for each depth d = 4, 6, ..., 16, 2 * size(18) / size(d) trees of
 * depth d built top-down (allocate the node, then populate its children)
 * and as many built bottom-up (children first), each dropped at once.
 * Nodes are {left, right, i, j} (32 bytes on 64-bit).  The stretch tree
 * is built in a function of its own and the stack cleared after it, as in
 * binarytrees.c.  Under malloc every
 * dropped tree is freed node by node; under mgc child pointers are stored
 * with gc_store.
 *
 * With THREADS > 1 every thread runs the whole program at once on the one
 * shared heap (the multi-threaded GCBench); the main thread waits.
 * SHRINK (default 0) takes that many levels off the stretch, long-lived
 * and largest trees, for a short run (each level halves the work); the
 * case name then says "-sN".
 *
 * Output: one CSV line of bench_util.h, bench "gcbench", case "1t" or
 * "Nt", metric the wall time in seconds; check "ok" if every thread's
 * long-lived tree and array survived intact.
 */
#include "bench_util.h"

enum { ARRAY_SIZE = 500000, MIN_DEPTH = 4, MAXT = 16 };
/* The published depths; SHRINK lowers all three (the quick suite). */
static int STRETCH_DEPTH = 18, LONG_LIVED_DEPTH = 16, MAX_DEPTH = 16;

typedef struct node {
    struct node *left, *right;
    long i, j;
} node;

static int sys;

static node *new_node(node *l, node *r) {
    node *n;
    switch (sys) {
    case BU_MGC:
        n = gc_alloc(sizeof *n);
        if (l) gc_store(&n->left, l);
        if (r) gc_store(&n->right, r);
        return n;
    case BU_BOEHM:
        n = GC_MALLOC(sizeof *n);
        break;
    default:
        n = malloc(sizeof *n);
        if (!n) abort();
        n->i = n->j = 0;
        break;
    }
    n->left = l;
    n->right = r;
    return n;
}

static void set_child(node **slot, node *v) {
    if (sys == BU_MGC) gc_store(slot, v);
    else *slot = v;
}

/* Nodes in a tree of depth d. */
static long tree_size(int d) { return (1L << (d + 1)) - 1; }
static long num_iters(int d) { return 2 * tree_size(STRETCH_DEPTH) / tree_size(d); }

/* Top-down: the node exists before its children. */
static void populate(int d, node *n) {
    if (d <= 0) return;
    d--;
    set_child(&n->left, new_node(NULL, NULL));
    set_child(&n->right, new_node(NULL, NULL));
    populate(d, n->left);
    populate(d, n->right);
}

/* Bottom-up: children first. */
static node *make_tree(int d) {
    if (d <= 0) return new_node(NULL, NULL);
    node *l = make_tree(d - 1);
    return new_node(l, make_tree(d - 1));
}

static void drop(node *n) {
    if (sys != BU_MALLOC || !n) return;
    drop(n->left);
    drop(n->right);
    free(n);
}

static long count(const node *n) { return n ? 1 + count(n->left) + count(n->right) : 0; }

static void time_construction(int d) {
    long iters = num_iters(d);
    for (long k = 0; k < iters; k++) {
        node *t = new_node(NULL, NULL);
        populate(d, t);
        drop(t);
    }
    for (long k = 0; k < iters; k++) drop(make_tree(d));
}

/* ** The stretch tree, in a frame of its own; the caller clears the stack
 * after (bench_util.h's bu_clear_stack says why). */
static __attribute__((noinline)) void stretch_tree(void) { drop(make_tree(STRETCH_DEPTH)); }

/* ** The whole program; returns 1 if the long-lived data survived. */
static void *gcbench(void *arg) {
    (void)arg;
    stretch_tree();
    bu_clear_stack();

    node *long_lived = new_node(NULL, NULL);
    populate(LONG_LIVED_DEPTH, long_lived);

    double *array = sys == BU_MGC     ? gc_alloc_noscan(ARRAY_SIZE * sizeof(double))
                    : sys == BU_BOEHM ? GC_MALLOC_ATOMIC(ARRAY_SIZE * sizeof(double))
                                      : malloc(ARRAY_SIZE * sizeof(double));
    if (!array) abort();
    for (int i = 0; i < ARRAY_SIZE; i++) array[i] = 1.0 / i;

    for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2) time_construction(d);

    int ok = long_lived && count(long_lived) == tree_size(LONG_LIVED_DEPTH) &&
             array[1000] == 1.0 / 1000;
    drop(long_lived);
    if (sys == BU_MALLOC) free(array);
    return (void *)(intptr_t)ok;
}

static int ok_all = 1;
static void *runner(void *arg) {
    if (!gcbench(arg)) __atomic_store_n(&ok_all, 0, __ATOMIC_RELAXED);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || (sys = bu_parse_system(argv[1])) < 0) {
        fprintf(stderr, "usage: gcbench mgc|boehm|malloc [THREADS [SHRINK]]\n");
        return 2;
    }
    int nthreads = argc > 2 ? atoi(argv[2]) : 1;
    if (nthreads < 1 || nthreads > MAXT) nthreads = 1;
    int shrink = argc > 3 ? atoi(argv[3]) : 0;
    if (shrink < 0 || shrink > 8) shrink = 0;
    STRETCH_DEPTH -= shrink;
    LONG_LIVED_DEPTH -= shrink;
    MAX_DEPTH -= shrink;
    bu_init(sys);

    long gc0 = bu_num_gc(sys);
    double c0 = bu_cpu_s();
    uint64_t t0 = bu_now_ns();
    if (nthreads == 1) {
        runner(NULL);
    } else {
        bu_thread th[MAXT];
        for (int i = 0; i < nthreads; i++) bu_thread_start(&th[i], sys, runner, NULL);
        for (int i = 0; i < nthreads; i++) bu_thread_join(&th[i]);
    }
    uint64_t t1 = bu_now_ns();
    char bcase[16];
    if (shrink) snprintf(bcase, sizeof bcase, "%dt-s%d", nthreads, shrink);
    else snprintf(bcase, sizeof bcase, "%dt", nthreads);
    bu_result r = {"gcbench", bcase, bu_system_label(sys), (t1 - t0) / 1e9, "s", t0, t1,
                   bu_cpu_s() - c0, sys == BU_MALLOC ? -1 : bu_num_gc(sys) - gc0,
                   bu_mmu10_all(sys), ok_all ? "ok" : "FAILED"};
    bu_print(&r);
    return ok_all ? 0 : 1;
}
