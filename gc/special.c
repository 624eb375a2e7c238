/*
 * special.c -- the records attached to heap objects (see special.h) and
 * the one place that decides their fate: the sweep of their span.
 *
 * A sweep sees the span's final mark bits before they become allocation
 * bits.  For the specials of unmarked (unreachable) objects it runs three
 * passes, in this order, because each depends on the one before:
 *
 *   1. weak references are cleared -- even for an object a finalizer is
 *      about to resurrect, so no weak reference ever hands out an object
 *      whose finalizer has run or is queued (Go's rule);
 *   2. finalizers are queued and their objects resurrected: the mark bit is
 *      set, so the slot survives this sweep; the object, and everything it
 *      reaches (marked during the mark through the finalizer root table),
 *      lives until its finalizer has run and it is unreachable again;
 *   3. cleanups are queued for objects that are still unmarked, i.e. that
 *      have no finalizer: an object with both is cleaned up only after its
 *      finalizer has run and it dies for good.
 *
 * Returns the number of objects resurrected, which the sweep keeps.
 */
#include "gc/gc.h"
#include "gc/special.h"

mgc_mutex mgc_special_lock = MGC_MUTEX_INIT(SPECIAL);

/* Special records come from chunks of OS memory, not malloc: they are
 * freed inside no-preempt sections (a sweep), where calling free() could
 * wait for malloc's lock held by a thread the collector has stopped. */
static mgc_special *free_specials; /* mgc_special_lock */
#define SPECIAL_CHUNK (64 * 1024)

mgc_special *mgc_special_alloc_locked(void) {
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

void mgc_special_free_locked(mgc_special *sp) {
    sp->next = free_specials;
    free_specials = sp;
}

void mgc_special_link_locked(mspan *s, mgc_special *sp) {
    sp->next = atomic_load_explicit(&s->specials, memory_order_relaxed);
    /* Release: the sweep's unlocked "any specials?" test may see it. */
    atomic_store_explicit(&s->specials, sp, memory_order_release);
}

static const void *special_key(const mgc_special *sp) {
    if (sp->kind == SPECIAL_HANDLE) return sp->u.handle;
    if (sp->kind == SPECIAL_SLOT) return sp->u.slot;
    if (sp->kind == SPECIAL_CLEANUP) return (const void *)(uintptr_t)sp->id;
    return NULL;
}

mgc_special *mgc_special_unlink_locked(mspan *s, uintptr_t obj, int kind, const void *key) {
    _Atomic(mgc_special *) *link = &s->specials;
    for (mgc_special *sp = atomic_load_explicit(link, memory_order_relaxed); sp;
         sp = atomic_load_explicit(link, memory_order_relaxed)) {
        if (sp->kind == kind && sp->obj == obj && (!key || special_key(sp) == key)) {
            atomic_store_explicit(link, sp->next, memory_order_relaxed);
            return sp;
        }
        link = (_Atomic(mgc_special *) *)&sp->next;
    }
    return NULL;
}

mgc_special *mgc_special_find_locked(mspan *s, uintptr_t obj, int kind) {
    for (mgc_special *sp = atomic_load_explicit(&s->specials, memory_order_relaxed); sp; sp = sp->next)
        if (sp->kind == kind && sp->obj == obj) return sp;
    return NULL;
}

mspan *mgc_object_span(const void *p, uintptr_t *base) {
    void *b = gc_base(p);
    if (!b) return NULL;
    *base = (uintptr_t)b;
    return mgc_span_of_heap(*base);
}

/* ** Is sp's object unmarked (dead, unless a finalizer revives it)? */
static bool special_dead(mspan *s, const mgc_special *sp) {
    return !mgc_bit_get(s->gcmark_bits, mgc_span_obj_index(s, sp->obj));
}

/* ** One pass over s's specials: unlink and hand to fn those of kind whose
 * object is unmarked. */
static unsigned sweep_pass(mspan *s, int kind, void (*fn)(mspan *s, mgc_special *sp)) {
    unsigned n = 0;
    _Atomic(mgc_special *) *link = &s->specials;
    mgc_special *sp;
    while ((sp = atomic_load_explicit(link, memory_order_relaxed)) != NULL) {
        bool handled = (kind == 0 ? sp->kind <= SPECIAL_SLOT : sp->kind == kind) && special_dead(s, sp);
        if (!handled) {
            link = (_Atomic(mgc_special *) *)&sp->next;
            continue;
        }
        atomic_store_explicit(link, sp->next, memory_order_relaxed);
        fn(s, sp);
        n++;
    }
    return n;
}

static void clear_weak(mspan *s, mgc_special *sp) {
    (void)s;
    if (sp->kind == SPECIAL_HANDLE) atomic_store_explicit(&sp->u.handle->target, 0, memory_order_release);
    else __atomic_store_n(sp->u.slot, NULL, __ATOMIC_RELEASE);
    mgc_special_free_locked(sp);
}

static void queue_finalizer(mspan *s, mgc_special *sp) {
    mgc_fin_root_remove_locked(sp);
    mgc_bit_set(s->gcmark_bits, mgc_span_obj_index(s, sp->obj)); /* resurrected */
    mgc_fin_enqueue_locked(sp);
}

static void queue_cleanup(mspan *s, mgc_special *sp) {
    (void)s;
    mgc_fin_root_remove_locked(sp);
    mgc_fin_enqueue_locked(sp);
}

/* ** Called by the sweep of s (which owns s) before the mark bits become
 * the allocation bits.  Returns the objects resurrected. */
unsigned mgc_specials_sweep(mspan *s) {
    mgc_mutex_lock(&mgc_special_lock);
    sweep_pass(s, 0, clear_weak);
    unsigned revived = sweep_pass(s, SPECIAL_FINALIZER, queue_finalizer);
    sweep_pass(s, SPECIAL_CLEANUP, queue_cleanup);
    mgc_mutex_unlock(&mgc_special_lock);
    return revived;
}
