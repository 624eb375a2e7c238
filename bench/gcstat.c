/*
 * gcstat.c -- pause files: Go's gctrace to intervals, summaries, SVG plots.
 *
 *   gcstat gotrace SPAN_S < gctrace.txt > intervals.txt
 *   gcstat summary intervals.txt
 *   gcstat svg OUT.svg TITLE LABEL=intervals.txt ...
 *
 * An intervals file (bench_util.h) is "span NS" then one "START END" line
 * per stop-the-world pause, in ns from the run's start.
 *
 * gotrace reads GODEBUG=gctrace=1 lines
 *   gc 7 @1.234s 3%: 0.031+4.2+0.045 ms clock, ...
 * and writes each cycle's two stop-the-world pauses: sweep termination
 * (the first clock figure, starting at @) and mark termination (the third,
 * starting after the concurrent mark, the second).  @ has millisecond
 * resolution, so pause positions are good to a millisecond and durations
 * to the microsecond.  SPAN_S is the run's length in seconds, unless the
 * program printed "bench-window T0 T1" (seconds since its main() began,
 * which is within a millisecond of the runtime's start that @ counts from):
 * then only that window is kept and times are moved to start at T0.
 *
 * summary prints "pauses,p50_us,p99_us,max_us,mmu_1ms,mmu_10ms,mmu_100ms"
 * (the pause columns of the bench CSV line).
 *
 * svg draws one picture with two panels for the series given: the
 * distribution of pause durations (share of pauses at most x, log x) and
 * the MMU curve (minimum mutator utilisation against window size, log x).
 * A series whose file is missing is drawn as "skipped" in the legend.
 */
#define BU_NO_GC 1
#include "bench_util.h"

#include <math.h>

static int gotrace(const char *span_s) {
    char line[4096];
    double span = atof(span_s) * 1e9, last = 0, w0 = 0, w1 = -1;
    mgc_interval *v = NULL;
    size_t n = 0, cap = 0;
    while (fgets(line, sizeof line, stdin)) {
        unsigned long cyc;
        double at, a, b, c;
        int pct;
        if (sscanf(line, "bench-window %lf %lf", &w0, &w1) == 2) continue;
        if (sscanf(line, "gc %lu @%lfs %d%%: %lf+%lf+%lf ms clock", &cyc, &at, &pct, &a, &b, &c) != 6)
            continue;
        if (n + 2 > cap) {
            cap = cap ? 2 * cap : 1024;
            v = realloc(v, cap * sizeof *v);
            if (!v) return 2;
        }
        double s = at * 1e9, m = s + (a + b) * 1e6;
        v[n++] = bu_span((uint64_t)s, (uint64_t)(s + a * 1e6));
        v[n++] = bu_span((uint64_t)m, (uint64_t)(m + c * 1e6));
        if (m + c * 1e6 > last) last = m + c * 1e6;
    }
    /* With a window, times move to its start and pauses outside it go. */
    double off = 0;
    if (w1 > w0) {
        off = w0 * 1e9;
        span = (w1 - w0) * 1e9;
    } else if (last > span) {
        span = last;
    }
    printf("span %llu\n", (unsigned long long)span);
    for (size_t k = 0; k < n; k++) {
        double s = (double)v[k].start - off, e = (double)bu_end(&v[k]) - off;
        if (e <= 0 || s >= span) continue;
        printf("%llu %llu\n", (unsigned long long)(s < 0 ? 0 : s),
               (unsigned long long)(e > span ? span : e));
    }
    free(v);
    return 0;
}

static int summary(const char *path) {
    mgc_interval *iv;
    uint64_t span;
    long n = bu_read_intervals(path, &iv, &span);
    if (n < 0) {
        fprintf(stderr, "gcstat: cannot read %s\n", path);
        return 1;
    }
    bu_summary s = bu_summarise(iv, (size_t)n, 0, span);
    printf("%zu,%.1f,%.1f,%.1f,%.4f,%.4f,%.4f\n", s.count, s.p50_us, s.p99_us, s.max_us, s.mmu[0],
           s.mmu[1], s.mmu[2]);
    free(iv);
    return 0;
}

/* ---- SVG ---------------------------------------------------------------------- */

enum { W = 980, H = 420, PW = 400, PH = 270, PY = 60, LEGEND_Y = 404 };
static const int px[2] = {70, 550};
static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

typedef struct series {
    const char *label;
    mgc_interval *iv;
    long n;
    uint64_t span;
} series;

/* x position of value v (log10 axis from lo to hi decades) in panel p. */
static double xlog(int p, double v, int lo, int hi) {
    double l = log10(v);
    if (l < lo) l = lo;
    if (l > hi) l = hi;
    return px[p] + (l - lo) / (hi - lo) * PW;
}
static double ylin(double f) { return PY + (1 - f) * PH; }

static const char *dur_label(int decade, char *buf, size_t len) {
    static const char *unit[] = {"ns", "us", "ms", "s"};
    int u = decade / 3;
    if (u > 3) u = 3;
    snprintf(buf, len, "%g %s", pow(10, decade - 3 * u), unit[u]);
    return buf;
}

static void axes(FILE *f, int p, int lo, int hi, const char *xlabel, const char *ylabel,
                 const char *title) {
    char b[32];
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"t\">%s</text>\n", px[p], PY - 12, title);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            px[p], PY, PW, PH);
    for (int d = lo; d <= hi; d++) {
        double x = xlog(p, pow(10, d), lo, hi);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"g\"/>\n", x, PY, x,
                PY + PH);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"k\" text-anchor=\"middle\">%s</text>\n", x,
                PY + PH + 16, dur_label(d, b, sizeof b));
    }
    for (int k = 0; k <= 4; k++) {
        double y = ylin(k / 4.0);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"g\"/>\n", px[p], y,
                px[p] + PW, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"k\" text-anchor=\"end\">%.2f</text>\n",
                px[p] - 5, y + 4, k / 4.0);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"k\" text-anchor=\"middle\">%s</text>\n",
            px[p] + PW / 2, PY + PH + 34, xlabel);
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" class=\"k\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %d %d)\">%s</text>\n",
            px[p] - 45, PY + PH / 2, px[p] - 45, PY + PH / 2, ylabel);
}

static int svg(const char *out, const char *title, int ns, char **specs) {
    series s[8];
    int n = 0;
    for (int k = 0; k < ns && n < 8; k++) {
        char *eq = strchr(specs[k], '=');
        if (!eq) continue;
        *eq = 0;
        s[n].label = specs[k];
        s[n].n = bu_read_intervals(eq + 1, &s[n].iv, &s[n].span);
        n++;
    }
    /* Decades shown: pauses from 1 us (or lower) to the longest pause. */
    int plo = 3, phi = 4;
    for (int k = 0; k < n; k++)
        for (long i = 0; i < s[k].n; i++) {
            double d = (double)s[k].iv[i].dur;
            if (d < 1) d = 1;
            int lo = (int)floor(log10(d)), hi = (int)ceil(log10(d));
            if (lo < plo) plo = lo;
            if (hi > phi) phi = hi;
        }
    if (phi == plo) phi++;
    int mlo = 5, mhi = 9; /* windows 100 us .. 1 s, up to the longest run */
    for (int k = 0; k < n; k++)
        if (s[k].n >= 0 && s[k].span > 1e9) mhi = (int)ceil(log10((double)s[k].span));
    if (mhi > 10) mhi = 10;

    FILE *f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, "gcstat: cannot write %s\n", out);
        return 1;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<style>.t{font-size:14px;font-weight:bold}.k{font-size:11px;fill:#333}"
            ".g{stroke:#ddd;stroke-width:1}</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"22\" class=\"t\" text-anchor=\"middle\">%s</text>\n",
            W, H, W, H, W / 2, title);
    axes(f, 0, plo, phi, "pause duration", "share of pauses &lt;= x",
         "stop-the-world pause distribution");
    axes(f, 1, mlo, mhi, "window", "minimum mutator utilisation", "MMU (stop-the-world pauses)");

    double lx = px[0];
    for (int k = 0; k < n; k++) {
        const char *col = colors[k % 6];
        char legend[160];
        if (s[k].n < 0) {
            snprintf(legend, sizeof legend, "%s: skipped", s[k].label);
        } else {
            /* Pause distribution: a step line through the sorted durations. */
            uint64_t *d = bu_xmalloc((size_t)(s[k].n + 1) * sizeof *d);
            for (long i = 0; i < s[k].n; i++) d[i] = s[k].iv[i].dur;
            qsort(d, (size_t)s[k].n, sizeof *d, bu_cmp_u64);
            if (s[k].n > 0) {
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
                double prev = ylin(0);
                fprintf(f, "%.1f,%.1f", xlog(0, d[0] ? (double)d[0] : 1, plo, phi), prev);
                long step = s[k].n > 2000 ? s[k].n / 1000 : 1;
                for (long i = 0; i < s[k].n; i += step) {
                    double x = xlog(0, d[i] ? (double)d[i] : 1, plo, phi);
                    double y = ylin((double)(i + 1) / (double)s[k].n);
                    fprintf(f, " %.1f,%.1f %.1f,%.1f", x, prev, x, y);
                    prev = y;
                }
                double xe = xlog(0, d[s[k].n - 1] ? (double)d[s[k].n - 1] : 1, plo, phi);
                fprintf(f, " %.1f,%.1f %.1f,%.1f\"/>\n", xe, prev, xe, ylin(1));
            }
            free(d);
            /* MMU curve: 10 points per decade. */
            size_t m = mgc_mmu_merge(s[k].iv, (size_t)s[k].n);
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
            for (int i = 0; i <= (mhi - mlo) * 10; i++) {
                double w = pow(10, mlo + i / 10.0);
                double u = mgc_mmu(s[k].iv, m, 0, s[k].span, (uint64_t)w);
                fprintf(f, "%s%.1f,%.1f", i ? " " : "", xlog(1, w, mlo, mhi), ylin(u));
            }
            fprintf(f, "\"/>\n");
            snprintf(legend, sizeof legend, "%s (%ld pauses)", s[k].label, s[k].n);
            free(s[k].iv);
        }
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>\n"
                "<text x=\"%.1f\" y=\"%d\" class=\"k\">%s</text>\n",
                lx, LEGEND_Y - 4, lx + 20, LEGEND_Y - 4, col, lx + 25, LEGEND_Y, legend);
        lx += 30 + 7 * (double)strlen(legend);
    }
    fprintf(f, "</svg>\n");
    fclose(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "gotrace")) return gotrace(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "summary")) return summary(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "svg")) return svg(argv[2], argv[3], argc - 4, argv + 4);
    fprintf(stderr, "usage: gcstat gotrace SPAN_S | summary FILE | svg OUT TITLE LABEL=FILE...\n");
    return 2;
}
