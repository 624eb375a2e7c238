/*
 * mgc-trace.c -- read a trace the library wrote (MGC_TRACE_FILE) and say
 * what the collector did to the program: pauses, CPU, MMU, and a picture.
 *
 *   mgc-trace TRACE.json [-o OUT.svg]
 *
 * The input is a Chrome Trace Event file in the streamed JSON Array Format:
 * "[", then one event object per line, each followed by ",", and a closing
 * "]" only if the program exited cleanly.  So a missing "]" or a partial
 * last line is expected after a crash: it is reported and the complete
 * events are analysed.  Anything the format does not define here (names,
 * categories, fields) is ignored, so newer libraries stay readable.
 *
 * Times in the file are microseconds with up to three decimals; they are
 * held here as integer nanoseconds, which is what gc/mmu.c works in.
 *
 * Exit status: 0 when an analysis was printed (also for a truncated
 * trace), 2 for a missing file, a file that is not a trace, bad usage, or
 * an SVG that could not be written.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc/mmu.h"

static const char *prog = "mgc-trace";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* Grow a vector to hold at least `need` elements of size `sz`. */
static void *grow(void *p, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return xrealloc(p, c * sz);
}

/* ------------------------------------------------------------------------
 * A tolerant JSON reader.  Each event is parsed into a small tree in an
 * arena that is emptied before the next event, so memory stays bounded by
 * the largest single event, not by the file.
 */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype type;
    double num;              /* J_NUM, J_BOOL */
    const char *str;         /* J_STR: decoded, NUL-terminated */
    const char *key;         /* set when this is an object member */
    struct jval *kids, *next; /* J_ARR, J_OBJ: members in file order */
} jval;

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

typedef struct {
    arena_block *head;
} arena;

static void *arena_alloc(arena *a, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof *b + cap);
        if (!b) die("out of memory");
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

/* Keep one block for the next event; an event never needs more than a few. */
static void arena_reset(arena *a) {
    while (a->head && a->head->next) {
        arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    if (a->head) a->head->used = 0;
}

/* JP_EOF is kept apart from JP_SYNTAX: running out of input in the middle
 * of a value is what a crash leaves, not a malformed file. */
enum { JP_OK, JP_SYNTAX, JP_EOF };

typedef struct {
    const char *p, *end;
    int err;
    arena *a;
} jparser;

static void skip_ws(jparser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static jval *fail(jparser *ps, int err) {
    if (!ps->err) ps->err = err;
    return NULL;
}

static jval *new_val(jparser *ps, jtype t) {
    jval *v = arena_alloc(ps->a, sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static char *put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* At the opening quote.  Decoding never makes a string longer than its
 * source, so the source length bounds the buffer. */
static const char *parse_string(jparser *ps) {
    const char *s = ++ps->p, *q = s;
    while (q < ps->end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= ps->end) return (const char *)fail(ps, JP_EOF);
    char *out = arena_alloc(ps->a, (size_t)(q - s) + 1), *o = out;
    for (const char *p = s; p < q;) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - p < 4 || !hex4(p, &cp)) return (const char *)fail(ps, JP_SYNTAX);
            p += 4;
            /* A surrogate pair is one code point in two escapes; a lone
             * surrogate has no UTF-8 form and becomes U+FFFD. */
            if (cp >= 0xD800 && cp < 0xDC00 && q - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            o = put_utf8(o, cp);
            break;
        }
        default: return (const char *)fail(ps, JP_SYNTAX);
        }
    }
    *o = 0;
    ps->p = q + 1;
    return out;
}

static jval *parse_value(jparser *ps, int depth);

/* Shared by arrays and objects: members separated by ',' up to `close`. */
static jval *parse_container(jparser *ps, int depth, jtype t, char close) {
    jval *v = new_val(ps, t), **tail = &v->kids;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        skip_ws(ps);
        const char *key = NULL;
        if (t == J_OBJ) {
            if (ps->p >= ps->end) return fail(ps, JP_EOF);
            if (*ps->p != '"') return fail(ps, JP_SYNTAX);
            if (!(key = parse_string(ps))) return NULL;
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, JP_EOF);
            if (*ps->p++ != ':') return fail(ps, JP_SYNTAX);
        }
        jval *m = parse_value(ps, depth + 1);
        if (!m) return NULL;
        m->key = key;
        *tail = m;
        tail = &m->next;
        skip_ws(ps);
        if (ps->p >= ps->end) return fail(ps, JP_EOF);
        char c = *ps->p++;
        if (c == close) return v;
        if (c != ',') return fail(ps, JP_SYNTAX);
    }
}

static jval *parse_literal(jparser *ps, const char *word, jtype t, double num) {
    size_t n = strlen(word), have = (size_t)(ps->end - ps->p);
    if (strncmp(ps->p, word, have < n ? have : n) != 0) return fail(ps, JP_SYNTAX);
    if (have < n) return fail(ps, JP_EOF);
    ps->p += n;
    jval *v = new_val(ps, t);
    v->num = num;
    return v;
}

static jval *parse_value(jparser *ps, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, JP_EOF);
    if (depth > 64) return fail(ps, JP_SYNTAX); /* no stack overflow on junk */
    char c = *ps->p;
    if (c == '{') return parse_container(ps, depth, J_OBJ, '}');
    if (c == '[') return parse_container(ps, depth, J_ARR, ']');
    if (c == '"') {
        jval *v = new_val(ps, J_STR);
        return (v->str = parse_string(ps)) ? v : NULL;
    }
    if (c == 't') return parse_literal(ps, "true", J_BOOL, 1);
    if (c == 'f') return parse_literal(ps, "false", J_BOOL, 0);
    if (c == 'n') return parse_literal(ps, "null", J_NULL, 0);
    if (c == '-' || (c >= '0' && c <= '9')) {
        /* The buffer is NUL-terminated, so strtod cannot run off its end;
         * the first-character check keeps out strtod's "inf" and "nan". */
        char *e;
        double d = strtod(ps->p, &e);
        if (e == ps->p) return fail(ps, e >= ps->end - 1 ? JP_EOF : JP_SYNTAX);
        ps->p = e;
        jval *v = new_val(ps, J_NUM);
        v->num = d;
        return v;
    }
    return fail(ps, JP_SYNTAX);
}

static const jval *jget(const jval *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (const jval *m = obj->kids; m; m = m->next)
        if (!strcmp(m->key, key)) return m;
    return NULL;
}

static const char *jstr(const jval *obj, const char *key) {
    const jval *v = jget(obj, key);
    return v && v->type == J_STR ? v->str : NULL;
}

static int jnum(const jval *obj, const char *key, double *out) {
    const jval *v = jget(obj, key);
    if (!v || v->type != J_NUM) return 0;
    *out = v->num;
    return 1;
}

static double jnum_or(const jval *obj, const char *key, double dflt) {
    double d;
    return jnum(obj, key, &d) ? d : dflt;
}

/* ------------------------------------------------------------------------
 * The model: what the trace says, in nanoseconds.
 */

enum kind { K_STW, K_MARK, K_SWEEP, K_CYCLE, K_WORKER, K_ASSIST, K_STACK, K_NKINDS };

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
};

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

static thread *thread_of(trace *t, int64_t tid) {
    for (size_t i = 0; i < t->nth; i++)
        if (t->th[i].tid == tid) return &t->th[i];
    t->th = grow(t->th, &t->cap_th, t->nth + 1, sizeof *t->th);
    thread *th = &t->th[t->nth++];
    memset(th, 0, sizeof *th);
    th->tid = tid;
    return th;
}

/* Clamped to +-4e15 us (over a century), so that a garbage time can
 * neither overflow the conversion nor a later ts + dur. */
static int64_t us_to_ns(double us) {
    if (!(us > -4e15)) us = isnan(us) ? 0 : -4e15;
    if (us > 4e15) us = 4e15;
    return (int64_t)llround(us * 1000.0);
}

static void note_time(trace *t, int64_t a, int64_t b) {
    if (a < t->t0) t->t0 = a;
    if (b > t->t1) t->t1 = b;
}

static int classify(const char *cat, const char *name, enum kind *k) {
    if (!cat || !name) return 0;
    if (!strcmp(cat, "stw")) *k = K_STW;
    else if (!strcmp(cat, "phase") && !strcmp(name, "mark")) *k = K_MARK;
    else if (!strcmp(cat, "phase") && !strcmp(name, "sweep")) *k = K_SWEEP;
    else if (!strcmp(cat, "cycle")) *k = K_CYCLE;
    else if (!strcmp(cat, "worker")) *k = K_WORKER;
    else if (!strcmp(cat, "assist")) *k = K_ASSIST;
    else if (!strcmp(cat, "stack")) *k = K_STACK;
    else return 0;
    return 1;
}

static void add_metadata(trace *t, const jval *ev, const char *name) {
    const jval *args = jget(ev, "args");
    if (!strcmp(name, "thread_name")) {
        const char *tn = jstr(args, "name");
        double tid;
        if (!tn || !jnum(ev, "tid", &tid)) return;
        thread *th = thread_of(t, (int64_t)tid);
        free(th->name);
        th->name = strdup(tn);
    } else if (!strcmp(name, "mgc_info")) {
        double n;
        if (jnum(args, "ncpu", &n) && n >= 1) t->ncpu = (int)n;
        const char *v = jstr(args, "version");
        if (v) snprintf(t->version, sizeof t->version, "%s", v);
    }
}

static void add_event(trace *t, const jval *ev) {
    const char *ph = jstr(ev, "ph"), *name = jstr(ev, "name");
    if (!ph || !name) return;
    double ts, dur;
    if (!strcmp(ph, "M")) {
        add_metadata(t, ev, name);
    } else if (!strcmp(ph, "C") && jnum(ev, "ts", &ts)) {
        note_time(t, us_to_ns(ts), us_to_ns(ts));
        if (strcmp(name, "heap")) return;
        const jval *args = jget(ev, "args");
        t->h = grow(t->h, &t->cap_h, t->nh + 1, sizeof *t->h);
        t->h[t->nh++] = (heap_sample){us_to_ns(ts), jnum_or(args, "live_MB", NAN),
                                      jnum_or(args, "goal_MB", NAN), jnum_or(args, "sys_MB", NAN)};
    } else if (!strcmp(ph, "X") && jnum(ev, "ts", &ts)) {
        dur = jnum_or(ev, "dur", 0);
        if (dur < 0) dur = 0;
        slice s = {.ts = us_to_ns(ts), .dur = us_to_ns(dur), .stop_ns = -1};
        note_time(t, s.ts, s.ts + s.dur);
        if (!classify(jstr(ev, "cat"), name, &s.kind)) return;
        const jval *args = jget(ev, "args");
        s.tid = (int64_t)jnum_or(ev, "tid", 0);
        s.cycle = (int64_t)jnum_or(args, "cycle", -1);
        s.forced = jnum_or(args, "forced", 0) != 0;
        s.setup = strstr(name, "setup") != NULL;
        double stop;
        if (jnum(args, "stop_us", &stop)) s.stop_ns = us_to_ns(stop);
        /* The cycle lane is the trace's own; a cycle is no thread's work. */
        if (s.kind != K_CYCLE) thread_of(t, s.tid)->used = 1;
        t->s = grow(t->s, &t->cap_s, t->ns + 1, sizeof *t->s);
        t->s[t->ns++] = s;
    }
}

static size_t line_of(const char *buf, const char *p) {
    size_t n = 1;
    for (const char *q = buf; q < p; q++) n += *q == '\n';
    return n;
}

static void load(trace *t, const char *path) {
    memset(t, 0, sizeof *t);
    t->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        buf = grow(buf, &cap, len + 65536 + 1, 1);
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) die("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    buf[len] = 0;

    jparser ps = {buf, buf + len, 0, &(arena){NULL}};
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) ps.p += 3; /* a UTF-8 BOM */
    skip_ws(&ps);
    if (ps.p >= ps.end) die("%s is empty, not a trace", path);
    if (*ps.p != '[')
        die("%s is not an mgc trace: a Chrome trace file (JSON array format) starts with '['",
            path);
    ps.p++;
    t->truncated = 1;
    for (;;) {
        skip_ws(&ps);
        if (ps.p >= ps.end) break;
        if (*ps.p == ']') {
            t->truncated = 0;
            break;
        }
        /* Every event is followed by ',', also the last one before "]". */
        if (*ps.p == ',') {
            ps.p++;
            continue;
        }
        const char *start = ps.p;
        ps.err = JP_OK;
        jval *v = parse_value(&ps, 0);
        if (v) {
            if (v->type == J_OBJ) {
                t->events++;
                add_event(t, v);
            }
        } else if (ps.err == JP_EOF) {
            t->partial_line = 1;
            break;
        } else {
            /* Skip the bad line, keep the rest: one corrupt event should
             * not cost the whole analysis. */
            if (t->bad_lines++ < 5)
                fprintf(stderr, "%s: %s:%zu: malformed event skipped\n", prog, path,
                        line_of(buf, start));
            const char *nl = memchr(start, '\n', (size_t)(ps.end - start));
            ps.p = nl ? nl + 1 : ps.end;
        }
        arena_reset(ps.a);
    }
    arena_reset(ps.a);
    free(ps.a->head);
    free(buf);
    if (t->bad_lines > 5)
        fprintf(stderr, "%s: %s: %zu malformed events skipped in all\n", prog, path, t->bad_lines);
    if (t->truncated)
        fprintf(stderr,
                "%s: %s is truncated after %zu complete events%s (the program crashed or did "
                "not exit cleanly); analysing those\n",
                prog, path, t->events, t->partial_line ? " and a partial one" : "");
}

/* ------------------------------------------------------------------------
 * Analysis.
 */

static enum group group_of(const thread *th) {
    if (!th->name) return G_OTHER;
    if (!strcmp(th->name, "mgc-gc")) return G_COORD;
    if (!strncmp(th->name, "mgc-mark", 8)) return G_WORKER;
    if (!strncmp(th->name, "mutator", 7)) return G_MUTATOR;
    return G_OTHER;
}

/* The number in "mgc-mark 3" / "mutator 12", for a natural lane order. */
static long name_number(const char *s) {
    if (!s) return -1;
    while (*s && (*s < '0' || *s > '9')) s++;
    return *s ? strtol(s, NULL, 10) : -1;
}

static int cmp_thread(const void *a, const void *b) {
    const thread *x = a, *y = b;
    enum group gx = group_of(x), gy = group_of(y);
    if (gx != gy) return gx < gy ? -1 : 1;
    long nx = name_number(x->name), ny = name_number(y->name);
    if (nx != ny) return nx < ny ? -1 : 1;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_slice(const void *a, const void *b) {
    const slice *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->dur < y->dur) - (x->dur > y->dur);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (the smallest value with at least p per mille
 * of the values at or below it), in integers so p50 of 10 is the 5th. */
static int64_t percentile(const int64_t *sorted, size_t n, unsigned permille) {
    if (n == 0) return 0;
    size_t r = (permille * n + 999) / 1000;
    return sorted[r < 1 ? 0 : r - 1];
}

/* Busy intervals of the given kinds, merged, relative to nothing (ns). */
static size_t busy_intervals(const trace *t, unsigned kindmask, mgc_interval **out) {
    mgc_interval *iv = xrealloc(NULL, (t->ns + 1) * sizeof *iv);
    size_t n = 0;
    for (size_t i = 0; i < t->ns; i++)
        if (kindmask >> t->s[i].kind & 1 && t->s[i].dur > 0)
            iv[n++] = (mgc_interval){(uint64_t)(t->s[i].ts - t->t0), (uint64_t)t->s[i].dur};
    *out = iv;
    return mgc_mmu_merge(iv, n);
}

#define BIT(k) (1u << (k))
#define PAUSE_KINDS BIT(K_STW)
#define STOP_KINDS (BIT(K_STW) | BIT(K_ASSIST) | BIT(K_STACK))

static const uint64_t mmu_windows_ms[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
#define N_MMU_WINDOWS (sizeof mmu_windows_ms / sizeof mmu_windows_ms[0])

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
} stats;

static double run_ns(const trace *t) { return (double)(t->t1 - t->t0); }

static void analyse(trace *t, stats *st) {
    memset(st, 0, sizeof *st);
    if (t->ns) qsort(t->s, t->ns, sizeof *t->s, cmp_slice);
    if (t->nth) qsort(t->th, t->nth, sizeof *t->th, cmp_thread);
    st->pause = xrealloc(NULL, (t->ns + 1) * sizeof *st->pause);
    st->stop = xrealloc(NULL, (t->ns + 1) * sizeof *st->stop);
    for (size_t i = 0; i < t->ns; i++) {
        const slice *s = &t->s[i];
        st->kind_total[s->kind] += s->dur;
        if (s->kind == K_CYCLE) {
            st->ncycles++;
            st->nforced += s->forced;
        } else if (s->kind == K_STW) {
            st->pause[st->npause++] = s->dur;
            st->npause_setup += s->setup;
            st->hist[mgc_hist_bucket((uint64_t)s->dur)][!s->setup]++;
            if (s->stop_ns >= 0) st->stop[st->nstop++] = s->stop_ns;
        }
    }
    st->pause_total = st->kind_total[K_STW];
    qsort(st->pause, st->npause, sizeof *st->pause, cmp_i64);
    qsort(st->stop, st->nstop, sizeof *st->stop, cmp_i64);
    for (size_t i = 0; i < t->nth; i++) {
        if (!t->th[i].used && !t->th[i].name) continue;
        st->nthreads++;
        st->ngroup[group_of(&t->th[i])]++;
    }
    st->nstw = busy_intervals(t, PAUSE_KINDS, &st->stw);
    st->nstop_all = busy_intervals(t, STOP_KINDS, &st->stop_all);
    uint64_t span = (uint64_t)(t->t1 - t->t0);
    for (size_t w = 0; w < N_MMU_WINDOWS; w++) {
        st->mmu_stw[w] = mgc_mmu(st->stw, st->nstw, 0, span, mmu_windows_ms[w] * 1000000);
        st->mmu_all[w] = mgc_mmu(st->stop_all, st->nstop_all, 0, span, mmu_windows_ms[w] * 1000000);
    }
    for (size_t i = 0; i < t->nh; i++) {
        if (t->h[i].live > st->peak_live) st->peak_live = t->h[i].live;
        if (t->h[i].sys > st->peak_sys) st->peak_sys = t->h[i].sys;
    }
}

/* A duration for people: us below 1 ms, ms below 1 s, else s.  The
 * terminal gets "us", which any font and grep can take; the SVG "µs". */
static const char *micro = "us";
static const char *fmt_dur(char *buf, size_t n, double ns) {
    if (ns < 1e6) snprintf(buf, n, "%.1f %s", ns / 1e3, micro);
    else if (ns < 1e9) snprintf(buf, n, "%.3f ms", ns / 1e6);
    else snprintf(buf, n, "%.3f s", ns / 1e9);
    return buf;
}
#define DUR(ns) fmt_dur((char[32]){0}, 32, (double)(ns))

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

static void print_report(const trace *t, const stats *st, const char *svg_path) {
    int ncpu = t->ncpu ? t->ncpu : 1;
    printf("mgc trace %s: mgc %s, %d CPU%s%s, %zu event%s\n", t->path,
           t->version[0] ? t->version : "(version unknown)", ncpu, plural((size_t)ncpu),
           t->ncpu ? "" : " (ncpu not in the trace, assumed)", t->events, plural(t->events));
    printf("run          %s, %zu GC cycle%s (%zu forced), %zu thread%s (%zu coordinator, %zu mark "
           "worker%s, %zu mutator%s, %zu other)\n",
           DUR(run_ns(t)), st->ncycles, plural(st->ncycles), st->nforced, st->nthreads,
           plural(st->nthreads), st->ngroup[G_COORD], st->ngroup[G_WORKER],
           plural(st->ngroup[G_WORKER]), st->ngroup[G_MUTATOR], plural(st->ngroup[G_MUTATOR]),
           st->ngroup[G_OTHER]);
    if (t->nh)
        printf("heap         peak live %.1f MB, peak from the OS %.1f MB (%zu samples)\n",
               st->peak_live, st->peak_sys, t->nh);

    double run = run_ns(t);
    printf("STW pauses   %zu (%zu mark setup, %zu mark termination), total %s", st->npause,
           st->npause_setup, st->npause - st->npause_setup, DUR(st->pause_total));
    if (run > 0) printf(" = %.2f%% of the run", 100.0 * (double)st->pause_total / run);
    printf("\n");
    if (st->npause) {
        printf("  duration   p50 %s   p90 %s   p99 %s   max %s\n",
               DUR(percentile(st->pause, st->npause, 500)),
               DUR(percentile(st->pause, st->npause, 900)),
               DUR(percentile(st->pause, st->npause, 990)), DUR(st->pause[st->npause - 1]));
    }
    if (st->nstop)
        printf("  time to stop the world   p50 %s   max %s\n",
               DUR(percentile(st->stop, st->nstop, 500)), DUR(st->stop[st->nstop - 1]));

    const int64_t *k = st->kind_total;
    int64_t busy = k[K_STW] + k[K_WORKER] + k[K_ASSIST] + k[K_STACK];
    double cap = run * ncpu;
    if (cap > 0) {
        printf("GC CPU       %.2f%% of %d CPU%s x the run, %.2f%% without the background sweep\n",
               100.0 * (double)(busy + k[K_SWEEP]) / cap, ncpu, plural((size_t)ncpu),
               100.0 * (double)busy / cap);
        printf("  counts     STW pauses %s (once, the coordinator's time) + mark workers %s + "
               "assists %s + stack scans %s + sweep phase %s\n",
               DUR(k[K_STW]), DUR(k[K_WORKER]), DUR(k[K_ASSIST]), DUR(k[K_STACK]),
               DUR(k[K_SWEEP]));
    }

    printf("MMU          window   STW only   STW+assists+stack scans\n");
    for (size_t w = 0; w < N_MMU_WINDOWS; w++) {
        char win[32];
        if (mmu_windows_ms[w] < 1000) snprintf(win, sizeof win, "%llu ms", (unsigned long long)mmu_windows_ms[w]);
        else snprintf(win, sizeof win, "%llu s", (unsigned long long)(mmu_windows_ms[w] / 1000));
        printf("  %15s   %8.3f   %8.3f\n", win, st->mmu_stw[w], st->mmu_all[w]);
    }
    printf("  (the second column treats every assist and stack scan as if it stopped the whole\n"
           "   program; with several mutator threads the real utilisation is higher)\n");
    if (svg_path) printf("picture      %s\n", svg_path);
}

/* ------------------------------------------------------------------------
 * The SVG.  One picture, top to bottom: title and legend, the timeline (a
 * lane per thread, STW pauses also as bands across every lane), the heap
 * chart on the same time axis, then the MMU curve beside the pause
 * histogram.  Slices narrower than a few pixels are drawn as per-column
 * density (see draw_kind), in columns that widen until the whole picture
 * fits in MAX_ELEMENTS.
 */

#define SVG_W 1200
#define PLOT_X0 150.0
#define PLOT_X1 (SVG_W - 30.0)
#define MAX_ELEMENTS 20000

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
        static const enum kind order[] = {K_MARK, K_SWEEP, K_WORKER, K_ASSIST, K_STACK, K_STW};
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
    const mgc_interval *iv[2] = {st->stw, st->stop_all};
    size_t n[2] = {st->nstw, st->nstop_all};
    const char *color[2] = {"#d62728", "#ff7f0e"};
    const char *dash[2] = {"", " stroke-dasharray=\"6 3\""};
    uint64_t span = (uint64_t)(g->t->t1 - g->t->t0);
    for (int c = 1; c >= 0; c--) {
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
    legend_item(g, x0 + 170, y0 + h + 52, color[1], "STW + assists + stack scans (pessimistic)", 1);
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
        fprintf(g->f, ", MMU(10 ms) %.2f STW only / %.2f with assists and stack scans</text>\n",
                st->mmu_stw[3], st->mmu_all[3]);
    }
    static const enum kind leg[] = {K_CYCLE, K_STW, K_MARK, K_SWEEP, K_WORKER, K_ASSIST, K_STACK};
    for (size_t i = 0; i < sizeof leg / sizeof leg[0]; i++)
        legend_item(g, PLOT_X0 + 130.0 * (double)i, 78, kinds[leg[i]].color, kinds[leg[i]].label, 0);
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

static void write_svg(const trace *t, const stats *st, const char *path) {
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
    free(st.pause);
    free(st.stop);
    free(st.stw);
    free(st.stop_all);
    free(dflt);
    return 0;
}
