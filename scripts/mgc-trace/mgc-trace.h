/*
 * mgc-trace.h -- what the parts of the trace analyzer share: the model of a
 * trace (its slices, heap samples and threads, times in integer
 * nanoseconds), the statistics computed from it, and the calls between
 * the parts.
 *
 *   json.c      a tolerant JSON reader, one event at a time
 *   parse.c     the trace file to the model (load)
 *   analysis.c  the model to statistics: pauses, holds per thread, CPU,
 *               MMU of the program and of each thread (analyse)
 *   report.c    the text summary (print_report)
 *   svg.c       the picture (write_svg)
 *   main.c      the command line, and the errors that end the program
 *
 * Invariant after load: every slice's ts and ts + dur lie in [t0, t1].
 * After analyse: slices are sorted by start and threads in lane order.
 */
#ifndef MGC_TRACE_TOOL_H
#define MGC_TRACE_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "gc/mmu.h"

/* ---- main.c: errors end the program with status 2 ---------------------- */

extern const char *const prog;

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
/* Grow a vector to hold at least `need` elements of size `sz`. */
void *grow(void *p, size_t *cap, size_t need, size_t sz);

/* ---- the model: what the trace says, in nanoseconds -------------------- */

/* K_STACK and K_HANDSHAKE are holds: one thread held alone while the
 * others run, drawn and counted on that thread's lane. */
enum kind { K_STW, K_MARK, K_SWEEP, K_CYCLE, K_WORKER, K_ASSIST, K_STACK, K_HANDSHAKE, K_NKINDS };

typedef struct {
    int64_t ts, dur, tid, cycle;
    enum kind kind;
    int setup;        /* K_STW: the mark-setup pause, not termination */
    int forced;       /* K_CYCLE */
    int64_t stop_ns;  /* K_STW: time spent stopping the world, -1 if absent */
} slice;

typedef struct {
    int64_t ts;
    double live, goal, sys; /* MB; NAN where the sample lacks it */
} heap_sample;

/* Lane groups, in the order the timeline shows them. */
enum group { G_COORD, G_WORKER, G_MUTATOR, G_OTHER };

typedef struct {
    int64_t tid;
    char *name; /* NULL until a thread_name names it */
    int used;   /* has a slice of its own */
} thread;

typedef struct {
    const char *path;
    slice *s;
    size_t ns, cap_s;
    heap_sample *h;
    size_t nh, cap_h;
    thread *th;
    size_t nth, cap_th;
    int ncpu;
    char version[32];
    size_t events, bad_lines;
    int truncated, partial_line;
    int64_t t0, t1;
} trace;

/* parse.c: read the trace at `path` into `t`, or die. */
void load(trace *t, const char *path);

/* ---- analysis.c --------------------------------------------------------- */

#define N_MMU_WINDOWS 10
extern const uint64_t mmu_windows_ms[N_MMU_WINDOWS];

/* One thread's holds (analysis.c). */
typedef struct {
    const thread *th;
    size_t n;
    int64_t total, max, p99;
    double mmu[N_MMU_WINDOWS];
} thread_holds;

typedef struct {
    size_t ncycles, nforced;
    size_t nthreads, ngroup[4];
    int64_t *pause;      /* sorted STW durations */
    size_t npause, npause_setup;
    int64_t *stop;       /* sorted stop_us values */
    size_t nstop;
    int64_t pause_total;
    int64_t kind_total[K_NKINDS];
    mgc_interval *stw, *stop_all;
    size_t nstw, nstop_all;
    double mmu_stw[N_MMU_WINDOWS], mmu_all[N_MMU_WINDOWS];
    double peak_live, peak_sys;
    int hist[MGC_HIST_NBUCKETS][2]; /* [bucket][0 setup, 1 termination] */
    /* Holds: all threads' pooled (sorted), then per held thread, most held
     * first.  A thread's MMU counts the STW pauses and its own holds only;
     * mmu_thread_min is the worst thread's (the STW-only MMU if no hold). */
    int64_t *hold;
    size_t nhold, nhold_kind[2]; /* [0 stack scans, 1 handshakes] */
    thread_holds *held;
    size_t nheld;
    double mmu_thread_min[N_MMU_WINDOWS];
    mgc_interval *held0; /* the most held thread's busy time: STW and its holds */
    size_t nheld0;
} stats;

static inline double run_ns(const trace *t) { return (double)(t->t1 - t->t0); }

void analyse(trace *t, stats *st);
void free_stats(stats *st);
int64_t percentile(const int64_t *sorted, size_t n, unsigned permille);

/* ---- report.c ----------------------------------------------------------- */

/* A duration for people: us below 1 ms, ms below 1 s, else s.  The
 * terminal gets "us", which any font and grep can take; the SVG "µs"
 * (write_svg sets `micro` while it draws). */
extern const char *micro;
const char *fmt_dur(char *buf, size_t n, double ns);
#define DUR(ns) fmt_dur((char[32]){0}, 32, (double)(ns))

void print_report(const trace *t, const stats *st, const char *svg_path);

/* ---- svg.c -------------------------------------------------------------- */

void write_svg(const trace *t, const stats *st, const char *path);

#endif
