/*
 * test_threadroots.c -- thread-owned root ranges (gc_add_thread_roots) and
 * threads that run on another stack (issue 13 item 8).
 *
 * The objects are checksummed and the collector runs with MGC_CLOBBER (and
 * MGC_CHECKMARK where marking is concurrent): an object freed while a range
 * or a frame still held it is filled with 0xdeadbeef or reused, so its
 * checksum fails when the owner reads it.  The owners store into their
 * ranges with plain assignments only, as the API promises they may.
 */
#include <signal.h>
#include <ucontext.h>

#include "test/test_util.h"

typedef struct tobj {
    uint64_t id, sum;
    struct tobj *next; /* heap field: gc_store only */
    uint64_t pad;
} tobj;

static tobj *tobj_new(uint64_t id) {
    tobj *o = gc_alloc(sizeof *o);
    if (!o) return NULL;
    o->id = id;
    o->sum = tu_mix(id);
    return o;
}
static int tobj_ok(const tobj *o) { return o->sum == tu_mix(o->id) && o->id != 0; }

static void init_debug(int checkmark) {
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = checkmark;
    cfg.clobber = 1;
    int rc = gc_init(&cfg);
    cr_assert_eq(rc, GC_OK, "gc_init: %s", gc_strerror(rc));
}

/* ---- four mutators with plain stores into their own ranges ----------------- */

static _Atomic int stop_mutators;
static _Atomic uint64_t next_id = 1;

/* v: the registered range; ids: the id each slot should hold (malloc'd,
 * not scanned), so an object freed and reused for another shows. */
typedef struct vmstack {
    tobj **v;
    uint64_t *ids;
    size_t cap;
    uint64_t table_ids[64]; /* the same for the heap table in v[0] */
} vmstack;

static uint64_t id_of(const tobj *o) { return o ? o->id : 0; }

/* ** Grow or shrink as a VM does: malloc, add the new range, copy with plain
 * stores, remove the old range, free it. */
static void vm_resize(vmstack *s, size_t ncap) {
    tobj **n = calloc(ncap, sizeof *n);
    uint64_t *ids = calloc(ncap, sizeof *ids);
    if (!n || !ids) return;
    memcpy(ids, s->ids, (s->cap < ncap ? s->cap : ncap) * sizeof *ids);
    free(s->ids);
    s->ids = ids;
    if (gc_add_thread_roots(n, n + ncap) != GC_OK) tu_fail("gc_add_thread_roots failed");
    memcpy(n, s->v, (s->cap < ncap ? s->cap : ncap) * sizeof *n);
    if (gc_remove_thread_roots(s->v, s->v + s->cap) != GC_OK) tu_fail("gc_remove_thread_roots failed");
    free(s->v);
    s->v = n;
    s->cap = ncap;
}

/* ** Check every object the stack holds; count the bad ones. */
static int vm_check_all(const vmstack *s) {
    int bad = 0;
    tobj **table = (tobj **)s->v[0];
    for (size_t j = 1; j < s->cap; j++)
        if (s->v[j] && (!tobj_ok(s->v[j]) || s->v[j]->id != s->ids[j])) bad++;
    for (int k = 0; k < 64; k++)
        if (table[k] && (!tobj_ok(table[k]) || table[k]->id != s->table_ids[k])) bad++;
    return bad;
}

/* One random step on the VM stack: new objects, copies between slots,
 * moves between the stack and a heap object (gc_store there), drops. */
static void vm_step(vmstack *s, tobj **table, uint64_t *rng) {
    uint64_t r = *rng = tu_mix(*rng);
    size_t j = 1 + (size_t)(r % (s->cap - 1)), k = 1 + (size_t)((r >> 20) % (s->cap - 1));
    unsigned t = (unsigned)(r >> 40) % 64;
    switch ((r >> 50) % 8) {
    case 0: case 1: case 2: s->v[j] = tobj_new(atomic_fetch_add(&next_id, 1)); break;
    case 3:
        s->v[j] = s->v[k];
        s->ids[j] = s->ids[k];
        return;
    case 4: s->v[j] = NULL; break;
    case 5: /* range -> heap, then the range forgets it */
        gc_store(&table[t], s->v[j]);
        s->table_ids[t] = s->ids[j];
        s->v[j] = NULL;
        break;
    case 6: /* heap -> range, then the heap forgets it (the deletion barrier's case) */
        s->v[j] = table[t];
        s->ids[j] = s->table_ids[t];
        gc_store(&table[t], NULL);
        return;
    default:
        if (s->v[j] && (!tobj_ok(s->v[j]) || s->v[j]->id != s->ids[j]))
            tu_fail("object %p in slot %zu corrupt or reused", (void *)s->v[j], j);
        return;
    }
    s->ids[j] = id_of(s->v[j]);
}

typedef struct mutator_arg {
    int grow_every; /* 0: never */
    uint64_t seed;
} mutator_arg;

static void *mutator(void *argp) {
    mutator_arg *a = argp;
    gc_register_thread();
    vmstack s = {calloc(256, sizeof(tobj *)), calloc(256, sizeof(uint64_t)), 256, {0}};
    gc_add_thread_roots(s.v, s.v + s.cap);
    tobj **table = gc_alloc(64 * sizeof *table); /* held only in s.v[0] */
    s.v[0] = (tobj *)table;
    table = NULL;
    uint64_t rng = a->seed;
    for (long n = 0; !atomic_load(&stop_mutators); n++) {
        vm_step(&s, (tobj **)s.v[0], &rng);
        if (a->grow_every && n % a->grow_every == 0)
            vm_resize(&s, 64 + (size_t)(tu_mix(rng + 7) % 1024));
        if (n % 4096 == 0 && vm_check_all(&s)) tu_fail("corrupt objects on the VM stack");
    }
    if (vm_check_all(&s)) tu_fail("corrupt objects on the VM stack at the end");
    gc_remove_thread_roots(s.v, s.v + s.cap);
    free(s.v);
    free(s.ids);
    gc_unregister_thread();
    return NULL;
}

static void run_mutators(int grow_every, int collects) {
    mutator_arg args[4];
    void *argv[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (mutator_arg){grow_every, 1000 + (uint64_t)i};
        argv[i] = &args[i];
    }
#ifdef __SANITIZE_THREAD__
    collects /= 10;
#endif
    tu_mutators_beside_collections(4, mutator, argv, collects, &stop_mutators);
    cr_assert_geq(tu_stats().num_gc, (uint64_t)collects);
}

Test(threadroots, plain_stores_four_mutators_checkmark, .timeout = 240) {
    init_debug(1);
    run_mutators(0, 100);
}

Test(threadroots, growth_add_copy_remove_while_collecting, .timeout = 240) {
    init_debug(1);
    run_mutators(8, 100);
}

/* ---- a coroutine whose stack is registered as thread roots ------------------- */

#define CO_STACK (256 * 1024)
#define HELD 32

static ucontext_t co_main, co_ctx;
static _Atomic int co_rounds_left;
static _Atomic uint64_t gc_done; /* collections completed by the collecting thread */

/* ** Refill the objects a frame holds, checking the old ones first. */
static void refill(tobj *volatile *held, int n, const char *where) {
    for (int i = 0; i < n; i++) {
        tobj *o = held[i];
        if (o && !tobj_ok(o)) tu_fail("%s: object %d (%p) was freed while held", where, i, (void *)o);
        if ((i + atomic_load(&co_rounds_left)) % 3 == 0) held[i] = tobj_new(atomic_fetch_add(&next_id, 1));
    }
}

/* ** Garbage until the collecting thread has finished n more collections:
 * the thread is stopped for stack scans on whatever stack it runs. */
static void churn_until_collections(uint64_t n) {
    uint64_t target = atomic_load(&gc_done) + n;
    while (atomic_load(&gc_done) < target && !atomic_load(&stop_mutators)) {
        volatile tobj *g = tobj_new(0);
        (void)g;
    }
}

static void coroutine_body(void) {
    tobj *volatile held[HELD] = {0}; /* on the coroutine's stack only */
    while (atomic_load(&co_rounds_left) > 0) {
        refill(held, HELD, "coroutine frame");
        churn_until_collections(1);
        if (atomic_load(&co_rounds_left) % 4 == 0) gc_collect(); /* parks on this stack */
        refill(held, HELD, "coroutine frame");
        swapcontext(&co_ctx, &co_main);
    }
    swapcontext(&co_ctx, &co_main);
}

static TU_NOINLINE void switch_back_and_forth(void) {
    tobj *volatile mine[HELD] = {0}; /* on the thread's own stack only */
    while (atomic_load(&co_rounds_left) > 0) {
        refill(mine, HELD, "thread frame");
        swapcontext(&co_main, &co_ctx); /* the coroutine churns: collections run */
        refill(mine, HELD, "thread frame");
        atomic_fetch_sub(&co_rounds_left, 1);
    }
}

static void *coroutine_thread(void *arg) {
    (void)arg;
    gc_register_thread();
    char *stack = malloc(CO_STACK);
    if (gc_add_thread_roots(stack, stack + CO_STACK) != GC_OK) tu_fail("add coroutine stack");
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = CO_STACK;
    co_ctx.uc_link = NULL;
    makecontext(&co_ctx, coroutine_body, 0);
    switch_back_and_forth();
    swapcontext(&co_main, &co_ctx); /* let the coroutine leave its loop */
    gc_remove_thread_roots(stack, stack + CO_STACK);
    free(stack);
    atomic_store(&stop_mutators, 1);
    gc_unregister_thread();
    return NULL;
}

/* ** This thread collects back to back while fn runs on another thread. */
static void collect_while(void *(*fn)(void *)) {
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fn, NULL), 0);
    while (!atomic_load(&stop_mutators)) {
        gc_collect();
        atomic_fetch_add(&gc_done, 1);
    }
    tu_join(th);
    tu_assert_no_thread_failures();
}

Test(threadroots, registered_coroutine_stack_scanned_with_its_thread, .timeout = 240) {
    TU_SKIP_UNDER_TSAN("swapcontext without TSan's fiber calls");
    init_debug(1);
    tu_warn_capture();
    atomic_store(&co_rounds_left, 200);
    collect_while(coroutine_thread);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
}

/* ---- issue 13 item 8: a thread running on another stack ---------------------- */

/* Objects held only by the thread's own frames while it runs on a
 * sigaltstack or an unregistered coroutine stack must survive: the
 * collector used to skip the whole stack of a thread stopped off it. */

static void *altstack_spin(void) {
    uint64_t target = atomic_load(&gc_done) + 3;
    while (atomic_load(&gc_done) < target) {}
    return NULL;
}
static void on_usr1(int sig) {
    (void)sig;
    altstack_spin();
}
static void enter_other_stack_sigaltstack(void) { pthread_kill(pthread_self(), SIGUSR1); }

static ucontext_t raw_main, raw_co;
static void raw_coroutine(void) {
    churn_until_collections(3);
    swapcontext(&raw_co, &raw_main);
}
static void enter_other_stack_coroutine(void) { swapcontext(&raw_main, &raw_co); }

static void (*enter_other_stack)(void);

/* ** Hold objects in this frame only, run on the other stack while
 * collections complete, then check them. */
static TU_NOINLINE void hold_while_elsewhere(void) {
    tobj *volatile held[HELD];
    for (int i = 0; i < HELD; i++) held[i] = tobj_new(atomic_fetch_add(&next_id, 1));
    enter_other_stack();
    int bad = 0;
    for (int i = 0; i < HELD; i++) bad += !tobj_ok(held[i]);
    if (bad) tu_fail("%d of %d objects held by the thread's own frame were freed while it ran "
                     "on another stack", bad, HELD);
}

static void *other_stack_thread(void *arg) {
    (void)arg;
    gc_register_thread();
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    char *co_stack = malloc(CO_STACK);
    gc_add_roots(co_stack, co_stack + CO_STACK); /* as the host did */
    getcontext(&raw_co);
    raw_co.uc_stack.ss_sp = co_stack;
    raw_co.uc_stack.ss_size = CO_STACK;
    makecontext(&raw_co, raw_coroutine, 0);
    hold_while_elsewhere();
    atomic_store(&stop_mutators, 1);
    gc_unregister_thread();
    return NULL;
}

Test(threadroots, own_frames_survive_while_on_sigaltstack, .timeout = 120) {
    TU_SKIP_UNDER_TSAN("the thread spins in a signal handler");
    init_debug(0);
    enter_other_stack = enter_other_stack_sigaltstack;
    collect_while(other_stack_thread);
}

Test(threadroots, own_frames_survive_while_on_unregistered_coroutine, .timeout = 120) {
    TU_SKIP_UNDER_TSAN("swapcontext without TSan's fiber calls");
    init_debug(0);
    tu_warn_capture();
    enter_other_stack = enter_other_stack_coroutine;
    collect_while(other_stack_thread);
    int found = 0;
    for (int i = 0; i < tu_warn_count(); i++)
        found |= strstr(tu_warn_msg(i), "gc_add_thread_roots") != NULL;
    cr_assert(found, "no message suggested registering the coroutine stack");
}

/* ---- the ranges' life: remove, replace, unregister ------------------------------ */

#define NOBJ 256
static uintptr_t hidden[NOBJ];

/* ** Fill r[0..n) with new objects whose addresses are remembered hidden. */
static TU_NOINLINE void fill_hidden(tobj **r, int n) {
    for (int i = 0; i < n; i++) {
        r[i] = tobj_new((uint64_t)i + 1);
        hidden[i] = tu_hide(r[i]);
    }
}

Test(threadroots, remove_drops_the_range) {
    tu_init();
    tobj **r = malloc(NOBJ * sizeof *r);
    cr_assert_eq(gc_add_thread_roots(r, r + NOBJ), GC_OK);
    fill_hidden(r, NOBJ);
    tu_collect_clean();
    cr_assert_eq(tu_count_freed(hidden, NOBJ), 0, "objects held by a thread-roots range were freed");
    cr_assert_eq(gc_remove_thread_roots(r, r + NOBJ), GC_OK);
    tu_collect_clean();
    cr_assert_geq(tu_count_freed(hidden, NOBJ), NOBJ * 9 / 10,
                  "objects only a removed range held were kept");
    free(r);
}

Test(threadroots, same_lo_replaces_hi) {
    tu_init();
    tobj **r = malloc(NOBJ * sizeof *r);
    cr_assert_eq(gc_add_thread_roots(r, r + 1), GC_OK);
    cr_assert_eq(gc_add_thread_roots(r, r + NOBJ), GC_OK); /* grown in place */
    fill_hidden(r, NOBJ);
    tu_collect_clean();
    cr_assert_eq(tu_count_freed(hidden, NOBJ), 0, "the grown range was not scanned whole");
    cr_assert_eq(gc_add_thread_roots(r, r + NOBJ / 2), GC_OK); /* shrunk in place */
    tu_collect_clean();
    cr_assert_eq(tu_count_freed(hidden, NOBJ / 2), 0, "the kept half was freed");
    cr_assert_geq(tu_count_freed(hidden + NOBJ / 2, NOBJ / 2), NOBJ / 2 * 9 / 10,
                  "the cut-off half was kept: the old hi is still scanned");
    cr_assert_eq(gc_remove_thread_roots(r, r + NOBJ / 2), GC_OK, "remove with the new hi");
    free(r);
}

static _Atomic size_t freed_while_registered = 999;
static tobj **left_behind; /* malloc'd: not scanned; still holds the pointers */

static void *register_fill_unregister(void *arg) {
    (void)arg;
    gc_register_thread();
    tobj **r = malloc(NOBJ * sizeof *r);
    gc_add_thread_roots(r, r + NOBJ);
    fill_hidden(r, NOBJ);
    tu_collect_clean();
    atomic_store(&freed_while_registered, tu_count_freed(hidden, NOBJ));
    gc_unregister_thread(); /* without removing the range */
    left_behind = r;
    return NULL;
}

Test(threadroots, unregister_drops_the_ranges) {
    tu_init();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, register_fill_unregister, NULL), 0);
    tu_join(th);
    cr_assert_eq(atomic_load(&freed_while_registered), 0, "freed while the range was registered");
    tu_collect_clean();
    cr_assert_geq(tu_count_freed(hidden, NOBJ), NOBJ * 9 / 10,
                  "the ranges of an unregistered thread are still scanned");
    cr_assert_not_null(left_behind[0]); /* the pointers are still there, unscanned */
    free(left_behind);
}

/* ** Many one-slot ranges added and removed in a random order: the table
 * (a hash with backward-shift deletion, a dense array) must keep exactly
 * the ranges not removed. */
#define NRANGES 4000
static tobj **slots_of[NRANGES];
static uintptr_t hidden_many[NRANGES];

static TU_NOINLINE void many_ranges_fill(void) {
    for (int i = 0; i < NRANGES; i++) {
        slots_of[i] = malloc(2 * sizeof(tobj *));
        cr_assert_eq(gc_add_thread_roots(slots_of[i], slots_of[i] + 1), GC_OK);
        slots_of[i][0] = tobj_new((uint64_t)i + 1);
        slots_of[i][1] = NULL;
        hidden_many[i] = tu_hide(slots_of[i][0]);
    }
}

Test(threadroots, many_ranges_removed_in_random_order) {
    tu_init();
    many_ranges_fill();
    int order[NRANGES];
    for (int i = 0; i < NRANGES; i++) order[i] = i;
    uint64_t rng = 42;
    for (int i = NRANGES - 1; i > 0; i--) {
        rng = tu_mix(rng);
        int j = (int)(rng % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < NRANGES / 2; i++) /* the odd ones of a random order */
        if (order[i] % 2) cr_assert_eq(gc_remove_thread_roots(slots_of[order[i]], slots_of[order[i]] + 1), GC_OK);
    for (int i = NRANGES / 2; i < NRANGES; i++)
        if (order[i] % 2) cr_assert_eq(gc_remove_thread_roots(slots_of[order[i]], slots_of[order[i]] + 1), GC_OK);
    tu_collect_clean();
    size_t even_freed = 0, odd_freed = 0;
    for (int i = 0; i < NRANGES; i++) {
        if (i % 2) odd_freed += (size_t)tu_is_freed(hidden_many[i]);
        else even_freed += (size_t)tu_is_freed(hidden_many[i]);
    }
    cr_assert_eq(even_freed, 0, "%zu objects of ranges still registered were freed", even_freed);
    cr_assert_geq(odd_freed, NRANGES / 2 * 9 / 10, "only %zu of %d removed ranges' objects freed",
                  odd_freed, NRANGES / 2);
    for (int i = 0; i < NRANGES; i += 2) {
        cr_assert_eq(tobj_ok(slots_of[i][0]) && slots_of[i][0]->id == (uint64_t)i + 1, 1);
        cr_assert_eq(gc_remove_thread_roots(slots_of[i], slots_of[i] + 1), GC_OK);
    }
    for (int i = 0; i < NRANGES; i++) free(slots_of[i]);
}

/* ---- misuse ------------------------------------------------------------------- */

static _Atomic int unreg_add_rc, unreg_remove_rc;
static void *unregistered_caller(void *arg) {
    atomic_store(&unreg_add_rc, gc_add_thread_roots(arg, (char *)arg + 64));
    atomic_store(&unreg_remove_rc, gc_remove_thread_roots(arg, (char *)arg + 64));
    return NULL;
}

Test(threadroots, misuse_is_reported) {
    tu_init();
    tu_warn_capture();
    static char buf[256];
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, unregistered_caller, buf), 0);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&unreg_add_rc), GC_ENOTREG);
    cr_assert_eq(atomic_load(&unreg_remove_rc), GC_ENOTREG);
    cr_assert_eq(tu_warn_count(), 2);
    cr_assert(strstr(tu_warn_msg(0), "gc_add_thread_roots") && strstr(tu_warn_msg(0), "gc_register_thread"),
              "%s", tu_warn_msg(0));
    cr_assert(strstr(tu_warn_msg(1), "gc_remove_thread_roots"), "%s", tu_warn_msg(1));
    tu_warn_capture();

    cr_assert_eq(gc_add_thread_roots(NULL, buf), GC_EINVAL);
    tu_expect_one_warning("NULL lo", "gc_add_thread_roots", "NULL");
    cr_assert_eq(gc_add_thread_roots(buf + 64, buf), GC_EINVAL);
    tu_expect_one_warning("reversed", "gc_add_thread_roots", "address order");
    cr_assert_eq(gc_add_thread_roots((void *)16, (void *)64), GC_EINVAL);
    tu_expect_one_warning("not user memory", "gc_add_thread_roots", "address space");
    cr_assert_eq(gc_remove_thread_roots(buf, buf + 64), GC_EINVAL);
    tu_expect_one_warning("never added", "gc_remove_thread_roots", "no range starting");

    cr_assert_eq(gc_add_thread_roots(buf, buf + 64), GC_OK);
    cr_assert_eq(gc_remove_thread_roots(buf, buf + 32), GC_EINVAL);
    tu_expect_one_warning("wrong hi", "gc_remove_thread_roots", "registered with hi");
    cr_assert_eq(gc_remove_thread_roots(buf, buf + 64), GC_EINVAL, "the range was removed anyway");
    tu_expect_one_warning("removed twice", "gc_remove_thread_roots", "no range starting");

    /* Overlapping its own stack, or another range: allowed. */
    char local[64];
    cr_assert_eq(gc_add_thread_roots(local, local + sizeof local), GC_OK);
    cr_assert_eq(gc_add_thread_roots(buf, buf + 128), GC_OK);
    cr_assert_eq(gc_add_thread_roots(buf + 64, buf + 256), GC_OK);
    gc_collect();
    cr_assert_eq(gc_remove_thread_roots(local, local + sizeof local), GC_OK);
    cr_assert_eq(gc_remove_thread_roots(buf, buf + 128), GC_OK);
    cr_assert_eq(gc_remove_thread_roots(buf + 64, buf + 256), GC_OK);
    cr_assert_eq(tu_warn_count(), 0, "%s", tu_warn_msg(0));
}

Test(threadroots, before_gc_init) {
    static char buf[64];
    tu_warn_capture();
    cr_assert_eq(gc_add_thread_roots(buf, buf + 64), GC_ENOTINIT);
    tu_expect_one_warning("before gc_init", "gc_add_thread_roots", "gc_init");
}

/* The gc_init thread is the process's main thread, whose stack mapping grows
 * on demand: scanned whole while it runs on a coroutine, only its mapped
 * part may be read. */
static void *collector_thread(void *arg) {
    (void)arg;
    gc_register_thread();
    while (!atomic_load(&stop_mutators)) {
        gc_collect();
        atomic_fetch_add(&gc_done, 1);
    }
    gc_unregister_thread();
    return NULL;
}

Test(threadroots, main_thread_frames_survive_on_unregistered_coroutine, .timeout = 120) {
    TU_SKIP_UNDER_TSAN("swapcontext without TSan's fiber calls");
    init_debug(0);
    tu_warn_capture();
    char *co_stack = malloc(CO_STACK);
    getcontext(&raw_co);
    raw_co.uc_stack.ss_sp = co_stack;
    raw_co.uc_stack.ss_size = CO_STACK;
    makecontext(&raw_co, raw_coroutine, 0);
    enter_other_stack = enter_other_stack_coroutine;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, collector_thread, NULL), 0);
    hold_while_elsewhere();
    atomic_store(&stop_mutators, 1);
    tu_join(th);
    tu_assert_no_thread_failures();
}
