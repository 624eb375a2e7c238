/*
 * test_collect.c -- whole collections: deep and wide object graphs, memory
 * reuse under a steady garbage stream, pacing, and the statistics.
 */
#include "test/test_util.h"

typedef struct lnode {
    struct lnode *next;
    long payload;
} lnode;

/* ---- deep: a 10-million-node list --------------------------------------------- */

static TU_NOINLINE lnode *build_list(long n)
{
    lnode *head = gc_alloc(sizeof *head), *tail = head;
    cr_assert_not_null(head);
    for (long i = 1; i < n; i++) {
        lnode *x = gc_alloc(sizeof *x);
        if (!x)
            cr_assert_fail("allocation %ld of the list failed", i);
        x->payload = i;
        gc_store(&tail->next, x);
        tail = x;
    }
    return head;
}

/* Walk the list: count, payload sum, and every node still an allocated
 * object of its own.  Returns the count; *bad gets the first dead node. */
static long walk_list(const lnode *head, long *sum, long *bad)
{
    long n = 0, s = 0;
    *bad = -1;
    for (const lnode *x = head; x; x = x->next, n++) {
        if (*bad < 0 && gc_base(x) != (const void *)x)
            *bad = n;
        s += x->payload;
    }
    *sum = s;
    return n;
}

/* Allocate n objects of the given size and scribble on them: any slot that
 * was wrongly freed is handed out here and overwritten. */
static TU_NOINLINE void churn(size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        uint64_t *x = gc_alloc(size);
        cr_assert_not_null(x);
        for (size_t k = 0; k < size / 8; k++)
            x[k] = 0xDEADBEEFDEADBEEFu;
    }
}

Test(collect, ten_million_node_list_survives, .timeout = 120)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    tu_init();
    const long n = 10 * 1000 * 1000;
    cr_assert_eq(gc_size(gc_alloc(sizeof(lnode))), 16, "test precondition: 16-byte nodes");
    lnode *volatile head = build_list(n);
    gc_collect();

    long sum, bad;
    long count = walk_list(head, &sum, &bad);
    cr_assert_eq(count, n, "list has %ld nodes after gc_collect, want %ld", count, n);
    cr_assert_eq(bad, -1, "node %ld of the list is no longer allocated", bad);
    cr_assert_eq(sum, n * (n - 1) / 2, "payload sum %ld, want %ld", sum, n * (n - 1) / 2);
    gc_stats st = tu_stats();
    cr_assert_geq(st.heap_marked, (uint64_t)n * sizeof(lnode), "marked %llu bytes",
                  (unsigned long long)st.heap_marked);

    /* Freed nodes would now be handed out again and overwritten. */
    churn(sizeof(lnode), 2 * 1000 * 1000);
    gc_collect();
    count = walk_list(head, &sum, &bad);
    cr_assert_eq(count, n);
    cr_assert_eq(bad, -1, "node %ld of the list is no longer allocated", bad);
    cr_assert_eq(sum, n * (n - 1) / 2);
}

/* ---- wide: one object holding a million pointers ------------------------------------ */

/* Each element points to a leaf that points to a tail: a marker that lost
 * queued (grey) leaves would still have marked them, but not their tails. */
typedef struct tail {
    uint64_t a, b, c;
} tail;
typedef struct leaf {
    struct tail *tail;
    uint64_t a, b;
} leaf;

static int leaf_ok(const leaf *l, size_t i)
{
    return gc_base(l) == (const void *)l && gc_base(l->tail) == (const void *)l->tail &&
           l->a == i && l->b == tu_mix(i) && l->tail->a == ~(uint64_t)i &&
           l->tail->c == tu_mix(~(uint64_t)i);
}

Test(collect, million_pointer_array_survives, .timeout = 60)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    tu_init();
    const size_t n = 1000 * 1000;
    /* The 8 MB array alone passes the first heap goal; keep automatic
     * collection off while it is allocated (alloc/large_alloc_that_starts_a_
     * collection covers that path), on while it is filled. */
    gc_set_percent(-1);
    leaf **volatile arr = gc_alloc_array(n, sizeof(leaf *));
    cr_assert_not_null(arr);
    gc_set_percent(100);
    uint64_t gc0 = tu_stats().num_gc;
    for (size_t i = 0; i < n; i++) {
        leaf *l = gc_alloc(sizeof *l);
        tail *t = gc_alloc(sizeof *t);
        cr_assert(l && t);
        l->a = i;
        l->b = tu_mix(i);
        t->a = ~(uint64_t)i;
        t->c = tu_mix(~(uint64_t)i);
        gc_store(&l->tail, t);
        gc_store(&arr[i], l);
    }
    cr_assert_gt(tu_stats().num_gc, gc0, "test precondition: no collection while filling");
    gc_collect();
    churn(sizeof(leaf), 1000 * 1000); /* reuse anything wrongly freed */
    gc_collect();
    for (size_t i = 0; i < n; i++)
        if (!leaf_ok(arr[i], i))
            cr_assert_fail("element %zu or its tail was freed or corrupted", i);
}

/* ---- cycles are garbage too ----------------------------------------------------------- */

#define CYC 2000
static uintptr_t cyc_h[CYC];
static TU_NOINLINE void make_cycles(void)
{
    lnode *first = NULL, *prev = NULL;
    for (int i = 0; i < CYC; i++) {
        lnode *x = gc_alloc(sizeof *x);
        x->payload = i;
        if (prev)
            gc_store(&prev->next, x);
        else
            first = x;
        prev = x;
        cyc_h[i] = tu_hide(x);
        if (i % 100 == 99) { /* close a ring of 100 */
            gc_store(&x->next, first);
            prev = NULL;
        }
    }
}

Test(collect, unreachable_cycles_are_freed)
{
    tu_init();
    make_cycles();
    tu_collect_clean();
    size_t n = tu_count_freed(cyc_h, CYC);
    cr_assert_geq(n, CYC * 9 / 10, "only %zu of %d objects in unreachable rings freed", n, CYC);
}

/* ---- a steady stream of garbage -------------------------------------------------------- */

#define LIVE_N 16384
#define LIVE_SIZE 128
static void *live[LIVE_N];

static TU_NOINLINE uint64_t garbage_stream(uint64_t bytes, uint64_t *max_inuse,
                                           uint64_t *max_sys)
{
    static const size_t sizes[] = {16, 24, 48, 100, 256, 1000, 3000, 8000, 30000};
    uint64_t done = 0, next_sample = 0;
    void *chain = NULL;
    for (unsigned i = 0; done < bytes; i++) {
        size_t n = sizes[i % 9];
        void **p = (i % 4 == 3) ? gc_alloc_noscan(n) : gc_alloc(n);
        cr_assert_not_null(p);
        if (i % 4 != 3) { /* short chains of garbage pointing at garbage */
            gc_store(&p[0], chain);
            chain = (i % 64 == 0) ? NULL : p;
        } else {
            memset(p, 0x3C, n);
        }
        done += n;
        if (done >= next_sample) {
            gc_stats st = tu_stats();
            *max_inuse = st.heap_inuse > *max_inuse ? st.heap_inuse : *max_inuse;
            *max_sys = st.heap_sys > *max_sys ? st.heap_sys : *max_sys;
            next_sample = done + 256 * 1024;
        }
    }
    return done;
}

/* 120 s: about 33 s alone at MGC_TORTURE=1, where it stays on: its live
 * objects are checked after a collection per allocation. */
Test(collect, garbage_is_reused_and_heap_stays_bounded, .timeout = 120)
{
    tu_init();
    gc_set_percent(100);
    gc_add_roots(live, live + LIVE_N);
    uint64_t live_bytes = 0;
    for (int i = 0; i < LIVE_N; i++) {
        live[i] = gc_alloc(LIVE_SIZE);
        cr_assert_not_null(live[i]);
        tu_fill(live[i], LIVE_SIZE, (uint64_t)i);
        live_bytes += gc_size(live[i]);
    }
    gc_stats s0 = tu_stats();
    uint64_t max_inuse = 0, max_sys = 0;
    uint64_t garbage = garbage_stream(100 * live_bytes, &max_inuse, &max_sys);
    gc_stats s1 = tu_stats();

    cr_assert_gt(s1.num_gc - s1.num_forced_gc, s0.num_gc - s0.num_forced_gc,
                 "no automatic collection in %llu bytes of garbage",
                 (unsigned long long)garbage);
    cr_assert_eq(s1.num_forced_gc, 0);
    cr_assert_leq(max_sys, 128 * TU_MIB, "heap_sys reached %llu MiB for a %llu KiB live set",
                  (unsigned long long)(max_sys >> 20), (unsigned long long)(live_bytes >> 10));
    cr_assert_leq(max_inuse, 16 * TU_MIB + 4 * live_bytes,
                  "heap_inuse reached %.1f MiB for a %.1f MiB live set", max_inuse / 1048576.0,
                  live_bytes / 1048576.0);
    cr_assert_geq(s1.total_alloc - s0.total_alloc, garbage);
    cr_assert_gt(s1.num_free, s0.num_free);
    for (int i = 0; i < LIVE_N; i++)
        cr_assert(tu_check(live[i], LIVE_SIZE, (uint64_t)i), "live object %d corrupted", i);
}

/* ---- statistics ----------------------------------------------------------------------- */

Test(collect, stats_count_allocations_and_cycles)
{
    tu_pin_no_torture(); /* counts the automatic collections */
    tu_init();
    int old = gc_set_percent(-1);
    cr_assert_eq(old, 100, "gc_set_percent returned %d, want the default 100", old);

    enum { N = 5000 };
    void **keep = calloc(N, sizeof *keep);
    gc_add_roots(keep, keep + N);
    gc_stats s0 = tu_stats();
    uint64_t requested = 0, slots = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 16 + (size_t)(i * 37) % 3000;
        if (i % 500 == 0)
            n = 40000 + (size_t)i; /* a few large ones */
        keep[i] = (i % 2) ? gc_alloc(n) : gc_alloc_noscan(n);
        cr_assert_not_null(keep[i]);
        requested += n;
        slots += gc_size(keep[i]);
    }
    gc_stats s1 = tu_stats();
    cr_assert_eq(s1.num_alloc - s0.num_alloc, N, "num_alloc grew by %llu for %d allocations",
                 (unsigned long long)(s1.num_alloc - s0.num_alloc), N);
    uint64_t dt = s1.total_alloc - s0.total_alloc;
    cr_assert(dt >= requested && dt <= slots,
              "total_alloc grew by %llu; requested %llu bytes in %llu bytes of slots",
              (unsigned long long)dt, (unsigned long long)requested, (unsigned long long)slots);
    cr_assert_eq(s1.num_gc, s0.num_gc, "a collection ran with automatic collection off");
    cr_assert_geq(s1.heap_objects, N);
    cr_assert_geq(s1.heap_alloc, slots);
    cr_assert_eq(s1.num_threads, 1);
    cr_assert_eq(s1.next_gc, UINT64_MAX, "next_gc with automatic collection off");
    cr_assert_geq(s1.heap_sys, s1.heap_inuse);
    cr_assert_geq(s1.heap_inuse, s1.heap_alloc);
    cr_assert_gt(s1.meta_sys, 0);

    for (int k = 1; k <= 3; k++) {
        gc_collect();
        gc_stats s = tu_stats();
        cr_assert_eq(s.num_gc, s1.num_gc + (uint64_t)k, "gc_collect %d: num_gc %llu", k,
                     (unsigned long long)s.num_gc);
        cr_assert_eq(s.num_forced_gc, s1.num_forced_gc + (uint64_t)k);
        cr_assert_eq(s.num_alloc, s1.num_alloc, "collections counted as allocations");
        cr_assert_geq(s.heap_marked, slots, "heap_marked %llu below the live %llu",
                      (unsigned long long)s.heap_marked, (unsigned long long)slots);
    }
    gc_remove_roots(keep, keep + N);
    free(keep);
}

#define HA_LIVE 2000
#define HA_DEAD 20000
static void *ha_live[HA_LIVE];
static uintptr_t ha_dead[HA_DEAD];
static TU_NOINLINE void ha_make(uint64_t *live_bytes)
{
    uint64_t lb = 0;
    for (int i = 0; i < HA_DEAD; i++) {
        if (i % 10 == 0) {
            ha_live[i / 10] = gc_alloc(512);
            lb += gc_size(ha_live[i / 10]);
        }
        void *p = gc_alloc(512);
        memset(p, 0x61, 512);
        ha_dead[i] = tu_hide(p);
    }
    *live_bytes = lb;
}

Test(collect, heap_alloc_after_collect_is_the_live_set)
{
    tu_pin_no_torture(); /* heap_alloc must hold the garbage */
    tu_init();
    gc_set_percent(-1);
    gc_add_roots(ha_live, ha_live + HA_LIVE);
    uint64_t live_bytes;
    ha_make(&live_bytes);
    gc_stats s0 = tu_stats();
    cr_assert_geq(s0.heap_alloc, live_bytes + (uint64_t)HA_DEAD * 512);
    tu_collect_clean();
    gc_stats s1 = tu_stats();
    size_t nfreed = tu_count_freed(ha_dead, HA_DEAD);
    cr_assert_geq(nfreed, HA_DEAD * 9 / 10);
    cr_assert_eq(s1.num_free - s0.num_free, nfreed, "num_free grew by %llu, %zu objects freed",
                 (unsigned long long)(s1.num_free - s0.num_free), nfreed);
    uint64_t slack = live_bytes / 10 + (uint64_t)(HA_DEAD - nfreed) * 512;
    cr_assert(s1.heap_alloc >= live_bytes && s1.heap_alloc <= live_bytes + slack,
              "heap_alloc %llu after collect, live set %llu",
              (unsigned long long)s1.heap_alloc, (unsigned long long)live_bytes);
    cr_assert(s1.heap_marked >= live_bytes && s1.heap_marked <= live_bytes + slack,
              "heap_marked %llu, live set %llu", (unsigned long long)s1.heap_marked,
              (unsigned long long)live_bytes);
    cr_assert(s1.heap_objects >= HA_LIVE && s1.heap_objects <= HA_LIVE + (HA_DEAD - nfreed) + 10,
              "heap_objects %llu, live objects %d", (unsigned long long)s1.heap_objects, HA_LIVE);
}

Test(collect, pause_statistics)
{
    tu_pin_stw_phases();
    tu_init();
    gc_stats s0 = tu_stats();
    cr_assert_eq(s0.num_gc, 0);
    cr_assert_eq(s0.pause_total_ns, 0);
    void *volatile keep = gc_alloc(100);
    (void)keep;
    gc_collect();
    gc_stats s1 = tu_stats();
    cr_assert_gt(s1.pause_max_ns, 0, "no pause recorded");
    cr_assert_geq(s1.pause_total_ns, s1.pause_max_ns);
    cr_assert_geq(s1.num_pauses, 1);
    /* The pause log adds up to the total. */
    uint64_t log[64], sum = 0;
    size_t n = gc_get_pauses(log, 64);
    cr_assert_eq(n, s1.num_pauses);
    for (size_t i = 0; i < n; i++) sum += log[i];
    cr_assert_eq(sum, s1.pause_total_ns, "pause log sums to %llu, total says %llu",
                 (unsigned long long)sum, (unsigned long long)s1.pause_total_ns);
    cr_assert_eq(log[n - 1], s1.last_pause_ns);
    for (int i = 0; i < 5; i++)
        gc_collect();
    gc_stats s2 = tu_stats();
    cr_assert_geq(s2.pause_total_ns, s2.pause_max_ns);
    cr_assert_geq(s2.pause_max_ns, s2.last_pause_ns);
    cr_assert_geq(s2.pause_max_ns, s1.pause_max_ns);
    cr_assert_geq(s2.pause_total_ns, s1.pause_total_ns + s2.last_pause_ns);
}

Test(collect, set_percent_off_stops_automatic_collection, .timeout = 60)
{
    tu_pin_no_torture(); /* counts the automatic collections */
    tu_init();
    cr_assert_eq(gc_set_percent(-1), 100);
    cr_assert_eq(tu_stats().next_gc, UINT64_MAX);
    gc_stats s0 = tu_stats();
    uint64_t a = 0, b = 0;
    garbage_stream(64 * TU_MIB, &a, &b);
    gc_stats s1 = tu_stats();
    cr_assert_eq(s1.num_gc, s0.num_gc, "%llu collections ran with automatic collection off",
                 (unsigned long long)(s1.num_gc - s0.num_gc));
    cr_assert_geq(s1.heap_inuse, 32 * TU_MIB, "garbage was reclaimed without a collection?");

    int old = gc_set_percent(100);
    cr_assert_lt(old, 0, "gc_set_percent returned %d for the old 'off' setting", old);
    cr_assert_neq(tu_stats().next_gc, UINT64_MAX);
    garbage_stream(16 * TU_MIB, &a, &b);
    gc_stats s2 = tu_stats();
    cr_assert_gt(s2.num_gc, s1.num_gc, "turning automatic collection back on did nothing");
    cr_assert_eq(s2.num_forced_gc, 0);
    cr_assert_lt(s2.heap_inuse, s1.heap_inuse);
}
