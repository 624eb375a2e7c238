/*
 * test_lockrank.c -- the lock-order check of MGC_LOCKRANK builds
 * (runtime/lockrank.h): a lock taken out of order, under a leaf, retaken
 * by a condition wait under a higher lock, or released without being held
 * throws, and the message names both locks; locks taken in order, a
 * trylock out of order and releases in any order pass.  Skipped in
 * builds without the check (make debug and make tsan have it).
 *
 * Each case runs in a forked child, its stderr in a pipe: the throw
 * aborts.  The child starts the collector itself when it needs it, so the
 * test process never has threads of its own to fork (ThreadSanitizer
 * cannot start threads in the child of a threaded process).
 */
#include <signal.h>

#include "test/test_util.h"

#include "gc/special.h"

#ifdef MGC_LOCKRANK
#define SKIP_UNCHECKED() ((void)0)
#else
#define SKIP_UNCHECKED() cr_skip_test("built without MGC_LOCKRANK (make debug, make tsan)")
#endif

/* What a child said on stderr and how it ended: its exit status, or 128 +
 * the signal that killed it. */
typedef struct child_result {
    int status;
    char err[2048];
} child_result;

static child_result run_child(void (*fn)(void))
{
    child_result r;
    memset(&r, 0, sizeof r);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof r.err - 1 && (k = read(fds[0], r.err + n, sizeof r.err - 1 - n)) > 0)
        n += (size_t)k;
    close(fds[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

/* The child threw: aborted, with this line on stderr. */
static void assert_throws(void (*fn)(void), const char *line)
{
    child_result r = run_child(fn);
    cr_assert_eq(r.status, 128 + SIGABRT, "exit %d, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, line) != NULL, "expected \"%s\", got: %s", line, r.err);
}

static void assert_passes(void (*fn)(void))
{
    child_result r = run_child(fn);
    cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
}

/* ---- the library's own locks ------------------------------------------------ */

static void start_collector(void)
{
    if (gc_init(NULL) != GC_OK)
        _exit(3);
}

/* The specials' lock ranks above the heap's: a sweep takes them one after
 * the other, fork's prepare heap first. */
static void special_then_heap(void)
{
    start_collector();
    gc_thread *t = mgc_self;
    mgc_lock(t, &mgc_special_lock);
    mgc_lock(t, &mgc_heap.lock);
}

Test(lockrank, library_locks_out_of_order_throw_naming_both)
{
    SKIP_UNCHECKED();
    assert_throws(special_then_heap, "lock order: taking mgc_heap.lock while holding mgc_special_lock");
}

static void heap_then_special_then_fork(void)
{
    start_collector();
    gc_thread *t = mgc_self;
    mgc_lock(t, &mgc_heap.lock);
    mgc_lock(t, &mgc_special_lock);
    mgc_unlock(t, &mgc_heap.lock); /* not last in, first out: allowed */
    mgc_unlock(t, &mgc_special_lock);
    gc_collect();
    /* fork's handlers take eight locks in the table's order */
    pid_t pid = fork();
    if (pid == 0) {
        gc_collect();
        _exit(0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        _exit(4);
    gc_collect();
}

Test(lockrank, library_locks_in_order_pass)
{
    SKIP_UNCHECKED();
    TU_SKIP_UNDER_TSAN("the grandchild would start threads in a forked child");
    assert_passes(heap_then_special_then_fork);
}

/* The rule of runtime/collector.h: a registered thread takes a lock the
 * collector needs with threads stopped only inside a no-preempt section. */
static void heap_lock_stoppable(void)
{
    start_collector();
    mgc_mutex_lock(&mgc_heap.lock);
}

Test(lockrank, stop_lock_outside_nopreempt_throws)
{
    SKIP_UNCHECKED();
    assert_throws(heap_lock_stoppable,
                  "lock order: taking mgc_heap.lock on a registered thread outside a no-preempt section");
}

/* ---- the rules, on locks of the test's own (no collector) -------------------- */

static mgc_mutex init_l = MGC_MUTEX_INIT(INIT), cycle_l = MGC_MUTEX_INIT(CYCLE);
static mgc_mutex threads_l = MGC_MUTEX_INIT(THREADS), roots_l = MGC_MUTEX_INIT(ROOTS);
static mgc_mutex central_l = MGC_MUTEX_INIT(CENTRAL), tlock_l = MGC_MUTEX_INIT(TRACE_BUF);
static mgc_mutex unranked_l = {PTHREAD_MUTEX_INITIALIZER, MGC_RANK_NONE};

static void leaf_then_leaf(void)
{
    mgc_mutex_lock(&central_l);
    mgc_mutex_lock(&tlock_l); /* ranks above it, but nothing goes under a leaf */
}

Test(lockrank, nothing_under_a_leaf)
{
    SKIP_UNCHECKED();
    assert_throws(leaf_then_leaf, "lock order: taking tlock while holding mcentral.lock, a leaf lock");
}

static void trylock_then_lower(void)
{
    if (mgc_mutex_trylock(&roots_l) != 0)
        _exit(5);
    mgc_mutex_lock(&threads_l);
}

Test(lockrank, a_trylocked_lock_counts_as_held)
{
    SKIP_UNCHECKED();
    assert_throws(trylock_then_lower, "lock order: taking threads_lock while holding roots_lock");
}

static void in_order_with_trylock(void)
{
    mgc_mutex_lock(&init_l);
    mgc_mutex_lock(&threads_l);
    if (mgc_mutex_trylock(&cycle_l) != 0) /* below threads_lock: a trylock may */
        _exit(5);
    mgc_mutex_lock(&roots_l);
    mgc_mutex_lock(&central_l);
    mgc_mutex_unlock(&threads_l);
    mgc_mutex_unlock(&init_l);
    mgc_mutex_unlock(&central_l);
    mgc_mutex_unlock(&roots_l);
    mgc_mutex_unlock(&cycle_l);
    mgc_mutex_lock(&threads_l); /* nothing held any more */
    mgc_mutex_unlock(&threads_l);
}

Test(lockrank, in_order_trylock_and_any_release_order_pass)
{
    SKIP_UNCHECKED();
    assert_passes(in_order_with_trylock);
}

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void wait_under_higher(void)
{
    struct timespec past = {0, 0};
    mgc_mutex_lock(&cycle_l);
    mgc_cond_timedwait(&cv, &cycle_l, &past); /* alone: fine */
    mgc_mutex_lock(&threads_l);
    mgc_cond_timedwait(&cv, &cycle_l, &past); /* gives cmu up, takes it back under threads_lock */
}

Test(lockrank, a_condition_wait_retakes_its_lock_in_order)
{
    SKIP_UNCHECKED();
    assert_throws(wait_under_higher, "lock order: retaking (condition wait) cmu while holding threads_lock");
}

static void release_unheld(void) { mgc_mutex_unlock(&roots_l); }

Test(lockrank, releasing_an_unheld_lock_throws)
{
    SKIP_UNCHECKED();
    assert_throws(release_unheld, "lock order: releasing roots_lock, which this thread does not hold");
}

static void take_unranked(void) { mgc_mutex_lock(&unranked_l); }

Test(lockrank, a_lock_without_a_rank_throws)
{
    SKIP_UNCHECKED();
    assert_throws(take_unranked, "lock order: taking a lock with no rank");
}
