/*
 * barrier_cost.c -- what a remembered-set write barrier would add to
 * gc_store (docs/design/generational.md), measured before building one.
 *
 *   barrier_cost [N [RUNS [PATTERN [MODE]]]]   (defaults 1e8 stores, 5 runs, all)
 *
 * Times N pointer stores into heap objects of 64 bytes (eight pointer
 * words), one store per object in the order of an array of them, each
 * store writing the next object's address.  No collection runs (automatic
 * collection is off), so gc_store takes its common path: no mark running.
 *
 * Patterns (where the stores land):
 *   hot    256 objects (16 KiB): the store's instructions alone;
 *   seq    1 Mi objects (64 MiB) in address order: a new cache line each
 *          store, prefetchable;
 *   rand   the same objects in a shuffled order: a cache miss each store.
 *
 * Modes (what each store does):
 *   plain          a C store;
 *   gc_store       gc_store as it is today;
 *   card           gc_store, then a byte store into a card table, one byte
 *                  per 512-byte card, at table_base[addr >> 9] (the table
 *                  biased by the heap's low end, as HotSpot's byte_map_base,
 *                  so the mark is a shift and a store);
 *   card-arena     the same with a card table per 64 MiB arena, found as the
 *                  span lookup finds the arena (an index by addr >> 26): a
 *                  load, a test for "not heap" and the store;
 *   log-obj        gc_store, then the object-remembering barrier (MMTk's
 *                  object barrier): find the object holding the slot (the
 *                  library's span lookup, runtime/heap.h), test its bit in
 *                  a side bitmap, and if clear set it and append the object
 *                  to a buffer;
 *   log-slot       the same test-set-append on the slot's 16-byte granule,
 *                  without the object lookup;
 *   log-*-first    the same, with every bit cleared again after each pass
 *                  (through the buffer, as a collector consuming it would,
 *                  clearing included in the time): every store is the
 *                  first to its object since the last "cycle".  The plain
 *                  log-* modes clear only before the run: after the first
 *                  pass every store finds its bit set.
 * The simulated parts run in the benchmark right after the gc_store call,
 * which approximates what the library would add inside it.
 *
 * Prints one CSV line per pattern and mode: the median and the minimum of
 * RUNS runs in ns per store, and the load average before and after the
 * pattern's runs.  The runs of a pattern are interleaved (one of each mode
 * per round), so a change in the machine's load falls on every mode.  With
 * MODE and PATTERN given it runs just that (for callgrind: the stores are
 * in run_mode(), so --toggle-collect=run_mode counts only them).
 * A throwaway measurement: it reads the library's internal span lookup, so
 * it may need updating if runtime/heap.h changes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mgc.h"
#include "runtime/heap.h"

typedef struct obj {
    void *f[8];
} obj;

enum mode { PLAIN, STORE, CARD, CARD_ARENA, LOG_OBJ, LOG_OBJ_FIRST, LOG_SLOT, LOG_SLOT_FIRST, NMODES };
static const char *mode_names[NMODES] = {"plain",    "gc_store",      "card",     "card-arena",
                                         "log-obj",  "log-obj-first", "log-slot", "log-slot-first"};

/* The side tables, biased so an address indexes them directly. */
static uintptr_t card_base;          /* card byte of addr: card_base + (addr >> 9) */
static uint8_t **arena_cards;        /* per 64 MiB arena: its cards, or NULL (not heap) */
static uint64_t *log_bits;           /* bit (addr - log_lo) >> 4 */
static uintptr_t log_lo;
#define LOG_CAP 1024
static uintptr_t log_buf[LOG_CAP];
static size_t log_n;
static uint64_t log_flushes;

/* ** A full buffer goes to the collector (here: counted and emptied). */
static __attribute__((noinline)) void log_flush(void) {
    log_flushes++;
    log_n = 0;
}

static inline void log_granule(uintptr_t a) {
    size_t k = (a - log_lo) >> 4;
    uint64_t bit = (uint64_t)1 << (k % 64);
    if (__builtin_expect(log_bits[k / 64] & bit, 1)) return;
    log_bits[k / 64] |= bit;
    log_buf[log_n++] = a;
    if (log_n == LOG_CAP) log_flush();
}

/* ** The object holding the slot, as the library would find it. */
static inline void log_object(uintptr_t slot) {
    mspan *s = mgc_span_of_heap(slot);
    if (!s) return; /* not a heap slot: roots are scanned whole anyway */
    log_granule(s->base + (uintptr_t)mgc_span_obj_index(s, slot) * s->elemsize);
}

/* ** The collector consumes the buffer: each logged bit cleared. */
static void log_consume(void) {
    for (size_t i = 0; i < log_n; i++) {
        size_t k = (log_buf[i] - log_lo) >> 4;
        log_bits[k / 64] &= ~((uint64_t)1 << (k % 64));
    }
    log_n = 0;
}

/* ** n stores in mode m over the k objects of v (k a power of two). */
static inline __attribute__((always_inline)) void run_stores(int m, obj **v, size_t k, uint64_t n) {
    size_t mask = k - 1;
    for (uint64_t i = 0; i < n; i++) {
        size_t j = (size_t)i & mask;
        void **slot = &v[j]->f[i & 7];
        void *val = v[(j + 1) & mask];
        if (m == PLAIN) {
            *(void *volatile *)slot = val;
            continue;
        }
        gc_store(slot, val);
        switch (m) {
        case CARD:
            *(volatile uint8_t *)(card_base + ((uintptr_t)slot >> 9)) = 1;
            break;
        case CARD_ARENA: {
            uint8_t *c = arena_cards[(uintptr_t)slot >> MGC_ARENA_SHIFT];
            if (c) *(volatile uint8_t *)&c[((uintptr_t)slot >> 9) & (MGC_ARENA_SIZE / 512 - 1)] = 1;
            break;
        }
        case LOG_OBJ:
        case LOG_OBJ_FIRST:
            log_object((uintptr_t)slot);
            break;
        case LOG_SLOT:
        case LOG_SLOT_FIRST:
            log_granule((uintptr_t)slot);
            break;
        }
        if ((m == LOG_OBJ_FIRST || m == LOG_SLOT_FIRST) && j == mask) log_consume();
    }
}

/* Each mode gets its own copy of the loop, so the test of m is folded
 * away and the timed code is what that mode alone would run. */
static __attribute__((noinline)) void run_mode(int m, obj **v, size_t k, uint64_t n) {
    switch (m) {
    case PLAIN: run_stores(PLAIN, v, k, n); break;
    case STORE: run_stores(STORE, v, k, n); break;
    case CARD: run_stores(CARD, v, k, n); break;
    case CARD_ARENA: run_stores(CARD_ARENA, v, k, n); break;
    case LOG_OBJ: run_stores(LOG_OBJ, v, k, n); break;
    case LOG_OBJ_FIRST: run_stores(LOG_OBJ_FIRST, v, k, n); break;
    case LOG_SLOT: run_stores(LOG_SLOT, v, k, n); break;
    default: run_stores(LOG_SLOT_FIRST, v, k, n); break;
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xmap(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("barrier_cost: mmap");
        exit(1);
    }
    return p;
}

/* ** The side tables over the heap as it is now (it does not grow while
 * the stores run). */
static void make_tables(void) {
    uintptr_t lo = atomic_load(&mgc_heap_lo), hi = atomic_load(&mgc_heap_hi);
    card_base = (uintptr_t)xmap(((hi - lo) >> 9) + 1) - (lo >> 9);
    arena_cards = xmap(MGC_ARENA_INDEX_LEN * sizeof *arena_cards);
    for (uintptr_t a = lo >> MGC_ARENA_SHIFT; a <= (hi - 1) >> MGC_ARENA_SHIFT; a++)
        arena_cards[a] = xmap(MGC_ARENA_SIZE / 512);
    log_lo = lo;
    log_bits = xmap(((hi - lo) >> 4) / 8 + 8);
}

static double loadavg(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ** One timed run of mode m: ns per store. */
static double time_run(int m, obj **v, size_t k, uint64_t n) {
    memset(log_bits, 0, (((atomic_load(&mgc_heap_hi) - log_lo) >> 4) / 8));
    log_n = 0;
    uint64_t t0 = now_ns();
    run_mode(m, v, k, n);
    return (double)(now_ns() - t0) / (double)n;
}

/* ** RUNS rounds over the modes of one pattern, interleaved (round r runs
 * every mode once), so a change in the machine's load falls on all modes
 * alike; then each mode's median and minimum. */
static void time_pattern(const char *pat, int only_mode, obj **v, size_t k, uint64_t n, int runs) {
    static double ns[NMODES][64];
    double la0 = loadavg();
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < NMODES; m++)
            if (only_mode < 0 || m == only_mode) ns[m][r] = time_run(m, v, k, n);
    double la1 = loadavg();
    for (int m = 0; m < NMODES; m++) {
        if (only_mode >= 0 && m != only_mode) continue;
        qsort(ns[m], (size_t)runs, sizeof ns[m][0], cmp_double);
        printf("barrier,%s,%s,%.3f,%.3f,%llu,%d,%.2f,%.2f\n", pat, mode_names[m], ns[m][runs / 2],
               ns[m][0], (unsigned long long)n, runs, la0, la1);
    }
    fflush(stdout);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? (uint64_t)strtod(argv[1], NULL) : 100000000u;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const char *only_pat = argc > 3 ? argv[3] : NULL;
    int only_mode = -1;
    for (int m = 0; argc > 4 && m < NMODES; m++)
        if (!strcmp(argv[4], mode_names[m])) only_mode = m;
    if (runs < 1 || runs > 64 || n == 0 || (argc > 4 && only_mode < 0)) {
        fprintf(stderr, "usage: barrier_cost [N [RUNS(1-64) [hot|seq|rand [MODE]]]]\n");
        return 2;
    }
    gc_init(NULL);
    gc_set_percent(-1); /* no collection: gc_store's common path */
    enum { BIG = 1 << 20, HOT = 256 };
    obj **all = malloc(BIG * sizeof *all), **shuffled = malloc(BIG * sizeof *all);
    if (!all || !shuffled) return 1;
    gc_add_roots(all, all + BIG);
    for (size_t i = 0; i < BIG; i++) all[i] = gc_alloc(sizeof(obj));
    memcpy(shuffled, all, BIG * sizeof *all); /* all keeps them alive */
    for (size_t i = BIG - 1; i > 0; i--) {
        size_t j = next_rand() % (i + 1);
        obj *t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    make_tables();
    printf("bench,pattern,mode,ns_per_store_median,ns_per_store_min,stores,runs,load_before,"
           "load_after\n");
    struct { const char *name; obj **v; size_t k; } pats[] = {
        {"hot", all, HOT}, {"seq", all, BIG}, {"rand", shuffled, BIG}};
    for (size_t p = 0; p < 3; p++) {
        if (only_pat && strcmp(only_pat, pats[p].name)) continue;
        time_pattern(pats[p].name, only_mode, pats[p].v, pats[p].k, n, runs);
    }
    if (log_flushes == UINT64_MAX) puts(""); /* keep the flushes observable */
    return 0;
}
