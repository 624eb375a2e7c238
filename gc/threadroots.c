/*
 * threadroots.c -- root ranges owned by one thread, scanned with its stack.
 *
 * A VM's value stack, its call frames, a coroutine's stack: memory the
 * owning thread writes as often as its locals.  gc_add_thread_roots()
 * makes such a range part of the thread's stack as far as the collector is
 * concerned: it is scanned in the same stop as the stack (the thread
 * stopped by its signal, or held parked), never concurrently with the
 * owner, so the owner stores into it with plain assignments.  The proof
 * that this is safe under the hybrid barrier is in include/mgc.h (Go's
 * "Eliminate STW stack re-scanning" argument: stacks are grey until their
 * one scan per cycle and black after, and the heap barrier covers the
 * rest).
 *
 * Invariants:
 *  - The ranges of thread t are changed only by t, inside a no-preempt
 *    section (a stop is deferred to its end), and read by the collector
 *    only while t is stopped or held: so a scan always sees a consistent
 *    table, without a lock.  Growing the table mallocs outside the section
 *    (malloc may wait for a lock a stopped thread holds) and frees the old
 *    block after it.
 *  - Each range is keyed by its lo: adding a range whose lo is already
 *    registered replaces its hi (the cheap way to grow or shrink a range in
 *    place).  ranges[] is dense (what a scan walks); index[] is an open
 *    addressing table by lo (linear probing, backward-shift deletion), so
 *    add and remove are O(1) expected.
 *  - The ranges die with the thread's registration (mgc_thread_roots_drop).
 *
 * Where the thread is running (issue: a thread on another stack).  The
 * stack pointer recorded at the stop, sp, may lie outside the thread's own
 * stack [stack_lo, stack_hi): a signal handler on a sigaltstack, a
 * coroutine (makecontext/swapcontext, a hand-written switch).  Then the
 * frames of the own stack are live down to a point nobody recorded, so the
 * whole own stack is scanned (its readable part: the main thread's stack
 * mapping grows on demand below what is mapped now).  The stack sp is on
 * is scanned from sp up: to the hi of a thread-roots range containing sp
 * (a registered coroutine stack), else to the top of the sigaltstack the
 * thread noted when it stopped.  The registers are on that stack too (the
 * kernel pushes the signal frame there; a parked thread spills them into
 * its frame).  On an unknown stack the collector cannot know where it ends:
 * it scans from sp up to 64 KiB of readable memory (the signal frame and
 * the innermost frames), probing each page first so it never faults, and
 * warns once that the stack should be registered.  Memory below sp on the
 * current stack is dead and not scanned.
 *
 * Cost: the whole own stack is read, untouched pages included (they read
 * as zero): a stop of a thread with an 8 MiB stack took ~7-11 ms off its
 * stack against ~0.03-0.15 ms on it.  Skipping never-touched pages through
 * /proc/self/pagemap (neither present nor swapped) would remove most of it;
 * mincore alone cannot, it reports swapped-out pages as absent.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gc/gc.h"

#define MIN_CAP 8
#define UNKNOWN_STACK_SCAN (64 * 1024)

static uintptr_t align_up(uintptr_t p) { return (p + 7) & ~(uintptr_t)7; }
static uintptr_t align_down(uintptr_t p) { return p & ~(uintptr_t)7; }

/* ---- the table ------------------------------------------------------------ */

/* ** Fibonacci hashing: the top bits of the product, which every bit of lo
 * reaches (VM stacks are often equally spaced blocks). */
static uint32_t slot_of(uintptr_t lo, uint32_t cap) {
    uint64_t h = (uint64_t)(lo >> 3) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> (64 - __builtin_ctz(2 * cap)));
}

/* ** The index slot holding lo's range, or the empty slot where it would go. */
static uint32_t find_slot(const mgc_thread_roots *r, uintptr_t lo) {
    uint32_t mask = 2 * r->cap - 1, s = slot_of(lo, r->cap);
    while (r->index[s] && r->ranges[r->index[s] - 1].lo != lo) s = (s + 1) & mask;
    return s;
}

/* ** Empty slot s, shifting back the entries that probed past it (linear
 * probing's deletion without tombstones). */
static void delete_slot(mgc_thread_roots *r, uint32_t s) {
    uint32_t mask = 2 * r->cap - 1;
    for (uint32_t j = (s + 1) & mask; r->index[j]; j = (j + 1) & mask) {
        uint32_t home = slot_of(r->ranges[r->index[j] - 1].lo, r->cap);
        /* Entry j may fill hole s unless its home lies cyclically in (s, j]. */
        if (((j - home) & mask) >= ((j - s) & mask)) {
            r->index[s] = r->index[j];
            s = j;
        }
    }
    r->index[s] = 0;
}

/* ** A block for cap ranges and their index (zeroed index). */
static mgc_troot *table_alloc(uint32_t cap) {
    size_t bytes = (size_t)cap * sizeof(mgc_troot) + (size_t)cap * 2 * sizeof(uint32_t);
    return calloc(1, bytes);
}

/* ** Move the table into block (of cap ranges); returns the old block.
 * Inside the caller's no-preempt section. */
static mgc_troot *table_swap(mgc_thread_roots *r, mgc_troot *block, uint32_t cap) {
    mgc_troot *old = r->ranges;
    if (r->n) memcpy(block, r->ranges, r->n * sizeof *block);
    r->ranges = block;
    r->index = (uint32_t *)(block + cap);
    r->cap = cap;
    for (uint32_t i = 0; i < r->n; i++) r->index[find_slot(r, r->ranges[i].lo)] = i + 1;
    return old;
}

/* ---- the API --------------------------------------------------------------- */

/* ** Check a range given to the calls below; message and false if bad. */
static bool troots_range_ok(const char *call, void *lo, void *hi) {
    uintptr_t l = (uintptr_t)lo, h = (uintptr_t)hi;
    const char *why = NULL;
    if (!lo || !hi) why = "a bound is NULL";
    else if (l > h) why = "lo is above hi; pass (lo, hi) in address order";
    else if (l < 4096 || h > ((uintptr_t)1 << (MGC_ADDR_BITS - 1)))
        why = "not memory of this process (outside the user address space)";
    if (!why) return true;
    mgc_warn("%s(%p, %p): %s; pass the first byte and one past the last byte of memory the "
             "calling thread owns (nothing done)", call, lo, hi, why);
    return false;
}

static void warn_deferred(void);

/* ** The registered caller of a thread-roots call, or NULL after a message. */
static gc_thread *troots_caller(const char *call, void *lo, void *hi, int *rc) {
    gc_thread *t = mgc_caller(call, "nothing done");
    if (!t) {
        *rc = atomic_load(&mgc_initialized) ? GC_ENOTREG : GC_ENOTINIT;
        return NULL;
    }
    warn_deferred();
    if (!troots_range_ok(call, lo, hi)) {
        *rc = GC_EINVAL;
        return NULL;
    }
    return t;
}

MGC_API int gc_add_thread_roots(void *lo, void *hi) {
    int rc;
    gc_thread *t = troots_caller("gc_add_thread_roots", lo, hi, &rc);
    if (!t) return rc;
    mgc_thread_roots *r = &t->roots;
    mgc_troot *block = NULL, *old = NULL;
    uint32_t ncap = 0;
    if (r->n == r->cap) { /* full (or empty): grow first, outside the section */
        if (r->cap >= (1u << 30)) {
            mgc_warn("gc_add_thread_roots(%p, %p): the thread has 2^30 ranges; remove some "
                     "(nothing added)", lo, hi);
            return GC_ENOMEM;
        }
        ncap = r->cap ? 2 * r->cap : MIN_CAP;
        block = table_alloc(ncap);
        if (!block) {
            mgc_warn("gc_add_thread_roots(%p, %p): out of memory for the range table "
                     "(nothing added)", lo, hi);
            return GC_ENOMEM;
        }
    }
    mgc_nopreempt_begin(t);
    if (block) old = table_swap(r, block, ncap);
    uint32_t s = find_slot(r, (uintptr_t)lo);
    if (r->index[s]) {
        r->ranges[r->index[s] - 1].hi = (uintptr_t)hi; /* same lo: a new hi */
    } else {
        r->ranges[r->n] = (mgc_troot){(uintptr_t)lo, (uintptr_t)hi};
        r->index[s] = ++r->n;
    }
    mgc_nopreempt_end(t);
    free(old);
    return GC_OK;
}

MGC_API int gc_remove_thread_roots(void *lo, void *hi) {
    int rc;
    gc_thread *t = troots_caller("gc_remove_thread_roots", lo, hi, &rc);
    if (!t) return rc;
    mgc_thread_roots *r = &t->roots;
    if (r->n == 0 || !r->index[find_slot(r, (uintptr_t)lo)]) {
        mgc_warn("gc_remove_thread_roots(%p, %p): the calling thread has no range starting at "
                 "%p; pass the bounds given to gc_add_thread_roots by this thread (nothing "
                 "removed)", lo, hi, lo);
        return GC_EINVAL;
    }
    mgc_nopreempt_begin(t);
    uint32_t s = find_slot(r, (uintptr_t)lo);
    uint32_t i = r->index[s] - 1;
    uintptr_t had_hi = r->ranges[i].hi;
    delete_slot(r, s);
    if (i != --r->n) { /* keep ranges[] dense: the last one fills the hole */
        r->ranges[i] = r->ranges[r->n];
        r->index[find_slot(r, r->ranges[i].lo)] = i + 1;
    }
    mgc_nopreempt_end(t);
    if (had_hi == (uintptr_t)hi) return GC_OK;
    /* Removed anyway: the caller is done with the memory at lo, and a range
     * left over memory about to be freed could crash the next scan. */
    mgc_warn("gc_remove_thread_roots(%p, %p): the range at %p was registered with hi %p; "
             "removed it; pass the hi of the last gc_add_thread_roots for this lo",
             lo, hi, lo, (void *)had_hi);
    return GC_EINVAL;
}

/* ** The thread is leaving the list (unregistering, or gone in a forked
 * child): its ranges are no longer roots.  No collector can see t now. */
void mgc_thread_roots_drop(gc_thread *t) {
    free(t->roots.ranges);
    memset(&t->roots, 0, sizeof t->roots);
}

/* ---- where a stopped thread is running ------------------------------------ */

/* ** Called by the thread itself when it stops or parks at sp (in a signal
 * handler: only async-signal-safe calls).  Off its own stack, note the
 * sigaltstack it may be on, for the scan. */
void mgc_thread_roots_note_sp(gc_thread *t, uintptr_t sp) {
    if (likely(sp - t->stack_lo < t->stack_hi - t->stack_lo)) return;
    stack_t ss;
    t->roots.alt_lo = t->roots.alt_hi = 0;
    if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
        t->roots.alt_lo = (uintptr_t)ss.ss_sp;
        t->roots.alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
    }
}

/* ** The page size, for probes (mincore wants page-aligned addresses). */
static long page_size(void) { return getpagesize(); }

/* ** Can the page at p be read without a fault?  process_vm_readv on our own
 * process reports unmapped and PROT_NONE pages (EFAULT) without faulting;
 * where it is not allowed (seccomp), mincore knows only "mapped". */
static bool page_readable(uintptr_t p, bool *exact) {
    static _Atomic int no_pvr;
    char c;
    if (!atomic_load_explicit(&no_pvr, memory_order_relaxed)) {
        struct iovec local = {&c, 1}, remote = {(void *)p, 1};
        if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1) return *exact = true;
        if (errno == EFAULT) return false;
        atomic_store_explicit(&no_pvr, 1, memory_order_relaxed);
    }
    unsigned char v;
    *exact = false;
    return mincore((void *)(p & ~(uintptr_t)(page_size() - 1)), 1, &v) == 0;
}

/* ** The lowest address from which [lo, hi) is readable up to hi (hi's page
 * readable: it holds the thread's first frames).  A stack mapping is
 * readable from some page up; binary search for it. */
static uintptr_t readable_from(uintptr_t lo, uintptr_t hi) {
    uintptr_t ps = (uintptr_t)page_size();
    uintptr_t a = (lo + ps - 1) & ~(ps - 1), b = (hi - 1) & ~(ps - 1); /* b readable */
    bool exact;
    if (a > b) return lo;
    while (a < b) {
        uintptr_t m = a + (((b - a) / ps) / 2) * ps;
        if (page_readable(m, &exact)) b = m;
        else a = m + ps;
    }
    return b;
}

/* ** How far up from sp an unknown stack can be read, at most max bytes. */
static uintptr_t readable_up_to(uintptr_t sp, size_t max) {
    uintptr_t ps = (uintptr_t)page_size();
    uintptr_t p = (sp & ~(ps - 1)) + ps, end = sp + max;
    bool exact = true;
    while (p < end && page_readable(p, &exact) && exact) p += ps;
    return p < end ? p : end;
}

/* One warning about an unknown stack per process, printed by a thread
 * that is not stopping anyone (the scanner may not write to stderr while a
 * stopped thread could hold stdio's lock). */
static _Atomic int unknown_warned; /* 0, 1: pending, 2: printed */
static _Atomic uintptr_t unknown_sp;
static _Atomic int unknown_id;

static void warn_deferred(void) {
    int one = 1;
    if (atomic_load_explicit(&unknown_warned, memory_order_relaxed) != 1 ||
        !atomic_compare_exchange_strong(&unknown_warned, &one, 2))
        return;
    mgc_warn("mark: registered thread %d stopped on a stack mgc does not know (sp %#lx, "
             "outside its own stack): its own stack was scanned whole, the unknown one only "
             "from sp up to 64 KiB; register a coroutine's stack with gc_add_thread_roots(lo, hi) "
             "on the thread that runs it", atomic_load(&unknown_id),
             (unsigned long)atomic_load(&unknown_sp));
}

/* ** For the markers, once they have restarted the thread they scanned. */
void mgc_thread_roots_warn_deferred(void) { warn_deferred(); }

/* ** The stack sp runs on, when sp is not on the thread's own stack and no
 * range holds it: the sigaltstack noted, else a bounded guess. */
static uint64_t scan_current_stack(gc_thread *t, uintptr_t sp, mgc_range_fn fn, void *arg) {
    uintptr_t hi;
    if (sp >= t->roots.alt_lo && sp < t->roots.alt_hi) {
        hi = align_down(t->roots.alt_hi);
    } else {
        hi = align_down(readable_up_to(sp, UNKNOWN_STACK_SCAN));
        if (atomic_load(&unknown_warned) == 0) { /* scanners hold the threads lock */
            atomic_store(&unknown_sp, sp);
            atomic_store(&unknown_id, t->id);
            atomic_store(&unknown_warned, 1);
        }
    }
    if (hi <= sp) return 0;
    fn(sp, hi, arg);
    return hi - sp;
}

/* ** Is sp inside one of t's ranges (a registered coroutine stack)? */
static bool sp_in_ranges(const gc_thread *t, uintptr_t sp) {
    for (uint32_t i = 0; i < t->roots.n; i++)
        if (sp >= t->roots.ranges[i].lo && sp < t->roots.ranges[i].hi) return true;
    return false;
}

/* ** Scan what thread t (stopped or held, at sp) holds: its stack and its
 * thread-roots ranges.  Returns the bytes scanned.  On a registered
 * coroutine stack the own stack is scanned whole even when the coroutine
 * stack lies inside it (a big local array): the frames that switched to it
 * are below it. */
uint64_t mgc_thread_roots_scan(gc_thread *t, uintptr_t sp, mgc_range_fn fn, void *arg) {
    uint64_t bytes = 0;
    bool in_range = sp_in_ranges(t, sp);
    bool on_own = !in_range && sp - t->stack_lo < t->stack_hi - t->stack_lo;
    bool known = in_range || sp - t->stack_lo < t->stack_hi - t->stack_lo;
    uintptr_t lo = on_own ? sp : readable_from(t->stack_lo, t->stack_hi);
    fn(lo, t->stack_hi, arg);
    bytes += t->stack_hi - lo;
    for (uint32_t i = 0; i < t->roots.n; i++) {
        uintptr_t a = align_up(t->roots.ranges[i].lo), b = align_down(t->roots.ranges[i].hi);
        if (sp >= a && sp < b) a = sp; /* the stack it runs on: below sp is dead */
        if (b <= a) continue;
        fn(a, b, arg);
        bytes += b - a;
    }
    if (!known) bytes += scan_current_stack(t, sp, fn, arg);
    return bytes;
}
