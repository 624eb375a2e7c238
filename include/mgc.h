/*
 * mgc.h -- the public API of mgc, a garbage-collected heap for C.
 *
 * mgc is a mark-sweep collector built like the Go runtime's: a size-class
 * allocator (per-thread caches, per-class central lists, a page heap) under
 * a tri-colour marker.  Objects are found conservatively: any aligned word
 * in a registered root, a registered thread's stack or registers, or a
 * scanned heap object that points into an object (its first byte or any
 * byte inside it) keeps that object alive.
 *
 * The rules a program follows:
 *
 *   1. Call gc_init() once, early, from the main thread.  It registers the
 *      calling thread.
 *   2. Every other thread that allocates or holds heap pointers calls
 *      gc_register_thread() first and gc_unregister_thread() when done.
 *      (A registered thread that exits without unregistering is
 *      unregistered for it, but its stack stops being a root then.)
 *   3. Pointers kept outside stacks and the heap -- in globals, in static
 *      tables, in memory from malloc() -- must lie in a range registered with
 *      gc_add_roots().  Thread-local (__thread) variables are not roots.
 *      (Or set gc_config.static_roots / MGC_STATIC_ROOTS=1: then every
 *      global of the program and its libraries is a root, plain stores
 *      included, at a pause cost; see gc_config below.)
 *   4. Store pointers into heap objects with gc_store(&obj->field, value):
 *      it is the write barrier that lets the collector mark while the
 *      program runs.  A plain assignment of a pointer into the heap while a
 *      collection is marking can make the collector free a live object.
 *      Stores into local variables (the stack), into the calling thread's
 *      own gc_add_thread_roots() ranges (a VM's value stack), into ranges
 *      added with gc_add_roots() (rescanned at the end of each mark) and
 *      into memory that is not a root need no barrier; ranges added with
 *      GC_ROOTS_BARRIER and another thread's thread roots do.
 *      Initialising a fresh object's fields with gc_store too is
 *      the rule (it costs a few instructions when no collection runs).
 *   5. Never hide a pointer (XOR it, store it misaligned, keep only an
 *      offset, keep it only in a gc_alloc_noscan() object): the collector
 *      cannot see it and will free the object.
 *
 * Errors: every call that can be misused prints one line on stderr (through
 * the handler set with gc_set_warn_handler()) that names the call and the
 * fix, and returns a defined result; the heap stays intact.
 *
 * How it collects: concurrently, and without stopping the world.  A cycle
 * changes phase by per-thread handshakes: each registered thread, in the
 * handler of the suspend signal (or at the end of the library call it is
 * in), turns its write barrier on, scans its own stack, flushes what its
 * barrier shaded, turns the barrier off -- each a few microseconds, each
 * on its own, so no thread ever waits for another to be scheduled (a
 * thread parked in the library or in gc_do_blocking is handled for it,
 * without a signal).  Background threads mark the heap meanwhile and the
 * sweep is concurrent too.  Threads that allocate while a cycle marks help
 * it (assists) in proportion to what they allocate.  Cycles that must
 * rescan root ranges written with plain stores (gc_add_roots without
 * GC_ROOTS_BARRIER, MGC_STATIC_ROOTS) end with one brief stop of the world
 * for that rescan.  MGC_HANDSHAKE=0 stops the world for mark setup and mark
 * termination instead (mgc's earlier mode).
 *
 * Environment variables (they override gc_config fields, so a deployed
 * program can be tuned without recompiling):
 *   MGC_PERCENT      heap growth before the next collection, in percent of the
 *                    live heap (default 100: collect when the heap doubles);
 *                    "off" disables automatic collection.
 *   MGC_MEMLIMIT     soft memory limit in bytes, with an optional K, M or G
 *                    suffix: collect more often rather than grow past it.
 *   MGC_MARK_WORKERS background mark threads (default: ncpu/4, at least 1).
 *   MGC_SIG_SUSPEND  signal number used to stop threads (default SIGPWR).
 *   MGC_SIG_RESTART  signal number used to restart them (default SIGXCPU).
 *   MGC_VERBOSE=1    one line on stderr per collection (2: also the pacer's
 *                    view; 3: also each pause's parts).
 *   MGC_FINALIZERS   "manual": finalizers and cleanups wait for
 *                    gc_run_finalizers(); "thread" (default): a finalizer
 *                    thread runs them.
 *   MGC_SCAVENGE=0   no background scavenger: free heap pages are returned
 *                    to the OS only by gc_free_os_memory() (default 1: a
 *                    thread returns pages free for over ~0.5 s, twice a
 *                    second; paused under MGC_CHECKMARK, MGC_VERIFY and
 *                    MGC_BARRIERCHECK, whose stopped-world walks of the
 *                    page table it would race).
 *   MGC_HANDSHAKE    1 (default): phases change by per-thread handshakes;
 *                    0: by stopping the world (see "How it collects").
 *   MGC_HUGEPAGES    transparent huge pages for the heap's arenas
 *                    (madvise MADV_HUGEPAGE): 1 from the start, 0 never;
 *                    default: once 32 MiB of heap is in use (a big heap
 *                    walked at random saves its TLB misses; a small one
 *                    keeps 4 KiB pages and its RSS).
 *   MGC_SPANMARK=0   mark small untyped objects one at a time, not a span
 *                    at a time (Go's Green Tea, in outline; default 1).
 *                    Spans mark a heap whose objects point at their
 *                    neighbours in address order in about 0.6 of the time,
 *                    depth-first trees in about the same, and a heap in
 *                    random order in about 1.3 of it.
 *
 * Debug modes (environment or gc_config; they cost time, not safety):
 *   MGC_STW=1        mark with the world stopped (the simple collector);
 *                    =2 sweeps in the pause too.
 *   MGC_CHECKMARK=1  after every concurrent mark, mark again with the world
 *                    stopped and abort with a report naming the object, its
 *                    address and span if the concurrent mark missed any
 *                    reachable object (in the handshake mode: before
 *                    anything scans what the barrier shaded after the mark
 *                    was found complete, so a wrong decision shows).
 *   MGC_TORTURE=N    a complete collection every N allocations (1 = every).
 *   MGC_CLOBBER=1    fill freed objects with 0xdeadbeef, so a use of a freed
 *                    object shows at once.
 *   MGC_VERIFY=1     run gc_verify_heap() after every cycle and abort on a
 *                    problem (the default in builds with -DMGC_DEBUG, such
 *                    as `make debug`).
 *   MGC_BARRIERCHECK=1  (gc_config.barriercheck) the barrier sanitizer:
 *                    reports every pointer store into a heap object that
 *                    bypassed gc_store while a collection marked, one line
 *                    each through the warn handler after the cycle's mark:
 *                      mgc: barriercheck: object 0x... size 64 [type T]
 *                        word 3 (offset 24): old 0 new 0xc000123450: ...
 *                    How: when the marker scans an object it records the
 *                    object's pointer words; barrier stores update the
 *                    record; at mark termination every scanned object is
 *                    compared with it.  Only pointer words count (a typed
 *                    object's data words may be written freely), and only
 *                    stores after the marker reached the object are seen,
 *                    so run the program with collections going (MGC_TORTURE
 *                    or a low MGC_PERCENT) to catch each store site.  When
 *                    porting a program: run its tests with
 *                    MGC_BARRIERCHECK=1 MGC_TORTURE=100, find each reported
 *                    object's field (size, type, offset) and store it with
 *                    gc_store / gc_store_range.  Cost: memory for a copy of
 *                    the scanned heap, marking and barrier stores several
 *                    times slower, and a stop-the-world comparison of the
 *                    marked heap in each termination pause.
 *
 * Thread safety: every function may be called from any registered thread
 * at any time.  gc_init() may be called from an unregistered thread only
 * once, before any other call.
 *
 * fork(): allowed in a threaded program (not from a finalizer or a
 * callback).  The fork waits for a running collection to finish; the child
 * has a working collector whose only registered thread is the one that
 * forked; objects only the other threads' stacks held are garbage there.
 * The other threads are not stopped across the fork, only kept out of the
 * library (a gc_alloc or gc_store they make meanwhile waits for the fork
 * to return): they may be inside malloc, stdio or a blocking call, as
 * glibc's fork() allows.
 */
#ifndef MGC_H
#define MGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MGC_API __attribute__((visibility("default")))
#define MGC_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define MGC_API
#define MGC_MALLOC_ATTR
#endif

#define MGC_VERSION_MAJOR 0
#define MGC_VERSION_MINOR 1
#define MGC_VERSION_STRING "0.1.0"

/* Result codes of the calls that return int.  gc_strerror() names them. */
enum {
    GC_OK = 0,
    GC_EINVAL = 1,   /* a bad argument: NULL, reversed or misaligned range */
    GC_ENOMEM = 2,   /* the OS refused memory */
    GC_EALREADY = 3, /* already done: thread registered twice, ... */
    GC_ENOTREG = 4,  /* the calling thread is not registered */
    GC_ENOTINIT = 5, /* gc_init() has not been called */
    GC_ESYS = 6      /* a system call failed (signals, threads) */
};

/* Settings for gc_init().  Fill with gc_config_default() and change what
 * you need; fields may be added at the end in later versions, so always
 * start from gc_config_default(). */
typedef struct gc_config {
    /* Collect when the heap has grown this many percent over the live heap
     * of the last collection; negative disables automatic collection. */
    int percent;
    /* Signals used to stop and restart threads; pick others if the program
     * uses SIGPWR or SIGXCPU itself (1 to 31 or SIGRTMIN to SIGRTMAX: 32 and
     * 33 belong to the C library; GC_EINVAL names the field otherwise). */
    int suspend_signal;
    int restart_signal;
    /* Print one line per collection on stderr. */
    int verbose;
    /* Background mark worker threads (0 = default: one per 4 CPUs, at
     * least one).  Together they use about 25% of the CPUs while marking. */
    int mark_workers;
    /* Soft memory limit in bytes (0 = none): the heap goal never exceeds
     * it, so the collector runs more often as the heap nears it. */
    size_t memory_limit;
    /* Debug modes (see "Debug modes" above); normally 0. */
    int stw;          /* 1: mark with the world stopped; 2: sweep too */
    int checkmark;    /* verify every concurrent mark with a STW re-mark */
    int clobber;      /* fill freed objects with 0xdeadbeef */
    unsigned long torture; /* a full collection every N allocations */
    /* Hard heap limit in bytes (MGC_MAXHEAP; 0 = none): an allocation that
     * would take the heap's in-use spans past it first runs a full
     * collection; if it still does not fit, the out-of-memory handler is
     * called and the allocation returns NULL.  The heap stays usable:
     * allocation works again once memory is freed. */
    size_t max_heap;
    /* Finalizers and cleanups (MGC_FINALIZERS=manual|thread): 0 runs them
     * on the library's finalizer thread; 1 only queues them for the program
     * to run with gc_run_finalizers(). */
    int manual_finalizers;
    /* MGC_BARRIERCHECK: report pointer stores that bypassed gc_store while
     * a collection marked (see "Debug modes" above). */
    int barriercheck;
    /* MGC_STATIC_ROOTS=1: the program's static data -- .data and .bss of
     * the executable and of every shared library, those loaded later with
     * dlopen too, dropped on dlclose -- are roots, and plain stores into
     * globals are safe (as into gc_add_roots ranges).  Off by default: it
     * scans every library's data (libc's included) twice a cycle, once in
     * the termination pause, and keeps alive whatever their words happen
     * to point at; register the globals that hold heap pointers instead.
     * It is the quick way to port a program written for Boehm GC, whose
     * default it is.  Thread-local variables are not scanned. */
    int static_roots;
    /* MGC_HANDSHAKE: how a cycle switches its barrier on and decides that
     * marking is over.  1: per-thread handshakes -- each registered thread
     * acknowledges in its own signal handler (or at once, when parked in
     * the library or gc_do_blocking) and goes on, and no thread waits for
     * another thread to be scheduled; 0: the world is stopped for mark setup
     * and mark termination (mgc's earlier mode, kept to compare).  Either
     * way each stack is scanned with only its own thread held.
     * gc_config_default sets the library's default (see README). */
    int handshake;
} gc_config;

/* Statistics, read with gc_get_stats().  Byte counts are exact at the time
 * of the call except where noted; fields may be added at the end.
 * heap_alloc, heap_objects, total_alloc and num_alloc count the calling
 * thread's allocations exactly; other threads' small objects are counted
 * span by span, so each other thread's count may lag by the slots of one
 * cached span per size class (until it refills that class, exits, or the
 * next collection ends). */
typedef struct gc_stats {
    uint64_t num_gc;         /* completed collection cycles */
    uint64_t num_forced_gc;  /* of which were started by gc_collect() */
    uint64_t heap_alloc;     /* bytes in allocated objects (slot sizes) */
    uint64_t heap_objects;   /* objects allocated and not yet freed */
    uint64_t heap_inuse;     /* bytes in spans holding objects */
    uint64_t heap_sys;       /* heap bytes obtained from the OS */
    uint64_t meta_sys;       /* bytes of allocator metadata (spans, bitmaps,
                                page tables) obtained from the OS */
    uint64_t total_alloc;    /* cumulative bytes allocated */
    uint64_t num_alloc;      /* cumulative objects allocated */
    uint64_t num_free;       /* cumulative objects freed by the collector */
    uint64_t heap_marked;    /* live bytes found by the last collection */
    uint64_t next_gc;        /* heap goal: the next cycle starts around here
                                (UINT64_MAX when automatic GC is off) */
    uint64_t pause_total_ns; /* cumulative stop-the-world time */
    uint64_t pause_max_ns;   /* longest stop-the-world pause */
    uint64_t last_pause_ns;  /* the last pause */
    uint64_t num_pauses;     /* stop-the-world pauses so far (two or more per cycle) */
    uint64_t last_mark_ns;   /* the last mark phase (wall time) */
    uint64_t last_sweep_ns;  /* the last sweep phase (wall time) */
    uint64_t num_threads;    /* registered threads */
    uint64_t next_trigger;   /* heap size at which the next cycle starts */
    uint64_t last_heap_peak; /* the heap (allocated bytes, counted as the
                                pacer does) when the last mark ended */
    uint64_t last_heap_goal; /* the goal the last cycle aimed at */
    uint64_t heap_released;  /* free heap bytes returned to the OS (part of
                                heap_sys; resident again once reused) */
    uint64_t root_bytes;     /* bytes of root ranges scanned every cycle:
                                gc_add_roots ranges and static data */
    uint64_t static_root_bytes; /* of which static data (static_roots) */
    uint64_t num_stalls;     /* times an allocating thread waited for a mark
                                to end because the heap passed the hard goal
                                (goal + 1/16): the collector fell behind */
    uint64_t stall_total_ns; /* the time those waits took, all threads */
} gc_stats;

/* Fill *cfg with the defaults (before environment overrides). */
MGC_API void gc_config_default(gc_config *cfg);

/* Start the collector and register the calling thread.  cfg may be NULL for
 * the defaults; MGC_* environment variables override either.  Returns
 * GC_OK, or an error code after printing why.  A second call does nothing
 * but register the calling thread if it is not yet registered. */
MGC_API int gc_init(const gc_config *cfg);

/* Zeroed memory for n bytes that the collector scans for pointers.
 * gc_alloc(0) returns a distinct valid pointer.  Alignment: 16 bytes,
 * except for requests of at most 8 bytes and of 17 to 24 bytes, which are
 * served from Go's 8- and 24-byte size classes at 8-byte alignment
 * (request 32 bytes to get 16).  On failure (n too large,
 * the OS out of memory) it calls the out-of-memory handler and returns
 * NULL; the heap stays usable.  The calling thread must be registered. */
MGC_API void *gc_alloc(size_t n) MGC_MALLOC_ATTR;

/* Zeroed memory that is never scanned: for strings, numbers, pixels.  A
 * pointer stored only here does not keep its target alive.  Requests under
 * 16 bytes share 16-byte blocks (the tiny allocator). */
MGC_API void *gc_alloc_noscan(size_t n) MGC_MALLOC_ATTR;

/* gc_alloc(count * size), with the multiplication checked for overflow
 * (NULL and the out-of-memory handler if it overflows). */
MGC_API void *gc_alloc_array(size_t count, size_t size) MGC_MALLOC_ATTR;

/* ---- precise (typed) objects ---------------------------------------------
 *
 * gc_alloc scans every word of an object conservatively, so a number that
 * happens to look like a heap address keeps garbage alive, and marking
 * reads words that can never be pointers.  A typed object says which words
 * are pointers; the collector reads only those (Go's heap bitmaps):
 *
 *     typedef struct node { struct node *left, *right; double w[6]; } node;
 *     static const size_t node_ptrs[] = {offsetof(node, left),
 *                                        offsetof(node, right)};
 *     const gc_type *node_t = gc_type_new("node", sizeof(node), node_ptrs, 2);
 *     node *n = gc_alloc_typed(node_t);          // zeroed, like gc_alloc
 *     node *v = gc_alloc_typed_array(node_t, 100); // 100 nodes in a row
 *
 * Rules: pointer fields are whole, 8-byte aligned words at the offsets
 * given; store heap pointers only in them (a pointer in a non-pointer word
 * is hidden from the collector, as in a gc_alloc_noscan object), and
 * through gc_store as always.  Interior pointers, gc_base, gc_size, weak
 * references and finalizers work as for any object.  Types are made once
 * (they are never freed) and may be shared by all threads.  A type with no
 * pointers allocates like gc_alloc_noscan, one with only pointers like
 * gc_alloc. */
typedef struct gc_type gc_type;
/* A type of size-byte objects whose pointer fields are at the n byte
 * offsets given (offsetof).  NULL, with a message, if an offset is not
 * 8-aligned or lies past the end, or if a type with pointers has a size
 * that is not a multiple of 8.  name is for messages (31 bytes kept). */
MGC_API const gc_type *gc_type_new(const char *name, size_t size, const size_t *ptr_offsets,
                                   size_t n);
/* The same from a bitmap: bit i (bitmap[i / 64] >> (i % 64)) set means the
 * 8-byte word i of the object holds a pointer. */
MGC_API const gc_type *gc_type_new_bitmap(const char *name, size_t size, const uint64_t *bitmap);
MGC_API const char *gc_type_name(const gc_type *t);
/* A zeroed object of type t, or NULL (out of memory: the OOM handler ran). */
MGC_API void *gc_alloc_typed(const gc_type *t) MGC_MALLOC_ATTR;
/* count objects of type t back to back (count * t's size bytes, checked
 * for overflow), zeroed. */
MGC_API void *gc_alloc_typed_array(const gc_type *t, size_t count) MGC_MALLOC_ATTR;

/* Start of the object that p points into (its first byte or any interior
 * byte), or NULL if p points into no allocated heap object. */
MGC_API void *gc_base(const void *p);

/* Usable size of the object that p points into (its size class), or 0 if p
 * is not in an allocated heap object. */
MGC_API size_t gc_size(const void *p);

/* Conservative root range [start, end): every aligned pointer-sized word
 * inside is scanned at each collection.  Ranges may overlap.  Pointers may
 * be stored into it with plain assignments, also while a collection runs
 * (gc_store works too): the end-of-mark pause scans the range again, and
 * every thread's stack, so it costs that pause about 0.3-0.5 ms per MiB of
 * such ranges and 0.05 us per range (docs/performance.md).  While any such
 * range is registered, every cycle ends with that stop of the world (without
 * one, the default handshake mode needs no stop for the roots), and
 * the pause also marks what the rescanned stacks reach: 2.5 ms at the median
 * with one 8 KiB range in bench/pause_bench.c.  A range written only through
 * gc_store belongs in gc_add_roots_flags(.., GC_ROOTS_BARRIER); one owned by
 * a thread, in gc_add_thread_roots.  Out of memory for the table: a
 * message, and nothing is added. */
MGC_API void gc_add_roots(void *start, void *end);

/* gc_add_roots() with flags; returns GC_OK, GC_EINVAL (bad range or
 * flags, with a message) or GC_ENOMEM.
 *   GC_ROOTS_BARRIER  a barrier-only range: every pointer store into it
 *       must go through gc_store() (a plain one can lose an object), and in
 *       exchange the end-of-mark pause does not rescan it.  For any range
 *       the program writes through gc_store anyway, and for very large
 *       tables; when every range is barrier-only, no cycle stops the world
 *       for a rescan. */
#define GC_ROOTS_BARRIER 1u
MGC_API int gc_add_roots_flags(void *start, void *end, unsigned flags);

/* Remove every range added with gc_add_roots() that lies inside
 * [start, end).  If there is none, print a message and do nothing. */
MGC_API void gc_remove_roots(void *start, void *end);

/* ---- thread-owned roots: a VM's value stack, a coroutine's stack ---------
 *
 * gc_add_thread_roots(lo, hi) makes [lo, hi) part of the calling
 * (registered) thread's stack as far as the collector is concerned: it is
 * scanned conservatively, like the stack, in the same stop of that thread,
 * and never while the thread runs.  So the owning thread stores pointers
 * into it with plain assignments, exactly like into local variables: no
 * gc_store.  Use it for a VM's value stack and call frames, and for the
 * stack of a coroutine (makecontext/swapcontext or a hand-written switch)
 * that runs on this thread: a thread stopped while running on a registered
 * coroutine stack is scanned there from its stack pointer up, and its own
 * stack whole (the frames it left are live).
 *
 *   - Returns GC_OK; GC_ENOTREG / GC_ENOTINIT from an unregistered thread;
 *     GC_EINVAL for a bad range (NULL, reversed, not user memory);
 *     GC_ENOMEM.  Each error prints one line naming the call.
 *   - Ranges are keyed by lo: adding a range whose lo the thread already
 *     registered replaces its hi (grow or shrink a range in place).  Add
 *     and remove cost O(1) (a hash by lo), whatever the number of ranges.
 *   - gc_remove_thread_roots(lo, hi) takes the range at lo away; with no
 *     range at lo it prints a message and returns GC_EINVAL; with a
 *     different hi it removes the range, prints a message and returns
 *     GC_EINVAL.  Ranges may overlap each other or the thread's stack
 *     (scanned twice: harmless).
 *   - Ranges belong to the thread: another thread cannot add or remove
 *     them, and they are dropped when the thread unregisters or exits.
 *   - Growing a stack: malloc the new block, gc_add_thread_roots it, copy,
 *     gc_remove_thread_roots the old one, free it.  Never realloc() a
 *     registered block (the thread can be stopped inside realloc, after the
 *     old block was freed and before the new one is registered).
 *   - Inside gc_do_blocking's fn, do not store into these ranges (they are
 *     scanned while fn runs, as the frames above the call are).
 *
 * Why plain stores by the owner are safe (the model is Go's design note
 * "Eliminate STW stack re-scanning", whose hybrid barrier needs no barrier
 * on stack writes).  The collector's colours: an object is white until
 * marked, grey while queued, black once scanned; mark setup turns the
 * barrier on with every thread's stack grey; objects allocated while
 * marking are black; gc_store shades (greys) both the pointer it
 * overwrites (Yuasa's deletion half) and the pointer it stores (Dijkstra's
 * insertion half).  A thread's ranges are scanned only in the stop that
 * scans its stack, once per cycle, so they are grey together before it and
 * black together after it: for the collector they are one root set, S.
 *   1. Before S's scan, anything the owner stores into its ranges comes from
 *      S itself (registers, frames, ranges), from the heap or is new.  The
 *      scan reads S with the thread stopped, so it sees every word as the
 *      owner left it: nothing in S at that moment can be missed, and moving
 *      pointers around inside S before it cannot hide one.
 *   2. After S's scan (S black), a pointer the owner stores into its ranges
 *      was either in S at the scan (so marked then), allocated since
 *      (black), or loaded from the heap after the scan.  An object loaded
 *      from the heap is marked unless every heap path to it is cut before
 *      the markers traverse it, and every such cut is a gc_store, whose
 *      deletion half shades the object.  So every object S points to is
 *      marked by the end of the mark: a black S needs no shading of what it
 *      stores, and overwriting a word of S (a deletion from a black root)
 *      hides nothing, exactly as for Go's stacks.
 *   3. A store from S into the heap still goes through gc_store: while S
 *      is grey, its insertion half is what keeps an object whose only
 *      pointer moves from the unscanned S into an already black object.
 * A store into these ranges by a *different* thread must use gc_store,
 * as into the heap: to that thread the range is memory scanned at a moment
 * unrelated to its own stack scan (the owner's stop, with the writer
 * running), so the argument above does not hold for it: the writer's grey
 * stack could hand a white object to the owner's black range and drop it
 * (the insertion half shades it), or overwrite, while the range is being
 * scanned, the only pointer to an object the writer's black stack keeps
 * (the deletion half shades it).  Likewise a pointer another thread reads
 * from the range is safe to keep only once it has stored it with gc_store
 * into the heap or a root range while the range still held it.  The same
 * holds for the thread's ordinary stack, which is how these ranges should
 * be thought of.
 *
 * Other stacks: a thread stopped in a signal handler on its sigaltstack
 * is scanned there (found by itself) and on its own stack, whole.  A thread
 * stopped on a stack mgc does not know (an unregistered coroutine stack)
 * has its own stack scanned whole and the unknown one only up to 64 KiB
 * above its stack pointer, with a one-time message: register coroutine
 * stacks (an unregistered one carved out of the thread's own stack cannot
 * even be told apart from it).  MGC_TRACE counts these ranges as stacks.
 * Scanning a whole own stack is not free: for glibc's default 8 MiB thread
 * stack a stop of that thread measured ~7-11 ms (against ~0.03-0.15 ms on
 * its own stack, loaded 2-core machine); give threads that run coroutines
 * smaller stacks (pthread_attr_setstacksize). */
MGC_API int gc_add_thread_roots(void *lo, void *hi);
MGC_API int gc_remove_thread_roots(void *lo, void *hi);

/* Make the calling thread's stack and registers roots and let it allocate.
 * Returns GC_OK, GC_EALREADY if it already is registered, GC_ENOTINIT
 * before gc_init(). */
MGC_API int gc_register_thread(void);

/* The reverse; call before the thread exits.  Objects it allocated stay as
 * long as something else reaches them.  From then on the thread's stack is
 * no root: a heap pointer it returns through pthread_exit/pthread_join
 * (kept by glibc, unscanned) can be freed before the joiner gets it.  Hand
 * results over through a slot the joiner keeps alive instead (a field of
 * a heap object the joiner holds, written with gc_store before
 * unregistering); docs/embedding.md shows the pattern. */
MGC_API void gc_unregister_thread(void);

/* Nonzero if the calling thread is registered. */
MGC_API int gc_thread_is_registered(void);

/* Run fn(arg) on the calling registered thread in the "parked" state and
 * return its result: while fn runs, collections neither signal nor wait
 * for this thread, they scan its stack as it was at the call.  Use it
 * around calls that may block for long (read(), pthread_join(), waiting on
 * a condition variable): the collector then never has to interrupt them,
 * which also makes mgc work under ThreadSanitizer, which does not deliver
 * signals to threads blocked in such calls.
 *
 * Inside fn the thread counts as unregistered: pointers held by the
 * caller's frames stay roots, but frames fn creates are not scanned.  So
 * inside fn:
 *   - allowed: gc_collect, gc_get_stats and the other statistics,
 *     gc_base, gc_size, gc_store (through the barrier an unregistered
 *     thread uses), gc_add_roots/gc_remove_roots, gc_verify_heap, a nested
 *     gc_do_blocking (runs its fn at once), and fork() (the child's only
 *     registered thread is this one, still inside fn);
 *   - refused with a message: gc_alloc and every allocation (returns NULL:
 *     the object would be held only by fn's unscanned frames),
 *     gc_register_thread (GC_EALREADY), gc_unregister_thread (nothing done);
 *   - do not keep a heap pointer only in fn's own variables.
 * fn may be cancelled (pthread_cancel) or call pthread_exit: the thread
 * leaves the parked state and is unregistered as it exits.  From an
 * unregistered thread fn simply runs (with a warning).
 *
 * Signals: mgc stops a registered thread that is not parked with the
 * suspend signal (SIGPWR) and restarts it with the restart signal
 * (SIGXCPU).  gc_init and gc_register_thread unblock both in the calling
 * thread (with one message per process) if it had them blocked; a thread
 * that blocks them later, or a program that installs its own handler for
 * them after gc_init, holds every collection up: after a second mgc names
 * the thread and the reason (and puts its own handler back), once.  Block
 * them only inside gc_do_blocking.  Cancellation: registered threads may
 * be cancelled (deferred cancellation) anywhere, also inside fn and while
 * blocked in read(); mgc's own calls are not cancellation points (a
 * cancel pending when gc_collect returns acts at the next one).
 * Asynchronous cancellation (PTHREAD_CANCEL_ASYNCHRONOUS) is supported
 * only around code that calls no mgc function, as POSIX requires for every
 * function that is not async-cancel-safe.
 *
 * EINTR: the stop signals are installed with SA_RESTART, so read, write,
 * accept, connect, sem_wait, waitpid and condition waits restart by
 * themselves, but these return EINTR (or return early) when a collection
 * stops the thread while they wait, as under Boehm GC: poll, ppoll,
 * select, pselect, epoll_wait, nanosleep, clock_nanosleep, usleep, sleep,
 * sem_timedwait, sigtimedwait, semop, msgrcv, and recv/send on a socket
 * with SO_RCVTIMEO/SO_SNDTIMEO.  Retry them on EINTR, or call them inside
 * gc_do_blocking, where the thread is never signalled. */
MGC_API void *gc_do_blocking(void *(*fn)(void *arg), void *arg);

/* Run a complete collection (mark and sweep) before returning. */
MGC_API void gc_collect(void);

/* Check every invariant of the heap's metadata (spans, slot counts and
 * bitmaps, size classes, sweep states, central lists and caches, free page
 * runs, byte totals), with the world stopped briefly between collections.
 * Prints one line per problem on stderr (the first 20) and returns the
 * number of problems: 0 for a sound heap.  The world stays stopped for a
 * pass over the metadata (not the objects): 25-45 ms per GB of 64-byte
 * objects on a 2-core test machine, so this is a debugging tool.  Not from
 * a phase callback or a finalizer notifier (they run on the collector
 * thread that would do the check): there it prints a message and returns 0
 * without checking. */
MGC_API size_t gc_verify_heap(void);

/* Store value into the pointer field *slot of a heap object, through the
 * write barrier.  slot is &obj->field for any pointer type; the sizeof below
 * checks at compile time that the assignment is well typed, without
 * evaluating either argument twice. */
MGC_API void gc_store_ptr(void **slot, void *value);
#define gc_store(slot, value) \
    ((void)sizeof(*(slot) = (value)), gc_store_ptr((void **)(slot), (void *)(value)))

/* Bulk stores: the write barrier for nbytes at a time, where a program
 * would otherwise call gc_store once per word (a VM's array copy, a table
 * resize, a struct copy).  gc_store_range is memmove(dst, src, nbytes) --
 * the ranges may overlap, in either direction -- and gc_clear_range is
 * memset(dst, 0, nbytes), both with the barrier applied: while a
 * collection marks, every pointer word dst held and every one it receives
 * is shaded (Go's typedmemmove).  They cost one check per call (per 64 KiB)
 * rather than per word, and a plain memmove when no collection marks.
 *
 *   gc_store_range(&arr->items[i + 1], &arr->items[i], (n - i) * sizeof(void *));
 *   gc_clear_range(&arr->items[n - k], k * sizeof(void *));
 *
 * dst may be in a heap object (the range must end inside that object: a
 * longer one is refused with a message and nothing is written), in a root
 * range or in any other memory; src may be anywhere.  In a typed object
 * only the pointer words of dst's map are shaded.  Any thread may call
 * them, registered or not.  Pointers are whole 8-byte-aligned words: a
 * misaligned dst or src, or nbytes not a multiple of 8, prints a message
 * and the bytes are still moved (or cleared) as asked.  nbytes 0 does
 * nothing; a NULL dst or src with nbytes > 0 prints a message and does
 * nothing. */
MGC_API void gc_store_range(void *dst, const void *src, size_t nbytes);
MGC_API void gc_clear_range(void *dst, size_t nbytes);

/* Copy the collector's statistics into *out. */
MGC_API void gc_get_stats(gc_stats *out);

/* Return as much memory to the OS as possible: run a complete collection
 * (as gc_collect()), then give every free heap page back (madvise
 * MADV_DONTNEED; the address space stays reserved and is reused, zeroed, by
 * later allocations).  Costs about a collection plus a system call per
 * 2 MiB of free heap.  From an unregistered thread it cannot collect and
 * only releases what is already free (no message: a monitoring thread may
 * call it).  Without it, a background thread returns pages that stay free
 * for more than about half a second (see MGC_SCAVENGE). */
MGC_API void gc_free_os_memory(void);

/* Out-of-memory handler: called with the requested size before an
 * allocation returns NULL.  It may free memory (drop references and call
 * gc_collect()) or exit.  Returns the previous handler. */
typedef void (*gc_oom_handler)(size_t requested);
MGC_API gc_oom_handler gc_set_oom_handler(gc_oom_handler fn);

/* Where misuse messages go (default: one line on stderr, written with
 * write(2) so it never waits for stdio's lock).  Returns the previous
 * handler; NULL restores the default.  The handler is never called while
 * the collector has threads stopped: a message raised then is queued (the
 * last few) and delivered after the restart, on the collector's thread.
 * The one exception is a stop held up for a second (a thread that blocks
 * the stop signal): its message also goes to stderr at once, since the
 * restart it waits for may never come. */
typedef void (*gc_warn_handler)(const char *msg);
MGC_API gc_warn_handler gc_set_warn_handler(gc_warn_handler fn);

/* Heap growth percent, as MGC_PERCENT; negative = off.  Returns the old
 * value. */
MGC_API int gc_set_percent(int percent);

/* Soft memory limit in bytes (MGC_MEMLIMIT); SIZE_MAX or 0 = none.
 * Returns the old limit (SIZE_MAX if none). */
MGC_API size_t gc_set_memory_limit(size_t limit);

/* Hard heap limit (gc_config.max_heap, MGC_MAXHEAP); 0 = none.  Returns the
 * old limit. */
MGC_API size_t gc_set_max_heap(size_t limit);

/* Copy the durations of the most recent stop-the-world pauses (up to
 * max, oldest first, in nanoseconds) into out_ns and return how many were
 * copied; with out_ns NULL, return how many are available (at most 4096). */
MGC_API size_t gc_get_pauses(uint64_t *out_ns, size_t max);

/* Collector events that take time from the program, newest last: the
 * stop-the-world pauses, the holds of one thread while the others run
 * (THREAD_STOP: held to scan its stack; HANDSHAKE: held for a handshake,
 * MGC_HANDSHAKE=1), and mark assists (a thread doing mark work in
 * proportion to what it allocates).  Times are CLOCK_MONOTONIC
 * nanoseconds. */
enum { GC_EVENT_PAUSE = 0, GC_EVENT_THREAD_STOP = 1, GC_EVENT_ASSIST = 2, GC_EVENT_HANDSHAKE = 3 };
typedef struct gc_event {
    uint64_t start_ns;
    uint64_t duration_ns;
    int kind;          /* GC_EVENT_* */
    int thread;        /* for THREAD_STOP, HANDSHAKE and ASSIST: the thread's
                          number in registration order (1 = the gc_init
                          thread; gc_thread_holds.thread); 0 for pauses,
                          which stop every thread */
} gc_event;

/* Copy up to max of the most recent events (at most 16384 are kept, oldest
 * first) into out and return how many were copied; with out NULL, return
 * how many are available. */
MGC_API size_t gc_get_events(gc_event *out, size_t max);

/* ---- weak references ---------------------------------------------------
 *
 * A weak reference does not keep its object alive; once the object is
 * unreachable it reads as NULL, and from then on forever.  Reading one while
 * the collector marks shades the object, so an object you got back cannot
 * die under you (Go's weak.Pointer semantics).  Weak references are cleared
 * when the object's memory is swept, never in a pause.  All calls below are
 * for registered threads (others get NULL and a message).
 */

/* A weak handle to the object obj points into (any interior pointer will
 * do).  The handle itself is plain malloc'd memory the collector never
 * scans; free it with gc_weak_free().  NULL if obj is not a live heap
 * object (with a message) or out of memory. */
typedef struct gc_weak gc_weak;
MGC_API gc_weak *gc_weak_new(void *obj);
/* The object's base, or NULL once it has died. */
MGC_API void *gc_weak_get(gc_weak *w);
MGC_API void gc_weak_free(gc_weak *w);

/* Weak slots, for tables a VM keeps weakly (string intern tables, caches):
 * a pointer-sized slot the collector sets to NULL when its object dies,
 * like Boehm GC's disappearing links.  The slot must be in memory the
 * collector does not scan (a gc_alloc_noscan object, or malloc'd memory),
 * or the pointer in it would keep its object alive.  Change a registered
 * slot only through these calls, and read it with gc_weak_slot_get: a
 * plain read may return an object that is already dead but not yet swept.
 *
 * gc_weak_slot_set stores obj's base in *slot and registers it (first
 * unregistering what the slot held); obj NULL just clears.  Returns GC_OK,
 * GC_EINVAL, GC_ENOTREG or GC_ENOMEM.  gc_weak_slot_clear unregisters the
 * slot and sets it to NULL: call it before the slot's memory is freed or
 * reused (e.g. when a table is resized).
 *
 * Both forms refer to a whole object: given an interior pointer they hold
 * (and return) the object's base.  gc_alloc_noscan objects under 16 bytes
 * share 16-byte blocks (the tiny allocator), so a weak reference to one is
 * a reference to its block: it returns the block's start and clears only
 * when the whole block dies.  Give weakly held objects 16 bytes or more. */
MGC_API int gc_weak_slot_set(void **slot, void *obj);
MGC_API void *gc_weak_slot_get(void **slot);
MGC_API void gc_weak_slot_clear(void **slot);

/* ---- finalizers and cleanups ---------------------------------------------
 *
 * A finalizer is a function the collector calls with an object after the
 * object has become unreachable; a cleanup is a function called with an
 * argument (not the object) after the object has died, and cannot bring it
 * back (Go's runtime.SetFinalizer and runtime.AddCleanup).
 *
 * When they run: never with the world stopped and never inside an
 * allocation.  An object found unreachable by a collection is queued when
 * its memory is swept (gc_collect() returns after the sweep, so its
 * finalizers are queued by then).  Queued functions run one at a time, in
 * queue order, either on the library's finalizer thread (the default; a
 * registered thread named "mgc-finalizer", started by the first
 * gc_set_finalizer or gc_add_cleanup), or, with gc_config.manual_finalizers
 * (or MGC_FINALIZERS=manual), only when the program calls
 * gc_run_finalizers() -- as a VM does to run user code at safe points.
 * A finalizer may allocate, take locks and call any mgc function.
 * Nothing is run at exit.
 *
 * Finalizers, precisely:
 *   - Everything a finalizable object points to stays alive until its
 *     finalizer has run (the collector marks through the object without
 *     marking the object), so the finalizer may use it.
 *   - Ordering: if unreachable A points to B and both have finalizers, A's
 *     runs first; B's runs at a later collection, once A is gone (Boehm's
 *     topological order).  Consequently a cycle of objects with finalizers
 *     is never finalized nor freed: break cycles, or use cleanups.
 *   - Resurrection: when its finalizer is queued the object is kept (the
 *     queue holds it), and the finalizer is forgotten.  If the finalizer
 *     stores the object where the program can reach it, the object lives
 *     on as an ordinary object; its finalizer runs again only if
 *     gc_set_finalizer is called again (inside the finalizer is fine).
 *     Otherwise it is freed by the next collection after the finalizer ran.
 *   - Weak references to the object are cleared when it is first found
 *     unreachable, before its finalizer runs, and stay cleared even if it
 *     is resurrected.
 *
 * Cleanups: fn(arg) runs after obj died; obj itself is freed in the same
 * sweep.  arg is kept alive by the collector until the cleanup has run; if
 * arg (or anything it reaches) points to obj, obj never dies -- pass what
 * the cleanup needs (a file descriptor, a malloc'd block), not the object.
 * An object may have several cleanups; they run in no set order.  If the
 * object also has a finalizer, its cleanups run only after the finalizer
 * ran and the object died again.
 *
 * obj must be what gc_alloc (or a sibling) returned, not an interior
 * pointer.  gc_alloc_noscan objects under 16 bytes share 16-byte blocks
 * (the tiny allocator): a finalizer or cleanup on one runs when the whole
 * block dies, maybe much later, or never if a neighbour stays alive. */
typedef void (*gc_finalizer_fn)(void *obj, void *arg);
typedef void (*gc_cleanup_fn)(void *arg);

/* Set obj's finalizer (replacing any) to fn(obj, arg); fn NULL removes it.
 * Returns GC_OK, GC_EINVAL (obj not the start of a live heap object),
 * GC_ENOTREG or GC_ENOMEM. */
MGC_API int gc_set_finalizer(void *obj, gc_finalizer_fn fn, void *arg);
/* Run fn(arg) after obj dies.  Returns an id (never 0) for
 * gc_cancel_cleanup, or 0 on error (with a message). */
MGC_API uint64_t gc_add_cleanup(void *obj, gc_cleanup_fn fn, void *arg);
/* Cancel the cleanup id of obj.  GC_OK, or GC_EINVAL if obj has no such
 * cleanup (wrong id, or already queued or run). */
MGC_API int gc_cancel_cleanup(void *obj, uint64_t id);
/* Run the queued finalizers and cleanups on the calling (registered)
 * thread, including those queued while they run; returns how many ran.
 * Works in both modes (with the finalizer thread, both drain one queue). */
MGC_API size_t gc_run_finalizers(void);
/* How many finalizers and cleanups are queued and not yet started. */
MGC_API size_t gc_finalizers_pending(void);
/* Called (on a collector thread, world running) at the end of a
 * collection that queued finalizers or cleanups, e.g. to wake the thread
 * that calls gc_run_finalizers.  It must not call mgc functions other than
 * gc_finalizers_pending.  Returns the previous notifier. */
typedef void (*gc_finalizer_notifier)(void *arg);
MGC_API gc_finalizer_notifier gc_set_finalizer_notifier(gc_finalizer_notifier fn, void *arg);

/* ---- pause statistics, MMU, phase callback, trace ------------------------
 *
 * Tracing is set from the environment at gc_init():
 *
 *   MGC_TRACE=1        one line per cycle on stderr, in the form of Go's
 *                      GODEBUG=gctrace=1:
 *
 *     gc 7 @1.234s 3%: 0.031+4.2+0.045 ms clock, 0.031+1.1/3.9/0+0.045 ms cpu,
 *        12->14->6 MB, 14 MB goal, 0 MB stacks, 1 MB roots, 1 W,
 *        0.045/0.012 ms max pause/hold, 3 holds (forced)
 *
 *     gc 7          the cycle number (num_gc after it);
 *     @1.234s       when it started, in seconds since gc_init();
 *     3%            collector CPU (pauses, workers, assists, sweep) since
 *                   gc_init, as a share of all CPUs' time;
 *     a+b+c ms clock  wall time of the mark-setup pause, of concurrent
 *                   marking, and of the mark-termination pause(s);
 *     a+b/c/0+d ms cpu  setup pause, assist CPU / background worker CPU /
 *                   idle (always 0: mgc has no separate idle workers), and
 *                   termination pause(s);
 *     x->y->z MB    heap at the cycle's start, at mark termination, and
 *                   marked live (Go's counting: allocated spans' bytes);
 *     N MB goal     the heap goal of this cycle;
 *     stacks, roots bytes of thread stacks and root ranges scanned;
 *     N W           background mark workers (Go prints P here);
 *     p/h ms max pause/hold  the cycle's longest stop-the-world pause, and
 *                   its longest per-thread hold (one thread held alone,
 *                   for its stack scan or a handshake): what the program
 *                   as a whole and what a single thread felt at worst;
 *     N holds       the cycle's per-thread holds;
 *     (forced)      the cycle was asked for by gc_collect().
 *
 *   MGC_TRACE_FILE=path  a Chrome Trace Event file (open it in
 *                      https://ui.perfetto.dev or chrome://tracing, or
 *                      summarise it with build/mgc-trace): every phase on a
 *                      timeline, per thread.  See docs/tracing.md.
 */

/* Pause histogram buckets: bucket i counts pauses shorter than
 * gc_pause_bucket_limit(i) and not counted by bucket i-1 (1, 2, 5, 10, 20,
 * 50 ... microseconds up to 10 s; the last bucket is unbounded). */
#define GC_PAUSE_BUCKETS 23
/* A pause stops every registered thread at once; a hold stops one thread
 * while the others run: its stack scan (in every mode), or a handshake
 * (MGC_HANDSHAKE=1).  With few threads per core a pause is what every
 * thread feels; with many, a thread feels the pauses plus its own holds.
 * The first fields are pauses only; the hold_ fields follow. */
typedef struct gc_pause_summary {
    uint64_t count;       /* stop-the-world pauses since gc_init */
    uint64_t total_ns;    /* their total */
    uint64_t max_ns;      /* the longest */
    uint64_t recent;      /* pauses the percentiles are over (the last <= 4096) */
    uint64_t p50_ns, p90_ns, p99_ns, p999_ns; /* exact, nearest rank */
    uint64_t hist[GC_PAUSE_BUCKETS]; /* every pause since gc_init */

    /* Per-thread holds since gc_init, of all threads: both kinds ... */
    uint64_t hold_count, hold_total_ns, hold_max_ns;
    uint64_t hold_recent; /* holds the percentiles are over (the last <= 4096) */
    uint64_t hold_p50_ns, hold_p90_ns, hold_p99_ns, hold_p999_ns; /* nearest rank */
    /* ... and by kind (hold_count = handshake_count + stack_count, and so
     * for the totals; hold_max_ns is the larger max) */
    uint64_t handshake_count, handshake_total_ns, handshake_max_ns;
    uint64_t stack_count, stack_total_ns, stack_max_ns;
    /* The thread held longest in all: its total, and its number
     * (gc_event.thread; 0 if no thread was held).  A thread's own totals:
     * gc_get_thread_holds. */
    uint64_t thread_hold_max_ns;
    int thread_hold_max_thread;
} gc_pause_summary;
MGC_API void gc_get_pause_summary(gc_pause_summary *out);
MGC_API uint64_t gc_pause_bucket_limit(int i); /* ns; UINT64_MAX for the last */

/* The calling thread's own holds since it registered (stop-the-world
 * pauses not included: see gc_pause_summary).  Returns GC_OK, or
 * GC_ENOTREG (zeros) for an unregistered thread.  Kept per thread for the
 * last 1024 registration numbers: in a program that registers more
 * threads than that over its life, a thread's record may be taken by a
 * newer thread's and then reads as zeros. */
typedef struct gc_thread_holds {
    int thread;        /* the calling thread's number (gc_event.thread) */
    uint64_t count, total_ns, max_ns;
} gc_thread_holds;
MGC_API int gc_get_thread_holds(gc_thread_holds *out);

/* Minimum mutator utilisation for a window of window_ns: the smallest share
 * of any window of that length, since gc_init (or since the oldest event
 * gc_get_events still keeps), left to the program.  Counts stop-the-world
 * pauses, and by flags:
 *   0                  pauses only;
 *   GC_MMU_ASSISTS     also every thread's mark assists and holds (stack
 *                      scans, handshakes), each as if it stopped the whole
 *                      program: pessimistic with several threads;
 *   GC_MMU_SELF        the calling thread's MMU: pauses and its own holds
 *                      (with GC_MMU_ASSISTS also its own assists); an
 *                      unregistered caller gets pauses only.
 * A window longer than the run is the whole run.  -1 if out of memory. */
#define GC_MMU_ASSISTS 1
#define GC_MMU_SELF 2
MGC_API double gc_mmu(uint64_t window_ns, int flags);

/* Phase callback (like Boehm's GC_set_on_collection_event).  Called on the
 * collector's own thread, never while the world is stopped: after the
 * mark-setup pause, when concurrent marking starts, after each
 * mark-termination pause, when the sweep is done, and at the cycle's end.
 * It must be quick (the cycle waits for it) and must not call gc_alloc,
 * gc_collect, gc_verify_heap or block on a thread that does: the thread is
 * the library's and unregistered, so those calls print a message naming
 * this rule and do nothing.  It may read statistics and set flags that a
 * program thread acts on.  Returns the old callback. */
enum {
    GC_PHASE_MARK_SETUP = 0,       /* a pause, or a handshake round (world_stopped 0) */
    GC_PHASE_MARK_START = 1,       /* concurrent marking begins */
    GC_PHASE_MARK_TERMINATION = 2, /* a pause (more than one if marking had to resume), or handshakes */
    GC_PHASE_SWEEP_DONE = 3,       /* the background sweep: start and duration */
    GC_PHASE_CYCLE_END = 4         /* the whole cycle: start and duration */
};
typedef struct gc_phase_event {
    int phase;            /* GC_PHASE_* */
    uint64_t cycle;       /* the cycle's number */
    uint64_t start_ns;    /* CLOCK_MONOTONIC */
    uint64_t duration_ns;
    /* MARK_SETUP and MARK_TERMINATION: 1 if the world was stopped for the
     * phase (a pause), 0 if it was done by per-thread handshakes
     * (MGC_HANDSHAKE=1): then no thread waited for another, and each
     * thread's own hold is in gc_get_pause_summary's hold fields. */
    int world_stopped;
} gc_phase_event;
typedef void (*gc_phase_callback)(const gc_phase_event *e, void *arg);
MGC_API gc_phase_callback gc_set_phase_callback(gc_phase_callback fn, void *arg);

/* Write the buffered MGC_TRACE_FILE events now (they are written every
 * 100 ms anyway, and at exit). */
MGC_API void gc_trace_flush(void);

/* Name of a GC_* result code. */
MGC_API const char *gc_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* MGC_H */
