/*
 * value.h -- Lox values and growable arrays of them.
 *
 * A value is one 64-bit word, as in clox, but boxed the other way round
 * from clox's NaN-boxing: an object is its plain pointer (a word below
 * 2^48), so the conservative collector sees it exactly as it sees any
 * pointer, and a pointer is never disguised.  A number is its IEEE bits
 * plus 2^49 (JavaScriptCore's encoding), which puts every number at or
 * above 2^49, outside user address space: a number never looks like a
 * pointer, so it cannot keep an object alive.  NaNs are made canonical
 * first, so the addition never wraps.  nil is 0 (zeroed memory is nil),
 * false 2 and true 3: small words that are no pointer either.  Storing a
 * value into the heap or a root range goes through value_set, which passes
 * the word through the write barrier; the barrier ignores words that are
 * not heap pointers.
 */
#ifndef LOX_VALUE_H
#define LOX_VALUE_H

#include "common.h"

typedef struct Obj Obj;
typedef struct ObjString ObjString;

typedef uint64_t Value;

#define NUMBER_OFFSET ((uint64_t)1 << 49)
#define NIL_VAL ((Value)0)
#define FALSE_VAL ((Value)2)
#define TRUE_VAL ((Value)3)
#define BOOL_VAL(b) ((b) ? TRUE_VAL : FALSE_VAL)
#define OBJ_VAL(o) ((Value)(uintptr_t)(o))

#define IS_NIL(v) ((v) == NIL_VAL)
#define IS_BOOL(v) (((v) | 1) == TRUE_VAL)
#define IS_NUMBER(v) ((v) >= NUMBER_OFFSET)
#define IS_OBJ(v) ((v) - 8 < NUMBER_OFFSET - 8) /* 8 <= v < 2^49 */

#define AS_BOOL(v) ((v) == TRUE_VAL)
#define AS_OBJ(v) ((Obj *)(uintptr_t)(v))
#define AS_NUMBER(v) value_to_num(v)
#define NUMBER_VAL(n) num_to_value(n)

static inline double value_to_num(Value v) {
    double d;
    uint64_t bits = v - NUMBER_OFFSET;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline Value num_to_value(double d) {
    uint64_t bits;
    if (__builtin_expect(d != d, 0)) d = __builtin_nan(""); /* one NaN: no wrap-around */
    memcpy(&bits, &d, sizeof bits);
    return bits + NUMBER_OFFSET;
}

/* Every store of a value into heap or root memory. */
static inline void value_set(Value *slot, Value v) { heap_store((void **)slot, (void *)(uintptr_t)v); }

typedef struct {
    int count;
    int capacity;
    Value *values; /* a scanned heap block */
} ValueArray;

void value_array_init(ValueArray *a);
void value_array_write(ValueArray *a, Value v);
bool values_equal(Value a, Value b);
void print_value(Value v);

#endif
