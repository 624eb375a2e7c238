/*
 * typed_bench.c -- mark time of a VM-like heap, conservative vs precise.
 *
 *   typed_bench untyped|typed DEPTH CYCLES [DATA_WORDS]
 *
 * Builds a complete binary tree of 2^DEPTH - 1 nodes: two pointers and
 * DATA_WORDS (default 14: 128-byte nodes) words of a VM's data (doubles,
 * hashes, ids).  One
 * node in 16 has a data word equal to the address of a 4 KiB object that
 * is otherwise garbage -- an integer that happens to look like a pointer,
 * which conservative scanning cannot tell from one.  Then runs CYCLES
 * forced collections and reports the median mark phase (gc_stats
 * last_mark_ns: wall time from the cycle's start to mark termination) and
 * the live heap each found.  With gc_alloc every word of every node is
 * scanned and the aliased objects are retained; with gc_alloc_typed only
 * the two pointer words are read.  Run with MGC_STW=1 to time a
 * stop-the-world mark (no mutator running beside it, nothing else timed).
 *
 * The process CPU time per collection is also reported: on a busy machine
 * it is steadier than the wall-clock mark time.
 *
 * Prints one CSV line:
 *   typed,MODE,depth,data_words,nodes,mark_ms_median,mark_ms_min,cpu_ms_per_gc,heap_marked_mb,retained_aliased_mb
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mgc.h"

typedef struct node {
    struct node *left, *right;
    uint64_t data[]; /* doubles and hashes */
} node;

static size_t data_words = 14;

static const gc_type *node_type;
static int typed;
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static node *new_node(void)
{
    node *n = typed ? gc_alloc_typed(node_type) : gc_alloc(sizeof(node) + data_words * 8);
    if (!n) {
        fprintf(stderr, "typed_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < data_words; i++) {
        double d = (double)(next_rand() >> 11) * 0x1p-53;
        if (i % 2) memcpy(&n->data[i], &d, 8);
        else n->data[i] = next_rand();
    }
    return n;
}

static uint64_t nodes, aliased;

static node *build(int depth)
{
    node *n = new_node();
    nodes++;
    if (nodes % 16 == 0) {
        /* A number that equals a heap address: the object is garbage. */
        n->data[data_words / 2] = (uint64_t)(uintptr_t)gc_alloc_noscan(4096);
        aliased++;
    }
    if (depth > 1) {
        gc_store(&n->left, build(depth - 1));
        gc_store(&n->right, build(depth - 1));
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static node *root; /* registered root */

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv)
{
    if ((argc != 4 && argc != 5) || (strcmp(argv[1], "typed") && strcmp(argv[1], "untyped"))) {
        fprintf(stderr, "usage: typed_bench untyped|typed DEPTH CYCLES [DATA_WORDS]\n");
        return 2;
    }
    typed = strcmp(argv[1], "typed") == 0;
    int depth = atoi(argv[2]), cycles = atoi(argv[3]);
    if (argc == 5) data_words = (size_t)atoi(argv[4]);
    if (depth < 1 || depth > 26 || cycles < 1 || cycles > 1000 || data_words < 1 ||
        data_words > 4000) {
        fprintf(stderr, "typed_bench: DEPTH 1..26, CYCLES 1..1000, DATA_WORDS 1..4000\n");
        return 2;
    }
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.percent = -1; /* only the forced collections below */
    if (gc_init(&cfg) != GC_OK)
        return 1;
    static const size_t ptrs[] = {offsetof(node, left), offsetof(node, right)};
    node_type = gc_type_new("node", sizeof(node) + data_words * 8, ptrs, 2);
    gc_add_roots_flags(&root, &root + 1, GC_ROOTS_BARRIER); /* set through gc_store */
    gc_store(&root, build(depth));

    uint64_t *mark = malloc(sizeof *mark * (size_t)cycles);
    gc_stats st;
    double cpu0 = cpu_ms();
    for (int c = 0; c < cycles; c++) {
        gc_collect();
        gc_get_stats(&st);
        mark[c] = st.last_mark_ns;
    }
    double cpu_per_gc = (cpu_ms() - cpu0) / cycles;
    qsort(mark, (size_t)cycles, sizeof *mark, cmp_u64);
    double live_mb = (double)st.heap_marked / 1048576.0;
    double tree_mb = (double)nodes * gc_size(root) / 1048576.0;
    printf("typed,%s,%d,%zu,%llu,%.3f,%.3f,%.3f,%.1f,%.1f\n", argv[1], depth, data_words,
           (unsigned long long)nodes, mark[cycles / 2] / 1e6, mark[0] / 1e6, cpu_per_gc, live_mb,
           live_mb > tree_mb ? live_mb - tree_mb : 0.0);
    free(mark);
    return 0;
}
