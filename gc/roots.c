/*
 * roots.c -- root ranges registered by the program.
 *
 * Globals, VM tables and malloc'd memory that hold heap pointers are
 * registered as ranges [start, end) and scanned conservatively at every
 * collection, word by aligned word.
 *
 * The table: an AVL tree of ranges ordered by (lo, seq), seq a number
 * never reused, so equal or overlapping ranges are distinct keys.  Adding is
 * O(log n); gc_remove_roots(start, end) finds the first range at or above
 * start in O(log n) and removes each range inside, O(log n) apiece.  Nodes
 * are malloc'd and freed outside roots_lock and outside any no-preempt
 * section (malloc may wait for its own lock, held by a stopped thread).
 *
 * Concurrent scanning (the walk).  Markers claim the ranges in key order in
 * chunks of up to 64 KiB (small ranges are batched into one chunk), each
 * under roots_lock: a removal waits for the chunk, so no marker ever reads
 * memory gc_remove_roots() has given back.  Between chunks the walk keeps
 * only a key and an address: (walk_lo, walk_seq) of the range it is inside
 * and walk_pos, where it stopped.  The next chunk seeks that key again
 * (O(log n)) and iterates in order from there with a stack, so a cycle's
 * walk is O(n + chunks * log n).  A range removed mid-walk is simply not
 * found again (its successor is); seq is never reused, so a new range never
 * inherits walk_pos.  A range added while marking may land behind the walk:
 * it goes on the pending list, scanned first, and carries this cycle's epoch
 * so that the walk skips it.  Mark setup (world stopped) bumps the epoch and
 * rewinds the walk, O(1).  Mark termination requires the walk done and the
 * pending list empty (mgc_roots_pending).
 *
 * Plain stores (the contract of mgc.h): a range added with gc_add_roots()
 * may be written with plain assignments while collections run.  The
 * concurrent walk alone cannot make that safe: a range scanned early can
 * receive a pointer later (from a stack not yet scanned, which then drops
 * it), and a pointer loaded from a range into an already-scanned stack and
 * then overwritten in the range is held by that stack only (Go closes both
 * holes with a barrier on every global store).  So mark termination, with
 * the world stopped, scans every plain range again and every thread's stack,
 * then drains (mgc_roots_rescan, mgc_mark_rescan_stw in gc/mark.c).  Why
 * that is enough: every store into a heap object during the mark goes
 * through gc_store, whose insertion half shades the stored pointer, and
 * objects allocated during the mark are black with their fields written by
 * gc_store too; so no black heap object points to an unshaded white one, and
 * the grey ones are drained.  Every root -- plain ranges and stacks in the
 * pause, barrier-only ranges through their own barrier like heap objects --
 * is then scanned or shaded against the final state of memory, with the
 * world stopped, and everything reachable from it is marked before the
 * world restarts.  The concurrent walk is what keeps the pause short: the
 * rescan finds marked objects except for what moved during the mark.
 *
 * The cost is that pause: about the time to scan the plain ranges and the
 * used stacks (see docs/performance.md).  Ranges added with
 * GC_ROOTS_BARRIER are left out of it (their stores must use gc_store), and
 * when every range is such, stacks are not rescanned either: the hybrid
 * barrier's argument (gc/barrier.c) holds as before.
 *
 * Static data (gc/staticroots.c) lives in this table too, as plain ranges
 * flagged MGC_ROOTS_STATIC: added and removed only by the static-roots
 * snapshot (never by gc_remove_roots), and read through a fault-safe copy,
 * since a library may be unloaded by a thread the collector does not stop.
 */
#include <stdlib.h>

#include "gc/gc.h"

typedef struct root_node {
    struct root_node *kid[2];       /* the tree: left, right; roots_lock */
    uintptr_t lo, hi;               /* as given; immutable */
    uint64_t seq;                   /* unique, never reused; immutable */
    unsigned flags;                 /* GC_ROOTS_*; immutable */
    int height;                     /* roots_lock */
    uint64_t epoch;                 /* == roots_epoch: the pending list scans it; roots_lock */
    uintptr_t cursor;               /* pending list: next word to scan; roots_lock */
    struct root_node *pnext, *pprev; /* pending list links; roots_lock */
    bool pending;                   /* on the pending list; roots_lock */
} root_node;

/* The two sides by name, where the code is not symmetric. */
#define left kid[0]
#define right kid[1]
/* Internal flag: a segment of static data (gc/staticroots.c), read through
 * a fault-safe copy because its library may be unloaded under us, and
 * added and removed only by the static-roots snapshot. */
#define MGC_ROOTS_STATIC (1u << 30)
#define ROOT_CHUNK (64 * 1024)
#define WALK_MAX_NODES 4096 /* ranges looked at per chunk: bounds a lock hold */
#define ITER_DEPTH 96       /* an AVL tree of 2^64 nodes is shallower */

static uintptr_t align_up(uintptr_t p) { return (p + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1); }
static uintptr_t align_down(uintptr_t p) { return p & ~(uintptr_t)(sizeof(void *) - 1); }

/* Everything below: roots_lock.  Registered threads take it only inside a
 * no-preempt section (mgc_lock), so no stopped thread holds it and the
 * collector may take it with the world stopped. */
static mgc_mutex roots_lock = MGC_MUTEX_INIT(ROOTS);
static root_node *tree;
static uint64_t next_seq = 1;
static uint64_t total_bytes;  /* scanned bytes of all ranges */
static size_t nplain;         /* ranges without GC_ROOTS_BARRIER */
static uint64_t roots_epoch;  /* bumped at every mark setup */
static bool walk_done;        /* the walk has passed the last range this cycle */
static uintptr_t walk_lo, walk_pos; /* the walk's key and, inside it, the next word */
static uint64_t walk_seq;
static root_node *pend_head;  /* added while marking */

/* ---- the tree ------------------------------------------------------------- */

/* ** Order of key (lo, seq) against node n. */
static int key_cmp(uintptr_t lo, uint64_t seq, const root_node *n) {
    if (lo != n->lo) return lo < n->lo ? -1 : 1;
    return seq < n->seq ? -1 : seq > n->seq;
}

static int height(const root_node *n) { return n ? n->height : 0; }

static void fix_height(root_node *n) {
    int l = height(n->left), r = height(n->right);
    n->height = 1 + (l > r ? l : r);
}

/* ** Rotate the subtree at n: its child on side d (0 left, 1 right) rises
 * to its place; returns that child. */
static root_node *rotate(root_node *n, int d) {
    root_node *c = n->kid[d];
    n->kid[d] = c->kid[!d];
    c->kid[!d] = n;
    fix_height(n);
    fix_height(c);
    return c;
}

/* ** Restore the AVL balance at n after one of its subtrees changed height
 * by one; returns the subtree's new root. */
static root_node *rebalance(root_node *n) {
    fix_height(n);
    int b = height(n->left) - height(n->right);
    if (b < -1 || b > 1) {
        int d = b > 1 ? 0 : 1; /* the heavy side */
        root_node *c = n->kid[d];
        if (height(c->kid[d]) < height(c->kid[!d])) n->kid[d] = rotate(c, !d);
        return rotate(n, d);
    }
    return n;
}

static root_node *tree_insert(root_node *t, root_node *n) {
    if (!t) return n;
    if (key_cmp(n->lo, n->seq, t) < 0) t->left = tree_insert(t->left, n);
    else t->right = tree_insert(t->right, n);
    return rebalance(t);
}

static root_node *tree_remove_min(root_node *t, root_node **min) {
    if (!t->left) {
        *min = t;
        return t->right;
    }
    t->left = tree_remove_min(t->left, min);
    return rebalance(t);
}

/* ** Unlink node n (present in t); returns the new root. */
static root_node *tree_remove(root_node *t, root_node *n) {
    int c = key_cmp(n->lo, n->seq, t);
    if (c < 0) {
        t->left = tree_remove(t->left, n);
    } else if (c > 0) {
        t->right = tree_remove(t->right, n);
    } else {
        root_node *l = t->left, *r = t->right, *m;
        if (!r) return l;
        r = tree_remove_min(r, &m);
        m->left = l;
        m->right = r;
        return rebalance(m);
    }
    return rebalance(t);
}

/* In-order iteration from a key, with an explicit stack: amortised O(1) a
 * step after an O(log n) seek.  Valid while the tree does not change. */
typedef struct iter {
    root_node *stk[ITER_DEPTH];
    int n;
} iter;

/* ** Position it at the first node whose key is >= (lo, seq). */
static void iter_seek(iter *it, uintptr_t lo, uint64_t seq) {
    it->n = 0;
    for (root_node *t = tree; t;) {
        if (key_cmp(lo, seq, t) <= 0) {
            it->stk[it->n++] = t;
            t = t->left;
        } else {
            t = t->right;
        }
    }
}

static root_node *iter_next(iter *it) {
    if (!it->n) return NULL;
    root_node *r = it->stk[--it->n];
    for (root_node *t = r->right; t; t = t->left) it->stk[it->n++] = t;
    return r;
}

/* ---- the pending list (ranges added while marking) ------------------------- */

static void pend_push(root_node *n) {
    n->pending = true;
    n->pprev = NULL;
    n->pnext = pend_head;
    if (pend_head) pend_head->pprev = n;
    pend_head = n;
}

static void pend_unlink(root_node *n) {
    if (!n->pending) return;
    if (n->pprev) n->pprev->pnext = n->pnext;
    else pend_head = n->pnext;
    if (n->pnext) n->pnext->pprev = n->pprev;
    n->pending = false;
}

/* ---- adding and removing ---------------------------------------------------- */

/* ** Validate a range given to gc_add_roots/gc_remove_roots. */
static bool range_ok(const char *fn, void *start, void *end) {
    if (!start || !end) {
        mgc_warn("%s(%p, %p): NULL bound; pass the first byte and one past the last byte "
                 "of the range", fn, start, end);
        return false;
    }
    if ((uintptr_t)start > (uintptr_t)end) {
        mgc_warn("%s(%p, %p): start is above end; pass (start, end) in address order", fn,
                 start, end);
        return false;
    }
    /* Memory of this process lies above the zero page and below the top
     * of the user address space: a range outside cannot be (scanning it
     * would crash the next collection). */
    if ((uintptr_t)start < 4096 || (uintptr_t)end > ((uintptr_t)1 << (MGC_ADDR_BITS - 1))) {
        mgc_warn("%s(%p, %p): not memory of this process (outside the user address space); "
                 "pass the bounds of a global, a malloc'd block or a mapped region", fn, start, end);
        return false;
    }
    return true;
}

static uint64_t node_bytes(const root_node *n);

/* ** Put n in the table (and, while marking, on the pending list). */
static void insert_node(root_node *n) {
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    n->seq = next_seq++;
    tree = tree_insert(tree, n);
    total_bytes += node_bytes(n);
    if (!(n->flags & GC_ROOTS_BARRIER)) nplain++;
    /* Added while marking: the markers still have to scan it this cycle,
     * and the walk may be past its key.  mgc_marking rises after
     * mgc_roots_mark_begin and before the walk starts (with the world
     * stopped, or after the setup handshakes), so a range added before it
     * rises is still ahead of the walk. */
    if (atomic_load(&mgc_marking)) {
        n->epoch = roots_epoch;
        n->cursor = align_up(n->lo);
        pend_push(n);
    }
    mgc_unlock(t, &roots_lock);
}

static uint64_t node_bytes(const root_node *n) {
    uintptr_t lo = align_up(n->lo), hi = align_down(n->hi);
    return hi > lo ? hi - lo : 0;
}

MGC_API int gc_add_roots_flags(void *start, void *end, unsigned flags) {
    if (!range_ok("gc_add_roots", start, end)) return GC_EINVAL;
    if (flags & ~(unsigned)GC_ROOTS_BARRIER) {
        mgc_warn("gc_add_roots_flags(%p, %p, %#x): unknown flags; pass 0 or GC_ROOTS_BARRIER "
                 "(nothing added)", start, end, flags);
        return GC_EINVAL;
    }
    root_node *n = malloc(sizeof *n); /* outside the lock: see the top */
    if (!n) {
        mgc_warn("gc_add_roots(%p, %p): out of memory for the root table (nothing added)", start, end);
        return GC_ENOMEM;
    }
    memset(n, 0, sizeof *n);
    n->lo = (uintptr_t)start;
    n->hi = (uintptr_t)end;
    n->flags = flags;
    n->height = 1;
    insert_node(n);
    return GC_OK;
}

MGC_API void gc_add_roots(void *start, void *end) { (void)gc_add_roots_flags(start, end, 0); }

/* ** A segment of static data (gc/staticroots.c): a plain range, so the
 * termination pause rescans it.  Returns its node, NULL without memory. */
void *mgc_roots_add_static(uintptr_t lo, uintptr_t hi) {
    root_node *n = malloc(sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->lo = lo;
    n->hi = hi;
    n->flags = MGC_ROOTS_STATIC;
    n->height = 1;
    insert_node(n);
    return n;
}

/* ** Take back a range mgc_roots_add_static made. */
void mgc_roots_remove_static(void *node) {
    root_node *n = node;
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    tree = tree_remove(tree, n);
    pend_unlink(n);
    total_bytes -= node_bytes(n);
    nplain--;
    mgc_unlock(t, &roots_lock);
    free(n);
}

/* ** Unlink from the tree every range inside [start, end); returns them
 * chained through ->left, to be freed outside the lock. */
static root_node *unlink_inside(uintptr_t start, uintptr_t end) {
    root_node *dead = NULL;
    uintptr_t klo = start;
    uint64_t kseq = 0;
    iter it;
    for (;;) {
        iter_seek(&it, klo, kseq);
        root_node *n;
        while ((n = iter_next(&it)) && n->lo < end && (n->hi > end || (n->flags & MGC_ROOTS_STATIC))) {}
        if (!n || n->lo >= end) break;
        tree = tree_remove(tree, n);
        pend_unlink(n);
        total_bytes -= node_bytes(n);
        if (!(n->flags & GC_ROOTS_BARRIER)) nplain--;
        klo = n->lo, kseq = n->seq + 1;
        n->left = dead;
        dead = n;
    }
    return dead;
}

MGC_API void gc_remove_roots(void *start, void *end) {
    if (!range_ok("gc_remove_roots", start, end)) return;
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    root_node *dead = unlink_inside((uintptr_t)start, (uintptr_t)end);
    mgc_unlock(t, &roots_lock);
    if (!dead)
        mgc_warn("gc_remove_roots(%p, %p): no range added with gc_add_roots() lies inside; "
                 "pass the same bounds given to gc_add_roots()", start, end);
    while (dead) {
        root_node *next = dead->left;
        free(dead);
        dead = next;
    }
}

/* ---- scanning ------------------------------------------------------------- */

/* ** Scan [lo, hi) of range n: in place, or for static data through a copy. */
static void scan_part(const root_node *n, uintptr_t lo, uintptr_t hi, mgc_range_fn fn, void *arg) {
    if (n->flags & MGC_ROOTS_STATIC) mgc_static_scan(lo, hi, fn, arg);
    else fn(lo, hi, arg);
}

/* ** Call fn on every root range (aligned inward) whose flags include none
 * of skip; the world is stopped.  Returns the bytes. */
static uint64_t each_range(mgc_range_fn fn, void *arg, unsigned skip) {
    uint64_t bytes = 0;
    iter it;
    mgc_mutex_lock(&roots_lock);
    iter_seek(&it, 0, 0);
    for (root_node *n; (n = iter_next(&it));) {
        uintptr_t lo = align_up(n->lo), hi = align_down(n->hi);
        if (hi > lo && !(n->flags & skip)) {
            scan_part(n, lo, hi, fn, arg);
            bytes += hi - lo;
        }
    }
    mgc_mutex_unlock(&roots_lock);
    return bytes;
}

uint64_t mgc_roots_each(mgc_range_fn fn, void *arg) { return each_range(fn, arg, 0); }

/* ** Mark termination: the ranges written with plain stores, again. */
uint64_t mgc_roots_rescan(mgc_range_fn fn, void *arg) { return each_range(fn, arg, GC_ROOTS_BARRIER); }

/* ** Does mark termination have to rescan (some range takes plain stores)? */
bool mgc_roots_need_rescan(void) {
    mgc_mutex_lock(&roots_lock);
    bool any = nplain > 0;
    mgc_mutex_unlock(&roots_lock);
    return any;
}

/* ** gc_get_stats calls this on a registered thread: a stop must not find
 * it holding the lock, which mark setup takes with the world stopped. */
uint64_t mgc_roots_bytes(void) {
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    uint64_t b = total_bytes;
    mgc_unlock(t, &roots_lock);
    return b;
}

/* ** Mark setup, world stopped: every range is to be scanned again. */
void mgc_roots_mark_begin(void) {
    mgc_mutex_lock(&roots_lock);
    roots_epoch++;
    walk_done = false;
    walk_lo = walk_pos = 0;
    walk_seq = 0;
    while (pend_head) pend_unlink(pend_head); /* none: termination emptied it */
    mgc_mutex_unlock(&roots_lock);
}

/* ** Scan the next chunk of the pending range at the head of the list. */
static void scan_pending(mgc_range_fn fn, void *arg) {
    root_node *n = pend_head;
    uintptr_t hi = align_down(n->hi), lo = n->cursor;
    uintptr_t end = hi > lo && hi - lo > ROOT_CHUNK ? lo + ROOT_CHUNK : hi;
    if (end > lo) scan_part(n, lo, end, fn, arg);
    n->cursor = end;
    if (end >= hi) pend_unlink(n);
}

/* ** Advance the walk by up to ROOT_CHUNK bytes over one or more ranges.
 * False when it had nothing left to scan. */
static bool walk_some(mgc_range_fn fn, void *arg) {
    iter it;
    iter_seek(&it, walk_lo, walk_seq);
    size_t budget = ROOT_CHUNK, looked = 0;
    bool scanned = false;
    for (root_node *n; (n = iter_next(&it));) {
        if (n->epoch == roots_epoch) continue; /* the pending list's */
        uintptr_t lo = n->lo == walk_lo && n->seq == walk_seq && walk_pos ? walk_pos : align_up(n->lo);
        uintptr_t hi = align_down(n->hi);
        uintptr_t end = hi > lo && hi - lo > budget ? lo + budget : hi;
        if (end > lo) {
            scan_part(n, lo, end, fn, arg);
            budget -= end - lo;
            scanned = true;
        }
        walk_lo = n->lo, walk_seq = n->seq, walk_pos = 0;
        if (end < hi) { /* the budget ran out inside n */
            walk_pos = end;
            return true;
        }
        walk_seq++; /* n done: the key just after it */
        if (budget == 0 || ++looked == WALK_MAX_NODES) return true;
    }
    walk_done = true;
    return scanned;
}

/* ** Claim and scan the next chunk of root memory, holding roots_lock so no
 * range can be removed under us.  False when every range is done. */
bool mgc_roots_scan_chunk(mgc_range_fn fn, void *arg) {
    gc_thread *t = mgc_self;
    bool did = true;
    mgc_lock(t, &roots_lock);
    if (pend_head) scan_pending(fn, arg);
    else if (!walk_done) did = walk_some(fn, arg);
    else did = false;
    mgc_unlock(t, &roots_lock);
    return did;
}

bool mgc_roots_pending(void) {
    gc_thread *t = mgc_self;
    mgc_lock(t, &roots_lock);
    bool pending = pend_head != NULL || !walk_done;
    mgc_unlock(t, &roots_lock);
    return pending;
}

void mgc_roots_fork_lock(void) { mgc_mutex_lock(&roots_lock); }
void mgc_roots_fork_unlock(void) { mgc_mutex_unlock(&roots_lock); }
