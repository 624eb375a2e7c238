/*
 * test_oom.c -- a collection when memory is gone.
 *
 * Marking needs work buffers for its grey objects, and a wide object (an
 * array of millions of pointers) needs many at once.  When the OS refuses
 * them the collector must still finish the mark -- by dropping grey objects
 * and rescanning the heap for them (gc/workbuf.c, gc/mark.c) -- and every
 * live object must survive.  One test exhausts the address space for real,
 * in a child process; the other caps the buffers from inside (a white-box
 * knob) with the checkmark on, so any object the fallback misses aborts.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/test_util.h"

#include "gc/workbuf.h"

#define WIDE (2 * 1024 * 1024) /* entries of the live array */
#define DEEP 200000            /* nodes of the live list */

static void **wide; /* registered root: an array of WIDE small objects */
static void **deep; /* registered root: a list of DEEP nodes */

static uintptr_t sum_of(size_t i) { return (uintptr_t)(i * 2654435761u) ^ 0x5a5a; }

/* Small scan objects, each holding its checksum (and, for the list, the
 * next node): the mark must queue every one of them. */
static bool build(void)
{
    gc_add_roots(&wide, &wide + 1);
    gc_add_roots(&deep, &deep + 1);
    wide = gc_alloc(WIDE * sizeof(void *));
    if (!wide)
        return false;
    for (size_t i = 0; i < WIDE; i++) {
        uintptr_t *o = gc_alloc(2 * sizeof(uintptr_t));
        if (!o)
            return false;
        o[1] = sum_of(i);
        gc_store(&wide[i], o);
    }
    for (size_t i = 0; i < DEEP; i++) {
        void **n = gc_alloc(3 * sizeof(void *));
        if (!n)
            return false;
        n[0] = deep;
        n[1] = (void *)sum_of(i);
        gc_store(&deep, n);
    }
    return true;
}

/* Every object is still allocated and holds its checksum. */
static bool intact(void)
{
    for (size_t i = 0; i < WIDE; i++) {
        uintptr_t *o = wide[i];
        if (!o || gc_base(o) != o || o[1] != sum_of(i))
            return false;
    }
    size_t i = DEEP;
    for (void **n = deep; n; n = n[0]) {
        if (i == 0 || gc_base(n) != n || (uintptr_t)n[1] != sum_of(--i))
            return false;
    }
    return i == 0;
}

/* ---- the address space exhausted for real ---------------------------------- */

static void *blocks[1 << 16];

static int exhausted_scenario(void)
{
    if (gc_init(NULL) != GC_OK)
        return 11;
    gc_set_percent(-1); /* no collection until the address space is gone */
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 10;
    if (!build())
        return 12;
    /* Take the rest of the address space, in shrinking pieces. */
    size_t nblocks = 0;
    for (size_t sz = (size_t)64 << 20; sz >= 4096 && nblocks < 1 << 16;) {
        void *p = malloc(sz);
        if (p)
            blocks[nblocks++] = p;
        else
            sz /= 2;
    }
    if (nblocks == 0 || nblocks == 1 << 16)
        return 13;
    gc_collect(); /* used to abort: "out of memory for mark work buffers" */
    if (!intact())
        return 14;
    for (size_t i = 0; i < nblocks; i++)
        free(blocks[i]);
    /* Memory is back: the heap keeps working. */
    gc_set_percent(100);
    for (int i = 0; i < 100000; i++)
        if (!gc_alloc(64))
            return 15;
    gc_collect();
    return intact() ? 0 : 16;
}

/* ** What a failing exit status of exhausted_scenario means. */
static const char *why(int rc)
{
    switch (rc) {
    case 10: return "setrlimit failed";
    case 11: return "gc_init failed";
    case 12: return "the live structure could not be built";
    case 13: return "malloc never failed";
    case 14: return "objects lost or corrupted by the collection";
    case 15: return "no allocation after memory came back";
    case 16: return "objects lost by a later collection";
    case 128 + SIGABRT: return "aborted (out of memory for mark work buffers?)";
    default: return "killed or unexpected status";
    }
}

Test(oom, collection_with_the_address_space_exhausted_keeps_every_object, .timeout = 120)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    TU_SKIP_UNDER_ASAN_OR_TSAN_RLIMIT();
    int rc = tu_in_child(exhausted_scenario);
    if (rc != 0)
        cr_assert_fail("the out-of-address-space child exited with %d: %s", rc, why(rc));
}

/* ---- the fallback forced, under the checkmark --------------------------------- */

static _Atomic int rescan_warnings;
static void on_warn(const char *msg)
{
    if (strstr(msg, "out of memory for mark work buffers"))
        atomic_fetch_add(&rescan_warnings, 1);
}

Test(oom, work_buffer_shortage_rescans_and_checkmark_finds_no_miss, .timeout = 240)
{
    setenv("MGC_CHECKMARK", "1", 1); /* aborts on any reachable object left unmarked */
    /* 2.2 million allocations at a collection each run past the timeout
     * (MGC_TORTURE=1); the checkmark is this test's own check. */
    tu_pin_no_torture();
    tu_init();
    gc_set_warn_handler(on_warn);
    gc_set_percent(-1);
    cr_assert(build());
    /* Two buffers at most: the wide array alone has 2 Mi grey children. */
    atomic_store(&mgc_wbuf_limit, 2);
    gc_collect();
    gc_collect();
    atomic_store(&mgc_wbuf_limit, 0);
    cr_assert_eq(atomic_load(&rescan_warnings), 1, "the rescan did not run, or warned twice");
    cr_assert(intact(), "an object was lost or corrupted");
    gc_collect();
    cr_assert(intact());
}
