/*
 * bench_util.h -- what every benchmark program in bench/ shares: clocks and
 * rusage, the list of stop-the-world pauses a run saw, their percentiles
 * and minimum mutator utilisation (MMU), the one CSV line every program
 * prints, and (unless BU_NO_GC is defined) the glue that records pauses of
 * mgc and Boehm GC and starts registered threads under either.
 *
 * The CSV line (bench/run.sh appends the repeat number):
 *
 *   bench,case,system,metric,unit,wall_s,cpu_s,peak_rss_kb,num_gc,pauses,
 *   p50_us,p99_us,max_us,mmu_1ms,mmu_10ms,mmu_100ms,mmu_10ms_all,check
 *
 * metric/unit is the benchmark's headline number (ns per allocation, s,
 * MB/s); pauses and MMU are over the stop-the-world intervals recorded
 * between the run's start and end.  mmu_10ms_all is mgc's gc_mmu() with
 * GC_MMU_ASSISTS (pauses, assists and single-thread holds: stack scans,
 * handshakes) and for Boehm equals mmu_10ms (every collection stops the
 * world); empty where unknown.
 *
 * Pauses: mgc's come from the phase callback (GC_PHASE_MARK_SETUP and
 * GC_PHASE_MARK_TERMINATION, each a stop-the-world pause, unlimited in
 * number); Boehm's are whole collections, GC_EVENT_START to GC_EVENT_END
 * from GC_set_on_collection_event: Boehm marks with the world stopped, so
 * the program waits for the whole collection.  With BENCH_INTERVALS=path in
 * the environment the program also writes its pause intervals there (first
 * line "span NS", then "START END" per pause, ns from the run's start) for
 * bench/gcstat to plot.
 *
 * Intervals are gc/mmu.h's mgc_interval (start and length, ns); merging and
 * MMU are gc/mmu.c's, compiled into each program (bench/bench.mk), so the
 * benchmarks, gc_mmu() and build/mgc-trace compute MMU with the same code,
 * and a program running Boehm or malloc needs none of the collector for it.
 *
 * Everything here is static inline: each program includes it once.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gc/mmu.h"

#define BU_CSV_HEADER                                                                        \
    "bench,case,system,metric,unit,wall_s,cpu_s,peak_rss_kb,num_gc,pauses,p50_us,p99_us,"    \
    "max_us,mmu_1ms,mmu_10ms,mmu_100ms,mmu_10ms_all,check"

/* ---- clocks ---------------------------------------------------------------- */

static inline uint64_t bu_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Process CPU time (all threads, user + system), seconds. */
static inline double bu_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static inline long bu_peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static inline void *bu_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

/* ** Zero 16 KiB of stack below the caller's frame.  Called after a phase
 * whose data is dead (a stretch tree): both collectors scan stacks
 * conservatively, and a callee that leaves a frame slot unwritten would
 * otherwise keep whatever that phase left there -- binary-trees kept its
 * whole stretch tree alive that way (always under Boehm GC, in about one
 * run in four under mgc), which measures one stale word, not a collector.
 * noinline, so the buffer lies below the caller's frame.  (The tests'
 * tu_clear_stack is the same; test_util.h needs Criterion, so it is not
 * shared.) */
static __attribute__((noinline, unused)) void bu_clear_stack(void) {
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* A decimal count with an optional k/M/G suffix (powers of 1000). */
static inline int bu_parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end != s && *end && !end[1]) {
        if (*end == 'k' || *end == 'K') v *= 1000ull, end++;
        else if (*end == 'M') v *= 1000000ull, end++;
        else if (*end == 'G') v *= 1000000000ull, end++;
    }
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

/* xorshift64: a fast, reproducible random sequence (state must not be 0). */
static inline uint64_t bu_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Which malloc this process runs with: each preloadable allocator exports a
 * symbol glibc does not have. */
static inline const char *bu_malloc_name(void) {
    if (dlsym(RTLD_DEFAULT, "mi_version")) return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
    if (dlsym(RTLD_DEFAULT, "tc_version")) return "tcmalloc";
    return "glibc";
}

/* ---- pause intervals, percentiles, MMU -------------------------------------- */

/* [start, end) as an mgc_interval; an end before the start is empty. */
static inline mgc_interval bu_span(uint64_t start, uint64_t end) {
    return (mgc_interval){start, end > start ? end - start : 0};
}
static inline uint64_t bu_end(const mgc_interval *iv) { return iv->start + iv->dur; }

typedef struct bu_intervals {
    mgc_interval *v;
    size_t n, cap;
    pthread_mutex_t mu;
} bu_intervals;

/* The pauses of this run (appended from the collector's thread). */
static bu_intervals bu_pauses = {NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER};

static inline void bu_add(bu_intervals *s, uint64_t start, uint64_t end) {
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        mgc_interval *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&s->mu);
            return; /* a lost pause is better than a dead benchmark */
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = bu_span(start, end);
    pthread_mutex_unlock(&s->mu);
}

static inline int bu_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Summary of the pauses inside [t0, t1]. */
typedef struct bu_summary {
    size_t count;
    double p50_us, p99_us, max_us;
    double mmu[3]; /* 1, 10, 100 ms */
} bu_summary;

/* Nearest-rank percentile of sorted v[0..n). */
static inline uint64_t bu_pct(const uint64_t *v, size_t n, int pct) {
    if (!n) return 0;
    size_t r = (n * (size_t)pct + 99) / 100;
    return v[r ? r - 1 : 0];
}

/* Summarise iv[0..n) (clipped to [t0, t1]; reordered in place). */
static inline bu_summary bu_summarise(mgc_interval *iv, size_t n, uint64_t t0, uint64_t t1) {
    bu_summary s = {0, 0, 0, 0, {1, 1, 1}};
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (bu_end(&iv[k]) > t0 && iv[k].start < t1) iv[m++] = iv[k];
    n = m;
    uint64_t *d = bu_xmalloc(n * sizeof *d);
    for (size_t k = 0; k < n; k++) d[k] = iv[k].dur;
    qsort(d, n, sizeof *d, bu_cmp_u64);
    s.count = n;
    s.p50_us = bu_pct(d, n, 50) / 1e3;
    s.p99_us = bu_pct(d, n, 99) / 1e3;
    s.max_us = n ? d[n - 1] / 1e3 : 0;
    free(d);
    size_t nm = mgc_mmu_merge(iv, n);
    static const uint64_t win[3] = {1000000, 10000000, 100000000};
    for (int k = 0; k < 3; k++) s.mmu[k] = mgc_mmu(iv, nm, t0, t1, win[k]);
    return s;
}

/* Read an intervals file (see the top of this file); returns the count,
 * *span the run's length.  -1 if it cannot be read. */
static inline long bu_read_intervals(const char *path, mgc_interval **out, uint64_t *span) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    unsigned long long a, b;
    *span = 0;
    if (fscanf(f, "span %llu", &a) == 1) *span = a;
    size_t n = 0, cap = 1024;
    mgc_interval *v = bu_xmalloc(cap * sizeof *v);
    while (fscanf(f, "%llu %llu", &a, &b) == 2) {
        if (n == cap) {
            cap *= 2;
            mgc_interval *nv = realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        v[n++] = bu_span(a, b);
    }
    fclose(f);
    *out = v;
    return (long)n;
}

/* Write the recorded pauses inside [t0, t1] to $BENCH_INTERVALS, if set. */
static inline void bu_write_intervals(uint64_t t0, uint64_t t1) {
    const char *path = getenv("BENCH_INTERVALS");
    if (!path || !*path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        return;
    }
    fprintf(f, "span %" PRIu64 "\n", t1 - t0);
    pthread_mutex_lock(&bu_pauses.mu);
    for (size_t k = 0; k < bu_pauses.n; k++) {
        uint64_t start = bu_pauses.v[k].start, end = bu_end(&bu_pauses.v[k]);
        if (end <= t0 || start >= t1) continue;
        if (start < t0) start = t0;
        if (end > t1) end = t1;
        fprintf(f, "%" PRIu64 " %" PRIu64 "\n", start - t0, end - t0);
    }
    pthread_mutex_unlock(&bu_pauses.mu);
    fclose(f);
}

/* A run's result; fields the program does not know stay negative/NULL. */
#define BU_MMU_SAME (-2.0)
typedef struct bu_result {
    const char *bench, *bcase, *system;
    double metric;
    const char *unit;
    uint64_t t0, t1;  /* the measured run, CLOCK_MONOTONIC ns */
    double cpu_s;     /* CPU seconds of the run */
    long num_gc;      /* collections during the run; -1: not a GC */
    double mmu10_all; /* -1: unknown, BU_MMU_SAME: as mmu_10ms */
    const char *check;
} bu_result;

/* Print the CSV line; pauses and MMU over bu_pauses inside [t0, t1]. */
static inline void bu_print(const bu_result *r) {
    char gc[160] = ",,,,,,,,";
    if (r->num_gc >= 0) {
        pthread_mutex_lock(&bu_pauses.mu);
        size_t n = bu_pauses.n;
        mgc_interval *iv = bu_xmalloc(n * sizeof *iv);
        memcpy(iv, bu_pauses.v, n * sizeof *iv);
        pthread_mutex_unlock(&bu_pauses.mu);
        bu_summary s = bu_summarise(iv, n, r->t0, r->t1);
        free(iv);
        char all[32] = "";
        if (r->mmu10_all >= 0) snprintf(all, sizeof all, "%.4f", r->mmu10_all);
        else if (r->mmu10_all == BU_MMU_SAME) snprintf(all, sizeof all, "%.4f", s.mmu[1]);
        snprintf(gc, sizeof gc, "%ld,%zu,%.1f,%.1f,%.1f,%.4f,%.4f,%.4f,%s", r->num_gc, s.count,
                 s.p50_us, s.p99_us, s.max_us, s.mmu[0], s.mmu[1], s.mmu[2], all);
    }
    printf("%s,%s,%s,%.6g,%s,%.4f,%.3f,%ld,%s,%s\n", r->bench, r->bcase, r->system, r->metric,
           r->unit, (double)(r->t1 - r->t0) / 1e9, r->cpu_s, bu_peak_rss_kb(), gc,
           r->check ? r->check : "");
    fflush(stdout);
    bu_write_intervals(r->t0, r->t1);
}

#ifndef BU_NO_GC
/* ---- mgc and Boehm GC in one binary ------------------------------------------
 *
 * Boehm is built with thread support, but its pthread_create redirection is
 * off: in mgc and malloc modes Boehm must not start (it would take the same
 * stop signals as mgc), so threads are registered with it explicitly. */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc.h>

#include "mgc.h"

enum { BU_MGC, BU_BOEHM, BU_MALLOC };

static uint64_t bu_boehm_start;

static inline void bu_mgc_phase(const gc_phase_event *e, void *arg) {
    (void)arg;
    if ((e->phase == GC_PHASE_MARK_SETUP || e->phase == GC_PHASE_MARK_TERMINATION) && e->world_stopped)
        bu_add(&bu_pauses, e->start_ns, e->start_ns + e->duration_ns);
}

static inline void bu_boehm_event(GC_EventType e) {
    if (e == GC_EVENT_START) bu_boehm_start = bu_now_ns();
    else if (e == GC_EVENT_END) bu_add(&bu_pauses, bu_boehm_start, bu_now_ns());
}

/* Start mgc with cfg (NULL: defaults) and record its pauses. */
static inline void bu_mgc_init(const gc_config *cfg) {
    int rc = gc_init(cfg);
    if (rc != GC_OK) {
        fprintf(stderr, "bench: gc_init: %s\n", gc_strerror(rc));
        exit(2);
    }
    gc_set_phase_callback(bu_mgc_phase, NULL);
}

/* Start Boehm GC (ready for registered threads) and record its collections. */
static inline void bu_boehm_init(void) {
    GC_INIT();
    GC_allow_register_threads();
    GC_set_on_collection_event(bu_boehm_event);
}

/* Start the collector of `system` (BU_MALLOC: nothing). */
static inline void bu_init(int system) {
    if (system == BU_MGC) bu_mgc_init(NULL);
    else if (system == BU_BOEHM) bu_boehm_init();
}

/* Collections so far (-1 for malloc). */
static inline long bu_num_gc(int system) {
    if (system == BU_MGC) {
        gc_stats st;
        gc_get_stats(&st);
        return (long)st.num_gc;
    }
    if (system == BU_BOEHM) return (long)GC_get_gc_no();
    return -1;
}

/* mmu_10ms_all for the result line: gc_mmu with assists for mgc, the same
 * as mmu_10ms for Boehm (BU_MMU_SAME), unknown for malloc. */
static inline double bu_mmu10_all(int system) {
    if (system == BU_MGC) return gc_mmu(10000000, GC_MMU_ASSISTS);
    return system == BU_BOEHM ? BU_MMU_SAME : -1;
}

/* ** Threads: registered with the collector of `system` for their life. */
typedef struct bu_thread {
    pthread_t tid;
    int system;
    void *(*fn)(void *);
    void *arg;
} bu_thread;

static inline void *bu_thread_main(void *p) {
    bu_thread *t = p;
    void *r;
    if (t->system == BU_MGC) {
        gc_register_thread();
        r = t->fn(t->arg);
        gc_unregister_thread();
    } else if (t->system == BU_BOEHM) {
        struct GC_stack_base sb;
        GC_get_stack_base(&sb);
        GC_register_my_thread(&sb);
        r = t->fn(t->arg);
        GC_unregister_my_thread();
    } else {
        r = t->fn(t->arg);
    }
    return r;
}

static inline void bu_thread_start(bu_thread *t, int system, void *(*fn)(void *), void *arg) {
    t->system = system;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->tid, NULL, bu_thread_main, t) != 0) {
        fprintf(stderr, "bench: pthread_create failed\n");
        exit(2);
    }
}

static inline void *bu_join_blocking(void *p) {
    pthread_join(*(pthread_t *)p, NULL);
    return NULL;
}

/* Join from a registered thread: parked for mgc, so collections need not
 * stop a thread that only waits. */
static inline void bu_thread_join(bu_thread *t) {
    if (t->system == BU_MGC) gc_do_blocking(bu_join_blocking, &t->tid);
    else pthread_join(t->tid, NULL);
}

/* Parse a system name: mgc, boehm, malloc. */
static inline int bu_parse_system(const char *s) {
    if (!strcmp(s, "mgc")) return BU_MGC;
    if (!strcmp(s, "boehm")) return BU_BOEHM;
    if (!strcmp(s, "malloc")) return BU_MALLOC;
    return -1;
}

/* The label a result line carries: the malloc actually in use for malloc. */
static inline const char *bu_system_label(int system) {
    return system == BU_MGC ? "mgc" : system == BU_BOEHM ? "boehm" : bu_malloc_name();
}
#endif /* BU_NO_GC */

#endif /* BENCH_UTIL_H */
