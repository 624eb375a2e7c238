/*
 * test_handshake.c -- white-box tests of the handshake mode's protocol
 * (gc/handshake.c).
 *
 * As in test_barrier.c, the test thread is the collector: automatic
 * collection is off, it unregisters itself and drives one cycle through the
 * internal phases (mgc_hs_mark_setup, marking by hand, mgc_hs_try_terminate,
 * mgc_hs_barrier_off, mgc_hs_advance), while registered mutators act at the
 * moments that matter.  Each test checks a fact the proof in
 * gc/handshake.c rests on, so a protocol that skipped it fails here:
 *   - every thread, running (signalled) or parked (held), enters and
 *     leaves the mark at its own handshake;
 *   - a grey object a thread still holds in its buffer makes a round fail;
 *   - a weak get that greys a white object during the mark makes the round
 *     fail; after the decision it gets NULL for a white object.
 * Each test runs in its own process, which may end mid-cycle.
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

static node *root;               /* the one registered root range */
static _Atomic int step;         /* driver <-> mutator */
static _Atomic uintptr_t hidden; /* the object under test, hidden from scans */
static _Atomic(gc_thread *) mut_thread;
static gc_weak *weak_ref;
static _Atomic uintptr_t weak_got;

/* At least v: the two mutators of a test count the steps up between them. */
static void wait_step(int v) {
    while (atomic_load(&step) < v) sched_yield();
}

static void *spin_to_step(void *v) {
    wait_step((int)(intptr_t)v);
    return NULL;
}

/* Parked: the handshake is done by the collector while it holds us. */
static void parked_wait_step(int v) { gc_do_blocking(spin_to_step, (void *)(intptr_t)v); }

/* Running: the handshake comes as a signal.  sched_yield is a system call,
 * where ThreadSanitizer delivers it. */
static void running_wait_step(int v) { wait_step(v); }

static TU_NOINLINE node *make_node(uint64_t seed) {
    node *n = gc_alloc(sizeof(node));
    if (!n) {
        tu_fail("gc_alloc failed");
        abort();
    }
    for (int i = 0; i < 5; i++) n->payload[i] = tu_mix(seed + (uint64_t)i);
    return n;
}

static bool is_marked(const void *p) {
    mspan *s = mgc_span_of_heap((uintptr_t)p);
    cr_assert_not_null(s, "test object %p is not in the heap", p);
    return mgc_bit_get(s->gcmark_bits, mgc_span_obj_index(s, (uintptr_t)p));
}

static void setup_driver(void) {
    tu_init();
    gc_set_percent(-1); /* no automatic cycle: the test is the collector */
    gc_add_roots(&root, &root + 1);
}

/* ** Scan everything the markers can see: roots, stacks, grey objects. */
static void mark_all(void) {
    gcwork w;
    mgc_gcwork_init(&w);
    while (mgc_mark_some(&w, -1, true)) {}
    mgc_gcwork_dispose(&w);
    mgc_gcwork_account(&w);
}

/* ** Rounds until one decides, marking between them; the rounds taken. */
static int terminate(void) {
    int rounds = 1;
    while (!mgc_hs_try_terminate()) {
        mark_all();
        rounds++;
        cr_assert_lt(rounds, 100, "no termination round decided in 100");
    }
    return rounds;
}

/* ---- every thread enters and leaves at its own handshake -------------------- */

static void *enter_leave_mutator(void *arg) {
    bool parked = arg != NULL;
    if (gc_register_thread() != GC_OK) tu_fail("gc_register_thread failed");
    gc_thread *me = mgc_self;
    atomic_fetch_add(&step, 1); /* 1 or 2: both registered */
    if (parked) parked_wait_step(3);
    else running_wait_step(3);
    if (!me->marking) tu_fail("%s thread not marking after the setup handshake", parked ? "parked" : "running");
    if (me->black_sg != me->sg_view) tu_fail("not allocating black after the setup handshake");
    node *n = make_node(7); /* black: it must be marked */
    if (!is_marked(n)) tu_fail("an object allocated during the mark is white");
    atomic_fetch_add(&step, 1); /* 4, 5 */
    if (parked) parked_wait_step(6);
    else running_wait_step(6);
    if (me->marking) tu_fail("still marking after the barrier-off handshake");
    if (me->sg_view != mgc_sweepgen()) tu_fail("view %u behind sweepgen %u after the release handshake", me->sg_view, mgc_sweepgen());
    if (me->black_sg == me->sg_view) tu_fail("still allocating black after the release handshake");
    gc_unregister_thread();
    return NULL;
}

Test(handshake, running_and_parked_threads_enter_and_leave_the_mark_at_their_handshakes) {
    tu_pin_no_torture(); /* counts the sweepgen's advances */
    setup_driver();
    pthread_t run, park;
    cr_assert_eq(pthread_create(&run, NULL, enter_leave_mutator, NULL), 0);
    cr_assert_eq(pthread_create(&park, NULL, enter_leave_mutator, (void *)1), 0);
    wait_step(2);
    gc_unregister_thread();
    uint32_t sg0 = mgc_sweepgen();
    mgc_hs_mark_setup();
    cr_assert(atomic_load(&mgc_marking), "scanning not on after every thread entered");
    atomic_store(&step, 3);
    wait_step(5);
    mark_all();
    terminate();
    cr_assert(atomic_load(&mgc_mark_decided), "a deciding round did not set mgc_mark_decided");
    cr_assert(!atomic_load(&mgc_marking), "scanning still on after the decision");
    mgc_hs_barrier_off();
    uint64_t root_bytes;
    mgc_hs_advance(mgc_mark_totals(&root_bytes));
    cr_assert_eq(mgc_sweepgen(), sg0 + 2, "sweepgen did not advance by 2");
    cr_assert(!atomic_load(&mgc_mark_decided), "mgc_mark_decided left set after the advance");
    atomic_store(&step, 6);
    tu_join(run);
    tu_join(park);
    tu_assert_no_thread_failures();
}

/* ---- a grey object in a thread's buffer fails the round --------------------- */

static void *buffer_mutator(void *arg) {
    bool parked = arg != NULL;
    if (gc_register_thread() != GC_OK) tu_fail("gc_register_thread failed");
    atomic_store(&mut_thread, mgc_self);
    node *b = make_node(200); /* allocated before the mark: white */
    atomic_store(&hidden, tu_hide(b));
    b = NULL;
    tu_clear_stack();
    atomic_store(&step, 1);
    parked_wait_step(2); /* everything reachable is marked; B is not */
    /* The insertion half greys B into this thread's buffer, unflushed. */
    gc_store(&root->a, (node *)tu_reveal(atomic_load(&hidden)));
    atomic_store(&step, 3);
    if (parked) parked_wait_step(4);
    else running_wait_step(4);
    gc_unregister_thread();
    return NULL;
}

/* ** Start mutator fn, wait until it has hidden its object B, then run
 * mark setup and mark everything reachable: B must be white.  Returns B. */
static node *mark_around_hidden(pthread_t *th, void *(*fn)(void *), void *arg) {
    cr_assert_eq(pthread_create(th, NULL, fn, arg), 0);
    wait_step(1);
    gc_unregister_thread();
    tu_clear_stack();
    mgc_hs_mark_setup();
    mark_all();
    node *b = tu_reveal(atomic_load(&hidden));
    cr_assert(!is_marked(b), "test precondition: B marked before the mutator acts");
    return b;
}

static void grey_in_buffer(bool parked) {
    setup_driver();
    gc_store(&root, make_node(0));
    pthread_t th;
    node *b = mark_around_hidden(&th, buffer_mutator, parked ? (void *)1 : NULL);
    atomic_store(&step, 2);
    wait_step(3);
    gc_thread *t = atomic_load(&mut_thread);
    cr_assert(t->gcw.bytes_marked > 0, "test precondition: the store greyed nothing");
    cr_assert(!mgc_hs_try_terminate(),
              "a round decided the mark complete while a thread held a grey object in its buffer");
    int rounds = terminate();
    cr_assert(is_marked(b), "B, greyed by the barrier and flushed at a handshake, is unmarked");
    cr_assert_geq(rounds, 1);
    atomic_store(&step, 4);
    tu_join(th);
    tu_assert_no_thread_failures();
}

Test(handshake, a_grey_object_in_a_parked_threads_buffer_fails_the_round) { grey_in_buffer(true); }
Test(handshake, a_grey_object_in_a_running_threads_buffer_fails_the_round) { grey_in_buffer(false); }

/* ---- weak gets around the decision ---------------------------------------- */

static void *weak_mutator(void *arg) {
    (void)arg;
    if (gc_register_thread() != GC_OK) tu_fail("gc_register_thread failed");
    node *b = make_node(300);
    weak_ref = gc_weak_new(b); /* B's only reference */
    if (!weak_ref) tu_fail("gc_weak_new failed");
    atomic_store(&hidden, tu_hide(b));
    b = NULL;
    tu_clear_stack();
    atomic_store(&step, 1);
    parked_wait_step(2); /* marked; B white; the mark not yet decided */
    atomic_store(&weak_got, (uintptr_t)gc_weak_get(weak_ref) ^ TU_MASK);
    atomic_store(&step, 3);
    parked_wait_step(4); /* decided */
    atomic_store(&weak_got, (uintptr_t)gc_weak_get(weak_ref) ^ TU_MASK);
    atomic_store(&step, 5);
    parked_wait_step(6);
    gc_unregister_thread();
    return NULL;
}

Test(handshake, a_weak_get_that_greys_fails_the_round_and_after_the_decision_gets_null) {
    setup_driver();
    pthread_t th;
    node *b = mark_around_hidden(&th, weak_mutator, NULL);
    atomic_store(&step, 2);
    wait_step(3);
    cr_assert_eq(tu_reveal(atomic_load(&weak_got)), (void *)b, "gc_weak_get during the mark lost a live target");
    cr_assert(is_marked(b), "gc_weak_get during the mark did not grey its target");
    cr_assert(!mgc_hs_try_terminate(), "a round decided although a weak get had greyed a white object");
    terminate();
    /* Decided, barrier still on.  Make B white again, as if the weak get
     * had not happened: after the decision it must be refused. */
    mspan *s = mgc_span_of_heap((uintptr_t)b);
    __atomic_fetch_and(&s->gcmark_bits[mgc_span_obj_index(s, (uintptr_t)b) / 64],
                       ~((uint64_t)1 << (mgc_span_obj_index(s, (uintptr_t)b) % 64)), __ATOMIC_RELAXED);
    atomic_store(&step, 4);
    wait_step(5);
    cr_assert_null(tu_reveal(atomic_load(&weak_got)),
                   "after the mark was decided, gc_weak_get handed out a white (dead) object");
    atomic_store(&step, 6);
    tu_join(th);
    tu_assert_no_thread_failures();
}
