/*
 * base.h -- what every part of mgc uses, whatever its layer.
 *
 * mgc has two layers: the allocator (runtime/, declared in runtime/heap.h)
 * and the collector (gc/, declared in gc/gc.h), which sits on top of it.
 * Below both is this header, implemented by runtime/base.c: the settings,
 * messages (warn, throw, print), clocks and the library's own daemon
 * threads.  It depends on nothing else in mgc, so either layer may use it
 * without reaching into the other.
 *
 * Nothing here is exported from libmgc: everything is hidden by
 * -fvisibility=hidden, and the names carry an mgc_ prefix so a static link
 * cannot collide with the host program.
 */
#ifndef MGC_BASE_H
#define MGC_BASE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "mgc.h"
#include "runtime/lockrank.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ** Bits set in x.  __builtin_popcountll is a call into libgcc on the
 * baseline x86-64 this library is built for (no POPCNT instruction
 * assumed): 53 M of GCBench's 3.2 G instructions went there.  This is
 * the same count in a dozen inline instructions. */
static inline unsigned mgc_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}
#define HIDDEN __attribute__((visibility("hidden")))

/* ---- settings (filled once by gc_init, read-only after) ------------------ */

typedef struct mgc_settings {
    int verbose;
    int stw;          /* MGC_STW: 1 = mark with the world stopped, 2 = sweep too */
    int checkmark;    /* MGC_CHECKMARK */
    int clobber;      /* MGC_CLOBBER */
    uint64_t torture; /* MGC_TORTURE: a cycle every N allocations (0 = off) */
    int mark_workers; /* background mark worker threads */
    int manual_finalizers; /* finalizers wait for gc_run_finalizers() */
    int verify;            /* MGC_VERIFY: verify the heap after every cycle */
    int handshake;         /* MGC_HANDSHAKE: per-thread handshakes (gc/handshake.c) */
    int span_mark;         /* MGC_SPANMARK: span entries for small objects (gc/mark.c) */
} mgc_settings;
/* The handshake mode is the default: it passes what the stop-the-world
 * mode passes and no thread waits for another (docs/performance.md,
 * "Threads outnumbering cores"). */
#define MGC_HANDSHAKE_DEFAULT 1
extern HIDDEN mgc_settings mgc_cfg;
/* Set (release) when gc_init has finished; the library's entry points check
 * it (acquire) before they touch anything else. */
extern HIDDEN _Atomic int mgc_initialized;

/* ---- messages ------------------------------------------------------------ */

/* One line "mgc: ..." to the warn handler (or stderr): misuse and trouble. */
HIDDEN void mgc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mgc_warn for a stop that cannot finish: also written to stderr at once
 * when a warn handler would only get it after the restart. */
HIDDEN void mgc_warn_stalled(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line on stderr by write(2), no stdio lock: safe with threads stopped. */
HIDDEN void mgc_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Deliver the warnings queued while this or another thread had threads
 * stopped (the warn handler is never called then).  No-op while stopping. */
HIDDEN void mgc_warn_flush(void);
/* Nonzero while this thread has the world or one thread stopped (set by
 * gc/stw.c): messages are queued instead of calling the program's handler. */
extern HIDDEN __thread int mgc_stopping __attribute__((tls_model("initial-exec")));
/* An internal invariant is broken: report and abort rather than risk
 * freeing a live object. */
HIDDEN void mgc_throw(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- clocks and the machine ---------------------------------------------- */

HIDDEN uint64_t mgc_nanotime(void);       /* CLOCK_MONOTONIC, ns */
HIDDEN uint64_t mgc_thread_cputime(void); /* this thread's CPU time, ns */
HIDDEN long mgc_ncpu(void);               /* online CPUs, at least 1 */

/* ** The CLOCK_REALTIME time ns from now: the deadline of a
 * pthread_cond_timedwait (whose condition variables use that clock). */
HIDDEN struct timespec mgc_deadline(uint64_t ns);
/* Sleep ns, restarting after signals (the stop signals interrupt it). */
HIDDEN void mgc_sleep_ns(uint64_t ns);

/* ---- the library's own threads ------------------------------------------- */

/* Start a detached daemon (coordinator, mark worker, scavenger, ...) with
 * every signal blocked; GC_OK or GC_ESYS. */
HIDDEN int mgc_start_daemon(const char *name, void *(*fn)(void *), void *arg);
/* True on a thread mgc_start_daemon made: callbacks run there, and a call
 * that would wait for the collector must not. */
HIDDEN bool mgc_on_library_thread(void);

#endif /* MGC_BASE_H */
