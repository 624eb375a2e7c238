/*
 * test_hostile.c -- mgc embedded the way real hosts do it, including the
 * ways the documentation forbids: fork() and library calls inside
 * gc_do_blocking(), threads cancelled anywhere, threads that block every
 * signal, a program that takes over the suspend signal, calls from a phase
 * callback, reserved signal numbers.  Each must work, or print one line
 * naming the mistake and return a defined result: never hang.
 *
 * The tests that hung before the fix carry a .timeout, so the old code
 * shows as a failed test rather than a hung suite.  Tests that wait for
 * mgc's "a thread has not answered for 1 s" report take a second or two.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/test_util.h"

static void *join_fn(void *arg)
{
    void *r = NULL;
    if (pthread_join(*(pthread_t *)arg, &r) != 0)
        return (void *)1;
    return r;
}

/* ---- item 1: fork and library calls inside gc_do_blocking ----------------- */

/* The child runs inside fn too: a collection there works, then it leaves.
 * A watchdog kills a hung child, so a hang fails the test (or skips it
 * under ASan, below) instead of hanging the suite. */
#define FORK_CHILD_WATCHDOG_S 20
static void *fork_fn(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid == 0) {
        alarm(FORK_CHILD_WATCHDOG_S);
        gc_collect();
        _exit(tu_stats().num_threads == 1 ? 0 : 3);
    }
    if (pid < 0)
        return (void *)(intptr_t)-1;
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return (void *)(intptr_t)-2;
    return (void *)(intptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

Test(hostile, fork_inside_gc_do_blocking_returns, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("TSan cannot start threads in the child of a multi-threaded fork");
    tu_init();
    tu_warn_capture();
    char *volatile keep = gc_alloc(64);
    tu_fill(keep, 64, 5);
    fflush(NULL);
    int rc = (int)(intptr_t)gc_do_blocking(fork_fn, NULL);
    if (rc == 128 + SIGALRM && TU_UNDER_ASAN)
        cr_skip_test("the child hung (GCC's libasan allocator is not fork-safe: a lock another "
                     "thread held in malloc at fork() stays held in the child)");
    cr_assert_eq(rc, 0, "the child failed with %d (3: wrong thread count, >128 killed)", rc);
    cr_assert_eq(tu_warn_count(), 0, "fork printed: %s", tu_warn_msg(0));
    gc_collect();
    cr_assert(tu_check(keep, 64, 5), "the parent's object was lost across the fork");
    cr_assert_not_null(gc_alloc(64));
    cr_assert_eq(gc_verify_heap(), 0);
}

static void *roots[2];

typedef struct inside_result {
    uint64_t gc_before, gc_after;
    void *alloc;
    int alloc_warns, reg_rc, reg_warns, unreg_warns, nested, store_ok;
    char alloc_msg[512];
} inside_result;

static void *nested_fn(void *arg)
{
    return arg;
}

/* Every call the header mentions, from inside fn: gc_collect and
 * gc_get_stats work, gc_store works (the thread counts as unregistered),
 * gc_alloc and the registration calls are refused with a message. */
static void *inside_fn(void *arg)
{
    inside_result *r = arg;
    r->gc_before = tu_stats().num_gc;
    gc_collect();
    r->gc_after = tu_stats().num_gc;
    tu_warn_capture();
    r->alloc = gc_alloc(32);
    r->alloc_warns = tu_warn_count();
    snprintf(r->alloc_msg, sizeof r->alloc_msg, "%s", tu_warn_msg(0));
    tu_warn_capture();
    r->reg_rc = gc_register_thread();
    r->reg_warns = tu_warn_count();
    tu_warn_capture();
    gc_unregister_thread();
    r->unreg_warns = tu_warn_count();
    r->nested = gc_do_blocking(nested_fn, r) == r;
    gc_store(&roots[1], roots[0]);
    r->store_ok = roots[1] == roots[0];
    return r;
}

Test(hostile, calls_inside_gc_do_blocking_work_or_are_reported, .timeout = 60)
{
    tu_init();
    gc_add_roots(roots, roots + 2);
    gc_store(&roots[0], gc_alloc(48));
    tu_fill(roots[0], 48, 7);
    char *volatile held = gc_alloc(40); /* by the caller's frame: stays a root */
    tu_fill(held, 40, 8);
    inside_result r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(gc_do_blocking(inside_fn, &r), &r);
    cr_assert_gt(r.gc_after, r.gc_before, "gc_collect inside fn did not collect");
    cr_assert_null(r.alloc, "gc_alloc inside fn returned memory no root holds");
    cr_assert_eq(r.alloc_warns, 1);
    cr_assert(strstr(r.alloc_msg, "gc_do_blocking") && strstr(r.alloc_msg, "gc_alloc"),
              "the message does not name the rule: %s", r.alloc_msg);
    cr_assert_eq(r.reg_rc, GC_EALREADY);
    cr_assert_eq(r.reg_warns, 1);
    cr_assert_eq(r.unreg_warns, 1);
    cr_assert(r.nested, "a nested gc_do_blocking did not run fn");
    cr_assert(r.store_ok);
    cr_assert(gc_thread_is_registered(), "gc_unregister_thread inside fn unregistered");
    gc_collect();
    cr_assert(tu_check(held, 40, 8) && tu_check(roots[1], 48, 7), "an object was lost");
    cr_assert_not_null(gc_alloc(64));
    cr_assert_eq(tu_stats().num_threads, 1);
    cr_assert_eq(gc_verify_heap(), 0);
}

/* ---- item 2: pthread_cancel of registered threads -------------------------- */

static int cancel_pipe[2];
static _Atomic int reader_ready, churn_stop, reader_errno;

/* Blocked in read() outside gc_do_blocking: collections signal it. */
TU_CANCELLED_FRAME static void *reader_fn(void *arg)
{
    (void)arg;
    gc_register_thread();
    void *volatile mine = gc_alloc(24);
    (void)mine;
    atomic_store(&reader_ready, 1);
    char c;
    for (;;) {
        ssize_t n = read(cancel_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        atomic_store(&reader_errno, n < 0 ? errno : -1000 - (int)n);
        break;
    }
    return NULL;
}

static void start_churn(pthread_t *th)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.percent = 1; /* a collection all the time */
    unsetenv("MGC_PERCENT");
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    cr_assert_eq(gc_init(&cfg), GC_OK);
    cr_assert_eq(pthread_create(th, NULL, tu_churn, &churn_stop), 0);
}

static void stop_churn(pthread_t th)
{
    atomic_store(&churn_stop, 1);
    cr_assert_null(gc_do_blocking(join_fn, &th));
}

Test(hostile, cancelling_a_thread_blocked_in_read_never_deadlocks, .timeout = 120)
{
    TU_SKIP_UNDER_TSAN("TSan blocks signals in pthread_create while collections run (seen hung)");
    pthread_t churn;
    start_churn(&churn);
    cr_assert_eq(pipe(cancel_pipe), 0);
    uint64_t gc0 = tu_stats().num_gc;
    for (int i = 0; i < 300; i++) {
        pthread_t th;
        atomic_store(&reader_ready, 0);
        cr_assert_eq(pthread_create(&th, NULL, reader_fn, NULL), 0);
        while (!atomic_load(&reader_ready))
            sched_yield();
        void *volatile sink;
        for (int k = 0; k < (i % 5) * 200; k++) /* cancel at varying moments */
            sink = gc_alloc(32);
        (void)sink;
        cr_assert_eq(pthread_cancel(th), 0);
        void *r = gc_do_blocking(join_fn, &th);
        cr_assert_eq(r, PTHREAD_CANCELED, "round %d: the thread returned %p, errno %d", i, r,
                     atomic_load(&reader_errno));
    }
    stop_churn(churn);
    cr_assert_gt(tu_stats().num_gc, gc0, "no collection ran: the test tested nothing");
    cr_assert_eq(tu_stats().num_threads, 1, "a cancelled thread stayed registered");
    gc_collect();
    cr_assert_eq(gc_verify_heap(), 0);
}

static _Atomic int looper_rounds;

TU_CANCELLED_FRAME static void *collect_loop_fn(void *arg)
{
    int alloc = (int)(intptr_t)arg;
    gc_register_thread();
    void *volatile keep = NULL;
    for (;;) {
        if (alloc)
            for (int i = 0; i < 1000; i++)
                keep = gc_alloc(4096);
        else
            gc_collect();
        atomic_fetch_add(&looper_rounds, 1);
        pthread_testcancel();
    }
    (void)keep;
    return NULL;
}

/* A thread cancelled while it waits for a collection (gc_collect) or for
 * a mark to end (an allocation's backpressure) must not die holding the
 * collector's request lock. */
Test(hostile, cancelling_a_thread_inside_gc_collect_never_deadlocks, .timeout = 120)
{
    TU_SKIP_UNDER_TSAN("TSan blocks signals in pthread_create while collections run (seen hung)");
    pthread_t churn;
    start_churn(&churn);
    for (int i = 0; i < 60; i++) {
        pthread_t th;
        atomic_store(&looper_rounds, 0);
        cr_assert_eq(pthread_create(&th, NULL, collect_loop_fn, (void *)(intptr_t)(i % 2)), 0);
        while (atomic_load(&looper_rounds) < 1 + i % 3)
            sched_yield();
        cr_assert_eq(pthread_cancel(th), 0);
        cr_assert_eq(gc_do_blocking(join_fn, &th), PTHREAD_CANCELED);
        gc_collect(); /* hung here when the cancelled thread kept the lock */
    }
    stop_churn(churn);
    cr_assert_eq(tu_stats().num_threads, 1);
    cr_assert_eq(gc_verify_heap(), 0);
}

TU_CANCELLED_FRAME static void *blocking_read_fn(void *arg)
{
    char c;
    ssize_t n = read(*(int *)arg, &c, 1);
    return (void *)(intptr_t)n;
}

TU_CANCELLED_FRAME static void *parked_reader_fn(void *arg)
{
    (void)arg;
    gc_register_thread();
    atomic_store(&reader_ready, 1);
    gc_do_blocking(blocking_read_fn, &cancel_pipe[0]);
    return NULL;
}

/* Cancelled inside gc_do_blocking's fn (the place for blocking reads): the
 * thread leaves parked, and its exit still unregisters it. */
Test(hostile, cancelling_a_thread_inside_gc_do_blocking_unregisters_it, .timeout = 120)
{
    TU_SKIP_UNDER_TSAN("TSan blocks signals in pthread_create while collections run (seen hung)");
    pthread_t churn;
    start_churn(&churn);
    cr_assert_eq(pipe(cancel_pipe), 0);
    for (int i = 0; i < 100; i++) {
        pthread_t th;
        atomic_store(&reader_ready, 0);
        cr_assert_eq(pthread_create(&th, NULL, parked_reader_fn, NULL), 0);
        while (!atomic_load(&reader_ready))
            sched_yield();
        cr_assert_eq(pthread_cancel(th), 0);
        cr_assert_eq(gc_do_blocking(join_fn, &th), PTHREAD_CANCELED);
    }
    stop_churn(churn);
    cr_assert_eq(tu_stats().num_threads, 1, "a thread cancelled while parked stayed registered");
    gc_collect();
    cr_assert_eq(gc_verify_heap(), 0);
}

/* ---- item 3: threads that block the stop signals --------------------------- */

static _Atomic int spin_stop, spin_registered;
static _Atomic int spin_saw_unblocked;

static void block_all(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static int suspend_blocked(void)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, SIGPWR);
}

/* Start a registered spinner (it sets spin_registered) with the collector
 * running and messages captured; end it with stop_spinner. */
static pthread_t start_spinner(void *(*fn)(void *))
{
    tu_init();
    tu_warn_capture();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fn, NULL), 0);
    while (!atomic_load(&spin_registered))
        sched_yield();
    return th;
}

static void stop_spinner(pthread_t th)
{
    atomic_store(&spin_stop, 1);
    cr_assert_null(gc_do_blocking(join_fn, &th));
}

/* A server thread: every signal blocked before it registers, then it
 * computes without calling the library. */
static void *blocked_spinner_fn(void *arg)
{
    (void)arg;
    block_all();
    gc_register_thread();
    atomic_store(&spin_saw_unblocked, !suspend_blocked());
    atomic_store(&spin_registered, 1);
    while (!atomic_load(&spin_stop))
        ;
    gc_unregister_thread();
    return NULL;
}

Test(hostile, thread_that_blocks_all_signals_before_registering_can_be_stopped, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("the spinning thread never calls an intercepted function");
    pthread_t th = start_spinner(blocked_spinner_fn);
    for (int i = 0; i < 3; i++)
        gc_collect(); /* hung: the thread never took the suspend signal */
    stop_spinner(th);
    cr_assert(atomic_load(&spin_saw_unblocked), "gc_register_thread left SIGPWR blocked");
    tu_expect_one_warning("register with SIGPWR blocked", "gc_register_thread", "SIGPWR");
}

Test(hostile, gc_init_unblocks_the_stop_signals_of_its_thread)
{
    TU_SKIP_UNDER_TSAN("mgc does not report blocked signals there: TSan starts threads with them blocked");
    block_all();
    tu_warn_capture();
    tu_init();
    cr_assert(!suspend_blocked(), "gc_init left SIGPWR blocked");
    tu_expect_one_warning("gc_init with SIGPWR blocked", "gc_init", "SIGPWR");
}

/* Blocks every signal after registering (mgc cannot undo that), and keeps
 * them blocked until mgc says which thread holds the collection up.  The
 * warn handler only runs after the restart, which waits for this thread,
 * so the thread watches stderr (a pipe here), where mgc writes a stalled
 * stop's message at once. */
static int stall_pipe[2];
static char stall_seen[4096];

static void *late_blocker_fn(void *arg)
{
    (void)arg;
    gc_register_thread();
    pthread_setname_np(pthread_self(), "late-blocker");
    block_all();
    atomic_store(&spin_registered, 1);
    size_t len = 0;
    while (!strstr(stall_seen, "late-blocker") && len < sizeof stall_seen - 1) {
        ssize_t n = read(stall_pipe[0], stall_seen + len, sizeof stall_seen - 1 - len);
        if (n > 0)
            len += (size_t)n;
    }
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_UNBLOCK, &all, NULL);
    while (!atomic_load(&spin_stop))
        ;
    gc_unregister_thread();
    return NULL;
}

Test(hostile, a_stop_held_up_by_a_blocked_signal_names_the_thread, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("the spinning thread never calls an intercepted function");
    cr_assert_eq(pipe(stall_pipe), 0);
    int saved_stderr = dup(2);
    cr_assert(saved_stderr >= 0 && dup2(stall_pipe[1], 2) == 2);
    pthread_t th = start_spinner(late_blocker_fn);
    gc_collect(); /* waits until the thread unblocks, which it does once told */
    dup2(saved_stderr, 2);
    stop_spinner(th);
    cr_assert(strstr(stall_seen, "blocks") && strstr(stall_seen, "SIGPWR"),
              "stderr does not name the reason: %s", stall_seen);
    /* The handler gets the same line once, after the restart. */
    cr_assert_eq(tu_warn_count(), 1, "expected one message, got %d", tu_warn_count());
    const char *m = tu_warn_msg(0);
    cr_assert(strstr(m, "late-blocker") && strstr(m, "blocks") && strstr(m, "SIGPWR"),
              "the message does not name the thread and the reason: %s", m);
}

/* ---- item 5: the program's own SIGPWR handler; verify from a callback ------- */

static _Atomic int own_handler_ran;
static void own_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&own_handler_ran, 1);
}

static void *plain_spinner_fn(void *arg)
{
    (void)arg;
    gc_register_thread();
    atomic_store(&spin_registered, 1);
    while (!atomic_load(&spin_stop))
        ;
    gc_unregister_thread();
    return NULL;
}

Test(hostile, own_suspend_signal_handler_after_gc_init_is_reported, .timeout = 60)
{
    TU_SKIP_UNDER_TSAN("the spinning thread never calls an intercepted function");
    pthread_t th = start_spinner(plain_spinner_fn);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGPWR, &sa, NULL), 0);
    gc_collect(); /* hung: the thread ran the program's handler and went on */
    gc_collect();
    stop_spinner(th);
    tu_expect_one_warning("own SIGPWR handler", "SIGPWR", "handler");
}

static _Atomic int cb_calls;
static _Atomic size_t cb_verify_result = 12345;

static void verify_from_callback(const gc_phase_event *e, void *arg)
{
    (void)arg;
    if (e->phase == GC_PHASE_CYCLE_END && atomic_fetch_add(&cb_calls, 1) == 0)
        atomic_store(&cb_verify_result, gc_verify_heap());
}

Test(hostile, gc_verify_heap_from_a_phase_callback_is_reported, .timeout = 60)
{
    tu_init();
    tu_warn_capture();
    gc_set_phase_callback(verify_from_callback, NULL);
    gc_collect(); /* hung: the coordinator waited for itself */
    gc_set_phase_callback(NULL, NULL);
    cr_assert_eq(atomic_load(&cb_calls), 1);
    cr_assert_eq(atomic_load(&cb_verify_result), 0);
    tu_expect_one_warning("gc_verify_heap in a callback", "gc_verify_heap", "callback");
    gc_collect();
    cr_assert_eq(gc_verify_heap(), 0);
}

/* ---- item 12: reserved signal numbers ---------------------------------------- */

Test(hostile, reserved_signals_are_einval_naming_the_field)
{
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    tu_warn_capture();
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.suspend_signal = 32;
    cr_assert_eq(gc_init(&cfg), GC_EINVAL);
    tu_expect_one_warning("suspend_signal 32", "suspend_signal", "32");
    gc_config_default(&cfg);
    cfg.restart_signal = 33;
    cr_assert_eq(gc_init(&cfg), GC_EINVAL);
    tu_expect_one_warning("restart_signal 33", "restart_signal", "33");
    setenv("MGC_SIG_SUSPEND", "32", 1);
    cr_assert_eq(gc_init(NULL), GC_EINVAL);
    tu_expect_one_warning("MGC_SIG_SUSPEND=32", "MGC_SIG_SUSPEND", "32");
    unsetenv("MGC_SIG_SUSPEND");
    tu_init(); /* none of it left anything behind */
    gc_collect();
}

/* ---- item 13: the message a phase callback gets ------------------------------ */

static _Atomic int cb2_calls;

static void collect_from_callback(const gc_phase_event *e, void *arg)
{
    (void)arg;
    if (e->phase == GC_PHASE_CYCLE_END && atomic_fetch_add(&cb2_calls, 1) == 0) {
        gc_collect();
        void *volatile p = gc_alloc(16);
        (void)p;
    }
}

Test(hostile, calls_from_a_phase_callback_name_the_callback_rule, .timeout = 60)
{
    tu_init();
    tu_warn_capture();
    gc_set_phase_callback(collect_from_callback, NULL);
    gc_collect();
    gc_set_phase_callback(NULL, NULL);
    cr_assert_eq(tu_warn_count(), 2, "expected two messages, got %d", tu_warn_count());
    for (int i = 0; i < 2; i++) {
        const char *m = tu_warn_msg(i);
        cr_assert(strstr(m, "callback") != NULL, "message %d does not name the callback: %s", i, m);
        cr_assert(strstr(m, "gc_register_thread") == NULL,
                  "message %d tells a callback to register: %s", i, m);
    }
    cr_assert(strstr(tu_warn_msg(0), "gc_collect") && strstr(tu_warn_msg(1), "gc_alloc"));
}
