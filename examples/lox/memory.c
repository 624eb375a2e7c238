/*
 * memory.c -- allocation on the collected heap and array growth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "vm.h"

void *lox_alloc(size_t n, bool scanned) {
    vm_clear_stale_stack(); /* a collection may start here */
    void *p = scanned ? heap_alloc(n) : heap_alloc_noscan(n);
    if (!p) {
        fprintf(stderr, "lox: out of memory (%zu bytes)\n", n);
        exit(70);
    }
    return p;
}

void *grow_data(const void *old, size_t old_bytes, size_t new_bytes) {
    void *p = lox_alloc(new_bytes, false);
    if (old_bytes) memcpy(p, old, old_bytes);
    return p;
}

Value *grow_values(const Value *old, int count, int cap) {
    Value *p = lox_alloc((size_t)cap * sizeof(Value), true);
    /* Copied through the barrier (one check for the whole copy), so a
     * concurrent mark that has already scanned the new (black) block still
     * sees what it holds. */
    if (count) heap_store_range(p, old, (size_t)count * sizeof(Value));
    return p;
}
