/*
 * value.c -- growing value arrays on the heap, equality and printing.
 */
#include <stdio.h>

#include "memory.h"
#include "object.h"
#include "value.h"

void value_array_init(ValueArray *a) {
    a->count = 0;
    a->capacity = 0;
    heap_store(&a->values, NULL);
}

void value_array_write(ValueArray *a, Value v) {
    if (a->count == a->capacity) {
        int cap = grow_capacity(a->capacity);
        heap_store(&a->values, grow_values(a->values, a->count, cap));
        a->capacity = cap;
    }
    value_set(&a->values[a->count], v);
    a->count++;
}

bool values_equal(Value a, Value b) {
    if (a.type != b.type) return false;
    switch (a.type) {
    case VAL_NIL: return true;
    case VAL_BOOL: return AS_BOOL(a) == AS_BOOL(b);
    case VAL_NUMBER: return AS_NUMBER(a) == AS_NUMBER(b); /* NaN != NaN */
    case VAL_OBJ: return AS_OBJ(a) == AS_OBJ(b); /* strings are interned */
    }
    return false;
}

void print_value(Value v) {
    switch (v.type) {
    case VAL_NIL: printf("nil"); break;
    case VAL_BOOL: printf(AS_BOOL(v) ? "true" : "false"); break;
    case VAL_NUMBER: printf("%g", AS_NUMBER(v)); break;
    case VAL_OBJ: print_object(v); break;
    }
}
