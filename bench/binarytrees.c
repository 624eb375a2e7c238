/*
 * binarytrees.c -- the Benchmarks Game binary-trees program, on mgc, on
 * Boehm GC, and on malloc/free (whichever malloc LD_PRELOAD selects).
 *
 *   binarytrees mgc|boehm|malloc [DEPTH [par]]       (default depth 21)
 *
 * The program (as in ../shared/design/anchors.md): a stretch tree of depth
 * DEPTH+1, a long-lived tree of depth DEPTH, then 2^(DEPTH-d+4) trees of
 * each depth d = 4, 6, ..., DEPTH, each built bottom-up, checked and
 * dropped (freed node by node under malloc).  Nodes are 16 bytes: two
 * child pointers, stored with gc_store under mgc.  The stretch tree lives
 * in a function of its own and the stack is cleared after it, so no stale
 * stack word keeps it alive (stretch_tree).
 *
 * Without "par" the program is single-threaded.  With "par" the trees of
 * each depth are built by a thread of their own (one thread per depth, all
 * started at once, registered with the collector); the main thread waits
 * for them parked (gc_do_blocking) and then checks the long-lived tree.
 *
 * Output: one CSV line of bench_util.h, bench "binarytrees", case "dN" or
 * "dN/par", metric the wall time in seconds, check the total node count.
 */
#include "bench_util.h"

typedef struct node {
    struct node *left, *right;
} node;

static int sys;

static node *make(int d) {
    node *n;
    switch (sys) {
    case BU_MGC:
        n = gc_alloc(sizeof *n);
        if (d > 0) {
            gc_store(&n->left, make(d - 1));
            gc_store(&n->right, make(d - 1));
        }
        return n;
    case BU_BOEHM:
        n = GC_MALLOC(sizeof *n);
        if (d > 0) {
            n->left = make(d - 1);
            n->right = make(d - 1);
        }
        return n;
    default:
        n = malloc(sizeof *n);
        if (!n) abort();
        n->left = d > 0 ? make(d - 1) : NULL;
        n->right = d > 0 ? make(d - 1) : NULL;
        return n;
    }
}

static long check(const node *n) { return 1 + (n->left ? check(n->left) + check(n->right) : 0); }

static void release(node *n) {
    if (sys != BU_MALLOC) return;
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

static int max_depth;

/* ** The stretch tree, built, checked and dropped in a frame of its own;
 * main clears the stack it used after (bu_clear_stack says why: without
 * it, one stale slot kept this tree -- 64 MB at depth 20, 128 MB at 21 --
 * alive for the whole run: always under Boehm GC, about one run in four
 * under mgc, with half the collections and 1.7x the peak RSS in those
 * runs). */
static __attribute__((noinline)) long stretch_tree(int d) {
    node *stretch = make(d);
    long c = check(stretch);
    release(stretch);
    return c;
}

/* The 2^(max_depth-d+4) trees of depth d; returns their node count. */
static long depth_trees(int d) {
    long iters = 1L << (max_depth - d + 4), c = 0;
    for (long i = 0; i < iters; i++) {
        node *t = make(d);
        c += check(t);
        release(t);
    }
    return c;
}

typedef struct job {
    int depth;
    long result;
} job;

static void *depth_thread(void *arg) {
    job *j = arg;
    j->result = depth_trees(j->depth);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || (sys = bu_parse_system(argv[1])) < 0) {
        fprintf(stderr, "usage: binarytrees mgc|boehm|malloc [DEPTH [par]]\n");
        return 2;
    }
    max_depth = argc > 2 ? atoi(argv[2]) : 21;
    if (max_depth < 6) max_depth = 6;
    int par = argc > 3 && !strcmp(argv[3], "par");
    bu_init(sys);

    long gc0 = bu_num_gc(sys);
    double c0 = bu_cpu_s();
    uint64_t t0 = bu_now_ns();
    long total = 0;
    total += stretch_tree(max_depth + 1);
    bu_clear_stack();
    node *long_lived = make(max_depth);
    if (par) {
        enum { MAXJ = 32 };
        job jobs[MAXJ];
        bu_thread th[MAXJ];
        int nj = 0;
        for (int d = 4; d <= max_depth && nj < MAXJ; d += 2, nj++) {
            jobs[nj] = (job){d, 0};
            bu_thread_start(&th[nj], sys, depth_thread, &jobs[nj]);
        }
        for (int k = 0; k < nj; k++) {
            bu_thread_join(&th[k]);
            total += jobs[k].result;
        }
    } else {
        for (int d = 4; d <= max_depth; d += 2) total += depth_trees(d);
    }
    total += check(long_lived);
    release(long_lived);
    uint64_t t1 = bu_now_ns();

    char bcase[24], chk[32];
    snprintf(bcase, sizeof bcase, "d%d%s", max_depth, par ? "/par" : "");
    snprintf(chk, sizeof chk, "%ld", total);
    bu_result r = {"binarytrees", bcase, bu_system_label(sys), (t1 - t0) / 1e9, "s", t0, t1,
                   bu_cpu_s() - c0, sys == BU_MALLOC ? -1 : bu_num_gc(sys) - gc0,
                   bu_mmu10_all(sys), chk};
    bu_print(&r);
    return 0;
}
