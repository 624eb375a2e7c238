/*
 * test_staticroots.c -- static data as roots (gc_config.static_roots,
 * MGC_STATIC_ROOTS=1; gc/staticroots.c).
 *
 * What must hold: with static_roots on, an object referenced only from a
 * global of the executable or of a shared library stays alive; a library
 * loaded with dlopen is scanned from the next cycle on, one loaded while a
 * mark runs is scanned before that mark ends, and one unloaded with
 * dlclose is forgotten (no fault, its objects are freed); mgc's own tables
 * are not scanned; with the default (off), statics keep nothing alive.
 * The plain-store stress over a global array is in test_plainroots.c.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <link.h>
#include <limits.h>

#include "test/test_util.h"

#include "gc/gc.h"

typedef struct sd_lib {
    void *h;
    void (*set)(size_t, void *);
    void *(*get)(size_t);
    size_t (*slots)(void);
} sd_lib;

/* ** dlopen the test library beside the test binary. */
static sd_lib sd_open(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = 0;
    snprintf(path, sizeof path, "%s/libstatic_data.so", dirname(exe));
    sd_lib l;
    l.h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(l.h, "dlopen %s: %s", path, dlerror());
    l.set = (void (*)(size_t, void *))dlsym(l.h, "sd_set");
    l.get = (void *(*)(size_t))dlsym(l.h, "sd_get");
    l.slots = (size_t(*)(void))dlsym(l.h, "sd_slots");
    cr_assert(l.set && l.get && l.slots);
    return l;
}

static void init_static_roots(int on)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.static_roots = on;
    cfg.checkmark = 1; /* every concurrent mark re-verified with the world stopped */
    unsetenv("MGC_STATIC_ROOTS");
    unsetenv("MGC_PERCENT");
    int rc = gc_init(&cfg);
    cr_assert_eq(rc, GC_OK, "gc_init: %s", gc_strerror(rc));
}

#define NOBJ 64

/* A global of the test binary (.bss), written with plain stores (volatile:
 * a static the program never reads is one the compiler may drop). */
static void *volatile exe_slots[NOBJ];

/* ** Fill a table with checksummed objects; their addresses go hidden
 * into h so that only the table refers to them. */
static TU_NOINLINE void fill(void (*put)(size_t, void *), uintptr_t *h)
{
    for (size_t i = 0; i < NOBJ; i++) {
        void *p = gc_alloc(48 + i);
        cr_assert_not_null(p);
        tu_fill(p, 48 + i, i * 31 + 7);
        put(i, p);
        h[i] = tu_hide(p);
    }
}

static void exe_put(size_t i, void *p) { exe_slots[i] = p; }

static void assert_intact(const uintptr_t *h)
{
    for (size_t i = 0; i < NOBJ; i++) {
        cr_assert(!tu_is_freed(h[i]), "object %zu, held only by static data, was freed", i);
        cr_assert(tu_check(tu_reveal(h[i]), 48 + i, i * 31 + 7), "object %zu was overwritten", i);
    }
}

Test(staticroots, globals_of_the_executable_keep_objects_alive)
{
    init_static_roots(1);
    uintptr_t h[NOBJ];
    fill(exe_put, h);
    for (int i = 0; i < 3; i++)
        tu_collect_clean();
    assert_intact(h);
    for (size_t i = 0; i < NOBJ; i++)
        exe_slots[i] = NULL; /* dropped: now garbage */
    tu_collect_clean();
    tu_collect_clean();
    cr_assert_geq(tu_count_freed(h, NOBJ), NOBJ - 2, "objects no longer referenced stayed");
}

Test(staticroots, off_by_default_statics_keep_nothing)
{
    init_static_roots(0);
    cr_assert_eq(tu_stats().static_root_bytes, 0);
    uintptr_t h[NOBJ];
    fill(exe_put, h);
    tu_collect_clean();
    tu_collect_clean();
    cr_assert_geq(tu_count_freed(h, NOBJ), NOBJ - 2,
                  "static data kept objects alive with static_roots off");
}

static sd_lib lib; /* the functions of the loaded library */
static void lib_put(size_t i, void *p) { lib.set(i, p); }

Test(staticroots, a_dlopened_library_is_scanned_and_forgotten_on_dlclose)
{
    init_static_roots(1);
    gc_collect();
    uint64_t before = tu_stats().static_root_bytes;
    lib = sd_open();
    uintptr_t h[NOBJ];
    fill(lib_put, h);
    for (int i = 0; i < 3; i++)
        tu_collect_clean();
    uint64_t loaded = tu_stats().static_root_bytes;
    cr_assert_geq(loaded, before + lib.slots() * sizeof(void *),
                  "the library's .bss is not scanned (%llu -> %llu bytes)",
                  (unsigned long long)before, (unsigned long long)loaded);
    assert_intact(h);
    cr_assert_eq(dlclose(lib.h), 0);
    tu_collect_clean();
    tu_collect_clean();
    cr_assert_eq(tu_stats().static_root_bytes, before, "the unloaded library is still scanned");
    cr_assert_geq(tu_count_freed(h, NOBJ), NOBJ - 2,
                  "objects held only by an unloaded library stayed alive");
    cr_assert_eq(gc_verify_heap(), 0);
}

/* ---- loading and unloading while collections run --------------------------- */

static _Atomic int churn_stop;

/* ** One round: load, fill the library's table, let collections run while
 * the table is the only reference, check, unload. */
static TU_NOINLINE void load_fill_check_unload(int round)
{
    sd_lib l = sd_open();
    lib = l;
    uintptr_t h[NOBJ];
    fill(lib_put, h);
    tu_clear_stack();
    for (int k = 0; k < 2000 + round % 7 * 500; k++) {
        void *volatile g = gc_alloc(128);
        (void)g;
    }
    for (size_t i = 0; i < NOBJ; i++) {
        cr_assert(!tu_is_freed(h[i]), "round %d: object %zu held by the library was freed", round, i);
        cr_assert(tu_check(tu_reveal(h[i]), 48 + i, i * 31 + 7), "round %d: object %zu overwritten",
                  round, i);
        cr_assert_eq(l.get(i), tu_reveal(h[i]));
    }
    cr_assert_eq(dlclose(l.h), 0);
}

Test(staticroots, libraries_loaded_and_unloaded_while_collecting, .timeout = 240)
{
    tu_pin_no_torture(); /* a collection per allocation: too slow */
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.static_roots = 1;
    cfg.checkmark = 1;
    cfg.percent = 5; /* cycles back to back */
    unsetenv("MGC_PERCENT");
    cr_assert_eq(gc_init(&cfg), GC_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, tu_churn, &churn_stop), 0);
    uint64_t gc0 = tu_stats().num_gc;
#ifdef __SANITIZE_THREAD__
    int rounds = 30;
#else
    int rounds = 200;
#endif
    /* At least 20 cycles among the loads, however slow the build. */
    for (int r = 0; r < rounds || tu_stats().num_gc < gc0 + 20; r++)
        load_fill_check_unload(r);
    atomic_store(&churn_stop, 1);
    tu_join(th);
    tu_assert_no_thread_failures();
    gc_collect();
    cr_assert_eq(gc_verify_heap(), 0);
}

/* The stop's check (white box, no cycle running: automatic collection off,
 * so this thread may stand in for the coordinator that owns the snapshot).
 * A library loaded or unloaded after the snapshot was taken must make the
 * check fail, so that the coordinator refreshes and stops again instead of
 * ending a mark without that library's data. */
Test(staticroots, a_load_or_unload_after_the_snapshot_is_seen_at_the_stop)
{
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.static_roots = 1;
    cfg.percent = -1;
    unsetenv("MGC_PERCENT");
    cr_assert_eq(gc_init(&cfg), GC_OK);
    mgc_static_roots_refresh();
    cr_assert(mgc_static_roots_current());
    uint64_t before = mgc_static_roots_bytes();
    sd_lib l = sd_open();
    cr_assert(!mgc_static_roots_current(), "a dlopen after the snapshot went unseen");
    mgc_static_roots_refresh();
    cr_assert(mgc_static_roots_current());
    cr_assert_gt(mgc_static_roots_bytes(), before);
    cr_assert_eq(dlclose(l.h), 0);
    cr_assert(!mgc_static_roots_current(), "a dlclose after the snapshot went unseen");
    mgc_static_roots_refresh();
    cr_assert(mgc_static_roots_current());
    cr_assert_eq(mgc_static_roots_bytes(), before);
}

/* ---- what is not scanned ------------------------------------------------------ */

static int add_writable(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_W))
            *(uint64_t *)arg += info->dlpi_phdr[i].p_memsz;
    return 0;
}

/* mgc keeps about 1 MiB of tables in static storage (the arena list alone
 * is 512 KiB); scanning them would cost every pause and keep objects alive
 * that their words happen to name. */
Test(staticroots, mgc_own_tables_are_left_out)
{
    init_static_roots(1);
    uint64_t writable = 0;
    dl_iterate_phdr(add_writable, &writable);
    uint64_t scanned = tu_stats().static_root_bytes;
    cr_assert_gt(scanned, sizeof exe_slots);
    cr_assert_leq(scanned + 512 * TU_KIB, writable,
                  "scanned %llu of %llu writable bytes: mgc's own tables are in",
                  (unsigned long long)scanned, (unsigned long long)writable);
    cr_assert_geq(tu_stats().root_bytes, scanned);
}
