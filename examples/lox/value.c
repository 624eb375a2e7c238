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
    if (IS_NUMBER(a) && IS_NUMBER(b)) return AS_NUMBER(a) == AS_NUMBER(b); /* NaN != NaN, 0 == -0 */
    return a == b; /* nil, booleans, objects (strings are interned) */
}

void print_value(Value v) {
    if (IS_NIL(v))
        printf("nil");
    else if (IS_BOOL(v))
        printf(AS_BOOL(v) ? "true" : "false");
    else if (IS_NUMBER(v))
        printf("%g", AS_NUMBER(v));
    else
        print_object(v);
}
