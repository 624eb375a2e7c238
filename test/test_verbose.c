/*
 * test_verbose.c -- the collector's own messages (MGC_VERBOSE, MGC_TRACE,
 * checkmark reports) in a program that writes to stderr itself.
 *
 * The hazard: a registered thread can be stopped anywhere, including inside
 * its own fprintf(stderr) -- holding stderr's lock -- or inside malloc --
 * holding an arena lock.  A collector that printed with stdio or allocated
 * while threads are stopped would then wait for a lock whose owner waits
 * for the collector.  Each test makes a registered thread hold those locks
 * on purpose, for the whole collection, and asserts that collections
 * complete (Criterion's timeout turns the old deadlock into a failure) and
 * that the lines still reach file descriptor 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include "test/test_util.h"

#include "gc/gc.h"

/* fd 2 goes to a file for the test, so the lines can be checked. */
typedef struct capture {
    char path[64];
    int fd, saved;
} capture;

static void capture_begin(capture *c)
{
    snprintf(c->path, sizeof c->path, "/tmp/mgc-verbose-XXXXXX");
    c->fd = mkstemp(c->path);
    cr_assert_geq(c->fd, 0);
    fflush(stderr);
    c->saved = dup(2);
    dup2(c->fd, 2);
}

static char *capture_end(capture *c)
{
    dup2(c->saved, 2);
    close(c->saved);
    close(c->fd);
    char *text = tu_slurp(c->path, NULL);
    unlink(c->path);
    cr_assert_not_null(text);
    return text;
}

/* gc_init with MGC_VERBOSE=3 (every line the collector can print) and the
 * gctrace line. */
static void init_verbose(void)
{
    tu_pin_stw_phases(); /* the lines checked are the pauses' */
    unsetenv("MGC_PERCENT");
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    setenv("MGC_VERBOSE", "3", 1);
    setenv("MGC_TRACE", "1", 1);
    int rc = gc_init(NULL);
    cr_assert_eq(rc, GC_OK, "gc_init: %s", gc_strerror(rc));
}

/* A checksummed list, so the collections are seen to keep what is live. */
static void **make_list(int n)
{
    void **head = NULL;
    for (int i = 0; i < n; i++) {
        void **node = gc_alloc(4 * sizeof(void *));
        cr_assert_not_null(node);
        node[0] = head;
        node[1] = (void *)(uintptr_t)(i * 2654435761u);
        head = node;
    }
    return head;
}

static void check_list(void **head, int n)
{
    for (int i = n - 1; i >= 0; i--, head = head[0]) {
        cr_assert_not_null(head);
        cr_assert_eq((uintptr_t)head[1], (uintptr_t)(i * 2654435761u), "node %d corrupted", i);
    }
    cr_assert_null(head);
}

static void collect_and_check_output(void)
{
    void **list = make_list(20000);
    for (int i = 0; i < 3; i++)
        gc_collect();
    check_list(list, 20000);
}

static void assert_lines(const char *text)
{
    cr_assert(strstr(text, "mgc: setup pause") != NULL, "no setup pause line in:\n%s", text);
    cr_assert(strstr(text, "mgc: termination stop") != NULL, "no termination stop line in:\n%s",
              text);
    cr_assert(strstr(text, "mgc: pacer: scanned") != NULL, "no pacer line in:\n%s", text);
    cr_assert(strstr(text, "mgc: termination pause") != NULL, "no termination line in:\n%s", text);
    cr_assert(strstr(text, "mgc: gc 3 (forced)") != NULL, "no cycle line in:\n%s", text);
    cr_assert(strstr(text, "\ngc 3 @") != NULL, "no gctrace line in:\n%s", text);
}

/* ---- a thread that holds stderr's lock while it runs --------------------------- */

static _Atomic int locked, release;

/* Takes stderr's lock and keeps running (not parked, not in a system call)
 * until told: every stop finds it holding the lock. */
static void *hold_stderr(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    flockfile(stderr);
    atomic_store(&locked, 1);
    while (!atomic_load(&release)) {
    }
    funlockfile(stderr);
    gc_unregister_thread();
    return NULL;
}

Test(verbose, level_3_collects_while_a_running_thread_holds_the_stderr_lock, .timeout = 30)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    TU_SKIP_UNDER_TSAN("the lock holder spins without calls, so it cannot be stopped");
    capture c;
    capture_begin(&c);
    init_verbose();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, hold_stderr, NULL), 0);
    while (!atomic_load(&locked))
        sched_yield();
    collect_and_check_output();
    atomic_store(&release, 1);
    void *rc;
    pthread_join(th, &rc);
    cr_assert_null(rc);
    char *text = capture_end(&c);
    assert_lines(text);
    free(text);
}

/* ---- a thread blocked inside malloc_stats: stdio and the malloc lock ------------- */

static int pipe_fd[2];

/* glibc's malloc_stats() writes to `stderr` holding both that stream's lock
 * and each arena's lock.  With `stderr` a full pipe, it blocks in write(2)
 * holding them: a registered thread stopped in a system call, inside
 * malloc, inside stdio. */
static void *blocked_in_malloc_stats(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        return (void *)1;
    atomic_store(&locked, 1);
    malloc_stats();
    gc_unregister_thread();
    return NULL;
}

static void fill_pipe(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    while (write(fd, junk, sizeof junk) > 0) {
    }
    cr_assert_eq(errno, EAGAIN);
    fcntl(fd, F_SETFL, fl);
}

Test(verbose, level_3_collects_while_a_thread_blocks_holding_stdio_and_malloc_locks,
     .timeout = 30)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    TU_SKIP_UNDER_TSAN("it holds the stop signal back from a thread blocked in write(2)");
    TU_SKIP_UNDER_ASAN("its malloc_stats never writes to stderr, so no thread holds the lock");
    capture c;
    capture_begin(&c);
    setenv("MGC_CHECKMARK", "1", 1); /* a stop-the-world mark in every cycle too */
    init_verbose();
    cr_assert_eq(pipe(pipe_fd), 0);
    fill_pipe(pipe_fd[1]);
    FILE *real = stderr;
    stderr = fdopen(pipe_fd[1], "w");
    cr_assert_not_null(stderr);
    setvbuf(stderr, NULL, _IONBF, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, blocked_in_malloc_stats, NULL), 0);
    while (!atomic_load(&locked))
        sched_yield();
    /* Once our own lock attempt fails, the thread is inside malloc_stats. */
    while (ftrylockfile(stderr) == 0) {
        funlockfile(stderr);
        sched_yield();
    }
    collect_and_check_output();
    /* Unblock it: drain the pipe until it has written everything. */
    int fl = fcntl(pipe_fd[0], F_GETFL);
    fcntl(pipe_fd[0], F_SETFL, fl | O_NONBLOCK);
    char junk[4096];
    for (;;) {
        if (read(pipe_fd[0], junk, sizeof junk) > 0)
            continue;
        if (ftrylockfile(stderr) == 0) {
            funlockfile(stderr);
            break;
        }
        sched_yield();
    }
    void *rc;
    pthread_join(th, &rc);
    cr_assert_null(rc);
    stderr = real;
    char *text = capture_end(&c);
    assert_lines(text);
    free(text);
}

/* ---- the warn handler never runs with threads stopped ----------------------------- */

static char seen[16][128];
static int nseen;
static void record_warning(const char *msg)
{
    if (nseen < 16)
        snprintf(seen[nseen], sizeof seen[nseen], "%s", msg);
    nseen++;
}

/* White-box: warnings raised while this thread has the world stopped wait
 * for the restart, in order, and an overflowing queue says how many it
 * dropped. */
Test(verbose, warnings_raised_with_the_world_stopped_reach_the_handler_after_the_restart)
{
    tu_init();
    gc_set_warn_handler(record_warning);
    mgc_stop_the_world();
    for (int i = 0; i < 10; i++)
        mgc_warn("warning %d", i);
    int during = nseen;
    mgc_start_the_world();
    mgc_warn_flush();
    gc_set_warn_handler(NULL);
    cr_assert_eq(during, 0, "the handler ran %d times with the world stopped", during);
    cr_assert_eq(nseen, 9, "8 queued warnings and one drop notice expected, got %d", nseen);
    for (int i = 0; i < 8; i++) {
        char want[32];
        snprintf(want, sizeof want, "mgc: warning %d", i);
        cr_assert_str_eq(seen[i], want);
    }
    cr_assert(strstr(seen[8], "2 more messages were dropped") != NULL, "%s", seen[8]);
}
