/*
 * test_roots.c -- what keeps an object alive, and what does not.
 *
 * Each test keeps some objects through one kind of reference and drops
 * others in the same collection, then asserts both halves: the kept ones are
 * allocated and intact, and most of the dropped ones were freed.  A collector
 * that frees nothing fails the second half; one that misses a root fails the
 * first.
 */
#include "test/test_util.h"

#define OBJ 96
#define NDROP 1000
static uintptr_t drop_h[NDROP];

/* NDROP unreferenced objects of a few sizes, remembered hidden. */
static TU_NOINLINE void make_garbage(void)
{
    for (int i = 0; i < NDROP; i++) {
        size_t n = (i % 3 == 0) ? 24 : (i % 3 == 1) ? OBJ : 700;
        char *p = gc_alloc(n);
        cr_assert_not_null(p);
        memset(p, 0x42, n);
        drop_h[i] = tu_hide(p);
    }
}
static void assert_garbage_freed(void)
{
    size_t n = tu_count_freed(drop_h, NDROP);
    cr_assert_geq(n, NDROP * 9 / 10, "only %zu of %d unreferenced objects were freed", n, NDROP);
}

static TU_NOINLINE void *make_obj(size_t n, uint64_t seed)
{
    char *p = gc_alloc(n);
    cr_assert_not_null(p);
    tu_fill(p, n, seed);
    return p;
}

/* ---- interior pointers ------------------------------------------------------------ */

#define NINT 300
static char *int_roots[NINT]; /* registered: interior pointers only */
static const size_t int_sizes[] = {16, 48, 1000, 5000, 32768, 200 * 1024};
#define NSIZES (sizeof int_sizes / sizeof int_sizes[0])

static size_t int_size(int i) { return int_sizes[i % NSIZES]; }
/* Where inside object i its only reference points. */
static size_t int_offset(int i)
{
    size_t n = int_size(i);
    switch (i % 3) {
    case 0: return n / 2;
    case 1: return n - 1;
    default: return 1;
    }
}

static TU_NOINLINE void int_make(void)
{
    for (int i = 0; i < NINT; i++) {
        char *p = make_obj(int_size(i), (uint64_t)i);
        int_roots[i] = p + int_offset(i);
    }
}

Test(roots, interior_pointers_keep_objects_alive, .timeout = 60)
{
    tu_init();
    gc_set_percent(-1); /* large objects: see alloc/large_alloc_that_starts_a_collection */
    gc_add_roots(int_roots, int_roots + NINT);
    int_make();
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    for (int i = 0; i < NINT; i++) {
        char *base = int_roots[i] - int_offset(i);
        cr_assert_eq(gc_base(int_roots[i]), (void *)base,
                     "object %d (%zu bytes) held by a pointer at offset %zu was freed", i,
                     int_size(i), int_offset(i));
        cr_assert(tu_check(base, int_size(i), (uint64_t)i), "object %d corrupted", i);
    }
    /* Reuse freed memory, then look again. */
    for (int i = 0; i < 3 * NDROP; i++)
        memset(gc_alloc(OBJ), 0xEE, OBJ);
    gc_collect();
    for (int i = 0; i < NINT; i++)
        cr_assert(tu_check(int_roots[i] - int_offset(i), int_size(i), (uint64_t)i),
                  "object %d corrupted after reuse", i);
}

/* ---- the stack ------------------------------------------------------------------ */

Test(roots, pointer_only_on_the_stack_keeps_object_alive)
{
    tu_init();
    void *volatile p = make_obj(OBJ, 7);
    char *volatile q = (char *)make_obj(5000, 8) + 2500; /* interior, too */
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    cr_assert_eq(gc_base(p), p, "object held by a stack local was freed");
    cr_assert_eq(gc_base(q), (void *)(q - 2500), "object held by an interior stack pointer freed");
    for (int i = 0; i < 3 * NDROP; i++)
        memset(gc_alloc(OBJ), 0xEE, OBJ);
    cr_assert(tu_check(p, OBJ, 7), "stack-held object overwritten");
    cr_assert(tu_check(q - 2500, 5000, 8), "interior-held object overwritten");
}

/* Another thread's stack is a root too while it is registered. */
typedef struct stack_thread_arg {
    pthread_barrier_t *bar;
    _Atomic uintptr_t hidden;
} stack_thread_arg;

static void *barrier_wait_fn(void *bar)
{
    pthread_barrier_wait(bar);
    return NULL;
}

static void *stack_thread(void *v)
{
    stack_thread_arg *a = v;
    if (gc_register_thread() != GC_OK) {
        tu_fail("gc_register_thread failed");
        pthread_barrier_wait(a->bar);
        pthread_barrier_wait(a->bar);
        return NULL;
    }
    void *volatile mine = make_obj(3000, 99);
    atomic_store(&a->hidden, tu_hide(mine));
    /* Main collects while we wait: parked (gc_do_blocking), so the stop
     * needs no signal, which ThreadSanitizer would not deliver here. */
    gc_do_blocking(barrier_wait_fn, a->bar);
    gc_do_blocking(barrier_wait_fn, a->bar);
    if (gc_base(mine) != mine)
        tu_fail("object held on the thread's stack was freed");
    else if (!tu_check(mine, 3000, 99))
        tu_fail("object held on the thread's stack was overwritten");
    gc_unregister_thread();
    return NULL;
}

Test(roots, pointer_only_on_another_threads_stack_keeps_object_alive)
{
    tu_init();
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    stack_thread_arg arg = {.bar = &bar};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stack_thread, &arg), 0);
    gc_do_blocking(barrier_wait_fn, &bar);
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    cr_assert(!tu_is_freed(atomic_load(&arg.hidden)), "the thread's object was freed");
    for (int i = 0; i < 3 * NDROP; i++)
        memset(gc_alloc(3000), 0xEE, 3000);
    gc_collect();
    gc_do_blocking(barrier_wait_fn, &bar);
    tu_join(th);
    tu_assert_no_thread_failures();
    pthread_barrier_destroy(&bar);
}

/* ---- registered ranges -------------------------------------------------------------- */

#define NGLOB 1000
static void *globals[NGLOB];
static uintptr_t glob_h[NGLOB];

static TU_NOINLINE void glob_fill(void)
{
    for (int i = 0; i < NGLOB; i++) {
        globals[i] = make_obj(OBJ, (uint64_t)i);
        glob_h[i] = tu_hide(globals[i]);
    }
}

Test(roots, added_range_keeps_objects_alive_until_removed)
{
    tu_init();
    tu_warn_capture();
    gc_add_roots(globals, globals + NGLOB);
    glob_fill();
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    for (int i = 0; i < NGLOB; i++) {
        cr_assert_eq(gc_base(globals[i]), globals[i], "object %d of a root range freed", i);
        cr_assert(tu_check(globals[i], OBJ, (uint64_t)i));
    }
    gc_collect();
    cr_assert_eq(tu_count_freed(glob_h, NGLOB), 0);

    /* The array still holds every pointer, but is no longer a root. */
    gc_remove_roots(globals, globals + NGLOB);
    cr_assert_eq(tu_warn_count(), 0, "gc_remove_roots of an added range warned: %s",
                 tu_warn_msg(0));
    tu_collect_clean();
    size_t n = tu_count_freed(glob_h, NGLOB);
    cr_assert_geq(n, NGLOB * 9 / 10, "after gc_remove_roots only %zu of %d objects were freed", n,
                  NGLOB);
}

/* Roots in memory from malloc(), the documented use for VM tables. */
Test(roots, malloc_memory_registered_as_roots)
{
    tu_init();
    void **table = calloc(NGLOB, sizeof *table);
    cr_assert_not_null(table);
    gc_add_roots(table, table + NGLOB);
    for (int i = 0; i < NGLOB; i++)
        table[i] = make_obj(OBJ, (uint64_t)i + 5);
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    for (int i = 0; i < 3 * NDROP; i++)
        memset(gc_alloc(OBJ), 0xEE, OBJ);
    for (int i = 0; i < NGLOB; i++)
        cr_assert(gc_base(table[i]) == table[i] && tu_check(table[i], OBJ, (uint64_t)i + 5),
                  "object %d held from malloc'd roots lost", i);
    gc_remove_roots(table, table + NGLOB);
    free(table);
}

/* gc_remove_roots removes every added range lying inside its argument, and
 * nothing else. */
Test(roots, remove_roots_removes_ranges_inside_only)
{
    tu_init();
    tu_warn_capture();
    gc_add_roots(globals, globals + NGLOB);
    gc_add_roots(globals + 10, globals + 20); /* overlapping, inside */
    glob_fill();

    /* A sub-range matches no added range: message, nothing removed. */
    gc_remove_roots(globals + 100, globals + 200);
    tu_expect_one_warning("gc_remove_roots of a sub-range", "gc_remove_roots", NULL);
    tu_collect_clean();
    cr_assert_eq(tu_count_freed(glob_h, NGLOB), 0, "a failed gc_remove_roots removed a range");

    /* The whole range covers both. */
    gc_remove_roots(globals, globals + NGLOB);
    cr_assert_eq(tu_warn_count(), 0);
    tu_collect_clean();
    size_t n = tu_count_freed(glob_h, NGLOB);
    cr_assert_geq(n, NGLOB * 9 / 10, "only %zu of %d freed: the inner range was not removed", n,
                  NGLOB);
}

/* ---- pointers the collector must not see --------------------------------------------- */

#define NHELD 500
static uintptr_t via_noscan_h[NHELD], via_scan_h[NHELD];
static void *holders[2]; /* registered: [0] noscan holder, [1] scan holder */

static TU_NOINLINE void holders_make(void)
{
    void **ns = gc_alloc_noscan(NHELD * sizeof(void *));
    void **sc = gc_alloc(NHELD * sizeof(void *));
    cr_assert(ns && sc);
    for (int i = 0; i < NHELD; i++) {
        ns[i] = make_obj(OBJ, (uint64_t)i);
        sc[i] = make_obj(OBJ, (uint64_t)i + 1000);
        via_noscan_h[i] = tu_hide(ns[i]);
        via_scan_h[i] = tu_hide(sc[i]);
    }
    holders[0] = ns;
    holders[1] = sc;
}

Test(roots, pointers_inside_noscan_objects_do_not_keep_targets_alive)
{
    tu_init();
    gc_add_roots(holders, holders + 2);
    holders_make();
    tu_collect_clean();
    cr_assert_eq(gc_base(holders[0]), holders[0], "the noscan holder itself was freed");
    cr_assert_eq(gc_base(holders[1]), holders[1], "the scanned holder itself was freed");
    size_t lost = tu_count_freed(via_scan_h, NHELD);
    cr_assert_eq(lost, 0, "%zu objects referenced from a gc_alloc object were freed", lost);
    size_t freed = tu_count_freed(via_noscan_h, NHELD);
    cr_assert_geq(freed, NHELD * 9 / 10,
                  "only %zu of %d objects referenced only from a gc_alloc_noscan object were "
                  "freed: noscan memory is being scanned",
                  freed, NHELD);
    void **sc = holders[1];
    for (int i = 0; i < NHELD; i++)
        cr_assert(tu_check(sc[i], OBJ, (uint64_t)i + 1000));
}

/* ---- misuse of the root calls ----------------------------------------------------------- */

#define NSLOT 64
static void *misuse_slot[NSLOT];
static uintptr_t misuse_h[NSLOT];

static TU_NOINLINE void misuse_fill(uint64_t seed)
{
    for (int i = 0; i < NSLOT; i++) {
        misuse_slot[i] = make_obj(OBJ, seed + (uint64_t)i);
        misuse_h[i] = tu_hide(misuse_slot[i]);
    }
}

Test(roots, bad_ranges_print_a_message_and_change_nothing)
{
    tu_init();
    tu_warn_capture();
    misuse_fill(0); /* misuse_slot is not a root (yet) */

    /* Never added. */
    static void *never[8];
    gc_remove_roots(never, never + 8);
    tu_expect_one_warning("gc_remove_roots of a range never added", "gc_remove_roots", NULL);

    /* Reversed. */
    gc_add_roots(misuse_slot + NSLOT, misuse_slot);
    tu_expect_one_warning("gc_add_roots(end, start)", "gc_add_roots", NULL);
    gc_remove_roots(misuse_slot + NSLOT, misuse_slot);
    tu_expect_one_warning("gc_remove_roots(end, start)", "gc_remove_roots", NULL);

    /* NULL bounds. */
    gc_add_roots(NULL, NULL);
    tu_expect_one_warning("gc_add_roots(NULL, NULL)", "gc_add_roots", NULL);
    gc_add_roots(NULL, misuse_slot + NSLOT);
    tu_expect_one_warning("gc_add_roots(NULL, end)", "gc_add_roots", NULL);
    gc_add_roots(misuse_slot, NULL);
    tu_expect_one_warning("gc_add_roots(start, NULL)", "gc_add_roots", NULL);
    gc_remove_roots(NULL, NULL);
    tu_expect_one_warning("gc_remove_roots(NULL, NULL)", "gc_remove_roots", NULL);

    /* None of that registered anything: the objects in the slots die. */
    tu_collect_clean();
    size_t n = tu_count_freed(misuse_h, NSLOT);
    cr_assert_geq(n, NSLOT * 9 / 10, "a rejected range became a root: only %zu of %d freed", n,
                  NSLOT);

    /* And a correct registration still works. */
    gc_add_roots(misuse_slot, misuse_slot + NSLOT);
    misuse_fill(500);
    make_garbage();
    tu_collect_clean();
    assert_garbage_freed();
    cr_assert_eq(tu_count_freed(misuse_h, NSLOT), 0,
                 "objects in a root range registered after the misuse were freed");
    for (int i = 0; i < NSLOT; i++)
        cr_assert(tu_check(misuse_slot[i], OBJ, 500 + (uint64_t)i));
    gc_remove_roots(misuse_slot, misuse_slot + NSLOT);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
}

/* ---- many ranges ------------------------------------------------------------------------ */

/* NCELL 32-byte cells of one malloc'd block, each registered as its own
 * range (the shape of a VM that registers every global separately), added
 * and removed in a scrambled order, some twice: the table must keep what is
 * registered, whatever the order, and drop what is removed. */
#define NCELL 20000
typedef struct cell {
    void *obj;
    void *pad[3];
} cell;
static cell *cells;
static uintptr_t cell_h[NCELL];
static unsigned char cell_state[NCELL]; /* 0: never added, 1: registered, 2: removed */

static size_t cell_at(size_t k) { return (size_t)(tu_mix(k) % NCELL); }

static TU_NOINLINE void cells_fill(void)
{
    for (size_t i = 0; i < NCELL; i++) {
        cells[i].obj = make_obj(OBJ, i * 3 + 1);
        cell_h[i] = tu_hide(cells[i].obj);
    }
}

/* ** Add most cells, remove some again, re-add some of those, add a few
 * twice and remove them once (which removes both). */
static void cells_churn(void)
{
    for (size_t k = 0; k < NCELL * 2; k++) {
        size_t i = cell_at(k);
        if (cell_state[i] == 0 || (cell_state[i] == 2 && k % 5 == 0)) {
            gc_add_roots(&cells[i], &cells[i] + 1);
            if (k % 7 == 0)
                gc_add_roots(&cells[i], &cells[i] + 1); /* a duplicate */
            cell_state[i] = 1;
        } else if (cell_state[i] == 1 && k % 3 == 0) {
            gc_remove_roots(&cells[i], &cells[i] + 1);
            cell_state[i] = 2;
        }
    }
}

Test(roots, many_small_ranges_added_and_removed_interleaved, .timeout = 120)
{
    tu_pin_no_torture(); /* fills its cells before it registers them */
    tu_init();
    tu_warn_capture();
    cells = calloc(NCELL, sizeof *cells);
    cr_assert_not_null(cells);
    cells_fill();
    cells_churn();
    size_t nreg = 0, nrem = 0;
    for (size_t i = 0; i < NCELL; i++)
        nreg += cell_state[i] == 1, nrem += cell_state[i] == 2;
    cr_assert(nreg > NCELL / 4 && nrem > NCELL / 10, "test precondition: %zu kept, %zu removed",
              nreg, nrem);
    cr_assert_eq(tu_warn_count(), 0, "a removal warned: %s", tu_warn_msg(0));
    tu_collect_clean();
    size_t lost = 0, freed = 0, removed = 0;
    for (size_t i = 0; i < NCELL; i++) {
        if (cell_state[i] == 1)
            lost += !(gc_base(cells[i].obj) == cells[i].obj && tu_check(cells[i].obj, OBJ, i * 3 + 1));
        else
            removed++, freed += (size_t)tu_is_freed(cell_h[i]);
    }
    cr_assert_eq(lost, 0, "%zu of %zu objects held by registered ranges were freed", lost, nreg);
    cr_assert_geq(freed, removed * 9 / 10,
                  "only %zu of %zu objects held by removed (or never added) ranges were freed",
                  freed, removed);
    /* Remove the rest with one call covering them all. */
    gc_remove_roots(cells, cells + NCELL);
    tu_collect_clean();
    size_t now = tu_count_freed(cell_h, NCELL);
    cr_assert_geq(now, NCELL * 9 / 10, "after removing every range only %zu of %d freed", now,
                  NCELL);
    free(cells);
}

/* Ranges added and removed by two threads while collections run (the
 * checkmark verifies each mark): a range added during a mark, behind or
 * ahead of the markers' walk, is scanned that cycle; one removed mid-walk
 * is never read again (the cells are freed right after removal, so a
 * marker reading one reads freed malloc memory: AddressSanitizer's find).
 * Each thread keeps its objects only in its registered cells. */
#define CHURN_CELLS 2000
static _Atomic int churn_stop;

static void *range_churner(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg << 32;
    if (gc_register_thread() != GC_OK) {
        tu_fail("gc_register_thread failed");
        return NULL;
    }
    cell **mine = calloc(CHURN_CELLS, sizeof *mine);
    while (!atomic_load_explicit(&churn_stop, memory_order_relaxed)) {
        uint64_t r = tu_mix(seed++);
        size_t i = r % CHURN_CELLS;
        cell *c = mine[i];
        if (c) {
            if (gc_base(c->obj) != c->obj || !tu_check(c->obj, OBJ, (uint64_t)c->pad[0]))
                tu_fail("object %p held by a registered cell was freed or overwritten", c->obj);
            gc_remove_roots(c, c + 1);
            free(c);
            mine[i] = NULL;
        } else {
            c = malloc(sizeof *c);
            c->pad[0] = (void *)(uintptr_t)(r >> 8);
            gc_add_roots(c, c + 1);
            c->obj = make_obj(OBJ, r >> 8); /* a plain store into a root range */
            mine[i] = c;
        }
    }
    for (size_t i = 0; i < CHURN_CELLS; i++)
        if (mine[i]) {
            gc_remove_roots(mine[i], mine[i] + 1);
            free(mine[i]);
        }
    free(mine);
    gc_unregister_thread();
    return NULL;
}

Test(roots, ranges_added_and_removed_while_collecting, .timeout = 240)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = 1;
    cr_assert_eq(gc_init(&cfg), GC_OK);
    void *args[2] = {(void *)1, (void *)2};
    tu_mutators_beside_collections(2, range_churner, args, 40, &churn_stop);
}

/* GC_ROOTS_BARRIER: a range that is not rescanned still holds what is
 * stored into it through gc_store; unknown flags are refused with one
 * message and add nothing. */
Test(roots, barrier_only_range_holds_and_bad_flags_are_refused)
{
    tu_init();
    tu_warn_capture();
    cr_assert_eq(gc_add_roots_flags(misuse_slot, misuse_slot + NSLOT, 0x80), GC_EINVAL);
    tu_expect_one_warning("gc_add_roots_flags with unknown flags", "gc_add_roots_flags",
                          "GC_ROOTS_BARRIER");
    misuse_fill(7); /* plain stores, before any barrier-only range exists */
    tu_collect_clean();
    size_t freed = tu_count_freed(misuse_h, NSLOT);
    cr_assert_geq(freed, NSLOT * 9 / 10, "refused range kept objects: only %zu of %d freed",
                  freed, NSLOT);
    cr_assert_eq(gc_add_roots_flags(misuse_slot, misuse_slot + NSLOT, GC_ROOTS_BARRIER), GC_OK);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < NSLOT; i++)
            gc_store(&misuse_slot[i], make_obj(OBJ, (uint64_t)(round * NSLOT + i)));
        gc_collect();
        for (int i = 0; i < NSLOT; i++)
            cr_assert(gc_base(misuse_slot[i]) == misuse_slot[i] &&
                          tu_check(misuse_slot[i], OBJ, (uint64_t)(round * NSLOT + i)),
                      "round %d: object %d of a barrier-only range lost", round, i);
    }
    gc_remove_roots(misuse_slot, misuse_slot + NSLOT);
    cr_assert_eq(tu_warn_count(), 0, "%s", tu_warn_msg(0));
}
