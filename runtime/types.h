/*
 * types.h -- the data structures of the allocator, in one place.
 *
 * The heap is laid out as the Go runtime's is:
 *
 *   arena (64 MiB of address space, from mmap)
 *     -> pages (8 KiB); each arena has a page -> span table, so any address,
 *        interior ones included, finds its span in two array lookups.
 *   span: a run of pages.  An in-use span either holds one large object
 *     (size class 0) or is cut into equal slots of one size class.  Each
 *     span has two bitmaps with one bit per slot: alloc_bits (allocated as of
 *     the last sweep) and gcmark_bits (marked in the current cycle).
 *     Sweeping swaps them.
 *   mcache: per thread, one cached span per span class; allocation takes
 *     the next free slot with a count-trailing-zeros over alloc_cache.
 *   mcentral: per span class, the spans not cached by any thread, in
 *     partial (has free slots) and full lists, each split into swept and
 *     unswept by sweepgen parity.
 *   mheap: the page allocator: free runs of pages, coalesced on free.
 *
 * Ownership of every shared field is written next to it.  "world lock"
 * means the collector's cycle lock (gc/mgc.c); "STW" means the field is only
 * touched while every registered thread is stopped.
 */
#ifndef MGC_TYPES_H
#define MGC_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/lockrank.h"
#include "runtime/sizeclasses.h"

#define MGC_ARENA_SHIFT 26
#define MGC_ARENA_SIZE ((uintptr_t)1 << MGC_ARENA_SHIFT) /* 64 MiB */
#define MGC_PAGES_PER_ARENA (MGC_ARENA_SIZE >> MGC_PAGE_SHIFT)
#define MGC_ADDR_BITS 48 /* user-space addresses on x86-64 and arm64 */
#define MGC_ARENA_INDEX_LEN ((uintptr_t)1 << (MGC_ADDR_BITS - MGC_ARENA_SHIFT))
/* Largest object mgc hands out: keeps every size computation far from
 * overflow (Go's maxAlloc is similar). */
#define MGC_MAX_ALLOC ((size_t)1 << 40)

#define MGC_TINY_SIZE 16
/* Span classes: a size class and what its objects hold.  Scan objects
 * are scanned word by word (conservatively), noscan ones never, typed ones
 * only at the words their type's pointer map names (runtime/typed.c). */
enum { MGC_KIND_SCAN = 0, MGC_KIND_NOSCAN = 1, MGC_KIND_TYPED = 2 };
#define MGC_SPANCLASS(sizeclass, kind) (((sizeclass) << 2) | (kind))
#define MGC_SPANCLASS_SIZECLASS(sc) ((sc) >> 2)
#define MGC_SPANCLASS_KIND(sc) ((sc) & 3)
#define MGC_TINY_SPANCLASS MGC_SPANCLASS(2, MGC_KIND_NOSCAN) /* 16-byte noscan */

/* A type descriptor (gc_type_new): objects of `size` bytes, repeated for
 * arrays, whose word i holds a pointer iff bit i of mask is set.
 * Immutable once made; never freed. */
struct gc_type {
    size_t size;   /* bytes per element */
    size_t nwords; /* words per element: size / 8 */
    size_t nptrs;  /* pointer words per element */
    char name[32];
    uint64_t mask[]; /* nwords bits */
};
#define MGC_BITMAP_WORDS ((MGC_MAX_OBJS_PER_SPAN + 63) / 64)

enum span_state {
    SPAN_DEAD = 0,  /* struct on the fixalloc free list; describes nothing */
    SPAN_FREE = 1,  /* a free run of pages in mheap */
    SPAN_INUSE = 2, /* holds objects */
};

/* A doubly linked list of spans; its owner lock protects it. */
typedef struct span_list {
    struct mspan *first, *last;
    size_t count;
} span_list;

/* Layout: the marker's fields in one cache line.  Every word a marker
 * follows into the heap reads base, limit and state (mgc_span_of_heap),
 * divmagic and nelems (the slot index), freeindex and alloc_bits (is the
 * slot allocated?), gcmark_bits (the mark), elemsize, grey_words and
 * noscan/typed (queue or not, how much to scan): with the struct 64-byte
 * aligned they all sit in bytes 8..63 of its first line, so a random-order
 * mark takes one miss per span struct, not two or three (issue 17;
 * callgrind --cache-sim: a third fewer L1 read misses on markrate's
 * shuffled tree).  Bytes 0..7 hold `next`, which a freed struct's
 * free-list link overwrites (fixalloc): nothing a racy reader of a
 * recycled struct checks lives there.  The offsets are asserted below the
 * struct. */
typedef struct mspan {
    /* List link: owned by whoever owns the list the span is on (mheap lock
     * for free spans, mcentral lock for uncached in-use spans). */
    struct mspan *next;

    /* ---- the marker's line ---- */
    /* Set when the span is created from free pages, under the mheap lock,
     * and published through the page table; constant while in use. */
    uintptr_t base;     /* address of the first slot */
    uintptr_t limit;    /* base + nelems * elemsize */
    size_t elemsize;    /* slot size; npages * 8 KiB for a large span */
    /* Allocated as of the last sweep.  Owner: as freeindex below. */
    uint64_t *alloc_bits;
    /* Marked this cycle.  Set with atomic OR by markers, by the write
     * barrier and by allocation during marking (allocate black); read by
     * the sweeper after mark termination.  With span entries on
     * (MGC_SPANMARK=1), the bitmap block holds after these two the scan bits (mgc_span_scan_bits): the marked objects of
     * a small scan span already scanned this cycle (or allocated black),
     * set with atomic OR by the marker that scans them, cleared by the
     * sweep; and then one word, the span's queued flag
     * (mgc_span_queued_word, gc/mark.c's span entries).  Kept there, not
     * in this struct: markers write it, and this line is the one the
     * allocating thread writes freeindex in. */
    uint64_t *gcmark_bits;
    uint32_t divmagic;  /* slot index = (offset * divmagic) >> 32; as base */
    uint16_t nelems;    /* as base */
    /* Slots below are allocated; search starts here.  Owner: the mcache
     * that caches the span, else the thread that holds it exclusively
     * (popped from an mcentral list under its lock, or claimed for
     * sweeping through sweepgen), else STW; read racily by markers with
     * relaxed atomics (mgc_span_is_allocated_racy). */
    uint16_t freeindex;
    /* Written under the mheap lock; read racily by conservative pointer
     * lookups, which also check base/limit. */
    _Atomic uint8_t state;
    uint8_t noscan;     /* as base */
    uint8_t typed;      /* objects carry a pointer map: ptrbits or large_type; as base */
    uint16_t spanclass; /* sizeclass << 2 | kind (MGC_KIND_*); as base */
    /* Small untyped scan spans: elemsize / 8, the size a marker's
     * work-buffer entry carries (gc/mark.c grey_entry); 0 for every other
     * span, which takes the marker's slower path.  One field read and
     * tested instead of noscan, typed and a size compare.  As base. */
    uint16_t grey_words;
    /* ---- end of the marker's line ---- */

    /* Typed spans (runtime/typed.c): which words of the span hold pointers.
     * Small spans: one bit per word of the span, written by the owner of
     * the span when it hands out a slot (before the slot can be scanned),
     * read by markers; a large span: the type of its one object, periodic
     * over it.  Set before the object is published; constant while the
     * object lives. */
    uint64_t *ptrbits;
    const struct gc_type *large_type;
    uint64_t *check_bits; /* MGC_CHECKMARK's second mark, STW only; else NULL */

    struct mspan *prev; /* as next */
    size_t npages;      /* as base */

    /* Allocation state.  Owner: as freeindex. */
    uint16_t alloc_count; /* allocated slots */
    uint8_t needzero;    /* free slots may hold old data: clear on alloc */
    uint8_t premarked;   /* free slots pre-marked: cached while marking */
    uint16_t premark_count; /* alloc_count when they were */
    /* alloc_count when an mcache took the span: the slots handed out since
     * are counted into the mcache's nalloc/alloc_bytes in one step when
     * the span leaves the cache (runtime/mcache.c), not one by one on the
     * fast path.  Owner: as freeindex. */
    uint16_t alloc_count_at_cache;
    uint64_t alloc_cache; /* ~alloc_bits from freeindex: bit i = slot freeindex+i free */
    /* Weak references to objects of this span (gc/weak.c): a list under
     * that file's lock; read without it only to see whether it is empty. */
    _Atomic(struct mgc_special *) specials;

    /* Atomic.  Relative to mheap.sweepgen (sg), see runtime/heap.h:
     * sg-2 needs sweeping, sg-1 being swept, sg swept, sg+1 cached before
     * the sweep began, sg+3 swept and cached. */
    _Atomic uint32_t sweepgen;
    /* Free spans only, mheap lock (runtime/scavenge.c): */
    uint8_t released;  /* every page was madvised away (so reads as zero) */
    uint16_t scav_gen; /* mheap.scav_gen when last freed: how long it has been free */
} __attribute__((aligned(64))) mspan;

#define MGC_SPAN_HOT(f) (offsetof(mspan, f) >= 8 && offsetof(mspan, f) + sizeof(((mspan *)0)->f) <= 64)
_Static_assert(offsetof(mspan, next) == 0, "fixalloc's free-list link overlays next only");
_Static_assert(MGC_SPAN_HOT(base) && MGC_SPAN_HOT(limit) && MGC_SPAN_HOT(elemsize) &&
                   MGC_SPAN_HOT(alloc_bits) && MGC_SPAN_HOT(gcmark_bits) &&
                   MGC_SPAN_HOT(divmagic) && MGC_SPAN_HOT(nelems) && MGC_SPAN_HOT(freeindex) &&
                   MGC_SPAN_HOT(state) && MGC_SPAN_HOT(noscan) && MGC_SPAN_HOT(typed) &&
                   MGC_SPAN_HOT(spanclass) && MGC_SPAN_HOT(grey_words),
               "the marker's fields share the first cache line of mspan");
_Static_assert(_Alignof(mspan) == 64 && sizeof(mspan) % 64 == 0,
               "span structs start on a cache line (fixalloc hands out sizeof-sized blocks "
               "from page-aligned chunks)");

/* Per-arena metadata.  spans[i] is the span holding page i for every page of
 * an in-use span, and for the first and last page of a free span (enough to
 * coalesce).  Other entries may be stale: readers check state and bounds. */
typedef struct heap_arena {
    mspan *spans[MGC_PAGES_PER_ARENA]; /* written under mheap lock; atomic-relaxed reads */
} heap_arena;

typedef struct mcentral {
    mgc_mutex lock;
    uint16_t spanclass;
    /* Index sweepgen/2 % 2 is the swept set of the current cycle, the other
     * one the unswept set; advancing sweepgen by 2 makes every swept span
     * unswept without touching it.  Protected by lock. */
    span_list partial[2];
    span_list full[2];
} __attribute__((aligned(64))) mcentral;

typedef struct mheap {
    mgc_mutex lock;
    /* Free runs of pages.  free_small[n] holds runs of exactly n pages
     * (n < 128); free_mask has bit n set when it is not empty, so finding
     * the smallest fitting run is a count-trailing-zeros.  free_large holds
     * longer runs in address order (first fit keeps the heap compact).
     * All protected by lock. */
    span_list free_small[128];
    uint64_t free_mask[2];
    span_list free_large;
    /* Scavenger passes so far (runtime/scavenge.c), protected by lock. */
    uint16_t scav_gen;

    /* Rises by 2 per cycle; changed only with the world stopped. */
    _Atomic uint32_t sweepgen;

    mcentral central[MGC_NUM_SPAN_CLASSES];
} mheap;

/* Per-thread allocation cache.  Owned by its thread: nothing else reads or
 * writes it except the collector while the thread is stopped outside a
 * no-preempt section. */
typedef struct mcache {
    mspan *alloc[MGC_NUM_SPAN_CLASSES]; /* &mgc_empty_span when none */
    uintptr_t tiny;       /* current 16-byte tiny block, or 0 */
    uintptr_t tinyoffset; /* bytes used in it */
    /* Single-writer counters: the owner stores with relaxed atomics, the
     * stats reader loads them with relaxed atomics. */
    _Atomic uint64_t nalloc;
    _Atomic uint64_t alloc_bytes;
    _Atomic uint64_t ntiny; /* tiny objects placed in an existing block */
} mcache;

#endif /* MGC_TYPES_H */
