/*
 * memory.h -- how the VM gets memory from the collector.
 *
 * There is no free and no object list: the collector finds dead objects by
 * itself.  What the VM must do is choose per block whether the collector
 * scans it (objects and arrays holding pointers) or not (characters,
 * bytecode, line numbers), and move growing arrays by copying into a fresh
 * block and publishing it with one barriered store.
 */
#ifndef LOX_MEMORY_H
#define LOX_MEMORY_H

#include "common.h"
#include "value.h"

static inline int grow_capacity(int cap) { return cap < 8 ? 8 : cap * 2; }

/* Any heap block; exits with a message if the heap is exhausted. */
void *lox_alloc(size_t n, bool scanned);

/* A noscan copy of old (old_bytes of it) in a block of new_bytes. */
void *grow_data(const void *old, size_t old_bytes, size_t new_bytes);

/* A scanned block of cap values holding a copy of old[0..count). */
Value *grow_values(const Value *old, int count, int cap);

#endif
