/*
 * json.c -- a tolerant JSON reader (see json.h): the arena, and a
 * recursive-descent parser that tells running out of input (JP_EOF, what
 * a crash leaves) from malformed input (JP_SYNTAX), and that bounds its
 * depth so junk cannot overflow the stack.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "mgc-trace.h"

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
void arena_reset(arena *a) {
    while (a->head && a->head->next) {
        arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    if (a->head) a->head->used = 0;
}

void skip_ws(jparser *ps) {
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

jval *parse_value(jparser *ps, int depth) {
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

const jval *jget(const jval *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (const jval *m = obj->kids; m; m = m->next)
        if (!strcmp(m->key, key)) return m;
    return NULL;
}

const char *jstr(const jval *obj, const char *key) {
    const jval *v = jget(obj, key);
    return v && v->type == J_STR ? v->str : NULL;
}

int jnum(const jval *obj, const char *key, double *out) {
    const jval *v = jget(obj, key);
    if (!v || v->type != J_NUM) return 0;
    *out = v->num;
    return 1;
}

double jnum_or(const jval *obj, const char *key, double dflt) {
    double d;
    return jnum(obj, key, &d) ? d : dflt;
}
