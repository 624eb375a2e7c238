/*
 * test_util.h -- helpers shared by the mgc test files.
 *
 * Criterion runs every test in a fresh process, so each test starts the
 * collector itself (tu_init).  Everything here is static inline so that any
 * subset of the helpers may be used by a file without unused warnings (the
 * two that must never be inlined are static and marked unused instead).
 *
 * Conservative-GC hygiene.  A test that asserts an object was FREED must not
 * hold the object's address anywhere the collector scans: not in a local of
 * the test function, not in a dead stack slot, not in a registered root.
 * The pattern is:
 *
 *   1. create the object and its only reference inside a TU_NOINLINE helper;
 *      the helper records the address hidden (tu_hide: XOR with a constant,
 *      which yields a value far outside the heap) and returns nothing that
 *      points into the heap;
 *   2. tu_collect_clean(): zero 64 KiB of stack below the caller (where the
 *      helper's dead frames were), then gc_collect();
 *   3. tu_is_freed(hidden): gc_base() of the remembered address is NULL for a
 *      free slot or a freed large span.  Check before allocating anything,
 *      or the slot may already hold a new object.
 *
 * and asserts over many objects (tu_percent) rather than one.
 */
#ifndef MGC_TEST_UTIL_H
#define MGC_TEST_UTIL_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgc.h"

#define TU_NOINLINE __attribute__((noinline))

/* ThreadSanitizer holds a signal back until the thread calls an intercepted
 * function, so a thread that loops without any call can never be stopped
 * under it.  Tests whose point is such a thread skip themselves there; they
 * run in every other build. */
#if defined(__SANITIZE_THREAD__)
#define TU_SKIP_UNDER_TSAN(why) cr_skip_test("not under ThreadSanitizer: %s", why)
#else
#define TU_SKIP_UNDER_TSAN(why) ((void)0)
#endif
/* AddressSanitizer replaces some libc calls with its own (malloc_stats
 * prints its own report and takes no stdio lock), so a test built on what
 * the libc call does skips itself there. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_UNDER_ASAN 1
#define TU_SKIP_UNDER_ASAN(why) cr_skip_test("not under AddressSanitizer: %s", why)
#else
#define TU_UNDER_ASAN 0
#define TU_SKIP_UNDER_ASAN(why) ((void)0)
#endif
/* A C frame unwound by pthread_cancel runs no landing pad, so ASan leaves
 * its stack redzones poisoned, and the thread's own exit (ASan's
 * sigaltstack teardown) then trips over them: a false report.  Functions
 * that a test cancels in mid-call keep no redzones. */
#define TU_CANCELLED_FRAME __attribute__((no_sanitize_address))
/* Tests that cap the address space (RLIMIT_AS) cannot run under ASan or
 * TSan: their shadow memory needs terabytes of it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_SKIP_UNDER_ASAN_OR_TSAN_RLIMIT() \
    cr_skip_test("the sanitizers' shadow memory needs terabytes of address space")
#else
#define TU_SKIP_UNDER_ASAN_OR_TSAN_RLIMIT() ((void)0)
#endif
#define TU_MASK ((uintptr_t)0xA5A5A5A5A5A5A5A5u)
#define TU_KIB ((size_t)1024)
#define TU_MIB ((size_t)1024 * 1024)

/* Start the collector with the documented defaults, whatever MGC_* variables
 * the person running the suite has set. */
/* For tests of what the stop-the-world phases report (pauses, their trace
 * events and lines): pin that mode, which MGC_HANDSHAKE=1 would replace by
 * per-thread handshakes with no pause at all (their holds have tests of
 * their own: test_trace.c, test_handshake.c), and MGC_STW=1 by one pause
 * that does the whole mark. */
static inline void tu_pin_stw_phases(void)
{
    setenv("MGC_HANDSHAKE", "0", 1);
    unsetenv("MGC_STW");
}

/* For tests of what only a concurrent mark has (the barrier's work while
 * the program runs, termination rounds): MGC_STW=1 marks in one pause. */
static inline void tu_pin_concurrent_mark(void) { unsetenv("MGC_STW"); }

/* For tests that count what a collection freed, or how many collections
 * ran: MGC_TORTURE=N collects at every Nth allocation whatever the percent,
 * so a dropped object is freed while the test is still allocating and its
 * slot handed to a later object: the remembered (hidden) address then names
 * that live object, and tu_is_freed() says no. */
static inline void tu_pin_no_torture(void) { unsetenv("MGC_TORTURE"); }

static inline void tu_init(void)
{
    unsetenv("MGC_PERCENT");
    unsetenv("MGC_VERBOSE");
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    int rc = gc_init(NULL);
    cr_assert_eq(rc, GC_OK, "gc_init: %s", gc_strerror(rc));
}

/* Run fn in a forked child (a limit or a crash stays there); its exit
 * status, or 128 + the signal that killed it. */
static inline __attribute__((unused)) int tu_in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0)
        _exit(fn());
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- hidden addresses ---------------------------------------------------- */

static inline uintptr_t tu_hide(const void *p) { return (uintptr_t)p ^ TU_MASK; }
static inline void *tu_reveal(uintptr_t h) { return (void *)(h ^ TU_MASK); }
static inline int tu_is_freed(uintptr_t h) { return gc_base(tu_reveal(h)) == NULL; }

/* How many of n hidden addresses are free now. */
static inline size_t tu_count_freed(const uintptr_t *h, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)tu_is_freed(h[i]);
    return k;
}

/* ---- stack hygiene -------------------------------------------------------- */

/* Overwrite the 64 KiB of stack below the caller's frame. */
static TU_NOINLINE __attribute__((unused)) void tu_clear_stack(void)
{
    volatile unsigned char buf[64 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
    __asm__ volatile("" ::: "memory");
}

/* Clear the dead stack below the caller, then collect. */
static TU_NOINLINE __attribute__((unused)) void tu_collect_clean(void)
{
    tu_clear_stack();
    gc_collect();
}

/* ---- deterministic data ----------------------------------------------------- */

static inline uint64_t tu_mix(uint64_t x)
{
    /* splitmix64 finaliser: payloads that never look like heap addresses
     * often enough to matter, and differ for every input. */
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* Fill / check n bytes with a pattern derived from seed. */
static inline void tu_fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}
static inline int tu_check(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed * 131u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}
static inline int tu_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static inline gc_stats tu_stats(void)
{
    gc_stats s;
    gc_get_stats(&s);
    return s;
}

/* ---- captured warnings -------------------------------------------------------- */

#define TU_WARN_MAX 64
typedef struct tu_warn_state {
    pthread_mutex_t lock;
    int count;
    char msg[TU_WARN_MAX][512];
} tu_warn_state;

static inline tu_warn_state *tu_warns(void)
{
    static tu_warn_state s = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};
    return &s;
}
static inline void tu_warn_handler(const char *msg)
{
    tu_warn_state *w = tu_warns();
    pthread_mutex_lock(&w->lock);
    if (w->count < TU_WARN_MAX)
        snprintf(w->msg[w->count], sizeof w->msg[0], "%s", msg);
    w->count++;
    pthread_mutex_unlock(&w->lock);
}
/* Install the capturing handler and forget earlier messages. */
static inline void tu_warn_capture(void)
{
    tu_warn_state *w = tu_warns();
    pthread_mutex_lock(&w->lock);
    w->count = 0;
    pthread_mutex_unlock(&w->lock);
    gc_set_warn_handler(tu_warn_handler);
}
static inline int tu_warn_count(void)
{
    tu_warn_state *w = tu_warns();
    pthread_mutex_lock(&w->lock);
    int n = w->count;
    pthread_mutex_unlock(&w->lock);
    return n;
}
/* The i-th captured message (copied out). */
static inline const char *tu_warn_msg(int i)
{
    static char out[512];
    tu_warn_state *w = tu_warns();
    pthread_mutex_lock(&w->lock);
    snprintf(out, sizeof out, "%s", (i >= 0 && i < w->count && i < TU_WARN_MAX) ? w->msg[i] : "");
    pthread_mutex_unlock(&w->lock);
    return out;
}
/* Assert exactly one new message since tu_warn_capture()/the last call, and
 * that it contains every given word. */
static inline void tu_expect_one_warning(const char *what, const char *word1, const char *word2)
{
    int n = tu_warn_count();
    cr_assert_eq(n, 1, "%s: expected exactly one message, got %d (first: \"%s\")", what, n,
                 tu_warn_msg(0));
    const char *m = tu_warn_msg(0);
    if (word1)
        cr_assert(strstr(m, word1) != NULL, "%s: message \"%s\" does not name \"%s\"", what, m,
                  word1);
    if (word2)
        cr_assert(strstr(m, word2) != NULL, "%s: message \"%s\" does not name \"%s\"", what, m,
                  word2);
    tu_warn_capture(); /* reset for the next expectation */
}

/* ---- out-of-memory handler ------------------------------------------------------ */

typedef struct tu_oom_state {
    _Atomic int calls;
    _Atomic size_t last;
} tu_oom_state;
static inline tu_oom_state *tu_ooms(void)
{
    static tu_oom_state s;
    return &s;
}
static inline void tu_oom_handler(size_t requested)
{
    atomic_fetch_add(&tu_ooms()->calls, 1);
    atomic_store(&tu_ooms()->last, requested);
}

/* ---- files ---------------------------------------------------------------------- */

/* The whole file at path, NUL-terminated (*len = its size if len), or NULL
 * if it cannot be opened.  Free the result. */
static inline __attribute__((unused)) char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* ---- joining threads ------------------------------------------------------------ */

static void *tu_join_fn(void *arg)
{
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

/* pthread_join, parked if the caller is registered (gc_do_blocking): a
 * collection then need not interrupt the join -- which ThreadSanitizer,
 * holding signals back from a thread blocked in pthread_join, could not. */
static inline __attribute__((unused)) void tu_join(pthread_t th)
{
    if (gc_thread_is_registered())
        gc_do_blocking(tu_join_fn, &th);
    else
        pthread_join(th, NULL);
}

/* ---- failures in worker threads ------------------------------------------------ */

/* Criterion asserts must run on the test's own thread: workers record the
 * first failure here and the test asserts on it after joining. */
typedef struct tu_fail_state {
    _Atomic int count;
    pthread_mutex_t lock;
    char first[512];
} tu_fail_state;
static inline tu_fail_state *tu_fails(void)
{
    static tu_fail_state s = {0, PTHREAD_MUTEX_INITIALIZER, {0}};
    return &s;
}
static inline __attribute__((format(printf, 1, 2))) void tu_fail(const char *fmt, ...)
{
    tu_fail_state *f = tu_fails();
    pthread_mutex_lock(&f->lock);
    if (atomic_fetch_add(&f->count, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->first, sizeof f->first, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&f->lock);
}
static inline void tu_assert_no_thread_failures(void)
{
    tu_fail_state *f = tu_fails();
    int n = atomic_load(&f->count);
    cr_assert_eq(n, 0, "%d failure(s) in worker threads; first: %s", n, f->first);
}

/* A registered thread that allocates garbage until *(_Atomic int *)stop is
 * set: keeps collections coming beside what a test does. */
static inline __attribute__((unused)) void *tu_churn(void *stop)
{
    if (gc_register_thread() != GC_OK) {
        tu_fail("tu_churn: gc_register_thread failed");
        return NULL;
    }
    void *volatile keep = NULL;
    while (!atomic_load((_Atomic int *)stop))
        for (int i = 0; i < 100; i++)
            keep = gc_alloc(64 + (size_t)(i % 8) * 16);
    (void)keep;
    gc_unregister_thread();
    return NULL;
}

/* The stress tests' shape: n mutator threads fn(args[i]) run beside
 * `collects` forced collections on this (registered) thread; then *stop is
 * raised, they are joined (parked) and any failure they reported fails the
 * test. */
#define TU_MAX_MUTATORS 16
static inline __attribute__((unused)) void tu_mutators_beside_collections(int n,
                                                                          void *(*fn)(void *),
                                                                          void *const *args,
                                                                          int collects,
                                                                          _Atomic int *stop)
{
    pthread_t th[TU_MAX_MUTATORS];
    cr_assert_leq(n, TU_MAX_MUTATORS);
    for (int i = 0; i < n; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, fn, args[i]), 0);
    for (int c = 0; c < collects; c++)
        gc_collect();
    atomic_store(stop, 1);
    for (int i = 0; i < n; i++)
        tu_join(th[i]);
    tu_assert_no_thread_failures();
}

#endif /* MGC_TEST_UTIL_H */
