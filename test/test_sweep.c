/*
 * test_sweep.c -- every span is swept, in every span class, every cycle.
 *
 * Sweepers find unswept spans through a per-parity bitmap of span classes
 * (runtime/mcentral.c) instead of locking every class.  If that bitmap
 * missed a class -- a span filed without setting its bit, a bit cleared
 * while spans remained, a search that skipped words -- the spans of that
 * class would stay unswept: their dead objects never freed, heap_alloc
 * counting them forever, gc_verify_heap reporting a span listed with the
 * wrong sweepgen.  These tests fill every small span class (scan, noscan,
 * typed) and check, per class, that the dead of cycle N are freed by it,
 * that the slots are reused, and that the survivors of cycle N, whose spans
 * were swept and filed during cycle N, are swept and freed in cycle N+1.
 * A second test churns every class from two threads under automatic
 * collection, so proportional and on-demand sweeping race the background
 * sweeper, and checks the heap and its statistics afterwards.
 */
#include "test_util.h"

/* ---- one object list per span class ---------------------------------------- */

#define MAX_CLASSES 3 * 68
#define BYTES_PER_CLASS (48 * TU_KIB)
#define MIN_PER_CLASS 16

typedef struct sweep_class {
    int kind;                /* 0 gc_alloc, 1 gc_alloc_noscan, 2 gc_alloc_typed */
    size_t size;             /* the class's slot size */
    const gc_type *type;     /* kind 2 */
    size_t n;                /* objects allocated in each round */
    uintptr_t *dead;         /* hidden addresses of this round's garbage */
    size_t ndead;
} sweep_class;

static sweep_class classes[MAX_CLASSES];
static int nclasses;
static void **keep;          /* registered root: every fourth object */
static size_t nkeep, keep_cap;
static uint64_t keep_bytes;

static void *alloc_kind(const sweep_class *c)
{
    if (c->kind == 0)
        return gc_alloc(c->size);
    if (c->kind == 1)
        return gc_alloc_noscan(c->size);
    return gc_alloc_typed(c->type);
}

/* ** One class per small size class and kind: walk the sizes by the slot
 * size gc_size reports, so no class is skipped or counted twice.  Noscan
 * sizes below 16 go to the tiny allocator and typed ones below 16 are
 * plain scan objects: both left out. */
static void find_classes(void)
{
    static const size_t ptr0[] = {0};
    nclasses = 0;
    for (size_t n = 1; n <= 32768;) {
        void *p = gc_alloc(n);
        cr_assert_not_null(p);
        size_t size = gc_size(p);
        cr_assert_geq(size, n);
        for (int kind = 0; kind < 3; kind++) {
            if (kind != 0 && size < 16)
                continue;
            cr_assert_lt(nclasses, MAX_CLASSES);
            sweep_class *c = &classes[nclasses++];
            memset(c, 0, sizeof *c);
            c->kind = kind;
            c->size = size;
            if (kind == 2) {
                c->type = gc_type_new("sweep_node", size, ptr0, 1);
                cr_assert_not_null(c->type);
            }
            c->n = BYTES_PER_CLASS / size > MIN_PER_CLASS ? BYTES_PER_CLASS / size : MIN_PER_CLASS;
            c->dead = calloc(c->n, sizeof *c->dead);
            cr_assert_not_null(c->dead);
        }
        n = size + 1;
    }
    cr_assert_geq(nclasses, 150, "only %d span classes found", nclasses);
}

/* ** A round: in every class, n objects; every fourth is kept in the root
 * array, the rest are remembered hidden.  No heap address stays in this
 * frame (the caller collects after it returns). */
static TU_NOINLINE void fill_round(void)
{
    for (int k = 0; k < nclasses; k++) {
        sweep_class *c = &classes[k];
        c->ndead = 0;
        for (size_t i = 0; i < c->n; i++) {
            void **p = alloc_kind(c);
            if (!p) {
                tu_fail("class %d (kind %d, %zu B): allocation %zu failed", k, c->kind, c->size, i);
                return;
            }
            if (c->kind != 1)
                gc_store(&p[0], NULL);
            if (i % 4 == 0 && nkeep < keep_cap) {
                gc_store(&keep[nkeep++], p);
                keep_bytes += c->size;
            } else {
                c->dead[c->ndead++] = tu_hide(p);
            }
        }
    }
}

/* ** Per class, the share of this round's garbage that is free now; fails
 * on the first class that kept more than half its dead, and unless 95% of
 * all of it is free.  Call before allocating anything. */
static void assert_round_freed(const char *when)
{
    size_t total = 0, freed = 0;
    for (int k = 0; k < nclasses; k++) {
        sweep_class *c = &classes[k];
        size_t f = tu_count_freed(c->dead, c->ndead);
        cr_assert_geq(f * 2, c->ndead, "%s: class %d (kind %d, %zu B): only %zu of %zu dead freed",
                      when, k, c->kind, c->size, f, c->ndead);
        total += c->ndead;
        freed += f;
    }
    cr_assert_geq(freed * 100, total * 95, "%s: only %zu of %zu dead objects freed", when, freed,
                  total);
}

/* ** The kept objects of the last round become garbage: their hidden
 * addresses replace the round's (freed already) in each class's list. */
static TU_NOINLINE void drop_kept(void)
{
    size_t j = 0;
    for (int k = 0; k < nclasses; k++) {
        sweep_class *c = &classes[k];
        c->ndead = 0;
        for (size_t i = 0; i < c->n; i += 4)
            if (j < nkeep) {
                c->dead[c->ndead++] = tu_hide(keep[j]);
                gc_store(&keep[j++], NULL);
            }
    }
    nkeep = 0;
    keep_bytes = 0;
}

static void setup_classes(void)
{
    tu_init();
    gc_set_percent(-1); /* only the cycles the test asks for */
    find_classes();
    keep_cap = 0;
    for (int k = 0; k < nclasses; k++)
        keep_cap += (classes[k].n + 3) / 4;
    keep = calloc(keep_cap, sizeof *keep);
    cr_assert_not_null(keep);
    gc_add_roots(keep, keep + keep_cap);
    nkeep = 0;
    keep_bytes = 0;
}

Test(sweep, every_class_swept_each_cycle, .timeout = 120)
{
    tu_pin_no_torture(); /* counts what one cycle frees */
    setup_classes();

    /* Cycle N: the dead of every class are freed, heap_alloc is the kept. */
    fill_round();
    tu_assert_no_thread_failures();
    gc_stats before = tu_stats();
    tu_collect_clean();
    assert_round_freed("cycle N");
    cr_assert_eq(gc_verify_heap(), 0, "heap verification failed after cycle N");
    gc_stats s1 = tu_stats();
    cr_assert(s1.heap_alloc >= keep_bytes && s1.heap_alloc <= keep_bytes + keep_bytes / 10 + 256 * TU_KIB,
              "heap_alloc %llu after cycle N, %llu bytes kept",
              (unsigned long long)s1.heap_alloc, (unsigned long long)keep_bytes);

    /* The freed slots and spans are reused: the same round again needs no
     * more heap than the first did. */
    uint64_t kept_n = keep_bytes;
    fill_round();
    tu_assert_no_thread_failures();
    gc_stats s2 = tu_stats();
    cr_assert_leq(s2.heap_inuse, before.heap_inuse + before.heap_inuse / 4 + kept_n,
                  "heap_inuse %llu after refilling, %llu before cycle N: freed memory not reused",
                  (unsigned long long)s2.heap_inuse, (unsigned long long)before.heap_inuse);

    /* Cycle N+1: this round's dead again, and the survivors of cycle N --
     * in spans that cycle N swept and filed -- once dropped. */
    tu_collect_clean();
    assert_round_freed("cycle N+1");
    drop_kept();
    tu_collect_clean();
    assert_round_freed("cycle N+2, survivors of N and N+1");
    cr_assert_eq(gc_verify_heap(), 0, "heap verification failed after cycle N+2");
    gc_stats s3 = tu_stats();
    cr_assert_leq(s3.heap_alloc, s1.heap_alloc / 10 + 256 * TU_KIB,
                  "heap_alloc %llu with nothing kept (was %llu with %llu kept)",
                  (unsigned long long)s3.heap_alloc, (unsigned long long)s1.heap_alloc,
                  (unsigned long long)kept_n);
}

/* ---- churn under automatic collection ---------------------------------------- */

#define CHURN_THREADS 2
#define CHURN_RING 512
#define CHURN_ALLOCS 400000
static void *churn_ring[CHURN_THREADS][CHURN_RING];

/* ** A mutator: every class in turn, a ring of its newest objects live
 * (each tagged with its sequence number), checking each object as it
 * leaves the ring. */
static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK) {
        tu_fail("thread %d: gc_register_thread failed", id);
        return NULL;
    }
    void **ring = churn_ring[id];
    for (uint64_t i = 0; i < CHURN_ALLOCS; i++) {
        const sweep_class *c = &classes[(i * 7 + (uint64_t)id) % (uint64_t)nclasses];
        if (c->size > 2048 && i % 16 != 0)
            c = &classes[i % 8]; /* keep big slots rarer: many cycles, not a big heap */
        uint64_t *p = alloc_kind(c);
        if (!p) {
            tu_fail("thread %d: allocation of %zu B failed", id, c->size);
            break;
        }
        if (p[c->size / 8 - 1] != 0 || (c->kind != 1 && p[0] != 0)) {
            tu_fail("thread %d: a new %zu B object is not zeroed", id, c->size);
            break;
        }
        p[c->size / 8 - 1] = tu_mix(i) | 1; /* odd: never a heap address */
        uint64_t *old = ring[i % CHURN_RING];
        if (old && old[gc_size(old) / 8 - 1] != (tu_mix(i - CHURN_RING) | 1)) {
            tu_fail("thread %d: object %llu (%zu B) changed while live: %llx", id,
                    (unsigned long long)(i - CHURN_RING), gc_size(old),
                    (unsigned long long)old[gc_size(old) / 8 - 1]);
            break;
        }
        gc_store(&ring[i % CHURN_RING], p);
    }
    gc_unregister_thread();
    return NULL;
}

Test(sweep, churn_across_classes_keeps_heap_consistent, .timeout = 180)
{
    setup_classes();
    gc_set_percent(100);
    gc_add_roots(churn_ring, churn_ring + CHURN_THREADS);
    gc_stats s0 = tu_stats();
    void *ids[CHURN_THREADS];
    for (int i = 0; i < CHURN_THREADS; i++)
        ids[i] = (void *)(intptr_t)i;
    _Atomic int unused_stop = 0; /* the mutators stop by themselves */
    tu_mutators_beside_collections(CHURN_THREADS, churn, ids, 0, &unused_stop);
    gc_stats s1 = tu_stats();
    cr_assert_geq(s1.num_gc - s0.num_gc, 3, "only %llu collections while churning",
                  (unsigned long long)(s1.num_gc - s0.num_gc));

    gc_set_percent(-1);
    tu_collect_clean();
    cr_assert_eq(gc_verify_heap(), 0, "heap verification failed after churning");
    uint64_t ring_bytes = 0;
    for (int t = 0; t < CHURN_THREADS; t++)
        for (int i = 0; i < CHURN_RING; i++)
            ring_bytes += churn_ring[t][i] ? gc_size(churn_ring[t][i]) : 0;
    gc_stats s2 = tu_stats();
    cr_assert(s2.heap_alloc >= ring_bytes && s2.heap_alloc <= ring_bytes + 512 * TU_KIB,
              "heap_alloc %llu after churning, %llu bytes live in the rings",
              (unsigned long long)s2.heap_alloc, (unsigned long long)ring_bytes);
}
