/*
 * markrate.c -- how fast the collector marks, per mark worker.
 *
 *   markrate mgc|mgc-objects|mgc-stw|boehm LIVE_MB seq|shuffled|dup WORKERS
 *
 * Builds LIVE_MB of 32-byte nodes {left, right, 2 words} linked as one
 * complete binary tree in breadth-first numbering (node k's children are
 * nodes 2k+1 and 2k+2), hung from one global root.  "seq" allocates the
 * nodes in that numbering, so marking walks memory mostly in order;
 * "shuffled" gives the numbers to the nodes in a random permutation of
 * their allocation order, so nearly every pointer followed is a cache
 * miss.  "dup" is "seq" with the two pad words pointing at the node's
 * parent and grandparent: half the words a marker follows lead to objects
 * it has already marked, so what it costs to find a mark bit already set
 * (a plain read before the atomic OR, test-before-set) shows.  No collection runs while the tree is built (mgc: automatic GC
 * off; Boehm: GC_disable).  Then one collection warms up and three are
 * measured.
 *
 *   mgc       gc_config.mark_workers = WORKERS; the collection is
 *             concurrent (gc_collect waits for it); time = gc_stats
 *             last_mark_ns, bytes = heap_marked.  Note that mgc's workers
 *             take at most their CPU share: on 2 CPUs with one program
 *             thread, 1 worker may use a whole CPU, 2 workers 0.75 each.
 *   mgc-objects  the same with MGC_SPANMARK=0 (small objects marked
 *             one at a time, not a span at a time: gc/mark.c).
 *   mgc-stw   the same with gc_config.stw = 1: the mark runs inside the
 *             pause on the collector's thread (WORKERS does not apply).
 *   boehm     GC_set_markers_count(WORKERS); time = GC_EVENT_MARK_START
 *             to GC_EVENT_MARK_END, bytes = the tree's bytes.
 *
 * Output: one CSV line of bench_util.h, bench "markrate", case
 * "LIVEMB/ORDER/Ww", metric MB/s (10^6 bytes) per worker: median over the
 * three collections of bytes / mark time / WORKERS; check holds the
 * median mark time in ms and the bytes marked.
 */
#include "bench_util.h"

typedef struct node {
    struct node *left, *right;
    uint64_t pad[2];
} node;

static node *root; /* the one root: a registered range for mgc */
static uint64_t bmark_start, bmark_ns;

static void boehm_events(GC_EventType e) {
    if (e == GC_EVENT_MARK_START) bmark_start = bu_now_ns();
    else if (e == GC_EVENT_MARK_END) bmark_ns = bu_now_ns() - bmark_start;
    bu_boehm_event(e);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: markrate mgc|mgc-objects|mgc-stw|boehm LIVE_MB seq|shuffled|dup WORKERS\n");
        return 2;
    }
    const char *sysname = argv[1];
    int boehm = !strcmp(sysname, "boehm"), stw = !strcmp(sysname, "mgc-stw");
    int objects = !strcmp(sysname, "mgc-objects");
    if (!boehm && !stw && !objects && strcmp(sysname, "mgc")) {
        fprintf(stderr, "markrate: unknown system %s\n", sysname);
        return 2;
    }
    size_t live = strtoull(argv[2], NULL, 10) << 20;
    const char *order = argv[3];
    int shuffled = !strcmp(order, "shuffled"), dup = !strcmp(order, "dup");
    if (!shuffled && !dup && strcmp(order, "seq")) {
        fprintf(stderr, "markrate: unknown order %s\n", order);
        return 2;
    }
    int workers = atoi(argv[4]);
    if (workers < 1) workers = 1;
    if (stw) workers = 1;

    if (boehm) {
        GC_set_markers_count((unsigned)workers);
        bu_boehm_init();
        GC_set_on_collection_event(boehm_events);
        GC_disable();
    } else {
        gc_config cfg;
        gc_config_default(&cfg);
        cfg.percent = -1;
        cfg.mark_workers = workers;
        cfg.stw = stw;
        if (objects) setenv("MGC_SPANMARK", "0", 1);
        bu_mgc_init(&cfg);
        gc_add_roots_flags(&root, &root + 1, GC_ROOTS_BARRIER); /* set through gc_store */
    }

    size_t n = live / sizeof(node);
    node **all = bu_xmalloc(n * sizeof *all); /* malloc'd: not a root */
    for (size_t k = 0; k < n; k++) all[k] = boehm ? GC_MALLOC(sizeof(node)) : gc_alloc(sizeof(node));
    if (shuffled)
        for (size_t k = n - 1; k > 0; k--) {
            size_t j = bu_rand(&rng) % (k + 1);
            node *t = all[k];
            all[k] = all[j];
            all[j] = t;
        }
    for (size_t k = 0; k < n; k++) {
        node *l = 2 * k + 1 < n ? all[2 * k + 1] : NULL, *r = 2 * k + 2 < n ? all[2 * k + 2] : NULL;
        if (boehm) {
            all[k]->left = l;
            all[k]->right = r;
        } else {
            gc_store(&all[k]->left, l);
            gc_store(&all[k]->right, r);
        }
        /* Plain stores: no collection runs while the tree is built.  Both
         * collectors scan the pad words conservatively. */
        if (dup) {
            all[k]->pad[0] = (uint64_t)(uintptr_t)all[k ? (k - 1) / 2 : 0];
            all[k]->pad[1] = (uint64_t)(uintptr_t)all[k > 2 ? ((k - 1) / 2 - 1) / 2 : 0];
        }
    }
    if (boehm) root = all[0];
    else gc_store(&root, all[0]);
    free(all);
    if (boehm) GC_enable();

    enum { RUNS = 3 };
    double rate[RUNS], ms[RUNS], bytes = 0;
    if (boehm) GC_gcollect();
    else gc_collect();
    double c0 = bu_cpu_s();
    uint64_t t0 = bu_now_ns();
    for (int k = 0; k < RUNS; k++) {
        uint64_t ns;
        if (boehm) {
            GC_gcollect();
            ns = bmark_ns;
            bytes = (double)n * sizeof(node);
        } else {
            gc_collect();
            gc_stats st;
            gc_get_stats(&st);
            ns = st.last_mark_ns;
            bytes = (double)st.heap_marked;
        }
        ms[k] = ns / 1e6;
        rate[k] = ns ? bytes / 1e6 / (ns / 1e9) / workers : 0;
    }
    uint64_t t1 = bu_now_ns();
    qsort(rate, RUNS, sizeof *rate, cmp_d);
    qsort(ms, RUNS, sizeof *ms, cmp_d);
    char bcase[48], chk[64];
    snprintf(bcase, sizeof bcase, "%zuMB/%s/%dw", live >> 20, order,
             workers);
    snprintf(chk, sizeof chk, "mark_ms=%.1f marked_MB=%.0f", ms[RUNS / 2], bytes / 1e6);
    bu_result r = {"markrate", bcase, sysname, rate[RUNS / 2], "MB/s/worker", t0, t1,
                   bu_cpu_s() - c0, RUNS, bu_mmu10_all(boehm ? BU_BOEHM : BU_MGC), chk};
    bu_print(&r);
    return root ? 0 : 1;
}
