/*
 * test_plainroots.c -- plain stores into a gc_add_roots() range are safe.
 *
 * The contract (mgc.h rule 4): a range added with gc_add_roots() may be
 * written with plain assignments while collections run; no object is lost.
 * Four threads replace, move and check objects in a registered global
 * array with stores that carry no barrier, while the test's thread forces
 * collections under MGC_CHECKMARK (which aborts on any reachable object the
 * concurrent mark missed).  Moving an object goes through the mover's stack
 * (take it out of one slot, allocate, store it into another): the path that
 * a concurrent scan of the range alone cannot follow.  Every object carries
 * a checksum and a child; a freed-and-reused object fails its check.
 *
 * The slot accesses are acquire/release atomics only so that the test has
 * no C data race (another thread reads the object it publishes): on x86-64
 * they are plain loads and stores and an exchange, with no write barrier.
 */
#include "test/test_util.h"

typedef struct pobj {
    struct pobj *kid; /* a second object reachable only through this one */
    uint64_t seed;
    uint64_t n;
    unsigned char data[];
} pobj;

#define NSLOT 16384
static pobj *slots[NSLOT]; /* registered; written only with plain stores */
static _Atomic int mut_stop;

static pobj *make_one(uint64_t seed, size_t n)
{
    pobj *p = gc_alloc(sizeof *p + n);
    if (!p)
        return NULL;
    p->seed = seed;
    p->n = n;
    tu_fill(p->data, n, seed);
    return p;
}

static pobj *make_pair(uint64_t seed)
{
    pobj *p = make_one(seed, 8 + seed % 120);
    pobj *k = make_one(seed + 1, 8 + (seed >> 8) % 40);
    if (!p || !k)
        return NULL;
    gc_store(&p->kid, k); /* a heap store: the barrier, as always */
    return p;
}

static int one_ok(const pobj *p, uint64_t seed)
{
    return gc_base((void *)p) == p && p->seed == seed && tu_check(p->data, p->n, seed);
}

/* ** The object and its child are allocated and hold what was written. */
static int pair_ok(const pobj *p)
{
    return one_ok(p, p->seed) && p->kid && one_ok(p->kid, p->seed + 1);
}

static pobj *slot_get(size_t i) { return __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE); }
static void slot_put(size_t i, pobj *p) { __atomic_store_n(&slots[i], p, __ATOMIC_RELEASE); }

/* ** Garbage, to make cycles run and to give a moved object time on the
 * mover's stack only. */
static void churn(uint64_t r)
{
    for (int k = 0; k < 6; k++) {
        void *g = gc_alloc(32 + (r >> (k * 4)) % 200);
        if (!g)
            tu_fail("gc_alloc returned NULL");
        __asm__ volatile("" ::"r"(g) : "memory");
    }
}

static void *plain_mutator(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg << 40;
    if (gc_register_thread() != GC_OK) {
        tu_fail("gc_register_thread failed");
        return NULL;
    }
    while (!atomic_load_explicit(&mut_stop, memory_order_relaxed)) {
        uint64_t r = tu_mix(seed++);
        size_t i = r % NSLOT, j = (r >> 20) % NSLOT;
        pobj *p;
        switch ((r >> 40) % 4) {
        case 0:
        case 1: /* replace: the old object becomes garbage */
            p = make_pair(seed << 1);
            if (!p)
                tu_fail("gc_alloc returned NULL");
            slot_put(i, p);
            break;
        case 2: /* move through this thread's stack */
            p = __atomic_exchange_n(&slots[i], NULL, __ATOMIC_ACQ_REL);
            if (!p)
                break;
            churn(r);
            if (!pair_ok(p))
                tu_fail("moved object %p was freed or overwritten while held", (void *)p);
            slot_put(j, p);
            break;
        default: /* check */
            p = slot_get(i);
            if (p && !pair_ok(p))
                tu_fail("object %p in slot %zu was freed or overwritten", (void *)p, i);
            churn(r);
        }
    }
    gc_unregister_thread();
    return NULL;
}

static void init_checkmark(void)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = 1;
    int rc = gc_init(&cfg);
    cr_assert_eq(rc, GC_OK, "gc_init: %s", gc_strerror(rc));
}

/* ** Every slot's object is intact; returns how many slots hold one. */
static size_t assert_slots_intact(void)
{
    size_t held = 0;
    for (size_t i = 0; i < NSLOT; i++) {
        pobj *p = slot_get(i);
        if (!p)
            continue;
        held++;
        cr_assert(pair_ok(p), "slot %zu: object %p was freed or overwritten", i, (void *)p);
    }
    return held;
}

/* ** Fill the slots, run four plain-store mutators beside forced
 * collections, then check every object. */
static void fill_and_mutate(void)
{
    for (size_t i = 0; i < NSLOT; i++)
        slot_put(i, make_pair(i * 7919));
    void *args[4] = {(void *)1, (void *)2, (void *)3, (void *)4};
#ifdef __SANITIZE_THREAD__
    int collects = 10;
#else
    int collects = 60;
#endif
    tu_mutators_beside_collections(4, plain_mutator, args, collects, &mut_stop);
    gc_collect();
    size_t held = assert_slots_intact();
    cr_assert_gt(held, NSLOT / 4, "test precondition: only %zu slots hold objects", held);
    gc_stats st = tu_stats();
    cr_assert_geq(st.num_gc, (uint64_t)collects, "test precondition: %llu cycles",
                  (unsigned long long)st.num_gc);
}

Test(plainroots, plain_stores_into_added_roots_lose_nothing, .timeout = 300)
{
    init_checkmark();
    gc_add_roots(slots, slots + NSLOT);
    fill_and_mutate();
    gc_remove_roots(slots, slots + NSLOT);
}

/* The same stores into the same global array, not registered this time:
 * with static_roots (MGC_STATIC_ROOTS=1, gc/staticroots.c) the program's
 * .bss is a root, plain stores included. */
Test(plainroots, plain_stores_into_static_data_lose_nothing, .timeout = 300)
{
    setenv("MGC_STATIC_ROOTS", "1", 1);
    init_checkmark();
    unsetenv("MGC_STATIC_ROOTS");
    cr_assert_gt(tu_stats().static_root_bytes, sizeof slots, "static data is not scanned");
    fill_and_mutate();
}
