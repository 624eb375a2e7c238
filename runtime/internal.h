/*
 * internal.h -- what the parts of mgc say to each other.
 *
 * Nothing here is exported from libmgc: everything is hidden by
 * -fvisibility=hidden, and the names carry an mgc_ prefix so a static link
 * cannot collide with the host program.
 *
 * The one rule that ties runtime/ and gc/ together is the no-preempt
 * section.  A thread may be stopped by a signal at any instruction, except
 * between mgc_nopreempt_begin() and mgc_nopreempt_end(): there the stop is
 * deferred until the section ends.  Everything that leaves shared metadata
 * half-updated (the allocation fast path, refills, sweeping a span, holding
 * a runtime lock) runs inside one, so a stopped world is always a
 * consistent one.  The converse rule: never block waiting for the collector
 * (the world lock) inside a section, or the collector waits for us forever.
 */
#ifndef MGC_INTERNAL_H
#define MGC_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include "mgc.h"
#include "runtime/types.h"

/* ---- globals ------------------------------------------------------------ */

extern HIDDEN mheap mgc_heap;
extern HIDDEN mspan mgc_empty_span;
extern HIDDEN __thread gc_thread *mgc_self __attribute__((tls_model("initial-exec")));
extern HIDDEN _Atomic(heap_arena *) *mgc_arena_index;
extern HIDDEN _Atomic uintptr_t mgc_heap_lo, mgc_heap_hi;
extern HIDDEN _Atomic int mgc_initialized;

/* Heap accounting (runtime/mheap.c), all atomic. */
typedef struct mgc_heap_stats {
    _Atomic uint64_t heap_sys;    /* arena bytes mapped */
    _Atomic uint64_t heap_inuse;  /* bytes in in-use spans */
    _Atomic uint64_t meta_sys;    /* metadata bytes mapped */
    _Atomic uint64_t heap_released; /* bytes of free spans marked released (runtime/scavenge.c) */
    _Atomic uint64_t heap_live;   /* pacing: marked + allocated since (span granularity) */
    _Atomic uint64_t freed_bytes; /* cumulative, by sweeping */
    _Atomic uint64_t nfree;       /* cumulative objects freed */
    _Atomic uint64_t nalloc_dead; /* counters of unregistered threads */
    _Atomic uint64_t alloc_bytes_dead;
    _Atomic uint64_t ntiny_dead;
} mgc_heap_stats;
extern HIDDEN mgc_heap_stats mgc_hstats;

/* ---- no-preempt sections ---------------------------------------------- */

HIDDEN void mgc_nopreempt_slow(gc_thread *t);

/* ** Enter a section in which this thread must not be stopped.  A compiler
 * barrier is enough: the only other reader is this thread's signal handler. */
static inline void mgc_nopreempt_begin(gc_thread *t) {
    t->nopreempt++;
    atomic_signal_fence(memory_order_seq_cst);
}

/* ** Leave it; take a deferred stop or a requested collection now. */
static inline void mgc_nopreempt_end(gc_thread *t) {
    atomic_signal_fence(memory_order_seq_cst);
    if (--t->nopreempt == 0 && unlikely(t->suspend_pending | t->want_gc | t->want_assist))
        mgc_nopreempt_slow(t);
}

/* Runtime locks: held only inside a no-preempt section, so a stopped thread
 * never holds one and the collector can take any of them.  t may be NULL
 * for an unregistered thread (which is never stopped). */
static inline void mgc_lock(gc_thread *t, pthread_mutex_t *m) {
    if (t) mgc_nopreempt_begin(t);
    pthread_mutex_lock(m);
}
static inline void mgc_unlock(gc_thread *t, pthread_mutex_t *m) {
    pthread_mutex_unlock(m);
    if (t) mgc_nopreempt_end(t);
}

/* ---- the hard heap limit (runtime/malloc.c) ----------------------------- */

extern HIDDEN _Atomic size_t mgc_max_heap; /* 0: none */

/* ** Would bytes more of in-use spans pass the hard limit?  Then the
 * allocation fails softly: t->over_limit tells mallocgc to collect and
 * retry before it gives up. */
static inline bool mgc_over_max_heap(gc_thread *t, size_t bytes) {
    size_t m = atomic_load_explicit(&mgc_max_heap, memory_order_relaxed);
    if (likely(m == 0)) return false;
    if (atomic_load_explicit(&mgc_hstats.heap_inuse, memory_order_relaxed) + bytes <= m) return false;
    if (t) t->over_limit = 1;
    return true;
}

/* ---- OS memory (runtime/os_linux.c) ------------------------------------ */

HIDDEN void *mgc_sys_alloc(size_t n, _Atomic uint64_t *stat);
HIDDEN void *mgc_sys_reserve_arena(size_t n);
HIDDEN void mgc_sys_free(void *p, size_t n, _Atomic uint64_t *stat);
HIDDEN bool mgc_sys_release(void *p, size_t n); /* drop the pages; they read as zero after */

/* ---- fixed-size metadata (runtime/fixalloc.c) -------------------------- */

HIDDEN mspan *mgc_span_struct_alloc(void);
HIDDEN void mgc_span_struct_free(mspan *s);
HIDDEN uint64_t *mgc_bitmap_alloc(unsigned words);
HIDDEN void mgc_bitmap_free(uint64_t *b, unsigned words);
#define MGC_PTRBITS_WORDS_PER_PAGE (MGC_PAGE_SIZE / 8 / 64) /* 16: a bit per 8-byte word */
#define MGC_MAX_SMALL_NPAGES 16 /* checked against the size classes at init */
HIDDEN uint64_t *mgc_ptrbits_alloc(size_t npages);
HIDDEN void mgc_ptrbits_free(uint64_t *b, size_t npages);
/* runtime/verify.c: world stopped, heap lock held, between cycles */
HIDDEN uint64_t mgc_verify_heap_stw(void);

/* ---- typed objects (runtime/typed.c, runtime/malloc.c) ------------------ */

HIDDEN void mgc_typed_write_bits(mspan *s, uintptr_t v, const gc_type *type, size_t count);
HIDDEN void *mgc_alloc_typed(const gc_type *type, size_t size, const char *fn);
HIDDEN gc_thread *mgc_thread_struct_alloc(void);
HIDDEN void mgc_thread_struct_free(gc_thread *t);

/* ---- arenas and span lookup (runtime/arena.c) --------------------------- */

HIDDEN int mgc_arena_init(void);
HIDDEN heap_arena *mgc_arena_register(uintptr_t base, size_t size);
/* Every in-use span, with the world stopped. */
HIDDEN void mgc_heap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg);

/* ** The span whose page holds p, or NULL.  Two loads after a range check:
 * the test every conservative word goes through.  The result may be stale
 * for pages not in use: callers check state and bounds. */
static inline mspan *mgc_span_of(uintptr_t p) {
    if (p < atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed) ||
        p >= atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed))
        return NULL;
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[p >> MGC_ARENA_SHIFT],
                                         memory_order_acquire);
    if (!a) return NULL;
    return __atomic_load_n(&a->spans[(p >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)],
                           __ATOMIC_ACQUIRE);
}

/* ** The in-use span holding p in one of its slots, or NULL.  The span
 * struct read may be a stale one being recycled for another span (span
 * structs are reused, never unmapped): state, base and limit are checked
 * for exactly that, so the read is racy by design, and under
 * ThreadSanitizer this function is left uninstrumented (in other builds
 * the attribute is empty and it inlines as before). */
#if defined(__SANITIZE_THREAD__)
#define MGC_RACY_READ_FN static __attribute__((no_sanitize("thread"), noinline, unused))
#else
#define MGC_RACY_READ_FN static inline
#endif
MGC_RACY_READ_FN mspan *mgc_span_of_heap(uintptr_t p) {
    mspan *s = mgc_span_of(p);
    if (!s || atomic_load_explicit(&s->state, memory_order_acquire) != SPAN_INUSE ||
        p < s->base || p >= s->limit)
        return NULL;
    return s;
}

static inline void mgc_arena_set_span(uintptr_t page_addr, mspan *s) {
    heap_arena *a = atomic_load_explicit(&mgc_arena_index[page_addr >> MGC_ARENA_SHIFT],
                                         memory_order_relaxed);
    __atomic_store_n(&a->spans[(page_addr >> MGC_PAGE_SHIFT) & (MGC_PAGES_PER_ARENA - 1)], s,
                     __ATOMIC_RELEASE);
}

/* ---- spans (runtime/mspan.c) -------------------------------------------- */

/* ** Slot index of an address inside span s (no division: a multiply). */
static inline unsigned mgc_span_obj_index(const mspan *s, uintptr_t p) {
    if (s->nelems == 1) return 0;
    return (unsigned)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
}
static inline bool mgc_bit_get(const uint64_t *bits, unsigned i) {
    return (bits[i / 64] >> (i % 64)) & 1;
}
static inline void mgc_bit_set(uint64_t *bits, unsigned i) {
    bits[i / 64] |= (uint64_t)1 << (i % 64);
}
/* ** Allocated slot?  Slots below freeindex were handed out by the cache;
 * above it allocBits (the survivors of the last sweep) say. */
static inline bool mgc_span_is_allocated(const mspan *s, unsigned i) {
    return i < s->freeindex || mgc_bit_get(s->allocBits, i);
}
/* ** freeindex is written by its owner and read racily by markers and by
 * gc_base: relaxed atomic stores (plain moves on x86), so the reads are
 * well defined and ThreadSanitizer agrees. */
static inline void mgc_span_set_freeindex(mspan *s, unsigned v) {
    __atomic_store_n(&s->freeindex, (uint16_t)v, __ATOMIC_RELAXED);
}
/* ** The same, read while the owning mcache may be allocating from s (the
 * concurrent marker).  freeindex only grows during marking, and every slot
 * allocated before the mark began is below the value published by the
 * mark-setup stop; a slot allocated since is allocated black anyway. */
static inline bool mgc_span_is_allocated_racy(const mspan *s, unsigned i) {
    return i < __atomic_load_n(&s->freeindex, __ATOMIC_RELAXED) || mgc_bit_get(s->allocBits, i);
}
/* ** Set mark bit i; true if this call set it (markers race). */
static inline bool mgc_mark_bit_set_atomic(mspan *s, unsigned i) {
    uint64_t *word = &s->gcmarkBits[i / 64];
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit) return false;
    return !(__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit);
}
static inline unsigned mgc_span_bitmap_words(const mspan *s) {
    return (s->nelems + 63u) / 64u;
}

HIDDEN void mgc_span_init_objects(mspan *s, int spanclass);
HIDDEN void mgc_span_refill_alloc_cache(mspan *s);
HIDDEN unsigned mgc_span_next_free_index(mspan *s);
HIDDEN unsigned mgc_span_count_marked(const mspan *s);
HIDDEN void mgc_span_premark_free(mspan *s);
HIDDEN uint64_t mgc_span_unmark_free(mspan *s);

/* ---- page heap (runtime/mheap.c) ----------------------------------------- */

HIDDEN int mgc_heap_init(void);
HIDDEN mspan *mgc_heap_alloc(gc_thread *t, size_t npages, int spanclass);
HIDDEN void mgc_heap_free(gc_thread *t, mspan *s);
/* Release one chunk of a free run to the OS (mheap lock held); all: any
 * run, else only runs free since before the last scavenger pass.  Returns
 * the bytes released, 0 if no run qualifies. */
HIDDEN size_t mgc_heap_release_locked(bool all);

/* ---- scavenger (runtime/scavenge.c) ---------------------------------------- */

HIDDEN int mgc_scavenger_start(void);

/* ---- central lists (runtime/mcentral.c) ----------------------------------- */

HIDDEN void mgc_central_init(mcentral *c, int spanclass);
HIDDEN mspan *mgc_central_cache_span(gc_thread *t, mcentral *c);
HIDDEN void mgc_central_uncache_span(gc_thread *t, mcentral *c, mspan *s);
HIDDEN void mgc_central_push(gc_thread *t, mcentral *c, mspan *s, bool full);
HIDDEN mspan *mgc_central_pop_unswept(gc_thread *t, mcentral *c);
HIDDEN bool mgc_central_has_unswept(int spanclass, uint32_t sg);
HIDDEN int mgc_central_next_unswept(int from, uint32_t sg); /* -1: none */
HIDDEN void mgc_span_list_push(span_list *l, mspan *s);
HIDDEN void mgc_span_list_remove(span_list *l, mspan *s);
HIDDEN mspan *mgc_span_list_pop(span_list *l);

/* ---- per-thread caches (runtime/mcache.c) ---------------------------------- */

HIDDEN void mgc_cache_init(mcache *c);
HIDDEN bool mgc_cache_refill(gc_thread *t, int spanclass);
HIDDEN void mgc_cache_release_all(gc_thread *t, mcache *c);

/* ---- allocation (runtime/malloc.c) --------------------------------------- */

HIDDEN void mgc_call_oom(size_t n);

/* ---- the collector (gc/) --------------------------------------------------- */

HIDDEN void mgc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mgc_warn for a stop that cannot finish: also written to stderr at once
 * when a warn handler would only get it after the restart. */
HIDDEN void mgc_warn_stalled(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line on stderr by write(2), no stdio lock: safe with threads stopped. */
HIDDEN void mgc_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Deliver the warnings queued while this or another thread had threads
 * stopped (the warn handler is never called then).  No-op while stopping. */
HIDDEN void mgc_warn_flush(void);
/* Nonzero while this thread has the world or one thread stopped (gc/stw.c). */
extern HIDDEN __thread int mgc_stopping __attribute__((tls_model("initial-exec")));
/* An internal invariant is broken: report and abort rather than risk
 * freeing a live object. */
HIDDEN void mgc_throw(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
HIDDEN uint64_t mgc_nanotime(void);
HIDDEN uint64_t mgc_thread_cputime(void);

/* threads and stop-the-world (gc/thread.c, gc/stw.c) */
HIDDEN int mgc_threads_init(void);
HIDDEN int mgc_thread_register_self(void);
HIDDEN void mgc_threads_lock(void);
HIDDEN void mgc_threads_unlock(void);
HIDDEN gc_thread *mgc_caller(const char *call, const char *instead); /* NULL + message */
HIDDEN bool mgc_threads_trylock(void);
extern HIDDEN gc_thread *mgc_all_threads; /* threads lock */
extern HIDDEN uint64_t mgc_num_threads;   /* threads lock */
HIDDEN int mgc_stw_init(int suspend_sig, int restart_sig);
HIDDEN void mgc_stop_the_world(void);
HIDDEN void mgc_start_the_world(void);
HIDDEN bool mgc_stop_thread(gc_thread *t);
HIDDEN void mgc_start_thread(gc_thread *t);
HIDDEN void mgc_suspend_self(gc_thread *t);
HIDDEN void *mgc_parked(gc_thread *t, void *(*fn)(void *), void *arg); /* not cancellable */
HIDDEN void *mgc_park_call(gc_thread *t, void *(*fn)(void *), void *arg); /* cancellable */
HIDDEN void mgc_unpark(gc_thread *t);
/* The calling thread's gc_thread, also while it runs gc_do_blocking's fn
 * (where mgc_self is NULL: the thread counts as unregistered there). */
HIDDEN gc_thread *mgc_me(void);
HIDDEN bool mgc_in_do_blocking(void);
HIDDEN bool mgc_on_library_thread(void); /* coordinator, workers, ...: callbacks run there */
HIDDEN int mgc_register_caller(const char *call); /* unblocks the stop signals first */
HIDDEN void mgc_check_stop_signals(const char *call);
HIDDEN void mgc_threads_lock_parked(gc_thread *t);
HIDDEN int mgc_start_daemon(const char *name, void *(*fn)(void *), void *arg);
HIDDEN uintptr_t mgc_current_sp(void);
HIDDEN void mgc_unblock_stop_signals(void); /* a library thread about to register */

/* roots (gc/roots.c) */
HIDDEN void mgc_roots_init(void);
typedef void (*mgc_range_fn)(uintptr_t lo, uintptr_t hi, void *arg);
HIDDEN uint64_t mgc_roots_each(mgc_range_fn fn, void *arg); /* STW; returns bytes */
HIDDEN void mgc_roots_mark_begin(void);              /* STW */
HIDDEN bool mgc_roots_scan_chunk(mgc_range_fn fn, void *arg); /* false: none left */
HIDDEN bool mgc_roots_pending(void);
HIDDEN uint64_t mgc_roots_bytes(void);
HIDDEN uint64_t mgc_roots_rescan(mgc_range_fn fn, void *arg); /* STW: plain-store ranges */
HIDDEN bool mgc_roots_need_rescan(void);
HIDDEN void *mgc_roots_add_static(uintptr_t lo, uintptr_t hi); /* NULL: no memory */
HIDDEN void mgc_roots_remove_static(void *node);

/* static data as roots (gc/staticroots.c); refresh and current: coordinator */
HIDDEN void mgc_static_roots_init(int on);       /* gc_init */
HIDDEN void mgc_static_exclude(const void *p, size_t n); /* mgc's own tables; module init */
HIDDEN void mgc_static_roots_refresh(void);      /* world running: never the loader while stopped */
HIDDEN bool mgc_static_roots_current(void);      /* world stopped: nothing loaded since? */
HIDDEN uint64_t mgc_static_roots_bytes(void);
HIDDEN void mgc_static_scan(uintptr_t lo, uintptr_t hi, mgc_range_fn fn, void *arg); /* roots_lock */

/* thread-owned roots (gc/threadroots.c): read only while t is stopped */
HIDDEN uint64_t mgc_thread_roots_scan(gc_thread *t, uintptr_t sp, mgc_range_fn fn, void *arg);
HIDDEN void mgc_thread_roots_note_sp(gc_thread *t, uintptr_t sp); /* t itself, at a stop */
HIDDEN void mgc_thread_roots_drop(gc_thread *t); /* t off the thread list */
HIDDEN void mgc_thread_roots_warn_deferred(void); /* with no thread stopped */

/* finalizers and cleanups (gc/finalizer.c): a mark job like the roots */
HIDDEN void mgc_fin_mark_begin(void);         /* STW */
HIDDEN bool mgc_fin_mark_some(gcwork *w);     /* false: nothing left */
HIDDEN bool mgc_fin_pending(void);
HIDDEN void mgc_fin_scan_all(gcwork *w);      /* STW, checkmark */
HIDDEN void mgc_fin_cycle_end(void);          /* coordinator, after the sweep */

/* marking (gc/mark.c) */
/* Nonzero from mark setup to mark termination: the write barrier shades
 * and allocation marks new objects.  Changed only with the world stopped;
 * read inside no-preempt sections, so a reader's whole operation falls on
 * one side of a change. */
extern HIDDEN _Atomic int mgc_marking;
HIDDEN void mgc_grey(gcwork *w, uintptr_t p);
HIDDEN void mgc_scan_contents(gcwork *w, uintptr_t obj); /* obj's words, obj not marked */
HIDDEN void mgc_mark_setup(void);          /* STW */
HIDDEN void mgc_mark_everything_stw(gcwork *w); /* STW: roots, stacks, drain */
HIDDEN void mgc_mark_rescan_stw(gcwork *w);     /* STW: plain-store roots, stacks, drain */
HIDDEN bool mgc_mark_some(gcwork *w, int64_t budget, bool stacks); /* one slice; false if no work found */
HIDDEN bool mgc_mark_work_left(void);
HIDDEN bool mgc_mark_stacks_pending_locked(void);
HIDDEN void mgc_mark_flush_thread(gc_thread *t); /* STW or self: gcw to the pool */
HIDDEN uint64_t mgc_mark_finish(uint64_t *root_bytes); /* STW: total marked */
HIDDEN uint64_t mgc_checkmark(void);
HIDDEN unsigned mgc_mark_rescan_dropped(gcwork *w); /* STW, after the mark */
HIDDEN uint64_t mgc_mark_stack_bytes(void); /* this cycle's stack bytes scanned */          /* STW */
HIDDEN void mgc_assist(gc_thread *t);
HIDDEN void mgc_barrier_lock_unregistered(void);
HIDDEN void mgc_barrier_unlock_unregistered(void);
HIDDEN void mgc_gcwork_account(gcwork *w); /* fold counters into the cycle totals */
HIDDEN void mgc_mark_add_black(uint64_t bytes);
extern HIDDEN _Atomic long mgc_mark_nbusy;
/* Workers waiting for work (gc/markworker.c): markers share theirs. */
extern HIDDEN _Atomic int mgc_workers_hungry;
HIDDEN void mgc_workers_wake(void);

/* sweeping (gc/sweep.c) */
HIDDEN bool mgc_sweep_span(gc_thread *t, mspan *s, bool preserve);
HIDDEN bool mgc_span_claim_for_sweep(mspan *s, uint32_t sg);
HIDDEN void mgc_sweep_all(gc_thread *t);
HIDDEN bool mgc_sweep_one(gc_thread *t); /* false when nothing is left */
/* gc/special.c: weak refs, finalizers, cleanups of unmarked objects;
 * returns the objects finalizers resurrect. */
HIDDEN unsigned mgc_specials_sweep(mspan *s);
extern HIDDEN _Atomic int mgc_sweep_done;

/* tracing and pause statistics (gc/trace.c) */
#define MGC_TID_COORDINATOR 100000 /* trace lanes of library threads; mutators use t->id */
#define MGC_TID_WORKER0 100001
#define MGC_EVENT_RING 16384        /* events gc_get_events keeps */
typedef struct mgc_cycle_info {
    uint64_t cycle, start;          /* start: nanotime the cycle began */
    uint64_t setup_ns, mark_ns, term_ns; /* setup pause, concurrent mark wall, termination pauses */
    uint64_t heap_before, heap_peak, heap_marked, heap_goal, stack_bytes, root_bytes;
    int forced, retries;
} mgc_cycle_info;
extern HIDDEN int mgc_trace_stderr, mgc_trace_file_on;
HIDDEN void mgc_trace_init(void);
HIDDEN void mgc_trace_thread_name(int tid, const char *name);
HIDDEN void mgc_trace_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                            uint64_t stop_ns, int retries);
HIDDEN void mgc_trace_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_mark_start(uint64_t cycle, uint64_t at);
HIDDEN void mgc_trace_worker(int worker, uint64_t start, uint64_t dur, uint64_t cpu);
HIDDEN void mgc_trace_assist(int tid, uint64_t start, uint64_t dur, uint64_t cpu);
HIDDEN void mgc_trace_stack(int tid, uint64_t start, uint64_t dur);
HIDDEN void mgc_trace_heap(uint64_t at, uint64_t live);
HIDDEN void mgc_trace_cycle(const mgc_cycle_info *c);

/* the cycle and pacing (gc/mgc.c, gc/pacer.c) */
HIDDEN void mgc_gc_start(gc_thread *t, bool forced);
HIDDEN void mgc_gc_torture(gc_thread *t);
HIDDEN void mgc_record_event(int kind, int thread, uint64_t start_ns, uint64_t dur_ns);
HIDDEN int mgc_gc_init(void);
extern HIDDEN _Atomic uint64_t mgc_num_gc;
extern HIDDEN _Atomic uint64_t mgc_heap_goal;    /* UINT64_MAX when off */
extern HIDDEN _Atomic uint64_t mgc_heap_trigger; /* UINT64_MAX when off */
HIDDEN void mgc_pacer_init(int percent, uint64_t memlimit);
HIDDEN void mgc_pacer_start_cycle(uint64_t heap_live);
HIDDEN void mgc_pacer_end_cycle(uint64_t marked, uint64_t root_bytes, uint64_t peak_live);
HIDDEN int mgc_pacer_set_percent(int percent);
HIDDEN uint64_t mgc_pacer_set_memlimit(uint64_t limit);
HIDDEN double mgc_pacer_assist_ratio(void);
HIDDEN void mgc_pacer_worker_scanned(uint64_t bytes, uint64_t ns);
extern HIDDEN _Atomic int64_t mgc_bg_credit;
HIDDEN long mgc_ncpu(void);
static inline bool mgc_pacer_should_trigger(void) {
    return atomic_load_explicit(&mgc_hstats.heap_live, memory_order_relaxed) >=
           atomic_load_explicit(&mgc_heap_trigger, memory_order_relaxed);
}

/* fork (gc/fork.c and each module's part) */
HIDDEN void mgc_fork_init(void);
/* What a forked child assigns to a lock or condition variable that a thread
 * it does not have may have held or waited on. */
extern HIDDEN const pthread_mutex_t mgc_fresh_mutex;
extern HIDDEN const pthread_cond_t mgc_fresh_cond;
HIDDEN void mgc_gc_fork_hold(gc_thread *t);
HIDDEN void mgc_gc_fork_release(void);
HIDDEN void mgc_gc_fork_child(void);
HIDDEN void mgc_workers_fork_lock(void);
HIDDEN void mgc_workers_fork_unlock(void);
HIDDEN void mgc_workers_fork_child(void);
HIDDEN void mgc_roots_fork_lock(void);
HIDDEN void mgc_roots_fork_unlock(void);
HIDDEN void mgc_fix_fork_lock(void);
HIDDEN void mgc_fix_fork_unlock(void);
HIDDEN void mgc_threads_fork_child(void);
HIDDEN void mgc_trace_fork_child(void);
HIDDEN void mgc_fin_fork_child(void);
HIDDEN int mgc_fin_restart_thread(void);
HIDDEN int mgc_scavenger_fork_child(void);

/* config (gc/init.c) */
typedef struct mgc_settings {
    int verbose;
    int stw;          /* MGC_STW: 1 = mark with the world stopped, 2 = sweep too */
    int checkmark;    /* MGC_CHECKMARK */
    int clobber;      /* MGC_CLOBBER */
    uint64_t torture; /* MGC_TORTURE: a cycle every N allocations (0 = off) */
    int mark_workers; /* background mark worker threads */
    double worker_util; /* share of one CPU each worker may use while marking */
    int manual_finalizers; /* finalizers wait for gc_run_finalizers() */
    int verify;            /* MGC_VERIFY: verify the heap after every cycle */
} mgc_settings;
/* Nonzero when any allocation-path debug mode is on (one load on the fast
 * path). */
extern HIDDEN int mgc_alloc_debug;
extern HIDDEN mgc_settings mgc_cfg;

#endif /* MGC_INTERNAL_H */
