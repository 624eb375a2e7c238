/*
 * test_maxheap.c -- the hard heap limit (MGC_MAXHEAP, gc_set_max_heap):
 * at the limit an allocation collects first, fails with the out-of-memory
 * handler only if the live heap really fills the limit, and allocation
 * works again once memory is freed.
 */
#include "test/test_util.h"

#define BIG ((size_t)1 << 20)
#define NHELD 256
static void *held[NHELD]; /* registered root */

static int oom_calls;
static void count_oom(size_t n)
{
    (void)n;
    oom_calls++;
}

Test(maxheap, garbage_alone_never_hits_the_limit)
{
    setenv("MGC_MAXHEAP", "64M", 1);
    tu_init();
    gc_set_percent(-1); /* only the limit collects */
    gc_set_oom_handler(count_oom);
    for (int i = 0; i < 400; i++) { /* 400 MiB of garbage through a 64 MiB heap */
        char *p = gc_alloc_noscan(BIG);
        cr_assert_not_null(p, "allocation %d failed although everything before it is garbage", i);
        p[0] = 1;
    }
    for (int i = 0; i < 2000000; i++) /* and small objects: 64 MiB of them */
        cr_assert_not_null(gc_alloc(32));
    gc_stats st = tu_stats();
    cr_assert_eq(oom_calls, 0);
    cr_assert_gt(st.num_gc, 3, "the limit did not make the collector run");
    cr_assert_leq(st.heap_inuse, (uint64_t)64 << 20);
}

/* ** Fill held[] with 1 MiB objects until one fails; returns how many.  A
 * helper, so that the last pointer allocated (held[n - 1], freed again by
 * the caller when n - 1 is even) is not left in the test's own frame,
 * where the conservative stack scan would keep its MiB alive and fail the
 * re-allocation at the limit (seen under ASan, with n = 63). */
static TU_NOINLINE int fill_to_limit(void)
{
    int n = 0;
    for (; n < NHELD; n++) {
        void *p = gc_alloc_noscan(BIG);
        if (!p)
            break;
        gc_store(&held[n], p);
    }
    return n;
}

Test(maxheap, live_heap_at_the_limit_gets_null_and_the_handler_then_recovers)
{
    setenv("MGC_MAXHEAP", "64M", 1);
    tu_init();
    gc_set_oom_handler(count_oom);
    gc_add_roots(held, held + NHELD);
    int n = fill_to_limit();
    cr_assert(n > 32 && n <= 64, "%d live MiB fit under a 64 MiB limit", n);
    cr_assert_eq(oom_calls, 1, "the handler ran %d times for one failure", oom_calls);
    gc_stats st = tu_stats();
    cr_assert_leq(st.heap_inuse, (uint64_t)64 << 20);
    /* The heap is intact and usable: free half, allocate again. */
    for (int i = 0; i < n; i += 2)
        gc_store(&held[i], NULL);
    tu_clear_stack(); /* no dead slot may keep a freed MiB alive */
    for (int i = 0; i < n; i += 2) {
        void *p = gc_alloc_noscan(BIG);
        cr_assert_not_null(p, "allocation after freeing failed (%d)", i);
        gc_store(&held[i], p);
    }
    cr_assert_eq(oom_calls, 1);
    /* Raising the limit lets it grow. */
    cr_assert_eq(gc_set_max_heap((size_t)128 << 20), (size_t)64 << 20);
    cr_assert_not_null(gc_alloc_noscan(BIG));
}
