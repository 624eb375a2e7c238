/*
 * mark.c -- finding what is alive.
 *
 * Tri-colour marking over per-span mark bits: an object is white while its
 * bit in gcmarkBits is clear, grey once the bit is set and the object is
 * queued in a work buffer, black once it has been scanned.  Scanning is
 * conservative: every aligned word of a root range, a thread's stack, or a
 * scan-class object is looked up with mgc_span_of_heap(), and if it points
 * at or inside an allocated slot, that slot is greyed.  Noscan objects are
 * marked but never queued.
 *
 * This is the stop-the-world mark: it runs with every other registered
 * thread stopped outside any no-preempt section, after their caches were
 * flushed, so every span's freeindex/allocBits are stable and "allocated"
 * can be trusted.  A word that points into a free slot marks nothing.
 *
 * No recursion anywhere: greying pushes onto the work buffers, and the
 * drain loop pops until they are empty.
 */
#include "gc/workbuf.h"

/* ** Grey the object that p points into, if p is a heap pointer. */
static inline void grey_word(gcwork *w, uintptr_t p) {
    mspan *s = mgc_span_of_heap(p);
    if (!s) return;
    unsigned i = mgc_span_obj_index(s, p);
    if (!mgc_span_is_allocated(s, i)) return;
    uint64_t *word = &s->gcmarkBits[i / 64];
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (*word & bit) return;
    *word |= bit;
    w->bytes_marked += s->elemsize;
    if (!s->noscan) mgc_gcwork_put(w, s->base + (uintptr_t)i * s->elemsize);
}

/* ** Scan [lo, hi) word by word.  Stacks and root ranges may hold anything;
 * address sanitizers must not see these reads as bugs. */
__attribute__((no_sanitize_address)) static void scan_range(gcwork *w, uintptr_t lo, uintptr_t hi) {
    for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t))
        grey_word(w, *(const uintptr_t *)p);
    w->scan_bytes += hi - lo;
}

static void scan_root_cb(uintptr_t lo, uintptr_t hi, void *arg) { scan_range(arg, lo, hi); }

/* ** A grey object's slot: from its start to the end of its size class. */
static void scan_object(gcwork *w, uintptr_t obj) {
    mspan *s = mgc_span_of_heap(obj);
    scan_range(w, obj, obj + s->elemsize);
}

/* ** The thread's stack from where it stopped (or from here, for the
 * collecting thread) to its base. */
static uint64_t scan_stack(gcwork *w, gc_thread *t, uintptr_t sp) {
    if (sp < t->stack_lo || sp >= t->stack_hi) {
        mgc_warn("mark: a registered thread's stack pointer %#lx is outside its stack "
                 "[%#lx, %#lx); is it running on another stack (coroutines, sigaltstack)? "
                 "Its stack is not scanned this cycle", (unsigned long)sp,
                 (unsigned long)t->stack_lo, (unsigned long)t->stack_hi);
        return 0;
    }
    scan_range(w, sp, t->stack_hi);
    return t->stack_hi - sp;
}

static void drain(gcwork *w) {
    uintptr_t obj;
    while ((obj = mgc_gcwork_try_get(w)) != 0) scan_object(w, obj);
}

/* ** Mark everything reachable from the roots; the world is stopped and
 * the threads lock is held.  Returns the bytes marked; *root_bytes gets the
 * bytes of roots and stacks scanned. */
__attribute__((noinline)) uint64_t mgc_mark(uint64_t *root_bytes) {
    __builtin_unwind_init(); /* our own callee-saved registers onto our stack */
    gcwork w;
    mgc_gcwork_init(&w);
    gc_thread *self = mgc_self;
    uint64_t roots = mgc_roots_each(scan_root_cb, &w);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        uintptr_t sp = (t == self) ? mgc_current_sp() : t->suspended_sp;
        roots += scan_stack(&w, t, sp);
        grey_word(&w, t->cache.tiny);
        drain(&w);
    }
    drain(&w);
    mgc_gcwork_dispose(&w);
    *root_bytes = roots;
    return w.bytes_marked;
}
