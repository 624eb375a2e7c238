/*
 * barrier.c -- gc_store, the write barrier entry point.
 *
 * With the stop-the-world collector a store needs no barrier: marking never
 * overlaps the program.  Programs still store heap pointers through
 * gc_store() from the first day, so that the concurrent collector can make
 * it a real barrier (shade the old and new values while marking) without
 * any change to them.
 */
#include "runtime/internal.h"

MGC_API void gc_store_ptr(void **slot, void *value) {
    *slot = value;
}
