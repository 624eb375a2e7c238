/*
 * test_finalizer.c -- finalizers and cleanups: run once, after death, never
 * while reachable; what a finalizable object reaches survives for its
 * finalizer; topological order; resurrection; cleanups that free their
 * object in the same sweep; the finalizer thread and the manual queue;
 * misuse; and all of it with threads rewiring a graph under concurrent
 * marking, under MGC_TORTURE and MGC_CLOBBER.
 *
 * MGC_CLOBBER=1 is on in most tests: an object freed too early is filled
 * with 0xdeadbeef at once, so a finalizer that reads it sees a broken
 * checksum instead of stale data that looks right.
 */
#include <pthread.h>
#include <sched.h>

#include "test/test_util.h"

#define NOBJ 256

typedef struct fobj {
    struct fobj *child;
    uint64_t seed;
    uint64_t payload[4];
} fobj;

static fobj *live[NOBJ]; /* registered root */

static void init_manual(void)
{
    setenv("MGC_FINALIZERS", "manual", 1);
    setenv("MGC_CLOBBER", "1", 1);
    tu_init();
    gc_add_roots(live, live + NOBJ);
}

static TU_NOINLINE fobj *make(uint64_t seed)
{
    fobj *o = gc_alloc(sizeof *o);
    cr_assert_not_null(o);
    o->seed = seed;
    for (int i = 0; i < 4; i++)
        o->payload[i] = tu_mix(seed * 4 + (uint64_t)i);
    return o;
}

static int intact(const fobj *o)
{
    for (int i = 0; i < 4; i++)
        if (o->payload[i] != tu_mix(o->seed * 4 + (uint64_t)i))
            return 0;
    return 1;
}

/* What the finalizers saw, for the test to check (the finalizers run on
 * the test thread in manual mode, on the finalizer thread otherwise). */
static _Atomic int nran, nbroken, nwrong_arg;
static _Atomic uint64_t ran_mask[NOBJ / 64];
static _Atomic uint64_t order[16];
static _Atomic int norder;

static void record_fin(void *obj, void *arg)
{
    fobj *o = obj;
    if (!intact(o) || (o->child && !intact(o->child)))
        atomic_fetch_add(&nbroken, 1);
    if ((uintptr_t)arg != o->seed + 1)
        atomic_fetch_add(&nwrong_arg, 1);
    if (o->seed < NOBJ)
        atomic_fetch_or(&ran_mask[o->seed / 64], (uint64_t)1 << (o->seed % 64));
    int k = atomic_fetch_add(&norder, 1);
    if (k < 16)
        atomic_store(&order[k], o->seed);
    atomic_fetch_add(&nran, 1);
}

static int ran(uint64_t seed) { return (atomic_load(&ran_mask[seed / 64]) >> (seed % 64)) & 1; }

/* ---- finalizers -------------------------------------------------------- */

/* NOBJ objects with finalizers and a child each; the even ones stay in
 * live[]; the odd ones' addresses are kept hidden. */
static TU_NOINLINE void make_finalizable(uintptr_t *hidden)
{
    for (uint64_t i = 0; i < NOBJ; i++) {
        fobj *o = make(i);
        gc_store(&o->child, make(1000 + i));
        cr_assert_eq(gc_set_finalizer(o, record_fin, (void *)(uintptr_t)(i + 1)), GC_OK);
        hidden[i] = tu_hide(o);
        if (i % 2 == 0)
            gc_store(&live[i], o);
    }
}

Test(finalizers, run_once_after_death_with_what_the_object_reaches_intact)
{
    init_manual();
    static uintptr_t hidden[NOBJ];
    make_finalizable(hidden);
    tu_collect_clean();
    /* Queued by the sweep, not run: the program runs them. */
    size_t pending = gc_finalizers_pending();
    cr_assert_eq(atomic_load(&nran), 0, "a finalizer ran without gc_run_finalizers");
    cr_assert_geq(pending, (size_t)(NOBJ / 2 - 6), "only %zu of %d dead objects queued", pending,
                  NOBJ / 2);
    /* Each dead one is queued and resurrected until its finalizer has run
     * (the others are alive, kept by a stale word): none is freed. */
    for (int i = 1; i < NOBJ; i += 2)
        cr_assert(!tu_is_freed(hidden[i]), "object %d was freed while its finalizer was queued", i);
    cr_assert_eq(gc_run_finalizers(), pending);
    cr_assert_eq(gc_finalizers_pending(), 0);
    cr_assert_eq(atomic_load(&nbroken), 0, "%d finalizers saw a freed object or child",
                 atomic_load(&nbroken));
    cr_assert_eq(atomic_load(&nwrong_arg), 0);
    for (uint64_t i = 0; i < NOBJ; i += 2)
        cr_assert(!ran(i), "the finalizer of live object %d ran", (int)i);
    /* Run once: further collections queue nothing more, and free them. */
    tu_collect_clean();
    tu_collect_clean();
    cr_assert_eq(gc_run_finalizers(), 0, "a finalizer ran twice");
    size_t freed = 0;
    for (int i = 1; i < NOBJ; i += 2)
        freed += ran((uint64_t)i) && tu_is_freed(hidden[i]);
    cr_assert_geq(freed, pending - 4, "only %zu of %zu finalized objects were freed", freed,
                  pending);
    for (int i = 0; i < NOBJ; i += 2)
        cr_assert(intact(live[i]) && intact(live[i]->child));
}

/* A -> B -> C, all finalizable, unreachable together. */
static TU_NOINLINE void make_chain(void)
{
    fobj *c = make(102), *b = make(101), *a = make(100);
    gc_store(&b->child, c);
    gc_store(&a->child, b);
    for (fobj *o = a; o; o = o->child)
        cr_assert_eq(gc_set_finalizer(o, record_fin, (void *)(uintptr_t)(o->seed + 1)), GC_OK);
}

Test(finalizers, run_in_topological_order_one_collection_apart)
{
    init_manual();
    make_chain();
    for (int step = 0; step < 3; step++) {
        tu_collect_clean();
        cr_assert_eq(gc_run_finalizers(), 1, "collection %d queued other than one finalizer",
                     step + 1);
        cr_assert_eq(atomic_load(&order[step]), 100 + (uint64_t)step,
                     "finalizer %d ran for object %llu", step,
                     (unsigned long long)atomic_load(&order[step]));
    }
    cr_assert_eq(atomic_load(&nbroken), 0);
}

/* ---- resurrection -------------------------------------------------------- */

/* KRES objects, so that one kept by a stale stack word (conservative
 * scanning may) does not decide the test: the assertions hold for every
 * object that died, and most must die. */
#define KRES 16
static fobj *saved[KRES];     /* registered root: where finalizers resurrect to */
static int refinalize[KRES]; /* the finalizer sets itself again this many times */
static uintptr_t res_hidden[KRES];
static gc_weak *res_weak[KRES];

static _Atomic int res_runs[KRES]; /* finalizer runs per object */

static void resurrect(void *obj, void *arg)
{
    fobj *o = obj;
    record_fin(obj, (void *)(uintptr_t)(o->seed + 1));
    atomic_fetch_add(&res_runs[o->seed], 1);
    gc_store(&saved[o->seed], o);
    if (refinalize[o->seed]-- > 0)
        gc_set_finalizer(obj, resurrect, arg);
}

/* Even objects set their finalizer again once (two runs); odd ones not. */
static TU_NOINLINE void make_resurrectable(void)
{
    gc_add_roots(saved, saved + KRES);
    for (uint64_t i = 0; i < KRES; i++) {
        fobj *o = make(i);
        gc_store(&o->child, make(1000 + i));
        cr_assert_eq(gc_set_finalizer(o, resurrect, NULL), GC_OK);
        refinalize[i] = i % 2 == 0;
        res_hidden[i] = tu_hide(o);
        res_weak[i] = gc_weak_new(o);
    }
}

static TU_NOINLINE void drop_saved(void)
{
    for (int i = 0; i < KRES; i++)
        gc_store(&saved[i], NULL);
}

/* Is saved[i] object i, intact?  (Not inline: the test's own frame must
 * not hold the object, or it could not die again.) */
static TU_NOINLINE int saved_is(int i)
{
    return saved[i] == tu_reveal(res_hidden[i]) && intact(saved[i]) && intact(saved[i]->child);
}

/* One round: collect and run what was queued; every object a finalizer
 * saved is intact and stays so through another collection, and its weak
 * reference, cleared at its first death, stays cleared; then drop them. */
static TU_NOINLINE void resurrection_round(int round)
{
    tu_collect_clean();
    gc_run_finalizers();
    tu_collect_clean();
    for (int i = 0; i < KRES; i++) {
        if (!saved[i])
            continue;
        cr_assert(saved_is(i), "round %d: resurrected object %d was freed", round, i);
        cr_assert_null(gc_weak_get(res_weak[i]), "round %d: the weak reference to resurrected "
                       "object %d came back", round, i);
    }
    drop_saved();
}

Test(finalizers, resurrection_keeps_the_object_and_forgets_the_finalizer)
{
    init_manual();
    make_resurrectable();
    /* Conservative scanning may keep an object a round longer; six rounds
     * let each die as often as its finalizers allow. */
    for (int round = 0; round < 6; round++)
        resurrection_round(round);
    int complete = 0;
    for (int i = 0; i < KRES; i++) {
        int runs = atomic_load(&res_runs[i]), allowed = i % 2 == 0 ? 2 : 1;
        cr_assert_leq(runs, allowed, "object %d: its finalizer ran %d times, set %d", i, runs, allowed);
        complete += runs == allowed;
    }
    cr_assert_geq(complete, KRES - 3, "only %d of %d objects ran all their finalizers", complete, KRES);
    /* Dead for good: freed. */
    tu_collect_clean();
    int freed = 0;
    for (int i = 0; i < KRES; i++)
        freed += tu_is_freed(res_hidden[i]);
    cr_assert_geq(freed, KRES - 3, "only %d of %d objects were freed after their last finalizer",
                  freed, KRES);
    cr_assert_eq(atomic_load(&nbroken), 0);
    for (int i = 0; i < KRES; i++)
        gc_weak_free(res_weak[i]);
}

Test(finalizers, removed_finalizer_never_runs)
{
    init_manual();
    static uintptr_t hidden[NOBJ];
    make_finalizable(hidden);
    for (int i = 0; i < NOBJ; i += 2)
        cr_assert_eq(gc_set_finalizer(live[i], NULL, NULL), GC_OK);
    for (int i = 0; i < NOBJ; i++)
        gc_store(&live[i], NULL);
    tu_collect_clean();
    gc_run_finalizers();
    for (uint64_t i = 0; i < NOBJ; i += 2)
        cr_assert(!ran(i), "removed finalizer %d ran", (int)i);
    cr_assert_geq(atomic_load(&nran), NOBJ / 2 - 6);
}

/* ---- cleanups --------------------------------------------------------------- */

static _Atomic int ncleaned, ncleanup_broken;

/* The argument is a heap object only the cleanup record keeps. */
static void cleanup_fn(void *arg)
{
    fobj *a = arg;
    if (!intact(a))
        atomic_fetch_add(&ncleanup_broken, 1);
    atomic_fetch_add(&ncleaned, 1);
}

static TU_NOINLINE void make_cleanups(uintptr_t *hidden, uint64_t *ids)
{
    for (uint64_t i = 0; i < NOBJ; i++) {
        fobj *o = make(i);
        ids[i] = gc_add_cleanup(o, cleanup_fn, make(5000 + i));
        cr_assert_neq(ids[i], 0);
        hidden[i] = tu_hide(o);
        if (i % 4 == 0)
            gc_store(&live[i], o);
    }
}

Test(cleanups, run_after_death_and_the_object_is_freed_in_the_same_sweep)
{
    tu_pin_no_torture(); /* it decides when its objects die */
    init_manual();
    static uintptr_t hidden[NOBJ];
    static uint64_t ids[NOBJ];
    make_cleanups(hidden, ids);
    /* Cancel the cleanups of objects 1, 5, 9, ...: they never run. */
    int cancelled = 0;
    for (int i = 1; i < NOBJ; i += 4) {
        cr_assert_eq(gc_cancel_cleanup(tu_reveal(hidden[i]), ids[i]), GC_OK);
        cancelled++;
    }
    cr_assert_eq(gc_cancel_cleanup(live[0], ids[0] + 12345), GC_EINVAL);
    tu_collect_clean();
    size_t pending = gc_finalizers_pending();
    int dead = NOBJ - NOBJ / 4 - cancelled;
    cr_assert_geq(pending, (size_t)(dead - 6), "only %zu of %d cleanups queued", pending, dead);
    /* No resurrection: the objects whose cleanups are queued are free. */
    int freed = 0;
    for (int i = 0; i < NOBJ; i++)
        if (i % 4 != 0)
            freed += tu_is_freed(hidden[i]);
    cr_assert_geq(freed, NOBJ - NOBJ / 4 - 8);
    cr_assert_eq(gc_run_finalizers(), pending);
    cr_assert_eq(atomic_load(&ncleaned), (int)pending);
    cr_assert_eq(atomic_load(&ncleanup_broken), 0, "a cleanup's argument was freed before it ran");
    tu_collect_clean();
    cr_assert_eq(gc_run_finalizers(), 0, "a cleanup ran twice");
}

Test(cleanups, wait_for_the_finalizer_of_the_same_object)
{
    init_manual();
    make_resurrectable();
    for (int i = 0; i < KRES; i++)
        refinalize[i] = 0; /* one finalizer run each, then the cleanups */
    for (int i = 0; i < KRES; i++)
        cr_assert_neq(gc_add_cleanup(tu_reveal(res_hidden[i]), cleanup_fn, make(5000)), 0);
    tu_collect_clean();
    size_t ran = gc_run_finalizers(); /* the finalizers only */
    cr_assert_geq(ran, (size_t)KRES - 3);
    cr_assert_eq(atomic_load(&ncleaned), 0, "a cleanup ran before its finalized object died");
    drop_saved();
    tu_collect_clean();
    size_t cleaned = gc_run_finalizers();
    cr_assert_leq(cleaned, ran);
    cr_assert_geq(cleaned, ran - 3, "only %zu of %zu cleanups ran after their objects died",
                  cleaned, ran);
    cr_assert_eq(atomic_load(&ncleaned), (int)cleaned);
    cr_assert_eq(atomic_load(&ncleanup_broken), 0);
}

/* ---- the finalizer thread, the notifier ------------------------------------------ */

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
/* Counted as failures, not successes: the finalizer thread keeps running
 * while the test reads them, so a success count could be one ahead of nran. */
static _Atomic int off_fin_thread, fin_alloc_failed;

static void thread_fin(void *obj, void *arg)
{
    char name[32] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    if (strcmp(name, "mgc-finalizer") != 0)
        atomic_fetch_add(&off_fin_thread, 1);
    fobj *n = gc_alloc(sizeof *n); /* finalizers may allocate */
    if (!n)
        atomic_fetch_add(&fin_alloc_failed, 1);
    record_fin(obj, arg);
    pthread_mutex_lock(&done_mu);
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static TU_NOINLINE void make_thread_finalizable(int n)
{
    for (uint64_t i = 0; i < (uint64_t)n; i++)
        cr_assert_eq(gc_set_finalizer(make(i), thread_fin, (void *)(uintptr_t)(i + 1)), GC_OK);
}

/* Wait (bounded: a hang is a failure) until n finalizers ran. */
static void *wait_ran(void *arg)
{
    int n = (int)(intptr_t)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 60;
    pthread_mutex_lock(&done_mu);
    while (atomic_load(&nran) < n)
        if (pthread_cond_timedwait(&done_cv, &done_mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&done_mu);
    return NULL;
}

Test(finalizers, run_on_the_finalizer_thread_by_default, .timeout = 120)
{
    setenv("MGC_CLOBBER", "1", 1);
    unsetenv("MGC_FINALIZERS");
    tu_init();
    make_thread_finalizable(64);
    tu_collect_clean();
    gc_do_blocking(wait_ran, (void *)(intptr_t)60);
    cr_assert_geq(atomic_load(&nran), 60, "only %d of 64 finalizers ran within 60 s",
                  atomic_load(&nran));
    cr_assert_eq(atomic_load(&off_fin_thread), 0, "a finalizer ran on another thread");
    cr_assert_eq(atomic_load(&fin_alloc_failed), 0, "a finalizer could not allocate");
    cr_assert_eq(atomic_load(&nbroken), 0);
}

static _Atomic int notified;
static void notify(void *arg)
{
    atomic_fetch_add(&notified, 1);
    cr_assert_eq(arg, (void *)&notified);
    cr_assert_gt(gc_finalizers_pending(), 0);
}

Test(finalizers, the_notifier_says_when_some_are_queued)
{
    init_manual();
    gc_set_finalizer_notifier(notify, &notified);
    tu_collect_clean();
    cr_assert_eq(atomic_load(&notified), 0, "notified with nothing queued");
    make_chain();
    tu_collect_clean();
    cr_assert_eq(atomic_load(&notified), 1);
    cr_assert_eq(gc_run_finalizers(), 1);
}

/* ---- misuse ---------------------------------------------------------------------- */

static void *unregistered_call(void *arg)
{
    return (void *)(intptr_t)gc_set_finalizer(arg, record_fin, NULL);
}

Test(finalizers, misuse_gets_a_message_and_a_defined_result)
{
    init_manual();
    tu_warn_capture();
    fobj *o = make(1);
    gc_store(&live[0], o);
    cr_assert_eq(gc_set_finalizer((char *)o + 8, record_fin, NULL), GC_EINVAL);
    tu_expect_one_warning("interior pointer", "gc_set_finalizer", "interior");
    static int not_heap;
    cr_assert_eq(gc_set_finalizer(&not_heap, record_fin, NULL), GC_EINVAL);
    tu_expect_one_warning("non-heap pointer", "gc_set_finalizer", "gc_alloc");
    cr_assert_eq(gc_add_cleanup(NULL, cleanup_fn, NULL), 0);
    tu_expect_one_warning("NULL object", "gc_add_cleanup", NULL);
    cr_assert_eq(gc_add_cleanup(o, NULL, NULL), 0);
    tu_expect_one_warning("NULL function", "gc_add_cleanup", "fn");
    cr_assert_neq(gc_add_cleanup(o, cleanup_fn, &o->payload[1]), 0);
    tu_expect_one_warning("argument inside the object", "gc_add_cleanup", "never die");
    pthread_t th;
    void *rc;
    cr_assert_eq(pthread_create(&th, NULL, unregistered_call, o), 0);
    pthread_join(th, &rc);
    cr_assert_eq((int)(intptr_t)rc, GC_ENOTREG);
    tu_expect_one_warning("unregistered thread", "gc_set_finalizer", "gc_register_thread");
    cr_assert_eq(gc_set_finalizer(o, NULL, NULL), GC_OK); /* none set: nothing to do */
    cr_assert_eq(tu_warn_count(), 0);
    cr_assert(intact(o));
}

/* ---- threads rewiring a graph while finalizers come and go ------------------------------- */

#define NMUT 3
#define RING 128

static _Atomic int stop_all;
static _Atomic long fin_set, stress_ran, stress_broken, cleanups_set, stress_cleaned;

static void stress_fin(void *obj, void *arg)
{
    fobj *o = obj;
    if (!intact(o) || (o->child && !intact(o->child)) || (uintptr_t)arg != o->seed + 1)
        atomic_fetch_add(&stress_broken, 1);
    atomic_fetch_add(&stress_ran, 1);
}

static void stress_cleanup(void *arg)
{
    if (!intact(arg))
        atomic_fetch_add(&stress_broken, 1);
    atomic_fetch_add(&stress_cleaned, 1);
}

static void *fin_mutator(void *arg)
{
    uint64_t id = (uint64_t)(intptr_t)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    fobj **ring = malloc(RING * sizeof *ring);
    memset(ring, 0, RING * sizeof *ring);
    gc_add_roots(ring, ring + RING);
    uint64_t seq = id << 40;
    for (int round = 0; round < 30000 || !atomic_load(&stop_all); round++) {
        fobj *o = make(seq++);
        gc_store(&o->child, make(seq++));
        /* Point into the ring: finalizable objects reach each other. */
        fobj *old = ring[round % RING];
        if (old && round % 3 == 0)
            gc_store(&o->child->child, old);
        if (round % 2 == 0) {
            if (gc_set_finalizer(o, stress_fin, (void *)(uintptr_t)(o->seed + 1)) == GC_OK)
                atomic_fetch_add(&fin_set, 1);
        } else if (round % 5 == 1) {
            if (gc_add_cleanup(o, stress_cleanup, make(seq++)))
                atomic_fetch_add(&cleanups_set, 1);
        }
        gc_store(&ring[round % RING], o);
        if (round % 64 == 0)
            gc_run_finalizers(); /* both modes: the program may drain the queue too */
        if (round > 200000)
            break;
    }
    for (int i = 0; i < RING; i++)
        if (ring[i] && (!intact(ring[i]) || !intact(ring[i]->child)))
            tu_fail("a live object in the ring was corrupted");
    gc_remove_roots(ring, ring + RING);
    free(ring);
    gc_unregister_thread();
    return NULL;
}

static void run_fin_mutators(void)
{
    void *const args[NMUT] = {(void *)1, (void *)2, (void *)3};
    tu_mutators_beside_collections(NMUT, fin_mutator, args, 20, &stop_all);
    /* Everything is garbage now: chains of finalizable objects take one
     * collection per link, so collect until the count stops moving. */
    long before = -1;
    for (int c = 0; c < 200 && atomic_load(&stress_ran) != before; c++) {
        before = atomic_load(&stress_ran);
        tu_collect_clean();
        tu_collect_clean();
        gc_run_finalizers();
    }
    cr_assert_eq(atomic_load(&stress_broken), 0, "%ld finalizers or cleanups saw freed memory",
                 atomic_load(&stress_broken));
    long set = atomic_load(&fin_set), ran_n = atomic_load(&stress_ran);
    cr_assert_leq(ran_n, set, "more finalizers ran (%ld) than were set (%ld)", ran_n, set);
    cr_assert_geq(ran_n, set - set / 50, "only %ld of %ld finalizers ran", ran_n, set);
    long cset = atomic_load(&cleanups_set), cl = atomic_load(&stress_cleaned);
    cr_assert_leq(cl, cset);
    cr_assert_geq(cl, cset - cset / 50, "only %ld of %ld cleanups ran", cl, cset);
}

Test(finalizers, threads_rewiring_a_graph_during_concurrent_marks, .timeout = 240)
{
    setenv("MGC_CLOBBER", "1", 1);
    tu_init();
    run_fin_mutators();
}

Test(finalizers, manual_queue_under_torture, .timeout = 240)
{
    setenv("MGC_FINALIZERS", "manual", 1);
    setenv("MGC_TORTURE", "500", 1);
    setenv("MGC_CLOBBER", "1", 1);
    tu_init();
    run_fin_mutators();
    cr_assert_gt(tu_stats().num_gc, 100);
}

/* ---- MGC_TORTURE=1: a complete collection at every allocation ---------------------- */

static TU_NOINLINE void torture_round(int i, gc_weak **w, void **slots)
{
    fobj *o = make((uint64_t)i);
    gc_store(&o->child, make(100000 + (uint64_t)i));
    cr_assert_eq(gc_set_finalizer(o, record_fin, (void *)(uintptr_t)(o->seed + 1)), GC_OK);
    cr_assert_neq(gc_add_cleanup(o, cleanup_fn, make(200000 + (uint64_t)i)), 0);
    w[i] = gc_weak_new(o);
    cr_assert_not_null(w[i]);
    cr_assert_eq(gc_weak_slot_set(&slots[i], o), GC_OK);
    if (i % 2 == 0)
        gc_store(&live[i], o);
}

/* Weak handles, weak slots, finalizers and cleanups on the same objects,
 * with a collection at every allocation. */
Test(finalizers, with_weak_refs_and_cleanups_at_every_allocation, .timeout = 240)
{
    setenv("MGC_TORTURE", "1", 1);
    init_manual();
    enum { N = 200 };
    static gc_weak *w[N];
    void **slots = gc_alloc_noscan(N * sizeof(void *)); /* a weak table */
    cr_assert_not_null(slots);
    for (int i = 0; i < N; i++) {
        torture_round(i, w, slots);
        gc_run_finalizers();
    }
    for (int c = 0; c < 4; c++) {
        tu_collect_clean();
        gc_run_finalizers();
    }
    cr_assert_eq(atomic_load(&nbroken), 0, "a finalizer saw a freed object or child");
    cr_assert_eq(atomic_load(&ncleanup_broken), 0, "a cleanup's argument was freed");
    int dead = 0;
    for (int i = 0; i < N; i++) {
        fobj *o = gc_weak_get(w[i]);
        cr_assert_eq(gc_weak_slot_get(&slots[i]), (void *)o, "weak slot and handle %d disagree", i);
        if (i % 2 == 0) {
            cr_assert_eq(o, live[i], "the weak handle of live object %d reads %p", i, (void *)o);
            cr_assert(intact(o) && intact(o->child));
            cr_assert(!ran((uint64_t)i), "the finalizer of live object %d ran", i);
        } else if (!o) {
            dead++;
            cr_assert(ran((uint64_t)i), "object %d died without its finalizer", i);
        }
    }
    cr_assert_geq(dead, N / 2 - 6, "only %d of %d dropped objects died", dead, N / 2);
    cr_assert_geq(atomic_load(&ncleaned), dead - 6);
    cr_assert_geq(tu_stats().num_gc, (uint64_t)N * 3, "%llu collections", (unsigned long long)tu_stats().num_gc);
}
