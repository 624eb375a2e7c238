/*
 * thread_pause.c -- how long the collector holds each thread when threads
 * outnumber cores (issue 16's goals, measured).
 *
 *   thread_pause [-d SECONDS] [-m MODES] [-o FILE] [CASE ...]
 *
 * CASE is N (N registered threads allocating) or N+I (the same, plus I
 * registered threads that only sit blocked in read() on a pipe -- NOT in
 * gc_do_blocking, so every stop must signal them too).  Default cases:
 * 2 4 16 64 2+64; default 3 s each (-d 1.5 shortens them).  Each case runs
 * once per mode, MGC_HANDSHAKE=0 (stop-the-world mark setup and
 * termination) and MGC_HANDSHAKE=1 (per-thread handshakes); -m 0 or -m 1
 * runs one of them.  The Markdown table goes to stdout and, with -o, to
 * FILE as well.
 *
 * Each allocating thread keeps a ring of its last 1024 small objects (32
 * bytes: one pointer, three words), so the live heap is tiny and the
 * collector cycles hundreds of times a second.  A new object points at the
 * one half a ring back; the object it evicts has its pointer cleared, so
 * nothing is retained beyond two rings.  All pointer stores go through
 * gc_store: while the collector marks, the barrier runs.
 *
 * Why every case runs in its own forked child: gc_get_pause_summary and
 * gc_stats count from gc_init, and the heap a case leaves behind would
 * pace the next one.  The parent never starts the collector; each child
 * does (bu_mgc_init), runs one case and sends its numbers back through a
 * pipe.
 *
 * What is measured, per case, over the same window [t0, t1] (all threads
 * released by one barrier at t0, told to stop at t1):
 *
 *   cycles        gc_stats.num_gc at t1 minus at t0.
 *   pauses        the collector's own stop-the-world pauses, from its
 *                 phase callback (GC_PHASE_MARK_SETUP and
 *                 GC_PHASE_MARK_TERMINATION, as bench_util.h records them),
 *                 that overlap the window: p50/p90/p99/max (nearest rank,
 *                 whole pauses), their sum clipped to the window and its
 *                 share of the window.  gc_get_pause_summary cannot give
 *                 per-window percentiles (its percentiles are
 *                 over the last 4096 pauses since gc_init); its count and
 *                 total are used as a cross-check on stderr.
 *   held          measured from outside the collector, by each allocating
 *                 thread itself (what the program feels, whoever caused it):
 *                 it timestamps (CLOCK_MONOTONIC) every batch of 32
 *                 allocations; a gap between consecutive timestamps longer
 *                 than HOLD_MIN_NS is a hold, counted as the gap minus the
 *                 thread's median batch time (its own work).  A hold is
 *                 anything that kept the thread from progressing: a
 *                 stop-the-world pause, its own stack scan, a mark assist,
 *                 a lazy sweep of a span, a page fault -- and OS
 *                 descheduling.  With more threads than cores each thread
 *                 is off-CPU for at least 1 - ncpu/N of the run whatever
 *                 the collector does, so "max % held" has that floor; the
 *                 on-CPU column (mean CLOCK_THREAD_CPUTIME_ID over the run
 *                 per thread) shows how much of the run each thread
 *                 actually had a core.  Hold percentiles are over the holds
 *                 of all threads pooled (each hold is one event one thread
 *                 felt); max % is the largest share of its own run that any
 *                 one thread spent held.
 *   not preempted the same max %, counting only the holds during which the
 *                 thread was not preempted: after each hold the thread
 *                 reads its involuntary context switches (getrusage
 *                 RUSAGE_THREAD); a hold during which that count rose is
 *                 (at least partly) the OS giving its core to another
 *                 thread.  A thread stopped by the collector waits in
 *                 sigsuspend (a voluntary switch), and the wait for a core
 *                 after the restart is no new involuntary switch, so those
 *                 holds stay in -- unless the thread had been preempted
 *                 when the stop began, which moves the whole hold out.  So
 *                 it leans low where preemption is common, and it counts
 *                 a restarted thread's wait for a core as the collector's
 *                 (which it is: issue 16's "stopped first wait for the
 *                 last one").  Switches during gaps under HOLD_MIN_NS are
 *                 charged to the next hold (the count is only read after
 *                 holds).
 *   allocs/s      all workers' allocations over the window: what the
 *                 holds cost in throughput, to compare modes by.
 *   collector's   what the collector itself reports (gc_pause_summary's
 *   holds         hold fields, gc_get_thread_holds): its per-thread holds
 *                 (stack scans and handshakes, each one thread held alone),
 *                 beside the outside measurement.  Count: over the window
 *                 (summary at t1 minus at t0).  p50/p99: over the last
 *                 <= 4096 holds before t1 (inside the window whenever the
 *                 window had that many).  max: since the child's gc_init
 *                 (which is a few cycles before the window at most).  max
 *                 % held: the largest share of the window one thread was
 *                 kept from running by the collector's own account -- the
 *                 global pauses in the window plus that thread's own holds
 *                 over its run (gc_get_thread_holds at both ends) -- which
 *                 excludes OS descheduling, the outside column's floor.
 *
 * Mode: the MODE column is the MGC_HANDSHAKE value the case's child ran
 * with (set before its gc_init).  A "1" row whose collector reported no
 * handshake at all is marked "1 (no handshakes)": the library it ran on
 * stops the world for mark setup and termination whatever MGC_HANDSHAKE
 * says (the mode not built yet, or MGC_STW=1 in the environment, which the
 * header reports and which overrides both).
 */
#include "bench_util.h"

#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RING 1024
#define BATCH 32
#define HOLD_MIN_NS 20000u
#define SMALL_BUCKET_NS 100u /* batch-time histogram: 100 ns buckets below HOLD_MIN_NS */
#define SMALL_BUCKETS (HOLD_MIN_NS / SMALL_BUCKET_NS)
#define PREEMPTED (1ull << 63)

typedef struct obj {
    struct obj *next;
    uint64_t v[3];
} obj;

/* One allocating thread's record.  Written only by its thread until the
 * thread is joined; read by main after the join. */
typedef struct worker {
    bu_thread t;
    uint64_t allocs;
    uint64_t first_ns, last_ns; /* its run: first and last batch timestamps */
    uint64_t cpu_ns;            /* its CPU time over the run */
    uint64_t small[SMALL_BUCKETS];
    uint64_t *gaps; /* gaps >= HOLD_MIN_NS, raw (ns); the top bit: preempted during it */
    size_t ngaps, capgaps;
    gc_thread_holds h0, h1; /* the collector's count of its holds, at its run's ends */
} worker;

/* Start/stop: the barrier releases every worker together; stop is set
 * once by main (relaxed is enough: a worker that sees it late runs one
 * more batch past t1, which its own last_ns accounts for). */
static pthread_barrier_t start_barrier;
static atomic_int stop;

static long involuntary_switches(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nivcsw;
}

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_gap(worker *w, uint64_t g) {
    if (w->ngaps == w->capgaps) {
        size_t cap = w->capgaps ? 2 * w->capgaps : 1024;
        uint64_t *v = realloc(w->gaps, cap * sizeof *v);
        if (!v) return; /* a lost gap is better than a dead benchmark */
        w->gaps = v;
        w->capgaps = cap;
    }
    w->gaps[w->ngaps++] = g;
}

static obj *new_obj(uint64_t i) {
    obj *o = gc_alloc(sizeof *o);
    if (!o) {
        fprintf(stderr, "thread_pause: out of memory\n");
        exit(2);
    }
    o->v[0] = i;
    return o;
}

static void *alloc_main(void *arg) {
    worker *w = arg;
    /* The ring is itself a heap object; this frame (a root) holds it. */
    obj **ring = gc_alloc(RING * sizeof *ring);
    if (!ring) {
        fprintf(stderr, "thread_pause: out of memory\n");
        exit(2);
    }
    for (size_t k = 0; k < RING; k++) gc_store(&ring[k], new_obj(k));
    uint64_t i = 0;
    pthread_barrier_wait(&start_barrier);
    gc_get_thread_holds(&w->h0);
    uint64_t c0 = thread_cpu_ns();
    long nivcsw = involuntary_switches();
    uint64_t prev = bu_now_ns();
    w->first_ns = prev;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int b = 0; b < BATCH; b++, i++) {
            size_t k = i % RING;
            obj *o = new_obj(i);
            gc_store(&o->next, ring[(k + RING / 2) % RING]);
            gc_store(&ring[k]->next, NULL); /* the evicted object retains nothing */
            gc_store(&ring[k], o);
        }
        uint64_t now = bu_now_ns(), g = now - prev;
        if (g < HOLD_MIN_NS) w->small[g / SMALL_BUCKET_NS]++;
        else {
            long n = involuntary_switches();
            add_gap(w, g | (n != nivcsw ? PREEMPTED : 0));
            nivcsw = n;
            now = bu_now_ns(); /* the getrusage call is no part of the next batch */
        }
        prev = now;
    }
    w->last_ns = prev;
    w->cpu_ns = thread_cpu_ns() - c0;
    gc_get_thread_holds(&w->h1);
    w->allocs = i;
    return NULL;
}

/* Idle threads: registered, then blocked in read() until main closes the
 * pipe.  A stop signal may interrupt the read; it is simply repeated. */
static int idle_pipe[2];
static atomic_int idle_ready;

static void *idle_main(void *arg) {
    (void)arg;
    char c;
    atomic_fetch_add(&idle_ready, 1);
    for (;;) {
        ssize_t r = read(idle_pipe[0], &c, 1);
        if (r >= 0 || errno != EINTR) break;
    }
    return NULL;
}

static void *sleep_blocking(void *arg) {
    uint64_t ns = *(uint64_t *)arg;
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return NULL;
}

/* What a child sends back: one row of the table. */
typedef struct row {
    int threads, idle, mode;
    double window_s;
    uint64_t cycles, npauses;
    double p50_us, p90_us, p99_us, max_us, total_ms, total_pct;
    uint64_t nholds;
    double hold_p50_us, hold_p99_us, hold_max_us, hold_max_pct, unpreempted_max_pct, oncpu_pct;
    double allocs_per_s;
    uint64_t c_holds, c_handshakes; /* the collector's own, over the window */
    double c_p50_us, c_p99_us, c_max_us, c_max_pct;
} row;

static int cmp_u64(const void *a, const void *b) { return bu_cmp_u64(a, b); }

/* The median batch time of w: its own work per batch. */
static uint64_t median_batch_ns(const worker *w) {
    uint64_t n = 0, half, seen = 0;
    for (size_t k = 0; k < SMALL_BUCKETS; k++) n += w->small[k];
    n += w->ngaps;
    half = (n + 1) / 2;
    for (size_t k = 0; k < SMALL_BUCKETS; k++) {
        seen += w->small[k];
        if (seen >= half) return k * SMALL_BUCKET_NS + SMALL_BUCKET_NS / 2;
    }
    return HOLD_MIN_NS; /* most batches were "holds": count only the excess */
}

/* Run one case in this (child) process, in MGC_HANDSHAKE=mode, and fill *r. */
static void run_case(int threads, int idle, int mode, double seconds, row *r) {
    setenv("MGC_HANDSHAKE", mode ? "1" : "0", 1);
    bu_mgc_init(NULL);
    memset(r, 0, sizeof *r);
    r->threads = threads;
    r->idle = idle;
    r->mode = mode;
    if (pipe(idle_pipe) != 0) {
        perror("thread_pause: pipe");
        exit(2);
    }
    bu_thread *idlers = bu_xmalloc((size_t)(idle ? idle : 1) * sizeof *idlers);
    for (int k = 0; k < idle; k++) bu_thread_start(&idlers[k], BU_MGC, idle_main, NULL);
    while (atomic_load(&idle_ready) < idle) sched_yield();

    worker *w = calloc((size_t)threads, sizeof *w);
    if (!w) exit(2);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)threads + 1);
    for (int k = 0; k < threads; k++) bu_thread_start(&w[k].t, BU_MGC, alloc_main, &w[k]);

    gc_pause_summary ps0, ps1;
    gc_stats st0, st1;
    pthread_barrier_wait(&start_barrier);
    gc_get_stats(&st0);
    gc_get_pause_summary(&ps0);
    uint64_t t0 = bu_now_ns();
    uint64_t dur = (uint64_t)(seconds * 1e9);
    gc_do_blocking(sleep_blocking, &dur); /* main is parked: only the workers and idlers run */
    atomic_store(&stop, 1);
    uint64_t t1 = bu_now_ns();
    gc_get_stats(&st1);
    gc_get_pause_summary(&ps1);
    for (int k = 0; k < threads; k++) bu_thread_join(&w[k].t);
    close(idle_pipe[1]);
    for (int k = 0; k < idle; k++) bu_thread_join(&idlers[k]);

    r->window_s = (double)(t1 - t0) / 1e9;
    r->cycles = st1.num_gc - st0.num_gc;

    /* Pauses inside [t0, t1], from the phase callback. */
    pthread_mutex_lock(&bu_pauses.mu);
    uint64_t *d = bu_xmalloc((bu_pauses.n ? bu_pauses.n : 1) * sizeof *d);
    size_t n = 0;
    uint64_t total = 0;
    for (size_t k = 0; k < bu_pauses.n; k++) {
        const mgc_interval *iv = &bu_pauses.v[k];
        if (bu_end(iv) <= t0 || iv->start >= t1) continue;
        d[n++] = iv->dur; /* a pause at an edge: its whole length in the percentiles */
        uint64_t lo = iv->start > t0 ? iv->start : t0, hi = bu_end(iv) < t1 ? bu_end(iv) : t1;
        total += hi - lo; /* ...but only its part inside the window in the total */
    }
    pthread_mutex_unlock(&bu_pauses.mu);
    qsort(d, n, sizeof *d, cmp_u64);
    r->npauses = n;
    r->p50_us = bu_pct(d, n, 50) / 1e3;
    r->p90_us = bu_pct(d, n, 90) / 1e3;
    r->p99_us = bu_pct(d, n, 99) / 1e3;
    r->max_us = n ? d[n - 1] / 1e3 : 0;
    r->total_ms = total / 1e6;
    r->total_pct = 100.0 * (double)total / (double)(t1 - t0);
    free(d);
    fprintf(stderr,
            "thread_pause: %d+%d mode %d: gc_get_pause_summary over the window: %" PRIu64
            " pauses, %.1f ms (phase callback: %zu, %.1f ms); %" PRIu64 " holds (%" PRIu64
            " handshakes), %.1f ms\n",
            threads, idle, mode, ps1.count - ps0.count, (ps1.total_ns - ps0.total_ns) / 1e6, n,
            total / 1e6, ps1.hold_count - ps0.hold_count, ps1.handshake_count - ps0.handshake_count,
            (ps1.hold_total_ns - ps0.hold_total_ns) / 1e6);
    r->c_holds = ps1.hold_count - ps0.hold_count;
    r->c_handshakes = ps1.handshake_count - ps0.handshake_count;
    r->c_p50_us = ps1.hold_p50_ns / 1e3;
    r->c_p99_us = ps1.hold_p99_ns / 1e3;
    r->c_max_us = ps1.hold_max_ns / 1e3;
    for (int k = 0; k < threads; k++) {
        double pct = 100.0 * (double)(total + w[k].h1.total_ns - w[k].h0.total_ns) / (double)(t1 - t0);
        if (pct > r->c_max_pct) r->c_max_pct = pct;
    }

    /* Holds, pooled over all workers. */
    size_t nh = 0;
    for (int k = 0; k < threads; k++) nh += w[k].ngaps;
    uint64_t *h = bu_xmalloc((nh ? nh : 1) * sizeof *h);
    size_t m = 0;
    double oncpu = 0, allocs = 0;
    for (int k = 0; k < threads; k++) {
        uint64_t own = median_batch_ns(&w[k]), held = 0, unpreempted = 0;
        for (size_t j = 0; j < w[k].ngaps; j++) {
            uint64_t raw = w[k].gaps[j] & ~PREEMPTED, g = raw > own ? raw - own : 0;
            h[m++] = g;
            held += g;
            if (!(w[k].gaps[j] & PREEMPTED)) unpreempted += g;
        }
        double run = (double)(w[k].last_ns - w[k].first_ns);
        if (run > 0) {
            double pct = 100.0 * (double)held / run;
            if (pct > r->hold_max_pct) r->hold_max_pct = pct;
            pct = 100.0 * (double)unpreempted / run;
            if (pct > r->unpreempted_max_pct) r->unpreempted_max_pct = pct;
            oncpu += 100.0 * (double)w[k].cpu_ns / run;
        }
        allocs += (double)w[k].allocs;
        free(w[k].gaps);
    }
    qsort(h, m, sizeof *h, cmp_u64);
    fprintf(stderr, "thread_pause: %d+%d mode %d: median batch of %d allocations (thread 0): %" PRIu64 " ns\n",
            threads, idle, mode, BATCH, threads ? median_batch_ns(&w[0]) : 0);
    r->nholds = m;
    r->hold_p50_us = bu_pct(h, m, 50) / 1e3;
    r->hold_p99_us = bu_pct(h, m, 99) / 1e3;
    r->hold_max_us = m ? h[m - 1] / 1e3 : 0;
    r->oncpu_pct = oncpu / threads;
    r->allocs_per_s = allocs / r->window_s;
    free(h);
    free(w);
    free(idlers);
}

/* A duration in us as the table writes it: us below 1 ms. */
static void fmt_us(char *buf, size_t n, double us) {
    if (us < 1000) snprintf(buf, n, "%.0f us", us);
    else snprintf(buf, n, "%.2f ms", us / 1000);
}

static void print_row(FILE *f, const row *r) {
    char a[24], b[24], c[24], d[24], e[24], g[24], h[24], ca[24], cb[24], cc[24];
    fmt_us(a, sizeof a, r->p50_us);
    fmt_us(b, sizeof b, r->p90_us);
    fmt_us(c, sizeof c, r->p99_us);
    fmt_us(d, sizeof d, r->max_us);
    fmt_us(e, sizeof e, r->hold_p50_us);
    fmt_us(g, sizeof g, r->hold_p99_us);
    fmt_us(h, sizeof h, r->hold_max_us);
    fmt_us(ca, sizeof ca, r->c_p50_us);
    fmt_us(cb, sizeof cb, r->c_p99_us);
    fmt_us(cc, sizeof cc, r->c_max_us);
    char who[32];
    if (r->idle) snprintf(who, sizeof who, "%d + %d idle in read()", r->threads, r->idle);
    else snprintf(who, sizeof who, "%d", r->threads);
    const char *mode = !r->mode ? "0" : r->c_handshakes ? "1" : "1 (no handshakes)";
    fprintf(f,
            "| %s | %s | %" PRIu64 " | %s | %s | %s | %s | %.0f ms (%.0f%%) | %" PRIu64
            " | %s | %s | %s | %.0f%% | %.0f%% | %.0f%% | %.1f | %" PRIu64 " (%" PRIu64
            " handshakes) | %s | %s | %s | %.1f%% |\n",
            who, mode, r->cycles, a, b, c, d, r->total_ms, r->total_pct, r->nholds, e, g, h,
            r->hold_max_pct, r->unpreempted_max_pct, r->oncpu_pct, r->allocs_per_s / 1e6,
            r->c_holds, r->c_handshakes, ca, cb, cc, r->c_max_pct);
}

static const char *mode_label(void) {
    const char *stw = getenv("MGC_STW");
    if (stw && *stw && strcmp(stw, "0") != 0)
        return "MGC_STW (marking with the world stopped, in every row whatever MODE says)";
    return "concurrent mark; MODE is MGC_HANDSHAKE (0: stop-the-world mark setup and "
           "termination, 1: per-thread handshakes)";
}

/* Load average before the first case: the machine's own load, before this
 * benchmark's threads add theirs (the one at the end includes them). */
static double load_before[3];

static void print_table(FILE *f, const row *rows, int n, double seconds) {
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) != 3) load[0] = load[1] = load[2] = -1;
    fprintf(f,
            "%s, load average %.2f %.2f %.2f before, %.2f %.2f %.2f after (with this "
            "benchmark's threads), nproc %ld, %.1f s per case; mode: %s\n\n",
            date, load_before[0], load_before[1], load_before[2], load[0], load[1], load[2],
            sysconf(_SC_NPROCESSORS_ONLN), seconds, mode_label());
    fprintf(f, "| registered threads allocating | MODE | cycles in run | pause p50 | p90 | p99 | max "
               "| total paused | holds | hold p50 | hold p99 | hold max | max %% held "
               "| not preempted | on-CPU | M allocs/s | collector's holds | its p50 | its p99 "
               "| its max | its max %% held |\n");
    fprintf(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
               "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int k = 0; k < n; k++) print_row(f, &rows[k]);
    fprintf(f, "\nholds: gaps over %u us between a thread's batches of %d allocations, "
               "minus its median batch time, pooled over threads; they include OS "
               "descheduling (with N threads on P free cores at least 1 - P/N of each "
               "thread's run). max %% held: the largest share of its run one thread spent "
               "held; not preempted: the same counting only holds without an involuntary "
               "context switch; on-CPU: mean thread CPU time over its run.  collector's holds: "
               "what mgc reports of its own per-thread holds (stack scans, handshakes) in the "
               "window; its p50/p99 over its last <= 4096 holds, its max since gc_init; its max "
               "%% held: the window's global pauses plus one thread's own holds, the largest "
               "over threads, as a share of the window (no OS descheduling in it).  MODE: "
               "MGC_HANDSHAKE; \"1 (no handshakes)\": the collector held no thread for a "
               "handshake, so it ran stop-the-world setup and termination.\n",
            HOLD_MIN_NS / 1000, BATCH);
}

static int parse_case(const char *s, int *threads, int *idle) {
    char *end;
    long t = strtol(s, &end, 10), i = 0;
    if (end == s || t < 1 || t > 4096) return -1;
    if (*end == '+') {
        const char *p = end + 1;
        i = strtol(p, &end, 10);
        if (end == p || i < 0 || i > 4096) return -1;
    }
    if (*end) return -1;
    *threads = (int)t;
    *idle = (int)i;
    return 0;
}

int main(int argc, char **argv) {
    double seconds = 3.0;
    const char *out = NULL;
    int modes[2] = {0, 1}, nmodes = 2;
    int opt;
    while ((opt = getopt(argc, argv, "d:m:o:")) != -1) {
        if (opt == 'd') seconds = atof(optarg);
        else if (opt == 'o') out = optarg;
        else if (opt == 'm' && (!strcmp(optarg, "0") || !strcmp(optarg, "1"))) {
            modes[0] = optarg[0] - '0';
            nmodes = 1;
        } else seconds = -1;
    }
    static const char *defaults[] = {"2", "4", "16", "64", "2+64"};
    int ncases = optind < argc ? argc - optind : 5;
    const char **cases = optind < argc ? (const char **)argv + optind : defaults;
    int nrows = ncases * nmodes;
    row *rows = bu_xmalloc((size_t)nrows * sizeof *rows);
    int cfg[2];
    for (int k = 0; k < ncases; k++)
        if (parse_case(cases[k], &cfg[0], &cfg[1]) != 0) seconds = -1;
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: thread_pause [-d SECONDS] [-m 0|1] [-o FILE] [N | N+IDLE ...]\n");
        return 2;
    }
    if (getloadavg(load_before, 3) != 3) load_before[0] = load_before[1] = load_before[2] = -1;
    for (int k = 0; k < nrows; k++) {
        parse_case(cases[k / nmodes], &cfg[0], &cfg[1]);
        int mode = modes[k % nmodes];
        int fd[2];
        if (pipe(fd) != 0) {
            perror("thread_pause: pipe");
            return 2;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("thread_pause: fork");
            return 2;
        }
        if (pid == 0) {
            close(fd[0]);
            row r;
            run_case(cfg[0], cfg[1], mode, seconds, &r);
            ssize_t wr = write(fd[1], &r, sizeof r);
            _exit(wr == (ssize_t)sizeof r ? 0 : 2);
        }
        close(fd[1]);
        ssize_t rd = read(fd[0], &rows[k], sizeof rows[k]);
        close(fd[0]);
        int status;
        waitpid(pid, &status, 0);
        if (rd != (ssize_t)sizeof rows[k] || !WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "thread_pause: case %s, MGC_HANDSHAKE=%d failed\n", cases[k / nmodes], mode);
            return 1;
        }
    }
    print_table(stdout, rows, nrows, seconds);
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "thread_pause: cannot write %s\n", out);
            return 1;
        }
        print_table(f, rows, nrows, seconds);
        fclose(f);
    }
    free(rows);
    return 0;
}
