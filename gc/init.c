/*
 * init.c -- starting the collector: configuration, environment, messages.
 *
 * gc_init() runs once (guarded by a pthread_once-like flag); later calls
 * only register the calling thread.  Settings come from the gc_config the
 * program passes (or the defaults), then MGC_* environment variables
 * override them, so an operator can tune a deployed binary.
 *
 * Messages: every misuse is reported through one warn handler, one line
 * each, prefixed "mgc: " and naming the call and the fix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "gc/barrier.h"

_Atomic int mgc_initialized;
mgc_settings mgc_cfg;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static gc_warn_handler warn_handler; /* __atomic builtins */

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

long mgc_ncpu(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n;
}

MGC_API gc_warn_handler gc_set_warn_handler(gc_warn_handler fn) {
    return __atomic_exchange_n(&warn_handler, fn, __ATOMIC_ACQ_REL);
}

MGC_API const char *gc_strerror(int code) {
    switch (code) {
    case GC_OK: return "success";
    case GC_EINVAL: return "invalid argument";
    case GC_ENOMEM: return "out of memory";
    case GC_EALREADY: return "already done";
    case GC_ENOTREG: return "calling thread not registered";
    case GC_ENOTINIT: return "gc_init() not called";
    case GC_ESYS: return "system call failed";
    default: return "unknown error code";
    }
}

MGC_API void gc_config_default(gc_config *cfg) {
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->percent = 100;
    cfg->suspend_signal = SIGPWR;
    cfg->restart_signal = SIGXCPU;
    cfg->verbose = 0;
    cfg->mark_workers = 0;
    cfg->memory_limit = 0;
    cfg->max_heap = 0;
}

/* ** Parse an integer environment variable; warn and keep *out on junk. */
static void env_int(const char *name, int *out, int lo, int hi) {
    const char *v = getenv(name);
    if (!v || !*v) return;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) {
        mgc_warn("gc_init: ignoring %s=\"%s\": expected an integer from %d to %d", name, v, lo, hi);
        return;
    }
    *out = (int)x;
}

/* ** Parse a byte count with an optional K/M/G suffix. */
static void env_bytes(const char *name, size_t *out) {
    const char *v = getenv(name);
    if (!v || !*v) return;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (errno || *end || v[0] == '-' || (x && mul > ULLONG_MAX / x)) {
        mgc_warn("gc_init: ignoring %s=\"%s\": expected bytes with an optional K, M or G "
                 "suffix, such as 512M", name, v);
        return;
    }
    *out = (size_t)(x * mul);
}

/* ** A signal the collector may take over: not one that cannot be caught,
 * nor one the kernel sends for faults, nor one the C library keeps for
 * itself (glibc: 32 and 33, below SIGRTMIN, for cancellation and setxid). */
static bool usable_signal(int sig) {
    return sig >= 1 && sig <= SIGRTMAX && (sig < 32 || sig >= SIGRTMIN) && sig != SIGKILL &&
           sig != SIGSTOP && sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE;
}

static void apply_env(gc_config *cfg) {
    const char *p = getenv("MGC_PERCENT");
    if (p && strcmp(p, "off") == 0) cfg->percent = -1;
    else env_int("MGC_PERCENT", &cfg->percent, -1, 1000000);
    env_int("MGC_SIG_SUSPEND", &cfg->suspend_signal, 1, SIGRTMAX);
    env_int("MGC_SIG_RESTART", &cfg->restart_signal, 1, SIGRTMAX);
    env_int("MGC_VERBOSE", &cfg->verbose, 0, 9);
    env_int("MGC_MARK_WORKERS", &cfg->mark_workers, 0, 1024);
    env_bytes("MGC_MEMLIMIT", &cfg->memory_limit);
    env_bytes("MGC_MAXHEAP", &cfg->max_heap);
    env_int("MGC_STW", &cfg->stw, 0, 2);
    env_int("MGC_CHECKMARK", &cfg->checkmark, 0, 1);
    env_int("MGC_BARRIERCHECK", &cfg->barriercheck, 0, 1);
    env_int("MGC_STATIC_ROOTS", &cfg->static_roots, 0, 1);
    env_int("MGC_CLOBBER", &cfg->clobber, 0, 1);
    int torture = (int)cfg->torture;
    env_int("MGC_TORTURE", &torture, 0, INT_MAX);
    cfg->torture = (unsigned long)torture;
    const char *f = getenv("MGC_FINALIZERS");
    if (f && strcmp(f, "manual") == 0) cfg->manual_finalizers = 1;
    else if (f && strcmp(f, "thread") == 0) cfg->manual_finalizers = 0;
    else if (f && *f)
        mgc_warn("gc_init: ignoring MGC_FINALIZERS=\"%s\": expected manual or thread", f);
}

MGC_API int gc_init(const gc_config *user) {
    /* mgc_me: inside gc_do_blocking's fn the thread is registered still. */
    if (atomic_load_explicit(&mgc_initialized, memory_order_acquire))
        return mgc_me() ? GC_OK : mgc_register_caller("gc_init");
    pthread_mutex_lock(&init_lock);
    if (atomic_load(&mgc_initialized)) {
        pthread_mutex_unlock(&init_lock);
        return mgc_me() ? GC_OK : mgc_register_caller("gc_init");
    }
    gc_config cfg;
    if (user) cfg = *user;
    else gc_config_default(&cfg);
    apply_env(&cfg);
    const char *bad = NULL;
    if (!usable_signal(cfg.suspend_signal))
        bad = "suspend_signal (MGC_SIG_SUSPEND)";
    else if (!usable_signal(cfg.restart_signal))
        bad = "restart_signal (MGC_SIG_RESTART)";
    else if (cfg.mark_workers < 0 || cfg.mark_workers > 1024)
        bad = "mark_workers (MGC_MARK_WORKERS): 0 for the default, or 1 to 1024";
    if (bad) {
        mgc_warn("gc_init: gc_config.%s has a value that cannot be used (signals: 1 to 31 or "
                 "%d to %d, not SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL or SIGFPE; 32 to %d "
                 "belong to the C library); fix that field", bad, SIGRTMIN, SIGRTMAX,
                 SIGRTMIN - 1);
        pthread_mutex_unlock(&init_lock);
        return GC_EINVAL;
    }
    if (cfg.suspend_signal == cfg.restart_signal) {
        mgc_warn("gc_init: suspend and restart signals must differ (both %d); pass two "
                 "different signals in gc_config or MGC_SIG_SUSPEND/MGC_SIG_RESTART",
                 cfg.suspend_signal);
        pthread_mutex_unlock(&init_lock);
        return GC_EINVAL;
    }
    mgc_cfg.verbose = cfg.verbose;
    mgc_cfg.stw = cfg.stw;
    mgc_cfg.checkmark = cfg.checkmark;
    mgc_cfg.clobber = cfg.clobber;
    mgc_cfg.torture = cfg.torture;
    mgc_cfg.manual_finalizers = cfg.manual_finalizers;
    /* MGC_VERIFY=1 (default in MGC_DEBUG builds): the heap verifier after
     * every cycle.  An operator's switch, like MGC_SCAVENGE. */
#ifdef MGC_DEBUG
    mgc_cfg.verify = 1;
#endif
    env_int("MGC_VERIFY", &mgc_cfg.verify, 0, 1);
    mgc_alloc_debug = cfg.torture != 0;
    long ncpu = mgc_ncpu();
    mgc_cfg.mark_workers = cfg.mark_workers > 0 ? cfg.mark_workers : (ncpu >= 8 ? (int)(ncpu / 4) : 1);
    /* 25% of the machine, shared by the workers, each at most one CPU. */
    mgc_cfg.worker_util = 0.25 * (double)ncpu / mgc_cfg.mark_workers;
    if (mgc_cfg.worker_util > 1.0) mgc_cfg.worker_util = 1.0;
    if (mgc_cfg.worker_util < 0.05) mgc_cfg.worker_util = 0.05;
    mgc_trace_init();
    int rc = mgc_heap_init();
    mgc_bc_init(cfg.barriercheck);
    if (rc == GC_OK) rc = mgc_threads_init();
    if (rc == GC_OK) rc = mgc_stw_init(cfg.suspend_signal, cfg.restart_signal);
    mgc_roots_init();
    mgc_pacer_init(cfg.percent, cfg.memory_limit);
    atomic_store(&mgc_max_heap, cfg.max_heap);
    if (rc == GC_OK) rc = mgc_gc_init();
    /* After every module has named its own tables (mgc_static_exclude);
     * the coordinator reads the snapshot only once a cycle is asked for,
     * after gc_init returns. */
    if (rc == GC_OK) mgc_static_roots_init(cfg.static_roots);
    if (rc == GC_OK) mgc_fork_init();
    /* MGC_SCAVENGE=0: no background release (gc_free_os_memory still
     * works).  No gc_config field: an operator's switch, not a program's. */
    int scavenge = 1;
    env_int("MGC_SCAVENGE", &scavenge, 0, 1);
    if (rc == GC_OK && scavenge && mgc_scavenger_start() != GC_OK)
        mgc_warn("gc_init: could not start the scavenger thread; free memory is returned "
                 "to the OS only by gc_free_os_memory()");
    if (rc != GC_OK) {
        mgc_warn("gc_init: failed: %s", gc_strerror(rc));
        pthread_mutex_unlock(&init_lock);
        return rc;
    }
    atomic_store_explicit(&mgc_initialized, 1, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    return mgc_register_caller("gc_init");
}
