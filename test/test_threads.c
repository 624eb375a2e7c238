/*
 * test_threads.c -- several registered threads: stopping the world, stacks
 * as roots, registration coming and going.
 *
 * Worker threads never call Criterion asserts; they record failures with
 * tu_fail() and the test asserts after joining them.  Every test has a
 * timeout, so a collector that cannot stop a thread fails instead of
 * hanging the suite.
 */
#include <sched.h>

#include "test/test_util.h"

#include "gc/gc.h"

typedef struct tnode {
    struct tnode *next;
    uint64_t val;
    uint64_t check;
} tnode;

static uint64_t node_check(uint64_t val) { return tu_mix(val) ^ 0x0123456789ABCDEFu; }

/* A list of len nodes for (thread id, round), values distinct across both. */
static TU_NOINLINE tnode *build_tlist(int id, int round, long len, uint64_t *sum)
{
    tnode *head = NULL;
    uint64_t s = 0;
    for (long i = 0; i < len; i++) {
        tnode *x = gc_alloc(sizeof *x);
        if (!x) {
            tu_fail("thread %d: gc_alloc failed", id);
            return head;
        }
        x->val = ((uint64_t)id << 48) | ((uint64_t)round << 20) | (uint64_t)i;
        x->check = node_check(x->val);
        gc_store(&x->next, head);
        head = x;
        s += x->val;
    }
    *sum = s;
    return head;
}

/* Is x still an allocated object?  One gc_base() lookup can return NULL for
 * a live object while another thread sweeps its span (the bug that
 * threads/gc_base_stable_during_concurrent_sweep isolates); the list tests
 * are about objects really being freed, which is permanent, so they look a
 * few times. */
static int node_allocated(const tnode *x)
{
    for (int k = 0; k < 100; k++)
        if (gc_base(x) == (const void *)x)
            return 1;
    return 0;
}

static int verify_tlist(const tnode *head, long len, uint64_t sum, const char *who)
{
    long n = 0;
    uint64_t s = 0;
    for (const tnode *x = head; x; x = x->next, n++) {
        if (n >= len) {
            tu_fail("%s: list longer than %ld nodes", who, len);
            return 0;
        }
        if (!node_allocated(x)) {
            tu_fail("%s: node %ld (%p) is not an allocated object", who, n, (const void *)x);
            return 0;
        }
        if (x->check != node_check(x->val)) {
            tu_fail("%s: node %ld corrupted (val %#llx)", who, n, (unsigned long long)x->val);
            return 0;
        }
        s += x->val;
    }
    if (n != len || s != sum) {
        tu_fail("%s: %ld nodes with sum %#llx, want %ld with %#llx", who, n,
                (unsigned long long)s, len, (unsigned long long)sum);
        return 0;
    }
    return 1;
}

/* ---- six threads building, dropping and collecting ----------------------------- */

#define NWORK 6
#define NLISTS 8
#ifdef __SANITIZE_THREAD__
#define ROUNDS 100 /* TSan: a stop waits for each thread's next libc call */
#else
#define ROUNDS 2000
#endif
static pthread_barrier_t start_bar;

static void *list_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char who[64];
    if (gc_register_thread() != GC_OK)
        tu_fail("worker %d: gc_register_thread failed", id);
    pthread_barrier_wait(&start_bar);
    tnode *heads[NLISTS] = {0};
    uint64_t sums[NLISTS] = {0};
    long lens[NLISTS] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        int k = r % NLISTS;
        if (heads[k]) {
            snprintf(who, sizeof who, "worker %d list %d round %d", id, k, r);
            if (!verify_tlist(heads[k], lens[k], sums[k], who))
                break;
        }
        lens[k] = 300 + (r * 37) % 1200;
        heads[k] = build_tlist(id, r, lens[k], &sums[k]); /* drops the old list */
        for (int g = 0; g < 24; g++) { /* pointer-free garbage */
            char *b = gc_alloc_noscan(1500 + (size_t)g * 16);
            if (!b) {
                tu_fail("worker %d: gc_alloc_noscan failed", id);
                break;
            }
            b[0] = (char)g;
        }
        if (r % 100 == 99)
            gc_collect();
    }
    for (int k = 0; k < NLISTS; k++) {
        snprintf(who, sizeof who, "worker %d list %d at the end", id, k);
        verify_tlist(heads[k], lens[k], sums[k], who);
    }
    gc_unregister_thread();
    return NULL;
}

Test(threads, six_threads_build_verify_and_collect, .timeout = 120)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    tu_init();
    gc_set_percent(100);
    pthread_barrier_init(&start_bar, NULL, NWORK);
    pthread_t th[NWORK];
    for (int i = 0; i < NWORK; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, list_worker, (void *)(intptr_t)(i + 1)), 0);
    for (int i = 0; i < NWORK; i++)
        tu_join(th[i]);
    pthread_barrier_destroy(&start_bar);
    tu_assert_no_thread_failures();
    gc_stats st = tu_stats();
    cr_assert_gt(st.num_gc, st.num_forced_gc, "no automatic collection ran (%llu cycles)",
                 (unsigned long long)st.num_gc);
    /* Concurrent gc_collect calls may share a cycle (each waits for one
     * that started after it was called), so at least one per round of calls. */
    cr_assert_geq(st.num_forced_gc, ROUNDS / 100);
    cr_assert_leq(st.num_forced_gc, NWORK * (ROUNDS / 100));
    cr_assert_eq(st.num_threads, 1, "%llu threads still registered",
                 (unsigned long long)st.num_threads);
    cr_assert_gt(st.num_free, 0);
}

/* ---- gc_base while another thread sweeps ------------------------------------------------ */

/*
 * "Every function may be called from any registered thread at any time", and
 * gc_base(p) is NULL only "if p points into no allocated heap object".  Here
 * one thread looks up objects that stay live throughout, while the main
 * thread collects over and over; each collection sweeps their spans after
 * restarting the world, that is, while the checker runs.
 */
#define RACE_LIVE 512
#define RACE_STRIDE 512 /* one live object per 16-byte span: many short sweeps */
#ifndef RACE_OVERLAP
#define RACE_OVERLAP 1000UL
#endif
static void *race_live[RACE_LIVE]; /* registered root */
static _Atomic int race_stop, race_started;
static _Atomic unsigned long race_bad, race_rounds, race_overlap;
static _Atomic uintptr_t race_first_bad;

static void *base_checker(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("checker: gc_register_thread failed");
    static uint32_t seen[RACE_LIVE]; /* heap sweepgen of the last overlap seen */
    atomic_store(&race_started, 1);
    while (!atomic_load_explicit(&race_stop, memory_order_relaxed)) {
        unsigned long overlap = 0;
        for (int i = 0; i < RACE_LIVE; i++) {
            void *p = race_live[i];
            /* White-box: is p's span being swept right now (sweepgen sg-1,
             * runtime/mcentral.c)?  Counts the sweeps (span and cycle) that
             * a lookup really overlapped, each once: a sweeper preempted
             * mid-span must not count thousands of times. */
            mspan *sp = mgc_span_of_heap((uintptr_t)p);
            uint32_t sg = atomic_load(&mgc_heap.sweepgen);
            if (sp && atomic_load(&sp->sweepgen) + 1 == sg && seen[i] != sg) {
                seen[i] = sg;
                overlap++;
            }
            if (gc_base(p) != p) {
                if (atomic_fetch_add(&race_bad, 1) == 0)
                    atomic_store(&race_first_bad, (uintptr_t)p);
            }
        }
        atomic_fetch_add(&race_rounds, 1);
        atomic_fetch_add(&race_overlap, overlap);
    }
    gc_unregister_thread();
    return NULL;
}

static TU_NOINLINE void race_make(void)
{
    for (int i = 0; i < RACE_STRIDE * RACE_LIVE; i++) {
        void *p = gc_alloc(16);
        cr_assert_not_null(p);
        if (i % RACE_STRIDE == 0)
            race_live[i / RACE_STRIDE] = p; /* the rest is garbage */
    }
}

Test(threads, gc_base_stable_during_concurrent_sweep, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("the checker thread loops in gc_base without a libc call");
    unsetenv("MGC_STW"); /* MGC_STW=2 sweeps in the pause: no sweep to race */
    tu_init();
    gc_add_roots(race_live, race_live + RACE_LIVE);
    race_make();
    tu_collect_clean();
    for (int i = 0; i < RACE_LIVE; i++)
        cr_assert_eq(gc_base(race_live[i]), race_live[i], "test precondition");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, base_checker, NULL), 0);
    while (!atomic_load(&race_started))
        sched_yield();
    /* Until the race shows, or until enough lookups hit a span while it was
     * being swept.  Counting that overlap, rather than cycles, keeps the
     * test meaningful when other work on the two cores keeps the threads
     * apart; the cap only bounds the time if it never happens. */
    int cycles = 0;
    while (atomic_load(&race_bad) == 0 && cycles < 100000 &&
           (cycles < 2000 || atomic_load(&race_overlap) < RACE_OVERLAP)) {
        gc_collect();
        cycles++;
    }
    atomic_store(&race_stop, 1);
    tu_join(th);
    tu_assert_no_thread_failures();
    unsigned long bad = atomic_load(&race_bad);
    cr_assert_eq(bad, 0,
                 "gc_base returned NULL (or another base) %lu times for live objects during %d "
                 "collections (%lu rounds of %d lookups, %lu during a sweep of their span); "
                 "first %#lx, which is allocated now: %d",
                 bad, cycles, atomic_load(&race_rounds), RACE_LIVE, atomic_load(&race_overlap),
                 (unsigned long)atomic_load(&race_first_bad),
                 gc_base((void *)atomic_load(&race_first_bad)) ==
                     (void *)atomic_load(&race_first_bad));
    cr_assert_gt(atomic_load(&race_overlap), 0,
                 "test precondition: no lookup overlapped the sweep of its span in %d "
                 "collections (has the sweepgen protocol changed?)",
                 cycles);
}

/* ---- a thread spinning without calling the library ----------------------------------- */

#define SPIN_SIZE 256
static _Atomic int spin_stop;
static _Atomic unsigned long spin_progress;
static _Atomic uintptr_t spin_h;

static TU_NOINLINE uint64_t *spin_make(void)
{
    uint64_t *p = gc_alloc(SPIN_SIZE);
    if (p)
        for (int i = 0; i < SPIN_SIZE / 8; i++)
            p[i] = tu_mix((uint64_t)i + 77);
    return p;
}

static void *spinner(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("spinner: gc_register_thread failed");
    uint64_t *p = spin_make();
    if (!p) {
        tu_fail("spinner: gc_alloc failed");
        atomic_store(&spin_progress, 1);
        return NULL;
    }
    atomic_store(&spin_h, tu_hide(p));
    unsigned long counter = 0;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
        counter++;
        if ((counter & 0xFFFF) == 0)
            atomic_store_explicit(&spin_progress, counter, memory_order_relaxed);
    }
    if (gc_base(p) != (void *)p)
        tu_fail("spinner: its object was freed while it spun");
    for (int i = 0; i < SPIN_SIZE / 8; i++)
        if (p[i] != tu_mix((uint64_t)i + 77)) {
            tu_fail("spinner: its object was overwritten (word %d)", i);
            break;
        }
    gc_unregister_thread();
    return NULL;
}

static void wait_progress_beyond(unsigned long v)
{
    while (atomic_load(&spin_progress) <= v)
        sched_yield();
}

Test(threads, spinning_thread_does_not_block_collection, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("the spinning thread never calls an intercepted function");
    tu_init();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, spinner, NULL), 0);
    wait_progress_beyond(0); /* it is inside the loop */
    for (int round = 0; round < 20; round++) {
        gc_collect();
        cr_assert(!tu_is_freed(atomic_load(&spin_h)),
                  "round %d: the spinning thread's object was freed", round);
        /* Hand out every free slot of its class, so a wrongly freed object
         * would be overwritten. */
        for (int i = 0; i < 200; i++)
            memset(gc_alloc(SPIN_SIZE), 0xEE, SPIN_SIZE);
        unsigned long seen = atomic_load(&spin_progress);
        wait_progress_beyond(seen); /* it was restarted and runs again */
    }
    atomic_store(&spin_stop, 1);
    tu_join(th);
    tu_assert_no_thread_failures();
    gc_stats st = tu_stats();
    cr_assert_geq(st.num_forced_gc, 20);
}

/* ---- threads coming and going while another collects --------------------------------- */

#define NCHURN 4
#define CHURN_ITERS 150
static _Atomic int churn_done;

static void *churn_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char who[64];
    for (int it = 0; it < CHURN_ITERS; it++) {
        int rc = gc_register_thread();
        if (rc != GC_OK) {
            tu_fail("churn %d: gc_register_thread returned %d on iteration %d", id, rc, it);
            break;
        }
        if (!gc_thread_is_registered())
            tu_fail("churn %d: not registered after gc_register_thread", id);
        uint64_t sum;
        long len = 100 + it % 200;
        tnode *volatile head = build_tlist(id, it, len, &sum);
        if (it % 10 == 0)
            gc_collect();
        for (int g = 0; g < 20; g++)
            (void)!gc_alloc(700);
        snprintf(who, sizeof who, "churn %d iteration %d", id, it);
        verify_tlist(head, len, sum, who);
        gc_unregister_thread();
        if (gc_thread_is_registered())
            tu_fail("churn %d: still registered after gc_unregister_thread", id);
    }
    atomic_fetch_add(&churn_done, 1);
    return NULL;
}

Test(threads, register_unregister_while_collecting, .timeout = 120)
{
    tu_init();
    tu_warn_capture();
    pthread_t th[NCHURN];
    for (int i = 0; i < NCHURN; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, churn_thread, (void *)(intptr_t)(i + 1)), 0);
    unsigned long collections = 0;
    tnode *volatile mine = NULL;
    uint64_t mysum = 0;
    while (atomic_load(&churn_done) < NCHURN) {
        mine = build_tlist(99, (int)(collections % 1000), 50, &mysum);
        gc_collect();
        collections++;
        verify_tlist(mine, 50, mysum, "main");
    }
    for (int i = 0; i < NCHURN; i++)
        tu_join(th[i]);
    tu_assert_no_thread_failures();
    cr_assert_gt(collections, 0);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    gc_stats st = tu_stats();
    cr_assert_eq(st.num_threads, 1);
    gc_collect();
}

/* ---- threads that exit registered ------------------------------------------------------- */

#define NEXIT 8
#define EXIT_LEN 1000
static tnode *exit_heads[NEXIT]; /* registered root */
static uint64_t exit_sums[NEXIT];

static void *exit_registered(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("exiter %d: gc_register_thread failed", id);
    if (id >= 0)
        exit_heads[id] = build_tlist(id, 0, EXIT_LEN, &exit_sums[id]);
    else
        (void)!gc_alloc(1000);
    return NULL; /* no gc_unregister_thread */
}

Test(threads, thread_exiting_without_unregister, .timeout = 60)
{
    tu_init();
    tu_warn_capture();
    gc_add_roots(exit_heads, exit_heads + NEXIT);
    pthread_t th[NEXIT];
    for (int i = 0; i < NEXIT; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, exit_registered, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NEXIT; i++)
        tu_join(th[i]);
    tu_assert_no_thread_failures();
    cr_assert_eq(tu_stats().num_threads, 1, "exited threads are still registered");

    for (int round = 0; round < 3; round++) {
        gc_collect();
        for (int g = 0; g < 5000; g++)
            memset(gc_alloc(sizeof(tnode)), 0xEE, sizeof(tnode));
    }
    char who[64];
    for (int i = 0; i < NEXIT; i++) {
        snprintf(who, sizeof who, "list of exited thread %d", i);
        verify_tlist(exit_heads[i], EXIT_LEN, exit_sums[i], who);
    }
    tu_assert_no_thread_failures();

    /* Now threads exit while this one collects. */
    for (int batch = 0; batch < 10; batch++) {
        pthread_t t2[4];
        for (int i = 0; i < 4; i++)
            cr_assert_eq(pthread_create(&t2[i], NULL, exit_registered, (void *)(intptr_t)-1), 0);
        for (int k = 0; k < 3; k++)
            gc_collect();
        for (int i = 0; i < 4; i++)
            tu_join(t2[i]);
    }
    gc_collect();
    tu_assert_no_thread_failures();
    cr_assert_eq(tu_warn_count(), 0, "collector complained: %s", tu_warn_msg(0));
    cr_assert_eq(tu_stats().num_threads, 1);
    void *p = gc_alloc(100);
    cr_assert_not_null(p);
}

/* ---- registration misuse ---------------------------------------------------------------- */

static void *register_twice(void *arg)
{
    int *rc = arg;
    rc[0] = gc_thread_is_registered();
    rc[1] = gc_register_thread();
    rc[2] = gc_thread_is_registered();
    rc[3] = gc_register_thread();
    rc[4] = gc_thread_is_registered();
    gc_unregister_thread();
    rc[5] = gc_thread_is_registered();
    return NULL;
}

Test(threads, register_twice_is_ealready_with_a_message)
{
    tu_init();
    tu_warn_capture();
    cr_assert(gc_thread_is_registered(), "gc_init did not register the main thread");
    cr_assert_eq(gc_register_thread(), GC_EALREADY);
    tu_expect_one_warning("gc_register_thread twice on the main thread", "gc_register_thread",
                          NULL);

    int rc[6];
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, register_twice, rc), 0);
    tu_join(th);
    cr_assert_eq(rc[0], 0);
    cr_assert_eq(rc[1], GC_OK);
    cr_assert_eq(rc[2], 1);
    cr_assert_eq(rc[3], GC_EALREADY);
    cr_assert_eq(rc[4], 1, "a second gc_register_thread unregistered the thread");
    cr_assert_eq(rc[5], 0);
    tu_expect_one_warning("gc_register_thread twice on a thread", "gc_register_thread", NULL);
    cr_assert_eq(tu_stats().num_threads, 1);
}

typedef struct unreg_result {
    void *a, *b, *c;
    int registered;
    int msgs[6];
    char text[6][512];
} unreg_result;

static void note(unreg_result *r, int i, int before)
{
    r->msgs[i] = tu_warn_count() - before;
    snprintf(r->text[i], sizeof r->text[i], "%s", tu_warn_msg(tu_warn_count() - 1));
}

static void *unregistered_thread(void *arg)
{
    unreg_result *r = arg;
    int n = tu_warn_count();
    r->registered = gc_thread_is_registered();
    r->a = gc_alloc(64);
    note(r, 0, n), n = tu_warn_count();
    r->b = gc_alloc_noscan(8);
    note(r, 1, n), n = tu_warn_count();
    r->c = gc_alloc_array(4, 16);
    note(r, 2, n), n = tu_warn_count();
    gc_collect();
    note(r, 3, n), n = tu_warn_count();
    gc_unregister_thread();
    note(r, 4, n), n = tu_warn_count();
    return NULL;
}

Test(threads, unregistered_thread_gets_null_and_messages)
{
    tu_init();
    tu_warn_capture();
    void *volatile keep = gc_alloc(64);
    unreg_result r;
    memset(&r, 0, sizeof r);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, unregistered_thread, &r), 0);
    tu_join(th);
    cr_assert_eq(r.registered, 0);
    cr_assert_null(r.a, "gc_alloc from an unregistered thread returned memory");
    cr_assert_null(r.b, "gc_alloc_noscan from an unregistered thread returned memory");
    cr_assert_null(r.c, "gc_alloc_array from an unregistered thread returned memory");
    const char *what[] = {"gc_alloc", "gc_alloc_noscan", "gc_alloc_array", "gc_collect",
                          "gc_unregister_thread"};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(r.msgs[i], 1, "%s from an unregistered thread printed %d messages", what[i],
                     r.msgs[i]);
        cr_assert(strstr(r.text[i], what[i]) != NULL, "message \"%s\" does not name %s",
                  r.text[i], what[i]);
    }
    for (int i = 0; i < 4; i++)
        cr_assert(strstr(r.text[i], "gc_register_thread") != NULL,
                  "message \"%s\" does not name the fix, gc_register_thread", r.text[i]);
    /* The heap is fine. */
    gc_collect();
    cr_assert_eq(gc_base(keep), keep);
    cr_assert_eq(tu_stats().num_threads, 1);
}

static void *late_init(void *arg)
{
    int *rc = arg;
    rc[0] = gc_init(NULL);
    rc[1] = gc_thread_is_registered();
    void *p = gc_alloc(32);
    rc[2] = p != NULL && gc_base(p) == p;
    gc_unregister_thread();
    return NULL;
}

Test(threads, gc_init_from_a_second_thread_registers_it)
{
    tu_init();
    int rc[3] = {-1, -1, -1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, late_init, rc), 0);
    tu_join(th);
    cr_assert_eq(rc[0], GC_OK);
    cr_assert_eq(rc[1], 1, "gc_init on a new thread did not register it");
    cr_assert_eq(rc[2], 1);
    cr_assert_eq(tu_stats().num_threads, 1);
}

/* ---- every thread collecting at once ------------------------------------------------------ */

#define NCOLL 4
static void *collector_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char who[64];
    if (gc_register_thread() != GC_OK)
        tu_fail("collector %d: gc_register_thread failed", id);
    pthread_barrier_wait(&start_bar);
    uint64_t sum;
    tnode *volatile head = build_tlist(id, 0, 2000, &sum);
    for (int i = 0; i < 150; i++) {
        gc_collect();
        for (int g = 0; g < 50; g++)
            (void)!gc_alloc(24 + (size_t)g * 8);
        if (i % 25 == 0) {
            snprintf(who, sizeof who, "collector %d round %d", id, i);
            verify_tlist(head, 2000, sum, who);
        }
    }
    snprintf(who, sizeof who, "collector %d at the end", id);
    verify_tlist(head, 2000, sum, who);
    gc_unregister_thread();
    return NULL;
}

Test(threads, all_threads_call_gc_collect_at_once, .timeout = 120)
{
    tu_init();
    pthread_barrier_init(&start_bar, NULL, NCOLL);
    pthread_t th[NCOLL];
    gc_stats s0 = tu_stats();
    for (int i = 0; i < NCOLL; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, collector_thread, (void *)(intptr_t)(i + 1)), 0);
    for (int i = 0; i < NCOLL; i++)
        tu_join(th[i]);
    pthread_barrier_destroy(&start_bar);
    tu_assert_no_thread_failures();
    gc_stats s1 = tu_stats();
    /* Calls made at once share cycles: each returns after a complete cycle
     * that started after it was called, so at least 150 (one thread's
     * calls) and at most one per call. */
    uint64_t forced = s1.num_forced_gc - s0.num_forced_gc;
    cr_assert(forced >= 150 && forced <= NCOLL * 150,
              "%llu forced collections for %d gc_collect calls from %d threads",
              (unsigned long long)forced, NCOLL * 150, NCOLL);
    cr_assert_eq(s1.num_threads, 1);
}

/* ---- objects outlive the thread that allocated them ---------------------------------------- */

static char *left_behind[2 * NEXIT]; /* registered root: [2i] a list, [2i+1] a tiny sub-object */

static void *leave_objects(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("leaver %d: gc_register_thread failed", id);
    left_behind[2 * id] = (char *)build_tlist(id, 1, EXIT_LEN, &exit_sums[id]);
    char *t = NULL;
    for (int k = 0; k < 3; k++) { /* the third 4-byte object of a block */
        t = gc_alloc_noscan(4);
        if (!t) {
            tu_fail("leaver %d: gc_alloc_noscan failed", id);
            break;
        }
        memset(t, 0x40 + id, 4);
    }
    left_behind[2 * id + 1] = t;
    gc_unregister_thread();
    return NULL;
}

Test(threads, objects_outlive_their_unregistered_thread, .timeout = 60)
{
    tu_init();
    gc_add_roots(left_behind, left_behind + 2 * NEXIT);
    pthread_t th[NEXIT];
    for (int i = 0; i < NEXIT; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, leave_objects, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NEXIT; i++)
        tu_join(th[i]);
    tu_assert_no_thread_failures();
    for (int round = 0; round < 3; round++) {
        gc_collect();
        for (int g = 0; g < 20000; g++) /* reuse anything freed in both classes */
            memset(gc_alloc_noscan(16), 0xEE, 16);
        for (int g = 0; g < 5000; g++)
            memset(gc_alloc(sizeof(tnode)), 0xEE, sizeof(tnode));
    }
    char who[64];
    for (int i = 0; i < NEXIT; i++) {
        snprintf(who, sizeof who, "list left by thread %d", i);
        verify_tlist((tnode *)left_behind[2 * i], EXIT_LEN, exit_sums[i], who);
        const char *t = left_behind[2 * i + 1];
        cr_assert_not_null(gc_base(t), "tiny object left by thread %d was freed", i);
        for (int k = 0; k < 4; k++)
            cr_assert_eq(t[k], 0x40 + i, "tiny object left by thread %d overwritten", i);
    }
    tu_assert_no_thread_failures();
}

/* ---- a large allocation interrupted by another thread's collection -------------------------- */

/*
 * Automatic collection is off: only the main thread's gc_collect runs
 * cycles.  When its stop request reaches the allocating thread inside the
 * large-allocation path (a no-preempt section that includes zeroing the
 * recycled pages), the thread stops at the end of the section -- and the
 * object it is about to return must be treated as live.
 */
#define LBIG (64 * 1024)
#define LRING 4
static _Atomic int lbig_stop;
static _Atomic unsigned long lbig_allocs, lbig_dead, lbig_cycles;
/* Registered root: the last few objects stay live, so a new object never
 * reuses the address of one whose stale copy may still sit in a register or
 * on the stack (which would keep it alive by accident and hide the bug). */
static uint64_t *lbig_ring[LRING];

static TU_NOINLINE void small_clear_stack(void)
{
    uintptr_t buf[512];
    memset(buf, 0, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

static void *wait_for_cycles(void *arg)
{
    unsigned long n = *(unsigned long *)arg;
    while (n > 64 * (atomic_load(&lbig_cycles) + 1) && !atomic_load(&lbig_stop))
        sched_yield();
    return NULL;
}

static void *large_allocator(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("large allocator: gc_register_thread failed");
    for (unsigned long n = 0; !atomic_load(&lbig_stop); n++) {
        /* Automatic collection is off: keep at most 64 allocations (4 MiB)
         * ahead of the main thread's cycles, or a slow cycle on a busy
         * machine lets the heap grow without bound.  Parked: the wait holds
         * no heap pointer, and a collection need not signal it. */
        if (n > 64 * (atomic_load(&lbig_cycles) + 1))
            gc_do_blocking(wait_for_cycles, &n);
        small_clear_stack();
        uint64_t *p = gc_alloc(LBIG);
        if (!p) {
            tu_fail("large allocator: gc_alloc failed");
            break;
        }
        /* Retried: a single lookup can fail spuriously while the main thread
         * sweeps (threads/gc_base_stable_during_concurrent_sweep); a freed
         * object stays free, as nothing else allocates here. */
        int alive = 0;
        for (int k = 0; k < 100 && !alive; k++)
            alive = gc_base(p) == (void *)p;
        if (!alive)
            atomic_fetch_add(&lbig_dead, 1);
        p[0] = 1;
        gc_store(&lbig_ring[n % LRING], p);
        atomic_fetch_add(&lbig_allocs, 1);
    }
    gc_unregister_thread();
    return NULL;
}

Test(threads, large_alloc_interrupted_by_a_collection_returns_a_live_object, .timeout = 60)
{
    tu_init();
    gc_set_percent(-1);
    gc_add_roots(lbig_ring, lbig_ring + LRING);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, large_allocator, NULL), 0);
    int cycles = 0;
    while (atomic_load(&lbig_dead) == 0 &&
           (cycles < 3000 || atomic_load(&lbig_allocs) < 2000)) {
        gc_collect();
        cycles++;
        atomic_store(&lbig_cycles, (unsigned long)cycles);
    }
    atomic_store(&lbig_stop, 1);
    tu_join(th);
    tu_assert_no_thread_failures();
    cr_assert_eq(atomic_load(&lbig_dead), 0,
                 "%lu of %lu large objects were not allocated when gc_alloc returned them "
                 "(%d collections from the main thread)",
                 atomic_load(&lbig_dead), atomic_load(&lbig_allocs), cycles);
}

/* ---- gc_do_blocking ------------------------------------------------------------------ */

static _Atomic int blk_state; /* 1: parked, signal blocked; 2: main is done collecting */
static _Atomic uintptr_t blk_h;

static void *blocked_fn(void *arg)
{
    (void)arg;
    /* Block the stop signal: a collector that signalled a parked thread
     * would wait for it forever (the test's timeout would fire). */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGPWR);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    int idle = 0;
    atomic_compare_exchange_strong(&blk_state, &idle, 1);
    while (atomic_load(&blk_state) != 2)
        sched_yield();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return (void *)0x5;
}

static TU_NOINLINE uint64_t *blk_make(void)
{
    uint64_t *p = gc_alloc(SPIN_SIZE);
    if (p)
        for (int i = 0; i < SPIN_SIZE / 8; i++)
            p[i] = tu_mix((uint64_t)i + 991);
    return p;
}

static void *blocking_thread(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("blocking thread: gc_register_thread failed");
    uint64_t *volatile p = blk_make(); /* only on this stack */
    if (!p) {
        tu_fail("blocking thread: gc_alloc failed");
        atomic_store(&blk_state, 1);
        return NULL;
    }
    atomic_store(&blk_h, tu_hide(p));
    void *r = gc_do_blocking(blocked_fn, NULL);
    if (r != (void *)0x5)
        tu_fail("gc_do_blocking returned %p, not fn's result", r);
    for (int i = 0; i < SPIN_SIZE / 8; i++)
        if (p[i] != tu_mix((uint64_t)i + 991)) {
            tu_fail("blocking thread: its object was overwritten (word %d)", i);
            break;
        }
    /* Out of gc_do_blocking it is an ordinary thread again. */
    if (!gc_alloc(64))
        tu_fail("blocking thread: gc_alloc after gc_do_blocking failed");
    gc_unregister_thread();
    return NULL;
}

Test(threads, do_blocking_thread_is_scanned_without_a_signal, .timeout = 60)
{
    tu_init();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, blocking_thread, NULL), 0);
    while (atomic_load(&blk_state) != 1)
        sched_yield();
    for (int round = 0; round < 10; round++) {
        gc_collect(); /* would hang if the parked thread had to take a signal */
        cr_assert(!tu_is_freed(atomic_load(&blk_h)),
                  "round %d: the parked thread's object was freed", round);
        for (int i = 0; i < 200; i++)
            memset(gc_alloc(SPIN_SIZE), 0xEE, SPIN_SIZE);
    }
    atomic_store(&blk_state, 2);
    tu_join(th);
    tu_assert_no_thread_failures();
}

Test(threads, do_blocking_from_an_unregistered_thread_runs_fn_with_a_message)
{
    tu_init();
    gc_unregister_thread();
    tu_warn_capture();
    atomic_store(&blk_state, 2);
    void *r = gc_do_blocking(blocked_fn, NULL);
    cr_assert_eq(r, (void *)0x5, "fn did not run or its result was lost");
    tu_expect_one_warning("gc_do_blocking unregistered", "gc_do_blocking", "gc_register_thread");
    cr_assert_null(gc_do_blocking(NULL, NULL));
    tu_expect_one_warning("gc_do_blocking(NULL)", "gc_do_blocking", "NULL");
}
