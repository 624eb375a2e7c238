/*
 * test_barriercheck.c -- MGC_BARRIERCHECK finds stores that bypass gc_store.
 *
 *  - white-box: the test thread drives a mark by hand, so the object under
 *    test is scanned (black) before the store; a plain pointer store is
 *    then reported at termination with its object, size, word, old and new
 *    value (and type name), while gc_store, gc_store_range, gc_clear_range
 *    and plain stores of numbers into a typed object's data words are not;
 *  - stress: four mutators rewire objects through the barrier while
 *    collections run: no report at all; the same with one mutator
 *    planting plain stores: reported.
 * Reports go through the warn handler, which the tests capture.
 */
#include <pthread.h>
#include <stddef.h>

#include "test/test_util.h"

#include "gc/barrier.h"
#include "gc/workbuf.h"

static void **root[2]; /* registered */

static void init_bc(int percent)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.barriercheck = 1;
    cfg.percent = percent;
    unsetenv("MGC_PERCENT");
    unsetenv("MGC_BARRIERCHECK");
    cr_assert_eq(gc_init(&cfg), GC_OK);
    tu_warn_capture();
}

/* Mark by hand from this (unregistered) thread until nothing is grey:
 * every object reachable from the roots is scanned. */
static void mark_all(void)
{
    mgc_stop_the_world();
    mgc_mark_setup();
    mgc_start_the_world();
    gcwork w;
    mgc_gcwork_init(&w);
    while (mgc_mark_some(&w, -1, true)) {
    }
    mgc_gcwork_dispose(&w);
}

/* Termination as the coordinator runs it, then the reports. */
static void terminate(void)
{
    uint64_t rb;
    mgc_stop_the_world();
    mgc_mark_finish(&rb);
    mgc_bc_terminate();
    mgc_start_the_world();
    mgc_bc_report();
}

static int count_reports(void)
{
    int k = 0;
    for (int i = 0; i < tu_warn_count() && i < TU_WARN_MAX; i++)
        k += strncmp(tu_warn_msg(i), "mgc: barriercheck:", 18) == 0;
    return k;
}

/* A 64-byte object A and a fresh object to store, both reachable, then
 * a mark that scans A. */
static void **setup_scanned(const gc_type *t, void **fresh)
{
    init_bc(-1);
    gc_add_roots(root, root + 2);
    void **a = t ? gc_alloc_typed(t) : gc_alloc(64);
    *fresh = gc_alloc(32);
    cr_assert(a && *fresh);
    gc_store(&root[0], a);
    gc_store(&root[1], *fresh);
    gc_unregister_thread();
    mark_all();
    return a;
}

Test(barriercheck, planted_plain_store_is_reported_with_its_fields)
{
    void *fresh;
    void **a = setup_scanned(NULL, &fresh);
    a[3] = fresh; /* the planted store: no barrier */
    terminate();
    cr_assert_eq(tu_warn_count(), 1, "expected one report, got %d: %s", tu_warn_count(),
                 tu_warn_msg(0));
    char want[256];
    snprintf(want, sizeof want, "mgc: barriercheck: object %p size 64 word 3 (offset 24): old 0 new %#lx",
             (void *)a, (unsigned long)(uintptr_t)fresh);
    cr_assert(strncmp(tu_warn_msg(0), want, strlen(want)) == 0, "report \"%s\"\nexpected \"%s...\"",
              tu_warn_msg(0), want);
    cr_assert(strstr(tu_warn_msg(0), "gc_store") != NULL, "the report does not name the fix");
}

Test(barriercheck, overwriting_a_pointer_with_a_number_is_reported)
{
    void *fresh;
    void **a = setup_scanned(NULL, &fresh);
    gc_store(&a[5], fresh); /* through the barrier: recorded */
    a[5] = (void *)(uintptr_t)42; /* then erased behind its back */
    terminate();
    char want[160];
    snprintf(want, sizeof want, "word 5 (offset 40): old %#lx new 0x2a",
             (unsigned long)(uintptr_t)fresh);
    cr_assert_eq(count_reports(), 1, "got %d reports: %s", count_reports(), tu_warn_msg(0));
    cr_assert(strstr(tu_warn_msg(0), want) != NULL, "report \"%s\" lacks \"%s\"", tu_warn_msg(0),
              want);
}

Test(barriercheck, barrier_stores_are_not_reported)
{
    void *fresh;
    void **a = setup_scanned(NULL, &fresh);
    void *src[4] = {fresh, NULL, fresh, fresh};
    gc_store(&a[0], fresh);
    gc_store_range(&a[1], src, sizeof src);
    gc_store_range(&a[2], &a[1], 3 * sizeof(void *)); /* overlapping */
    gc_clear_range(&a[6], 2 * sizeof(void *));
    a[7] = (void *)(uintptr_t)12345; /* a number where a number was: allowed */
    terminate();
    cr_assert_eq(count_reports(), 0, "false report: %s", tu_warn_msg(0));
}

typedef struct tobj {
    void *p;
    uint64_t n[3];
    void *q;
} tobj;

Test(barriercheck, typed_objects_name_their_type_and_ignore_data_words)
{
    static const size_t offs[] = {offsetof(tobj, p), offsetof(tobj, q)};
    const gc_type *t = gc_type_new("planted_t", sizeof(tobj), offs, 2);
    cr_assert_not_null(t);
    void *fresh;
    tobj *a = (tobj *)setup_scanned(t, &fresh);
    a->n[1] = (uint64_t)(uintptr_t)fresh; /* a heap address in a data word: not a pointer */
    a->q = fresh;                         /* a pointer word: the planted store */
    terminate();
    cr_assert_eq(count_reports(), 1, "expected one report, got %d: %s", count_reports(),
                 tu_warn_msg(0));
    cr_assert(strstr(tu_warn_msg(0), "type planted_t word 4 (offset 32)") != NULL,
              "report \"%s\" does not name the type and the word", tu_warn_msg(0));
}

/* ---- stress ------------------------------------------------------------------ */

#define SLOTS 64

typedef struct stress_arg {
    uint64_t rng;
    int plant; /* make some stores plain */
} stress_arg;

static _Atomic int stop_flag;

static TU_NOINLINE void rewire(void **tab, stress_arg *a)
{
    uint64_t r = a->rng = tu_mix(a->rng);
    void **o = tab[r % SLOTS];
    size_t i = (r >> 8) % 8, j = (r >> 16) % 8;
    switch ((r >> 24) % 4) {
    case 0: {
        void **fresh = gc_alloc(64);
        if (!fresh)
            abort();
        gc_store(&fresh[0], tab[(r >> 32) % SLOTS]); /* initialised through the barrier */
        if (a->plant && (r >> 40) % 8 == 0)
            o[i] = fresh; /* the planted missing barrier */
        else
            gc_store(&o[i], fresh);
        break;
    }
    case 1:
        gc_store(&o[i], tab[(r >> 32) % SLOTS]);
        break;
    case 2:
        gc_store_range(&o[i < j ? i : j], tab[(r >> 32) % SLOTS], (8 - (i > j ? i : j)) * 8);
        break;
    default:
        gc_clear_range(&o[i], (8 - i) * 8);
    }
}

static void *stress_mutator(void *arg)
{
    stress_arg *a = arg;
    if (gc_register_thread() != GC_OK) {
        tu_fail("gc_register_thread failed");
        return NULL;
    }
    void **volatile tab = gc_alloc(SLOTS * sizeof(void *));
    for (int k = 0; k < SLOTS; k++) {
        void *o = gc_alloc(64);
        if (!tab || !o)
            abort();
        gc_store(&tab[k], o);
    }
    for (uint64_t n = 0; !atomic_load(&stop_flag) || n < 20000; n++)
        rewire(tab, a);
    gc_unregister_thread();
    return NULL;
}

static int run_stress(int plant)
{
    init_bc(100);
    static stress_arg args[4];
    void *ptrs[4];
    for (int i = 0; i < 4; i++) {
        args[i].rng = (uint64_t)i + 99;
        args[i].plant = plant && i == 0;
        ptrs[i] = &args[i];
    }
    tu_mutators_beside_collections(4, stress_mutator, ptrs, 30, &stop_flag);
    return count_reports();
}

Test(barriercheck, correct_stress_has_no_reports, .timeout = 240)
{
    int n = run_stress(0);
    cr_assert_eq(n, 0, "%d false reports; first: %s", n, tu_warn_msg(0));
}

Test(barriercheck, planted_plain_stores_are_found_under_stress, .timeout = 240)
{
    tu_pin_concurrent_mark(); /* the plain stores must land while the program marks */
    int n = run_stress(1);
    cr_assert_gt(n, 0, "no report of the planted plain stores in 30 collections");
    for (int i = 0; i < tu_warn_count() && i < TU_WARN_MAX; i++)
        cr_assert(strncmp(tu_warn_msg(i), "mgc: barriercheck:", 18) == 0, "other message: %s",
                  tu_warn_msg(i));
}
