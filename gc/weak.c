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
 * All specials lists are protected by one lock (registrations and sweeps of
 * spans that have weak references are rare next to allocation).  Handles
 * live in malloc'd memory, never scanned, so they never keep their target;
 * the program frees them with gc_weak_free.
 */
#include <stdlib.h>

#include "gc/workbuf.h"

enum { SPECIAL_HANDLE = 1, SPECIAL_SLOT = 2 };

typedef struct mgc_special {
    struct mgc_special *next;
    uintptr_t obj; /* the target object's base */
    int kind;
    union {
        struct gc_weak *handle;
        void **slot;
    } u;
} mgc_special;

struct gc_weak {
    _Atomic uintptr_t target; /* 0 once the object died or the handle was freed */
};

static pthread_mutex_t weak_lock = PTHREAD_MUTEX_INITIALIZER; /* every specials list, free_specials */

/* Special records come from chunks of OS memory, not malloc: they are
 * freed inside no-preempt sections (a sweep), where calling free() could
 * wait for malloc's lock held by a thread the collector has stopped. */
static mgc_special *free_specials; /* weak_lock */
#define SPECIAL_CHUNK (64 * 1024)

/* ** A zeroed special record, or NULL; weak_lock held. */
static mgc_special *special_alloc_locked(void) {
    if (!free_specials) {
        char *chunk = mgc_sys_alloc(SPECIAL_CHUNK, &mgc_hstats.meta_sys);
        if (!chunk) return NULL;
        for (size_t off = 0; off + sizeof(mgc_special) <= SPECIAL_CHUNK; off += sizeof(mgc_special)) {
            mgc_special *sp = (mgc_special *)(chunk + off);
            sp->next = free_specials;
            free_specials = sp;
        }
    }
    mgc_special *sp = free_specials;
    free_specials = sp->next;
    memset(sp, 0, sizeof *sp);
    return sp;
}

static void special_free_locked(mgc_special *sp) {
    sp->next = free_specials;
    free_specials = sp;
}

/* ** The span and base of a live heap object p points into, or NULL. */
static mspan *object_span(const void *p, uintptr_t *base) {
    void *b = gc_base(p);
    if (!b) return NULL;
    *base = (uintptr_t)b;
    return mgc_span_of_heap(*base);
}

/* ** Record a weak reference of kind to the object at obj on span s. */
static bool add_special(gc_thread *t, mspan *s, uintptr_t obj, int kind, void *key) {
    mgc_lock(t, &weak_lock);
    mgc_special *sp = special_alloc_locked();
    if (sp) {
        sp->obj = obj;
        sp->kind = kind;
        if (kind == SPECIAL_HANDLE) sp->u.handle = key;
        else sp->u.slot = key;
        sp->next = atomic_load_explicit(&s->specials, memory_order_relaxed);
        atomic_store_explicit(&s->specials, sp, memory_order_release);
    }
    mgc_unlock(t, &weak_lock);
    return sp != NULL;
}

/* ** Unlink the special of kind for handle/slot on the span of obj; false
 * if there is none (already cleared by a sweep). */
static bool remove_special(gc_thread *t, uintptr_t obj, int kind, const void *key) {
    mspan *s = mgc_span_of_heap(obj);
    if (!s) return false;
    bool found = false;
    mgc_lock(t, &weak_lock);
    _Atomic(mgc_special *) *link = &s->specials;
    for (mgc_special *sp = atomic_load_explicit(link, memory_order_relaxed); sp;
         sp = atomic_load_explicit(link, memory_order_relaxed)) {
        const void *k = sp->kind == SPECIAL_HANDLE ? (const void *)sp->u.handle : (const void *)sp->u.slot;
        if (sp->kind == kind && k == key && sp->obj == obj) {
            atomic_store_explicit(link, sp->next, memory_order_relaxed);
            special_free_locked(sp);
            found = true;
            break;
        }
        link = (_Atomic(mgc_special *) *)&sp->next;
    }
    mgc_unlock(t, &weak_lock);
    return found;
}

/* ** Called by the sweep of s (which owns s) before the mark bits become
 * the allocation bits: clear the weak references to unmarked objects. */
void mgc_weak_sweep(mspan *s) {
    pthread_mutex_lock(&weak_lock);
    _Atomic(mgc_special *) *link = &s->specials;
    mgc_special *sp;
    while ((sp = atomic_load_explicit(link, memory_order_relaxed)) != NULL) {
        unsigned i = mgc_span_obj_index(s, sp->obj);
        if (mgc_bit_get(s->gcmarkBits, i)) {
            link = (_Atomic(mgc_special *) *)&sp->next;
            continue;
        }
        if (sp->kind == SPECIAL_HANDLE) atomic_store_explicit(&sp->u.handle->target, 0, memory_order_release);
        else __atomic_store_n(sp->u.slot, NULL, __ATOMIC_RELEASE);
        atomic_store_explicit(link, sp->next, memory_order_relaxed);
        special_free_locked(sp);
    }
    pthread_mutex_unlock(&weak_lock);
}

/* ** The mark bit of p's slot, read while a sweep may be swapping the
 * span's bitmaps: racy by design (the caller revalidates sweepgen), so
 * ThreadSanitizer is told not to look; written out, not through the
 * header's inline helpers, which would be instrumented if not inlined. */
__attribute__((no_sanitize("thread"), noinline)) static bool marked_racy(const mspan *s, uintptr_t p) {
    unsigned i = s->nelems == 1 ? 0 : (unsigned)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
    const uint64_t *bits = s->gcmarkBits;
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* ** Load a weak reference (a handle's target or a slot) for a reader:
 * the object if it is alive, else 0.  See the file comment.  Inside a
 * no-preempt section of t. */
static uintptr_t weak_load(gc_thread *t, const _Atomic uintptr_t *ref) {
    for (;;) {
        uintptr_t p = atomic_load_explicit(ref, memory_order_acquire);
        if (!p) return 0;
        mspan *s = mgc_span_of_heap(p);
        if (!s) return 0;
        uint32_t hg = atomic_load(&mgc_heap.sweepgen);
        uint32_t sg = atomic_load_explicit(&s->sweepgen, memory_order_acquire);
        if (atomic_load_explicit(ref, memory_order_acquire) != p) continue; /* cleared meanwhile */
        bool alive;
        if (sg == hg - 1) { /* being swept: its weak references are being decided */
            sched_yield();
            continue;
        } else if (sg == hg - 2 || sg == hg + 1) { /* not swept since the last mark */
            alive = marked_racy(s, p);
            /* A sweep that began meanwhile may have swapped the bitmaps
             * under the read: decide again (seqlock, as gc_base does). */
            if (atomic_load_explicit(&s->sweepgen, memory_order_acquire) != sg) continue;
        } else {
            alive = true; /* swept: a dead object's reference would be 0 */
        }
        if (!alive) return 0;
        if (atomic_load_explicit(&mgc_marking, memory_order_relaxed)) mgc_grey(&t->gcw, p);
        return p;
    }
}

static gc_thread *reader(const char *call) {
    gc_thread *t = mgc_self;
    if (!t)
        mgc_warn("%s: the calling thread is not registered; call gc_register_thread() "
                 "first (returning NULL)", call);
    return t;
}

MGC_API gc_weak *gc_weak_new(void *obj) {
    gc_thread *t = reader("gc_weak_new");
    if (!t) return NULL;
    uintptr_t base;
    mspan *s = obj ? object_span(obj, &base) : NULL;
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
    gc_thread *t = reader("gc_weak_get");
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
    gc_thread *t = reader("gc_weak_slot_set");
    if (!t) return GC_ENOTREG;
    if (!slot) {
        mgc_warn("gc_weak_slot_set: slot is NULL; pass the address of the pointer to clear");
        return GC_EINVAL;
    }
    gc_weak_slot_clear(slot);
    if (!obj) return GC_OK;
    uintptr_t base;
    mspan *s = object_span(obj, &base);
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
    gc_thread *t = reader("gc_weak_slot_get");
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
