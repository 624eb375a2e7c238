/*
 * parse.c -- a trace file to the model.
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
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mgc-trace.h"

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
    else if (!strcmp(cat, "handshake")) *k = K_HANDSHAKE;
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

void load(trace *t, const char *path) {
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
