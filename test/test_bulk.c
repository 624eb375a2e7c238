/*
 * test_bulk.c -- gc_store_range and gc_clear_range, the bulk barrier.
 *
 * Three kinds of test:
 *  - white-box: the test thread drives one mark by hand (as in
 *    test_barrier.c), a registered mutator (or the unregistered test
 *    thread) makes one bulk store while the barrier is on, and the test
 *    reads the mark bits: every overwritten and every stored pointer must be
 *    shaded at once, and in a typed destination only its pointer words;
 *  - a shadow model: four threads move, clear and refill words of their
 *    objects at random (overlapping moves both ways, inside one object and
 *    between objects, sources on the stack) while the main thread collects
 *    under MGC_CHECKMARK, which aborts on any reachable object the
 *    concurrent mark missed.  Each thread keeps a model of its words (leaf
 *    pointers hidden, so the model is no root) and checks the heap against
 *    it; each leaf carries a serial number, so a freed and reused leaf
 *    shows as a mismatch;
 *  - misuse: each malformed call prints one line naming the call and the
 *    fix, and has the documented result.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>

#include "test/test_util.h"

#include "gc/workbuf.h"
#include "gc/gc.h"

/* ---- white-box: the barrier's shading -------------------------------------- */

#define NW 6

typedef struct vec {
    void *w[NW];
} vec;

static vec *root[2];     /* registered: dst and src */
static _Atomic int step; /* driver <-> mutator handshake */

/* Wait until the handshake reaches step v (also run parked, through
 * gc_do_blocking, by the mutator: its stack is then scanned without a
 * signal). */
static void *await_step(void *v)
{
    for (int want = (int)(intptr_t)v; atomic_load(&step) < want;)
        sched_yield();
    return NULL;
}

static bool is_marked(const void *p)
{
    mspan *s = mgc_span_of_heap((uintptr_t)p);
    cr_assert_not_null(s, "test object %p is not in the heap", p);
    return mgc_bit_get(s->gcmark_bits, mgc_span_obj_index(s, (uintptr_t)p));
}

/* Fill v's words with fresh 32-byte objects. */
static void fill_fresh(vec *v)
{
    for (int i = 0; i < NW; i++) {
        void *o = gc_alloc(32);
        cr_assert_not_null(o);
        gc_store(&v->w[i], o);
    }
}

static void begin_mark(void)
{
    mgc_stop_the_world();
    mgc_mark_setup();
    mgc_start_the_world();
    cr_assert(atomic_load(&mgc_marking), "mark setup did not turn the barrier on");
}

/* The bulk operation under test, made by a registered mutator at step 1. */
typedef enum { OP_MOVE, OP_CLEAR, OP_OVERLAP } bulk_op;

static void do_op(bulk_op op)
{
    if (op == OP_MOVE)
        gc_store_range(root[0]->w, root[1]->w, sizeof root[0]->w);
    else if (op == OP_CLEAR)
        gc_clear_range(root[0]->w, sizeof root[0]->w);
    else /* slide dst's words up by two: overlap, copying backwards */
        gc_store_range(&root[0]->w[2], &root[0]->w[0], (NW - 2) * sizeof(void *));
}

static void *op_mutator(void *arg)
{
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    atomic_store(&step, 1);
    gc_do_blocking(await_step, (void *)(intptr_t)2);
    do_op((bulk_op)(intptr_t)arg);
    mgc_mark_flush_thread(mgc_self); /* what mark termination would do */
    atomic_store(&step, 3);
    gc_do_blocking(await_step, (void *)(intptr_t)4);
    gc_unregister_thread();
    return NULL;
}

/* Set up dst and src full of fresh objects, start a mark with nothing
 * scanned, run op (on a registered mutator, or on this thread once it is
 * unregistered) and return with the old and new words recorded in
 * old_w/new_w and the mark still running. */
static void run_op(bulk_op op, bool registered, void **old_w, void **new_w)
{
    tu_init();
    gc_set_percent(-1); /* no automatic cycle: the test is the collector */
    gc_add_roots(root, root + 2);
    vec *d = gc_alloc(sizeof(vec)), *s = gc_alloc(sizeof(vec));
    cr_assert(d && s);
    fill_fresh(d);
    fill_fresh(s);
    gc_store(&root[0], d);
    gc_store(&root[1], s);
    memcpy(old_w, d->w, sizeof d->w);
    memcpy(new_w, s->w, sizeof s->w);
    pthread_t th;
    if (registered) {
        cr_assert_eq(pthread_create(&th, NULL, op_mutator, (void *)(intptr_t)op), 0);
        await_step((void *)1);
    }
    gc_unregister_thread();
    begin_mark();
    for (int i = 0; i < NW; i++)
        cr_assert(!is_marked(old_w[i]) && !is_marked(new_w[i]),
                  "test precondition: word %d's object marked before any scan", i);
    if (registered) {
        atomic_store(&step, 2);
        await_step((void *)3);
        atomic_store(&step, 4);
        tu_join(th);
        tu_assert_no_thread_failures();
    } else {
        do_op(op);
    }
}

Test(bulk, store_range_shades_every_old_and_new_word)
{
    void *old_w[NW], *new_w[NW];
    run_op(OP_MOVE, true, old_w, new_w);
    for (int i = 0; i < NW; i++) {
        cr_assert(is_marked(old_w[i]), "old word %d not shaded: deletion half missing", i);
        cr_assert(is_marked(new_w[i]), "new word %d not shaded: insertion half missing", i);
        cr_assert_eq(root[0]->w[i], new_w[i], "word %d not copied", i);
    }
}

Test(bulk, clear_range_shades_every_old_word)
{
    void *old_w[NW], *new_w[NW];
    run_op(OP_CLEAR, true, old_w, new_w);
    for (int i = 0; i < NW; i++) {
        cr_assert(is_marked(old_w[i]), "old word %d not shaded: deletion half missing", i);
        cr_assert_null(root[0]->w[i], "word %d not cleared", i);
        cr_assert(!is_marked(new_w[i]), "an unrelated object was shaded");
    }
}

Test(bulk, overlapping_move_up_shades_and_copies)
{
    void *old_w[NW], *new_w[NW];
    run_op(OP_OVERLAP, true, old_w, new_w);
    for (int i = 2; i < NW; i++) /* the words overwritten */
        cr_assert(is_marked(old_w[i]), "old word %d not shaded", i);
    for (int i = 0; i < NW - 2; i++) /* the values moved */
        cr_assert(is_marked(old_w[i]), "moved word %d not shaded", i);
    for (int i = 0; i < NW; i++)
        cr_assert_eq(root[0]->w[i], old_w[i < 2 ? i : i - 2], "word %d: memmove semantics broken",
                     i);
}

Test(bulk, unregistered_thread_store_range_shades)
{
    void *old_w[NW], *new_w[NW];
    run_op(OP_MOVE, false, old_w, new_w);
    for (int i = 0; i < NW; i++) {
        cr_assert(is_marked(old_w[i]), "old word %d not shaded (unregistered caller)", i);
        cr_assert(is_marked(new_w[i]), "new word %d not shaded (unregistered caller)", i);
    }
}

/* A typed destination: words 0, 2, 4 are pointers, 1, 3, 5 numbers.  The
 * numbers in the source happen to be heap addresses; only what lands in
 * (or leaves) a pointer word is shaded. */
Test(bulk, typed_destination_shades_only_its_pointer_words)
{
    tu_init();
    gc_set_percent(-1);
    gc_add_roots(root, root + 2);
    static const size_t offs[] = {0, 16, 32};
    const gc_type *t = gc_type_new("trio", sizeof(vec), offs, 3);
    cr_assert_not_null(t);
    vec *d = gc_alloc_typed(t), *s = gc_alloc(sizeof(vec));
    cr_assert(d && s);
    fill_fresh(s);
    void *old_w[NW], *new_w[NW];
    for (int i = 0; i < NW; i++) {
        old_w[i] = gc_alloc(32);
        d->w[i] = old_w[i]; /* no mark runs yet: a plain store is allowed */
    }
    gc_store(&root[0], d);
    gc_store(&root[1], s);
    memcpy(new_w, s->w, sizeof s->w);
    gc_unregister_thread();
    begin_mark();
    gc_store_range(d->w, s->w, sizeof d->w);
    for (int i = 0; i < NW; i++) {
        bool ptr = i % 2 == 0;
        cr_assert_eq(is_marked(old_w[i]), ptr, "typed dst word %d: old value %s", i,
                     ptr ? "not shaded" : "shaded though not a pointer word");
        cr_assert_eq(is_marked(new_w[i]), ptr, "typed dst word %d: new value %s", i,
                     ptr ? "not shaded" : "shaded though not a pointer word");
    }
}

/* ---- misuse ------------------------------------------------------------------ */

static void misuse_init(void)
{
    tu_init();
    tu_warn_capture();
}

Test(bulk, odd_length_is_reported_and_copied)
{
    misuse_init();
    unsigned char *d = gc_alloc(64), *s = gc_alloc(64);
    tu_fill(s, 64, 7);
    gc_store_range(d, s, 13);
    tu_expect_one_warning("odd length", "gc_store_range", "multiple of 8");
    cr_assert(tu_check(d, 13, 7) && tu_all_zero(d + 13, 51), "13 bytes not copied as memmove would");
    gc_clear_range(d, 5);
    tu_expect_one_warning("odd clear", "gc_clear_range", "multiple of 8");
    cr_assert(tu_all_zero(d, 5) && d[5] == s[5], "5 bytes not cleared as memset would");
}

Test(bulk, misaligned_addresses_are_reported_and_copied)
{
    misuse_init();
    unsigned char *d = gc_alloc(64), *s = gc_alloc(64);
    tu_fill(s, 64, 9);
    gc_store_range(d + 4, s, 16);
    tu_expect_one_warning("misaligned dst", "gc_store_range", "align");
    cr_assert(tu_check(d + 4, 16, 9), "misaligned dst: bytes not copied");
    gc_store_range(d, s + 1, 16);
    tu_expect_one_warning("misaligned src", "gc_store_range", "align");
    cr_assert_eq(memcmp(d, s + 1, 16), 0, "misaligned src: bytes not copied");
}

Test(bulk, null_arguments_are_refused)
{
    misuse_init();
    void **d = gc_alloc(64);
    void *s[8] = {0};
    gc_store_range(NULL, s, 8);
    tu_expect_one_warning("NULL dst", "gc_store_range", "dst is NULL");
    gc_store_range(d, NULL, 8);
    tu_expect_one_warning("NULL src", "gc_store_range", "src is NULL");
    gc_clear_range(NULL, 8);
    tu_expect_one_warning("NULL clear", "gc_clear_range", "dst is NULL");
    gc_store_range(NULL, NULL, 0);
    gc_clear_range(NULL, 0);
    cr_assert_eq(tu_warn_count(), 0, "nbytes 0 printed: %s", tu_warn_msg(0));
}

Test(bulk, range_past_the_object_is_refused)
{
    misuse_init();
    uint64_t *d = gc_alloc(64);
    uint64_t s[16];
    for (int i = 0; i < 16; i++)
        s[i] = tu_mix((uint64_t)i);
    size_t size = gc_size(d);
    gc_store_range(d, s, size + 8);
    tu_expect_one_warning("past the end", "gc_store_range", "past the end");
    cr_assert(tu_all_zero(d, size), "a refused store wrote into the object");
    gc_clear_range(d + 1, size);
    tu_expect_one_warning("clear past the end", "gc_clear_range", "past the end");
    gc_store_range(d, s, size); /* exactly to the end is fine */
    cr_assert_eq(tu_warn_count(), 0, "a store to the object's end was refused: %s", tu_warn_msg(0));
    cr_assert_eq(memcmp(d, s, size), 0);
}

Test(bulk, root_and_malloc_destinations_work)
{
    misuse_init();
    void **m = malloc(16 * sizeof(void *));
    cr_assert_not_null(m);
    gc_add_roots(m, m + 16);
    void *src[16];
    for (int i = 0; i < 16; i++)
        src[i] = gc_alloc(16);
    gc_store_range(m, src, sizeof src);
    gc_store_range(m + 1, m, 15 * sizeof(void *));
    for (int i = 1; i < 16; i++)
        cr_assert_eq(m[i], src[i - 1], "root range word %d", i);
    gc_clear_range(m, 16 * sizeof(void *));
    cr_assert(tu_all_zero(m, 16 * sizeof(void *)));
    cr_assert_eq(tu_warn_count(), 0, "%s", tu_warn_msg(0));
    gc_remove_roots(m, m + 16);
    free(m);
}

/* ---- the shadow model ----------------------------------------------------- */

#define NOBJ 32
#define OW 128 /* words per object */
#define BALLAST 64
#define BALLAST_SIZE 512

typedef struct leaf {
    uint64_t serial;
    uint64_t check; /* tu_mix(serial) */
} leaf;

/* A model word: 0, a small number (1..4095, never a heap address), or a
 * leaf: its hidden address and its serial. */
typedef struct mword {
    uintptr_t v; /* the number, or tu_hide(leaf) */
    uint64_t serial; /* 0 for numbers */
} mword;

typedef struct model {
    mword w[NOBJ][OW];
    uint64_t rng, next_serial;
    int id;
} model;

static _Atomic int stop_flag;
static _Atomic uint64_t total_ops, marking_ops;

static uint64_t rnd(model *m) { return m->rng = tu_mix(m->rng); }

static void *value_of(const mword *w) { return w->serial ? tu_reveal(w->v) : (void *)w->v; }

static TU_NOINLINE void *new_leaf(model *m, mword *out)
{
    leaf *l = gc_alloc(sizeof(leaf));
    if (!l) {
        tu_fail("gc_alloc failed");
        abort();
    }
    l->serial = ((uint64_t)m->id << 40) | ++m->next_serial;
    l->check = tu_mix(l->serial);
    out->v = tu_hide(l);
    out->serial = l->serial;
    return l;
}

/* Compare every word of every object with the model. */
static bool verify(model *m, void ***objs)
{
    for (int o = 0; o < NOBJ; o++)
        for (int i = 0; i < OW; i++) {
            const mword *w = &m->w[o][i];
            void *have = objs[o][i];
            if (have != value_of(w)) {
                tu_fail("thread %d: object %d word %d is %p, the model says %p", m->id, o, i, have,
                        value_of(w));
                return false;
            }
            if (w->serial) {
                leaf *l = have;
                if (l->serial != w->serial || l->check != tu_mix(w->serial)) {
                    tu_fail("thread %d: leaf %p in object %d word %d was freed and reused "
                            "(serial %llu, expected %llu)", m->id, have, o, i,
                            (unsigned long long)l->serial, (unsigned long long)w->serial);
                    return false;
                }
            }
        }
    return true;
}

/* One random operation on the heap and the same on the model. */
static TU_NOINLINE void one_op(model *m, void ***objs)
{
    int a = (int)(rnd(m) % NOBJ), b = (int)(rnd(m) % NOBJ);
    size_t len = 1 + rnd(m) % (OW / 2);
    size_t i = rnd(m) % (OW - len + 1), j = rnd(m) % (OW - len + 1);
    switch (rnd(m) % 5) {
    case 0: /* a move inside one object: overlapping, either way */
        b = a;
        /* fallthrough */
    case 1: /* between two objects */
        gc_store_range(&objs[a][i], &objs[b][j], len * sizeof(void *));
        memmove(&m->w[a][i], &m->w[b][j], len * sizeof(mword));
        break;
    case 4: /* a transfer: the source is cleared at once, so a value the
             * barrier fails to shade is left only in the destination */
        gc_store_range(&objs[a][i], &objs[b][j], len * sizeof(void *));
        memmove(&m->w[a][i], &m->w[b][j], len * sizeof(mword));
        i = j;
        a = b;
        /* fallthrough */
    case 2:
        gc_clear_range(&objs[a][i], len * sizeof(void *));
        memset(&m->w[a][i], 0, len * sizeof(mword));
        break;
    default: { /* fresh leaves and numbers from a stack buffer */
        void *buf[OW / 2];
        for (size_t k = 0; k < len; k++) {
            mword *w = &m->w[a][i + k];
            if (rnd(m) % 4 == 0) {
                w->v = 1 + rnd(m) % 4095;
                w->serial = 0;
                buf[k] = (void *)w->v;
            } else {
                buf[k] = new_leaf(m, w);
            }
        }
        gc_store_range(&objs[a][i], buf, len * sizeof(void *));
        memset(buf, 0, sizeof buf);
        break;
    }
    }
}

/* Ballast after each object's words (its word OW, which the operations
 * never touch): the marker, depth first, scans an object's chain before
 * the next object, so the objects of a table are scanned far apart in time
 * and the mutator moves words across the scan front in every cycle. */
static void *ballast_chain(void)
{
    void **head = NULL;
    for (int k = 0; k < BALLAST; k++) {
        void **b = gc_alloc(BALLAST_SIZE);
        if (!b) {
            tu_fail("gc_alloc failed");
            abort();
        }
        gc_store(&b[0], head);
        head = b;
    }
    return head;
}

static void *model_mutator(void *arg)
{
    model *m = arg;
    if (gc_register_thread() != GC_OK) {
        tu_fail("gc_register_thread failed");
        return NULL;
    }
    void ***volatile tab = gc_alloc(NOBJ * sizeof(void *));
    for (int o = 0; o < NOBJ; o++) {
        void **obj = gc_alloc((OW + 1) * sizeof(void *));
        if (!tab || !obj) {
            tu_fail("gc_alloc failed");
            abort();
        }
        gc_store(&obj[OW], ballast_chain());
        gc_store(&tab[o], obj);
    }
    uint64_t n = 0;
    while (!atomic_load(&stop_flag) || n < 20000) {
        one_op(m, tab);
        if (atomic_load(&mgc_marking))
            atomic_fetch_add(&marking_ops, 1);
        if (++n % 512 == 0 && !verify(m, tab))
            break;
    }
    verify(m, tab);
    atomic_fetch_add(&total_ops, n);
    gc_unregister_thread();
    return NULL;
}

Test(bulk, random_moves_match_a_shadow_model_under_checkmark, .timeout = 240)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.checkmark = 1;
    cfg.percent = 50; /* collect often beside the forced cycles */
    unsetenv("MGC_PERCENT");
    tu_pin_concurrent_mark(); /* the moves must run while a mark is on */
    /* 80,000 checked moves at a collection per allocation run past the
     * timeout (240 s alone, MGC_TORTURE=1): the checkmark after every
     * cycle is this test's own check of each mark. */
    tu_pin_no_torture();
    cr_assert_eq(gc_init(&cfg), GC_OK);
    static model models[4];
    void *args[4];
    for (int i = 0; i < 4; i++) {
        memset(&models[i], 0, sizeof models[i]);
        models[i].rng = (uint64_t)i * 7919 + 1;
        models[i].id = i + 1;
        args[i] = &models[i];
    }
    tu_mutators_beside_collections(4, model_mutator, args, 40, &stop_flag);
    cr_assert_geq(atomic_load(&total_ops), 80000);
    cr_assert_gt(atomic_load(&marking_ops), 0, "no operation ran while a mark was on");
}
