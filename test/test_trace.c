/*
 * test_trace.c -- what the collector reports: MGC_TRACE lines, the
 * MGC_TRACE_FILE timeline, pause summaries, MMU and the phase callback.
 *
 * Each test runs in its own process, so it can set MGC_TRACE* before
 * gc_init().  Lines and events are checked against their documented form
 * (include/mgc.h, docs/tracing.md), and their numbers against each other
 * and against gc_get_stats(); nothing here depends on how long anything
 * took.
 */
#include <errno.h>
#include <regex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/test_util.h"

/* A workload with a known number of forced cycles, and garbage between. */
static TU_NOINLINE void churn_and_collect(int cycles)
{
    gc_set_percent(-1); /* only the forced cycles: their number is known */
    for (int c = 0; c < cycles; c++) {
        for (int i = 0; i < 20000; i++) {
            void **p = gc_alloc(32);
            cr_assert_not_null(p);
            p[0] = p; /* a pointer, so marking has something to follow */
        }
        gc_collect();
    }
}

static char *read_file(const char *path, size_t *n)
{
    char *buf = tu_slurp(path, n);
    cr_assert_not_null(buf, "cannot open %s", path);
    return buf;
}

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Run build/mgc-trace on a trace file; assert it succeeds and whether it
 * calls the file truncated.  Skipped if the analyzer is not built (then
 * *report, if asked for, is NULL; else the analyzer's output to free). */
static void analyze(const char *path, int expect_truncated, char **report)
{
    if (report)
        *report = NULL;
    if (access("build/mgc-trace", X_OK) != 0)
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "build/mgc-trace %s -o %s.svg > %s.out 2>&1", path, path, path);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s.out", path);
    char *out = read_file(cmd, NULL);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "mgc-trace failed on %s:\n%s", path, out);
    cr_assert_eq(strstr(out, "truncated") != NULL, expect_truncated,
                 "mgc-trace %s the trace truncated:\n%s", expect_truncated ? "did not call" : "called",
                 out);
    if (report)
        *report = out;
    else
        free(out);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s.svg", path);
    unlink(cmd);
}

static void check_with_analyzer(const char *path, int expect_truncated)
{
    analyze(path, expect_truncated, NULL);
}

/* ---- MGC_TRACE=1 ---------------------------------------------------------------------- */

#define NUM "[0-9]+(\\.[0-9]+)?"
static const char *gctrace_re =
    "^gc ([0-9]+) @" NUM "s [0-9]+%: " NUM "\\+" NUM "\\+" NUM " ms clock, " NUM "\\+" NUM "/" NUM
    "/0\\+" NUM " ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB "
    "roots, [0-9]+ W, " NUM "/" NUM " ms max pause/hold, [0-9]+ holds( \\(forced\\))?$";

Test(trace, gctrace_lines_have_the_documented_form)
{
    char path[] = "/tmp/mgc-gctrace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    setenv("MGC_TRACE", "1", 1);
    tu_init();
    churn_and_collect(5);
    gc_stats st = tu_stats();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *text = read_file(path, NULL);
    unlink(path);

    regex_t re;
    cr_assert_eq(regcomp(&re, gctrace_re, REG_EXTENDED | REG_NEWLINE), 0);
    int lines = 0, forced = 0;
    long last = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "gc ", 3) != 0)
            continue;
        regmatch_t m[2];
        cr_assert_eq(regexec(&re, line, 2, m, 0), 0, "line does not match the documented form: %s",
                     line);
        long n = strtol(line + m[1].rm_so, NULL, 10);
        cr_assert_eq(n, last + 1, "cycle numbers not consecutive: %ld after %ld", n, last);
        last = n;
        lines++;
        forced += strstr(line, "(forced)") != NULL;
    }
    regfree(&re);
    free(text);
    cr_assert_eq((uint64_t)lines, st.num_gc, "%d gctrace lines for %llu cycles", lines,
                 (unsigned long long)st.num_gc);
    cr_assert_eq((uint64_t)forced, st.num_forced_gc, "%d lines say (forced), %llu forced cycles",
                 forced, (unsigned long long)st.num_forced_gc);
}

/* ---- MGC_TRACE_FILE --------------------------------------------------------------------- */

static void *trace_mutator(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    for (int i = 0; i < 50000; i++)
        if (!gc_alloc(48))
            tu_fail("gc_alloc failed");
    gc_unregister_thread();
    return NULL;
}

Test(trace, trace_file_holds_every_phase_of_a_known_workload)
{
    tu_pin_stw_phases();
    char path[] = "/tmp/mgc-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    setenv("MGC_TRACE_FILE", path, 1);
    tu_init();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, trace_mutator, NULL), 0);
    tu_join(th);
    churn_and_collect(4);
    gc_stats st = tu_stats();
    gc_trace_flush();

    size_t n;
    char *text = read_file(path, &n);
    cr_assert(n > 2 && strncmp(text, "[\n", 2) == 0, "the file does not open a JSON array");
    /* One object per line, each followed by a comma (the streaming form). */
    int events = 0;
    for (char *line = strtok(text + 2, "\n"); line; line = strtok(NULL, "\n")) {
        size_t len = strlen(line);
        cr_assert(len >= 3 && line[0] == '{' && line[len - 2] == '}' && line[len - 1] == ',',
                  "not an event line: %s", line);
        cr_assert_eq(count_substr(line, "{"), count_substr(line, "}"), "unbalanced: %s", line);
        line[len] = '\n'; /* undo strtok for the counts below */
        events++;
        line += len;
    }
    free(text);
    text = read_file(path, NULL);
    uint64_t cycles = st.num_gc;
    cr_assert_geq(events, 10);
    cr_assert_eq((uint64_t)count_substr(text, "\"name\":\"STW mark setup\""), cycles);
    cr_assert_geq((uint64_t)count_substr(text, "\"name\":\"STW mark termination\""), cycles);
    cr_assert_eq((uint64_t)(count_substr(text, "\"cat\":\"stw\"")), st.num_pauses,
                 "stw events and num_pauses disagree");
    cr_assert_eq((uint64_t)count_substr(text, "\"cat\":\"cycle\""), cycles);
    cr_assert_eq((uint64_t)count_substr(text, "\"name\":\"sweep\""), cycles);
    cr_assert_eq((uint64_t)count_substr(text, "\"name\":\"mark\""), cycles);
    cr_assert_geq(count_substr(text, "\"name\":\"stack scan\""), 1);
    cr_assert_geq(count_substr(text, "\"name\":\"mark worker\""), 1);
    cr_assert_geq(count_substr(text, "\"name\":\"heap\",\"ph\":\"C\""), (int)cycles);
    cr_assert_eq(count_substr(text, "\"args\":{\"name\":\"mgc-gc\"}"), 1);
    cr_assert_eq(count_substr(text, "\"args\":{\"name\":\"mutator 1\"}"), 1);
    cr_assert_eq(count_substr(text, "\"args\":{\"name\":\"mutator 2\"}"), 1);
    cr_assert_eq(count_substr(text, "\"forced\":1"), (int)st.num_forced_gc);
    free(text);

    /* The analyzer reads it; the program is still running, so the file has
     * no end yet and the analyzer must say it is truncated. */
    check_with_analyzer(path, 1);
    unlink(path);
}

/* ---- pause summary and MMU ---------------------------------------------------------- */

Test(trace, pause_summary_agrees_with_the_stats)
{
    tu_pin_no_torture(); /* its cycles must fit the trace's ring */
    tu_pin_stw_phases();
    tu_init();
    gc_pause_summary s0;
    gc_get_pause_summary(&s0);
    cr_assert_eq(s0.count, 0);
    cr_assert_eq(gc_mmu(1000, 0), 1.0, "MMU is not 1 before any pause");
    churn_and_collect(6);
    gc_pause_summary s;
    gc_get_pause_summary(&s);
    gc_stats st = tu_stats();
    cr_assert_eq(s.count, st.num_pauses);
    cr_assert_eq(s.total_ns, st.pause_total_ns);
    cr_assert_eq(s.max_ns, st.pause_max_ns);
    cr_assert_eq(s.recent, s.count);
    uint64_t sum = 0;
    for (int i = 0; i < GC_PAUSE_BUCKETS; i++) {
        sum += s.hist[i];
        if (i > 0 && i < GC_PAUSE_BUCKETS - 1)
            cr_assert_gt(gc_pause_bucket_limit(i), gc_pause_bucket_limit(i - 1));
    }
    cr_assert_eq(sum, s.count, "histogram holds %llu pauses of %llu", (unsigned long long)sum,
                 (unsigned long long)s.count);
    cr_assert(s.p50_ns > 0 && s.p50_ns <= s.p90_ns && s.p90_ns <= s.p99_ns &&
              s.p99_ns <= s.p999_ns && s.p999_ns <= s.max_ns);
    /* The longest pause lands in the bucket whose bounds hold it. */
    int b = 0;
    while (b < GC_PAUSE_BUCKETS - 1 && s.max_ns >= gc_pause_bucket_limit(b))
        b++;
    cr_assert_gt(s.hist[b], 0, "no pause counted in the bucket of the longest one");

    /* A window shorter than a pause fits inside it: utilisation 0.  A window
     * as long as the run sees the run's share of pauses. */
    cr_assert_eq(gc_mmu(1, 0), 0.0);
    /* The run ends at each call: the later call's run is longer, so with
     * nothing but pauses in it (no assists) its share is higher. */
    double with_assists = gc_mmu(UINT64_MAX / 2, GC_MMU_ASSISTS);
    double whole = gc_mmu(UINT64_MAX / 2, 0);
    cr_assert(whole > 0.0 && whole < 1.0, "MMU of the whole run %f", whole);
    cr_assert_leq(with_assists, whole);
}

/* ---- per-thread holds -------------------------------------------------------------- */

/* A second registered thread, parked in gc_do_blocking on a pipe until the
 * test closes it: every cycle holds it (its stack scan) as well as the
 * test's own thread. */
static int hold_pipe[2];
static _Atomic int hold_ready;
static gc_thread_holds helper_holds;

static void *read_one(void *arg)
{
    (void)arg;
    char c;
    while (read(hold_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

static void *hold_helper(void *arg)
{
    (void)arg;
    if (gc_register_thread() != GC_OK)
        tu_fail("gc_register_thread failed");
    atomic_store(&hold_ready, 1);
    gc_do_blocking(read_one, NULL);
    if (gc_get_thread_holds(&helper_holds) != GC_OK)
        tu_fail("gc_get_thread_holds failed on a registered thread");
    gc_unregister_thread();
    return NULL;
}

static pthread_t start_hold_helper(void)
{
    cr_assert_eq(pipe(hold_pipe), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, hold_helper, NULL), 0);
    while (!atomic_load(&hold_ready))
        sched_yield();
    return th;
}

/* Wake the helper (its read returns at end of file) and join it. */
static void stop_hold_helper(pthread_t th)
{
    close(hold_pipe[1]);
    tu_join(th);
    close(hold_pipe[0]);
    tu_assert_no_thread_failures();
}

/* What the summary says about holds agrees with itself, with the event
 * ring, with each thread's own record and with gc_mmu's flags.  mode: the
 * MGC_HANDSHAKE value the collector starts with. */
static void check_hold_summary(const char *mode)
{
    unsetenv("MGC_STW"); /* a stop-the-world mark holds no single thread */
    setenv("MGC_HANDSHAKE", mode, 1);
    tu_init();
    pthread_t th = start_hold_helper();
    churn_and_collect(5);
    gc_stats st = tu_stats();
    gc_pause_summary s;
    gc_get_pause_summary(&s);
    gc_thread_holds mine;
    cr_assert_eq(gc_get_thread_holds(&mine), GC_OK);
    double self = gc_mmu(1000000, GC_MMU_SELF), pauses = gc_mmu(1000000, 0),
           all = gc_mmu(1000000, GC_MMU_ASSISTS);
    stop_hold_helper(th);

    /* Both kinds add up to the totals. */
    cr_assert_eq(s.hold_count, s.handshake_count + s.stack_count);
    cr_assert_eq(s.hold_total_ns, s.handshake_total_ns + s.stack_total_ns);
    cr_assert_eq(s.hold_max_ns, s.handshake_max_ns > s.stack_max_ns ? s.handshake_max_ns : s.stack_max_ns);
    /* Two registered threads, both parked while gc_collect runs a cycle:
     * each cycle holds each of them for its stack scan. */
    cr_assert_geq(s.stack_count, 2 * st.num_gc, "%llu stack-scan holds in %llu cycles of 2 threads",
                  (unsigned long long)s.stack_count, (unsigned long long)st.num_gc);
    cr_assert_geq(s.hold_total_ns, s.hold_max_ns);
    cr_assert_gt(s.hold_max_ns, 0);
    cr_assert_eq(s.hold_recent, s.hold_count < 4096 ? s.hold_count : 4096);
    cr_assert(s.hold_p50_ns <= s.hold_p90_ns && s.hold_p90_ns <= s.hold_p99_ns &&
              s.hold_p99_ns <= s.hold_p999_ns && s.hold_p999_ns <= s.hold_max_ns,
              "hold percentiles out of order");
    /* Pauses are counted apart: one hold is no pause. */
    cr_assert_eq(s.count, st.num_pauses);

    /* The event ring saw each hold once, by kind. */
    size_t n = gc_get_events(NULL, 0);
    gc_event *ev = calloc(n + 1, sizeof *ev);
    cr_assert_not_null(ev);
    n = gc_get_events(ev, n);
    uint64_t stops = 0, handshakes = 0;
    for (size_t i = 0; i < n; i++) {
        stops += ev[i].kind == GC_EVENT_THREAD_STOP;
        handshakes += ev[i].kind == GC_EVENT_HANDSHAKE;
        if (ev[i].kind == GC_EVENT_THREAD_STOP || ev[i].kind == GC_EVENT_HANDSHAKE)
            cr_assert(ev[i].thread == mine.thread || ev[i].thread == helper_holds.thread,
                      "a hold of thread %d, which is neither registered thread", ev[i].thread);
    }
    free(ev);
    cr_assert_eq(stops, s.stack_count);
    cr_assert_eq(handshakes, s.handshake_count);

    /* Each thread's own record: together they are every hold. */
    cr_assert_eq(mine.thread, 1, "the gc_init thread is number 1");
    cr_assert_neq(helper_holds.thread, mine.thread);
    cr_assert_geq(mine.count, st.num_gc);
    cr_assert_geq(helper_holds.count, st.num_gc);
    cr_assert_eq(mine.count + helper_holds.count, s.hold_count);
    cr_assert_eq(mine.total_ns + helper_holds.total_ns, s.hold_total_ns);
    cr_assert_geq(mine.total_ns, mine.max_ns);
    cr_assert_leq(mine.max_ns, s.hold_max_ns);
    uint64_t worst = mine.total_ns > helper_holds.total_ns ? mine.total_ns : helper_holds.total_ns;
    cr_assert_eq(s.thread_hold_max_ns, worst);
    cr_assert(s.thread_hold_max_thread == (mine.total_ns >= helper_holds.total_ns ? mine.thread : helper_holds.thread) ||
                  mine.total_ns == helper_holds.total_ns,
              "the most held thread is %d", s.thread_hold_max_thread);

    /* A thread's own MMU counts fewer intervals than every thread's holds
     * and more than the pauses alone. */
    cr_assert(all <= self && self <= pauses, "MMU(1 ms): all %f, self %f, pauses %f", all, self, pauses);
}

Test(trace, hold_summary_is_consistent)
{
    tu_pin_no_torture(); /* its cycles must fit the trace's ring */
    check_hold_summary("0");
}

Test(trace, hold_summary_is_consistent_in_handshake_mode)
{
    tu_pin_no_torture(); /* its cycles must fit the trace's ring */
    check_hold_summary("1");
}

Test(trace, trace_file_has_the_holds_and_the_analyzer_counts_them)
{
    char path[] = "/tmp/mgc-trace-holds-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    setenv("MGC_TRACE_FILE", path, 1);
    unsetenv("MGC_STW");
    tu_init();
    pthread_t th = start_hold_helper();
    churn_and_collect(3);
    gc_pause_summary s;
    gc_get_pause_summary(&s);
    gc_stats st = tu_stats();
    stop_hold_helper(th);
    gc_trace_flush();

    char *text = read_file(path, NULL);
    /* Every hold is an event on the held thread's lane, by kind; every
     * cycle says its longest pause and hold apart. */
    cr_assert_eq((uint64_t)count_substr(text, "\"cat\":\"stack\""), s.stack_count);
    cr_assert_eq((uint64_t)count_substr(text, "\"cat\":\"handshake\""), s.handshake_count);
    cr_assert_eq((uint64_t)count_substr(text, "\"pause_max_us\":"), st.num_gc);
    cr_assert_eq((uint64_t)count_substr(text, "\"hold_max_us\":"), st.num_gc);
    free(text);

    char *out;
    analyze(path, 1, &out);
    unlink(path);
    if (!out)
        return;
    char want[160];
    snprintf(want, sizeof want, "holds        %llu (%llu stack scans, %llu handshakes)",
             (unsigned long long)s.hold_count, (unsigned long long)s.stack_count,
             (unsigned long long)s.handshake_count);
    cr_assert(strstr(out, want), "the analyzer does not say \"%s\":\n%s", want, out);
    cr_assert(strstr(out, "over 2 threads"), "two threads were held:\n%s", out);
    const char *table = strstr(out, "holds per thread");
    cr_assert(table, "no per-thread table:\n%s", out);
    cr_assert(strstr(table, "mutator 1 ") && strstr(table, "mutator 2 "),
              "the per-thread table lacks a thread:\n%s", out);
    cr_assert(strstr(out, "worst thread"), "no per-thread MMU column:\n%s", out);
    free(out);
}

/* ---- the phase callback ------------------------------------------------------------- */

static _Atomic int phase_count[5];
static _Atomic int phase_registered;
static _Atomic uint64_t phase_last_cycle;
static _Atomic int phase_order_bad;
static _Atomic int phase_stopped; /* setup/termination events that were pauses */

static void on_phase(const gc_phase_event *e, void *arg)
{
    if (arg != (void *)&phase_count)
        atomic_store(&phase_order_bad, 1);
    if (e->phase < 0 || e->phase > 4) {
        atomic_store(&phase_order_bad, 1);
        return;
    }
    /* In order within a cycle: setup, mark start, termination(s), sweep,
     * end; then the next cycle's setup. */
    static int last = GC_PHASE_CYCLE_END;
    if (e->phase == GC_PHASE_MARK_SETUP ? last != GC_PHASE_CYCLE_END : e->phase < last)
        atomic_store(&phase_order_bad, 1);
    last = e->phase;
    atomic_fetch_add(&phase_count[e->phase], 1);
    if ((e->phase == GC_PHASE_MARK_SETUP || e->phase == GC_PHASE_MARK_TERMINATION) && e->world_stopped)
        atomic_fetch_add(&phase_stopped, 1);
    if (gc_thread_is_registered())
        atomic_store(&phase_registered, 1);
    if (e->phase == GC_PHASE_CYCLE_END) {
        if (e->cycle != atomic_load(&phase_last_cycle) + 1)
            atomic_store(&phase_order_bad, 1);
        atomic_store(&phase_last_cycle, e->cycle);
    }
}

Test(trace, phase_callback_sees_each_phase_of_each_cycle)
{
    tu_pin_concurrent_mark(); /* MGC_STW=1: no concurrent mark to start */
    tu_init();
    cr_assert_null(gc_set_phase_callback(on_phase, &phase_count));
    churn_and_collect(5);
    cr_assert_eq(gc_set_phase_callback(NULL, NULL), on_phase);
    gc_stats st = tu_stats();
    int cycles = (int)st.num_gc;
    cr_assert_geq(cycles, 5);
    cr_assert_eq(atomic_load(&phase_count[GC_PHASE_MARK_SETUP]), cycles);
    cr_assert_eq(atomic_load(&phase_count[GC_PHASE_MARK_START]), cycles);
    cr_assert_geq(atomic_load(&phase_count[GC_PHASE_MARK_TERMINATION]), cycles);
    cr_assert_eq(atomic_load(&phase_stopped), (int)st.num_pauses,
                 "one world_stopped callback per pause (none in the handshake mode)");
    cr_assert_eq(atomic_load(&phase_count[GC_PHASE_SWEEP_DONE]), cycles);
    cr_assert_eq(atomic_load(&phase_count[GC_PHASE_CYCLE_END]), cycles);
    cr_assert_eq(atomic_load(&phase_registered), 0, "the callback ran on a registered thread");
    cr_assert_eq(atomic_load(&phase_order_bad), 0, "phases or cycle numbers out of order, or wrong arg");
    cr_assert_eq((uint64_t)atomic_load(&phase_last_cycle), st.num_gc);
}

/* ---- a finished trace ------------------------------------------------------------------- */

Test(trace, a_finished_trace_is_strict_json_and_not_truncated)
{
    tu_pin_stw_phases();
    char path[] = "/tmp/mgc-trace-end-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* a whole program: init, collect, exit */
        setenv("MGC_TRACE_FILE", path, 1);
        if (gc_init(NULL) != GC_OK)
            _exit(3);
        for (int i = 0; i < 3; i++)
            gc_collect();
        exit(0); /* runs the library's atexit handler */
    }
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the traced child failed");
    size_t n;
    char *text = read_file(path, &n);
    const char *end = "{\"name\":\"trace_end\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{}}\n]\n";
    cr_assert(n > strlen(end) && strcmp(text + n - strlen(end), end) == 0,
              "the file does not end with trace_end and ] (no trailing comma):\n...%s",
              text + (n > 200 ? n - 200 : 0));
    cr_assert_geq(count_substr(text, "\"cat\":\"stw\""), 6, "3 cycles, 2 pauses each at least");
    free(text);
    check_with_analyzer(path, 0);
    unlink(path);
}
