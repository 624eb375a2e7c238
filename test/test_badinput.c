/*
 * test_badinput.c -- every public call with bad arguments gets a defined
 * result and, where it is misuse, one message naming the call (and the
 * fix), and the heap stays intact: a checksummed list built before the
 * misuse survives it and a collection.  The calls test_misuse.c,
 * test_roots.c, test_threads.c, test_typed.c and test_finalizer.c already
 * check are not repeated here.
 *
 * Tests marked "Was a library bug" failed or crashed when written (they
 * were disabled until a1ac2d5 fixed the library); they keep it fixed.
 */
#include <signal.h>
#include <sys/mman.h>

#include "test/test_util.h"

/* ---- the checksummed structure that must survive ------------------------------- */

#define NSENT 64
typedef struct sent {
    struct sent *next;
    uint64_t seed;
    unsigned char data[40];
} sent;
static sent *sent_head; /* a registered root once sentinel_make ran */

static void sentinel_make(void)
{
    gc_add_roots(&sent_head, &sent_head + 1);
    for (uint64_t i = 0; i < NSENT; i++) {
        sent *s = gc_alloc(sizeof *s);
        cr_assert_not_null(s);
        s->seed = 1000 + i;
        tu_fill(s->data, sizeof s->data, s->seed);
        gc_store(&s->next, sent_head);
        gc_store(&sent_head, s);
    }
}

/* Collect, then walk the list: every node allocated and intact. */
static void sentinel_check(const char *when)
{
    tu_collect_clean();
    int n = 0;
    for (sent *s = sent_head; s; s = s->next, n++) {
        cr_assert_eq(gc_base(s), (void *)s, "%s: list node %d was freed", when, n);
        cr_assert(tu_check(s->data, sizeof s->data, s->seed), "%s: list node %d is corrupted", when,
                  n);
    }
    cr_assert_eq(n, NSENT, "%s: the list has %d nodes, not %d", when, n, NSENT);
}

/* Start the collector with freed memory clobbered (a premature free then
 * shows in the checksums) and build the structure. */
static void init(void)
{
    setenv("MGC_CLOBBER", "1", 1);
    setenv("MGC_FINALIZERS", "manual", 1);
    tu_init();
    sentinel_make();
    tu_warn_capture();
}

static void *ret_arg(void *arg) { return arg; }
static void a_finalizer(void *obj, void *arg) { (void)obj, (void)arg; }
static void a_cleanup(void *arg) { (void)arg; }

/* ---- before gc_init ------------------------------------------------------------------ */

static int not_heap[4];
static void *plain_slot;

/* No tu_init: Criterion runs each test in a fresh process, so this one runs
 * where gc_init was never called.  The allocation calls, gc_collect and
 * thread registration are in misuse/calls_before_gc_init. */
Test(badinput, calls_before_gc_init_get_defined_results)
{
    unsetenv("MGC_PERCENT");
    setenv("MGC_CLOBBER", "1", 1);
    tu_warn_capture();

    cr_assert_null(gc_weak_new(not_heap));
    tu_expect_one_warning("gc_weak_new before gc_init", "gc_weak_new", NULL);
    cr_assert_null(gc_weak_get(NULL));
    gc_weak_free(NULL);
    cr_assert_eq(tu_warn_count(), 0, "gc_weak_get/free(NULL): %s", tu_warn_msg(0));
    void *slot = NULL;
    cr_assert_eq(gc_weak_slot_set(&slot, not_heap), GC_ENOTINIT);
    tu_expect_one_warning("gc_weak_slot_set before gc_init", "gc_weak_slot_set", NULL);
    cr_assert_null(slot);
    cr_assert_null(gc_weak_slot_get(&slot));
    tu_expect_one_warning("gc_weak_slot_get before gc_init", "gc_weak_slot_get", NULL);
    gc_weak_slot_clear(&slot);
    cr_assert_null(slot);

    cr_assert_eq(gc_set_finalizer(not_heap, a_finalizer, NULL), GC_ENOTINIT);
    tu_expect_one_warning("gc_set_finalizer before gc_init", "gc_set_finalizer", NULL);
    cr_assert_eq(gc_add_cleanup(not_heap, a_cleanup, NULL), 0);
    tu_expect_one_warning("gc_add_cleanup before gc_init", "gc_add_cleanup", NULL);
    cr_assert_eq(gc_cancel_cleanup(not_heap, 1), GC_ENOTINIT);
    tu_expect_one_warning("gc_cancel_cleanup before gc_init", "gc_cancel_cleanup", NULL);
    cr_assert_eq(gc_run_finalizers(), 0);
    tu_expect_one_warning("gc_run_finalizers before gc_init", "gc_run_finalizers", NULL);
    cr_assert_eq(gc_finalizers_pending(), 0);

    /* gc_do_blocking still runs fn, and says so. */
    cr_assert_eq(gc_do_blocking(ret_arg, not_heap), (void *)not_heap);
    tu_expect_one_warning("gc_do_blocking before gc_init", "gc_do_blocking", NULL);

    /* A store is a store. */
    gc_store(&plain_slot, (void *)not_heap);
    cr_assert_eq(plain_slot, (void *)not_heap);

    /* Types may be made before gc_init, but not allocated. */
    static const size_t offs[] = {0};
    const gc_type *t = gc_type_new("early", 16, offs, 1);
    cr_assert_not_null(t, "gc_type_new before gc_init failed");
    cr_assert_null(gc_alloc_typed(t));
    tu_expect_one_warning("gc_alloc_typed before gc_init", "gc_alloc_typed", "gc_init");
    cr_assert_null(gc_alloc_typed_array(t, 4));
    tu_expect_one_warning("gc_alloc_typed_array before gc_init", "gc_alloc_typed_array", "gc_init");

    cr_assert_eq(gc_verify_heap(), 0);
    tu_expect_one_warning("gc_verify_heap before gc_init", "gc_verify_heap", "gc_init");
    gc_free_os_memory();
    tu_expect_one_warning("gc_free_os_memory before gc_init", "gc_free_os_memory", "gc_init");

    /* The read-only calls answer "nothing yet". */
    gc_stats st;
    memset(&st, 0x5A, sizeof st);
    gc_get_stats(&st);
    cr_assert_eq(st.num_gc, 0);
    cr_assert_eq(st.heap_alloc, 0);
    cr_assert_eq(st.num_threads, 0);
    cr_assert_eq(gc_get_pauses(NULL, 0), 0);
    cr_assert_eq(gc_get_events(NULL, 0), 0);
    gc_pause_summary ps;
    gc_get_pause_summary(&ps);
    cr_assert_eq(ps.count, 0);
    cr_assert(gc_mmu(1000000, 0) >= 0.0);
    gc_trace_flush();
    cr_assert_eq(gc_thread_is_registered(), 0);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));

    /* None of it hurt. */
    tu_init();
    sentinel_make();
    sentinel_check("after calls before gc_init");
    char *p = gc_alloc_typed(t);
    cr_assert_not_null(p, "a type made before gc_init cannot allocate after it");
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
}

/* Was a library bug: before gc_init, the weak-reference and finalizer
 * calls and gc_do_blocking said "the calling thread is not registered; call
 * gc_register_thread() first" -- but gc_register_thread fails then too
 * (GC_ENOTINIT); the fix to name is gc_init. */
Test(badinput, calls_before_gc_init_name_gc_init_as_the_fix)
{
    tu_warn_capture();
    void *slot = NULL;
    (void)!gc_weak_new(not_heap);
    tu_expect_one_warning("gc_weak_new before gc_init", "gc_weak_new", "gc_init");
    (void)gc_weak_slot_set(&slot, not_heap);
    tu_expect_one_warning("gc_weak_slot_set before gc_init", "gc_weak_slot_set", "gc_init");
    (void)gc_weak_slot_get(&slot);
    tu_expect_one_warning("gc_weak_slot_get before gc_init", "gc_weak_slot_get", "gc_init");
    (void)gc_set_finalizer(not_heap, a_finalizer, NULL);
    tu_expect_one_warning("gc_set_finalizer before gc_init", "gc_set_finalizer", "gc_init");
    (void)gc_add_cleanup(not_heap, a_cleanup, NULL);
    tu_expect_one_warning("gc_add_cleanup before gc_init", "gc_add_cleanup", "gc_init");
    (void)gc_run_finalizers();
    tu_expect_one_warning("gc_run_finalizers before gc_init", "gc_run_finalizers", "gc_init");
    (void)gc_do_blocking(ret_arg, NULL);
    tu_expect_one_warning("gc_do_blocking before gc_init", "gc_do_blocking", "gc_init");
}

/* A root range registered before gc_init is a root once it runs. */
static void *early_roots[4];
Test(badinput, roots_added_before_gc_init_are_roots)
{
    tu_warn_capture();
    gc_add_roots(early_roots, early_roots + 4);
    cr_assert_eq(tu_warn_count(), 0, "gc_add_roots before gc_init: %s", tu_warn_msg(0));
    setenv("MGC_CLOBBER", "1", 1);
    tu_init();
    unsigned char *p = gc_alloc(200);
    tu_fill(p, 200, 77);
    gc_store(&early_roots[2], p);
    uintptr_t h = tu_hide(p);
    p = NULL;
    for (int i = 0; i < 3; i++)
        tu_collect_clean();
    cr_assert(!tu_is_freed(h), "an object in a range added before gc_init was freed");
    cr_assert(tu_check(early_roots[2], 200, 77));
    gc_remove_roots(early_roots, early_roots + 4);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
}

/* ---- sizes near SIZE_MAX ----------------------------------------------------------------- */

Test(badinput, sizes_near_size_max_get_null_and_the_oom_handler)
{
    init();
    gc_set_oom_handler(tu_oom_handler);
    const gc_type *t = gc_type_new("pair", 16, (const size_t[]){0, 8}, 2);
    cr_assert_not_null(t);
    struct {
        const char *what;
        void *p;
    } calls[] = {
        {"gc_alloc(SIZE_MAX)", gc_alloc(SIZE_MAX)},
        {"gc_alloc(SIZE_MAX - 15)", gc_alloc(SIZE_MAX - 15)},
        {"gc_alloc(2^50)", gc_alloc((size_t)1 << 50)},
        {"gc_alloc(SIZE_MAX / 2 + 1)", gc_alloc(SIZE_MAX / 2 + 1)},
        {"gc_alloc_noscan(SIZE_MAX)", gc_alloc_noscan(SIZE_MAX)},
        {"gc_alloc_noscan(SIZE_MAX - 8)", gc_alloc_noscan(SIZE_MAX - 8)},
        {"gc_alloc_array(SIZE_MAX, 2)", gc_alloc_array(SIZE_MAX, 2)},
        {"gc_alloc_array(2, SIZE_MAX)", gc_alloc_array(2, SIZE_MAX)},
        {"gc_alloc_array(2^32, 2^32)", gc_alloc_array((size_t)1 << 32, (size_t)1 << 32)},
        {"gc_alloc_typed_array(t, SIZE_MAX / 16 + 1)", gc_alloc_typed_array(t, SIZE_MAX / 16 + 1)},
    };
    int n = (int)(sizeof calls / sizeof calls[0]);
    for (int i = 0; i < n; i++)
        cr_assert_null(calls[i].p, "%s returned memory", calls[i].what);
    cr_assert_eq(atomic_load(&tu_ooms()->calls), n, "the out-of-memory handler ran %d times for %d "
                 "failed allocations", atomic_load(&tu_ooms()->calls), n);
    sentinel_check("after allocations near SIZE_MAX");
    /* And allocation works as before. */
    void *p = gc_alloc(100000), *q = gc_alloc(24);
    cr_assert(p && q);
    cr_assert_eq(gc_base(p), p);
}

/* Was a library bug: a request over the 2^40-byte maximum is a program
 * bug (a negative size cast to size_t, an overflowed product), but with no
 * out-of-memory handler set it returned NULL without a word. */
Test(badinput, oversized_requests_print_a_message)
{
    init();
    cr_assert_null(gc_alloc(SIZE_MAX));
    tu_expect_one_warning("gc_alloc(SIZE_MAX)", "gc_alloc", NULL);
    cr_assert_null(gc_alloc_noscan((size_t)-16));
    tu_expect_one_warning("gc_alloc_noscan(-16)", "gc_alloc_noscan", NULL);
    cr_assert_null(gc_alloc_array(SIZE_MAX, 2));
    tu_expect_one_warning("gc_alloc_array overflow", "gc_alloc_array", NULL);
}

Test(badinput, zero_counts_allocate_distinct_objects)
{
    init();
    const gc_type *t = gc_type_new("pair", 16, (const size_t[]){0, 8}, 2);
    void *a = gc_alloc_array(0, SIZE_MAX), *b = gc_alloc_array(SIZE_MAX, 0);
    void *c = gc_alloc_typed_array(t, 0), *d = gc_alloc(0);
    void *all[] = {a, b, c, d};
    for (int i = 0; i < 4; i++) {
        cr_assert_not_null(all[i], "zero-size allocation %d returned NULL", i);
        cr_assert_eq(gc_base(all[i]), all[i]);
        for (int j = 0; j < i; j++)
            cr_assert_neq(all[i], all[j], "zero-size allocations %d and %d are the same", i, j);
    }
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    sentinel_check("after zero-size allocations");
}

/* ---- types -------------------------------------------------------------------------------- */

Test(badinput, type_new_edge_cases)
{
    init();
    const size_t one[] = {0}, dup[] = {8, 8, 0};
    /* A NULL name is an empty name; a long one is cut to 31 bytes. */
    const gc_type *t = gc_type_new(NULL, 16, one, 1);
    cr_assert_not_null(t);
    cr_assert_str_eq(gc_type_name(t), "");
    t = gc_type_new("a_type_name_longer_than_thirty_one_bytes", 16, one, 1);
    cr_assert_not_null(t);
    cr_assert_eq(strlen(gc_type_name(t)), 31);
    /* Repeated offsets are one pointer field. */
    t = gc_type_new("dup", 16, dup, 3);
    cr_assert_not_null(t);
    void **o = gc_alloc_typed(t);
    cr_assert_not_null(o);
    /* No pointers at all: NULL offsets with n = 0 make a noscan type. */
    cr_assert_not_null(gc_type_new("plain", 24, NULL, 0));
    /* The size limit, 2^40 bytes. */
    cr_assert_null(gc_type_new("huge", ((size_t)1 << 40) + 8, one, 1));
    tu_expect_one_warning("size over 2^40", "gc_type_new", "2^40");
    cr_assert_null(gc_type_new("max", SIZE_MAX, one, 1));
    tu_expect_one_warning("size SIZE_MAX", "gc_type_new", "size");
    cr_assert_null(gc_type_new_bitmap("nobits", 16, NULL));
    tu_expect_one_warning("NULL bitmap", "gc_type_new_bitmap", "NULL");
    cr_assert_null(gc_type_new_bitmap("zero", 0, (const uint64_t[]){1}));
    tu_expect_one_warning("bitmap type of size 0", "gc_type_new_bitmap", "size");
    cr_assert_eq(tu_warn_count(), 0);
    sentinel_check("after gc_type_new misuse");
}

/* Was a library bug (a crash): gc_type_new checked an offset with
 * "off + 8 > size", which wraps for an 8-aligned offset near SIZE_MAX, so
 * the offset was accepted and the type's mask written far out of bounds. */
Test(badinput, type_offset_near_size_max_is_refused)
{
    init();
    const size_t off[] = {SIZE_MAX - 7};
    cr_assert_null(gc_type_new("t", 16, off, 1));
    tu_expect_one_warning("offset SIZE_MAX - 7", "gc_type_new", "past the end");
    sentinel_check("after a huge offset");
}

/* ---- weak references ---------------------------------------------------------------------- */

Test(badinput, weak_calls_with_bad_arguments)
{
    init();
    int local;
    unsigned char *obj = gc_alloc(64);
    tu_fill(obj, 64, 5);
    cr_assert_null(gc_weak_new(NULL));
    tu_expect_one_warning("gc_weak_new(NULL)", "gc_weak_new", NULL);
    cr_assert_null(gc_weak_new(not_heap));
    tu_expect_one_warning("gc_weak_new(static)", "gc_weak_new", "gc_alloc");
    cr_assert_null(gc_weak_new(&local));
    tu_expect_one_warning("gc_weak_new(stack)", "gc_weak_new", "gc_alloc");
    /* An interior pointer names its object. */
    gc_weak *w = gc_weak_new(obj + 37);
    cr_assert_not_null(w);
    cr_assert_eq(gc_weak_get(w), (void *)obj);

    static void *slot; /* a global: not a root */
    cr_assert_eq(gc_weak_slot_set(NULL, obj), GC_EINVAL);
    tu_expect_one_warning("gc_weak_slot_set(NULL, obj)", "gc_weak_slot_set", "NULL");
    cr_assert_eq(gc_weak_slot_set(&slot, not_heap), GC_EINVAL);
    tu_expect_one_warning("gc_weak_slot_set(slot, static)", "gc_weak_slot_set", NULL);
    cr_assert_null(slot, "a refused gc_weak_slot_set left %p in the slot", slot);
    cr_assert_eq(gc_weak_slot_set(&slot, obj + 9), GC_OK);
    cr_assert_eq(gc_weak_slot_get(&slot), (void *)obj);
    cr_assert_eq(gc_weak_slot_set(&slot, NULL), GC_OK); /* clears */
    cr_assert_null(gc_weak_slot_get(&slot));
    cr_assert_null(gc_weak_slot_get(NULL));
    gc_weak_slot_clear(NULL);
    /* Clearing a slot never registered just clears it. */
    static void *never;
    never = obj;
    gc_weak_slot_clear(&never);
    cr_assert_null(never);
    gc_weak_free(NULL);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));

    sentinel_check("after weak misuse");
    cr_assert_eq(gc_weak_get(w), (void *)obj, "the handle lost its live object");
    cr_assert(tu_check(obj, 64, 5));
    gc_weak_free(w);
}

/* ---- finalizers and cleanups ----------------------------------------------------------------- */

Test(badinput, finalizer_and_cleanup_calls_with_bad_arguments)
{
    init();
    void *obj = gc_alloc(48);
    cr_assert_eq(gc_set_finalizer(NULL, a_finalizer, NULL), GC_EINVAL);
    tu_expect_one_warning("gc_set_finalizer(NULL)", "gc_set_finalizer", "gc_alloc");
    cr_assert_eq(gc_cancel_cleanup(NULL, 1), GC_EINVAL);
    tu_expect_one_warning("gc_cancel_cleanup(NULL)", "gc_cancel_cleanup", NULL);
    cr_assert_eq(gc_cancel_cleanup(not_heap, 1), GC_EINVAL);
    tu_expect_one_warning("gc_cancel_cleanup(static)", "gc_cancel_cleanup", NULL);
    cr_assert_eq(gc_cancel_cleanup((char *)obj + 8, 1), GC_EINVAL);
    tu_expect_one_warning("gc_cancel_cleanup(interior)", "gc_cancel_cleanup", "interior");
    /* Ids that are not obj's: GC_EINVAL (documented without a message:
     * a cleanup that already ran is not a program bug). */
    cr_assert_eq(gc_cancel_cleanup(obj, 0), GC_EINVAL);
    cr_assert_eq(gc_cancel_cleanup(obj, 12345), GC_EINVAL);
    uint64_t id = gc_add_cleanup(obj, a_cleanup, NULL);
    cr_assert_neq(id, 0);
    void *other = gc_alloc(48);
    cr_assert_eq(gc_cancel_cleanup(other, id), GC_EINVAL, "another object's cleanup was cancelled");
    cr_assert_eq(gc_cancel_cleanup(obj, id), GC_OK);
    cr_assert_eq(gc_cancel_cleanup(obj, id), GC_EINVAL, "a cleanup was cancelled twice");
    cr_assert_eq(gc_set_finalizer(obj, NULL, NULL), GC_OK); /* nothing to remove: fine */
    cr_assert_eq(gc_do_blocking(NULL, NULL), NULL);
    tu_expect_one_warning("gc_do_blocking(NULL)", "gc_do_blocking", "fn");
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    sentinel_check("after finalizer misuse");
    cr_assert_eq(gc_run_finalizers(), 0, "a cancelled cleanup or removed finalizer ran");
}

/* ---- root ranges ------------------------------------------------------------------------------- */

static _Alignas(8) unsigned char mis_buf[64];
static TU_NOINLINE void park_in_misaligned_range(uintptr_t *h)
{
    void *p = gc_alloc(128);
    tu_fill(p, 128, 3);
    *h = tu_hide(p);
    gc_store((void **)(mis_buf + 16), p); /* an aligned word inside [buf + 3, buf + 61) */
}

Test(badinput, misaligned_and_empty_root_ranges)
{
    init();
    /* A misaligned range: its aligned words are scanned. */
    uintptr_t h;
    gc_add_roots(mis_buf + 3, mis_buf + 61);
    park_in_misaligned_range(&h);
    tu_collect_clean();
    cr_assert(!tu_is_freed(h), "the object in an aligned word of a misaligned range was freed");
    cr_assert(tu_check(tu_reveal(h), 128, 3));
    gc_remove_roots(mis_buf + 3, mis_buf + 61);
    /* An empty range registers nothing and breaks nothing. */
    static void *e[2];
    gc_add_roots(e, e);
    gc_add_roots(e + 1, e + 1);
    gc_collect();
    /* A removal that covers only part of a range removes nothing.  A new
     * object: the first one was rightly free to die once its range was
     * removed (only stack residue kept it at -O2; make debug freed it). */
    gc_add_roots(mis_buf, mis_buf + 64);
    park_in_misaligned_range(&h);
    gc_remove_roots(mis_buf, mis_buf + 32);
    tu_expect_one_warning("partial gc_remove_roots", "gc_remove_roots", "gc_add_roots");
    tu_collect_clean();
    cr_assert(!tu_is_freed(h), "a partial gc_remove_roots removed the range");
    gc_remove_roots(mis_buf, mis_buf + 64);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    sentinel_check("after odd root ranges");
}

/* Was a library bug (a crash): gc_add_roots accepted any ordered range,
 * even [16, -16), wider than the user address space, and the next
 * collection died scanning it. */
Test(badinput, a_root_range_over_the_whole_address_space_is_refused)
{
    init();
    gc_add_roots((void *)16, (void *)-16);
    tu_expect_one_warning("gc_add_roots(16, -16)", "gc_add_roots", NULL);
    sentinel_check("after a huge root range");
}

/* ---- unregistered threads ------------------------------------------------------------------------ */

typedef struct unreg_calls {
    void *obj;
    gc_weak *w;
    void **slot;
    const gc_type *t;
    void *weak_new, *weak_get, *slot_get, *typed, *typed_arr;
    int slot_set, cancel;
    uint64_t cleanup;
    size_t ran;
    int msgs[9];
} unreg_calls;

static void *unregistered_calls(void *arg)
{
    unreg_calls *u = arg;
    int n = tu_warn_count(), k = 0;
#define NOTE() (u->msgs[k++] = tu_warn_count() - n, n = tu_warn_count())
    u->weak_new = gc_weak_new(u->obj), NOTE();
    u->weak_get = gc_weak_get(u->w), NOTE();
    u->slot_set = gc_weak_slot_set(u->slot, u->obj), NOTE();
    u->slot_get = gc_weak_slot_get(u->slot), NOTE();
    u->cleanup = gc_add_cleanup(u->obj, a_cleanup, NULL), NOTE();
    u->cancel = gc_cancel_cleanup(u->obj, 1), NOTE();
    u->ran = gc_run_finalizers(), NOTE();
    u->typed = gc_alloc_typed(u->t), NOTE();
    u->typed_arr = gc_alloc_typed_array(u->t, 3), NOTE();
#undef NOTE
    return NULL;
}

Test(badinput, unregistered_thread_weak_finalizer_and_typed_calls)
{
    init();
    static void *slot;
    unreg_calls u = {0};
    u.obj = gc_alloc(32);
    tu_fill(u.obj, 32, 8);
    u.w = gc_weak_new(u.obj);
    u.slot = &slot;
    cr_assert_eq(gc_weak_slot_set(&slot, u.obj), GC_OK);
    u.t = gc_type_new("pair", 16, (const size_t[]){0, 8}, 2);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, unregistered_calls, &u), 0);
    tu_join(th);
    cr_assert_null(u.weak_new);
    cr_assert_null(u.weak_get);
    cr_assert_eq(u.slot_set, GC_ENOTREG);
    cr_assert_null(u.slot_get);
    cr_assert_eq(u.cleanup, 0);
    cr_assert_eq(u.cancel, GC_ENOTREG);
    cr_assert_eq(u.ran, 0);
    cr_assert_null(u.typed);
    cr_assert_null(u.typed_arr);
    const char *calls[] = {"gc_weak_new", "gc_weak_get", "gc_weak_slot_set",
                           "gc_weak_slot_get", "gc_add_cleanup", "gc_cancel_cleanup",
                           "gc_run_finalizers", "gc_alloc_typed", "gc_alloc_typed_array"};
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(u.msgs[i], 1, "%s from an unregistered thread printed %d messages", calls[i],
                     u.msgs[i]);
        const char *m = tu_warn_msg(i);
        cr_assert(strstr(m, calls[i]) && strstr(m, "gc_register_thread"),
                  "message \"%s\" does not name %s and gc_register_thread", m, calls[i]);
    }
    /* The refused slot_set left the registered slot alone. */
    sentinel_check("after calls from an unregistered thread");
    cr_assert_eq(gc_weak_get(u.w), u.obj);
    cr_assert_eq(gc_weak_slot_get(&slot), u.obj, "a refused gc_weak_slot_set changed the slot");
    cr_assert(tu_check(u.obj, 32, 8));
    gc_weak_free(u.w);
    gc_weak_slot_clear(&slot);
}

/* gc_weak_free and gc_weak_slot_clear release what they are given from
 * any thread (a thread that only owns a table may tear it down). */
static void *unregistered_release(void *arg)
{
    void **a = arg;
    gc_weak_free(a[0]);
    gc_weak_slot_clear(a[1]);
    return NULL;
}

Test(badinput, unregistered_thread_may_release_weak_references)
{
    init();
    static void *slot;
    void *obj = gc_alloc(32);
    void *args[2] = {gc_weak_new(obj), &slot};
    cr_assert_eq(gc_weak_slot_set(&slot, obj), GC_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, unregistered_release, args), 0);
    tu_join(th);
    cr_assert_null(slot);
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    sentinel_check("after weak references released by an unregistered thread");
    cr_assert_eq(gc_base(obj), obj);
}

/* ---- gc_store, gc_base, gc_size -------------------------------------------------------------------- */

/* Was a library bug (a crash): gc_store_ptr(NULL, v) dereferenced the
 * NULL slot where every other call with a NULL argument prints a message. */
Test(badinput, gc_store_into_a_null_slot_is_refused)
{
    init();
    gc_store_ptr(NULL, sent_head);
    tu_expect_one_warning("gc_store_ptr(NULL, v)", "gc_store", NULL);
    sentinel_check("after gc_store(NULL)");
}

Test(badinput, base_and_size_of_bogus_pointers)
{
    init();
    int local;
    const void *bogus[] = {NULL, (void *)1, (void *)(uintptr_t)-1, (void *)(uintptr_t)-4096,
                           &local, not_heap, (void *)&tu_init, (void *)((uintptr_t)1 << 47)};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        cr_assert_null(gc_base(bogus[i]), "gc_base(%p)", bogus[i]);
        cr_assert_eq(gc_size(bogus[i]), 0, "gc_size(%p)", bogus[i]);
    }
    /* Inside objects, at odd offsets: the base; one past a large object's
     * end: not that object. */
    unsigned char *small = gc_alloc(40), *large = gc_alloc(100000);
    cr_assert_eq(gc_base(small + 39), small);
    cr_assert_eq(gc_base(large + 99999), large);
    cr_assert_eq(gc_base(large + 12345 + 3), large);
    cr_assert_neq(gc_base(large + gc_size(large)), large);
    cr_assert_eq(tu_warn_count(), 0, "gc_base/gc_size printed: %s", tu_warn_msg(0));
    sentinel_check("after gc_base probes");
}

/* ---- settings at their extremes ------------------------------------------------------------------ */

Test(badinput, settings_at_their_extremes_are_defined)
{
    tu_pin_no_torture(); /* it counts collections */
    init();
    gc_set_oom_handler(tu_oom_handler);
    /* A growth percent that overflows any naive goal: no collection, no
     * wrapped goal. */
    cr_assert_eq(gc_set_percent(INT32_MAX), 100);
    uint64_t before = tu_stats().num_gc;
    for (int i = 0; i < 2000; i++)
        cr_assert_not_null(gc_alloc(1000));
    cr_assert_eq(tu_stats().num_gc, before, "percent INT_MAX still triggered a collection");
    cr_assert_geq(tu_stats().next_gc, tu_stats().heap_alloc, "the heap goal wrapped around");
    /* Any negative value is "off". */
    cr_assert_eq(gc_set_percent(INT32_MIN), INT32_MAX);
    cr_assert_lt(gc_set_percent(100), 0);
    /* A 1-byte hard limit: NULL and the handler; lifting it restores
     * allocation. */
    gc_set_max_heap(1);
    cr_assert_null(gc_alloc(100));
    cr_assert_eq(atomic_load(&tu_ooms()->calls), 1);
    cr_assert_eq(gc_set_max_heap(0), 1);
    cr_assert_not_null(gc_alloc(100));
    /* A 1-byte soft limit: collect at every chance, keep working. */
    gc_set_memory_limit(1);
    before = tu_stats().num_gc;
    for (int i = 0; i < 4000; i++)
        cr_assert_not_null(gc_alloc(1000));
    cr_assert_gt(tu_stats().num_gc, before, "a 1-byte soft limit never collected");
    cr_assert_eq(gc_set_memory_limit(SIZE_MAX), 1);
    cr_assert_eq(gc_set_memory_limit(0), SIZE_MAX, "SIZE_MAX is not \"no limit\"");
    cr_assert_eq(tu_warn_count(), 0, "unexpected message: %s", tu_warn_msg(0));
    sentinel_check("after extreme settings");
}

/* ---- gc_init's configuration --------------------------------------------------------------------------- */

Test(badinput, bad_environment_values_are_ignored_with_a_message)
{
    const char *vars[][2] = {{"MGC_PERCENT", "abc"}, {"MGC_MEMLIMIT", "12Q"},
                             {"MGC_MARK_WORKERS", "-3"}, {"MGC_TORTURE", "-1"},
                             {"MGC_MAXHEAP", "lots"}, {"MGC_FINALIZERS", "sometimes"}};
    int n = (int)(sizeof vars / sizeof vars[0]);
    tu_warn_capture();
    for (int i = 0; i < n; i++)
        setenv(vars[i][0], vars[i][1], 1);
    cr_assert_eq(gc_init(NULL), GC_OK);
    cr_assert_eq(tu_warn_count(), n, "%d bad variables gave %d messages", n, tu_warn_count());
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < n; j++)
            found |= strstr(tu_warn_msg(j), vars[i][0]) != NULL;
        cr_assert(found, "no message names %s=%s", vars[i][0], vars[i][1]);
    }
    /* The defaults hold: automatic collection at 100%. */
    cr_assert_eq(gc_set_percent(100), 100);
    tu_warn_capture();
    sentinel_make();
    sentinel_check("after bad environment values");
}

Test(badinput, gc_init_with_an_unusable_signal_fails_cleanly_and_can_be_retried)
{
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    tu_warn_capture();
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.suspend_signal = SIGKILL; /* cannot be caught */
    int rc = gc_init(&cfg);
    cr_assert_neq(rc, GC_OK, "gc_init accepted SIGKILL as the suspend signal");
    cr_assert_eq(tu_warn_count(), 1, "gc_init with SIGKILL printed %d messages", tu_warn_count());
    cr_assert(strstr(tu_warn_msg(0), "gc_init") != NULL);
    cr_assert_eq(gc_thread_is_registered(), 0);
    cr_assert_null(gc_alloc(8));
    tu_warn_capture();
    /* A correct second try works. */
    tu_init();
    sentinel_make();
    sentinel_check("after a failed gc_init");
}

/* Was a library bug: gc_init with a suspend signal that cannot be used
 * (1000) or with 100000 mark workers failed with GC_ESYS and "gc_init:
 * failed: system call failed", naming neither the field nor the fix. */
Test(badinput, gc_init_names_the_bad_config_field)
{
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    unsetenv("MGC_MARK_WORKERS");
    tu_warn_capture();
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.suspend_signal = 1000;
    cr_assert_eq(gc_init(&cfg), GC_EINVAL);
    tu_expect_one_warning("suspend_signal 1000", "gc_init", "signal");
    gc_config_default(&cfg);
    cfg.mark_workers = 100000;
    cr_assert_eq(gc_init(&cfg), GC_EINVAL);
    tu_expect_one_warning("mark_workers 100000", "gc_init", "mark_workers");
}
