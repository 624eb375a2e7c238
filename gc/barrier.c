/*
 * barrier.c -- gc_store, the write barrier.
 *
 * Go's hybrid barrier: while marking, a store of a pointer into the heap
 * (or a root range) shades both the pointer it overwrites and the one it
 * stores, then stores.  Shading the old value (Yuasa's deletion barrier)
 * stops the program from hiding an object by moving its only pointer from
 * an unscanned place into an already-scanned stack; shading the new value
 * (Dijkstra's insertion barrier) stops a pointer from an unscanned stack
 * landing in a black object.  Together they let each stack be scanned once,
 * with only its own thread stopped, and never rescanned.
 *
 * The whole barrier -- reading the marking flag, shading, storing -- is one
 * no-preempt section.  The flag is the thread's own (gc_thread.marking):
 * it changes only at the thread's handshakes (or with the world stopped),
 * and a thread never answers one inside such a section (the answer is
 * deferred to its end: see gc/stw.c), so a store is either entirely before
 * the thread entered the mark (plain store, made before any object was
 * scanned: gc/handshake.c) or entirely within it (barrier applied).
 * Without that, a thread interrupted between "flag is off" and its store
 * could overwrite a pointer after marking started without shading it.
 *
 * Shaded objects go to the thread's own gcwork, published to the global
 * pool when a buffer fills and flushed at mark termination.  Cost outside
 * marking: the TLS load, two counter updates and a predictable branch.
 *
 * Bulk stores (gc_store_range, gc_clear_range) are Go's typedmemmove and
 * bulkBarrierPreWrite: one no-preempt section and one test of the flag per
 * chunk of up to 64 KiB, not per word.  While marking, every old word of
 * the destination is shaded, then the bytes are moved, then every new word
 * of the destination is shaded (reading the new values from the
 * destination after the move covers overlap in either direction and a
 * source laid out differently from the destination).  Shading after the
 * move is as good as before it: the section keeps the mark from ending in
 * between, and the values were reachable from the source when the call
 * began.  Only the destination's pointer words are shaded (all words of a
 * scan object or of memory outside the heap, the map's words of a typed
 * object, none of a noscan object).  A long move is cut into chunks, each
 * its own section, so a stop never waits for more than a 64 KiB memmove:
 * chunks run from the low end when the destination is below the source and
 * from the high end otherwise, so no chunk reads bytes an earlier one wrote.
 */
#include "gc/gc.h"
#include "gc/barrier.h"
#include "gc/workbuf.h"

static mgc_mutex unregistered_lock = MGC_MUTEX_INIT(UNREGISTERED);
static gcwork unregistered_gcw; /* unregistered_lock */

/* ** The store while marking: shade the old and the new value (Go's hybrid
 * barrier), inside the no-preempt section the caller opened. */
static __attribute__((noinline)) void store_marking(gc_thread *t, void **slot, void *value) {
    mgc_shade(&t->gcw, (uintptr_t)*(void *volatile *)slot);
    mgc_shade(&t->gcw, (uintptr_t)value);
    if (unlikely(mgc_bc_on)) mgc_bc_store(slot, value);
    else *(void *volatile *)slot = value;
    mgc_nopreempt_end(t);
}

/* ** Hand what an unregistered thread shaded to the pool at once (no
 * termination flushes it); unregistered_lock held. */
static void unregistered_publish(void) {
    mgc_gcwork_dispose(&unregistered_gcw);
    unregistered_gcw.last = NULL;
    mgc_gcwork_account(&unregistered_gcw);
}

/* ** A NULL slot is refused.  An unregistered thread is never stopped, so
 * it cannot straddle a stop; it shades into a shared buffer flushed
 * straight to the pool. */
static __attribute__((noinline)) void store_unregistered(void **slot, void *value) {
    if (!slot) {
        mgc_warn("gc_store: the slot is NULL; pass the address of the field or variable to "
                 "store into (nothing stored)");
        return;
    }
    if (atomic_load(&mgc_marking)) {
        mgc_mutex_lock(&unregistered_lock);
        if (atomic_load(&mgc_marking)) {
            mgc_grey(&unregistered_gcw, (uintptr_t)*(void *volatile *)slot);
            mgc_grey(&unregistered_gcw, (uintptr_t)value);
            unregistered_publish();
            if (unlikely(mgc_bc_on)) {
                mgc_bc_store(slot, value);
                mgc_mutex_unlock(&unregistered_lock);
                return;
            }
        }
        mgc_mutex_unlock(&unregistered_lock);
    }
    *(void *volatile *)slot = value;
}

/* ** The rest of a store whose thread found the fork gate raised on
 * entering its section (gc/stw.c): wait there, then store as usual. */
static __attribute__((noinline)) void store_gated(gc_thread *t, void **slot, void *value) {
    mgc_nopreempt_gate(t);
    if (t->marking) {
        store_marking(t, slot, value);
        return;
    }
    *(void *volatile *)slot = value;
    mgc_nopreempt_end(t);
}

/* The common case -- a registered thread, a slot, no mark running -- is
 * the TLS load, the no-preempt count up, one load of the fork gate and one
 * of the flag, the store, the count down and one test of the thread's
 * pending requests: about 20 instructions on x86-64 and no register saved,
 * the rare cases being tail calls (it saved four registers when they were
 * inline; and two, with a stack frame, while the gate's wait was an inline
 * call in mgc_nopreempt_begin, written out here for that reason). */
MGC_API void gc_store_ptr(void **slot, void *value) {
    gc_thread *t = mgc_self;
    if (unlikely(t == NULL || slot == NULL)) {
        store_unregistered(slot, value);
        return;
    }
    t->nopreempt++; /* mgc_nopreempt_begin, the gate's wait a tail call */
    atomic_signal_fence(memory_order_seq_cst);
    if (unlikely(atomic_load_explicit(&mgc_fork_gate, memory_order_relaxed))) {
        store_gated(t, slot, value);
        return;
    }
    if (unlikely(t->marking)) {
        store_marking(t, slot, value);
        return;
    }
    *(void *volatile *)slot = value;
    mgc_nopreempt_end(t);
}

/* ---- bulk stores ------------------------------------------------------ */

#define BULK_CHUNK (64 * 1024)

/* ** Shade the pointer words among the aligned words that [lo, hi)
 * touches; s is the heap span holding the range, or NULL outside the heap.
 * A misaligned range's edge words are read whole (never past a page: an
 * aligned word lies in one), and other threads may be writing them: racy
 * reads by design, as the marker's. */
__attribute__((no_sanitize("address", "thread"))) static void shade_words(gcwork *w,
                                                                            const mspan *s,
                                                                            uintptr_t lo,
                                                                            uintptr_t hi) {
    lo &= ~(uintptr_t)7;
    hi = (hi + 7) & ~(uintptr_t)7;
    if (s && s->noscan) return;
    bool map = s && mgc_span_has_ptrmap(s);
    for (uintptr_t p = lo; p < hi; p += 8)
        if (!map || mgc_span_word_is_ptr(s, p)) mgc_shade(w, *(volatile const uintptr_t *)p);
}

/* ** One chunk while marking: shade the old words, move (or clear), shade
 * the new ones.  src NULL: clear. */
static __attribute__((noinline)) void bulk_marking(gcwork *w, const mspan *s, uintptr_t dst,
                                                   uintptr_t src, size_t n) {
    shade_words(w, s, dst, dst + n);
    if (src) {
        memmove((void *)dst, (const void *)src, n);
        shade_words(w, s, dst, dst + n);
    } else {
        memset((void *)dst, 0, n);
    }
    if (unlikely(mgc_bc_on)) mgc_bc_refresh(s, dst, dst + n);
}

/* ** One chunk of a registered thread's bulk store, in one no-preempt
 * section: entirely before a mark or entirely inside one. */
static void bulk_chunk(gc_thread *t, const mspan *s, uintptr_t dst, uintptr_t src, size_t n) {
    mgc_nopreempt_begin(t);
    if (unlikely(t->marking))
        bulk_marking(&t->gcw, s, dst, src, n);
    else if (src)
        memmove((void *)dst, (const void *)src, n);
    else
        memset((void *)dst, 0, n);
    mgc_nopreempt_end(t);
}

/* ** An unregistered thread is never stopped, so it moves everything at
 * once, under the lock mark termination takes to turn the barrier off. */
static void bulk_unregistered(const mspan *s, uintptr_t dst, uintptr_t src, size_t n) {
    if (atomic_load(&mgc_marking)) {
        mgc_mutex_lock(&unregistered_lock);
        if (atomic_load(&mgc_marking)) {
            bulk_marking(&unregistered_gcw, s, dst, src, n);
            unregistered_publish();
            mgc_mutex_unlock(&unregistered_lock);
            return;
        }
        mgc_mutex_unlock(&unregistered_lock);
    }
    if (src) memmove((void *)dst, (const void *)src, n);
    else memset((void *)dst, 0, n);
}

/* ** The checks both bulk calls make once: false (after a message, if
 * warranted) when nothing is to be done.  A destination inside a heap
 * object must end inside it: running past would overwrite the neighbour,
 * so nothing is moved.  Misaligned ranges are moved as asked (no data is
 * dropped) with a message: pointers in them are hidden from the
 * collector.  *sp: the heap span holding dst, or NULL. */
static bool bulk_ok(const char *fn, uintptr_t dst, uintptr_t src, bool has_src, size_t n,
                    mspan **sp) {
    *sp = NULL;
    if (n == 0) return false;
    if (!dst || (has_src && !src)) {
        mgc_warn("%s: %s is NULL with %zu bytes to %s; pass the addresses of the first "
                 "words (nothing done)", fn, dst ? "src" : "dst", n, has_src ? "copy" : "clear");
        return false;
    }
    mspan *s = mgc_span_of_heap(dst);
    if (s) {
        uintptr_t end = s->base + (uintptr_t)(mgc_span_obj_index(s, dst) + 1) * s->elemsize;
        if (n > end - dst) {
            mgc_warn("%s(%#lx, %zu bytes): the range runs %zu bytes past the end of the heap "
                     "object it starts in; pass at most %zu bytes (nothing done)", fn,
                     (unsigned long)dst, n, (size_t)(n - (end - dst)), (size_t)(end - dst));
            return false;
        }
        *sp = s;
    }
    if ((dst | src | n) & 7)
        mgc_warn("%s(%#lx, %#lx, %zu): not whole 8-byte-aligned words; pointers must be "
                 "aligned words to be seen by the collector: align both addresses and pass "
                 "a multiple of 8 bytes (the bytes were %s as asked)", fn, (unsigned long)dst,
                 (unsigned long)src, n, has_src ? "copied" : "cleared");
    return true;
}

/* ** A bulk move (src) or clear (src 0), chunk by chunk in the direction
 * that never reads what it already wrote. */
static void bulk(const char *fn, void *dstp, const void *srcp, bool has_src, size_t n) {
    uintptr_t dst = (uintptr_t)dstp, src = (uintptr_t)srcp;
    mspan *s;
    if (!bulk_ok(fn, dst, src, has_src, n, &s)) return;
    gc_thread *t = mgc_self;
    if (!t) {
        bulk_unregistered(s, dst, src, n);
        return;
    }
    if (!src || dst <= src || dst >= src + n) {
        for (size_t off = 0; off < n; off += BULK_CHUNK)
            bulk_chunk(t, s, dst + off, src ? src + off : 0,
                       n - off < BULK_CHUNK ? n - off : BULK_CHUNK);
        return;
    }
    for (size_t off = n; off > 0;) {
        size_t c = off < BULK_CHUNK ? off : BULK_CHUNK;
        off -= c;
        bulk_chunk(t, s, dst + off, src + off, c);
    }
}

MGC_API void gc_store_range(void *dst, const void *src, size_t nbytes) {
    bulk("gc_store_range", dst, src, true, nbytes);
}

MGC_API void gc_clear_range(void *dst, size_t nbytes) {
    bulk("gc_clear_range", dst, NULL, false, nbytes);
}

/* ** Mark termination holds this around turning the barrier off, so an
 * unregistered thread's shading is either flushed before (and seen as new
 * work) or not done at all. */
void mgc_barrier_lock_unregistered(void) { mgc_mutex_lock(&unregistered_lock); }
void mgc_barrier_unlock_unregistered(void) { mgc_mutex_unlock(&unregistered_lock); }
