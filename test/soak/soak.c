/*
 * soak.c -- a randomized multi-threaded mutator that checks, for as long as
 * it is asked to run, that the collector never frees a reachable object and
 * never corrupts one.
 *
 *   build/soak [SECONDS] [THREADS] [--seed N] [--verbose]
 *
 * SECONDS (default $SOAK_SECONDS, else 60) may carry an m or h suffix
 * ("8h").  THREADS (default 4) mutator threads run at once; each lives for
 * a random number of operations, then exits -- one in four without
 * gc_unregister_thread -- and the main thread starts another in its place.
 *
 * Every object is a node with a checksummed header and payload: gc_alloc
 * nodes of many sizes (1 in 400 over 32 KiB), precise gc_alloc_typed nodes,
 * and noscan blobs hung from nodes (tiny ones under 16 bytes, which share
 * blocks, up to large ones over 32 KiB).  The mutators link nodes into
 * graphs through gc_store, rewire edges at random, keep them in root
 * ranges they add and remove, and share them through a global table.  Each
 * node remembers, per edge, the id of the node its owner linked there, so a
 * slot freed and reused by another node is caught as well as a clobbered one.
 *
 * Checked, all the time:
 *   - every node reached from a root (by any thread) is allocated
 *     (gc_base(p) == p, gc_size big enough: else "lost") and intact (header,
 *     payload, blob, edge ids: else "corrupted");
 *   - weak handles and weak slots: a non-NULL read is an intact node with
 *     the expected id; a node pinned in a root keeps its weak references
 *     non-NULL;
 *   - finalizers and cleanups run at most once, only after their object
 *     became unreachable (a reachable node whose finalizer or cleanup ran is
 *     an error), finalizers on an intact object whose children are intact;
 *   - gc_verify_heap() every VERIFY_EVERY operations if mgc.h has it.
 *
 * Unless set in the environment, MGC_CHECKMARK=1 (every concurrent mark is
 * re-checked with the world stopped) and MGC_CLOBBER=1 (a freed object is
 * filled with 0xdeadbeef, so a premature free shows at once) are turned on,
 * and finalizers run on the library's thread for even seeds and through
 * gc_run_finalizers (MGC_FINALIZERS=manual) for odd ones.
 *
 * Exit status 0 only if nothing was lost or corrupted.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgc.h"

#define NEDGE 3
#define NSLOT 192     /* root slots in a thread's first block */
#define BLKSLOTS 64   /* root slots in each extra block */
#define MAXBLK 6      /* extra root blocks per thread */
#define NPIN 4        /* pinned nodes with a weak handle and a weak slot */
#define NWEAK 32      /* free-floating weak references per thread */
#define NSHARED 1024  /* the global table every thread reads and writes */
#define VERIFY_EVERY 20000
#define MAXTHREADS 64

/* ---- nodes ---------------------------------------------------------------- */

enum { K_PLAIN = 1, K_TYPED_S = 2, K_TYPED_L = 3 };
#define TYPED_S_WORDS 4
#define TYPED_L_WORDS 28
#define F_FROZEN 1u /* edges never rewired: finalizable nodes and their children */

typedef struct rec { /* malloc'd, never freed: a finalizer or cleanup's record */
    _Atomic int ran;
    uint64_t id;
} rec;

typedef struct node {
    struct node *edge[NEDGE]; /* pointer words (the typed nodes' pointer map) */
    unsigned char *blob;      /* a noscan blob, or NULL */
    uint64_t edge_id[NEDGE];  /* the owner's record of what it linked */
    uint64_t id, owner;
    uint32_t kind, flags;
    uint64_t nwords, blob_len;
    uint64_t level; /* edges go to lower levels only (but see link_cycle) */
    rec *frec, *crec;
    uint64_t sum; /* over the fields above except edges and edge ids */
    _Atomic uint64_t finalized;
    uint64_t payload[];
} node;

static const gc_type *typed_s, *typed_l;

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

static uint64_t header_sum(const node *n)
{
    uint64_t h = mix(n->id);
    h = mix(h ^ n->owner);
    h = mix(h ^ ((uint64_t)n->kind << 32 | n->flags));
    h = mix(h ^ n->nwords);
    h = mix(h ^ n->blob_len);
    h = mix(h ^ n->level);
    h = mix(h ^ (uint64_t)(uintptr_t)n->frec);
    return mix(h ^ (uint64_t)(uintptr_t)n->crec);
}
static uint64_t payload_word(uint64_t id, uint64_t i) { return mix(id) ^ (i * 0x9E3779B97F4A7C15u); }
static unsigned char blob_byte(uint64_t id, uint64_t i)
{
    return (unsigned char)((mix(id + 7) & 0xff) + i * 31u + (i >> 8));
}

/* ---- counters and failures ----------------------------------------------------- */

static struct {
    _Atomic uint64_t allocated, verified, weak_checked, weak_cleared, fin_set, fin_run,
        cleanup_set, cleanup_run, rewired, roots_added, roots_removed, threads_started,
        threads_unregistered, threads_vanished, verify_heap;
    _Atomic uint64_t lost, corrupted, weak_bad, fin_bad;
} C;
static _Atomic int nmessages;

static __attribute__((format(printf, 2, 3))) void fail(_Atomic uint64_t *counter, const char *fmt, ...)
{
    atomic_fetch_add(counter, 1);
    if (atomic_fetch_add(&nmessages, 1) >= 20)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: FAIL %s\n", buf);
}

/* ---- per-thread state ------------------------------------------------------- */

typedef struct rootblk {
    node *slot[BLKSLOTS];
} rootblk;

typedef struct roots0 { /* a thread's first, permanent root range */
    node *slot[NSLOT];
    node *pin[NPIN];
} roots0;

typedef struct mut {
    uint64_t serial, rng;
    long ops_left;
    int unregister_at_exit, manual_fin;
    roots0 *r0;
    rootblk *blk[MAXBLK];
    gc_weak *pin_h[NPIN];
    void **pin_ws; /* NPIN weak slots, malloc'd (not scanned) */
    gc_weak *wh[NWEAK];
    uint64_t wh_id[NWEAK];
    void **ws; /* NWEAK weak slots, malloc'd */
    uint64_t ws_id[NWEAK];
    pthread_t th;
    _Atomic int done;
} mut;

static node *shared[NSHARED]; /* a registered root range */
static _Atomic uint64_t next_id = 1, next_serial = 1;
static _Atomic int stop_all;

static uint64_t rnd(mut *m)
{
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return m->rng * 2685821657736338717u;
}
static uint64_t below(mut *m, uint64_t n) { return rnd(m) % n; }

static node *load(node *const *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* ---- verification ------------------------------------------------------------ */

/* Check one node; 1 if it is intact (its edges may then be followed). */
static int check_node(const node *n, uint64_t me, const char *where)
{
    if (gc_base(n) != n) {
        fail(&C.lost, "%s: node %p is not an allocated object (gc_base %p)", where, (void *)n,
             gc_base(n));
        return 0;
    }
    if (n->sum != header_sum(n) || n->id == 0) {
        fail(&C.corrupted, "%s: node %p header broken (id %" PRIu64 ", word0 %#" PRIx64 ")", where,
             (void *)n, n->id, ((const uint64_t *)n)[0]);
        return 0;
    }
    size_t need = sizeof(node) + n->nwords * 8;
    if (gc_size(n) < need) {
        fail(&C.lost, "%s: node %" PRIu64 " has gc_size %zu < %zu", where, n->id, gc_size(n), need);
        return 0;
    }
    for (uint64_t i = 0; i < n->nwords; i++)
        if (n->payload[i] != payload_word(n->id, i)) {
            fail(&C.corrupted, "%s: node %" PRIu64 " payload word %" PRIu64 " is %#" PRIx64, where,
                 n->id, i, n->payload[i]);
            return 0;
        }
    const unsigned char *b = __atomic_load_n(&n->blob, __ATOMIC_ACQUIRE);
    if (n->blob_len && !b) {
        fail(&C.corrupted, "%s: node %" PRIu64 " lost its blob pointer", where, n->id);
        return 0;
    }
    if (b) {
        /* Blobs under 16 bytes share a block (the tiny allocator): gc_base
         * is the block's start, so check that the blob lies inside. */
        const unsigned char *base = gc_base(b);
        if (!base || base > b || base + gc_size(b) < b + n->blob_len ||
            (n->blob_len >= 16 && base != b)) {
            fail(&C.lost, "%s: blob %p of node %" PRIu64 " is not allocated", where, (void *)b,
                 n->id);
            return 0;
        }
        for (uint64_t i = 0; i < n->blob_len; i++)
            if (b[i] != blob_byte(n->id, i)) {
                fail(&C.corrupted, "%s: blob of node %" PRIu64 " byte %" PRIu64 " is %#x", where,
                     n->id, i, b[i]);
                return 0;
            }
    }
    if (atomic_load(&n->finalized))
        fail(&C.fin_bad, "%s: node %" PRIu64 " is reachable but its finalizer ran", where, n->id);
    if (n->frec && atomic_load(&n->frec->ran))
        fail(&C.fin_bad, "%s: node %" PRIu64 " is reachable but its finalizer record ran", where,
             n->id);
    if (n->crec && atomic_load(&n->crec->ran))
        fail(&C.fin_bad, "%s: node %" PRIu64 " is reachable but its cleanup ran", where, n->id);
    if (n->owner == me)
        for (int k = 0; k < NEDGE; k++) {
            const node *e = load(&n->edge[k]);
            uint64_t want = n->edge_id[k];
            if ((e == NULL) != (want == 0) ||
                (e && gc_base(e) == e && e->sum == header_sum(e) && e->id != want))
                fail(&C.corrupted, "%s: node %" PRIu64 " edge %d holds node %" PRIu64
                                   ", expected %" PRIu64, where, n->id, k, e ? e->id : 0, want);
        }
    atomic_fetch_add_explicit(&C.verified, 1, memory_order_relaxed);
    return 1;
}

/* Check n and what it reaches, depth levels down, at most *budget nodes. */
static void verify(const node *n, int depth, int *budget, uint64_t me, const char *where)
{
    if (!n || *budget <= 0)
        return;
    (*budget)--;
    if (!check_node(n, me, where) || depth == 0)
        return;
    for (int k = 0; k < NEDGE; k++)
        verify(load(&n->edge[k]), depth - 1, budget, me, where);
}

/* ---- finalizers and cleanups -------------------------------------------------- */

static void on_finalize(void *obj, void *arg)
{
    node *n = obj;
    rec *r = arg;
    if (atomic_fetch_add(&r->ran, 1) != 0)
        fail(&C.fin_bad, "finalizer of node %" PRIu64 " ran twice", r->id);
    if (gc_base(n) != n || n->sum != header_sum(n) || n->id != r->id || n->frec != r)
        fail(&C.fin_bad, "finalizer of node %" PRIu64 " got a broken object", r->id);
    else {
        /* What a finalizable object reaches stays alive for its finalizer.
         * Its payload and children are checked as a reachable node's. */
        atomic_store(&n->finalized, 1);
        int budget = 8;
        for (int k = 0; k < NEDGE; k++)
            verify(load(&n->edge[k]), 1, &budget, 0, "finalizer child");
        for (uint64_t i = 0; i < n->nwords; i++)
            if (n->payload[i] != payload_word(n->id, i)) {
                fail(&C.fin_bad, "finalizer of node %" PRIu64 ": payload broken", n->id);
                break;
            }
    }
    atomic_fetch_add(&C.fin_run, 1);
}

static void on_cleanup(void *arg)
{
    rec *r = arg;
    if (atomic_fetch_add(&r->ran, 1) != 0)
        fail(&C.fin_bad, "cleanup of node %" PRIu64 " ran twice", r->id);
    atomic_fetch_add(&C.cleanup_run, 1);
}

/* ---- allocation ------------------------------------------------------------------ */

static void *must(void *p, const char *what, size_t n)
{
    if (!p) {
        fprintf(stderr, "soak: %s(%zu) returned NULL\n", what, n);
        exit(2);
    }
    return p;
}

static void set_edge(node *n, int k, node *to)
{
    gc_store(&n->edge[k], to);
    n->edge_id[k] = to ? to->id : 0;
}

/* Edges point to lower levels: random rewiring of a graph with more than
 * one edge per node would otherwise make almost every node ever linked
 * reachable, and the heap would grow for as long as the soak runs.  Cycles
 * are made on purpose instead (link_cycle), and broken by rewiring. */
static int link_to(node *n, int k, node *to)
{
    if (to && to->level >= n->level)
        return 0;
    set_edge(n, k, to);
    return 1;
}

/* A new node of a random kind and size, with a blob and maybe a finalizer
 * or cleanup; frozen if asked (its edges are then never rewired). */
static node *new_node(mut *m, int frozen)
{
    uint64_t r = below(m, 1000);
    uint32_t kind;
    uint64_t nwords;
    node *n;
    if (r < 250) {
        kind = K_TYPED_S;
        nwords = TYPED_S_WORDS;
        n = must(gc_alloc_typed(typed_s), "gc_alloc_typed", sizeof(node));
    } else if (r < 330) {
        kind = K_TYPED_L;
        nwords = TYPED_L_WORDS;
        n = must(gc_alloc_typed(typed_l), "gc_alloc_typed", sizeof(node));
    } else {
        kind = K_PLAIN;
        nwords = r < 333 ? 4500 + below(m, 16000) /* 36 KiB .. 164 KiB */
                 : r < 600 ? below(m, 4)
                           : below(m, 40);
        size_t sz = sizeof(node) + nwords * 8;
        n = must(r & 1 ? gc_alloc(sz) : gc_alloc_array(nwords + sizeof(node) / 8, 8), "gc_alloc", sz);
    }
    n->id = atomic_fetch_add(&next_id, 1);
    n->owner = m->serial;
    n->kind = kind;
    n->flags = frozen ? F_FROZEN : 0;
    n->nwords = nwords;
    n->level = frozen ? 0 : below(m, 6);
    for (uint64_t i = 0; i < nwords; i++)
        n->payload[i] = payload_word(n->id, i);
    uint64_t b = below(m, 1000);
    size_t blen = b < 400 ? 0 : b < 700 ? 1 + below(m, 15) : b < 997 ? 16 + below(m, 1000)
                                                                     : 33000 + below(m, 70000);
    if (blen) {
        unsigned char *blob = must(gc_alloc_noscan(blen), "gc_alloc_noscan", blen);
        for (size_t i = 0; i < blen; i++)
            blob[i] = blob_byte(n->id, i);
        gc_store(&n->blob, blob);
    }
    n->blob_len = blen;
    uint64_t f = below(m, 64);
    if (f == 0 && !frozen) {
        /* A finalizer: frozen, with one frozen child it checks; no edges
         * out of either can close a cycle through it. */
        n->flags |= F_FROZEN;
        n->frec = must(calloc(1, sizeof(rec)), "calloc", sizeof(rec));
        n->frec->id = n->id;
    } else if (f == 1) {
        n->crec = must(calloc(1, sizeof(rec)), "calloc", sizeof(rec));
        n->crec->id = n->id;
    }
    n->sum = header_sum(n);
    if (n->frec) {
        set_edge(n, 0, new_node(m, 1)); /* a frozen leaf: no cycle */
        if (gc_set_finalizer(n, on_finalize, n->frec) != GC_OK)
            fail(&C.fin_bad, "gc_set_finalizer failed");
        atomic_fetch_add(&C.fin_set, 1);
    }
    if (n->crec) {
        if (gc_add_cleanup(n, on_cleanup, n->crec) == 0)
            fail(&C.fin_bad, "gc_add_cleanup failed");
        atomic_fetch_add(&C.cleanup_set, 1);
    }
    atomic_fetch_add_explicit(&C.allocated, 1, memory_order_relaxed);
    return n;
}

/* ---- picking ---------------------------------------------------------------------- */

static node **random_slot(mut *m)
{
    uint64_t r = below(m, 100);
    if (r < 15)
        return &shared[below(m, NSHARED)];
    if (r < 35) {
        rootblk *b = m->blk[below(m, MAXBLK)];
        if (b)
            return &b->slot[below(m, BLKSLOTS)];
    }
    return &m->r0->slot[below(m, NSLOT)];
}

/* A node reached from a random root, a few random steps down. */
static node *random_node(mut *m)
{
    /* Only through allocated nodes: after a collector bug, the walk
     * reports instead of crashing (check_node says what is wrong). */
    node *n = load(random_slot(m));
    if (n && gc_base(n) != n)
        return NULL;
    for (uint64_t steps = below(m, 4); n && steps; steps--) {
        node *e = load(&n->edge[below(m, NEDGE)]);
        if (!e || gc_base(e) != e)
            break;
        n = e;
    }
    return n;
}

/* A node this thread may rewire. */
static node *random_own_node(mut *m)
{
    for (int tries = 0; tries < 8; tries++) {
        node *n = random_node(m);
        if (n && n->sum == header_sum(n) && n->owner == m->serial && !(n->flags & F_FROZEN))
            return n;
    }
    return NULL;
}

/* ---- weak references --------------------------------------------------------------- */

static void check_weak(const node *p, uint64_t id, uint64_t me, const char *what)
{
    atomic_fetch_add_explicit(&C.weak_checked, 1, memory_order_relaxed);
    if (!p) {
        atomic_fetch_add_explicit(&C.weak_cleared, 1, memory_order_relaxed);
        return;
    }
    if (check_node(p, me, what) && p->id != id)
        fail(&C.weak_bad, "%s: reads node %" PRIu64 ", expected %" PRIu64, what, p->id, id);
}

static void check_pins(mut *m)
{
    for (int k = 0; k < NPIN; k++) {
        node *p = m->r0->pin[k];
        void *h = gc_weak_get(m->pin_h[k]);
        void *s = gc_weak_slot_get(&m->pin_ws[k]);
        atomic_fetch_add_explicit(&C.weak_checked, 2, memory_order_relaxed);
        if (h != p || s != p)
            fail(&C.weak_bad, "pinned node %" PRIu64 " (reachable): weak handle reads %p, weak slot "
                              "%p, expected %p", p->id, h, s, (void *)p);
        int budget = 1;
        verify(p, 0, &budget, m->serial, "pinned node");
    }
}

static void repin(mut *m, int k)
{
    node *n = new_node(m, 0);
    /* The old handle joins the free-floating ones (replacing one). */
    int j = (int)below(m, NWEAK);
    gc_weak_free(m->wh[j]);
    m->wh[j] = m->pin_h[k];
    m->wh_id[j] = m->r0->pin[k] ? m->r0->pin[k]->id : 0;
    gc_store(&m->r0->pin[k], n);
    m->pin_h[k] = must(gc_weak_new(n), "gc_weak_new", 0);
    if (gc_weak_slot_set(&m->pin_ws[k], n) != GC_OK)
        fail(&C.weak_bad, "gc_weak_slot_set failed");
}

static void check_weaks(mut *m)
{
    for (int j = 0; j < NWEAK; j++) {
        if (m->wh[j])
            check_weak(gc_weak_get(m->wh[j]), m->wh_id[j], m->serial, "weak handle");
        check_weak(gc_weak_slot_get(&m->ws[j]), m->ws_id[j], m->serial, "weak slot");
    }
}

static void new_weak(mut *m)
{
    node *n = random_node(m);
    if (!n)
        return;
    int j = (int)below(m, NWEAK);
    if (below(m, 2)) {
        gc_weak_free(m->wh[j]);
        m->wh[j] = must(gc_weak_new(n), "gc_weak_new", 0);
        m->wh_id[j] = n->id;
    } else {
        if (gc_weak_slot_set(&m->ws[j], n) != GC_OK)
            fail(&C.weak_bad, "gc_weak_slot_set failed");
        m->ws_id[j] = n->id;
    }
}

/* ---- root blocks -------------------------------------------------------------------- */

static void add_block(mut *m, int i)
{
    rootblk *b = must(calloc(1, sizeof *b), "calloc", sizeof *b);
    gc_add_roots(b, b + 1);
    /* Copy in some references, as a program moving pointers around. */
    for (int k = 0; k < BLKSLOTS; k += 2)
        gc_store(&b->slot[k], load(random_slot(m)));
    m->blk[i] = b;
    atomic_fetch_add(&C.roots_added, 1);
}

static void remove_block(mut *m, int i)
{
    rootblk *b = m->blk[i];
    if (!b)
        return;
    /* Keep a few of its nodes elsewhere; the rest may die. */
    for (int k = 0; k < 4; k++)
        gc_store(&m->r0->slot[below(m, NSLOT)], load(&b->slot[below(m, BLKSLOTS)]));
    m->blk[i] = NULL;
    gc_remove_roots(b, b + 1);
    free(b);
    atomic_fetch_add(&C.roots_removed, 1);
}

/* ---- the mutator ---------------------------------------------------------------------- */

static size_t (*verify_heap_fn)(void);

static void full_check(mut *m)
{
    for (int i = 0; i < NSLOT; i++) {
        int budget = 16;
        verify(load(&m->r0->slot[i]), 2, &budget, m->serial, "thread roots");
    }
    for (int i = 0; i < MAXBLK; i++)
        if (m->blk[i])
            for (int k = 0; k < BLKSLOTS; k++) {
                int budget = 4;
                verify(load(&m->blk[i]->slot[k]), 1, &budget, m->serial, "root block");
            }
    check_pins(m);
    check_weaks(m);
}

/* n -> a -> b -> n through the last edge, all on n's level. */
static void link_cycle(mut *m, node *n)
{
    node *a = new_node(m, 0), *b = new_node(m, 0);
    if ((a->flags | b->flags) & F_FROZEN)
        return; /* one got a finalizer: no cycle through it */
    set_edge(b, NEDGE - 1, n);
    set_edge(a, NEDGE - 1, b);
    set_edge(n, NEDGE - 1, a);
}

static void step(mut *m)
{
    uint64_t r = below(m, 1000);
    if (r < 300) { /* allocate and link in */
        node *n = new_node(m, 0);
        if (!(n->flags & F_FROZEN)) {
            for (int k = 0; k < NEDGE; k++)
                if (below(m, 2) == 0)
                    link_to(n, k, random_node(m));
            if (below(m, 16) == 0)
                link_cycle(m, n);
        }
        node *parent = below(m, 3) == 0 ? random_own_node(m) : NULL;
        if (!parent || !link_to(parent, (int)below(m, NEDGE), n))
            gc_store(random_slot(m), n);
    } else if (r < 500) { /* rewire */
        node *n = random_own_node(m);
        if (n) {
            if (link_to(n, (int)below(m, NEDGE), below(m, 4) ? random_node(m) : NULL))
                atomic_fetch_add_explicit(&C.rewired, 1, memory_order_relaxed);
        }
    } else if (r < 750) { /* verify what one root reaches */
        int budget = 64;
        verify(load(random_slot(m)), 4, &budget, m->serial, "walk");
    } else if (r < 800) { /* move or drop a root */
        node **to = random_slot(m);
        gc_store(to, below(m, 4) ? load(random_slot(m)) : NULL);
    } else if (r < 850) {
        new_weak(m);
    } else if (r < 900) {
        int j = (int)below(m, NWEAK);
        check_weak(m->wh[j] ? gc_weak_get(m->wh[j]) : NULL, m->wh_id[j], m->serial, "weak handle");
        check_weak(gc_weak_slot_get(&m->ws[j]), m->ws_id[j], m->serial, "weak slot");
    } else if (r < 905) {
        repin(m, (int)below(m, NPIN));
    } else if (r < 915) {
        int i = (int)below(m, MAXBLK);
        if (m->blk[i])
            remove_block(m, i);
        else
            add_block(m, i);
    } else if (r < 917) {
        if (m->manual_fin)
            gc_run_finalizers();
    } else if (r < 918 && below(m, 100) == 0) {
        gc_collect();
    }
}

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static void *mutator(void *arg)
{
    mut *m = arg;
    if (gc_register_thread() != GC_OK) {
        fail(&C.corrupted, "gc_register_thread failed");
        return NULL;
    }
    atomic_fetch_add(&C.threads_started, 1);
    m->r0 = must(calloc(1, sizeof *m->r0), "calloc", sizeof *m->r0);
    gc_add_roots(m->r0, m->r0 + 1);
    m->pin_ws = must(calloc(NPIN, sizeof(void *)), "calloc", 0);
    m->ws = must(calloc(NWEAK, sizeof(void *)), "calloc", 0);
    for (int k = 0; k < NPIN; k++)
        repin(m, k);
    long ops = 0;
    while (ops < m->ops_left && !atomic_load_explicit(&stop_all, memory_order_relaxed)) {
        step(m);
        ops++;
        if (ops % 2048 == 0)
            full_check(m);
        if (verify_heap_fn && ops % VERIFY_EVERY == 0) {
            if (verify_heap_fn() != 0)
                fail(&C.corrupted, "gc_verify_heap found problems (above)");
            atomic_fetch_add(&C.verify_heap, 1);
        }
    }
    full_check(m);
    /* Leave a few nodes to the others, then take everything down. */
    for (int k = 0; k < 8; k++)
        gc_store(&shared[below(m, NSHARED)], load(&m->r0->slot[below(m, NSLOT)]));
    for (int i = 0; i < MAXBLK; i++)
        remove_block(m, i);
    for (int j = 0; j < NWEAK; j++) {
        gc_weak_free(m->wh[j]);
        gc_weak_slot_clear(&m->ws[j]);
    }
    for (int k = 0; k < NPIN; k++) {
        gc_weak_free(m->pin_h[k]);
        gc_weak_slot_clear(&m->pin_ws[k]);
    }
    gc_remove_roots(m->r0, m->r0 + 1);
    free(m->r0);
    free(m->ws);
    free(m->pin_ws);
    if (m->manual_fin)
        gc_run_finalizers();
    if (m->unregister_at_exit) {
        gc_unregister_thread();
        atomic_fetch_add(&C.threads_unregistered, 1);
    } else {
        atomic_fetch_add(&C.threads_vanished, 1); /* allowed: mgc.h rule 2 */
    }
    pthread_mutex_lock(&done_lock);
    atomic_store(&m->done, 1);
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

/* ---- the main thread: start, join, report --------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *wait_done(void *arg)
{
    double until = *(double *)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double d = until - now();
    if (d > 0.25)
        d = 0.25;
    if (d < 0)
        d = 0;
    ts.tv_nsec += (long)(d * 1e9);
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_mutex_lock(&done_lock);
    pthread_cond_timedwait(&done_cond, &done_lock, &ts);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}
static void *join_fn(void *arg)
{
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

static uint64_t seed;

static void start(mut **slot, int manual)
{
    mut *m = must(calloc(1, sizeof *m), "calloc", sizeof *m);
    m->serial = atomic_fetch_add(&next_serial, 1);
    m->rng = mix(seed ^ mix(m->serial)) | 1;
    m->ops_left = 5000 + (long)below(m, 60000);
    m->unregister_at_exit = below(m, 4) != 0;
    m->manual_fin = manual;
    *slot = m;
    if (pthread_create(&m->th, NULL, mutator, m) != 0) {
        fprintf(stderr, "soak: pthread_create failed\n");
        exit(2);
    }
}

static double parse_seconds(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    if (*end == 'm')
        v *= 60, end++;
    else if (*end == 'h')
        v *= 3600, end++;
    else if (*end == 's')
        end++;
    return *end ? -1 : v;
}

static void report(double secs, int nthreads, int manual)
{
    gc_stats s;
    gc_get_stats(&s);
    printf("soak: %.0f s, %d threads, seed %" PRIu64 ", finalizers %s, checkmark %s\n", secs,
           nthreads, seed, manual ? "manual" : "thread",
           getenv("MGC_CHECKMARK") ? getenv("MGC_CHECKMARK") : "0");
    printf("  objects allocated    %" PRIu64 " (%" PRIu64 " MB in total)\n",
           atomic_load(&C.allocated), s.total_alloc >> 20);
    printf("  objects verified     %" PRIu64 " (checksums checked)\n", atomic_load(&C.verified));
    printf("  edges rewired        %" PRIu64 "\n", atomic_load(&C.rewired));
    printf("  cycles run           %" PRIu64 " (%" PRIu64 " forced), %" PRIu64
           " pauses, max pause %.2f ms\n",
           s.num_gc, s.num_forced_gc, s.num_pauses, s.pause_max_ns / 1e6);
    printf("  finalizers run       %" PRIu64 " of %" PRIu64 " set\n", atomic_load(&C.fin_run),
           atomic_load(&C.fin_set));
    printf("  cleanups run         %" PRIu64 " of %" PRIu64 " set\n", atomic_load(&C.cleanup_run),
           atomic_load(&C.cleanup_set));
    printf("  weak refs checked    %" PRIu64 " (%" PRIu64 " read as cleared)\n",
           atomic_load(&C.weak_checked), atomic_load(&C.weak_cleared));
    printf("  root ranges          %" PRIu64 " added, %" PRIu64 " removed\n",
           atomic_load(&C.roots_added), atomic_load(&C.roots_removed));
    printf("  threads              %" PRIu64 " started, %" PRIu64 " unregistered, %" PRIu64
           " exited registered\n",
           atomic_load(&C.threads_started), atomic_load(&C.threads_unregistered),
           atomic_load(&C.threads_vanished));
    if (verify_heap_fn)
        printf("  gc_verify_heap       %" PRIu64 " calls\n", atomic_load(&C.verify_heap));
    else
        printf("  gc_verify_heap       not in this mgc.h\n");
    printf("  heap                 %" PRIu64 " MB in use, %" PRIu64 " objects live\n",
           s.heap_inuse >> 20, s.heap_objects);
    printf("  lost=%" PRIu64 " corrupted=%" PRIu64 " weak_errors=%" PRIu64
           " finalizer_errors=%" PRIu64 "\n",
           atomic_load(&C.lost), atomic_load(&C.corrupted), atomic_load(&C.weak_bad),
           atomic_load(&C.fin_bad));
}

/* A crash in the soak is a finding too: say so with what was counted. */
static void on_crash(int sig)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "soak: crashed with signal %d after %" PRIu64 " objects allocated, %" PRIu64
                     " verified: lost=%" PRIu64 " corrupted=%" PRIu64 "\n",
                     sig, atomic_load(&C.allocated), atomic_load(&C.verified),
                     atomic_load(&C.lost), atomic_load(&C.corrupted));
    if (n > 0 && write(2, buf, (size_t)n) < 0)
        n = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

#ifdef SOAK_HAVE_VERIFY_HEAP
static size_t call_verify_heap(void) { return gc_verify_heap(); }
#endif

int main(int argc, char **argv)
{
    double secs = 60;
    int nthreads = 4, verbose = 0, npos = 0;
    seed = (uint64_t)time(NULL);
    if (getenv("SOAK_SECONDS"))
        secs = parse_seconds(getenv("SOAK_SECONDS"));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            verbose = 1;
        else if (npos == 0 && argv[i][0] != '-')
            secs = parse_seconds(argv[i]), npos++;
        else if (npos == 1 && argv[i][0] != '-')
            nthreads = atoi(argv[i]), npos++;
        else {
            fprintf(stderr, "usage: %s [SECONDS[s|m|h]] [THREADS] [--seed N] [--verbose]\n"
                            "  (SECONDS also from $SOAK_SECONDS; default 60 s, 4 threads)\n",
                    argv[0]);
            return 2;
        }
    }
    if (secs < 0 || nthreads < 1 || nthreads > MAXTHREADS) {
        fprintf(stderr, "soak: bad duration or thread count (1 to %d)\n", MAXTHREADS);
        return 2;
    }
    setenv("MGC_CHECKMARK", "1", 0);
    setenv("MGC_CLOBBER", "1", 0);
    setenv("MGC_FINALIZERS", seed & 1 ? "manual" : "thread", 0);
    int manual = !strcmp(getenv("MGC_FINALIZERS"), "manual");
#ifdef SOAK_HAVE_VERIFY_HEAP
    verify_heap_fn = call_verify_heap;
#endif
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    int rc = gc_init(NULL);
    if (rc != GC_OK) {
        fprintf(stderr, "soak: gc_init: %s\n", gc_strerror(rc));
        return 2;
    }
    static const size_t offs[] = {offsetof(node, edge[0]), offsetof(node, edge[1]),
                                  offsetof(node, edge[2]), offsetof(node, blob)};
    _Static_assert(NEDGE == 3, "offs lists the edges");
    typed_s = gc_type_new("soak_s", sizeof(node) + TYPED_S_WORDS * 8, offs, 4);
    typed_l = gc_type_new("soak_l", sizeof(node) + TYPED_L_WORDS * 8, offs, 4);
    if (!typed_s || !typed_l)
        return 2;
    gc_add_roots(shared, shared + NSHARED);

    mut *ms[MAXTHREADS] = {0};
    double t0 = now(), until = t0 + secs, next_report = t0 + 10;
    for (int i = 0; i < nthreads; i++)
        start(&ms[i], manual);
    for (;;) {
        double t = now();
        if (t >= until)
            atomic_store(&stop_all, 1);
        gc_do_blocking(wait_done, &until);
        int running = 0;
        for (int i = 0; i < nthreads; i++) {
            if (!ms[i])
                continue;
            if (atomic_load(&ms[i]->done)) {
                gc_do_blocking(join_fn, &ms[i]->th);
                free(ms[i]);
                ms[i] = NULL;
                if (!atomic_load(&stop_all))
                    start(&ms[i], manual);
            }
            running += ms[i] != NULL;
        }
        if (!running && atomic_load(&stop_all))
            break;
        /* The main thread checks the shared table too. */
        for (int i = 0; i < NSHARED; i += 7) {
            int budget = 8;
            verify(load(&shared[i]), 2, &budget, 0, "shared table");
        }
        if (manual)
            gc_run_finalizers();
        if (verbose && now() >= next_report) {
            gc_stats s;
            gc_get_stats(&s);
            fprintf(stderr, "soak: %.0f s: %" PRIu64 " allocated, %" PRIu64 " verified, %" PRIu64
                            " cycles, %" PRIu64 " MB in use, %" PRIu64 " lost, %" PRIu64
                            " corrupted\n",
                    now() - t0, atomic_load(&C.allocated), atomic_load(&C.verified), s.num_gc,
                    s.heap_inuse >> 20, atomic_load(&C.lost), atomic_load(&C.corrupted));
            next_report += 10;
        }
    }
    /* The end: everything the shared table reaches survives two full
     * collections; then what the finalizers left is run. */
    for (int round = 0; round < 2; round++) {
        gc_collect();
        for (int i = 0; i < NSHARED; i++) {
            int budget = 64;
            verify(load(&shared[i]), 3, &budget, 0, "final check");
        }
    }
    if (verify_heap_fn && verify_heap_fn() != 0)
        fail(&C.corrupted, "gc_verify_heap failed at the end");
    if (manual)
        gc_run_finalizers();
    report(now() - t0, nthreads, manual);
    uint64_t bad = atomic_load(&C.lost) + atomic_load(&C.corrupted) + atomic_load(&C.weak_bad) +
                   atomic_load(&C.fin_bad);
    return bad ? 1 : 0;
}
