/*
 * base.c -- what every part of mgc uses: settings, messages, clocks and
 * the library's daemon threads (declared in runtime/base.h).
 *
 * Messages must never take a lock a stopped thread can hold (see below);
 * everything else here is stateless or set once by gc_init.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base.h"

_Atomic int mgc_initialized;
mgc_settings mgc_cfg;
static gc_warn_handler warn_handler; /* __atomic builtins */
/* Owner: the thread; set once at its start.  One of the library's own. */
static __thread int library_thread __attribute__((tls_model("initial-exec")));

/* ---- clocks -------------------------------------------------------------- */

uint64_t mgc_nanotime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ** CPU time of the calling thread: the collector's CPU accounting (a
 * thread that waits or is preempted is not working for the collector). */
uint64_t mgc_thread_cputime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec mgc_deadline(uint64_t ns) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t nsec = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(nsec / 1000000000u);
    ts.tv_nsec = (long)(nsec % 1000000000u);
    return ts;
}

void mgc_sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* ** Online CPUs, read again at most once a second: glibc's sysconf opens
 * and reads /sys/devices/system/cpu/online at every call (three system
 * calls, 60 us here), and the pacer and the mark workers ask at every
 * cycle.  CPUs going on- or off-line are seen within a second.  Racing
 * refreshes store the same kind of value: relaxed atomics suffice. */
long mgc_ncpu(void) {
    static _Atomic long cached;
    static _Atomic uint64_t read_at;
    uint64_t now = mgc_nanotime();
    long n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (n > 0 && now - atomic_load_explicit(&read_at, memory_order_relaxed) < 1000000000u) return n;
    n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    atomic_store_explicit(&cached, n, memory_order_relaxed);
    atomic_store_explicit(&read_at, now, memory_order_relaxed);
    return n;
}

/* ---- messages ------------------------------------------------------------ */

/* Messages must never take a lock a stopped thread can hold: a program
 * thread suspended inside its own fprintf(stderr) holds stderr's lock, one
 * suspended inside malloc holds an arena lock.  So the library formats into
 * a stack buffer (glibc's vsnprintf locks nothing and allocates nothing for
 * plain %d/%s/%x/%f conversions) and hands it to write(2) in one call.  The
 * warn handler is the program's code, which may take any lock: a message
 * raised while this thread has the world (or one thread) stopped waits in
 * a small queue until the collector delivers it after the restart
 * (mgc_warn_flush). */

/* Set by gc/stw.c while this thread has other threads stopped. */
__thread int mgc_stopping __attribute__((tls_model("initial-exec")));

/* ** write(2) all of it, across EINTR and short writes; errors are ignored
 * (nowhere to report them). */
static void write_fd2(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/* ** Format into buf and add a newline; the length written. */
static size_t format_line(char *buf, size_t cap, const char *prefix, const char *fmt, va_list ap) {
    int n = snprintf(buf, cap, "%s", prefix);
    int m = vsnprintf(buf + n, cap - 1 - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > cap - 2) len = cap - 2;
    buf[len++] = '\n';
    return len;
}

void mgc_print(const char *fmt, ...) {
    char buf[1024];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(buf, sizeof buf, "", fmt, ap);
    va_end(ap);
    write_fd2(buf, n);
    errno = saved;
}

/* Messages waiting for the restart: a slot is FREE, BUSY (one thread
 * writes or reads it) or FULL; seq orders the FULL ones.  Lock-free, so a
 * stopper can queue and any thread can deliver. */
#define WARN_SLOTS 8
#define WARN_LEN 512
enum { SLOT_FREE, SLOT_BUSY, SLOT_FULL };
static struct {
    _Atomic int state;
    _Atomic uint64_t seq;
    char msg[WARN_LEN];
} pending[WARN_SLOTS];
static _Atomic uint64_t pending_seq;
static _Atomic unsigned long pending_count, pending_dropped;

/* ** Queue a message for the warn handler; count it as dropped if the
 * queue is full (a stop never waits for the program). */
static void defer_warning(const char *msg) {
    for (int i = 0; i < WARN_SLOTS; i++) {
        int s = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&pending[i].state, &s, SLOT_BUSY)) continue;
        snprintf(pending[i].msg, WARN_LEN, "%s", msg);
        atomic_store(&pending[i].seq, atomic_fetch_add(&pending_seq, 1));
        atomic_store(&pending[i].state, SLOT_FULL);
        atomic_fetch_add(&pending_count, 1);
        return;
    }
    atomic_fetch_add(&pending_dropped, 1);
}

static void deliver(const char *msg) {
    gc_warn_handler h = __atomic_load_n(&warn_handler, __ATOMIC_ACQUIRE);
    if (h) {
        h(msg);
    } else {
        write_fd2(msg, strlen(msg));
        write_fd2("\n", 1);
    }
}

/* ** Take the oldest queued message into out; false if none. */
static bool take_oldest(char *out) {
    for (;;) {
        int best = -1;
        uint64_t best_seq = 0;
        for (int i = 0; i < WARN_SLOTS; i++) {
            if (atomic_load(&pending[i].state) != SLOT_FULL) continue;
            uint64_t q = atomic_load(&pending[i].seq);
            if (best < 0 || q < best_seq) best = i, best_seq = q;
        }
        if (best < 0) return false;
        int s = SLOT_FULL;
        if (!atomic_compare_exchange_strong(&pending[best].state, &s, SLOT_BUSY)) continue;
        memcpy(out, pending[best].msg, WARN_LEN);
        atomic_store(&pending[best].state, SLOT_FREE);
        atomic_fetch_sub(&pending_count, 1);
        return true;
    }
}

void mgc_warn_flush(void) {
    if (mgc_stopping) return;
    char msg[WARN_LEN];
    while (atomic_load(&pending_count) && take_oldest(msg)) deliver(msg);
    unsigned long d = atomic_exchange(&pending_dropped, 0);
    if (d) {
        snprintf(msg, sizeof msg, "mgc: %lu more messages were dropped while threads were stopped", d);
        deliver(msg);
    }
}

/* ** The body of mgc_warn and mgc_warn_stalled.  urgent: the message says
 * why threads stay stopped, so the handler (which only runs after the
 * restart) might never see it: it also goes to stderr at once. */
static void vwarn(bool urgent, const char *fmt, va_list ap) {
    char buf[WARN_LEN];
    int saved = errno;
    size_t n = format_line(buf, sizeof buf, "mgc: ", fmt, ap);
    if (!__atomic_load_n(&warn_handler, __ATOMIC_ACQUIRE)) {
        write_fd2(buf, n); /* lock-free: fine even with threads stopped */
    } else if (mgc_stopping) {
        if (urgent) write_fd2(buf, n);
        buf[n - 1] = '\0'; /* the handler gets the line without its newline */
        defer_warning(buf);
    } else {
        buf[n - 1] = '\0';
        mgc_warn_flush(); /* older messages first */
        deliver(buf);
    }
    errno = saved;
}

void mgc_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwarn(false, fmt, ap);
    va_end(ap);
}

void mgc_warn_stalled(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwarn(true, fmt, ap);
    va_end(ap);
}

void mgc_throw(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(buf, sizeof buf, "mgc: fatal error: ", fmt, ap);
    va_end(ap);
    write_fd2(buf, n);
    abort();
}

MGC_API gc_warn_handler gc_set_warn_handler(gc_warn_handler fn) {
    return __atomic_exchange_n(&warn_handler, fn, __ATOMIC_ACQ_REL);
}

/* ---- daemon threads ------------------------------------------------------ */

typedef struct daemon_start {
    void *(*fn)(void *);
    void *arg;
} daemon_start;

static void *daemon_main(void *p) {
    daemon_start d = *(daemon_start *)p;
    free(p);
    library_thread = 1;
    return d.fn(d.arg);
}

/* ** Start a library thread (coordinator, mark worker, scavenger, trace
 * writer): detached, named for debuggers, marked as the library's, and
 * with every signal blocked -- it is never registered, so it must not take
 * the stop signals, nor the program's own.  The mask is set around
 * pthread_create so the thread is born with it. */
int mgc_start_daemon(const char *name, void *(*fn)(void *), void *arg) {
    daemon_start *d = malloc(sizeof *d);
    if (!d) return GC_ESYS;
    d->fn = fn;
    d->arg = arg;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, daemon_main, d);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(d);
        return GC_ESYS;
    }
    pthread_setname_np(th, name);
    return GC_OK;
}

bool mgc_on_library_thread(void) { return library_thread; }
