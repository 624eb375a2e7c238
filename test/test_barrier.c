/*
 * test_barrier.c -- white-box tests of the write barrier.
 *
 * The stress tests in test_concurrent.c hide objects from the marker only
 * when the scheduler happens to interleave a store with a scan in one
 * narrow window, so they may pass without one half of the hybrid barrier.
 * Here the test thread is the collector: it drives one mark by hand through
 * the internal phases (stop the world, mark setup, scan roots, scan a
 * thread's stack, drain), and a registered mutator thread makes each store
 * at the one moment where only the barrier can save the object.  A broken
 * barrier leaves the object unmarked, and the test reads its mark bit.
 *
 * Automatic collection is off and the test thread unregisters itself, so
 * nothing but this test moves the cycle.  Each test runs in its own
 * process, which ends mid-cycle: nothing is swept.
 */
#include <pthread.h>
#include <sched.h>

#include "test/test_util.h"

#include "gc/workbuf.h"
#include "gc/gc.h"

typedef struct node {
    struct node *a;
    uint64_t payload[5];
} node;

static node *root;      /* the one registered root range */
static _Atomic int step; /* driver <-> mutator handshake */
static _Atomic uintptr_t hidden_target; /* the object under test, hidden */

static void wait_step(int v)
{
    while (atomic_load(&step) != v)
        sched_yield();
}

static void *spin_to_step(void *v)
{
    wait_step((int)(intptr_t)v);
    return NULL;
}

/* The mutators wait parked: the stack scan then reads the stack as it was
 * at the call, without a signal (which ThreadSanitizer would hold back from
 * a thread that only calls sched_yield). */
static void mutator_wait_step(int v) { gc_do_blocking(spin_to_step, (void *)(intptr_t)v); }

static bool is_marked(const void *p)
{
    mspan *s = mgc_span_of_heap((uintptr_t)p);
    cr_assert_not_null(s, "test object %p is not in the heap", p);
    return mgc_bit_get(s->gcmark_bits, mgc_span_obj_index(s, (uintptr_t)p));
}

static TU_NOINLINE node *make_node(uint64_t seed)
{
    node *n = gc_alloc(sizeof(node));
    if (!n) {
        tu_fail("gc_alloc failed");
        abort();
    }
    for (int i = 0; i < 5; i++)
        n->payload[i] = tu_mix(seed + (uint64_t)i);
    return n;
}

/* Overwrite the caller-saved registers and the dead stack below us, so the
 * mutator's only copy of a pointer is the one the test means it to have. */
static TU_NOINLINE void scrub(void) { tu_clear_stack(); }

/* Start a mark with the world stopped, as the coordinator does, from this
 * unregistered thread. */
static void begin_mark(void)
{
    mgc_stop_the_world();
    mgc_mark_setup();
    mgc_start_the_world();
    cr_assert(atomic_load(&mgc_marking), "mark setup did not turn the barrier on");
}

static void drain_all(gcwork *w)
{
    while (mgc_mark_some(w, -1, false)) {
    }
}

static void setup_driver(void)
{
    tu_init();
    gc_set_percent(-1); /* no automatic cycle: the test is the collector */
    gc_add_roots(&root, &root + 1);
}

/* ---- deletion half (Yuasa): shade the pointer a store overwrites ---------- */

/* The mutator's stack is scanned (black) first; then it copies the only heap
 * pointer to B onto its stack and erases it from A, which is still grey.
 * Only the shading of the overwritten value can mark B. */
static void *deletion_mutator(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    atomic_store(&step, 1);
    mutator_wait_step(2); /* its stack has been scanned */
    node *volatile b = root->a->a;
    gc_store(&root->a->a, NULL);
    mgc_mark_flush_thread(mgc_self); /* what mark termination would do */
    atomic_store(&step, 3);
    mutator_wait_step(4);
    for (int i = 0; i < 5; i++)
        if (b->payload[i] != tu_mix(200 + (uint64_t)i))
            tu_fail("B's payload changed");
    gc_unregister_thread();
    return NULL;
}

Test(barrier, deletion_shades_the_overwritten_pointer)
{
    setup_driver();
    node *r = make_node(0), *a = make_node(100), *b = make_node(200);
    gc_store(&a->a, b);
    gc_store(&r->a, a);
    gc_store(&root, r);
    atomic_store(&hidden_target, tu_hide(b));
    r = a = b = NULL;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, deletion_mutator, NULL), 0);
    wait_step(1);
    gc_unregister_thread();
    scrub();

    begin_mark();
    gcwork w, w2;
    mgc_gcwork_init(&w);
    mgc_gcwork_init(&w2);
    /* The root chunk greys R; a zero budget scans just R, so A is grey in
     * w and B is white. */
    cr_assert(mgc_mark_some(&w, 0, false), "no root work after mark setup");
    node *bb = tu_reveal(atomic_load(&hidden_target));
    cr_assert(!is_marked(bb), "test precondition: B marked before the store");
    /* Then the mutator's stack, with a separate gcwork so A stays grey. */
    cr_assert(mgc_mark_some(&w2, 0, true), "the mutator's stack was not scanned");
    cr_assert(!is_marked(bb), "test precondition: B marked by the stack scan");
    atomic_store(&step, 2);
    wait_step(3);
    drain_all(&w);
    drain_all(&w2);
    cr_assert(is_marked(bb),
              "B, held only by a scanned stack after its heap pointer was overwritten, "
              "is unmarked: the barrier did not shade the old value");
    atomic_store(&step, 4);
    tu_join(th);
    tu_assert_no_thread_failures();
}

/* ---- insertion half (Dijkstra): shade the pointer stored ------------------- */

static TU_NOINLINE void publish_and_forget(node **c)
{
    gc_store(&root->a->a, *c);
    *c = NULL;
}

/* A is scanned (black) while the mutator's stack is not; the mutator moves
 * its only pointer to C from its stack into A.  Only the shading of the
 * stored value can mark C. */
static void *insertion_mutator(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    node *c = make_node(300);
    atomic_store(&hidden_target, tu_hide(c));
    atomic_store(&step, 1);
    mutator_wait_step(2); /* roots and heap are marked, its stack is not scanned */
    publish_and_forget(&c);
    scrub();
    mgc_mark_flush_thread(mgc_self);
    atomic_store(&step, 3);
    mutator_wait_step(4);
    node *back = root->a->a;
    for (int i = 0; i < 5; i++)
        if (back->payload[i] != tu_mix(300 + (uint64_t)i))
            tu_fail("C's payload changed");
    gc_unregister_thread();
    return NULL;
}

Test(barrier, insertion_shades_the_stored_pointer)
{
    setup_driver();
    node *r = make_node(0), *a = make_node(100);
    gc_store(&r->a, a);
    gc_store(&root, r);
    r = a = NULL;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, insertion_mutator, NULL), 0);
    wait_step(1);
    gc_unregister_thread();
    scrub();

    begin_mark();
    gcwork w;
    mgc_gcwork_init(&w);
    drain_all(&w); /* roots, R and A: black; the stack is left grey */
    node *c = tu_reveal(atomic_load(&hidden_target));
    cr_assert(!is_marked(c), "test precondition: C marked before the store");
    atomic_store(&step, 2);
    wait_step(3);
    while (mgc_mark_some(&w, -1, true)) { /* now the stack, then the rest */
    }
    cr_assert(is_marked(c),
              "C, moved from an unscanned stack into a black object, is unmarked: the "
              "barrier did not shade the stored value");
    atomic_store(&step, 4);
    tu_join(th);
    tu_assert_no_thread_failures();
}
