/*
 * json.h -- a tolerant JSON reader for the trace analyzer.  Each event is
 * parsed into a small tree in an arena that is emptied before the next
 * event, so memory stays bounded by the largest single event, not by the
 * file.  The caller drives the parser over the file (parse.c) and reads
 * each tree with jget, jstr and jnum.
 */
#ifndef MGC_TRACE_JSON_H
#define MGC_TRACE_JSON_H

#include <stddef.h>

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

/* JP_EOF is kept apart from JP_SYNTAX: running out of input in the middle
 * of a value is what a crash leaves, not a malformed file. */
enum { JP_OK, JP_SYNTAX, JP_EOF };

typedef struct {
    const char *p, *end;
    int err;
    arena *a;
} jparser;

void arena_reset(arena *a);
void skip_ws(jparser *ps);
/* One value at ps->p; NULL with ps->err set if there is none. */
jval *parse_value(jparser *ps, int depth);

const jval *jget(const jval *obj, const char *key);
const char *jstr(const jval *obj, const char *key);
int jnum(const jval *obj, const char *key, double *out);
double jnum_or(const jval *obj, const char *key, double dflt);

#endif
