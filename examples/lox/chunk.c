/*
 * chunk.c -- appending bytecode and constants to a function's chunk.
 */
#include "chunk.h"
#include "memory.h"

void chunk_init(Chunk *c) {
    c->count = 0;
    c->capacity = 0;
    heap_store(&c->code, NULL);
    heap_store(&c->lines, NULL);
    value_array_init(&c->constants);
}

void chunk_write(Chunk *c, uint8_t byte, int line) {
    if (c->count == c->capacity) {
        int cap = grow_capacity(c->capacity);
        heap_store(&c->code, (uint8_t *)grow_data(c->code, (size_t)c->count, (size_t)cap));
        heap_store(&c->lines, (int *)grow_data(c->lines, (size_t)c->count * sizeof(int),
                                               (size_t)cap * sizeof(int)));
        c->capacity = cap;
    }
    c->code[c->count] = byte;
    c->lines[c->count] = line;
    c->count++;
}

int chunk_add_constant(Chunk *c, Value v) {
    value_array_write(&c->constants, v);
    return c->constants.count - 1;
}
