/*
 * mheap.c -- the page heap: runs of 8 KiB pages for spans.
 *
 * Free memory is kept as free spans (state SPAN_FREE), one per maximal run
 * of free pages in one release state: freeing a span merges it with free
 * neighbours found through the page table, so two adjacent free spans always
 * differ in released (pages given back to the OS by the scavenger,
 * runtime/scavenge.c).  Keeping the two apart, as Go 1.13 did, makes
 * heap_released exact and keeps released pages free of needless clearing;
 * when a request fits only across such a boundary, the runs are merged as
 * not released before the heap grows (free_merge_mixed).  Runs shorter than
 * 128 pages sit in exact-size lists, with a bitmask of non-empty lists
 * (best fit in O(1)); longer runs sit in one list in address order (first
 * fit, which keeps the heap low and compact, as Go's page allocator does).
 * Allocation splits the front off a run.  When nothing fits, the heap grows
 * by whole arenas.
 *
 * Each free span records needzero: whether its pages may hold old data.
 * Pages fresh from the OS are zero; a span freed after use is not; a
 * released span is zero again (the kernel supplies zero pages on the next
 * touch), so releasing clears needzero.  The allocator clears only what
 * needzero says it must.
 *
 * All of it is protected by mgc_heap.lock.
 */
#include <stdlib.h>

#include "runtime/collector.h"
#include "runtime/heap.h"

mheap mgc_heap;
mgc_heap_stats mgc_hstats;

static void free_list_insert(mspan *s);

/* ---- transparent huge pages ----------------------------------------------
 * A big heap walked at random (a VM's object graph) spends its time in TLB
 * misses with 4 KiB pages, and in a virtual machine each miss walks two
 * page tables: a Lox tree walk over 80 MB ran 1.5x clox's time, and at
 * clox's time with the arenas in huge pages (669 page faults instead of
 * 27k).  Most kernels give huge pages only where madvise(MADV_HUGEPAGE)
 * asks, and a huge page is 2 MiB of RSS at the first touch: a small
 * program would pay for them in memory and gain nothing.  So the arenas are
 * advised once the heap in use passes HUGE_AUTO_BYTES (then every arena,
 * present and future), or from the start, or never: MGC_HUGEPAGES=1 / 0.
 * The scavenger's releases still work (the kernel splits a huge page that
 * is partly given back), but khugepaged may later fill a released hole
 * again to rebuild a huge page (max_ptes_none: by default it does so for
 * a 2 MiB range with a single page present), so a heap that shrank can
 * see its RSS creep back up; Go met the same and undid its MADV_HUGEPAGE
 * use (1.21.1).  Hence the threshold: only a heap that grew big pays it,
 * and MGC_HUGEPAGES=0 turns it off.  Heap lock. */
#define HUGE_AUTO_BYTES ((uint64_t)32 << 20)
#define HUGE_MAX_RECORDS 64
static int huge_mode = -1; /* -1 auto, 0 never, 1 always; set at init */
static bool huge_on;       /* arenas are advised */
static struct { uintptr_t base; size_t bytes; } huge_records[HUGE_MAX_RECORDS];
static int huge_nrecords;  /* arenas mapped before huge_on */

static void huge_advise_new_arena(uintptr_t base, size_t bytes) {
    if (huge_on) mgc_sys_hugepages((void *)base, bytes);
    else if (huge_nrecords < HUGE_MAX_RECORDS)
        huge_records[huge_nrecords].base = base, huge_records[huge_nrecords++].bytes = bytes;
}

/* ** The heap just grew past the threshold: advise what is mapped. */
static void huge_maybe_enable(void) {
    if (huge_on || huge_mode != -1 ||
        atomic_load_explicit(&mgc_hstats.heap_inuse, memory_order_relaxed) < HUGE_AUTO_BYTES)
        return;
    huge_on = true;
    for (int i = 0; i < huge_nrecords; i++)
        mgc_sys_hugepages((void *)huge_records[i].base, huge_records[i].bytes);
}

int mgc_heap_init(void) {
    const char *h = getenv("MGC_HUGEPAGES");
    huge_mode = h && *h == '0' ? 0 : h && *h == '1' ? 1 : -1;
    huge_on = huge_mode == 1;
    mgc_static_exclude(&mgc_heap, sizeof mgc_heap); /* static roots: not the program's */
    mgc_mutex_init(&mgc_heap.lock, MGC_RANK_HEAP);
    atomic_store(&mgc_heap.sweepgen, 2); /* so sg-2 never underflows */
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++) mgc_central_init(&mgc_heap.central[i], i);
    return mgc_arena_init();
}

/* ---- span lists -------------------------------------------------------- */

void mgc_span_list_push(span_list *l, mspan *s) {
    s->prev = NULL;
    s->next = l->first;
    if (l->first) l->first->prev = s;
    else l->last = s;
    l->first = s;
    l->count++;
}

static void span_list_append(span_list *l, mspan *s) {
    s->next = NULL;
    s->prev = l->last;
    if (l->last) l->last->next = s;
    else l->first = s;
    l->last = s;
    l->count++;
}

void mgc_span_list_remove(span_list *l, mspan *s) {
    if (s->prev) s->prev->next = s->next;
    else l->first = s->next;
    if (s->next) s->next->prev = s->prev;
    else l->last = s->prev;
    s->next = s->prev = NULL;
    l->count--;
}

mspan *mgc_span_list_pop(span_list *l) {
    mspan *s = l->first;
    if (s) mgc_span_list_remove(l, s);
    return s;
}

/* ---- free runs ---------------------------------------------------------- */

/* ** File a free run.  Exact-size lists keep runs still backed by memory
 * in front, released ones behind: allocation takes the front (no page
 * faults), and the scavenger stops at the first released run instead of
 * walking every one it released before (which made a big release
 * quadratic under the heap lock). */
static void free_list_insert(mspan *s) {
    if (s->npages < 128) {
        if (s->released) span_list_append(&mgc_heap.free_small[s->npages], s);
        else mgc_span_list_push(&mgc_heap.free_small[s->npages], s);
        mgc_heap.free_mask[s->npages / 64] |= (uint64_t)1 << (s->npages % 64);
        return;
    }
    /* Address order: walk to the first run above s. */
    span_list *l = &mgc_heap.free_large;
    mspan *prev = NULL, *cur = l->first;
    while (cur && cur->base < s->base) {
        prev = cur;
        cur = cur->next;
    }
    s->prev = prev;
    s->next = cur;
    if (prev) prev->next = s;
    else l->first = s;
    if (cur) cur->prev = s;
    else l->last = s;
    l->count++;
}

static void free_list_remove(mspan *s) {
    if (s->npages < 128) {
        span_list *l = &mgc_heap.free_small[s->npages];
        mgc_span_list_remove(l, s);
        if (!l->first) mgc_heap.free_mask[s->npages / 64] &= ~((uint64_t)1 << (s->npages % 64));
    } else {
        mgc_span_list_remove(&mgc_heap.free_large, s);
    }
}

/* ** A free span's first and last page entries point at it: all that
 * coalescing needs. */
static void free_span_publish(mspan *s) {
    atomic_store_explicit(&s->state, SPAN_FREE, memory_order_relaxed);
    mgc_arena_set_span(s->base, s);
    mgc_arena_set_span(s->base + (s->npages - 1) * MGC_PAGE_SIZE, s);
}

/* ** The free span whose pages end exactly at addr / start exactly at addr. */
static mspan *free_span_ending_at(uintptr_t addr) {
    mspan *n = mgc_span_of(addr - 1);
    if (n && atomic_load_explicit(&n->state, memory_order_relaxed) == SPAN_FREE &&
        n->base + n->npages * MGC_PAGE_SIZE == addr)
        return n;
    return NULL;
}
static mspan *free_span_starting_at(uintptr_t addr) {
    mspan *n = mgc_span_of(addr);
    if (n && atomic_load_explicit(&n->state, memory_order_relaxed) == SPAN_FREE && n->base == addr)
        return n;
    return NULL;
}

/* ** Return a run of pages to the free lists, merged with its neighbours
 * in the same release state.  A run that is not released counts as freed
 * now: the scavenger leaves it alone for a whole period. */
static void free_pages_locked(mspan *s) {
    mspan *n;
    if (!s->released) s->scav_gen = mgc_heap.scav_gen;
    if ((n = free_span_ending_at(s->base)) != NULL && n->released == s->released) {
        free_list_remove(n);
        s->base = n->base;
        s->npages += n->npages;
        s->needzero |= n->needzero;
        mgc_span_struct_free(n);
    }
    if ((n = free_span_starting_at(s->base + s->npages * MGC_PAGE_SIZE)) != NULL &&
        n->released == s->released) {
        free_list_remove(n);
        s->npages += n->npages;
        s->needzero |= n->needzero;
        mgc_span_struct_free(n);
    }
    free_span_publish(s);
    free_list_insert(s);
}

/* ** Find the best free run for npages: exact-size lists by bitmask, then
 * first fit among the long runs. */
static mspan *free_find(size_t npages) {
    if (npages < 128) {
        for (unsigned w = npages / 64; w < 2; w++) {
            uint64_t m = mgc_heap.free_mask[w];
            if (w == npages / 64) m &= ~(uint64_t)0 << (npages % 64);
            if (m) return mgc_heap.free_small[w * 64 + __builtin_ctzll(m)].first;
        }
    }
    for (mspan *s = mgc_heap.free_large.first; s; s = s->next)
        if (s->npages >= npages) return s;
    return NULL;
}

/* ** No single run fits npages: merge a chain of adjacent free runs (which
 * alternate released and not) that is long enough into one run, not
 * released, rather than grow the heap.  Its released parts are zero, so
 * needzero stays exact; heap_released gives up their bytes, though their
 * pages stay unbacked until touched.  Walks every free span, but only on the
 * way to mapping a new arena. */
static bool free_merge_mixed(size_t npages) {
    if (!atomic_load_explicit(&mgc_hstats.heap_released, memory_order_relaxed))
        return false; /* nothing released: every run is already maximal */
    for (size_t i = 1; i <= 128; i++) {
        span_list *l = i < 128 ? &mgc_heap.free_small[i] : &mgc_heap.free_large;
        for (mspan *s = l->first; s; s = s->next) {
            if (free_span_ending_at(s->base)) continue; /* not the start of a chain */
            size_t total = s->npages;
            for (mspan *n = free_span_starting_at(s->base + s->npages * MGC_PAGE_SIZE); n;
                 n = free_span_starting_at(n->base + n->npages * MGC_PAGE_SIZE))
                total += n->npages;
            if (total < npages) continue;
            free_list_remove(s);
            uint64_t rel = s->released ? s->npages * MGC_PAGE_SIZE : 0;
            mspan *n;
            while ((n = free_span_starting_at(s->base + s->npages * MGC_PAGE_SIZE)) != NULL) {
                free_list_remove(n);
                if (n->released) rel += n->npages * MGC_PAGE_SIZE;
                s->npages += n->npages;
                s->needzero |= n->needzero;
                mgc_span_struct_free(n);
            }
            atomic_fetch_sub_explicit(&mgc_hstats.heap_released, rel, memory_order_relaxed);
            s->released = 0;
            s->scav_gen = mgc_heap.scav_gen;
            free_span_publish(s);
            free_list_insert(s);
            return true;
        }
    }
    return false;
}

/* ** Map new arenas big enough for npages and add them as one free run. */
static bool heap_grow(size_t npages) {
    size_t bytes = npages * MGC_PAGE_SIZE;
    bytes = (bytes + MGC_ARENA_SIZE - 1) & ~(MGC_ARENA_SIZE - 1);
    void *base = mgc_sys_reserve_arena(bytes);
    if (!base) return false;
    mspan *s = mgc_span_struct_alloc();
    if (!s || !mgc_arena_register((uintptr_t)base, bytes)) {
        if (s) mgc_span_struct_free(s);
        mgc_sys_free(base, bytes, NULL);
        return false;
    }
    atomic_fetch_add_explicit(&mgc_hstats.heap_sys, bytes, memory_order_relaxed);
    huge_advise_new_arena((uintptr_t)base, bytes);
    s->base = (uintptr_t)base;
    s->npages = bytes / MGC_PAGE_SIZE;
    s->needzero = 0; /* fresh from the OS */
    /* Not counted as released although unbacked: heap_released measures
     * what the scavenger gave back, and the first touch is near anyway. */
    s->released = 0;
    free_pages_locked(s);
    return true;
}

/* ** Fault in a fresh small-object span's pages by writing them.  Their
 * slots will all be used, and the first touch of a slot is often a read:
 * the write barrier loads the old value, a hash table probes its zeroed
 * entries.  A read of an untouched page maps the shared zero page and the
 * write after it faults a second time to copy it: two faults a page
 * instead of one (a Lox program building a 78 MB tree took 35k faults
 * where 20k pages were touched).  Writing a zero changes no content; the
 * span is not yet the allocator's, so no other thread looks at it.  Large
 * objects are left alone: a big array may be meant to stay sparse.
 * One byte per OS page, not per heap page: written once per 8 KiB heap
 * page, every second 4 KiB page still took both faults, and the second
 * one's copy flushes the TLB of every CPU the process runs on (an IPI
 * each): perf put 5% of GCBench's samples in those flushes, under the
 * barrier's read of a field's old value.  A kernel with bigger pages just
 * sees some stores twice. */
#define OS_PAGE_MIN 4096
static void prefault_for_write(mspan *s) {
    for (uintptr_t p = s->base; p < s->base + s->npages * MGC_PAGE_SIZE; p += OS_PAGE_MIN)
        __atomic_store_n((char *)p, 0, __ATOMIC_RELAXED);
}

/* ** Allocate an in-use span of npages for spanclass, with its bitmaps and
 * slot geometry set and every page entry published; NULL when out of memory.
 * The span is returned unlisted: the caller owns it. */
mspan *mgc_heap_alloc(gc_thread *t, size_t npages, int spanclass) {
    mgc_lock(t, &mgc_heap.lock);
    mspan *s = free_find(npages);
    if (!s && !atomic_load_explicit(&mgc_sweep_done, memory_order_acquire)) {
        /* Reclaim before growing (Go's mheap.reclaim): right after a mark
         * the heap is at its goal and every span is unswept, though most
         * may be garbage; growing now would map memory the sweep is about
         * to free, and the program's RSS would overshoot its goal. */
        mgc_unlock(t, &mgc_heap.lock);
        while (mgc_sweep_some(t, 4)) {
            mgc_lock(t, &mgc_heap.lock);
            s = free_find(npages);
            mgc_unlock(t, &mgc_heap.lock);
            if (s) break;
        }
        mgc_lock(t, &mgc_heap.lock);
        s = free_find(npages);
    }
    if (!s && free_merge_mixed(npages)) s = free_find(npages);
    if (!s && heap_grow(npages)) s = free_find(npages);
    if (!s) {
        mgc_unlock(t, &mgc_heap.lock);
        return NULL;
    }
    free_list_remove(s);
    if (s->npages > npages) {
        mspan *rest = mgc_span_struct_alloc();
        if (!rest) {
            free_list_insert(s);
            mgc_unlock(t, &mgc_heap.lock);
            return NULL;
        }
        rest->base = s->base + npages * MGC_PAGE_SIZE;
        rest->npages = s->npages - npages;
        rest->needzero = s->needzero;
        rest->released = s->released;
        rest->scav_gen = s->scav_gen; /* free as long as the whole run was */
        s->npages = npages;
        free_span_publish(rest);
        free_list_insert(rest);
    }
    if (s->released) {
        /* The kernel backs the pages again on first touch, with zeros:
         * needzero is 0, as released runs never merge with used pages. */
        atomic_fetch_sub_explicit(&mgc_hstats.heap_released, npages * MGC_PAGE_SIZE,
                                  memory_order_relaxed);
        s->released = 0;
    }
    mgc_span_init_objects(s, spanclass);
    if (!s->alloc_bits || (s->typed && s->nelems > 1 && !s->ptrbits)) {
        /* no memory for bitmaps: give the pages back */
        if (s->alloc_bits) mgc_bitmap_free(s->alloc_bits, mgc_span_bitmap_words(s));
        s->alloc_bits = s->gcmark_bits = NULL;
        free_pages_locked(s);
        mgc_unlock(t, &mgc_heap.lock);
        return NULL;
    }
    atomic_store_explicit(&s->sweepgen, mgc_sg_swept(mgc_sweepgen_of(t)), memory_order_relaxed);
    /* Publish: fields first, then the state and the page entries (release). */
    atomic_store_explicit(&s->state, SPAN_INUSE, memory_order_release);
    for (size_t i = 0; i < npages; i++) mgc_arena_set_span(s->base + i * MGC_PAGE_SIZE, s);
    atomic_fetch_add_explicit(&mgc_hstats.heap_inuse, npages * MGC_PAGE_SIZE, memory_order_relaxed);
    if (unlikely(!huge_on)) huge_maybe_enable();
    bool fresh = !s->needzero;
    mgc_unlock(t, &mgc_heap.lock);
    if (fresh && s->nelems > 1) prefault_for_write(s);
    return s;
}

/* ** Give an in-use span's pages back.  Its slots held data, so the run now
 * needs zeroing before reuse. */
static void heap_free_locked(mspan *s) {
    atomic_fetch_sub_explicit(&mgc_hstats.heap_inuse, s->npages * MGC_PAGE_SIZE, memory_order_relaxed);
    /* Sweeping swaps the two halves of the bitmap block: free its start. */
    mgc_bitmap_free(s->alloc_bits < s->gcmark_bits ? s->alloc_bits : s->gcmark_bits,
                    mgc_span_bitmap_words(s));
    s->alloc_bits = s->gcmark_bits = NULL;
    if (s->ptrbits) mgc_ptrbits_free(s->ptrbits, s->npages);
    s->ptrbits = NULL;
    s->large_type = NULL;
    s->elemsize = 0;
    s->nelems = 0;
    s->limit = s->base; /* conservative lookups now fail the bounds check */
    s->needzero = 1;
    s->released = 0;
    free_pages_locked(s);
}

void mgc_heap_free(gc_thread *t, mspan *s) {
    mgc_heap_free_n(t, &s, 1);
}

/* ** The n spans a sweep batch emptied, under one hold of the heap lock:
 * one at a time, the program's proportional sweeping and the background
 * sweeper met on that lock at nearly every span of GCBench (two threads). */
void mgc_heap_free_n(gc_thread *t, mspan *const *v, unsigned n) {
    if (!n) return;
    mgc_lock(t, &mgc_heap.lock);
    for (unsigned i = 0; i < n; i++) heap_free_locked(v[i]);
    mgc_unlock(t, &mgc_heap.lock);
}

/* ---- releasing free pages (policy in runtime/scavenge.c) ----------------- */

/* Pages madvised per call: one call under the heap lock takes tens of
 * microseconds, so allocation never waits long behind the scavenger. */
#define RELEASE_CHUNK_PAGES 256 /* 2 MiB */

/* ** May the scavenger release s now?  A run freed since the last pass
 * began (scav_gen within one of the current) may be reused at once. */
static bool release_candidate(const mspan *s, bool all) {
    return !s->released && (all || (uint16_t)(mgc_heap.scav_gen - s->scav_gen) >= 2);
}

/* ** The first candidate: long runs first (the most memory per call), then
 * the exact-size lists from the longest down. */
static mspan *release_find(bool all) {
    for (mspan *s = mgc_heap.free_large.first; s; s = s->next)
        if (release_candidate(s, all)) return s;
    for (int n = 127; n > 0; n--) {
        if (!(mgc_heap.free_mask[n / 64] & ((uint64_t)1 << (n % 64)))) continue;
        for (mspan *s = mgc_heap.free_small[n].first; s && !s->released; s = s->next)
            if (release_candidate(s, all)) return s;
    }
    return NULL;
}

/* ** Release the front chunk of one candidate run, under the heap lock so no
 * allocation can take those pages while the kernel drops them.  The rest of
 * a long run stays a free run of its own, with its age, for the next call. */
size_t mgc_heap_release_locked(bool all) {
    mspan *s = release_find(all);
    if (!s) return 0;
    free_list_remove(s);
    if (s->npages > RELEASE_CHUNK_PAGES) {
        mspan *rest = mgc_span_struct_alloc();
        if (!rest) {
            free_list_insert(s);
            return 0;
        }
        rest->base = s->base + RELEASE_CHUNK_PAGES * MGC_PAGE_SIZE;
        rest->npages = s->npages - RELEASE_CHUNK_PAGES;
        rest->needzero = s->needzero;
        rest->released = 0;
        rest->scav_gen = s->scav_gen;
        s->npages = RELEASE_CHUNK_PAGES;
        free_span_publish(rest);
        free_list_insert(rest);
    }
    size_t bytes = s->npages * MGC_PAGE_SIZE;
    if (!mgc_sys_release((void *)s->base, bytes)) {
        free_pages_locked(s); /* merges back with the rest: nothing changed */
        return 0;
    }
    s->released = 1;
    s->needzero = 0;
    atomic_fetch_add_explicit(&mgc_hstats.heap_released, bytes, memory_order_relaxed);
    free_pages_locked(s); /* joins released neighbours */
    return bytes;
}
