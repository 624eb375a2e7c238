/*
 * trace.c -- what the collector did, told to people: gctrace lines, a
 * timeline file, pause statistics and a phase callback.
 *
 *  - MGC_TRACE=1: one line per cycle on stderr, in the form of Go's
 *    GODEBUG=gctrace=1 (fields documented in include/mgc.h and
 *    docs/tracing.md);
 *  - MGC_TRACE_FILE=path: a Chrome Trace Event file (JSON array format, one
 *    event per line) that Perfetto and chrome://tracing open: every
 *    stop-the-world pause with the time taken to stop, the concurrent mark
 *    and sweep phases, mark-worker slices, assists and stack-scan stops per
 *    thread, heap counters.  Events are formatted on the stack and copied
 *    into a buffer under tlock; the "mgc-trace" thread writes the buffer
 *    out every 100 ms (or when it passes 64 KiB), so a crash loses at most
 *    that much; at exit the file is closed with a trace_end event and "]".
 *    tlock is a runtime lock (held in a no-preempt section) and the buffer
 *    is mmap'd, never malloc'd: a mark worker emits its slice while the
 *    coordinator may be waiting for it with the world stopped, so nothing
 *    emit takes may be held by a stopped thread (a mutator stopped inside
 *    its own assist's emit, or inside malloc).
 *  - always: a histogram of every pause (log buckets), MMU over the kept
 *    events, and gc_set_phase_callback.
 *
 * Who calls what: the coordinator emits pauses, phases and cycles, always
 * after it has restarted the world (formatting while threads are stopped
 * would lengthen the pause, and a stopped thread could hold the malloc
 * lock); workers emit their slices; mutators their assists, outside
 * no-preempt sections.  Timestamps are CLOCK_MONOTONIC ns; the file shows
 * microseconds since gc_init.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "gc/mmu.h"
#include "gc/gc.h"

_Static_assert(GC_PAUSE_BUCKETS == MGC_HIST_NBUCKETS, "public and internal histograms differ");

int mgc_trace_stderr; /* MGC_TRACE; set once at init */
int mgc_trace_file_on; /* MGC_TRACE_FILE; set once at init */
static uint64_t t_init; /* nanotime at init; constant after */

/* Cumulative GC CPU (ns) for the gctrace percentage, and this cycle's
 * assist and worker time: relaxed atomics, written by whoever did the work. */
static _Atomic uint64_t gc_cpu_total, cyc_assist_ns, cyc_worker_ns;

/* Histogram of every pause: relaxed atomics, written by the coordinator. */
static _Atomic uint64_t hist[GC_PAUSE_BUCKETS];

/* The phase callback: set by the program at any time, read by the coordinator. */
static _Atomic(gc_phase_callback) phase_cb;
static _Atomic(void *) phase_cb_arg;

/* ---- the trace file ------------------------------------------------------- */

#define FLUSH_BYTES (64 * 1024)
#define FLUSH_NS (100 * 1000000L)

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER; /* buf, len, cap, closed */
static pthread_cond_t tcv = PTHREAD_COND_INITIALIZER;
static char *buf;
static size_t len, cap;
static int closed;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER; /* fd and the order of writes */
static int fd = -1;

/* ** Append formatted text; drops the event (never blocks the caller on the
 * disk) if memory runs out. */
/* ** Make room for need bytes: a bigger mapping, the old one copied and
 * unmapped.  tlock held. */
static void grow_buffer(size_t need) {
    size_t ncap = cap ? cap * 2 : 4 * FLUSH_BYTES;
    while (ncap < need) ncap *= 2;
    char *nb = mgc_sys_alloc(ncap, NULL);
    if (!nb) return;
    if (buf) {
        memcpy(nb, buf, len);
        mgc_sys_free(buf, cap, NULL);
    }
    buf = nb;
    cap = ncap;
}

static void __attribute__((format(printf, 1, 2))) emit(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    gc_thread *self = mgc_self;
    mgc_lock(self, &tlock);
    if (!closed) {
        if (len + (size_t)n + 2 > cap) grow_buffer(len + (size_t)n + 2);
        if (len + (size_t)n + 2 <= cap) {
            memcpy(buf + len, line, (size_t)n);
            len += (size_t)n;
            buf[len++] = ',';
            buf[len++] = '\n';
            if (len >= FLUSH_BYTES) pthread_cond_signal(&tcv);
        }
    }
    mgc_unlock(self, &tlock);
}

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return; /* disk full or closed: the trace ends here */
        p += w;
        n -= (size_t)w;
    }
}

/* ** Take what is buffered and write it; wlock keeps the pieces in order. */
static void flush_buffer(void) {
    gc_thread *self = mgc_self; /* gc_trace_flush: maybe a registered thread */
    pthread_mutex_lock(&wlock);
    mgc_lock(self, &tlock);
    char *out = buf;
    size_t n = len, ncap = cap;
    buf = NULL;
    len = cap = 0;
    mgc_unlock(self, &tlock);
    if (out) {
        write_all(out, n);
        mgc_sys_free(out, ncap, NULL);
    }
    pthread_mutex_unlock(&wlock);
}

static void *writer_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&tlock);
        if (!closed && len < FLUSH_BYTES) {
            struct timespec ts = mgc_deadline(FLUSH_NS);
            pthread_cond_timedwait(&tcv, &tlock, &ts);
        }
        int done = closed;
        pthread_mutex_unlock(&tlock);
        if (done) return NULL;
        flush_buffer();
    }
}

/* ** At exit: the last events, trace_end and the closing bracket. */
static void trace_finish(void) {
    flush_buffer();
    gc_thread *self = mgc_self;
    mgc_lock(self, &tlock);
    closed = 1;
    pthread_cond_signal(&tcv);
    mgc_unlock(self, &tlock);
    pthread_mutex_lock(&wlock);
    /* No comma after the last event: a finished file is strict JSON
     * (a crashed one ends in a comma, which trace viewers accept). */
    static const char end[] = "{\"name\":\"trace_end\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{}}\n]\n";
    write_all(end, sizeof end - 1);
    close(fd);
    fd = -1;
    pthread_mutex_unlock(&wlock);
}

static double us(uint64_t ns_since_init) { return (double)ns_since_init / 1e3; }
static double rel_us(uint64_t t) { return t >= t_init ? us(t - t_init) : 0.0; }

/* ** A complete ("X") event. */
static void emit_span(const char *cat, const char *name, int tid, uint64_t start, uint64_t dur,
                      const char *args) {
    emit("{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,"
         "\"dur\":%.3f,\"args\":{%s}}",
         name, cat, tid, rel_us(start), us(dur), args ? args : "");
}

void mgc_trace_thread_name(int tid, const char *name) {
    if (!mgc_trace_file_on) return;
    emit("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
         tid, name);
}

/* ** Read MGC_TRACE and MGC_TRACE_FILE; open the file and start the writer.
 * Called once by gc_init before any other thread of the library runs. */
void mgc_trace_init(void) {
    t_init = mgc_nanotime();
    const char *v = getenv("MGC_TRACE");
    mgc_trace_stderr = v && *v && strcmp(v, "0") != 0;
    const char *path = getenv("MGC_TRACE_FILE");
    if (!path || !*path) return;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        mgc_warn("MGC_TRACE_FILE: cannot create %s (%s); no trace file is written", path,
                 strerror(errno));
        return;
    }
    write_all("[\n", 2);
    mgc_trace_file_on = 1;
    emit("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"mgc\"}}");
    emit("{\"name\":\"mgc_info\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"ncpu\":%ld,"
         "\"version\":\"%s\",\"mark_workers\":%d}}",
         mgc_ncpu(), MGC_VERSION_STRING, mgc_cfg.mark_workers);
    mgc_trace_thread_name(MGC_TID_COORDINATOR, "mgc-gc");
    if (mgc_start_daemon("mgc-trace", writer_main, NULL) != GC_OK)
        mgc_warn("MGC_TRACE_FILE: cannot start the writer thread; events are written at exit");
    atexit(trace_finish);
}

/* ---- what the collector reports --------------------------------------------- */

static void call_phase(int phase, uint64_t cycle, uint64_t start, uint64_t dur) {
    gc_phase_callback fn = atomic_load(&phase_cb);
    if (!fn) return;
    gc_phase_event e = {phase, cycle, start, dur};
    fn(&e, atomic_load(&phase_cb_arg));
}

/* ** A stop-the-world pause, reported after the world restarted.  stop_ns:
 * how long stopping took; retries: termination attempts before this one. */
void mgc_trace_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                     uint64_t stop_ns, int retries) {
    atomic_fetch_add_explicit(&hist[mgc_hist_bucket(dur)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc_cpu_total, dur, memory_order_relaxed);
    if (mgc_trace_file_on) {
        char args[128];
        snprintf(args, sizeof args, "\"cycle\":%llu,\"stop_us\":%.3f,\"retries\":%d",
                 (unsigned long long)cycle, us(stop_ns), retries);
        emit_span("stw", termination ? "STW mark termination" : "STW mark setup",
                  MGC_TID_COORDINATOR, start, dur, args);
    }
    call_phase(termination ? GC_PHASE_MARK_TERMINATION : GC_PHASE_MARK_SETUP, cycle, start, dur);
}

void mgc_trace_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur) {
    if (sweep) atomic_fetch_add_explicit(&gc_cpu_total, dur, memory_order_relaxed);
    if (mgc_trace_file_on) {
        char args[48];
        snprintf(args, sizeof args, "\"cycle\":%llu", (unsigned long long)cycle);
        emit_span("phase", sweep ? "sweep" : "mark", MGC_TID_COORDINATOR, start, dur, args);
    }
    if (sweep) call_phase(GC_PHASE_SWEEP_DONE, cycle, start, dur);
}

/* ** Concurrent marking begins (the world has just restarted). */
void mgc_trace_mark_start(uint64_t cycle, uint64_t at) { call_phase(GC_PHASE_MARK_START, cycle, at, 0); }

/* Workers and assists: dur is wall time (the timeline), cpu the thread's
 * CPU time over it (the accounting). */
void mgc_trace_worker(int worker, uint64_t start, uint64_t dur, uint64_t cpu) {
    atomic_fetch_add_explicit(&cyc_worker_ns, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc_cpu_total, cpu, memory_order_relaxed);
    if (mgc_trace_file_on) emit_span("worker", "mark worker", MGC_TID_WORKER0 + worker, start, dur, NULL);
}

void mgc_trace_assist(int tid, uint64_t start, uint64_t dur, uint64_t cpu) {
    atomic_fetch_add_explicit(&cyc_assist_ns, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc_cpu_total, cpu, memory_order_relaxed);
    if (mgc_trace_file_on) emit_span("assist", "mark assist", tid, start, dur, NULL);
}

void mgc_trace_stack(int tid, uint64_t start, uint64_t dur) {
    if (mgc_trace_file_on) emit_span("stack", "stack scan", tid, start, dur, NULL);
}

static void counter(uint64_t at, uint64_t live, uint64_t goal) {
    emit("{\"name\":\"heap\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":%.3f,\"args\":{\"live_MB\":%.3f,"
         "\"goal_MB\":%.3f,\"sys_MB\":%.3f}}",
         rel_us(at), (double)live / 1048576.0, goal == UINT64_MAX ? 0.0 : (double)goal / 1048576.0,
         (double)atomic_load(&mgc_hstats.heap_sys) / 1048576.0);
}

/* ** Heap counters at a point of the cycle (its start, the mark's end). */
void mgc_trace_heap(uint64_t at, uint64_t live) {
    if (mgc_trace_file_on) counter(at, live, atomic_load(&mgc_heap_goal));
}

static uint64_t mb(uint64_t b) { return (b + (1 << 19)) >> 20; }

/* ** The end of a cycle (its sweep done): the gctrace line, the cycle span,
 * the callback. */
void mgc_trace_cycle(const mgc_cycle_info *c) {
    uint64_t assist = atomic_exchange_explicit(&cyc_assist_ns, 0, memory_order_relaxed);
    uint64_t worker = atomic_exchange_explicit(&cyc_worker_ns, 0, memory_order_relaxed);
    uint64_t now = mgc_nanotime();
    if (mgc_trace_stderr) {
        double wall = (double)(now - t_init);
        double pct = wall > 0 ? 100.0 * (double)atomic_load(&gc_cpu_total) / (wall * (double)mgc_ncpu()) : 0;
        /* write(2), not stdio: a program thread may hold stderr's lock
         * while it waits for this very cycle (gc_collect). */
        mgc_print("gc %llu @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f/0+%.3f ms cpu, "
                "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB roots, %d W%s",
                (unsigned long long)c->cycle, (double)(c->start - t_init) / 1e9, pct,
                c->setup_ns / 1e6, c->mark_ns / 1e6, c->term_ns / 1e6, c->setup_ns / 1e6,
                assist / 1e6, worker / 1e6, c->term_ns / 1e6, (unsigned long long)mb(c->heap_before),
                (unsigned long long)mb(c->heap_peak), (unsigned long long)mb(c->heap_marked),
                (unsigned long long)mb(c->heap_goal), (unsigned long long)mb(c->stack_bytes),
                (unsigned long long)mb(c->root_bytes), mgc_cfg.mark_workers,
                c->forced ? " (forced)" : "");
    }
    if (mgc_trace_file_on) {
        char args[320], name[32];
        snprintf(name, sizeof name, "GC %llu", (unsigned long long)c->cycle);
        snprintf(args, sizeof args,
                 "\"cycle\":%llu,\"forced\":%d,\"heap_before\":%llu,\"heap_peak\":%llu,"
                 "\"heap_marked\":%llu,\"heap_goal\":%llu,\"assist_us\":%.3f,\"worker_us\":%.3f,"
                 "\"retries\":%d",
                 (unsigned long long)c->cycle, c->forced, (unsigned long long)c->heap_before,
                 (unsigned long long)c->heap_peak, (unsigned long long)c->heap_marked,
                 (unsigned long long)(c->heap_goal == UINT64_MAX ? 0 : c->heap_goal), us(assist),
                 us(worker), c->retries);
        emit_span("cycle", name, MGC_TID_COORDINATOR, c->start, now - c->start, args);
        counter(now, atomic_load(&mgc_hstats.heap_live), atomic_load(&mgc_heap_goal));
    }
    call_phase(GC_PHASE_CYCLE_END, c->cycle, c->start, now - c->start);
}

/* ---- the API ------------------------------------------------------------------- */

MGC_API gc_phase_callback gc_set_phase_callback(gc_phase_callback fn, void *arg) {
    atomic_store(&phase_cb_arg, arg);
    return atomic_exchange(&phase_cb, fn);
}

MGC_API uint64_t gc_pause_bucket_limit(int i) {
    if (i < 0 || i >= GC_PAUSE_BUCKETS) {
        mgc_warn("gc_pause_bucket_limit(%d): buckets are 0 to %d", i, GC_PAUSE_BUCKETS - 1);
        return 0;
    }
    return mgc_hist_bound((unsigned)i);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ** Nearest-rank percentile of a sorted array. */
static uint64_t pct(const uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

MGC_API void gc_get_pause_summary(gc_pause_summary *out) {
    if (!out) {
        mgc_warn("gc_get_pause_summary(NULL): pass a pointer to a gc_pause_summary to fill");
        return;
    }
    memset(out, 0, sizeof *out);
    gc_stats st;
    gc_get_stats(&st);
    out->count = st.num_pauses;
    out->total_ns = st.pause_total_ns;
    out->max_ns = st.pause_max_ns;
    for (int i = 0; i < GC_PAUSE_BUCKETS; i++)
        out->hist[i] = atomic_load_explicit(&hist[i], memory_order_relaxed);
    size_t n = gc_get_pauses(NULL, 0);
    if (n == 0) return;
    uint64_t *v = malloc(n * sizeof *v);
    if (!v) return;
    n = gc_get_pauses(v, n);
    qsort(v, n, sizeof *v, cmp_u64);
    out->recent = n;
    out->p50_ns = pct(v, n, 50);
    out->p90_ns = pct(v, n, 90);
    out->p99_ns = pct(v, n, 99);
    out->p999_ns = pct(v, n, 99.9);
    free(v);
}

MGC_API double gc_mmu(uint64_t window_ns, int flags) {
    size_t n = gc_get_events(NULL, 0);
    gc_event *ev = malloc((n ? n : 1) * sizeof *ev);
    mgc_interval *iv = malloc((n ? n : 1) * sizeof *iv);
    if (!ev || !iv) {
        free(ev);
        free(iv);
        return -1.0;
    }
    n = gc_get_events(ev, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool take = ev[i].kind == GC_EVENT_PAUSE ||
                    ((flags & GC_MMU_ASSISTS) && (ev[i].kind == GC_EVENT_ASSIST ||
                                                  ev[i].kind == GC_EVENT_THREAD_STOP));
        if (take) iv[k++] = (mgc_interval){ev[i].start_ns, ev[i].duration_ns};
    }
    /* The run: from gc_init, or from the oldest kept event if the ring has
     * wrapped (older pauses are forgotten). */
    uint64_t t0 = n == MGC_EVENT_RING ? ev[0].start_ns : t_init;
    uint64_t t1 = mgc_nanotime();
    k = mgc_mmu_merge(iv, k);
    double u = mgc_mmu(iv, k, t0, t1, window_ns);
    free(ev);
    free(iv);
    return u;
}

MGC_API void gc_trace_flush(void) {
    if (mgc_trace_file_on) flush_buffer();
}

/* ** In a forked child: the trace file is the parent's (the child writes
 * nothing more to it), and a trace lock may have been held by a thread
 * that does not exist here. */
void mgc_trace_fork_child(void) {
    tlock = mgc_fresh_mutex;
    wlock = mgc_fresh_mutex;
    tcv = mgc_fresh_cond;
    if (mgc_trace_file_on) {
        mgc_trace_file_on = 0;
        closed = 1;
        if (fd >= 0) close(fd);
        fd = -1;
    }
}
