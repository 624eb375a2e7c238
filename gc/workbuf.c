/*
 * workbuf.c -- the pools of work buffers (see workbuf.h).
 *
 * Buffers come from 64 KiB chunks of metadata memory.  AO_stack is safe
 * against ABA for elements that are never unmapped, which holds here.
 *
 * Running out of memory never stops a mark: when no buffer can be had
 * (the OS refuses a chunk, or a white-box test set mgc_wbuf_limit), a grey
 * object is dropped -- left marked but unqueued -- and counted in
 * mgc_wbuf_dropped, and mark termination rescans the heap for marked
 * objects until nothing is dropped (Boehm's mark-stack overflow).  Taking
 * a grey object never needs a new buffer, so draining always progresses.
 */
#include "gc/gc.h"
#include "gc/workbuf.h"

/* libatomic_ops is not built with ThreadSanitizer, so TSan cannot see the
 * release/acquire ordering of AO_stack: tell it by hand. */
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#define TSAN_RELEASE(p) __tsan_release(p)
#define TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define TSAN_RELEASE(p) ((void)(p))
#define TSAN_ACQUIRE(p) ((void)(p))
#endif

static void pool_push(AO_stack_t *pool, workbuf *b) {
    TSAN_RELEASE(b);
    AO_stack_push(pool, &b->link);
}

static workbuf *pool_pop(AO_stack_t *pool) {
    workbuf *b = (workbuf *)AO_stack_pop(pool);
    if (b) TSAN_ACQUIRE(b);
    return b;
}

static AO_stack_t empty_pool = AO_STACK_INITIALIZER;
static AO_stack_t full_pool = AO_STACK_INITIALIZER;
static mgc_mutex grow_lock = MGC_MUTEX_INIT(WBUF_GROW);
_Atomic long mgc_wbuf_nfull;
/* Buffers taken from the empty pool and not given back (held by markers
 * or in the full pool): what mgc_wbuf_limit counts. */
static _Atomic long nout;
_Atomic long mgc_wbuf_limit;
_Atomic long mgc_wbuf_dropped;

#define WBUF_CHUNK (64 * 1024)
#define WBUF_RESERVE 16

/* Used once, when the OS first refuses a chunk: a process that runs out of
 * address space before its first collection still marks with a few
 * buffers instead of one level of the graph per heap rescan. */
static workbuf reserve[WBUF_RESERVE];
static bool reserve_used; /* grow_lock */

/* ** The empty pool is dry: map another chunk, or fall back on the reserve.
 * NULL if neither is left. */
static workbuf *grow(void) {
    mgc_mutex_lock(&grow_lock);
    workbuf *b = pool_pop(&empty_pool); /* another marker may have grown it */
    if (!b) {
        char *chunk = mgc_sys_alloc(WBUF_CHUNK, &mgc_hstats.meta_sys);
        size_t n = chunk ? WBUF_CHUNK / sizeof(workbuf) : reserve_used ? 0 : WBUF_RESERVE;
        if (!chunk && n) {
            chunk = (char *)reserve;
            reserve_used = true;
        }
        for (size_t i = 1; i < n; i++) pool_push(&empty_pool, (workbuf *)(chunk + i * sizeof(workbuf)));
        b = n ? (workbuf *)chunk : NULL;
    }
    mgc_mutex_unlock(&grow_lock);
    return b;
}

workbuf *mgc_wbuf_get_empty(void) {
    long lim = atomic_load_explicit(&mgc_wbuf_limit, memory_order_relaxed);
    if (unlikely(lim) && atomic_load(&nout) >= lim) return NULL;
    workbuf *b = pool_pop(&empty_pool);
    if (!b && !(b = grow())) return NULL;
    atomic_fetch_add_explicit(&nout, 1, memory_order_relaxed);
    b->nobj = 0;
    return b;
}

void mgc_wbuf_put_empty(workbuf *b) {
    atomic_fetch_sub_explicit(&nout, 1, memory_order_relaxed);
    pool_push(&empty_pool, b);
}
void mgc_wbuf_put_full(workbuf *b) {
    pool_push(&full_pool, b);
    atomic_fetch_add(&mgc_wbuf_nfull, 1);
}
workbuf *mgc_wbuf_try_get_full(void) {
    workbuf *b = pool_pop(&full_pool);
    if (b) atomic_fetch_sub(&mgc_wbuf_nfull, 1);
    return b;
}

void mgc_gcwork_init(gcwork *w) {
    memset(w, 0, sizeof *w);
}

/* ** No buffer for a grey object: it stays marked but unqueued, and the
 * count tells mark termination to rescan the heap for it (gc/mark.c). */
static void drop(uintptr_t obj) {
    (void)obj;
    atomic_fetch_add(&mgc_wbuf_dropped, 1);
}

/* ** wbuf1 is missing or full: swap in wbuf2, or publish wbuf1 and start a
 * new one; drop the object if no buffer can be had. */
void mgc_gcwork_put_slow(gcwork *w, uintptr_t obj) {
    if (!w->wbuf1 && !(w->wbuf1 = mgc_wbuf_get_empty())) {
        drop(obj);
        return;
    }
    if (w->wbuf1->nobj < WORKBUF_OBJS) {
        w->wbuf1->obj[w->wbuf1->nobj++] = obj;
        return;
    }
    if (!w->wbuf2) w->wbuf2 = mgc_wbuf_get_empty();
    if (w->wbuf2 && w->wbuf2->nobj < WORKBUF_OBJS) {
        workbuf *t = w->wbuf1;
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = t;
    } else {
        workbuf *n = mgc_wbuf_get_empty();
        if (!n) {
            drop(obj);
            return;
        }
        mgc_wbuf_put_full(w->wbuf1);
        w->wbuf1 = n;
    }
    w->wbuf1->obj[w->wbuf1->nobj++] = obj;
}

/* ** wbuf1 is missing or empty: swap in wbuf2, or trade wbuf1 for a full
 * buffer.  Never needs a new buffer. */
uintptr_t mgc_gcwork_try_get_slow(gcwork *w) {
    if (w->wbuf2 && w->wbuf2->nobj) {
        workbuf *t = w->wbuf1;
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = t;
    } else {
        workbuf *f = mgc_wbuf_try_get_full();
        if (!f) return 0;
        if (w->wbuf1) mgc_wbuf_put_empty(w->wbuf1);
        w->wbuf1 = f;
    }
    return w->wbuf1->obj[--w->wbuf1->nobj];
}

/* ** Share work with a hungry marker (Go's gcWork.balance): publish wbuf2
 * if it holds anything, else half of wbuf1 if it holds more than a few.
 * Without this, a depth-first mark of a tree keeps its whole frontier --
 * a few dozen objects, never a full buffer -- in one marker, and the other
 * markers starve.  True if something was published. */
bool mgc_gcwork_balance(gcwork *w) {
    if (!w->wbuf1) return false;
    if (w->wbuf2 && w->wbuf2->nobj) {
        mgc_wbuf_put_full(w->wbuf2);
        w->wbuf2 = mgc_wbuf_get_empty(); /* NULL is fine: put_slow retries */
        return true;
    }
    workbuf *b = w->wbuf1;
    if (b->nobj <= 4) return false;
    workbuf *half = mgc_wbuf_get_empty();
    if (!half) return false;
    size_t n = b->nobj / 2;
    /* The oldest (bottom) entries: the larger subtrees of a depth-first walk. */
    memcpy(half->obj, b->obj, n * sizeof(uintptr_t));
    memmove(b->obj, b->obj + n, (b->nobj - n) * sizeof(uintptr_t));
    half->nobj = n;
    b->nobj -= n;
    mgc_wbuf_put_full(half);
    return true;
}

/* ** Hand both buffers back: non-empty ones to the full pool. */
void mgc_gcwork_dispose(gcwork *w) {
    workbuf *bs[2] = {w->wbuf1, w->wbuf2};
    for (int i = 0; i < 2; i++) {
        if (!bs[i]) continue;
        if (bs[i]->nobj) mgc_wbuf_put_full(bs[i]);
        else mgc_wbuf_put_empty(bs[i]);
    }
    w->wbuf1 = w->wbuf2 = NULL;
}
