/*
 * chunk.h -- a function's bytecode: instructions, their source lines and
 * the constant pool.
 *
 * The chunk is embedded in its ObjFunction, so its three arrays belong to
 * the function object: code and lines are noscan blocks (bytes and ints),
 * the constants a scanned block of values.
 */
#ifndef LOX_CHUNK_H
#define LOX_CHUNK_H

#include "common.h"
#include "value.h"

typedef enum {
    OP_CONSTANT,
    OP_NIL,
    OP_TRUE,
    OP_FALSE,
    OP_POP,
    OP_GET_LOCAL,
    OP_SET_LOCAL,
    OP_GET_GLOBAL,
    OP_DEFINE_GLOBAL,
    OP_SET_GLOBAL,
    OP_GET_UPVALUE,
    OP_SET_UPVALUE,
    OP_GET_PROPERTY,
    OP_SET_PROPERTY,
    OP_GET_SUPER,
    OP_EQUAL,
    OP_GREATER,
    OP_LESS,
    OP_ADD,
    OP_SUBTRACT,
    OP_MULTIPLY,
    OP_DIVIDE,
    OP_NOT,
    OP_NEGATE,
    OP_PRINT,
    OP_JUMP,
    OP_JUMP_IF_FALSE,
    OP_LOOP,
    OP_CALL,
    OP_INVOKE,
    OP_SUPER_INVOKE,
    OP_CLOSURE,
    OP_CLOSE_UPVALUE,
    OP_RETURN,
    OP_CLASS,
    OP_INHERIT,
    OP_METHOD
} OpCode;

typedef struct {
    int count;
    int capacity;
    uint8_t *code; /* noscan */
    int *lines;    /* noscan, one source line per byte of code */
    ValueArray constants;
} Chunk;

void chunk_init(Chunk *c);
void chunk_write(Chunk *c, uint8_t byte, int line);
/* Index of v in the constant pool (appended). */
int chunk_add_constant(Chunk *c, Value v);

#endif
