/*
 * test_lifecycle.c -- the process around the collector: the OS running out
 * of address space (ulimit -v), fork() in a multi-threaded program, and a
 * program that uses the collector's default stop signals itself.
 *
 * Each scenario runs in a child process (fork, then the checks, then an
 * exit code the test asserts), so a limit or a fork cannot leak into other
 * tests and a crash is a failure, not a lost runner.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/test_util.h"


/* ---- out of memory at the OS level ------------------------------------------ */

static _Atomic int oom_calls;
static void count_oom(size_t n)
{
    (void)n;
    atomic_fetch_add(&oom_calls, 1);
}

static void **chain; /* registered root: a list of 1 MiB blocks */

static int oom_scenario(void)
{
    /* Address space for the runtime and a few hundred MiB of heap. */
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 10;
    if (gc_init(NULL) != GC_OK)
        return 11;
    gc_set_oom_handler(count_oom);
    gc_add_roots(&chain, &chain + 1);
    size_t blocks = 0;
    for (;;) {
        void **b = gc_alloc(1 << 20);
        if (!b)
            break;
        gc_store(&b[0], (void *)chain);
        gc_store(&chain, b);
        if (++blocks > 4096)
            return 12; /* the limit did not bite */
    }
    if (atomic_load(&oom_calls) < 1)
        return 13; /* NULL without the handler */
    /* Small objects may or may not fit; none may crash.  Then drop the
     * chain: allocation works again. */
    for (int i = 0; i < 1000; i++) {
        void *small = gc_alloc(64);
        if (small && gc_base(small) != small)
            return 17;
    }
    size_t kept = 0;
    for (void **b = (void **)chain; b; b = b[0])
        kept++;
    if (kept != blocks)
        return 14; /* the heap lost blocks after the failures */
    gc_store(&chain, NULL);
    gc_collect();
    void *again = gc_alloc(1 << 20);
    if (!again)
        return 15;
    return blocks > 16 ? 0 : 16;
}

Test(lifecycle, address_space_exhausted_gives_null_and_the_handler_then_recovers, .timeout = 120)
{
    TU_SKIP_UNDER_ASAN_OR_TSAN_RLIMIT();
    int rc = tu_in_child(oom_scenario);
    cr_assert_eq(rc, 0, "out-of-address-space scenario failed with %d (10 setrlimit, 11 gc_init, "
                 "12 no limit, 13 no handler call, 14 blocks lost, 15 no recovery, 16 too few "
                 "blocks, 17 a bad small object; >128: killed by a signal)", rc);
}

/* ---- a program that uses SIGPWR and SIGXCPU itself ---------------------------- */

static _Atomic int app_signals;
static void app_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&app_signals, 1);
}

static void *churn(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    void **keep = gc_alloc(64 * sizeof(void *));
    for (int i = 0; i < 200000; i++) {
        void **p = gc_alloc(48);
        if (!p)
            return (void *)2;
        p[1] = (void *)(uintptr_t)i;
        gc_store(&keep[i % 64], p);
    }
    for (int i = 0; i < 64; i++)
        if (!keep[i] || gc_base(keep[i]) != keep[i])
            return (void *)3;
    gc_unregister_thread();
    return NULL;
}

static void *join_fn(void *arg)
{
    void *rc;
    pthread_join(*(pthread_t *)arg, &rc);
    return rc;
}

static int own_signals_scenario(void)
{
    /* The program owns SIGPWR and SIGXCPU; the collector is told to use
     * two real-time signals instead. */
    signal(SIGPWR, app_handler);
    signal(SIGXCPU, app_handler);
    char s1[16], s2[16];
    snprintf(s1, sizeof s1, "%d", SIGRTMIN + 3);
    snprintf(s2, sizeof s2, "%d", SIGRTMIN + 4);
    setenv("MGC_SIG_SUSPEND", s1, 1);
    setenv("MGC_SIG_RESTART", s2, 1);
    if (gc_init(NULL) != GC_OK)
        return 20;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, churn, NULL) != 0)
            return 21;
    for (int c = 0; c < 10; c++) {
        gc_collect();
        raise(SIGPWR); /* the program's own use goes to its handler */
    }
    for (int i = 0; i < 2; i++)
        if (gc_do_blocking(join_fn, &th[i]) != NULL)
            return 22;
    gc_stats st;
    gc_get_stats(&st);
    if (st.num_gc < 10)
        return 23;
    return atomic_load(&app_signals) == 10 ? 0 : 24;
}

Test(lifecycle, a_program_that_uses_the_default_stop_signals_configures_others, .timeout = 120)
{
    int rc = tu_in_child(own_signals_scenario);
    cr_assert_eq(rc, 0, "own-signals scenario failed with %d (20 init, 21 threads, 22 a thread "
                 "failed, 23 too few collections, 24 the program's handler missed signals)", rc);
}

/* ---- fork() while threads allocate -------------------------------------------- */

typedef struct node {
    struct node *next;
    uint64_t seq, check;
} node;

static node *lists[4];     /* registered root: one list per thread, [3] the main thread's */
static _Atomic int stop_churn;
static _Atomic int fork_fin_ran;

static node *push(node *head, uint64_t seq)
{
    node *n = gc_alloc(sizeof *n);
    if (!n)
        return NULL;
    n->seq = seq;
    n->check = tu_mix(seq);
    gc_store(&n->next, head);
    return n;
}

/* Length of a list whose every node is intact, or -1. */
static long list_ok(const node *n)
{
    long len = 0;
    for (; n; n = n->next, len++)
        if (n->check != tu_mix(n->seq))
            return -1;
    return len;
}

static void *fork_churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    uint64_t seq = (uint64_t)id << 32;
    while (!atomic_load(&stop_churn)) {
        node *head = push(lists[id], seq++);
        if (!head)
            return (void *)2;
        if (seq % 2000 == 0)
            gc_store(&head->next, NULL); /* keep the lists short (a heap store: barrier) */
        gc_store(&lists[id], head);
    }
    gc_unregister_thread();
    return NULL;
}

static void count_fin(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
    atomic_fetch_add(&fork_fin_ran, 1);
}

static TU_NOINLINE void finalizable_garbage(int n)
{
    for (int i = 0; i < n; i++)
        gc_set_finalizer(gc_alloc(32), count_fin, NULL);
}

static void *child_thread(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    node *l = NULL;
    for (int i = 0; i < 100000; i++)
        l = push(l, (uint64_t)i);
    long len = list_ok(l);
    gc_unregister_thread();
    return len == 100000 ? NULL : (void *)2;
}

static void *wait_fin(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000 && atomic_load(&fork_fin_ran) < 20; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000}; /* polls a counter: not synchronisation */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* In the child: the parent's data intact, allocation, collection, a new
 * thread, finalizers on a new finalizer thread, a sound heap. */
static int fork_child_checks(void)
{
    for (int i = 0; i < 4; i++)
        if (list_ok(lists[i]) < 0)
            return 30;
    node *mine = NULL;
    for (int i = 0; i < 200000; i++)
        if (!(mine = push(mine, (uint64_t)i)))
            return 31;
    for (int c = 0; c < 5; c++)
        gc_collect();
    if (list_ok(mine) != 200000)
        return 32;
    pthread_t th;
    if (pthread_create(&th, NULL, child_thread, NULL) != 0)
        return 33;
    if (gc_do_blocking(join_fn, &th) != NULL)
        return 34;
    atomic_store(&fork_fin_ran, 0);
    finalizable_garbage(32);
    tu_clear_stack();
    gc_collect();
    gc_do_blocking(wait_fin, NULL);
    if (atomic_load(&fork_fin_ran) < 20)
        return 35;
    if (gc_verify_heap() != 0)
        return 36;
    gc_stats st;
    gc_get_stats(&st);
    return st.num_threads == 2 ? 0 : 37; /* this thread and the new mgc-finalizer */
}

/* A forked child that hangs would keep the test runner's pipe open for
 * ever: it is killed instead (SIGALRM), and the test fails with 128 + 14. */
#define FORK_CHILD_WATCHDOG_S 120

static void *waitpid_fn(void *arg)
{
    int st;
    pid_t pid = *(pid_t *)arg;
    if (waitpid(pid, &st, 0) != pid)
        return (void *)(intptr_t)-1;
    return (void *)(intptr_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

Test(lifecycle, fork_while_threads_allocate_gives_the_child_a_working_collector, .timeout = 240)
{
    tu_pin_no_torture(); /* its children's alarm: too slow */
    TU_SKIP_UNDER_TSAN("TSan cannot start threads in the child of a multi-threaded fork");
    tu_init();
    gc_add_roots(lists, lists + 4);
    finalizable_garbage(4); /* the parent has a finalizer thread */
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, fork_churn, (void *)(intptr_t)i), 0);
    for (int k = 0; k < 8; k++) {
        for (int i = 0; i < 20000; i++)
            gc_store(&lists[3], push(k || i ? lists[3] : NULL, (uint64_t)i));
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            alarm(FORK_CHILD_WATCHDOG_S);
            _exit(fork_child_checks());
        }
        int rc = (int)(intptr_t)gc_do_blocking(waitpid_fn, &pid);
        if (rc == 128 + SIGALRM && TU_UNDER_ASAN)
            cr_skip_test("fork %d: the child hung (GCC's libasan allocator is not fork-safe: a lock "
                         "another thread held in malloc at fork() stays held in the child)", k);
        cr_assert_eq(rc, 0, "fork %d: the child failed with %d (30 parent data corrupt, 31 "
                     "allocation, 32 its list, 33/34 a new thread, 35 finalizers, 36 heap "
                     "verification, 37 thread count; >128 killed by a signal)", k, rc);
    }
    atomic_store(&stop_churn, 1);
    for (int i = 0; i < 3; i++)
        cr_assert_null(gc_do_blocking(join_fn, &th[i]));
    for (int i = 0; i < 4; i++)
        cr_assert_geq(list_ok(lists[i]), 0, "the parent's list %d was corrupted", i);
    cr_assert_eq(gc_verify_heap(), 0);
}

/* ---- fork while registered threads are inside malloc ----------------------
 * A host's threads call malloc and free all the time; glibc's fork() takes
 * malloc's locks after the atfork prepare handlers.  A fork that parked a
 * registered thread inside malloc (as a stop-the-world does) hung the
 * forking thread in fork() at once.  Here three registered threads mix
 * malloc/free with gc_alloc while the main thread forks 300 times; each
 * child uses both allocators and a collection. */
static _Atomic int malloc_churn_stop;

static void *malloc_churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    uint64_t seq = (uint64_t)id << 32;
    while (!atomic_load(&malloc_churn_stop)) {
        void *p[8];
        for (int i = 0; i < 8; i++)
            if (!(p[i] = malloc(32 + 200 * (size_t)i)))
                return (void *)2;
        node *head = push(lists[id], seq++);
        if (!head)
            return (void *)3;
        if (seq % 1000 == 0)
            gc_store(&head->next, NULL);
        gc_store(&lists[id], head);
        for (int i = 0; i < 8; i++)
            free(p[i]);
    }
    gc_unregister_thread();
    return NULL;
}

static int malloc_fork_child(void)
{
    for (int i = 0; i < 3; i++)
        if (list_ok(lists[i]) < 0)
            return 30;
    void *m = malloc(1000);
    node *mine = NULL;
    for (int i = 0; i < 1000; i++)
        if (!(mine = push(mine, (uint64_t)i)))
            return 31;
    gc_collect();
    free(m);
    return list_ok(mine) == 1000 ? 0 : 32;
}

Test(lifecycle, fork_while_registered_threads_call_malloc_neither_hangs_nor_corrupts, .timeout = 240)
{
    TU_SKIP_UNDER_TSAN("TSan cannot start threads in the child of a multi-threaded fork");
    TU_SKIP_UNDER_ASAN("GCC's libasan allocator is not fork-safe: a child forked while another "
                       "thread is inside malloc can hang in its first malloc");
    tu_init();
    gc_add_roots(lists, lists + 4);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, malloc_churn, (void *)(intptr_t)i), 0);
    for (int k = 0; k < 300; k++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            alarm(FORK_CHILD_WATCHDOG_S);
            _exit(malloc_fork_child());
        }
        int rc = (int)(intptr_t)gc_do_blocking(waitpid_fn, &pid);
        cr_assert_eq(rc, 0, "fork %d: the child failed with %d (30 parent data corrupt, 31/32 "
                     "allocation; 142 hung, killed by its watchdog)", k, rc);
    }
    atomic_store(&malloc_churn_stop, 1);
    for (int i = 0; i < 3; i++)
        cr_assert_null(gc_do_blocking(join_fn, &th[i]));
    for (int i = 0; i < 3; i++)
        cr_assert_geq(list_ok(lists[i]), 0, "the parent's list %d was corrupted", i);
    cr_assert_eq(gc_verify_heap(), 0);
}
