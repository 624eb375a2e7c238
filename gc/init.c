/*
 * init.c -- starting mgc: configuration, environment, module start order.
 *
 * gc_init() runs once (guarded by a pthread_once-like flag); later calls
 * only register the calling thread.  Settings come from the gc_config the
 * program passes (or the defaults), then MGC_* environment variables
 * override them, so an operator can tune a deployed binary.  A config that
 * cannot be used is refused with a message naming the field; the settings
 * every module reads afterwards are in mgc_cfg (runtime/base.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "gc/gc.h"
#include "gc/barrier.h"

static mgc_mutex init_lock = MGC_MUTEX_INIT(INIT);

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
    cfg->handshake = MGC_HANDSHAKE_DEFAULT;
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
    env_int("MGC_HANDSHAKE", &cfg->handshake, 0, 1);
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

/* ** The config's problem as a message fragment, or NULL if it can be used. */
static const char *config_problem(const gc_config *cfg) {
    if (!usable_signal(cfg->suspend_signal)) return "suspend_signal (MGC_SIG_SUSPEND)";
    if (!usable_signal(cfg->restart_signal)) return "restart_signal (MGC_SIG_RESTART)";
    if (cfg->mark_workers < 0 || cfg->mark_workers > 1024)
        return "mark_workers (MGC_MARK_WORKERS): 0 for the default, or 1 to 1024";
    return NULL;
}

/* ** Check the config, with the message naming the field to fix. */
static bool config_ok(const gc_config *cfg) {
    const char *bad = config_problem(cfg);
    if (bad) {
        mgc_warn("gc_init: gc_config.%s has a value that cannot be used (signals: 1 to 31 or "
                 "%d to %d, not SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL or SIGFPE; 32 to %d "
                 "belong to the C library); fix that field", bad, SIGRTMIN, SIGRTMAX,
                 SIGRTMIN - 1);
        return false;
    }
    if (cfg->suspend_signal == cfg->restart_signal) {
        mgc_warn("gc_init: suspend and restart signals must differ (both %d); pass two "
                 "different signals in gc_config or MGC_SIG_SUSPEND/MGC_SIG_RESTART",
                 cfg->suspend_signal);
        return false;
    }
    return true;
}

/* ** The settings every module reads (mgc_cfg), from a checked config. */
static void set_settings(const gc_config *cfg) {
    mgc_cfg.verbose = cfg->verbose;
    mgc_cfg.stw = cfg->stw;
    /* MGC_STW marks in one pause: there is nothing to hand shake. */
    mgc_cfg.handshake = cfg->handshake && !cfg->stw;
    mgc_cfg.checkmark = cfg->checkmark;
    mgc_cfg.clobber = cfg->clobber;
    mgc_cfg.torture = cfg->torture;
    mgc_cfg.manual_finalizers = cfg->manual_finalizers;
    /* MGC_VERIFY=1 (default in MGC_DEBUG builds): the heap verifier after
     * every cycle.  An operator's switch, like MGC_SCAVENGE. */
#ifdef MGC_DEBUG
    mgc_cfg.verify = 1;
#endif
    env_int("MGC_VERIFY", &mgc_cfg.verify, 0, 1);
    /* Span entries for small objects (gc/mark.c), on unless MGC_SPANMARK=0:
     * the mark of a heap laid out in pointer order takes about 0.6 of the
     * object-at-a-time loop's time; depth-first trees come out even, and a
     * heap in random order loses, within issue 17's goal (docs/performance.md,
     * "Span entries by default"). */
    mgc_cfg.span_mark = 1;
    env_int("MGC_SPANMARK", &mgc_cfg.span_mark, 0, 1);
    mgc_bitmap_init(mgc_cfg.span_mark); /* before the first span: its bitmaps' size */
    mgc_alloc_debug = cfg->torture != 0;
    long ncpu = mgc_ncpu();
    mgc_cfg.mark_workers = cfg->mark_workers > 0 ? cfg->mark_workers : (ncpu >= 8 ? (int)(ncpu / 4) : 1);
}

/* ** Start every module, in dependency order; GC_OK or the first error. */
static int start_modules(const gc_config *cfg) {
    mgc_stats_init();
    mgc_trace_init();
    int rc = mgc_heap_init();
    mgc_bc_init(cfg->barriercheck);
    if (rc == GC_OK) rc = mgc_threads_init();
    if (rc == GC_OK) rc = mgc_stw_init(cfg->suspend_signal, cfg->restart_signal);
    mgc_pacer_init(cfg->percent, cfg->memory_limit);
    atomic_store(&mgc_max_heap, cfg->max_heap);
    if (rc == GC_OK) rc = mgc_gc_init();
    /* After every module has named its own tables (mgc_static_exclude);
     * the coordinator reads the snapshot only once a cycle is asked for,
     * after gc_init returns. */
    if (rc == GC_OK) mgc_static_roots_init(cfg->static_roots);
    if (rc == GC_OK) mgc_fork_init();
    /* MGC_SCAVENGE=0: no background release (gc_free_os_memory still
     * works).  No gc_config field: an operator's switch, not a program's. */
    int scavenge = 1;
    env_int("MGC_SCAVENGE", &scavenge, 0, 1);
    if (rc == GC_OK && scavenge && mgc_scavenger_start() != GC_OK)
        mgc_warn("gc_init: could not start the scavenger thread; free memory is returned "
                 "to the OS only by gc_free_os_memory()");
    return rc;
}

MGC_API int gc_init(const gc_config *user) {
    /* mgc_me: inside gc_do_blocking's fn the thread is registered still. */
    if (atomic_load_explicit(&mgc_initialized, memory_order_acquire))
        return mgc_me() ? GC_OK : mgc_register_caller("gc_init");
    mgc_mutex_lock(&init_lock);
    if (atomic_load(&mgc_initialized)) {
        mgc_mutex_unlock(&init_lock);
        return mgc_me() ? GC_OK : mgc_register_caller("gc_init");
    }
    gc_config cfg;
    if (user) cfg = *user;
    else gc_config_default(&cfg);
    apply_env(&cfg);
    if (!config_ok(&cfg)) {
        mgc_mutex_unlock(&init_lock);
        return GC_EINVAL;
    }
    set_settings(&cfg);
    int rc = start_modules(&cfg);
    if (rc != GC_OK) {
        mgc_warn("gc_init: failed: %s", gc_strerror(rc));
        mgc_mutex_unlock(&init_lock);
        return rc;
    }
    atomic_store_explicit(&mgc_initialized, 1, memory_order_release);
    mgc_mutex_unlock(&init_lock);
    return mgc_register_caller("gc_init");
}
