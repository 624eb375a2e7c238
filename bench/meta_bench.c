/*
 * meta_bench.c -- allocator metadata as a share of the heap.
 *
 *   meta_bench LIVE_MB [MIN_SIZE MAX_SIZE]
 *
 * Keeps LIVE_MB of objects between MIN_SIZE and MAX_SIZE bytes (default
 * 16-64, cycling through the sizes) alive in a linked list, collects, and
 * prints one CSV line: live_mb,min,max,heap_inuse,heap_sys,meta_sys,
 * meta/inuse %, meta/sys %.  Metadata = span structs, span bitmaps, arena
 * page tables, work buffers, thread structs: everything mgc maps that is
 * not object memory.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mgc.h"

typedef struct obj { struct obj *next; } obj;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIVE_MB [MIN_SIZE MAX_SIZE]\n", argv[0]);
        return 2;
    }
    size_t live = strtoull(argv[1], NULL, 10) << 20;
    size_t lo = argc > 3 ? strtoull(argv[2], NULL, 10) : 16;
    size_t hi = argc > 3 ? strtoull(argv[3], NULL, 10) : 64;
    if (lo < sizeof(obj) || hi < lo) return 2;
    gc_init(NULL);
    obj *head = NULL;
    size_t bytes = 0, sz = lo;
    while (bytes < live) {
        obj *o = gc_alloc(sz);
        gc_store(&o->next, head);
        head = o;
        bytes += sz;
        sz = sz + 8 > hi ? lo : sz + 8;
    }
    gc_collect();
    gc_stats st;
    gc_get_stats(&st);
    printf("%zu,%zu,%zu,%llu,%llu,%llu,%.2f,%.2f\n", live >> 20, lo, hi,
           (unsigned long long)st.heap_inuse, (unsigned long long)st.heap_sys,
           (unsigned long long)st.meta_sys, 100.0 * st.meta_sys / st.heap_inuse,
           100.0 * st.meta_sys / st.heap_sys);
    return head ? 0 : 1;
}
