/*
 * finalizer.c -- finalizers and cleanups: what the collector runs for an
 * object after it dies (mgc.h states the guarantees; this file how).
 *
 * A finalizer or cleanup is a special (gc/special.h) on its object's span,
 * and also an entry in the root table below, which the mark treats as a
 * root: for a finalizer it scans the object's words without marking the
 * object (so whatever the object reaches survives for the finalizer to
 * use, while the object itself can be found unmarked), and it greys the
 * argument; for a cleanup it greys the argument only.  The sweep of the
 * object's span, finding it unmarked, moves the record from the span and
 * the table to the queue (gc/special.c: weak references first, then
 * finalizers, which resurrect their object, then cleanups).  The queue is a
 * root too, until each record is run by the finalizer thread or by
 * gc_run_finalizers().
 *
 * Scanning the table is a mark job like a root range: a cursor, rewound at
 * mark setup, advanced by the markers one batch of records at a time, and
 * mark termination requires it at the end.  The table is kept so that
 * [0, cursor) is scanned and [cursor, n) is not: additions go at the end;
 * a removal below the cursor fills the hole from just below the cursor and
 * moves the cursor down one (so the record at the end that fills that spot
 * is still to be scanned).  The queue is scanned whole, once, after the
 * table.  Sweeps never run while marking (the next mark waits for the
 * sweep to finish), so nothing is queued while the queue may be scanned;
 * taking a record off the queue while it is not yet scanned shades it.
 *
 * All of it is under mgc_special_lock.  The table and the queue records
 * live in OS memory, so they are grown and freed inside no-preempt
 * sections without touching malloc.
 */
#include <signal.h>

#include "gc/gc.h"
#include "gc/special.h"
#include "gc/workbuf.h"

/* The root table: every finalizer and cleanup not yet queued.  All fields
 * mgc_special_lock. */
static mgc_special **roots;
static size_t nroots, cap_roots;
static size_t cursor;       /* [0, cursor) scanned this mark */
static bool queue_scanned;  /* the queue was scanned this mark */
static uint64_t next_id;    /* cleanup ids */

/* The queue: records to run, FIFO.  head/tail under mgc_special_lock;
 * nqueued is read without it (gc_finalizers_pending, the thread's wait). */
static mgc_special *queue_head, *queue_tail;
static _Atomic size_t nqueued;
static _Atomic int queued_this_cycle;

/* The finalizer thread's wakeup, and the program's notifier. */
static mgc_mutex thread_mu = MGC_MUTEX_INIT(FIN_THREAD);
static pthread_cond_t thread_cv = PTHREAD_COND_INITIALIZER;
static _Atomic int thread_started;
static mgc_mutex notifier_mu = MGC_MUTEX_INIT(FIN_NOTIFIER);
static gc_finalizer_notifier notifier; /* notifier_mu */
static void *notifier_arg;             /* notifier_mu */

/* ---- the root table ------------------------------------------------------ */

/* ** Append sp to the table; false if the OS has no memory for it. */
static bool root_add_locked(mgc_special *sp) {
    if (nroots == cap_roots) {
        size_t ncap = cap_roots ? cap_roots * 2 : 1024;
        mgc_special **n = mgc_sys_alloc(ncap * sizeof *n, &mgc_hstats.meta_sys);
        if (!n) return false;
        if (nroots) memcpy(n, roots, nroots * sizeof *n);
        if (roots) mgc_sys_free(roots, cap_roots * sizeof *roots, &mgc_hstats.meta_sys);
        roots = n;
        cap_roots = ncap;
    }
    sp->root = (uint32_t)nroots;
    roots[nroots++] = sp;
    return true;
}

static void root_put(size_t i, mgc_special *sp) {
    roots[i] = sp;
    sp->root = (uint32_t)i;
}

void mgc_fin_root_remove_locked(mgc_special *sp) {
    size_t i = sp->root;
    if (i >= nroots || roots[i] != sp) mgc_throw("finalizer: root table entry %zu is not its record", i);
    if (i < cursor) { /* keep [0, cursor) scanned, [cursor, n) not */
        cursor--;
        root_put(i, roots[cursor]);
        if (cursor != nroots - 1) root_put(cursor, roots[nroots - 1]);
    } else if (i != nroots - 1) {
        root_put(i, roots[nroots - 1]);
    }
    nroots--;
}

/* ---- the queue --------------------------------------------------------- */

void mgc_fin_enqueue_locked(mgc_special *sp) {
    if (sp->kind == SPECIAL_CLEANUP) sp->obj = 0; /* freed by this sweep: not a root */
    sp->next = NULL;
    if (queue_tail) queue_tail->next = sp;
    else queue_head = sp;
    queue_tail = sp;
    atomic_fetch_add(&nqueued, 1);
    atomic_store_explicit(&queued_this_cycle, 1, memory_order_relaxed);
}

/* ** Take the first record off the queue (t's lock held); shade it if a
 * mark has not scanned the queue yet: from here on only t's stack, already
 * scanned perhaps, holds it. */
static bool dequeue_locked(gc_thread *t, mgc_special *out) {
    mgc_special *sp = queue_head;
    if (!sp) return false;
    queue_head = sp->next;
    if (!queue_head) queue_tail = NULL;
    atomic_fetch_sub(&nqueued, 1);
    if (atomic_load(&mgc_marking) && !queue_scanned) {
        mgc_grey(&t->gcw, sp->obj);
        mgc_grey(&t->gcw, (uintptr_t)sp->arg);
    }
    *out = *sp;
    mgc_special_free_locked(sp);
    return true;
}

/* ---- marking ----------------------------------------------------------- */

void mgc_fin_mark_begin(void) { /* world stopped */
    mgc_mutex_lock(&mgc_special_lock);
    cursor = 0;
    queue_scanned = false;
    mgc_mutex_unlock(&mgc_special_lock);
}

/* ** What one record keeps alive: its argument, and a finalizable
 * object's words (not the object). */
static void scan_record(gcwork *w, int kind, uintptr_t obj, void *arg) {
    mgc_grey(w, (uintptr_t)arg);
    if (kind == SPECIAL_FINALIZER) mgc_scan_contents(w, obj);
}

static void scan_queue_locked(gcwork *w) {
    for (mgc_special *sp = queue_head; sp; sp = sp->next) {
        mgc_grey(w, sp->obj);
        mgc_grey(w, (uintptr_t)sp->arg);
    }
}

#define FIN_BATCH 64

/* ** One mark job: the next batch of the table, or the queue.  The batch
 * is copied out and scanned without the lock: the objects cannot be freed
 * while marking, whatever happens to their records. */
bool mgc_fin_mark_some(gcwork *w) {
    struct { int kind; uintptr_t obj; void *arg; } batch[FIN_BATCH];
    size_t k = 0;
    mgc_mutex_lock(&mgc_special_lock);
    if (cursor >= nroots && queue_scanned) {
        mgc_mutex_unlock(&mgc_special_lock);
        return false;
    }
    for (; k < FIN_BATCH && cursor < nroots; k++, cursor++) {
        mgc_special *sp = roots[cursor];
        batch[k].kind = sp->kind, batch[k].obj = sp->obj, batch[k].arg = sp->arg;
    }
    if (cursor >= nroots && !queue_scanned) {
        scan_queue_locked(w);
        queue_scanned = true;
    }
    mgc_mutex_unlock(&mgc_special_lock);
    for (size_t i = 0; i < k; i++) scan_record(w, batch[i].kind, batch[i].obj, batch[i].arg);
    return true;
}

bool mgc_fin_pending(void) {
    mgc_mutex_lock(&mgc_special_lock);
    bool pending = cursor < nroots || !queue_scanned;
    mgc_mutex_unlock(&mgc_special_lock);
    return pending;
}

/* ** MGC_CHECKMARK, world stopped: everything the table and queue keep. */
void mgc_fin_scan_all(gcwork *w) {
    mgc_mutex_lock(&mgc_special_lock);
    for (size_t i = 0; i < nroots; i++) scan_record(w, roots[i]->kind, roots[i]->obj, roots[i]->arg);
    scan_queue_locked(w);
    mgc_mutex_unlock(&mgc_special_lock);
}

/* ---- running ----------------------------------------------------------- */

/* ** Run queued records on t until the queue is empty. */
static size_t run_queue(gc_thread *t) {
    size_t n = 0;
    for (;;) {
        mgc_special rec;
        mgc_lock(t, &mgc_special_lock);
        bool got = dequeue_locked(t, &rec);
        mgc_unlock(t, &mgc_special_lock);
        if (!got) return n;
        if (rec.kind == SPECIAL_FINALIZER) rec.u.fin((void *)rec.obj, rec.arg);
        else rec.u.cleanup(rec.arg);
        /* The copy in this frame would keep the finalized object (and all
         * it points to) alive from the dead stack after we return, until
         * something overwrites it: a conservative scan cannot tell. */
        explicit_bzero(&rec, sizeof rec);
        n++;
    }
}

static void *wait_for_work(void *arg) {
    (void)arg;
    mgc_mutex_lock(&thread_mu);
    while (atomic_load(&nqueued) == 0) mgc_cond_wait(&thread_cv, &thread_mu);
    mgc_mutex_unlock(&thread_mu);
    return NULL;
}

/* ** The finalizer thread: a registered thread (finalizers allocate) that
 * waits parked, so a stop never has to signal it while it sleeps. */
static void *finalizer_main(void *arg) {
    (void)arg;
    /* Named here too: mgc_start_daemon names it only after it may have run. */
    pthread_setname_np(pthread_self(), "mgc-finalizer");
    mgc_unblock_stop_signals();
    if (mgc_thread_register_self() != GC_OK) {
        mgc_warn("finalizer thread: cannot register; finalizers run only through "
                 "gc_run_finalizers()");
        return NULL;
    }
    gc_thread *t = mgc_self;
    for (;;) {
        mgc_parked(t, wait_for_work, NULL);
        run_queue(t);
    }
    return NULL;
}

static void start_thread_once(void) {
    if (mgc_cfg.manual_finalizers || atomic_load(&thread_started)) return;
    if (atomic_exchange(&thread_started, 1)) return;
    if (mgc_start_daemon("mgc-finalizer", finalizer_main, NULL) != GC_OK)
        mgc_warn("gc_set_finalizer: cannot start the finalizer thread; run finalizers with "
                 "gc_run_finalizers()");
}

/* ** End of a cycle's sweep, on the coordinator: wake whoever runs the
 * queue if this cycle added to it. */
void mgc_fin_cycle_end(void) {
    if (!atomic_exchange(&queued_this_cycle, 0)) return;
    mgc_mutex_lock(&thread_mu);
    pthread_cond_broadcast(&thread_cv);
    mgc_mutex_unlock(&thread_mu);
    mgc_mutex_lock(&notifier_mu);
    gc_finalizer_notifier fn = notifier;
    void *arg = notifier_arg;
    mgc_mutex_unlock(&notifier_mu);
    if (fn) fn(arg);
}

/* ---- the API ----------------------------------------------------------- */

/* ** The caller's thread and obj's span; NULL (with a message) on misuse. */
static mspan *check_call(const char *call, void *obj, gc_thread **t, int *rc) {
    *t = mgc_caller(call, "nothing is done");
    if (!*t) {
        *rc = atomic_load(&mgc_initialized) ? GC_ENOTREG : GC_ENOTINIT;
        return NULL;
    }
    uintptr_t base = 0;
    mspan *s = obj ? mgc_object_span(obj, &base) : NULL;
    if (!s || base != (uintptr_t)obj) {
        mgc_warn("%s(%p): not the start of a live heap object; pass what gc_alloc returned%s",
                 call, obj, s ? " (this is an interior pointer)" : "");
        *rc = GC_EINVAL;
        return NULL;
    }
    return s;
}

MGC_API int gc_set_finalizer(void *obj, gc_finalizer_fn fn, void *arg) {
    gc_thread *t;
    int rc = GC_OK;
    mspan *s = check_call("gc_set_finalizer", obj, &t, &rc);
    if (!s) return rc;
    uintptr_t p = (uintptr_t)obj;
    mgc_lock(t, &mgc_special_lock);
    mgc_special *sp = mgc_special_find_locked(s, p, SPECIAL_FINALIZER);
    if (sp && !fn) {
        mgc_special_unlink_locked(s, p, SPECIAL_FINALIZER, NULL);
        mgc_fin_root_remove_locked(sp);
        mgc_special_free_locked(sp);
    } else if (sp) {
        /* The record may be scanned already: shade the new argument, as
         * a store into a black object would. */
        if (t->marking) mgc_grey(&t->gcw, (uintptr_t)arg);
        sp->u.fin = fn;
        sp->arg = arg;
    } else if (fn) {
        sp = mgc_special_alloc_locked();
        if (sp && root_add_locked(sp)) {
            sp->obj = p, sp->kind = SPECIAL_FINALIZER, sp->u.fin = fn, sp->arg = arg;
            mgc_special_link_locked(s, sp);
        } else {
            if (sp) mgc_special_free_locked(sp);
            rc = GC_ENOMEM;
        }
    }
    mgc_unlock(t, &mgc_special_lock);
    if (rc == GC_ENOMEM) mgc_call_oom(sizeof(mgc_special));
    else if (fn) start_thread_once();
    return rc;
}

MGC_API uint64_t gc_add_cleanup(void *obj, gc_cleanup_fn fn, void *arg) {
    gc_thread *t;
    int rc = GC_OK;
    mspan *s = check_call("gc_add_cleanup", obj, &t, &rc);
    if (!s) return 0;
    if (!fn) {
        mgc_warn("gc_add_cleanup(%p, NULL): fn is NULL; pass the function to run", obj);
        return 0;
    }
    if (arg && gc_base(arg) == obj)
        mgc_warn("gc_add_cleanup(%p): arg points into the object itself, so the object can "
                 "never die; pass what the cleanup needs instead", obj);
    uint64_t id = 0;
    mgc_lock(t, &mgc_special_lock);
    mgc_special *sp = mgc_special_alloc_locked();
    if (sp && root_add_locked(sp)) {
        id = ++next_id;
        sp->obj = (uintptr_t)obj, sp->kind = SPECIAL_CLEANUP, sp->u.cleanup = fn, sp->arg = arg;
        sp->id = id;
        mgc_special_link_locked(s, sp);
    } else if (sp) {
        mgc_special_free_locked(sp);
    }
    mgc_unlock(t, &mgc_special_lock);
    if (!id) mgc_call_oom(sizeof(mgc_special));
    else start_thread_once();
    return id;
}

MGC_API int gc_cancel_cleanup(void *obj, uint64_t id) {
    gc_thread *t;
    int rc = GC_OK;
    mspan *s = check_call("gc_cancel_cleanup", obj, &t, &rc);
    if (!s) return rc;
    mgc_lock(t, &mgc_special_lock);
    mgc_special *sp = mgc_special_unlink_locked(s, (uintptr_t)obj, SPECIAL_CLEANUP, (const void *)(uintptr_t)id);
    if (sp) {
        mgc_fin_root_remove_locked(sp);
        mgc_special_free_locked(sp);
    }
    mgc_unlock(t, &mgc_special_lock);
    return sp ? GC_OK : GC_EINVAL;
}

MGC_API size_t gc_run_finalizers(void) {
    gc_thread *t = mgc_caller("gc_run_finalizers", "nothing is run");
    return t ? run_queue(t) : 0;
}

MGC_API size_t gc_finalizers_pending(void) { return atomic_load(&nqueued); }

MGC_API gc_finalizer_notifier gc_set_finalizer_notifier(gc_finalizer_notifier fn, void *arg) {
    gc_thread *t = mgc_self;
    mgc_lock(t, &notifier_mu);
    gc_finalizer_notifier old = notifier;
    notifier = fn;
    notifier_arg = arg;
    mgc_unlock(t, &notifier_mu);
    return old;
}

/* ---- fork (gc/fork.c) ---------------------------------------------------- */

/* ** In a forked child: the finalizer thread is gone; its locks and
 * condition variable are made anew (restarted by mgc_fin_restart_thread). */
void mgc_fin_fork_child(void) {
    mgc_mutex_fork_reset(&thread_mu);
    mgc_mutex_fork_reset(&notifier_mu);
    thread_cv = mgc_fresh_cond;
}

int mgc_fin_restart_thread(void) {
    if (!atomic_exchange(&thread_started, 0)) return GC_OK;
    start_thread_once();
    return GC_OK;
}
