/*
 * svg.c -- the picture.  One SVG, top to bottom: title and legend, the
 * timeline (a lane per thread, STW pauses also as bands across every
 * lane), the heap chart on the same time axis, then the MMU curve beside
 * the pause histogram.  Slices narrower than a few pixels are drawn as
 * per-column density (see draw_lane), in columns that widen until the
 * whole picture fits in MAX_ELEMENTS.  Drawing reads the model and the
 * statistics and changes neither.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgc-trace.h"

#define SVG_W 1200
#define PLOT_X0 150.0
#define PLOT_X1 (SVG_W - 30.0)
#define MAX_ELEMENTS 20000

/* How each kind of slice is named and coloured. */
static const struct {
    const char *label, *plural, *color;
} kinds[K_NKINDS] = {
    [K_STW] = {"STW pause", "STW pauses", "#d62728"},
    [K_MARK] = {"mark", "mark phases", "#1f77b4"},
    [K_SWEEP] = {"sweep", "sweep phases", "#2ca02c"},
    [K_CYCLE] = {"GC cycle", "GC cycles", "#c7c7c7"},
    [K_WORKER] = {"mark worker", "mark-worker slices", "#7fb8e0"},
    [K_ASSIST] = {"mark assist", "mark assists", "#ff7f0e"},
    [K_STACK] = {"stack scan", "stack scans", "#9467bd"},
    [K_HANDSHAKE] = {"handshake", "handshakes", "#e377c2"},
};

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            /* XML 1.0 forbids most control characters even escaped. */
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n') fputc(*s, f);
        }
    }
}

typedef struct {
    FILE *f;       /* NULL: only count elements */
    size_t elements;
    const trace *t;
    double scale;  /* px per ns */
    double col;    /* px: width of the columns short slices are summed in */
} svg;

static double xpos(const svg *g, int64_t ns) { return PLOT_X0 + (double)(ns - g->t->t0) * g->scale; }

static void svg_elem(svg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void svg_elem(svg *g, const char *fmt, ...) {
    g->elements++;
    if (!g->f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(g->f, fmt, ap);
    va_end(ap);
}

/* One rectangle of the timeline with its hover text: a single slice
 * (`one`), or `count` slices of kind k that share a few pixels. */
static void emit_box(svg *g, double x0, double x1, double y, double h, enum kind k, double opacity,
                     const slice *one, size_t count, int64_t busy) {
    svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"", x0, y,
             x1 - x0, h, kinds[k].color);
    if (g->f && opacity < 1) fprintf(g->f, " fill-opacity=\"%.2f\"", opacity);
    svg_elem(g, "><title>");
    if (!g->f) return;
    if (one) {
        const char *what = k == K_STW ? (one->setup ? "STW mark setup" : "STW mark termination")
                                      : kinds[k].label;
        fprintf(g->f, "%s", what);
        if (one->cycle >= 0) fprintf(g->f, ", cycle %lld", (long long)one->cycle);
        fprintf(g->f, ": %s at %s", DUR(one->dur), DUR(one->ts - g->t->t0));
        if (one->stop_ns >= 0) fprintf(g->f, " (stopping took %s)", DUR(one->stop_ns));
    } else {
        fprintf(g->f, "%zu %s, %s in all", count, count == 1 ? kinds[k].label : kinds[k].plural,
                DUR(busy));
    }
    fprintf(g->f, "</title></rect>\n");
}

/* Draw the slices of the kinds ks[] (of thread `tid`, or of all threads
 * if any_tid) in one lane.
 *
 * A slice at least WIDE_PX wide is its own box.  Narrower ones are summed
 * per kind into columns of g->col pixels, and each column shows the share
 * of its time they cover as the height of a bar, the kinds stacked in the
 * order given; a run of columns with the same bar (in LEVELS steps) is one
 * box.  So a long trace reads as a small utilisation chart per thread
 * instead of a smear of one-pixel boxes, and a lone short pause still
 * shows (a bar is at least one level high).  `band` draws the faint STW
 * highlight across all lanes instead, with the share as its opacity;
 * `label` writes "GC n" into cycle boxes wide enough for it. */
#define WIDE_PX 3.0
#define LEVELS 8
typedef struct {
    double *cov;  /* share of each column covered, may exceed 1 */
    size_t *cnt;  /* slices starting in each column */
    int64_t *busy;
} columns;

static int level_of(const columns *cl, size_t c) {
    if (!cl->cnt[c] && cl->cov[c] <= 0) return 0;
    int l = (int)ceil((cl->cov[c] > 1 ? 1 : cl->cov[c]) * LEVELS);
    return l < 1 ? 1 : l;
}

/* A wide slice is drawn now; a narrow one is added to its columns. */
static void place_slice(svg *g, const slice *s, columns *cl, size_t ncols, double y, double h,
                        int band, int label) {
    double x0 = xpos(g, s->ts), x1 = xpos(g, s->ts + s->dur);
    if (x1 - x0 >= WIDE_PX) {
        emit_box(g, x0, x1, y, h, s->kind, band ? 0.3 : 1, s, 1, s->dur);
        if (label && x1 - x0 > 40)
            svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">GC %lld</text>\n", x0 + 3,
                     y + h - 4, (long long)s->cycle);
        return;
    }
    /* Its share of each column it touches; the slice is counted in the
     * column where it starts. */
    double c0 = (x0 - PLOT_X0) / g->col, c1 = (x1 - PLOT_X0) / g->col;
    size_t first = c0 < 0 ? 0 : (size_t)c0;
    if (first >= ncols) first = ncols - 1;
    cl->cnt[first]++;
    cl->busy[first] += s->dur;
    for (size_t c = first; c < ncols && (double)c < c1; c++) {
        double lo = c0 > (double)c ? c0 : (double)c;
        double hi = c1 < (double)(c + 1) ? c1 : (double)(c + 1);
        if (hi > lo) cl->cov[c] += hi - lo;
    }
}

static void draw_lane(svg *g, const enum kind *ks, size_t nk, int64_t tid, int any_tid, double y,
                      double h, int band, int label) {
    const trace *t = g->t;
    size_t ncols = (size_t)ceil((PLOT_X1 - PLOT_X0) / g->col);
    columns cl[K_NKINDS];
    int *base = calloc(ncols, sizeof *base);
    if (!base) die("out of memory");
    for (size_t i = 0; i < nk; i++) {
        cl[i].cov = calloc(ncols, sizeof *cl[i].cov);
        cl[i].cnt = calloc(ncols, sizeof *cl[i].cnt);
        cl[i].busy = calloc(ncols, sizeof *cl[i].busy);
        if (!cl[i].cov || !cl[i].cnt || !cl[i].busy) die("out of memory");
    }
    /* Kind by kind, so wide boxes of a later kind lie on top. */
    for (size_t ki = 0; ki < nk; ki++) {
        for (size_t i = 0; i < t->ns; i++) {
            const slice *s = &t->s[i];
            if (s->kind == ks[ki] && (any_tid || s->tid == tid))
                place_slice(g, s, &cl[ki], ncols, y, h, band, label);
        }
    }
    for (size_t i = 0; i < nk; i++) {
        for (size_t c = 0; c < ncols;) {
            int level = level_of(&cl[i], c), b0 = base[c];
            size_t e = c + 1, n = cl[i].cnt[c];
            int64_t busy = cl[i].busy[c];
            while (e < ncols && level_of(&cl[i], e) == level && (band || base[e] == b0)) {
                n += cl[i].cnt[e];
                busy += cl[i].busy[e];
                e++;
            }
            if (level > 0 && n > 0) {
                double q = (double)level / LEVELS;
                double x0 = PLOT_X0 + (double)c * g->col, x1 = PLOT_X0 + (double)e * g->col;
                if (x1 > PLOT_X1) x1 = PLOT_X1;
                if (band) {
                    emit_box(g, x0, x1, y, h, ks[i], 0.3 * q, NULL, n, busy);
                } else {
                    int top = b0 + level > LEVELS ? LEVELS : b0 + level;
                    emit_box(g, x0, x1, y + h - h * top / LEVELS, h * (top - b0) / LEVELS, ks[i], 1,
                             NULL, n, busy);
                }
            }
            for (size_t k = c; k < e; k++) base[k] = b0 + level > LEVELS ? LEVELS : b0 + level;
            c = e;
        }
        free(cl[i].cov);
        free(cl[i].cnt);
        free(cl[i].busy);
    }
    free(base);
}

/* 1-2-5 steps: the smallest giving at most `max_ticks` ticks over span. */
static double nice_step(double span, int max_ticks) {
    double step = 1e-9;
    for (int i = 0; span / step > max_ticks; i++) step *= (i % 3 == 1) ? 2.5 : 2;
    return step;
}

static void time_axis(svg *g, double ytop, double ybot) {
    double span = run_ns(g->t);
    if (span <= 0) return;
    double step = nice_step(span, 12);
    const char *unit = span < 2e6 ? "µs" : span < 2e9 ? "ms" : "s";
    double div = span < 2e6 ? 1e3 : span < 2e9 ? 1e6 : 1e9;
    for (double v = 0; v <= span * 1.0000001; v += step) {
        double x = PLOT_X0 + v * g->scale;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x,
                 ytop, x, ybot);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%g %s</text>\n",
                 x, ybot + 14, v / div, unit);
    }
}

static void legend_item(svg *g, double x, double y, const char *color, const char *label, int line) {
    if (line)
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
                 x, y - 4, x + 18, y - 4, color);
    else
        svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10,
                 color);
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">", x + (line ? 24 : 17), y);
    if (g->f) {
        xml_text(g->f, label);
        fputs("</text>\n", g->f);
    }
}

/* Returns the y just below the lanes. */
static double draw_lanes(svg *g, double y, double lane_h) {
    const trace *t = g->t;
    double top = y;
    size_t nlanes = 1;
    for (size_t i = 0; i < t->nth; i++) nlanes += t->th[i].used || t->th[i].name;
    double bottom = top + (double)nlanes * lane_h;
    double fs = lane_h - 3 < 12 ? lane_h - 3 : 12;

    /* Stripes first, so everything else lies on them. */
    for (size_t l = 0; l < nlanes; l += 2)
        svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f3f3f3\"/>\n",
                 PLOT_X0, top + (double)l * lane_h, PLOT_X1 - PLOT_X0, lane_h);
    time_axis(g, top, bottom);
    /* Pauses stop every thread: a band across all lanes, under the boxes. */
    static const enum kind stw[] = {K_STW}, cycle[] = {K_CYCLE};
    draw_lane(g, stw, 1, 0, 1, top, bottom - top, 1, 0);

    double pad = lane_h > 10 ? 3 : 1, bh = lane_h - 2 * pad;
    if (fs >= 6)
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"lane\" style=\"font-size:%.0fpx\">GC cycles</text>\n",
                 PLOT_X0 - 8, y + lane_h / 2 + fs / 3, fs);
    draw_lane(g, cycle, 1, 0, 1, y + pad, bh, 0, 1);
    y += lane_h;
    for (size_t i = 0; i < t->nth; i++) {
        const thread *th = &t->th[i];
        if (!th->used && !th->name) continue;
        if (fs >= 6) {
            svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"lane\" style=\"font-size:%.0fpx\">",
                     PLOT_X0 - 8, y + lane_h / 2 + fs / 3, fs);
            if (g->f) {
                if (th->name) {
                    /* The label column holds about 18 characters. */
                    char cut[96];
                    size_t n = 0, chars = 0;
                    const char *nm = th->name;
                    while (nm[n] && n < sizeof cut - 4 && chars < 18)
                        chars += ((unsigned char)nm[n++] & 0xC0) != 0x80;
                    while (((unsigned char)nm[n] & 0xC0) == 0x80 && n < sizeof cut - 4) n++;
                    memcpy(cut, nm, n);
                    strcpy(cut + n, nm[n] ? "…" : "");
                    xml_text(g->f, cut);
                } else {
                    fprintf(g->f, "tid %lld", (long long)th->tid);
                }
                fputs("</text>\n", g->f);
            }
        }
        /* Phases under slices under pauses: a pause that overlaps the
         * mark phase must stay visible on the coordinator's lane. */
        static const enum kind order[] = {K_MARK, K_SWEEP, K_WORKER, K_ASSIST, K_STACK, K_HANDSHAKE, K_STW};
        draw_lane(g, order, sizeof order / sizeof order[0], th->tid, 0, y + pad, bh, 0, 0);
        y += lane_h;
    }
    svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", PLOT_X0,
             top, PLOT_X1 - PLOT_X0, bottom - top);
    return bottom;
}

/* A step line for one heap series, at most four points per pixel column:
 * entry, extremes and exit, so the sawtooth of allocation and collection
 * keeps its peaks however many samples there are. */
static void heap_line(svg *g, size_t which, double y0, double h, double vmax, const char *color,
                      const char *dash) {
    const trace *t = g->t;
    svg_elem(g, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", color, dash);
    if (!g->f) return;
    double prev = NAN;
    long col = -1;
    double cmin = 0, cmax = 0, cfirst = 0, clast = 0;
    for (size_t i = 0; i <= t->nh; i++) {
        double v = NAN;
        long c = LONG_MAX;
        if (i < t->nh) {
            v = which == 0 ? t->h[i].live : which == 1 ? t->h[i].goal : t->h[i].sys;
            if (isnan(v)) continue;
            c = lround(xpos(g, t->h[i].ts));
        }
        if (c != col && col >= 0) {
            double x = (double)col;
            if (!isnan(prev)) fprintf(g->f, "%.1f,%.1f ", x, y0 + h - prev / vmax * h);
            double a = cfirst <= clast ? cmin : cmax, b = cfirst <= clast ? cmax : cmin;
            fprintf(g->f, "%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f ", x, y0 + h - cfirst / vmax * h, x,
                    y0 + h - a / vmax * h, x, y0 + h - b / vmax * h, x, y0 + h - clast / vmax * h);
            prev = clast;
        }
        if (i == t->nh) break;
        if (c != col) {
            col = c;
            cmin = cmax = cfirst = clast = v;
        } else {
            if (v < cmin) cmin = v;
            if (v > cmax) cmax = v;
            clast = v;
        }
    }
    if (!isnan(prev)) fprintf(g->f, "%.1f,%.1f", PLOT_X1, y0 + h - prev / vmax * h);
    fputs("\"/>\n", g->f);
}

static double draw_heap(svg *g, double y) {
    const trace *t = g->t;
    const double h = 130;
    double vmax = 0;
    for (size_t i = 0; i < t->nh; i++) {
        double v[3] = {t->h[i].live, t->h[i].goal, t->h[i].sys};
        for (int k = 0; k < 3; k++)
            if (!isnan(v[k]) && v[k] > vmax) vmax = v[k];
    }
    svg_elem(g, "<text x=\"10\" y=\"%.1f\" class=\"title2\">heap (MB)</text>\n", y + 12);
    if (t->nh == 0 || vmax <= 0) {
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">no heap counter events in the trace</text>\n",
                 PLOT_X0 + 10, y + 20);
        return y + 30;
    }
    double step = nice_step(vmax * 1e9, 5) / 1e9;
    vmax = ceil(vmax / step) * step;
    for (double v = 0; v <= vmax * 1.0000001; v += step) {
        double yy = y + h - v / vmax * h;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", PLOT_X0, yy,
                 PLOT_X1, yy);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%g</text>\n",
                 PLOT_X0 - 6, yy + 4, v);
    }
    heap_line(g, 2, y, h, vmax, "#7f7f7f", "");
    heap_line(g, 1, y, h, vmax, "#e377c2", " stroke-dasharray=\"6 3\"");
    heap_line(g, 0, y, h, vmax, "#1f3f8f", "");
    svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", PLOT_X0,
             y, PLOT_X1 - PLOT_X0, h);
    double lx = 14;
    legend_item(g, lx, y + 40, "#1f3f8f", "live", 1);
    legend_item(g, lx, y + 58, "#e377c2", "goal", 1);
    legend_item(g, lx, y + 76, "#7f7f7f", "from the OS", 1);
    return y + h;
}

/* Bottom left: MMU against a log window axis, both definitions. */
static void draw_mmu(svg *g, const stats *st, double x0, double y0, double w, double h) {
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"title2\">Minimum mutator utilisation</text>\n", x0,
             y0 - 12);
    for (int i = 0; i <= 4; i++) {
        double yy = y0 + h - h * i / 4.0;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x0, yy,
                 x0 + w, yy);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.2f</text>\n", x0 - 6,
                 yy + 4, i / 4.0);
    }
    static const char *const xl[] = {"1 ms", "2", "5", "10 ms", "20", "50", "100 ms", "200", "500", "1 s"};
    for (size_t i = 0; i < N_MMU_WINDOWS; i++) {
        double x = x0 + w * log10((double)mmu_windows_ms[i]) / 3.0;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x, y0, x,
                 y0 + h);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", x,
                 y0 + h + 15, xl[i]);
    }
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">window</text>\n",
             x0 + w / 2, y0 + h + 32);
    /* Where windows reach past the run every value is the whole run's. */
    double run_ms = run_ns(g->t) / 1e6;
    if (run_ms > 1 && run_ms < 1000) {
        double x = x0 + w * log10(run_ms) / 3.0;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"3 3\"/>\n",
                 x, y0, x, y0 + h);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">run length</text>\n",
                 x - 4, y0 + h - 8);
    }
    /* The most held thread's curve (STW pauses and its own holds) lies
     * between the other two; drawn only if some thread was held. */
    const mgc_interval *iv[3] = {st->stw, st->stop_all, st->held0};
    size_t n[3] = {st->nstw, st->nstop_all, st->nheld0};
    const char *color[3] = {"#d62728", "#ff7f0e", "#9467bd"};
    const char *dash[3] = {"", " stroke-dasharray=\"6 3\"", " stroke-dasharray=\"2 2\""};
    uint64_t span = (uint64_t)(g->t->t1 - g->t->t0);
    for (int c = st->nheld ? 2 : 1; c >= 0; c--) {
        svg_elem(g, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color[c], dash[c]);
        if (g->f) {
            for (int i = 0; i <= 120; i++) {
                double ms = pow(10, i / 40.0);
                double u = mgc_mmu(iv[c], n[c], 0, span, (uint64_t)(ms * 1e6));
                fprintf(g->f, "%.1f,%.1f ", x0 + w * i / 120.0, y0 + h - u * h);
            }
            fputs("\"/>\n", g->f);
        }
    }
    svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", x0, y0, w, h);
    legend_item(g, x0 + 10, y0 + h + 52, color[0], "STW pauses only", 1);
    legend_item(g, x0 + 150, y0 + h + 52, color[1], "STW + assists + holds (pessimistic)", 1);
    if (st->nheld) legend_item(g, x0 + 400, y0 + h + 52, color[2], "most held thread", 1);
}

static void hist_label(char *buf, size_t n, uint64_t ns) {
    if (ns < 1000000) snprintf(buf, n, "%llu µs", (unsigned long long)(ns / 1000));
    else if (ns < 1000000000) snprintf(buf, n, "%llu ms", (unsigned long long)(ns / 1000000));
    else snprintf(buf, n, "%llu s", (unsigned long long)(ns / 1000000000));
}

/* Bottom right: pause counts per 1-2-5 bucket, setup and termination
 * stacked, over the buckets from the shortest to the longest pause. */
static void draw_hist(svg *g, const stats *st, double x0, double y0, double w, double h) {
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"title2\">STW pause durations (%zu pauses)</text>\n",
             x0, y0 - 12, st->npause);
    svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", x0, y0, w, h);
    if (!st->npause) {
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">no pauses in the trace</text>\n", x0 + 10,
                 y0 + 20);
        return;
    }
    unsigned lo = MGC_HIST_NBUCKETS, hi = 0;
    int cmax = 0;
    for (unsigned b = 0; b < MGC_HIST_NBUCKETS; b++) {
        int c = st->hist[b][0] + st->hist[b][1];
        if (!c) continue;
        if (b < lo) lo = b;
        hi = b;
        if (c > cmax) cmax = c;
    }
    /* At least eight buckets, so one lonely bar still has a scale. */
    while (hi - lo + 1 < 8) {
        if (hi + 1 < MGC_HIST_NBUCKETS) hi++;
        if (hi - lo + 1 < 8 && lo > 0) lo--;
    }
    double step = nice_step(cmax * 1.15 * 1e9, 5) / 1e9;
    if (step < 1) step = 1;
    double top = ceil(cmax * 1.15 / step) * step;
    for (double v = 0; v <= top * 1.0000001; v += step) {
        double yy = y0 + h - v / top * h;
        svg_elem(g, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x0, yy, x0 + w, yy);
        svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%g</text>\n", x0 - 6,
                 yy + 4, v);
    }
    unsigned nb = hi - lo + 1;
    double bw = w / nb;
    const char *col[2] = {"#f4a3a3", "#d62728"};
    for (unsigned b = lo; b <= hi; b++) {
        double x = x0 + (b - lo) * bw, base = y0 + h;
        for (int k = 0; k < 2; k++) {
            int c = st->hist[b][k];
            if (!c) continue;
            double bh = c / top * h;
            svg_elem(g, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x + 2,
                     base - bh, bw - 4, bh, col[k]);
            base -= bh;
        }
        int c = st->hist[b][0] + st->hist[b][1];
        if (c)
            svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%d</text>\n",
                     x + bw / 2, base - 4, c);
        /* Each bucket is labelled at its lower edge. */
        char lab[32];
        if (b == 0) snprintf(lab, sizeof lab, "0");
        else hist_label(lab, sizeof lab, mgc_hist_bound(b - 1));
        if (nb <= 12 || (b - lo) % 2 == 0)
            svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", x,
                     y0 + h + 15, lab);
    }
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">pause duration (bucket lower edge)</text>\n",
             x0 + w / 2, y0 + h + 32);
    legend_item(g, x0 + 10, y0 + h + 52, col[0], "mark setup", 0);
    legend_item(g, x0 + 120, y0 + h + 52, col[1], "mark termination", 0);
}

static void draw_all(svg *g, const stats *st, double lane_h) {
    const trace *t = g->t;
    size_t nlanes = 1;
    for (size_t i = 0; i < t->nth; i++) nlanes += t->th[i].used || t->th[i].name;
    double lanes_top = 96, lanes_bot = lanes_top + (double)nlanes * lane_h;
    double heap_top = lanes_bot + (t->nh ? 34 : 44);
    double bottom_top = heap_top + (t->nh ? 130 : 30) + 70;
    double height = bottom_top + 260 + 70;
    svg_elem(g, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
             SVG_W, height, SVG_W, height);
    svg_elem(g, "<style>.tick{font-size:11px;fill:#333}.lane{font-size:12px;fill:#222;text-anchor:end}"
                ".lbl{font-size:10px;fill:#333}.title2{font-size:15px;font-weight:bold;fill:#222}"
                ".grid{stroke:#ddd;stroke-width:1}.frame{fill:none;stroke:#888;stroke-width:1}</style>\n");
    svg_elem(g, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    svg_elem(g, "<text x=\"20\" y=\"30\" style=\"font-size:20px;font-weight:bold\">mgc trace: ");
    if (g->f) {
        xml_text(g->f, t->path);
        if (t->truncated) fputs(" (truncated)", g->f);
        fputs("</text>\n", g->f);
    }
    svg_elem(g, "<text x=\"20\" y=\"52\" style=\"font-size:13px;fill:#333\">");
    if (g->f) {
        double run = run_ns(t);
        fprintf(g->f, "%s run, %zu GC cycles, %zu STW pauses", DUR(run), st->ncycles, st->npause);
        if (st->npause)
            fprintf(g->f, " (p50 %s, p99 %s, max %s)", DUR(percentile(st->pause, st->npause, 500)),
                    DUR(percentile(st->pause, st->npause, 990)), DUR(st->pause[st->npause - 1]));
        fprintf(g->f, ", MMU(10 ms) %.2f STW only / %.2f with assists and holds / %.2f worst thread</text>\n",
                st->mmu_stw[3], st->mmu_all[3], st->mmu_thread_min[3]);
    }
    static const enum kind leg[] = {K_CYCLE, K_STW, K_MARK, K_SWEEP, K_WORKER, K_ASSIST, K_STACK, K_HANDSHAKE};
    for (size_t i = 0; i < sizeof leg / sizeof leg[0]; i++)
        legend_item(g, PLOT_X0 + 120.0 * (double)i, 78, kinds[leg[i]].color, kinds[leg[i]].label, 0);
    draw_lanes(g, lanes_top, lane_h);
    /* Without heap samples the lanes' own axis is the only one. */
    if (t->nh) time_axis(g, heap_top, heap_top + 130);
    double hb = draw_heap(g, heap_top);
    svg_elem(g, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">time since the trace started</text>\n",
             (PLOT_X0 + PLOT_X1) / 2, t->nh ? hb + 32 : lanes_bot + 30);
    draw_mmu(g, st, 80, bottom_top, 470, 260);
    draw_hist(g, st, 680, bottom_top, 490, 260);
    svg_elem(g, "</svg>\n");
}

void write_svg(const trace *t, const stats *st, const char *path) {
    size_t nlanes = 1;
    for (size_t i = 0; i < t->nth; i++) nlanes += t->th[i].used || t->th[i].name;
    /* Lanes shrink with many threads so the timeline stays about one
     * screen, but keep a readable label down to 10 px; past ~120 lanes
     * the labels go and the lanes shrink to fit 1200 px. */
    double lane_h = 480.0 / (double)nlanes;
    if (lane_h > 22) lane_h = 22;
    if (lane_h < 10) lane_h = 10;
    if (lane_h * (double)nlanes > 1200) lane_h = 1200.0 / (double)nlanes;
    if (lane_h < 2) lane_h = 2;
    double span = run_ns(t);
    svg g = {NULL, 0, t, span > 0 ? (PLOT_X1 - PLOT_X0) / span : 0, 1.0};
    for (;;) {
        g.elements = 0;
        draw_all(&g, st, lane_h);
        if (g.elements <= MAX_ELEMENTS || g.col > PLOT_X1 - PLOT_X0) break;
        g.col *= 2;
    }
    g.f = fopen(path, "w");
    if (!g.f) die("cannot write %s: %s", path, strerror(errno));
    micro = "µs";
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", g.f);
    draw_all(&g, st, lane_h);
    micro = "us";
    if (fclose(g.f) != 0) die("cannot write %s: %s", path, strerror(errno));
}
