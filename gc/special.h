/*
 * special.h -- records attached to heap objects: weak references,
 * finalizers and cleanups (Go's "specials").
 *
 * A special hangs on the span of its object, in the span's `specials`
 * list, so the sweep of that span -- and only it -- decides the fate of
 * every special of every object on it, before any slot is freed.  One lock
 * (mgc_special_lock) guards every specials list, the free records, the
 * finalizer root table and the finalizer queue: registrations and the
 * sweeps of spans that have specials are rare next to allocation.
 * Registered threads take it with mgc_lock (inside a no-preempt section),
 * so no stopped thread ever holds it.
 */
#ifndef MGC_SPECIAL_H
#define MGC_SPECIAL_H

#include "gc/gc.h"

enum {
    SPECIAL_HANDLE = 1, /* gc_weak handle (gc/weak.c) */
    SPECIAL_SLOT,       /* weak slot, a disappearing link (gc/weak.c) */
    SPECIAL_FINALIZER,  /* gc_set_finalizer (gc/finalizer.c) */
    SPECIAL_CLEANUP     /* gc_add_cleanup (gc/finalizer.c) */
};

typedef struct mgc_special {
    struct mgc_special *next; /* the span's list; the finalizer queue once queued */
    uintptr_t obj;            /* the object's base */
    int kind;
    uint32_t root;            /* finalizer/cleanup: index in the root table */
    union {
        struct gc_weak *handle;
        void **slot;
        gc_finalizer_fn fin;
        gc_cleanup_fn cleanup;
    } u;
    void *arg;   /* finalizer/cleanup argument, kept alive by the collector */
    uint64_t id; /* cleanup: what gc_add_cleanup returned */
} mgc_special;

/* A weak handle: malloc'd, never scanned, so it never keeps its target. */
struct gc_weak {
    _Atomic uintptr_t target; /* 0 once the object died or the handle was freed */
};

extern HIDDEN mgc_mutex mgc_special_lock;
HIDDEN mgc_special *mgc_special_alloc_locked(void); /* zeroed, or NULL */
HIDDEN void mgc_special_free_locked(mgc_special *sp);
HIDDEN void mgc_special_link_locked(mspan *s, mgc_special *sp);
/* Unlink the first special on s matching obj and kind (and key, if not
 * NULL: the handle, the slot, or the cleanup id); the record, still
 * allocated, or NULL. */
HIDDEN mgc_special *mgc_special_unlink_locked(mspan *s, uintptr_t obj, int kind, const void *key);
HIDDEN mgc_special *mgc_special_find_locked(mspan *s, uintptr_t obj, int kind);
/* The span and base of the live heap object p points into, or NULL. */
HIDDEN mspan *mgc_object_span(const void *p, uintptr_t *base);

/* gc/finalizer.c: the finalizer/cleanup records' side of a sweep. */
HIDDEN void mgc_fin_root_remove_locked(mgc_special *sp);
HIDDEN void mgc_fin_enqueue_locked(mgc_special *sp);

#endif
