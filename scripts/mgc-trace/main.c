/*
 * main.c -- the trace analyzer's command line: read a trace the library
 * wrote (MGC_TRACE_FILE) and say what the collector did to the program:
 * pauses, per-thread holds, CPU, MMU (of the program and of each thread),
 * and a picture.
 *
 *   mgc-trace TRACE.json [-o OUT.svg]
 *
 * Exit status: 0 when an analysis was printed (also for a truncated
 * trace), 2 for a missing file, a file that is not a trace, bad usage, or
 * an SVG that could not be written: every such error goes through die().
 * The parts and what they share are listed in mgc-trace.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgc-trace.h"

const char *const prog = "mgc-trace";

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

void *grow(void *p, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return xrealloc(p, c * sz);
}

static void usage(void) {
    fprintf(stderr, "usage: %s TRACE.json [-o OUT.svg]\n"
                    "  Analyses a trace written with MGC_TRACE_FILE=TRACE.json: pauses, GC CPU,\n"
                    "  minimum mutator utilisation, and a picture (default: TRACE.svg).\n",
            prog);
    exit(2);
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) usage();
        else if (argv[i][0] == '-' && argv[i][1]) usage();
        else if (!in) in = argv[i];
        else usage();
    }
    if (!in) usage();
    char *dflt = NULL;
    if (!out) {
        size_t n = strlen(in);
        if (n > 5 && !strcmp(in + n - 5, ".json")) n -= 5;
        dflt = xrealloc(NULL, n + 5);
        memcpy(dflt, in, n);
        memcpy(dflt + n, ".svg", 5);
        out = dflt;
    }
    trace t;
    load(&t, in);
    stats st;
    analyse(&t, &st);
    write_svg(&t, &st, out);
    print_report(&t, &st, out);
    /* Freed so that a leak checker run over the tool sees real leaks only. */
    for (size_t i = 0; i < t.nth; i++) free(t.th[i].name);
    free(t.th);
    free(t.s);
    free(t.h);
    free_stats(&st);
    free(dflt);
    return 0;
}
