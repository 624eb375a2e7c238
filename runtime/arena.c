/*
 * arena.c -- the arena index: from any address to its span in O(1).
 *
 * The heap's address space is cut into 64 MiB arenas.  mgc_arena_index has
 * one slot per possible arena of the 48-bit user address space (4 Mi slots,
 * 32 MiB of address space, reserved and never populated beyond the pages
 * that hold slots in use: a few KiB).  A slot points to the arena's
 * heap_arena, whose spans[] maps each 8 KiB page to its span.  So
 * span_of(p) = index[p >> 26]->spans[(p >> 13) & 8191]: two dependent loads,
 * preceded by a compare against the heap's overall bounds.
 *
 * Invariants: a slot, once set, never changes (arenas are never unmapped);
 * mgc_heap_lo/hi only widen, and are published after the slots they cover.
 */
#include "runtime/collector.h"
#include "runtime/heap.h"

_Atomic(heap_arena *) *mgc_arena_index;
_Atomic uintptr_t mgc_heap_lo = UINTPTR_MAX;
_Atomic uintptr_t mgc_heap_hi = 0;

/* Every arena's base, for walks over the whole heap (checkmark, verifier).
 * Appended under the mheap lock; walked with the world stopped.  64 Ki
 * arenas is 4 TiB of heap; untouched entries cost no memory. */
#define MAX_ARENAS (1 << 16)
static uintptr_t arena_bases[MAX_ARENAS];
static size_t narenas;

int mgc_arena_init(void) {
    mgc_static_exclude(arena_bases, sizeof arena_bases); /* static roots: not the program's */
    /* Never freed; counted as metadata only page by page as touched would be
     * exact, but the count of slots in use is tiny, so it is left out. */
    mgc_arena_index = mgc_sys_alloc(MGC_ARENA_INDEX_LEN * sizeof(heap_arena *), NULL);
    return mgc_arena_index ? GC_OK : GC_ENOMEM;
}

/* ** Record the arenas covering [base, base+size) and widen the bounds.
 * Called under the mheap lock.  Returns the first arena's metadata. */
heap_arena *mgc_arena_register(uintptr_t base, size_t size) {
    heap_arena *first = NULL;
    for (uintptr_t a = base; a < base + size; a += MGC_ARENA_SIZE) {
        heap_arena *ha = mgc_sys_alloc(sizeof(heap_arena), &mgc_hstats.meta_sys);
        if (!ha) return NULL; /* the caller gives the whole region back */
        atomic_store_explicit(&mgc_arena_index[a >> MGC_ARENA_SHIFT], ha, memory_order_release);
        if (narenas < MAX_ARENAS) arena_bases[narenas++] = a;
        if (!first) first = ha;
    }
    if (base < atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed))
        atomic_store_explicit(&mgc_heap_lo, base, memory_order_release);
    if (base + size > atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed))
        atomic_store_explicit(&mgc_heap_hi, base + size, memory_order_release);
    return first;
}

/* ** Call fn on every in-use span (world stopped, or mheap lock held).
 * With the world stopped the scavenger still runs (it is never stopped):
 * it republishes free spans in the page table under the heap lock, so the
 * entries are read atomically, and a span's base only once its state says
 * in use (the scavenger touches free spans only).  ThreadSanitizer found
 * MGC_BARRIERCHECK's walk reading an entry as the scavenger stored it. */
void mgc_heap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg) {
    for (size_t k = 0; k < narenas; k++) {
        heap_arena *ha = mgc_arena_index[arena_bases[k] >> MGC_ARENA_SHIFT];
        for (size_t i = 0; i < MGC_PAGES_PER_ARENA; i++) {
            mspan *s = __atomic_load_n(&ha->spans[i], __ATOMIC_ACQUIRE);
            uintptr_t page = arena_bases[k] + i * MGC_PAGE_SIZE;
            if (s && atomic_load(&s->state) == SPAN_INUSE && s->base == page) fn(s, arg);
        }
    }
}
