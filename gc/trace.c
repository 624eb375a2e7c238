/*
 * trace.c -- what the collector did, written out for people: gctrace lines
 * and a timeline file.  The observations arrive through gc/stats.c, which
 * also keeps the counters, the pause histogram and the phase callback.
 *
 *  - MGC_TRACE=1: one line per cycle on stderr, in the form of Go's
 *    GODEBUG=gctrace=1 (fields documented in include/mgc.h and
 *    docs/tracing.md);
 *  - MGC_TRACE_FILE=path: a Chrome Trace Event file (JSON array format, one
 *    event per line) that Perfetto and chrome://tracing open: every
 *    stop-the-world pause with the time taken to stop, the concurrent mark
 *    and sweep phases, mark-worker slices, assists and per-thread holds
 *    (stack scans, handshakes) on each thread's lane, heap counters.  Events are formatted on the stack and copied
 *    into a buffer under tlock; the "mgc-trace" thread writes the buffer
 *    out every 100 ms (or when it passes 64 KiB), so a crash loses at most
 *    that much; at exit the file is closed with a trace_end event and "]".
 *    tlock is a runtime lock (held in a no-preempt section) and the buffer
 *    is mmap'd, never malloc'd: a mark worker emits its slice while the
 *    coordinator may be waiting for it with the world stopped, so nothing
 *    emit takes may be held by a stopped thread (a mutator stopped inside
 *    its own assist's emit, or inside malloc).
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

#include "gc/gc.h"

int mgc_trace_stderr; /* MGC_TRACE; set once at init */
int mgc_trace_file_on; /* MGC_TRACE_FILE; set once at init */

/* ---- the trace file ------------------------------------------------------- */

#define FLUSH_BYTES (64 * 1024)
#define FLUSH_NS (100 * 1000000L)

static mgc_mutex tlock = MGC_MUTEX_INIT(TRACE_BUF); /* buf, len, cap, closed */
static pthread_cond_t tcv = PTHREAD_COND_INITIALIZER;
static char *buf;
static size_t len, cap;
static int closed;
static mgc_mutex wlock = MGC_MUTEX_INIT(TRACE_WRITE); /* fd and the order of writes */
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
    mgc_mutex_lock(&wlock);
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
    mgc_mutex_unlock(&wlock);
}

static void *writer_main(void *arg) {
    (void)arg;
    for (;;) {
        mgc_mutex_lock(&tlock);
        if (!closed && len < FLUSH_BYTES) {
            struct timespec ts = mgc_deadline(FLUSH_NS);
            mgc_cond_timedwait(&tcv, &tlock, &ts);
        }
        int done = closed;
        mgc_mutex_unlock(&tlock);
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
    mgc_mutex_lock(&wlock);
    /* No comma after the last event: a finished file is strict JSON
     * (a crashed one ends in a comma, which trace viewers accept). */
    static const char end[] = "{\"name\":\"trace_end\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{}}\n]\n";
    write_all(end, sizeof end - 1);
    close(fd);
    fd = -1;
    mgc_mutex_unlock(&wlock);
}

static double us(uint64_t ns_since_init) { return (double)ns_since_init / 1e3; }
static double rel_us(uint64_t t) { return t >= mgc_t_init ? us(t - mgc_t_init) : 0.0; }

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

/* ---- the events (called by gc/stats.c only) -------------------------------- */

void mgc_trace_pause(int termination, uint64_t cycle, uint64_t start, uint64_t dur,
                     uint64_t stop_ns, int retries) {
    if (!mgc_trace_file_on) return;
    char args[128];
    snprintf(args, sizeof args, "\"cycle\":%llu,\"stop_us\":%.3f,\"retries\":%d",
             (unsigned long long)cycle, us(stop_ns), retries);
    emit_span("stw", termination ? "STW mark termination" : "STW mark setup", MGC_TID_COORDINATOR,
              start, dur, args);
}

void mgc_trace_phase(int sweep, uint64_t cycle, uint64_t start, uint64_t dur) {
    if (!mgc_trace_file_on) return;
    char args[48];
    snprintf(args, sizeof args, "\"cycle\":%llu", (unsigned long long)cycle);
    emit_span("phase", sweep ? "sweep" : "mark", MGC_TID_COORDINATOR, start, dur, args);
}

void mgc_trace_worker(int worker, uint64_t start, uint64_t dur) {
    if (mgc_trace_file_on) emit_span("worker", "mark worker", MGC_TID_WORKER0 + worker, start, dur, NULL);
}

void mgc_trace_assist(int tid, uint64_t start, uint64_t dur) {
    if (mgc_trace_file_on) emit_span("assist", "mark assist", tid, start, dur, NULL);
}

/* ** A hold on the held thread's own lane: category "stack" (name "stack
 * scan", as before handshakes existed) or "handshake".  Either is a hold;
 * build/mgc-trace counts them per thread. */
void mgc_trace_hold(int tid, int kind, uint64_t start, uint64_t dur) {
    if (!mgc_trace_file_on) return;
    if (kind == MGC_HOLD_STACK) emit_span("stack", "stack scan", tid, start, dur, NULL);
    else emit_span("handshake", "handshake", tid, start, dur, NULL);
}

static void counter(uint64_t at, uint64_t live, uint64_t goal) {
    emit("{\"name\":\"heap\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":%.3f,\"args\":{\"live_MB\":%.3f,"
         "\"goal_MB\":%.3f,\"sys_MB\":%.3f}}",
         rel_us(at), (double)live / 1048576.0, goal == UINT64_MAX ? 0.0 : (double)goal / 1048576.0,
         (double)atomic_load(&mgc_hstats.heap_sys) / 1048576.0);
}

void mgc_trace_heap(uint64_t at, uint64_t live) {
    if (mgc_trace_file_on) counter(at, live, atomic_load(&mgc_heap_goal));
}

static uint64_t mb(uint64_t b) { return (b + (1 << 19)) >> 20; }

/* ** MGC_TRACE's line for cycle c; pct: GC CPU share of the run so far.
 * After Go's fields (so gctrace parsers keep working), what a user feels:
 * the longest global pause and the longest per-thread hold, and how many
 * holds there were. */
void mgc_trace_gctrace(const mgc_cycle_info *c, const mgc_cycle_holds *h, uint64_t assist,
                       uint64_t worker, double pct) {
    /* write(2), not stdio: a program thread may hold stderr's lock while
     * it waits for this very cycle (gc_collect). */
    mgc_print("gc %llu @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f/0+%.3f ms cpu, "
              "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB roots, %d W, "
              "%.3f/%.3f ms max pause/hold, %llu holds%s",
              (unsigned long long)c->cycle, (double)(c->start - mgc_t_init) / 1e9, pct,
              c->setup_ns / 1e6, c->mark_ns / 1e6, c->term_ns / 1e6, c->setup_ns / 1e6,
              assist / 1e6, worker / 1e6, c->term_ns / 1e6, (unsigned long long)mb(c->heap_before),
              (unsigned long long)mb(c->heap_peak), (unsigned long long)mb(c->heap_marked),
              (unsigned long long)mb(c->heap_goal), (unsigned long long)mb(c->stack_bytes),
              (unsigned long long)mb(c->root_bytes), mgc_cfg.mark_workers,
              h->pause_max_ns / 1e6, h->hold_max_ns / 1e6, (unsigned long long)h->holds,
              c->forced ? " (forced)" : "");
}

/* ** The cycle as one span on the coordinator's lane, ending now. */
void mgc_trace_cycle(const mgc_cycle_info *c, const mgc_cycle_holds *h, uint64_t assist,
                     uint64_t worker, uint64_t now) {
    if (!mgc_trace_file_on) return;
    char args[448], name[32];
    snprintf(name, sizeof name, "GC %llu", (unsigned long long)c->cycle);
    snprintf(args, sizeof args,
             "\"cycle\":%llu,\"forced\":%d,\"heap_before\":%llu,\"heap_peak\":%llu,"
             "\"heap_marked\":%llu,\"heap_goal\":%llu,\"assist_us\":%.3f,\"worker_us\":%.3f,"
             "\"retries\":%d,\"pause_max_us\":%.3f,\"holds\":%llu,\"hold_max_us\":%.3f",
             (unsigned long long)c->cycle, c->forced, (unsigned long long)c->heap_before,
             (unsigned long long)c->heap_peak, (unsigned long long)c->heap_marked,
             (unsigned long long)(c->heap_goal == UINT64_MAX ? 0 : c->heap_goal), us(assist),
             us(worker), c->retries, us(h->pause_max_ns), (unsigned long long)h->holds,
             us(h->hold_max_ns));
    emit_span("cycle", name, MGC_TID_COORDINATOR, c->start, now - c->start, args);
    counter(now, atomic_load(&mgc_hstats.heap_live), atomic_load(&mgc_heap_goal));
}

MGC_API void gc_trace_flush(void) {
    if (mgc_trace_file_on) flush_buffer();
}

/* ** In a forked child: the trace file is the parent's (the child writes
 * nothing more to it), and a trace lock may have been held by a thread
 * that does not exist here. */
void mgc_trace_fork_child(void) {
    mgc_mutex_fork_reset(&tlock);
    mgc_mutex_fork_reset(&wlock);
    tcv = mgc_fresh_cond;
    if (mgc_trace_file_on) {
        mgc_trace_file_on = 0;
        closed = 1;
        if (fd >= 0) close(fd);
        fd = -1;
    }
}
