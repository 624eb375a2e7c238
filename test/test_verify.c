/*
 * test_verify.c -- gc_verify_heap: silent on a sound heap of every kind of
 * object, and names each kind of metadata damage when the test breaks an
 * invariant by hand (then repairs it and the heap verifies again).  A
 * verifier that checks nothing would pass the first test and fail the
 * others.
 */
#include "test/test_util.h"

#include "gc/gc.h"

static void *roots[4096]; /* registered root */

/* A heap with small, tiny, typed, large and partly dead objects, and a
 * weak reference. */
static TU_NOINLINE void varied_heap(void)
{
    static const size_t offs[] = {8};
    const gc_type *t = gc_type_new("pair", 16, offs, 1);
    cr_assert_not_null(t);
    for (int i = 0; i < 4096; i++) {
        void *p;
        switch (i % 5) {
        case 0: p = gc_alloc(24 + (size_t)(i % 200)); break;
        case 1: p = gc_alloc_noscan(1 + (size_t)(i % 15)); break;
        case 2: p = gc_alloc_typed(t); break;
        case 3: p = gc_alloc(i % 50 == 3 ? 100000 : 512); break;
        default: p = gc_alloc_noscan(4096); break;
        }
        cr_assert_not_null(p);
        if (i % 3)
            gc_store(&roots[i], p);
    }
    cr_assert_not_null(gc_weak_new(roots[1]));
}

static void init(void)
{
    unsetenv("MGC_VERIFY");
    tu_init();
    gc_add_roots(roots, roots + 4096);
    varied_heap();
    gc_collect();
}

/* Run the verifier, expecting no problem, or (broken) at least one: the
 * damage `what` should be reported as a line about `word` on stderr. */
static void expect(const char *what, int broken, const char *word)
{
    size_t n = gc_verify_heap();
    if (!broken)
        cr_assert_eq(n, 0, "%s: a sound heap verified with %zu problems", what, n);
    else
        cr_assert_gt(n, 0, "%s: the verifier did not notice (%s)", what, word);
}

Test(verify, a_sound_heap_verifies)
{
    init();
    expect("after a collection", 0, NULL);
    for (int i = 0; i < 4096; i += 2)
        gc_store(&roots[i], NULL);
    gc_collect();
    gc_free_os_memory(); /* released runs too */
    expect("after dropping half and releasing memory", 0, NULL);
}

static mspan *span_of_root(int i)
{
    mspan *s = mgc_span_of_heap((uintptr_t)roots[i]);
    cr_assert_not_null(s);
    return s;
}

Test(verify, notices_a_wrong_allocation_count)
{
    init();
    mspan *s = span_of_root(1);
    s->alloc_count++;
    expect("alloc_count + 1", 1, "alloc_count");
    s->alloc_count--;
    expect("repaired", 0, NULL);
}

Test(verify, notices_a_stray_mark_bit)
{
    init();
    mspan *s = span_of_root(2);
    s->gcmark_bits[0] ^= 1;
    expect("mark bit between cycles", 1, "mark bits");
    s->gcmark_bits[0] ^= 1;
    expect("repaired", 0, NULL);
}

Test(verify, notices_a_page_that_maps_elsewhere)
{
    init();
    mspan *s = span_of_root(4);   /* a 4 KiB noscan object */
    mspan *other = span_of_root(7); /* a typed pair */
    cr_assert_neq(s, other);
    mgc_arena_set_span(s->base, other);
    expect("page table", 1, "map back");
    mgc_arena_set_span(s->base, s);
    expect("repaired", 0, NULL);
}

Test(verify, notices_wrong_byte_totals)
{
    init();
    atomic_fetch_add(&mgc_hstats.heap_inuse, MGC_PAGE_SIZE);
    expect("heap_inuse", 1, "heap_inuse");
    atomic_fetch_sub(&mgc_hstats.heap_inuse, MGC_PAGE_SIZE);
    expect("repaired", 0, NULL);
}

Test(verify, notices_a_span_on_the_wrong_list_and_bad_geometry)
{
    init();
    mspan *s = span_of_root(5);
    size_t es = s->elemsize;
    s->elemsize += 8;
    expect("slot size", 1, "slots");
    s->elemsize = es;
    uint16_t sc = s->spanclass;
    s->spanclass = (uint16_t)(sc ^ MGC_KIND_NOSCAN);
    expect("span class", 1, "class");
    s->spanclass = sc;
    expect("repaired", 0, NULL);
}

Test(verify, notices_a_free_mask_out_of_step)
{
    init();
    int n = 127; /* a run length no test heap has */
    cr_assert_null(mgc_heap.free_small[n].first);
    mgc_heap.free_mask[n / 64] |= (uint64_t)1 << (n % 64);
    expect("free_mask", 1, "free_mask");
    mgc_heap.free_mask[n / 64] &= ~((uint64_t)1 << (n % 64));
    expect("repaired", 0, NULL);
}

Test(verify, every_cycle_under_MGC_VERIFY, .timeout = 120)
{
    setenv("MGC_VERIFY", "1", 1);
    tu_init();
    gc_add_roots(roots, roots + 4096);
    for (int round = 0; round < 20; round++) {
        varied_heap();
        gc_collect(); /* verified by the coordinator: it aborts on a problem */
    }
    cr_assert_eq(gc_verify_heap(), 0);
}
