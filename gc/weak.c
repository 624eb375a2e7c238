/*
 * weak.c -- weak references: handles (gc_weak, Go's weak.Pointer) and weak
 * slots (Boehm's disappearing links), cleared when their object dies.
 *
 * Each registration is a "special" record on the span of its target
 * object, as Go keeps its specials: the span's sweep looks at its specials
 * before it frees anything, and clears every weak reference whose target is
 * unmarked.  So a weak reference is cleared exactly when its object is
 * freed, with no work in any pause, and a span without weak references pays
 * one load per sweep.
 *
 * Reading is the delicate part.  Between mark termination and the sweep of
 * the target's span, a dead object is still there and its weak references
 * are not yet cleared; a reader must not hand it out (it would resurrect a
 * freed object).  So a reader decides by the span's state: not yet swept
 * this cycle -- the object is alive iff it is marked (marking is over, the
 * bits are final); being swept -- wait for it; swept -- the sweep has
 * cleared the reference if the object died, so a reference still set is
 * alive.  The reference is read again after the span's sweepgen (acquire,
 * pairing with the sweep's release), so a clear that raced with the read is
 * seen.  During marking every span is swept, and a reader that gets an
 * object shades it (as Go does), so the object cannot die under it this
 * cycle even if it was unreachable until then.  The whole read is one
 * no-preempt section, like the write barrier, so the marking flag cannot
 * change under it.
 *
 * The records and their lock are gc/special.c's, which also holds the
 * sweep's side (clearing comes before finalizers resurrect).  Handles
 * live in malloc'd memory, never scanned, so they never keep their target;
 * the program frees them with gc_weak_free.
 */
#include <stdlib.h>

#include "gc/gc.h"
#include "gc/special.h"
#include "gc/workbuf.h"

/* ** Record a weak reference of kind to the object at obj on span s. */
static bool add_special(gc_thread *t, mspan *s, uintptr_t obj, int kind, void *key) {
    mgc_lock(t, &mgc_special_lock);
    mgc_special *sp = mgc_special_alloc_locked();
    if (sp) {
        sp->obj = obj;
        sp->kind = kind;
        if (kind == SPECIAL_HANDLE) sp->u.handle = key;
        else sp->u.slot = key;
        mgc_special_link_locked(s, sp);
    }
    mgc_unlock(t, &mgc_special_lock);
    return sp != NULL;
}

/* ** Remove the special of kind for handle/slot on the span of obj (none
 * if a sweep already cleared it). */
static void remove_special(gc_thread *t, uintptr_t obj, int kind, const void *key) {
    mspan *s = mgc_span_of_heap(obj);
    if (!s) return;
    mgc_lock(t, &mgc_special_lock);
    mgc_special *sp = mgc_special_unlink_locked(s, obj, kind, key);
    if (sp) mgc_special_free_locked(sp);
    mgc_unlock(t, &mgc_special_lock);
}

/* ** The mark bit of p's slot, read while a sweep may be swapping the
 * span's bitmaps: racy by design (the caller revalidates sweepgen), so
 * ThreadSanitizer is told not to look; written out, not through the
 * header's inline helpers, which would be instrumented if not inlined. */
__attribute__((no_sanitize("thread"), noinline)) static bool marked_racy(const mspan *s, uintptr_t p) {
    unsigned i = s->nelems == 1 ? 0 : (unsigned)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
    const uint64_t *bits = s->gcmark_bits;
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* White-box tests: nonzero widens the windows between reading the
 * decision and the heap's sweepgen and between that and the span's, by
 * that many sched_yield calls each, so the races below come in every run
 * instead of one in a few thousand. */
_Atomic int mgc_weak_test_yields;

/* ** Load a weak reference (a handle's target or a slot) for a reader:
 * the object if it is alive, else 0.  See the file comment.  Inside a
 * no-preempt section of t. */
static uintptr_t weak_load(gc_thread *t, const _Atomic uintptr_t *ref) {
    for (;;) {
        uintptr_t p = atomic_load_explicit(ref, memory_order_acquire);
        if (!p) return 0;
        mspan *s = mgc_span_of_heap(p);
        if (!s) return 0;
        /* Read before the heap's sweepgen: the handshake mode clears it
         * after the advance (gc/handshake.c), so "not decided" here means
         * hg below is the advanced one; and a decision read just before
         * the advance names the old sweepgen, so it is not applied to hg
         * read after it (whose swept spans have fresh mark bits). */
        int yields = atomic_load_explicit(&mgc_weak_test_yields, memory_order_relaxed);
        uint64_t d = atomic_load(&mgc_mark_decided);
        for (int y = yields; y > 0; y--) sched_yield();
        uint32_t hg = atomic_load(&mgc_heap.sweepgen);
        for (int y = yields; y > 0; y--) sched_yield();
        uint32_t sg = atomic_load_explicit(&s->sweepgen, memory_order_acquire);
        if (atomic_load_explicit(ref, memory_order_acquire) != p) continue; /* cleared meanwhile */
        /* The span's state only means something against the heap's
         * sweepgen it was read under.  If the advance came between the two
         * reads, sg may already be the next cycle's "swept" (hg + 2), which
         * no case below expects: it fell to the "decided" case and read the
         * mark bits the sweep had just cleared, so a held object's handle
         * read NULL (weak/concurrent_readers_during_marking_and_sweeping,
         * about one run in 2000 under ASan).  Decide again. */
        if (atomic_load(&mgc_heap.sweepgen) != hg) continue;
        bool decided = false;
        if (MGC_DECISION_SWEEPGEN(d) == hg) {
            /* Tentative: the coordinator is checking for resurrections; an
             * aborted decision must not have said "dead" to anyone. */
            if (MGC_DECISION_STATE(d) == MGC_DECISION_TENTATIVE) {
                sched_yield();
                continue;
            }
            decided = MGC_DECISION_STATE(d) == MGC_DECISION_FINAL;
        }
        bool alive;
        if (sg == hg - 1) { /* being swept: its weak references are being decided */
            sched_yield();
            continue;
        } else if (sg == hg - 2 || sg == hg + 1) { /* not swept since the last mark */
            alive = marked_racy(s, p);
            /* A sweep that began meanwhile may have swapped the bitmaps
             * under the read: decide again (seqlock, as gc_base does). */
            if (atomic_load_explicit(&s->sweepgen, memory_order_acquire) != sg) continue;
        } else if (decided) {
            /* A mark found complete, its sweep not begun (handshake mode):
             * white is dead, and the mark bits are still this cycle's
             * unless the advance came meanwhile (then decide again). */
            alive = marked_racy(s, p);
            if (atomic_load_explicit(&s->sweepgen, memory_order_acquire) != sg) continue;
        } else {
            alive = true; /* swept: a dead object's reference would be 0 */
        }
        if (!alive) return 0;
        if (t->marking) {
            uint64_t before = t->gcw.bytes_marked;
            mgc_grey(&t->gcw, p);
            if (t->gcw.bytes_marked != before && !mgc_weak_resurrected()) return 0;
        }
        return p;
    }
}

MGC_API gc_weak *gc_weak_new(void *obj) {
    gc_thread *t = mgc_caller("gc_weak_new", "returning NULL");
    if (!t) return NULL;
    uintptr_t base;
    mspan *s = obj ? mgc_object_span(obj, &base) : NULL;
    if (!s) {
        mgc_warn("gc_weak_new(%p): not a pointer into a live heap object; pass what "
                 "gc_alloc returned", obj);
        return NULL;
    }
    gc_weak *w = malloc(sizeof *w);
    if (!w) {
        mgc_call_oom(sizeof *w);
        return NULL;
    }
    atomic_store(&w->target, base);
    if (!add_special(t, s, base, SPECIAL_HANDLE, w)) {
        free(w);
        mgc_call_oom(sizeof(mgc_special));
        return NULL;
    }
    return w;
}

MGC_API void *gc_weak_get(gc_weak *w) {
    if (!w) return NULL;
    gc_thread *t = mgc_caller("gc_weak_get", "returning NULL");
    if (!t) return NULL;
    mgc_nopreempt_begin(t);
    uintptr_t p = weak_load(t, &w->target);
    mgc_nopreempt_end(t);
    return (void *)p;
}

MGC_API void gc_weak_free(gc_weak *w) {
    if (!w) return;
    gc_thread *t = mgc_self;
    uintptr_t p = atomic_load(&w->target);
    /* Under the lock a sweep cannot be clearing it: either the special is
     * still there (remove it) or the sweep removed it and cleared w. */
    if (p) remove_special(t, p, SPECIAL_HANDLE, w);
    free(w);
}

MGC_API int gc_weak_slot_set(void **slot, void *obj) {
    gc_thread *t = mgc_caller("gc_weak_slot_set", "nothing is stored");
    if (!t) return atomic_load(&mgc_initialized) ? GC_ENOTREG : GC_ENOTINIT;
    if (!slot) {
        mgc_warn("gc_weak_slot_set: slot is NULL; pass the address of the pointer to clear");
        return GC_EINVAL;
    }
    gc_weak_slot_clear(slot);
    if (!obj) return GC_OK;
    uintptr_t base;
    mspan *s = mgc_object_span(obj, &base);
    if (!s) {
        mgc_warn("gc_weak_slot_set(%p, %p): not a pointer into a live heap object", (void *)slot, obj);
        return GC_EINVAL;
    }
    __atomic_store_n(slot, (void *)base, __ATOMIC_RELEASE);
    if (!add_special(t, s, base, SPECIAL_SLOT, slot)) {
        __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
        mgc_call_oom(sizeof(mgc_special));
        return GC_ENOMEM;
    }
    return GC_OK;
}

MGC_API void *gc_weak_slot_get(void **slot) {
    if (!slot) return NULL;
    gc_thread *t = mgc_caller("gc_weak_slot_get", "returning NULL");
    if (!t) return NULL;
    mgc_nopreempt_begin(t);
    uintptr_t p = weak_load(t, (const _Atomic uintptr_t *)(void *)slot);
    mgc_nopreempt_end(t);
    return (void *)p;
}

MGC_API void gc_weak_slot_clear(void **slot) {
    if (!slot) return;
    gc_thread *t = mgc_self;
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (p) remove_special(t, (uintptr_t)p, SPECIAL_SLOT, slot);
    __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
}
