/*
 * workbuf.h -- grey objects waiting to be scanned.
 *
 * The mark queue is made of work buffers (2 KiB, 253 objects, as Go's),
 * exchanged between markers through two global lock-free stacks (empty
 * and full buffers, libatomic_ops' AO_stack).  Each marker holds two
 * buffers in a gcwork and only touches the global stacks when both are
 * full or both are empty, so the common push and pop are an array access.
 * Buffers are never freed, only recycled: marking a 10-million-node list
 * or a 100-million-slot array uses memory proportional to the grey set,
 * never recursion.
 */
#ifndef MGC_WORKBUF_H
#define MGC_WORKBUF_H

#include <atomic_ops_stack.h>

#include "runtime/base.h"
#include "runtime/types.h"

#define WORKBUF_OBJS 253

/* A marker's local share of the grey set (gc/workbuf.h): two buffers, so
 * pushes and pops rarely touch the global pools.  Owned by one thread: a
 * mark worker, or a mutator (its write barrier and assists), in which case
 * the collector reads it only while that thread is stopped. */
typedef struct gcwork {
    struct workbuf *wbuf1, *wbuf2;
    uint64_t bytes_marked; /* slot bytes of objects this marker greyed */
    uint64_t scan_bytes;   /* bytes scanned */
    bool check;            /* MGC_CHECKMARK pass: set check_bits, verify gcmark_bits */
    bool check_stack;      /* ... scanning a thread stack (see grey_word) */
    /* The span the last heap pointer fell in: neighbours usually share it.
     * Valid for one mark only (no span is freed while marking); reset at
     * mark setup and at each worker slice. */
    struct mspan *last;
} gcwork;

typedef struct workbuf {
    AO_t link;      /* AO_stack link: must be first */
    size_t nobj;
    uintptr_t obj[WORKBUF_OBJS];
} workbuf;

/* NULL when no buffer can be had (out of memory): the caller drops. */
HIDDEN workbuf *mgc_wbuf_get_empty(void);
HIDDEN void mgc_wbuf_put_empty(workbuf *b);
HIDDEN void mgc_wbuf_put_full(workbuf *b);
HIDDEN workbuf *mgc_wbuf_try_get_full(void);

/* Full buffers in the global pool (approximate while markers run; exact
 * once they are idle). */
extern HIDDEN _Atomic long mgc_wbuf_nfull;
/* Grey objects dropped for want of a buffer since the last rescan
 * (gc/mark.c's mgc_mark_rescan_dropped clears it). */
extern HIDDEN _Atomic long mgc_wbuf_dropped;
/* White-box tests: nonzero caps the buffers out of the empty pool, so the
 * dropping path runs without exhausting memory. */
extern HIDDEN _Atomic long mgc_wbuf_limit;

HIDDEN void mgc_gcwork_init(gcwork *w);
HIDDEN void mgc_gcwork_put_slow(gcwork *w, uintptr_t obj);
HIDDEN uintptr_t mgc_gcwork_try_get_slow(gcwork *w);
HIDDEN void mgc_gcwork_dispose(gcwork *w);
HIDDEN bool mgc_gcwork_balance(gcwork *w);

/* ** Queue a grey object.  A gcwork starts without buffers (a mutator's
 * may never need one); the slow path takes them, or drops the object. */
static inline void mgc_gcwork_put(gcwork *w, uintptr_t obj) {
    workbuf *b = w->wbuf1;
    if (likely(b && b->nobj < WORKBUF_OBJS)) b->obj[b->nobj++] = obj;
    else mgc_gcwork_put_slow(w, obj);
}

/* ** Next grey object, or 0 when this marker and the full pool are empty. */
static inline uintptr_t mgc_gcwork_try_get(gcwork *w) {
    workbuf *b = w->wbuf1;
    if (likely(b && b->nobj > 0)) return b->obj[--b->nobj];
    return mgc_gcwork_try_get_slow(w);
}

#endif
