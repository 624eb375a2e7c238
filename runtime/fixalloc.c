/*
 * fixalloc.c -- allocators for the heap's own metadata.
 *
 * Span structs, thread structs and span bitmaps come from here, never from
 * the object heap (which they describe) nor from malloc (which may itself be
 * a client of ours, and is not async-signal-safe).  Each kind is carved
 * from 64 KiB chunks mapped from the OS and recycled through a free list;
 * chunks are never returned, as in Go's fixalloc: metadata is a small,
 * stable fraction of the heap (counted in meta_sys).
 *
 * Invariant: every struct handed out is zeroed.  One mutex covers all
 * lists; it is a leaf lock (nothing else is taken while holding it) and is
 * only taken inside no-preempt sections or by unregistered threads.
 */
#include "runtime/collector.h"
#include "runtime/heap.h"

#define CHUNK_SIZE (64 * 1024)

typedef struct free_node { struct free_node *next; } free_node;

typedef struct fixalloc {
    size_t size;
    free_node *free;
    char *chunk;    /* bump pointer inside the current chunk */
    size_t left;    /* bytes left in it */
} fixalloc;

static mgc_mutex fix_lock = MGC_MUTEX_INIT(FIXALLOC);
static fixalloc span_fa = {sizeof(mspan), NULL, NULL, 0};
static fixalloc thread_fa = {(sizeof(gc_thread) + 63) & ~(size_t)63, NULL, NULL, 0};
/* Bitmaps: one allocator per size in words, each block holding the alloc
 * and the mark bitmap of one span side by side (2 * words words), and with
 * span entries on (MGC_SPANMARK) the scan bitmap and the queued flag too
 * (3 * words + 1: runtime/heap.h; mgc_bitmap_init).  Only then: blocks
 * packed closer keep more of the marker's bitmaps in its caches. */
#define BM(w) [w] = {2 * (w) * sizeof(uint64_t), NULL, NULL, 0}
static fixalloc bitmap_fa[MGC_BITMAP_WORDS + 1] = {
    BM(1), BM(2), BM(3), BM(4), BM(5), BM(6), BM(7), BM(8),
    BM(9), BM(10), BM(11), BM(12), BM(13), BM(14), BM(15), BM(16),
};
_Static_assert(MGC_BITMAP_WORDS == 16, "bitmap_fa initialiser covers 16 sizes");
/* Pointer maps of small typed spans: one bit per word, 16 words a page;
 * one allocator per span size in pages. */
#define PB(n) [n] = {(n) * MGC_PTRBITS_WORDS_PER_PAGE * sizeof(uint64_t), NULL, NULL, 0}
static fixalloc ptrbits_fa[MGC_MAX_SMALL_NPAGES + 1] = {
    PB(1), PB(2), PB(3), PB(4), PB(5), PB(6), PB(7), PB(8),
    PB(9), PB(10), PB(11), PB(12), PB(13), PB(14), PB(15), PB(16),
};
_Static_assert(MGC_MAX_SMALL_NPAGES == 16, "ptrbits_fa initialiser covers 16 sizes");

/* ** Take a zeroed block from f; NULL when the OS refuses memory. */
static void *fix_get(fixalloc *f) {
    void *p;
    mgc_mutex_lock(&fix_lock);
    if (f->free) {
        p = f->free;
        f->free = f->free->next;
        memset(p, 0, f->size);
    } else {
        if (f->left < f->size) {
            size_t n = f->size > CHUNK_SIZE ? f->size : CHUNK_SIZE;
            f->chunk = mgc_sys_alloc(n, &mgc_hstats.meta_sys);
            f->left = f->chunk ? n : 0;
        }
        if (!f->chunk) {
            mgc_mutex_unlock(&fix_lock);
            return NULL;
        }
        p = f->chunk; /* fresh from the OS: already zero */
        f->chunk += f->size;
        f->left -= f->size;
    }
    mgc_mutex_unlock(&fix_lock);
    return p;
}

static void fix_put(fixalloc *f, void *p) {
    mgc_mutex_lock(&fix_lock);
    ((free_node *)p)->next = f->free;
    f->free = p;
    mgc_mutex_unlock(&fix_lock);
}

mspan *mgc_span_struct_alloc(void) { return fix_get(&span_fa); }
void mgc_span_struct_free(mspan *s) {
    atomic_store_explicit(&s->state, SPAN_DEAD, memory_order_relaxed);
    fix_put(&span_fa, s);
}
gc_thread *mgc_thread_struct_alloc(void) { return fix_get(&thread_fa); }
void mgc_thread_struct_free(gc_thread *t) { fix_put(&thread_fa, t); }

/* ** Size the bitmap blocks, before the first span: with the scan bits
 * and the queued flag when span entries are on. */
void mgc_bitmap_init(bool scan_bits) {
    for (unsigned w = 1; w <= MGC_BITMAP_WORDS; w++)
        bitmap_fa[w].size = (scan_bits ? 3 * w + 1 : 2 * w) * sizeof(uint64_t);
}

/* ** Zeroed words: alloc_bits, gcmark_bits, and with span entries the scan
 * bits and the queued flag. */
uint64_t *mgc_bitmap_alloc(unsigned words) {
    return fix_get(&bitmap_fa[words]);
}
void mgc_bitmap_free(uint64_t *b, unsigned words) { fix_put(&bitmap_fa[words], b); }

/* ** A zeroed pointer map for a small span of npages. */
uint64_t *mgc_ptrbits_alloc(size_t npages) {
    if (npages > MGC_MAX_SMALL_NPAGES) mgc_throw("ptrbits: a small span of %zu pages", npages);
    return fix_get(&ptrbits_fa[npages]);
}
void mgc_ptrbits_free(uint64_t *b, size_t npages) { fix_put(&ptrbits_fa[npages], b); }

void mgc_fix_fork_lock(void) { mgc_mutex_lock(&fix_lock); }
void mgc_fix_fork_unlock(void) { mgc_mutex_unlock(&fix_lock); }
