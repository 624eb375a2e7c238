/*
 * test_trace_tool.c -- the trace analyzer (build/mgc-trace) run as a person
 * would run it, on the hand-written traces in test/data/.
 *
 * test/data/trace-small.json is a 100 ms run of five cycles on 2 CPUs.
 * Its ten STW pauses are, in us, setup 50 100 150 250 400 and termination
 * 80 120 200 300 900; sorted 50 80 100 120 150 200 250 300 400 900, so by
 * nearest rank p50 is the 5th (150), p90 the 9th (400), p99 and max the
 * 10th (900), and the total 2550.  The stop_us values are 5..50 in steps of
 * 5: p50 25, max 50.  The worst 1 ms window holds the whole 900 us pause
 * (MMU 0.1); the worst 5 ms one holds cycle 5's 400 us setup and 900 us
 * termination, 1300 us apart as they start, less the 300 us of the setup
 * that does not fit: 1000 us busy, MMU 0.8.  GC CPU: pauses 2550 + workers
 * 5 x 3000 + assists 2 x 500 + stack scans 10 x 50 = 19050 us, plus 5 x
 * 3000 us of sweep = 34050 us, over 2 x 100 ms: 17.025% (9.525% without
 * the sweep).  trace-truncated.json is its first 30 events and half of the
 * 31st, with no closing "]": two cycles, pauses 50 80 100 120 us.
 *
 * Every test works in its own temporary directory, so the tool's default
 * output (TRACE.svg beside TRACE) never lands in the source tree.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/test_util.h"

#define FIXTURE "test/data/trace-small.json"
#define FIXTURE_TRUNC "test/data/trace-truncated.json"

typedef struct {
    char dir[64];
    char *out, *err; /* what the last run printed */
    int status;      /* its exit code, or -1 if it did not exit */
} tool_run;

/* The tool beside the test binary's own build tree (build/ normally, the
 * sanitizer trees when those run the suite), else build/ from the repo root. */
static const char *tool_path(void) {
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n > 0) {
        path[n] = 0;
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(path, '/');
            if (slash) *slash = 0;
        }
        strcat(path, "/mgc-trace");
        if (access(path, X_OK) == 0) return path;
    }
    return "build/mgc-trace";
}

static void spit(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void run_setup(tool_run *r) {
    memset(r, 0, sizeof *r);
    strcpy(r->dir, "/tmp/mgc-trace-test-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
}

/* A path inside the run's directory; each call gets its own buffer. */
static const char *in_dir(tool_run *r, const char *name) {
    static char bufs[4][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, PATH_MAX, "%s/%s", r->dir, name);
    return b;
}

/* Run the tool with the given (already quoted) arguments. */
static void run_tool(tool_run *r, const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int n = snprintf(cmd, sizeof cmd, "'%s' %s >'%s/stdout' 2>'%s/stderr'", tool_path(), args,
                     r->dir, r->dir);
    cr_assert(n > 0 && (size_t)n < sizeof cmd, "command line too long");
    int st = system(cmd);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    free(r->out);
    free(r->err);
    r->out = tu_slurp(in_dir(r, "stdout"), NULL);
    r->err = tu_slurp(in_dir(r, "stderr"), NULL);
    cr_assert(r->out && r->err, "no output files from: %s", cmd);
}

static void run_cleanup(tool_run *r) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    cr_assert_eq(system(cmd), 0);
    free(r->out);
    free(r->err);
}

static void assert_has(const char *hay, const char *needle, const char *what) {
    cr_assert(strstr(hay, needle), "%s lacks \"%s\"; it was:\n%s", what, needle, hay);
}

/* The number after `label` on the line that starts with `row` (after
 * leading blanks), so assertions do not depend on rounding in print. */
static double number_after(const char *text, const char *row, const char *label) {
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line;
        while (*p == ' ') p++;
        if (strncmp(p, row, strlen(row))) continue;
        const char *end = strchr(p, '\n');
        const char *at = strstr(p, label);
        if (!at || (end && at > end)) continue;
        return strtod(at + strlen(label), NULL);
    }
    cr_assert_fail("no \"%s\" ... \"%s\" in:\n%s", row, label, text);
    return NAN;
}

/* The two MMU columns for a window row such as "5 ms". */
static void mmu_row(const char *text, const char *window, double *stw, double *all) {
    char row[32];
    snprintf(row, sizeof row, "%s ", window);
    const char *p = text;
    while ((p = strstr(p, row))) {
        if (sscanf(p + strlen(row), "%lf %lf", stw, all) == 2) return;
        p++;
    }
    cr_assert_fail("no MMU row for %s in:\n%s", window, text);
}

/* ------------------------------------------------------------------------
 * A small XML well-formedness check, enough for what an SVG writer can get
 * wrong: unbalanced or crossed tags, unquoted or repeated attributes, a
 * raw '<' or a bare '&' in text, more than one root.
 */

static int name_char(char c, int first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

static const char *entity_end(const char *p) {
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (!strncmp(p, named[i], strlen(named[i]))) return p + strlen(named[i]);
    if (p[1] == '#') {
        const char *q = p + 2;
        int hex = *q == 'x';
        q += hex;
        const char *digits = q;
        while ((*q >= '0' && *q <= '9') || (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))) q++;
        if (q > digits && *q == ';') return q + 1;
    }
    return NULL;
}

static const char *xml_error(const char *s) {
    const char *stack[128];
    size_t len[128], depth = 0;
    int roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p) return "unterminated XML declaration";
        p += 2;
    }
    while (*p) {
        if (*p != '<') {
            if (depth == 0 && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
                return "text outside the root element";
            if (*p == '&') {
                if (!(p = entity_end(p))) return "bare '&' in text";
            } else {
                p++;
            }
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            if (!(p = strstr(p + 4, "-->"))) return "unterminated comment";
            p += 3;
            continue;
        }
        if (p[1] == '/') {
            const char *n = p + 2, *e = n;
            while (name_char(*e, e == n)) e++;
            if (depth == 0 || (size_t)(e - n) != len[depth - 1] || strncmp(n, stack[depth - 1], len[depth - 1]))
                return "closing tag does not match the open element";
            depth--;
            while (*e == ' ' || *e == '\n') e++;
            if (*e != '>') return "junk in a closing tag";
            p = e + 1;
            continue;
        }
        const char *n = ++p;
        if (!name_char(*p, 1)) return "'<' not starting a tag";
        while (name_char(*p, 0)) p++;
        size_t nlen = (size_t)(p - n);
        if (depth == 0 && roots++) return "more than one root element";
        if (depth == 0 && (nlen != 3 || strncmp(n, "svg", 3))) return "the root is not <svg>";
        const char *attr[64];
        size_t alen[64], nattr = 0;
        for (;;) {
            int ws = 0;
            while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++, ws = 1;
            if (*p == '>' || !strncmp(p, "/>", 2)) break;
            if (!ws || !name_char(*p, 1)) return "bad attribute start";
            const char *a = p;
            while (name_char(*p, 0)) p++;
            for (size_t i = 0; i < nattr; i++)
                if (alen[i] == (size_t)(p - a) && !strncmp(attr[i], a, alen[i])) return "repeated attribute";
            if (nattr < 64) attr[nattr] = a, alen[nattr++] = (size_t)(p - a);
            if (*p++ != '=') return "attribute without '='";
            char q = *p++;
            if (q != '"' && q != '\'') return "unquoted attribute value";
            while (*p && *p != q) {
                if (*p == '<') return "'<' in an attribute value";
                if (*p == '&') {
                    if (!(p = entity_end(p))) return "bare '&' in an attribute value";
                } else {
                    p++;
                }
            }
            if (!*p++) return "unterminated attribute value";
        }
        if (*p == '/') {
            p += 2;
            continue;
        }
        if (depth == 128) return "too deep";
        stack[depth] = n;
        len[depth++] = nlen;
        p++;
    }
    if (depth) return "unclosed element at the end";
    if (!roots) return "no root element";
    return NULL;
}

static void assert_svg_ok(tool_run *r, const char *svg_path) {
    size_t n;
    char *svg = tu_slurp(svg_path, &n);
    cr_assert_not_null(svg, "no SVG at %s", svg_path);
    cr_assert_gt(n, 1000);
    const char *why = xml_error(svg);
    cr_assert_null(why, "%s is not well-formed XML: %s", svg_path, why ? why : "");
    free(svg);
    /* rsvg-convert, where installed (scripts/deps.sh test installs it),
     * is a real SVG renderer: it must draw the picture without error. */
    if (system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
        fprintf(stderr, "note: rsvg-convert not installed, %s was not rendered\n", svg_path);
        return;
    }
    const char *png = in_dir(r, "render.png");
    char cmd[2 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "rsvg-convert '%s' -o '%s' 2>&1", svg_path, png);
    cr_assert_eq(system(cmd), 0, "rsvg-convert failed on %s", svg_path);
    size_t pn;
    char *data = tu_slurp(png, &pn);
    cr_assert(data && pn > 1000 && !memcmp(data, "\x89PNG", 4), "rsvg-convert wrote no PNG");
    free(data);
}

/* ------------------------------------------------------------------------ */

Test(trace_tool, complete_trace) {
    tool_run r;
    run_setup(&r);
    const char *svg = in_dir(&r, "out.svg");
    run_tool(&r, "%s -o '%s'", FIXTURE, svg);
    cr_assert_eq(r.status, 0, "exit %d, stderr:\n%s", r.status, r.err);
    cr_assert_null(strstr(r.err, "truncated"), "a complete trace reported as truncated:\n%s", r.err);
    assert_has(r.out, "100.000 ms, 5 GC cycles (1 forced)", "run summary");
    assert_has(r.out, "5 threads (1 coordinator, 1 mark worker, 3 mutators", "run summary");
    assert_has(r.out, "2 CPUs", "run summary");
    assert_has(r.out, "STW pauses   10 (5 mark setup, 5 mark termination), total 2.550 ms", "pauses");
    assert_has(r.out, "p50 150.0 us   p90 400.0 us   p99 900.0 us   max 900.0 us", "percentiles");
    assert_has(r.out, "time to stop the world   p50 25.0 us   max 50.0 us", "stop times");
    cr_assert(fabs(number_after(r.out, "GC CPU", "GC CPU") - 17.025) < 0.01, "GC CPU:\n%s", r.out);
    cr_assert(fabs(number_after(r.out, "GC CPU", "x the run, ") - 9.525) < 0.01, "GC CPU:\n%s", r.out);
    double stw, all;
    mmu_row(r.out, "1 ms", &stw, &all);
    cr_assert(fabs(stw - 0.1) < 1e-3 && fabs(all - 0.1) < 1e-3, "MMU(1ms) %f %f", stw, all);
    mmu_row(r.out, "5 ms", &stw, &all);
    /* With assists and stack scans cycle 4 is worse: 250 + 60.5 + 500 +
     * 300 us inside [65, 70) ms, 1 - 1110.5/5000. */
    cr_assert(fabs(stw - 0.8) < 1e-3 && fabs(all - 0.778) < 1e-3, "MMU(5ms) %f %f", stw, all);
    mmu_row(r.out, "1 s", &stw, &all);
    cr_assert(fabs(stw - 0.9745) < 1e-3, "MMU(1s) is the whole run's: %f", stw);
    assert_svg_ok(&r, svg);
    run_cleanup(&r);
}

Test(trace_tool, default_output_beside_the_trace) {
    tool_run r;
    run_setup(&r);
    size_t n;
    char *data = tu_slurp(FIXTURE, &n);
    cr_assert_not_null(data);
    spit(in_dir(&r, "run.json"), data, n);
    free(data);
    run_tool(&r, "'%s'", in_dir(&r, "run.json"));
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    struct stat sb;
    cr_assert_eq(stat(in_dir(&r, "run.svg"), &sb), 0, "no run.svg beside run.json");
    assert_has(r.out, "run.svg", "report");
    run_cleanup(&r);
}

Test(trace_tool, truncated_trace_is_analysed) {
    tool_run r;
    run_setup(&r);
    const char *svg = in_dir(&r, "out.svg");
    run_tool(&r, "%s -o '%s'", FIXTURE_TRUNC, svg);
    cr_assert_eq(r.status, 0, "a truncated trace must still be analysed; stderr:\n%s", r.err);
    assert_has(r.err, "trace-truncated.json is truncated after 30 complete events", "warning");
    assert_has(r.err, "did not exit cleanly", "warning");
    assert_has(r.out, "2 GC cycles", "run summary");
    assert_has(r.out, "STW pauses   4 (2 mark setup, 2 mark termination)", "pauses");
    assert_has(r.out, "p50 80.0 us   p90 120.0 us   p99 120.0 us   max 120.0 us", "percentiles");
    assert_svg_ok(&r, svg);
    run_cleanup(&r);
}

/* A crash between two writes: whole lines, no "]". */
Test(trace_tool, trace_cut_at_a_line_end) {
    tool_run r;
    run_setup(&r);
    size_t n;
    char *data = tu_slurp(FIXTURE, &n);
    cr_assert_not_null(data);
    char *p = data;
    for (int lines = 0; lines < 11; lines++) p = strchr(p, '\n') + 1; /* "[" and 10 events */
    spit(in_dir(&r, "cut.json"), data, (size_t)(p - data));
    free(data);
    run_tool(&r, "'%s' -o '%s'", in_dir(&r, "cut.json"), in_dir(&r, "cut.svg"));
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    assert_has(r.err, "is truncated after 10 complete events (", "warning");
    run_cleanup(&r);
}

/* A corrupt line costs that event only. */
Test(trace_tool, malformed_line_is_skipped) {
    tool_run r;
    run_setup(&r);
    size_t n;
    char *data = tu_slurp(FIXTURE, &n);
    cr_assert_not_null(data);
    char *line = strstr(data, "{\"name\":\"heap\"");
    cr_assert_not_null(line);
    memcpy(line, "{\"name\"::", 9);
    spit(in_dir(&r, "bad.json"), data, n);
    free(data);
    run_tool(&r, "'%s' -o '%s'", in_dir(&r, "bad.json"), in_dir(&r, "bad.svg"));
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    assert_has(r.err, "malformed event skipped", "warning");
    cr_assert_null(strstr(r.err, "truncated"), "%s", r.err);
    assert_has(r.out, "5 GC cycles", "run summary");
    assert_has(r.out, "p50 150.0 us", "percentiles");
    run_cleanup(&r);
}

Test(trace_tool, not_a_trace) {
    tool_run r;
    run_setup(&r);
    spit(in_dir(&r, "notes.txt"), "hello, world\n", 13);
    run_tool(&r, "'%s' -o '%s'", in_dir(&r, "notes.txt"), in_dir(&r, "x.svg"));
    cr_assert_eq(r.status, 2);
    assert_has(r.err, "notes.txt is not an mgc trace", "error");
    struct stat sb;
    cr_assert_neq(stat(in_dir(&r, "x.svg"), &sb), 0, "an SVG was written for a non-trace");
    spit(in_dir(&r, "empty.json"), "", 0);
    run_tool(&r, "'%s'", in_dir(&r, "empty.json"));
    cr_assert_eq(r.status, 2);
    assert_has(r.err, "empty.json is empty", "error");
    run_cleanup(&r);
}

Test(trace_tool, missing_file_and_usage) {
    tool_run r;
    run_setup(&r);
    run_tool(&r, "'%s'", in_dir(&r, "no-such-trace.json"));
    cr_assert_eq(r.status, 2);
    assert_has(r.err, "no-such-trace.json", "error");
    run_tool(&r, "%s", "");
    cr_assert_eq(r.status, 2);
    assert_has(r.err, "usage:", "usage");
    run_cleanup(&r);
}

/* A long run: thousands of cycles on six threads is far more boxes than a
 * picture can hold; the SVG must stay within its element budget and still
 * be a picture. */
Test(trace_tool, long_trace_stays_readable) {
    tool_run r;
    run_setup(&r);
    const char *path = in_dir(&r, "long.json");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "[\n{\"name\":\"mgc_info\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"ncpu\":2}},\n");
    fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"mgc-gc\"}},\n");
    for (int m = 0; m < 4; m++)
        fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"mutator %d\"}},\n",
                10 + m, m + 1);
    const int cycles = 4000;
    for (int c = 0; c < cycles; c++) {
        double s = 1000.0 * c; /* one cycle a millisecond */
        fprintf(f, "{\"name\":\"STW mark setup\",\"cat\":\"stw\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":20,\"pid\":1,\"tid\":1,\"args\":{\"cycle\":%d,\"stop_us\":3}},\n", s, c + 1);
        fprintf(f, "{\"name\":\"mark\",\"cat\":\"phase\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":300,\"pid\":1,\"tid\":1,\"args\":{\"cycle\":%d}},\n", s + 20, c + 1);
        for (int m = 0; m < 4; m++) {
            fprintf(f, "{\"name\":\"stack scan\",\"cat\":\"stack\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":5,\"pid\":1,\"tid\":%d,\"args\":{}},\n", s + 20 + m, 10 + m);
            fprintf(f, "{\"name\":\"mark assist\",\"cat\":\"assist\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":40,\"pid\":1,\"tid\":%d,\"args\":{}},\n", s + 100 + 50 * m, 10 + m);
        }
        fprintf(f, "{\"name\":\"STW mark termination\",\"cat\":\"stw\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%d,\"pid\":1,\"tid\":1,\"args\":{\"cycle\":%d,\"stop_us\":4,\"retries\":0}},\n", s + 320, 10 + c % 90, c + 1);
        fprintf(f, "{\"name\":\"heap\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":%.3f,\"args\":{\"live_MB\":%d,\"goal_MB\":%d,\"sys_MB\":64}},\n", s, 10 + c % 7, 20 + c % 7);
    }
    fprintf(f, "{\"name\":\"trace_end\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{}}\n]\n");
    cr_assert_eq(fclose(f), 0);
    const char *svg = in_dir(&r, "long.svg");
    run_tool(&r, "'%s' -o '%s'", path, svg);
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    char expect[64];
    snprintf(expect, sizeof expect, "STW pauses   %d (%d mark setup", 2 * cycles, cycles);
    assert_has(r.out, expect, "pauses");
    char *text = tu_slurp(svg, NULL);
    cr_assert_not_null(text);
    size_t elements = 0;
    for (const char *p = text; (p = strchr(p, '<')); p++) elements += p[1] != '/' && p[1] != '?';
    cr_assert_leq(elements, 21000, "%zu SVG elements for a long trace", elements);
    free(text);
    assert_svg_ok(&r, svg);
    run_cleanup(&r);
}

/* Holds, worked out by hand.  A 10 ms run on 2 CPUs: one 100 us STW pause
 * at 1 ms; mutator 1 held 30 us (handshake) at 3 ms and 300 us (stack
 * scan) at 4.5 ms; mutator 2 held 20 us (handshake) at 3 ms and 400 us
 * (stack scan) at 4 ms.  Holds sorted 20 30 300 400 us: p50 the 2nd (30),
 * p90 and max the 4th (400); 750 us in all.  MMU(1 ms): STW only 0.9; all
 * holds as if global, [3.8, 4.8) ms holds 400 + 300 us: 0.3; mutator 2's
 * own worst window holds its 400 us scan (its 20 us handshake is 1 ms
 * before): 0.6, mutator 1's its 300 us scan: 0.7, so the worst thread's
 * is 0.6.  Over the whole run mutator 2 is busy 100 + 420 us: 0.948;
 * mutator 1 100 + 330 us: 0.957. */
Test(trace_tool, holds_per_thread_and_their_mmu) {
    tool_run r;
    run_setup(&r);
    const char *path = in_dir(&r, "holds.json");
    static const char trace[] =
        "[\n"
        "{\"name\":\"mgc_info\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"ncpu\":2}},\n"
        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":100,\"args\":{\"name\":\"mgc-gc\"}},\n"
        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"mutator 1\"}},\n"
        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"mutator 2\"}},\n"
        "{\"name\":\"heap\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":0,\"args\":{\"live_MB\":1,\"goal_MB\":4,\"sys_MB\":8}},\n"
        "{\"name\":\"STW mark setup\",\"cat\":\"stw\",\"ph\":\"X\",\"ts\":1000,\"dur\":100,\"pid\":1,\"tid\":100,\"args\":{\"cycle\":1,\"stop_us\":5}},\n"
        "{\"name\":\"handshake\",\"cat\":\"handshake\",\"ph\":\"X\",\"ts\":3000,\"dur\":30,\"pid\":1,\"tid\":1,\"args\":{}},\n"
        "{\"name\":\"handshake\",\"cat\":\"handshake\",\"ph\":\"X\",\"ts\":3000,\"dur\":20,\"pid\":1,\"tid\":2,\"args\":{}},\n"
        "{\"name\":\"stack scan\",\"cat\":\"stack\",\"ph\":\"X\",\"ts\":4000,\"dur\":400,\"pid\":1,\"tid\":2,\"args\":{}},\n"
        "{\"name\":\"stack scan\",\"cat\":\"stack\",\"ph\":\"X\",\"ts\":4500,\"dur\":300,\"pid\":1,\"tid\":1,\"args\":{}},\n"
        "{\"name\":\"heap\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":10000,\"args\":{\"live_MB\":1,\"goal_MB\":4,\"sys_MB\":8}},\n"
        "{\"name\":\"trace_end\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{}}\n]\n";
    spit(path, trace, sizeof trace - 1);
    const char *svg = in_dir(&r, "holds.svg");
    run_tool(&r, "'%s' -o '%s'", path, svg);
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    assert_has(r.out, "holds        4 (2 stack scans, 2 handshakes)", "holds");
    assert_has(r.out, "total 750.0 us over 2 threads", "holds");
    assert_has(r.out, "p50 30.0 us   p90 400.0 us   p99 400.0 us   max 400.0 us", "hold percentiles");
    assert_has(r.out, "most held  mutator 2, 420.0 us = 4.20% of the run", "most held");
    double stw, all, worst;
    const char *row = strstr(r.out, "  1 ms ");
    cr_assert(row && sscanf(row, " 1 ms %lf %lf %lf", &stw, &all, &worst) == 3, "no MMU row:\n%s", r.out);
    cr_assert(fabs(stw - 0.9) < 1e-3 && fabs(all - 0.3) < 1e-3 && fabs(worst - 0.6) < 1e-3,
              "MMU(1ms) %f %f %f:\n%s", stw, all, worst, r.out);
    const char *table = strstr(r.out, "holds per thread");
    cr_assert_not_null(table, "no per-thread table:\n%s", r.out);
    /* Most held first: mutator 2, then mutator 1. */
    const char *m2 = strstr(table, "mutator 2 "), *m1 = strstr(table, "mutator 1 ");
    cr_assert(m1 && m2 && m2 < m1, "per-thread rows missing or out of order:\n%s", r.out);
    unsigned n;
    double m1w[3], m2w[3];
    cr_assert_eq(sscanf(m2, "mutator 2 %u 420.0 us 400.0 us 400.0 us %lf %lf %lf", &n, &m2w[0], &m2w[1], &m2w[2]), 4,
                 "mutator 2's row:\n%s", r.out);
    cr_assert_eq(n, 2);
    cr_assert_eq(sscanf(m1, "mutator 1 %u 330.0 us 300.0 us 300.0 us %lf %lf %lf", &n, &m1w[0], &m1w[1], &m1w[2]), 4,
                 "mutator 1's row:\n%s", r.out);
    cr_assert_eq(n, 2);
    cr_assert(fabs(m2w[0] - 0.6) < 1e-3 && fabs(m2w[1] - 0.948) < 1e-3, "mutator 2's MMU %f %f", m2w[0], m2w[1]);
    cr_assert(fabs(m1w[0] - 0.7) < 1e-3 && fabs(m1w[1] - 0.957) < 1e-3, "mutator 1's MMU %f %f", m1w[0], m1w[1]);
    assert_svg_ok(&r, svg);
    run_cleanup(&r);
}
