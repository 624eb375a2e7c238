/*
 * vm.h -- the bytecode interpreter: one mutator thread running Lox on the
 * collected heap.
 */
#ifndef LOX_VM_H
#define LOX_VM_H

#include "common.h"

typedef enum { INTERPRET_OK, INTERPRET_COMPILE_ERROR, INTERPRET_RUNTIME_ERROR } InterpretResult;

/* gc_natives: also define gcCollect() and internedStrings(), for programs
 * that check the collector (a full collection; the live intern table
 * entries). */
void vm_init(bool gc_natives);
void vm_free(void);
InterpretResult interpret(const char *source);
/* Clear the value-stack slots above the top (called before allocating). */
void vm_clear_stale_stack(void);

#endif
