/*
 * os_linux.c -- memory from the operating system.
 *
 * Two kinds of requests: metadata (span structs, bitmaps, page tables,
 * thread structs), mapped in small chunks and never returned; and arenas,
 * 64 MiB-aligned runs of address space for objects.  Arenas are mapped
 * MAP_NORESERVE: the kernel commits a page only when it is first touched,
 * so a fresh arena costs address space, not memory, and reads as zero --
 * which is why the allocator never clears memory fresh from here.
 *
 * Arenas are placed from a fixed hint upward (as Go places its heap at
 * 0xc000000000) so the heap is one compact address range: the range check
 * in mgc_span_of() then rejects most non-pointers in conservative scanning.
 */
#include <sys/mman.h>

#include "runtime/heap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Next address to try for an arena.  Protected by the mheap lock (arenas
 * are reserved only while growing the heap). */
static uintptr_t arena_hint = (uintptr_t)0x00c0 << 32;

/* ** Map n bytes of zeroed memory for metadata; NULL if the OS refuses. */
void *mgc_sys_alloc(size_t n, _Atomic uint64_t *stat) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (stat) atomic_fetch_add_explicit(stat, n, memory_order_relaxed);
    return p;
}

void mgc_sys_free(void *p, size_t n, _Atomic uint64_t *stat) {
    munmap(p, n);
    if (stat) atomic_fetch_sub_explicit(stat, n, memory_order_relaxed);
}

/* ** Give n bytes of arena pages back to the OS, keeping the address range.
 * MADV_DONTNEED, not MADV_FREE: the pages are gone at once (RSS falls now,
 * which is what a caller of gc_free_os_memory wants to see) and read as
 * zero on the next touch, so the allocator need not clear them.  False if
 * the kernel refused: then nothing may be assumed about the pages. */
bool mgc_sys_release(void *p, size_t n) {
    return madvise(p, n, MADV_DONTNEED) == 0;
}

/* ** Ask for transparent huge pages over [p, p+n) (runtime/mheap.c says
 * when).  A kernel without them, or with them off, refuses: nothing to do. */
void mgc_sys_hugepages(void *p, size_t n) {
    (void)madvise(p, n, MADV_HUGEPAGE);
}

/* ** Try the hint first so arenas stay contiguous; otherwise take any
 * address and trim it to arena alignment. */
void *mgc_sys_reserve_arena(size_t n) {
    const int prot = PROT_READ | PROT_WRITE;
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
#ifdef __SANITIZE_THREAD__
    /* ThreadSanitizer owns the address-space layout (and rejects the hint):
     * take what the kernel gives. */
    arena_hint = (uintptr_t)1 << MGC_ADDR_BITS;
#endif
    for (int tries = 0; tries < 8 && arena_hint + n < ((uintptr_t)1 << MGC_ADDR_BITS); tries++) {
        void *p = mmap((void *)arena_hint, n, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == (void *)arena_hint) {
            arena_hint += n;
            return p;
        }
        if (p != MAP_FAILED) munmap(p, n); /* old kernel: the hint was ignored */
        arena_hint += MGC_ARENA_SIZE * 16;
    }
    size_t span = n + MGC_ARENA_SIZE;
    char *p = mmap(NULL, span, prot, flags, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)p + MGC_ARENA_SIZE - 1) & ~(MGC_ARENA_SIZE - 1);
    if (start > (uintptr_t)p) munmap(p, start - (uintptr_t)p);
    uintptr_t end = (uintptr_t)p + span;
    if (end > start + n) munmap((void *)(start + n), end - (start + n));
    if (start + n > ((uintptr_t)1 << MGC_ADDR_BITS)) {
        munmap((void *)start, n);
        return NULL;
    }
    return (void *)start;
}
