/*
 * test_typed.c -- precise (typed) objects: the marker follows the pointer
 * words a type names and nothing else.  Numbers that look like heap
 * addresses in non-pointer words must not retain garbage (the same data in
 * gc_alloc objects does: the control), pointers in any word position, in
 * arrays small and large, must keep their objects, a reused slot must not
 * keep an earlier type's map, and all of it holds with threads rewiring
 * typed graphs under concurrent marking, MGC_CLOBBER and MGC_TORTURE.
 */
#include <pthread.h>
#include <stddef.h>

#include "test/test_util.h"

#define NOBJ 256

/* A node with pointers at words 1 and 4 and data in words 0, 2, 3, 5. */
typedef struct tnode {
    uint64_t data0;
    struct tnode *a;
    uint64_t data2, data3;
    struct tnode *b;
    uint64_t check;
} tnode;

static const gc_type *tnode_type(void)
{
    static const size_t offs[] = {offsetof(tnode, a), offsetof(tnode, b)};
    const gc_type *t = gc_type_new("tnode", sizeof(tnode), offs, 2);
    cr_assert_not_null(t);
    cr_assert_str_eq(gc_type_name(t), "tnode");
    return t;
}

static tnode *keep[NOBJ]; /* registered root */

/* Garbage: NOBJ objects whose only "references" will be numbers. */
static TU_NOINLINE void make_garbage(uintptr_t *hidden, size_t size)
{
    for (int i = 0; i < NOBJ; i++) {
        void *g = gc_alloc(size);
        cr_assert_not_null(g);
        hidden[i] = tu_hide(g);
    }
}

/* NOBJ live holders whose data words hold the garbage's addresses. */
static TU_NOINLINE void make_holders(const gc_type *t, const uintptr_t *hidden)
{
    for (int i = 0; i < NOBJ; i++) {
        tnode *n = t ? gc_alloc_typed(t) : gc_alloc(sizeof(tnode));
        cr_assert_not_null(n);
        n->data0 = (uint64_t)(uintptr_t)tu_reveal(hidden[i]);
        n->data2 = n->data0 + 8; /* interior addresses too */
        n->data3 = n->data0;
        n->check = tu_mix((uint64_t)i);
        gc_store(&keep[i], n);
    }
}

static void init(void)
{
    setenv("MGC_CLOBBER", "1", 1);
    tu_init();
    gc_add_roots(keep, keep + NOBJ);
}

Test(typed, numbers_in_data_words_do_not_retain_garbage)
{
    tu_pin_no_torture(); /* counts what one collection frees */
    init();
    static uintptr_t hidden[NOBJ];
    make_garbage(hidden, 48);
    make_holders(tnode_type(), hidden);
    tu_collect_clean();
    size_t freed = tu_count_freed(hidden, NOBJ);
    cr_assert_geq(freed, NOBJ - 8, "only %zu of %d objects named only by numbers in typed "
                  "objects' data words were freed", freed, NOBJ);
    for (int i = 0; i < NOBJ; i++)
        cr_assert_eq(keep[i]->check, tu_mix((uint64_t)i));
}

Test(typed, control_the_same_numbers_in_untyped_objects_retain)
{
    init();
    static uintptr_t hidden[NOBJ];
    make_garbage(hidden, 48);
    make_holders(NULL, hidden);
    tu_collect_clean();
    cr_assert_eq(tu_count_freed(hidden, NOBJ), 0,
                 "conservative scanning should keep what a data word points to");
}

/* Each holder's a and b are the only references to two checksummed
 * objects (a typed one and an untyped one). */
static TU_NOINLINE void make_pointer_holders(const gc_type *t)
{
    for (int i = 0; i < NOBJ; i++) {
        tnode *n = gc_alloc_typed(t);
        tnode *a = gc_alloc_typed(t);
        tnode *b = gc_alloc(sizeof(tnode));
        cr_assert(n && a && b);
        a->check = tu_mix(1000 + (uint64_t)i);
        b->check = tu_mix(2000 + (uint64_t)i);
        gc_store(&n->a, a);
        gc_store(&n->b, b);
        gc_store(&keep[i], n);
    }
}

Test(typed, pointer_words_keep_their_objects)
{
    init();
    make_pointer_holders(tnode_type());
    for (int c = 0; c < 4; c++) {
        tu_collect_clean();
        for (int i = 0; i < NOBJ; i++) {
            cr_assert_eq(keep[i]->a->check, tu_mix(1000 + (uint64_t)i), "object %d via word 1 was freed", i);
            cr_assert_eq(keep[i]->b->check, tu_mix(2000 + (uint64_t)i), "object %d via word 4 was freed", i);
        }
    }
}

/* ---- arrays ---------------------------------------------------------------------- */

typedef struct elem {
    uint64_t num;      /* holds a garbage address */
    uint64_t *target;  /* the only reference to a checksummed block */
    uint64_t num2;
} elem;

static const size_t counts[] = {1, 7, 100, 1300, 3000}; /* 24 B .. 72 KB: small and large */
#define NCOUNTS (sizeof counts / sizeof counts[0])
static elem *arrays[NCOUNTS]; /* registered root */

static TU_NOINLINE void make_arrays(const gc_type *t, uintptr_t *hidden_garbage)
{
    int g = 0;
    for (size_t k = 0; k < NCOUNTS; k++) {
        elem *a = gc_alloc_typed_array(t, counts[k]);
        cr_assert_not_null(a);
        cr_assert_geq(gc_size(a), counts[k] * sizeof(elem));
        for (size_t i = 0; i < counts[k]; i++) {
            uint64_t *blk = gc_alloc_noscan(32);
            cr_assert_not_null(blk);
            tu_fill(blk, 32, k * 100000 + i);
            gc_store(&a[i].target, blk);
            if (g < NOBJ && i % 3 == 0) {
                void *junk = gc_alloc(64);
                hidden_garbage[g++] = tu_hide(junk);
                a[i].num = (uint64_t)(uintptr_t)junk;
                a[i].num2 = (uint64_t)(uintptr_t)junk + 16;
            }
        }
        gc_store(&arrays[k], a);
    }
    cr_assert_eq(g, NOBJ, "test precondition: every garbage object is named by some array");
}

Test(typed, arrays_small_and_large_keep_elements_pointers_only)
{
    tu_pin_no_torture(); /* counts what one collection frees */
    init();
    gc_add_roots(arrays, arrays + NCOUNTS);
    static const size_t offs[] = {offsetof(elem, target)};
    const gc_type *t = gc_type_new("elem", sizeof(elem), offs, 1);
    cr_assert_not_null(t);
    static uintptr_t hidden[NOBJ];
    make_arrays(t, hidden);
    tu_collect_clean();
    tu_collect_clean();
    size_t freed = tu_count_freed(hidden, NOBJ);
    cr_assert_geq(freed, NOBJ - 8, "only %zu of %d objects named by array numbers were freed",
                  freed, NOBJ);
    for (size_t k = 0; k < NCOUNTS; k++)
        for (size_t i = 0; i < counts[k]; i++)
            cr_assert(tu_check(arrays[k][i].target, 32, k * 100000 + i),
                      "element %zu of the %zu-element array lost its block", i, counts[k]);
}

/* ---- a reused slot takes the new type's map ------------------------------------------ */

typedef struct four {
    uint64_t w[4];
} four;

#define NFILL 20000
static four *fill_keep[NFILL / 16]; /* registered root: one in 16 survives */

/* Fill spans with type t and keep one object in 16, so the spans stay in
 * use with free slots whose map still has t's bits. */
static TU_NOINLINE void fill_with_type(const gc_type *t)
{
    gc_add_roots(fill_keep, fill_keep + NFILL / 16);
    for (int i = 0; i < NFILL; i++) {
        four *f = gc_alloc_typed(t);
        cr_assert_not_null(f);
        if (i % 16 == 0)
            gc_store(&fill_keep[i / 16], f);
    }
}

Test(typed, a_reused_slot_forgets_the_earlier_types_pointer_words)
{
    init();
    uint64_t first3 = 0x7, last1 = 0x8; /* words 0-2 pointers / word 3 pointer */
    const gc_type *ta = gc_type_new_bitmap("ptrs-first", sizeof(four), &first3);
    const gc_type *tb = gc_type_new_bitmap("ptr-last", sizeof(four), &last1);
    cr_assert(ta && tb);
    /* Fill spans with type A, let most die: their slots are free with
     * A's bits still in the map. */
    fill_with_type(ta);
    tu_collect_clean();
    /* Type B objects reuse those slots, with addresses in words 0-2. */
    static uintptr_t hidden[NOBJ];
    make_garbage(hidden, 48);
    for (int i = 0; i < NOBJ; i++) {
        four *f = gc_alloc_typed(tb);
        cr_assert_not_null(f);
        for (int w = 0; w < 3; w++)
            f->w[w] = (uint64_t)(uintptr_t)tu_reveal(hidden[i]);
        gc_store(&keep[i], (tnode *)f);
    }
    tu_collect_clean();
    size_t freed = tu_count_freed(hidden, NOBJ);
    cr_assert_geq(freed, NOBJ - 8, "stale pointer bits: only %zu of %d freed", freed, NOBJ);
}

Test(typed, types_without_pointers_or_with_only_pointers)
{
    tu_pin_no_torture(); /* counts what one collection frees */
    init();
    const gc_type *none = gc_type_new("bytes", 13, NULL, 0);
    static const size_t all_offs[] = {0, 8};
    const gc_type *all = gc_type_new("pair", 16, all_offs, 2);
    cr_assert(none && all);
    static uintptr_t hidden[NOBJ];
    make_garbage(hidden, 48);
    for (int i = 0; i < NOBJ; i++) {
        void **p = gc_alloc_typed(all);
        uint64_t *q = gc_alloc_typed_array(none, 8);
        cr_assert(p && q);
        q[0] = (uint64_t)(uintptr_t)tu_reveal(hidden[i]); /* noscan: not a reference */
        gc_store(&p[1], q);
        gc_store(&keep[i], (tnode *)p);
    }
    tu_collect_clean();
    cr_assert_geq(tu_count_freed(hidden, NOBJ), NOBJ - 8);
    for (int i = 0; i < NOBJ; i++)
        cr_assert_neq(gc_base(((void **)keep[i])[1]), NULL, "an all-pointer type dropped its referent");
}

Test(typed, misuse_gets_a_message_and_null)
{
    init();
    tu_warn_capture();
    size_t bad_align[] = {4};
    cr_assert_null(gc_type_new("t", 16, bad_align, 1));
    tu_expect_one_warning("unaligned offset", "gc_type_new", "8-aligned");
    size_t past[] = {16};
    cr_assert_null(gc_type_new("t", 16, past, 1));
    tu_expect_one_warning("offset past the end", "gc_type_new", "past the end");
    size_t ok[] = {0};
    cr_assert_null(gc_type_new("t", 12, ok, 1));
    tu_expect_one_warning("size not a multiple of 8", "gc_type_new", "multiple of 8");
    cr_assert_null(gc_type_new("t", 0, NULL, 0));
    tu_expect_one_warning("size 0", "gc_type_new", "size");
    cr_assert_null(gc_type_new("t", 16, NULL, 1));
    tu_expect_one_warning("NULL offsets", "gc_type_new", "NULL");
    cr_assert_null(gc_alloc_typed(NULL));
    tu_expect_one_warning("NULL type", "gc_alloc_typed", "gc_type_new");
    gc_set_oom_handler(tu_oom_handler);
    cr_assert_null(gc_alloc_typed_array(tnode_type(), SIZE_MAX / 8));
    tu_expect_one_warning("overflowing count", "gc_alloc_typed_array", "overflows");
    cr_assert_eq(atomic_load(&tu_ooms()->calls), 1);
}

/* ---- threads rewiring typed graphs during concurrent marks --------------------------- */

#define NMUT 3
#define RING 512
static _Atomic int stop_all;

static TU_NOINLINE tnode *new_node(const gc_type *t, uint64_t seed)
{
    tnode *n = gc_alloc_typed(t);
    if (!n)
        return NULL;
    n->data0 = seed;
    n->data2 = ~seed;
    n->check = tu_mix(seed);
    return n;
}

static int node_ok(const tnode *n) { return n->check == tu_mix(n->data0) && n->data2 == ~n->data0; }


static void *typed_mutator(void *arg)
{
    const gc_type *t = arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    tnode **ring = calloc(RING, sizeof *ring);
    gc_add_roots(ring, ring + RING);
    uint64_t seed = (uint64_t)(uintptr_t)ring;
    for (int round = 0; round < 200000 && (round < 20000 || !atomic_load(&stop_all)); round++) {
        int i = (int)(tu_mix((uint64_t)round + seed) % RING);
        tnode *n = new_node(t, seed + (uint64_t)round);
        if (!n) {
            tu_fail("allocation failed");
            break;
        }
        /* Subtrees hang only off typed pointer words. */
        gc_store(&n->a, ring[i]);
        gc_store(&n->b, ring[(i + 1) % RING] ? ring[(i + 1) % RING]->a : NULL);
        gc_store(&ring[i], n);
        if (round % 1000 == 0)
            for (int k = 0; k < RING; k++) {
                int depth = 0; /* a sample: the first 64 nodes of each chain */
                for (tnode *m = ring[k]; m && depth < 64; m = m->a, depth++) {
                    if (!node_ok(m)) {
                        tu_fail("a reachable typed node was corrupted (freed?)");
                        goto out;
                    }
                    if (m->b && !node_ok(m->b)) {
                        tu_fail("a typed node's b was corrupted (freed?)");
                        goto out;
                    }
                }
            }
        /* Cut chains now and then so the heap stays bounded. */
        if (round % 7 == 0 && ring[i]->a)
            gc_store(&ring[i]->a->a, (tnode *)NULL);
    }
out:
    gc_remove_roots(ring, ring + RING);
    free(ring);
    gc_unregister_thread();
    return NULL;
}

static void run_typed_mutators(void)
{
    void *t = (void *)tnode_type();
    void *const args[NMUT] = {t, t, t};
    tu_mutators_beside_collections(NMUT, typed_mutator, args, 30, &stop_all);
}

Test(typed, threads_rewiring_typed_graphs_during_concurrent_marks, .timeout = 240)
{
    init();
    run_typed_mutators();
}

Test(typed, under_torture, .timeout = 240)
{
    setenv("MGC_TORTURE", "2000", 1);
    init();
    run_typed_mutators();
    /* Torture was on: 8000 allocations by this one thread force at least
     * three cycles of its own, each waited for in turn.  (Counting the
     * cycles of the run above was not deterministic: the mutators'
     * requests may all share the main thread's 30 collections, which a
     * loaded machine under MGC_CHECKMARK made happen.) */
    uint64_t before = tu_stats().num_gc;
    for (int i = 0; i < 8000; i++)
        cr_assert_not_null(new_node(tnode_type(), (uint64_t)i));
    cr_assert_geq(tu_stats().num_gc - before, 3);
}
