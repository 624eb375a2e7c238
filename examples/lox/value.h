/*
 * value.h -- Lox values and growable arrays of them.
 *
 * A value is a tag and one machine word.  The word holds a double, a
 * boolean or an object pointer, never a disguised pointer: mgc finds
 * objects conservatively, so a pointer must stay a plain aligned word (no
 * NaN-boxing, which would hide it).  Storing a value into the heap or into
 * a root range goes through value_set, which passes the word through the
 * write barrier; the barrier ignores words that are not heap pointers.
 */
#ifndef LOX_VALUE_H
#define LOX_VALUE_H

#include "common.h"

typedef struct Obj Obj;
typedef struct ObjString ObjString;

typedef enum { VAL_NIL, VAL_BOOL, VAL_NUMBER, VAL_OBJ } ValueType;

typedef struct {
    ValueType type;
    union {
        double number;
        Obj *obj;
        uintptr_t bits; /* booleans and nil: the whole word is defined */
        void *raw;      /* the word as the barrier sees it */
    } as;
} Value;

#define NIL_VAL ((Value){VAL_NIL, {.bits = 0}})
#define BOOL_VAL(b) ((Value){VAL_BOOL, {.bits = (b) ? 1u : 0u}})
#define NUMBER_VAL(n) ((Value){VAL_NUMBER, {.number = (n)}})
#define OBJ_VAL(o) ((Value){VAL_OBJ, {.obj = (Obj *)(o)}})

#define IS_NIL(v) ((v).type == VAL_NIL)
#define IS_BOOL(v) ((v).type == VAL_BOOL)
#define IS_NUMBER(v) ((v).type == VAL_NUMBER)
#define IS_OBJ(v) ((v).type == VAL_OBJ)

#define AS_BOOL(v) ((v).as.bits != 0)
#define AS_NUMBER(v) ((v).as.number)
#define AS_OBJ(v) ((v).as.obj)

/* Every store of a value into heap or root memory. */
static inline void value_set(Value *slot, Value v) {
    slot->type = v.type;
    heap_store(&slot->as.raw, v.as.raw);
}

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
