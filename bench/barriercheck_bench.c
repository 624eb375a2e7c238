/*
 * barriercheck_bench.c -- MGC_BARRIERCHECK's detection rate and its cost
 * (issue 14 part 5), on the stress program of test/test_barriercheck.c.
 *
 *   barriercheck_bench CHECK PLANT SECONDS    (make bench-barriercheck)
 *
 * Four registered threads each rewire a table of 64 objects of 64 bytes
 * (eight pointer words) as fast as they can: a fresh object stored into a
 * random field, a field copied from another object, a gc_store_range of
 * part of one object into another, a gc_clear_range; every store through
 * the barrier.  With PLANT=1, thread 0 also makes, every 4096 rewires, a
 * plain C store of a fresh object into one of 256 victim objects that
 * nothing else writes: the missing barrier a port leaves.
 * Collections run back to back from the main thread (gc_collect) for
 * SECONDS; CHECK=1 turns the sanitizer on (gc_config.barriercheck).
 *
 * A plain store can be reported only if it lands after the marker scanned
 * its object and before the mark ends (earlier, the scan sees the new value
 * and nothing is lost; between cycles there is no mark).  So the program
 * counts the planted stores made while a cycle was marking (between the
 * GC_PHASE_MARK_START and GC_PHASE_MARK_TERMINATION callbacks: an upper
 * bound on the reportable ones) and the barriercheck reports, and prints
 * one line:
 *
 *   check=1 plant=1 s=3.0 rewires=... rewires_per_s=... cycles=...
 *     planted=... planted_in_mark=... reports=... false=...
 *
 * "false" counts reports with PLANT=0 (must be 0), or of objects no
 * planted store touched.  Rate = reports / planted_in_mark; cost =
 * rewires_per_s with CHECK=0 over CHECK=1, and cycles per second.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mgc.h>

#define SLOTS 64
#define THREADS 4
#define VICTIMS 256
#define PLANT_EVERY 4096 /* rewires between planted stores (thread 0) */

static _Atomic int stop;
static _Atomic int marking; /* set by the phase callback */
static _Atomic uint64_t rewires, planted, planted_in_mark, reports, false_reports;
static int plant_on;

/* The objects planted stores write into (a report naming another object
 * is false): written by thread 0 before it plants, read after the join. */
static uintptr_t victim_obj[VICTIMS];

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ** Reports are counted here; the first few false ones printed. */
static char report_buf[64][160];
static _Atomic int nreport_buf;
static void on_warn(const char *msg) {
    if (strncmp(msg, "mgc: barriercheck:", 18) != 0) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    atomic_fetch_add(&reports, 1);
    int k = atomic_fetch_add(&nreport_buf, 1);
    if (k < 64) snprintf(report_buf[k], sizeof report_buf[k], "%s", msg);
}

static void on_phase(const gc_phase_event *e, void *arg) {
    (void)arg;
    if (e->phase == GC_PHASE_MARK_START) atomic_store(&marking, 1);
    else if (e->phase == GC_PHASE_MARK_TERMINATION) atomic_store(&marking, 0);
}

static void rewire(void **tab, uint64_t *rng) {
    uint64_t r = *rng = mix(*rng);
    void **o = tab[r % SLOTS];
    size_t i = (r >> 8) % 8, j = (r >> 16) % 8;
    switch ((r >> 24) % 4) {
    case 0: {
        void **fresh = gc_alloc(64);
        if (!fresh) abort();
        gc_store(&fresh[0], tab[(r >> 32) % SLOTS]);
        gc_store(&o[i], fresh);
        break;
    }
    case 1: gc_store(&o[i], tab[(r >> 32) % SLOTS]); break;
    case 2:
        gc_store_range(&o[i < j ? i : j], tab[(r >> 32) % SLOTS], (8 - (i > j ? i : j)) * 8);
        break;
    default: gc_clear_range(&o[i], (8 - i) * 8);
    }
}

/* ** The planted missing barrier: a fresh object stored with a plain C
 * store into the next word of the victims, objects that nothing else
 * writes, so the store stays in place until the mark ends (a store that a
 * later gc_store overwrites is harmless -- its deletion half shades the
 * fresh object -- and the sanitizer rightly does not report it). */
static void plant(void **victims, uint64_t k) {
    void **v = victims[(k / 8) % VICTIMS];
    void **fresh = gc_alloc(64);
    if (!fresh) abort();
    int m = atomic_load_explicit(&marking, memory_order_relaxed);
    v[k % 8] = fresh;
    atomic_fetch_add(&planted, 1);
    if (m) atomic_fetch_add(&planted_in_mark, 1);
}

static void *mutator(void *arg) {
    int id = (int)(intptr_t)arg;
    if (gc_register_thread() != GC_OK) abort();
    void **volatile tab = gc_alloc(SLOTS * sizeof(void *));
    void **volatile victims = gc_alloc(VICTIMS * sizeof(void *));
    if (!tab || !victims) abort();
    for (int k = 0; k < SLOTS; k++) {
        void *o = gc_alloc(64);
        if (!o) abort();
        gc_store(&tab[k], o);
    }
    bool planting = plant_on && id == 0;
    for (int k = 0; planting && k < VICTIMS; k++) {
        void *o = gc_alloc(64);
        if (!o) abort();
        gc_store(&victims[k], o);
        victim_obj[k] = (uintptr_t)o; /* read by main after the join */
    }
    uint64_t rng = (uint64_t)id + 99, n = 0, k = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int r = 0; r < 256; r++) rewire(tab, &rng);
        n += 256;
        if (planting && n % PLANT_EVERY == 0) plant(victims, k++);
    }
    atomic_fetch_add(&rewires, n);
    gc_unregister_thread();
    return NULL;
}

/* ** A report names "object 0x..."; false if no planted store wrote it. */
static bool report_is_planted(const char *msg) {
    const char *p = strstr(msg, "object ");
    if (!p) return false;
    uintptr_t a = (uintptr_t)strtoull(p + 7, NULL, 16);
    for (int k = 0; k < VICTIMS; k++)
        if (victim_obj[k] == a) return true;
    return false;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: barriercheck_bench CHECK(0|1) PLANT(0|1) SECONDS\n");
        return 2;
    }
    int check = atoi(argv[1]);
    plant_on = atoi(argv[2]);
    double secs = atof(argv[3]);
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.barriercheck = check;
    unsetenv("MGC_BARRIERCHECK");
    gc_set_warn_handler(on_warn);
    if (gc_init(&cfg) != GC_OK) return 1;
    gc_set_phase_callback(on_phase, NULL);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, mutator, (void *)(intptr_t)i) != 0) return 1;
    double t0 = now_s(), t1;
    gc_stats st;
    gc_get_stats(&st);
    uint64_t gc0 = st.num_gc;
    while ((t1 = now_s()) - t0 < secs) gc_collect();
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    gc_get_stats(&st);
    uint64_t cycles = st.num_gc - gc0;
    gc_collect(); /* a store made in the last mark is reported after it */
    int nb = atomic_load(&nreport_buf);
    for (int k = 0; k < nb && k < 64; k++)
        if (!plant_on || !report_is_planted(report_buf[k])) {
            atomic_fetch_add(&false_reports, 1);
            fprintf(stderr, "false report: %s\n", report_buf[k]);
        }
    printf("check=%d plant=%d s=%.1f rewires=%llu rewires_per_s=%.0f cycles=%llu cycles_per_s=%.1f "
           "planted=%llu planted_in_mark=%llu reports=%llu false=%llu\n",
           check, plant_on, t1 - t0, (unsigned long long)rewires, (double)rewires / (t1 - t0),
           (unsigned long long)cycles, (double)cycles / (t1 - t0), (unsigned long long)planted,
           (unsigned long long)planted_in_mark, (unsigned long long)reports,
           (unsigned long long)false_reports);
    return false_reports ? 1 : 0;
}
