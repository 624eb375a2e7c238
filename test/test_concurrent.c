/*
 * test_concurrent.c -- the concurrent collector under fire.
 *
 * Mutator threads build, rewire and drop graphs of checksummed objects
 * through gc_store while cycles run back to back, with MGC_CHECKMARK on:
 * after every concurrent mark the collector re-marks with the world
 * stopped and aborts (failing the test) if the concurrent mark missed a
 * reachable object.  The mutators verify every payload they reach, so a
 * freed-and-reused object shows as a checksum error even where checkmark
 * would not look.  Also: the pacer's peak heap against its goal, the
 * memory limit, the debug modes.
 */
#include <sched.h>

#include "test/test_util.h"

typedef struct gnode {
    struct gnode *kid[3];
    uint64_t id;
    uint64_t payload[4]; /* payload[3] = checksum of id and payload[0..2] */
} gnode;

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static gnode *new_node(uint64_t id) {
    gnode *n = gc_alloc(sizeof *n);
    n->id = id;
    for (int i = 0; i < 3; i++) n->payload[i] = mix(id * 3 + (uint64_t)i);
    n->payload[3] = mix(n->payload[0] ^ n->payload[1] ^ n->payload[2] ^ id);
    return n;
}

static int node_ok(const gnode *n) {
    for (int i = 0; i < 3; i++)
        if (n->payload[i] != mix(n->id * 3 + (uint64_t)i)) return 0;
    return n->payload[3] == mix(n->payload[0] ^ n->payload[1] ^ n->payload[2] ^ n->id);
}

/* ** Walk a graph (bounded, no recursion: an explicit stack) checking every
 * node; returns nodes seen, or -1 on a corrupt one. */
static long walk(gnode *root, gnode **stack, size_t cap) {
    if (!root) return 0;
    size_t sp = 0;
    long seen = 0;
    stack[sp++] = root;
    while (sp && seen < 100000) {
        gnode *n = stack[--sp];
        if (!node_ok(n)) return -1;
        seen++;
        for (int i = 0; i < 3; i++)
            if (n->kid[i] && sp < cap) stack[sp++] = n->kid[i];
    }
    return seen;
}

#define NMUT 4
#define NSLOTS 64
static gnode *slots[NMUT][NSLOTS]; /* registered root range, written with gc_store */
static _Atomic int stop_all;
static _Atomic long corrupt, walked;

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *mutator(void *arg) {
    int me = (int)(intptr_t)arg;
    gc_register_thread();
    uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(me + 1), id = (uint64_t)me << 40;
    gnode **stack = malloc(4096 * sizeof *stack);
    /* Subtrees held only here, on this thread's stack, for many operations:
     * what the deletion half of the barrier exists for (the stack may have
     * been scanned before they were taken out of the heap). */
    gnode *volatile stash[8] = {0};
    uint64_t stash_id[8] = {0}; /* who each stashed node was: a freed and
                                   reused slot holds a valid node of another id */
    while (!atomic_load(&stop_all)) {
        uint64_t r = rng_next(&rng);
        int a = (int)(r % NSLOTS), b = (int)((r >> 8) % NSLOTS), k = (int)((r >> 16) % 3);
        switch ((r >> 24) % 9) {
        case 7: { /* take a subtree out into the stash, or put one back */
            int j = (int)((r >> 32) % 8);
            gnode *root = slots[me][a];
            if (!root) break;
            if (stash[j] && (r >> 40) % 32 == 0) {
                long n = walk(stash[j], stack, 4096);
                if (n < 0 || stash[j]->id != stash_id[j]) atomic_fetch_add(&corrupt, 1);
                gc_store(&root->kid[k], stash[j]);
                stash[j] = NULL;
            } else if (!stash[j] && root->kid[k]) {
                /* Deep in the graph, where the marker arrives last. */
                for (int d = 0; d < 64; d++) {
                    int kk = (int)((r >> (d % 48)) % 3);
                    if (!root->kid[k]->kid[kk]) break;
                    root = root->kid[k];
                    k = kk;
                }
                stash[j] = root->kid[k];
                stash_id[j] = stash[j]->id;
                gc_store(&root->kid[k], NULL);
            }
            break;
        }
        case 0: case 1: case 2: { /* grow: a new node hung under a slot's root */
            gnode *n = new_node(id++);
            gnode *root = slots[me][a];
            if (root) {
                gc_store(&n->kid[k], root->kid[k]);
                gc_store(&root->kid[k], n);
            } else {
                gc_store(&slots[me][a], n);
            }
            break;
        }
        case 3: { /* rewire: move a subtree from one root to another; for a
                   * moment its only pointer is in a local (the stack) */
            gnode *from = slots[me][a], *to = slots[me][b];
            if (!from || !to || from == to) break;
            gnode *moved = from->kid[k];
            gc_store(&from->kid[k], NULL);
            for (volatile int spin = 0; spin < 50; spin++) {}
            gc_store(&to->kid[(k + 1) % 3], moved);
            break;
        }
        case 4: /* drop a whole graph */
            if ((r >> 40) % 64 == 0) gc_store(&slots[me][a], NULL);
            break;
        case 5: { /* cut a subtree: garbage */
            gnode *root = slots[me][a];
            if (root && (r >> 40) % 16 == 0) gc_store(&root->kid[k], NULL);
            break;
        }
        case 6: { /* swap two roots through locals */
            gnode *x = slots[me][a], *y = slots[me][b];
            gc_store(&slots[me][a], y);
            gc_store(&slots[me][b], x);
            break;
        }
        default: { /* verify a graph */
            long n = walk(slots[me][a], stack, 4096);
            if (n < 0) atomic_fetch_add(&corrupt, 1);
            else atomic_fetch_add(&walked, n);
            /* noscan garbage too, to keep cycles coming */
            char *s = gc_alloc_noscan(64 + (r % 512));
            s[0] = 1;
        }
        }
    }
    for (int i = 0; i < NSLOTS; i++) {
        long n = walk(slots[me][i], stack, 4096);
        if (n < 0) atomic_fetch_add(&corrupt, 1);
    }
    for (int j = 0; j < 8; j++)
        if (stash[j] && (walk(stash[j], stack, 4096) < 0 || stash[j]->id != stash_id[j]))
            atomic_fetch_add(&corrupt, 1);
    free(stack);
    gc_unregister_thread();
    return NULL;
}

static void init_with(int checkmark, int stw) {
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = checkmark;
    cfg.stw = stw;
    int rc = gc_init(&cfg);
    cr_assert_eq(rc, GC_OK);
}

/* ** NMUT threads mutate while cycles run, until `cycles` have completed
 * (a tenth as many under ThreadSanitizer, which is ~20x slower). */
static void run_mutators(uint64_t cycles) {
#ifdef __SANITIZE_THREAD__
    cycles /= 20; /* TSan runs this 10-20x slower */
#endif
    gc_add_roots(slots, (char *)slots + sizeof slots);
    pthread_t th[NMUT];
    for (int i = 0; i < NMUT; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, mutator, (void *)(intptr_t)i), 0);
    /* Until the cycles ran and the mutators did real work alongside them:
     * on a loaded machine 200 cycles can pass before a mutator is first
     * scheduled, which proves nothing. */
    gc_stats st;
    do {
        gc_collect(); /* plus the automatic ones the mutators trigger */
        gc_get_stats(&st);
    } while ((st.num_gc < cycles || atomic_load(&walked) <= 1000) && atomic_load(&corrupt) == 0);
    atomic_store(&stop_all, 1);
    for (int i = 0; i < NMUT; i++) tu_join(th[i]);
    cr_assert_eq(atomic_load(&corrupt), 0, "%ld corrupt graphs found by the mutators",
                 atomic_load(&corrupt));
    cr_assert_gt(atomic_load(&walked), 1000, "the mutators verified too little");
    gc_get_stats(&st);
    cr_assert_geq(st.num_gc, cycles);
    cr_assert_gt(st.num_free, 0);
}

Test(concurrent, mutators_rewire_graphs_under_checkmark, .timeout = 240) {
    init_with(1, 0);
    run_mutators(200);
}

Test(concurrent, mutators_rewire_graphs_concurrent_mark, .timeout = 240) {
    init_with(0, 0);
    run_mutators(300);
}

Test(concurrent, mutators_rewire_graphs_stw_mode, .timeout = 240) {
    init_with(0, 1);
    run_mutators(150);
}

/* ---- the pacer --------------------------------------------------------------------- */

typedef struct lnode { struct lnode *next; uint64_t pad[5]; } lnode; /* 48 bytes */

/* ** Keep `live` bytes in a list and allocate garbage; return the worst
 * peak/goal ratio seen over the cycles that ran. */
static double steady_workload(size_t live, size_t garbage, uint64_t *cycles) {
    static lnode *head;
    gc_add_roots(&head, &head + 1);
    for (size_t b = 0; b < live; b += sizeof(lnode)) {
        lnode *n = gc_alloc(sizeof *n);
        gc_store(&n->next, head);
        gc_store(&head, n);
    }
    gc_collect();
    gc_stats s0;
    gc_get_stats(&s0);
    double worst = 0;
    uint64_t seen = s0.num_gc;
    for (size_t b = 0; b < garbage; b += 64) {
        char *g = gc_alloc(64);
        g[0] = 1;
        if ((b & 0xffff) == 0) {
            gc_stats st;
            gc_get_stats(&st);
            if (st.num_gc != seen && st.last_heap_goal) {
                seen = st.num_gc;
                double r = (double)st.last_heap_peak / (double)st.last_heap_goal;
                if (r > worst) worst = r;
            }
        }
    }
    gc_stats s1;
    gc_get_stats(&s1);
    *cycles = s1.num_gc - s0.num_gc;
    return worst;
}

Test(concurrent, pacer_keeps_peak_within_10_percent_of_goal, .timeout = 120) {
    tu_pin_no_torture(); /* measures the pacer */
    tu_init();
    uint64_t cycles;
    double worst = steady_workload(16 * TU_MIB, 1024 * TU_MIB, &cycles);
    cr_assert_geq(cycles, 10, "only %llu cycles", (unsigned long long)cycles);
    cr_assert_leq(worst, 1.10, "peak heap reached %.3f x the goal", worst);
}

Test(concurrent, memory_limit_collects_more_often, .timeout = 120) {
    tu_pin_no_torture(); /* measures the pacer */
    tu_init();
    uint64_t free_cycles, limited_cycles;
    steady_workload(24 * TU_MIB, 512 * TU_MIB, &free_cycles);
    gc_stats st;
    gc_get_stats(&st);
    cr_assert_gt(st.next_gc, 40 * TU_MIB, "precondition: the GOGC goal is above the limit");
    size_t old = gc_set_memory_limit(36 * TU_MIB);
    cr_assert_eq(old, SIZE_MAX);
    steady_workload(0, 512 * TU_MIB, &limited_cycles);
    gc_get_stats(&st);
    cr_assert_leq(st.next_gc, 36 * TU_MIB, "goal %llu above the limit", (unsigned long long)st.next_gc);
    cr_assert_leq(st.last_heap_peak, 36 * TU_MIB + 36 * TU_MIB / 10,
                  "peak %.1f MiB with a 36 MiB limit", st.last_heap_peak / 1048576.0);
    cr_assert_gt(limited_cycles, free_cycles, "the limit did not make it collect more often "
                 "(%llu vs %llu cycles)", (unsigned long long)limited_cycles,
                 (unsigned long long)free_cycles);
}

Test(concurrent, percent_off_from_the_environment, .timeout = 60) {
    tu_pin_no_torture(); /* counts the automatic collections */
    setenv("MGC_PERCENT", "off", 1);
    cr_assert_eq(gc_init(NULL), GC_OK);
    unsetenv("MGC_PERCENT");
    for (int i = 0; i < 200000; i++) {
        char *g = gc_alloc(256);
        g[0] = 1;
    }
    gc_stats st;
    gc_get_stats(&st);
    cr_assert_eq(st.num_gc, 0, "%llu automatic cycles with MGC_PERCENT=off",
                 (unsigned long long)st.num_gc);
    cr_assert_eq(st.next_gc, UINT64_MAX);
    gc_collect();
    gc_get_stats(&st);
    cr_assert_eq(st.num_gc, 1);
}

Test(concurrent, memlimit_from_the_environment) {
    setenv("MGC_MEMLIMIT", "64M", 1);
    cr_assert_eq(gc_init(NULL), GC_OK);
    unsetenv("MGC_MEMLIMIT");
    cr_assert_eq(gc_set_memory_limit(0), (size_t)64 << 20);
}

/* ---- debug modes ----------------------------------------------------------------- */

Test(concurrent, torture_collects_every_n_allocations, .timeout = 60) {
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.torture = 10;
    cr_assert_eq(gc_init(&cfg), GC_OK);
    lnode *head = NULL;
    for (int i = 0; i < 1000; i++) {
        lnode *n = gc_alloc(sizeof *n);
        n->pad[0] = (uint64_t)i;
        gc_store(&n->next, head);
        head = n;
    }
    gc_stats st;
    gc_get_stats(&st);
    cr_assert_geq(st.num_gc, 100, "%llu cycles for 1000 allocations at MGC_TORTURE=10",
                  (unsigned long long)st.num_gc);
    long i = 999;
    for (lnode *n = head; n; n = n->next, i--) cr_assert_eq(n->pad[0], (uint64_t)i);
    cr_assert_eq(i, -1);
}

static TU_NOINLINE uintptr_t make_garbage_string(void) {
    char *s = gc_alloc_noscan(64);
    memset(s, 'x', 64);
    return tu_hide(s);
}

Test(concurrent, clobber_fills_freed_objects) {
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.clobber = 1;
    cr_assert_eq(gc_init(&cfg), GC_OK);
    uintptr_t h[64];
    for (int i = 0; i < 64; i++) h[i] = make_garbage_string();
    tu_collect_clean();
    int clobbered = 0;
    for (int i = 0; i < 64; i++) {
        const uint64_t *w = tu_reveal(h[i]);
        if (tu_is_freed(h[i]) && w[0] == 0xdeadbeefdeadbeefULL && w[7] == 0xdeadbeefdeadbeefULL)
            clobbered++;
    }
    cr_assert_geq(clobbered, 58, "only %d of 64 freed strings were clobbered", clobbered);
}

/* ---- span entries (gc/mark.c) ---------------------------------------------------- *
 * Small objects are marked a span at a time: the marker that marks one
 * queues its span unless an entry is queued already, and gathers the marks
 * of a run of pointers into one span before setting them.  A complete
 * binary tree of 16- or 32-byte nodes, laid out in address order (whole
 * spans greyed together, marks gathered) or shuffled (a span greyed one
 * object at a time), is marked by two workers while a program thread
 * swaps subtrees through gc_store, under MGC_CHECKMARK: a node the span
 * entries missed aborts the test, and afterwards every node must be there
 * with its checksum. */

typedef struct tnode {
    struct tnode *kid[2];
    uint64_t id, check; /* check = mix(id): 32 bytes */
} tnode;
typedef struct snode {
    struct snode *kid[2]; /* 16 bytes: the id is the index, checked by the walk */
} snode;

static _Atomic int span_stop;
static _Atomic long span_swaps;

/* ** Build a complete tree of n nodes numbered breadth-first (node k's
 * kids are 2k+1 and 2k+2); node numbers are given to allocation slots in
 * order, or in a random permutation (shuffled).  Returns the root. */
static void *span_tree(size_t n, size_t size, int shuffled) {
    void **byslot = calloc(n, sizeof *byslot);
    size_t *perm = malloc(n * sizeof *perm);
    cr_assert(byslot && perm);
    gc_add_roots(byslot, byslot + n); /* while the tree is built */
    for (size_t i = 0; i < n; i++) {
        byslot[i] = gc_alloc(size);
        perm[i] = i;
    }
    uint64_t r = 0x2545F4914F6CDD1DULL;
    if (shuffled)
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(rng_next(&r) % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    for (size_t k = 0; k < n; k++) {
        void **node = byslot[perm[k]];
        if (size == sizeof(tnode)) {
            ((tnode *)node)->id = k;
            ((tnode *)node)->check = mix(k);
        }
        for (int c = 0; c < 2; c++) {
            size_t kid = 2 * k + 1 + (size_t)c;
            if (kid < n) gc_store(&node[c], byslot[perm[kid]]);
        }
    }
    void *root = byslot[perm[0]];
    gc_remove_roots(byslot, byslot + n); /* from here only through root */
    free(byslot);
    free(perm);
    return root;
}

/* ** Count the tree's nodes, checking every 32-byte node's checksum;
 * -1 on a bad one. */
static long span_walk(void *root, size_t size, void **stack, size_t cap) {
    size_t sp = 0;
    long seen = 0;
    stack[sp++] = root;
    while (sp) {
        void **node = stack[--sp];
        if (size == sizeof(tnode) && ((tnode *)node)->check != mix(((tnode *)node)->id)) return -1;
        seen++;
        for (int c = 0; c < 2; c++)
            if (node[c]) {
                if (sp == cap) return -1;
                stack[sp++] = node[c];
            }
    }
    return seen;
}

static void *span_root[1];

/* ** Swap the kids of nodes found by random descents, while cycles run:
 * every swap hides a subtree in a local for a moment and is a store the
 * barrier shades both ends of. */
static void *span_swapper(void *arg) {
    (void)arg;
    gc_register_thread();
    uint64_t r = 0x9E3779B97F4A7C15ULL;
    while (!atomic_load(&span_stop)) {
        void **node = span_root[0];
        uint64_t path = rng_next(&r);
        for (int d = 0; d < (int)(path % 17) && node[(path >> (d + 8)) & 1]; d++)
            node = node[(path >> (d + 8)) & 1];
        void *a = node[0], *b = node[1];
        gc_store(&node[0], b);
        gc_store(&node[1], a);
        /* Some garbage, allocated black while a mark runs; and a system
         * call now and then, where ThreadSanitizer delivers the signals
         * that stop this thread (test_util.h). */
        long k = atomic_fetch_add(&span_swaps, 1);
        if (k % 64 == 0) *(volatile char *)gc_alloc(48) = 1;
        if (k % 256 == 0) sched_yield();
    }
    gc_unregister_thread();
    return NULL;
}

static void span_marking(size_t size, int shuffled) {
    tu_pin_concurrent_mark();
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    setenv("MGC_SPANMARK", "1", 1);
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = 1;
    cfg.mark_workers = 2;
    cr_assert_eq(gc_init(&cfg), GC_OK);
    size_t n = 150000;
#ifdef __SANITIZE_THREAD__
    n = 20000;
#endif
    gc_add_roots(span_root, span_root + 1);
    gc_store(&span_root[0], span_tree(n, size, shuffled));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, span_swapper, NULL), 0);
    /* Cycles with the swapper at work alongside (checkmark after each):
     * a loaded machine may run many before it is first scheduled. */
    for (int i = 0; i < 12 || atomic_load(&span_swaps) < 20000; i++) gc_collect();
    atomic_store(&span_stop, 1);
    tu_join(th);
    void **stack = malloc(4096 * sizeof *stack);
    long seen = span_walk(span_root[0], size, stack, 4096);
    free(stack);
    cr_assert_eq(seen, (long)n, "the tree has %ld nodes of %zu after the cycles", seen, n);
    gc_stats st;
    gc_get_stats(&st);
    cr_assert_geq(st.heap_marked, n * size, "the last mark found %llu bytes, the tree has %zu",
                  (unsigned long long)st.heap_marked, n * size);
}

Test(concurrent, span_marking_in_order_32_byte_nodes, .timeout = 120) { span_marking(32, 0); }
Test(concurrent, span_marking_shuffled_32_byte_nodes, .timeout = 120) { span_marking(32, 1); }
Test(concurrent, span_marking_in_order_16_byte_nodes, .timeout = 120) { span_marking(16, 0); }
