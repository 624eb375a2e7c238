/*
 * mark.c -- finding what is alive, concurrently with the program.
 *
 * Tri-colour marking over per-span mark bits: an object is white while its
 * bit in gcmark_bits is clear, grey once the bit is set and the object is
 * queued in a work buffer, black once it has been scanned.  Scanning is
 * conservative: every aligned word of a root range, a thread's stack, or a
 * scan-class object is looked up with mgc_span_of_heap(), and if it points
 * at or inside an allocated slot, that slot is greyed.  Noscan objects are
 * marked but never queued.  Objects over 128 KiB are queued as 128 KiB
 * pieces ("oblets", as Go does) so one huge array neither stalls a marker
 * nor a mark termination.
 *
 * Who marks: background mark workers (gc/markworker.c), allocating
 * threads paying their assist debt, the write barrier (shading), and, in
 * MGC_STW mode or for MGC_CHECKMARK, the coordinator with the world
 * stopped.  Mark bits are set with an atomic OR, so markers race safely;
 * the marker that sets a bit owns queueing that object.
 *
 * Why the concurrent mark is correct (Go's hybrid barrier, with C's
 * differences):
 *  - at mark setup (world stopped) the barrier turns on, every tiny block
 *    is greyed, and every stack and root range is grey (to be scanned);
 *  - a stack is scanned while its thread alone is stopped (a per-thread
 *    handshake, mgc_stop_thread): no stack ever has to be rescanned,
 *    because after its scan the thread can only get pointers from the heap
 *    (protected by the barrier's deletion half), from other stacks through
 *    the heap (same), or from new objects, which are allocated black;
 *  - root ranges are scanned concurrently like heap objects; stores into
 *    them go through gc_store, whose barrier shades both the overwritten
 *    and the stored pointer;
 *  - mark termination (world stopped) flushes every thread's barrier
 *    buffer; only when no marker holds work, the pool is empty, and every
 *    stack and root range is scanned, is the mark complete.
 *
 * No recursion anywhere: greying pushes onto work buffers and every drain
 * loop pops until they are empty or its budget is spent.
 *
 * Span entries (Go's Green Tea collector, in outline): an object of a small
 * untyped scan span is not queued by itself.  The marker that marks it
 * queues its span, unless an entry for the span is queued already
 * (the queued flag); the marker that takes the entry scans every object of the
 * span that is marked and not yet scanned (the scan bits), as many as have
 * been marked meanwhile.  A push, a pop and a prefetch slot per object
 * become a bit in a word, and the objects a span holds are scanned
 * together, in address order.  Why no marked object goes unscanned: the
 * greying marker's OR of the mark bit and its read of the queued flag, and the
 * scanning marker's clearing of the queued flag and its read of the mark
 * bits, are sequentially consistent, so either the scanner sees the mark
 * or the greying marker sees the queued flag clear and queues the span again.
 * Two scanners of one span split its objects by the atomic OR of the scan
 * bits.  Objects allocated black are set in the scan bits too (never
 * scanned).  A pointer that leaves for another span than the one before
 * it still queues its object by itself, so a heap in random order keeps
 * the prefetch FIFO (a span entry may then scan that object a second
 * time: harmless, since a scan only greys; see queue_marked); a run
 * of pointers into one span gathers its marks and sets them with one OR
 * (marker_flush).  On unless MGC_SPANMARK=0: it marks a tree laid out in
 * address order in about 0.6 of the object-at-a-time loop's time, is even
 * on depth-first trees and loses on a heap in random order
 * (docs/performance.md, "Span entries by default").
 */
#include <stdlib.h>

#include "gc/gc.h"
#include "gc/barrier.h"
#include "gc/workbuf.h"

#define OBLET_SIZE (128 * 1024)

/* Scanning is on: from the moment every thread has entered the mark (its
 * own flag, gc_thread.marking) to the moment the mark is found complete.
 * Unregistered threads' barriers, assists and new root ranges follow it.
 * Changed with the threads lock held (and the world stopped, or after a
 * handshake): a thread registering copies it. */
_Atomic int mgc_marking;
/* The sweepgen under which allocation is black: set at mark setup, stale
 * as soon as the cycle's sweepgen advance.  Registration copies it. */
_Atomic uint32_t mgc_black_sg;
/* Markers that may hold grey objects outside the pool: a worker between
 * taking work and flushing, an assist chunk.  Termination needs 0. */
_Atomic long mgc_mark_nbusy;
/* Assists take no work while set: the handshake mode's termination looks
 * for grey objects with every marker idle (gc/handshake.c).  Coordinator. */
_Atomic int mgc_mark_paused;

/* Cycle totals, folded in by each marker as it flushes. */
static _Atomic uint64_t marked_bytes, scanned_bytes;
/* The part of marked_bytes allocated black (during the mark): reached by
 * no marker.  MGC_VERBOSE=2 prints it, to tell the heap the mark found
 * from what the program added meanwhile (the goal counts both, as Go's). */
static _Atomic uint64_t black_bytes;
static _Atomic uint64_t mark_cycle; /* stamps stacks scanned this cycle */
static _Atomic uint64_t stack_bytes;

static void report_checkmark_failure(mspan *s, unsigned i, uintptr_t p) __attribute__((noreturn));
/* Where the checkmark is scanning (for its report); STW only. */
static const char *check_where = "";
static uintptr_t check_lo, check_hi, check_at;
static uint64_t check_unverified; /* stack words to unmarked objects, last checkmark */
/* Stacks were scanned again in this cycle's termination pause, the one the
 * checkmark runs in: it can verify stack words too.  Coordinator only. */
static bool stacks_rescanned;

/* ** MGC_CHECKMARK's grey: a second, stop-the-world mark in check_bits;
 * any object it reaches must have been marked by the real one -- except
 * through a word on a thread stack, which may be junk that appeared after
 * the thread's stack was scanned (a dead register saved in a signal frame,
 * the allocator's "end of slot" pointer: conservative stacks hold values no
 * program will use).  Such an object is not verified and not traversed: it
 * is garbage the program cannot reach, or, if the program does use it, the
 * mutators' own checks in the stress tests catch it.  True if the object
 * is newly reached.  Out of line: the real mark never comes here. */
static __attribute__((noinline, cold)) bool check_bit_set(gcwork *w, mspan *s, unsigned i,
                                                          uintptr_t p) {
    if (mgc_bit_get(s->check_bits, i)) return false;
    if (!mgc_bit_get(s->gcmark_bits, i)) {
        if (w->check_stack) {
            check_unverified++;
            return false;
        }
        report_checkmark_failure(s, i, p);
    }
    mgc_bit_set(s->check_bits, i);
    return true;
}

/* A work-buffer entry is an object's address, and in its top 16 bits the
 * object's size in words when drain may scan it from the entry alone: a
 * conservative (untyped) object of at most 128 KiB.  0 there means "look
 * the span up" (typed objects, oblets, objects queued by rescan_span).
 * The greying marker has the span in hand; the scanning one, up to
 * PREFETCH_DEPTH pops later, would otherwise read the page table and the
 * span struct again for every object: markrate seq ran 159 instructions
 * per object with that lookup (callgrind), and on a scattered heap the span
 * struct may have left the cache by then.  Heap addresses fit in 48 bits
 * (MGC_ADDR_BITS, as the arena index assumes). */
_Static_assert(sizeof(uintptr_t) == 8, "work-buffer entries pack a size above a 48-bit address");
#define GREY_SIZE_SHIFT 48
#define GREY_ADDR_MASK (((uintptr_t)1 << GREY_SIZE_SHIFT) - 1)
_Static_assert(OBLET_SIZE / 8 < ((uintptr_t)1 << (64 - GREY_SIZE_SHIFT)),
               "an oblet's size in words fits the entry's top bits");
_Static_assert(MGC_ADDR_BITS <= GREY_SIZE_SHIFT, "heap addresses fit below the size bits");

/* The entry's top bit: a span entry (see the file's head), the object
 * address in it the object whose marking queued the span (prefetched, and
 * locating the span); the size bits as for its objects. */
#define GREY_SPAN_BIT ((uintptr_t)1 << 63)
_Static_assert(OBLET_SIZE / 8 < ((uintptr_t)1 << (63 - GREY_SIZE_SHIFT)),
               "object sizes leave the span bit clear");

static inline uintptr_t grey_entry(uintptr_t obj, size_t elemsize) {
    return obj | ((uintptr_t)(elemsize / 8) << GREY_SIZE_SHIFT);
}

/* ** Slot i of span s has just been marked by this marker: queue it as
 * its kind says (put: where, a constant at each call, so it inlines to the
 * caller's own push), and return its bytes, for the caller's count.  The
 * one place both greying paths, grey_in_span and marker_grey, decide how
 * an object is queued. */
typedef void (*grey_put_fn)(void *q, uintptr_t e);
/* ** After marking objects of span s: true if the caller must queue the
 * span's entry, none being queued (the queued flag: runtime/heap.h). */
static inline __attribute__((always_inline)) bool span_claim_queue(mspan *s) {
    uint64_t *q = mgc_span_queued_word(s);
    return !__atomic_load_n(q, __ATOMIC_SEQ_CST) && !__atomic_exchange_n(q, 1, __ATOMIC_SEQ_CST);
}

/* ** A span entry naming obj, one of the span's objects (its size in words
 * as an object entry carries it). */
static inline uintptr_t span_entry(uintptr_t obj, uintptr_t words) {
    return obj | words << GREY_SIZE_SHIFT | GREY_SPAN_BIT;
}

/* ** Prefetch the objects of size bytes whose bits are set in bits, the
 * first at row (a bitmap word's first slot). */
static inline void prefetch_objects(uintptr_t row, uint64_t bits, size_t size) {
    for (; bits; bits &= bits - 1)
        __builtin_prefetch((const void *)(row + (uintptr_t)__builtin_ctzll(bits) * size));
}

enum { QUEUE_OBJECT, QUEUE_SPAN };
static inline __attribute__((always_inline)) size_t queue_marked(mspan *s, unsigned i, grey_put_fn put,
                                                                 void *q, int how) {
    size_t size = s->elemsize;
    uintptr_t obj = s->base + (uintptr_t)i * size;
    uintptr_t words = s->grey_words; /* a small untyped scan span's entry size */
    if (likely(words)) {
        /* An object queued by itself is not claimed in the scan bits, so
         * a span entry of its span may scan it a second time: harmless,
         * since a scan only greys.  A heap in random order scans 13% of
         * its objects twice (callgrind, markrate 8 MB), GCBench 3.6% of
         * its bytes; the claim, an atomic OR on the scan bits' line, cost
         * more: markrate 256 MB in random order 221-352 -> 188-262 ms
         * without it, GCBench no slower (docs/performance.md). */
        if (how == QUEUE_SPAN) {
            /* The span's entry, if none is queued (the queued flag: after the
             * mark bit's OR, both sequentially consistent). */
            if (!span_claim_queue(s)) return size;
            put(q, span_entry(obj, words));
            return size;
        }
        put(q, obj | words << GREY_SIZE_SHIFT);
        return size;
    }
    if (s->noscan) return size;
    if (likely(size <= OBLET_SIZE)) {
        put(q, s->typed ? obj : grey_entry(obj, size));
    } else {
        for (uintptr_t off = 0; off < size; off += OBLET_SIZE) put(q, obj + off);
    }
    return size;
}

static inline __attribute__((always_inline)) void put_gcwork(void *q, uintptr_t e) {
    mgc_gcwork_put(q, e);
}

/* ** Grey the slot of in-use span s that p points into, if it is
 * allocated and not yet marked: the barrier's and the roots' path, which
 * queue on w itself (drain's loop has its own, marker_grey below), and
 * the checkmark's. */
static inline __attribute__((always_inline)) void grey_in_span(gcwork *w, mspan *s, uintptr_t p) {
    unsigned i = mgc_span_obj_index(s, p);
    if (!mgc_span_is_allocated_racy(s, i)) return;
    if (unlikely(w->check)) {
        if (!check_bit_set(w, s, i, p)) return;
    } else if (!(mgc_cfg.span_mark ? mgc_mark_bit_set_sc(s, i) : mgc_mark_bit_set_atomic(s, i))) {
        return;
    }
    /* The checkmark's marks are its check bits: an object at a time. */
    w->bytes_marked +=
        queue_marked(s, i, put_gcwork, w, !w->check && mgc_cfg.span_mark ? QUEUE_SPAN : QUEUE_OBJECT);
}

/* ** Grey the object that p points into, if p is a heap pointer.  It reads
 * span structs found through the page table, whose acquire is in
 * uninstrumented code (mgc_span_of_heap): a racy reader for
 * ThreadSanitizer, as the scan loop is. */
MGC_RACY_READ_FN void grey_word(gcwork *w, uintptr_t p) {
    mspan *s = w->last;
    if (!s || p - s->base >= s->limit - s->base) {
        s = mgc_span_of_heap(p);
        if (!s) return;
        w->last = s;
    }
    grey_in_span(w, s, p);
}

void mgc_grey(gcwork *w, uintptr_t p) { grey_word(w, p); }

/* The scan loops read words and span structs racily by design: see
 * scan_one. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
/* A sanitizer instruments an inlined function as its caller says, so the
 * racy loop stays out of line, uninstrumented, in those builds. */
#define SCAN_LOOP_FN static __attribute__((no_sanitize("address", "thread"), noinline))
#else
#define SCAN_LOOP_FN static inline __attribute__((always_inline))
#endif

/* ---- the marker's registers ----------------------------------------------
 * A marker's loop keeps what it touches for every object in locals, which
 * the compiler can keep in registers (it spills a few: the loop has about
 * sixteen live values): the top of its work buffer, the bytes
 * it marked and scanned, the last span's range and the heap's bounds.
 * Kept in the gcwork instead, every push and pop reloaded the buffer and
 * its count from memory (a store into the buffer may alias them) and every
 * object reloaded the last span: markrate's in-order mark ran 125
 * instructions per 32-byte node (callgrind), 39 of them in that traffic.
 * The gcwork is brought up to date (marker_sync) before anything out of
 * line runs that reads it, and the locals reloaded after (marker_load). */
/* The state of a marker's span entries (see the file's head). */
typedef struct spanpend {
    /* Pending marks (marker_grey): bits of word pw of ps's mark bitmap
     * that this marker found unmarked and will set with one atomic OR
     * (marker_flush), for pointers into one span.  A pending object is
     * grey and this marker's: flushed before the marker can find its
     * buffers empty (marker_get) or leave drain. */
    mspan *ps;
    unsigned pw;
    uint64_t pbits;
    /* The span scan_span is taking: marks flushed into it need no entry,
     * as scan_span passes over it again (again) until a pass marks none
     * of its objects.  A tree laid out depth first has its nodes' kids in
     * the node's own span. */
    mspan *cur;
    bool again;
} spanpend;

typedef struct marker {
    gcwork *w;
    uintptr_t *buf;   /* w->wbuf1->obj, or NULL without a buffer */
    unsigned n, cap;  /* entries in buf; its capacity, 0 without one */
    uint64_t marked;  /* bytes marked, not yet in w->bytes_marked */
    uint64_t scanned; /* bytes scanned, not yet in w->scan_bytes */
    mspan *s;         /* the last span a pointer fell in (w->last) */
    uintptr_t sbase, slen;
    uintptr_t hlo, hlen; /* the heap's bounds, as loaded by the caller */
    /* Span entries' state (spanpend, in drain's frame), or NULL when they
     * are off (MGC_SPANMARK=0, and root scanning). */
    struct spanpend *sp;
} marker;

/* ** The last span's range: a racy read of a span struct, as the scan loop's
 * (drain, which inlines this, is instrumented under ThreadSanitizer). */
MGC_RACY_READ_FN void marker_load_span(marker *m, mspan *s) {
    m->s = s;
    m->sbase = s ? s->base : 0;
    m->slen = s ? s->limit - s->base : 0;
}

static inline __attribute__((always_inline)) void marker_load(marker *m) {
    gcwork *w = m->w;
    workbuf *b = w->wbuf1;
    m->buf = b ? b->obj : NULL;
    m->n = b ? (unsigned)b->nobj : 0;
    m->cap = b ? WORKBUF_OBJS : 0;
    marker_load_span(m, w->last);
}

static inline __attribute__((always_inline)) void marker_sync(marker *m) {
    gcwork *w = m->w;
    if (m->buf) w->wbuf1->nobj = m->n;
    w->last = m->s;
    w->bytes_marked += m->marked;
    w->scan_bytes += m->scanned;
    m->marked = m->scanned = 0;
}

static inline __attribute__((always_inline)) void marker_open(marker *m, gcwork *w, uintptr_t hlo,
                                                              uintptr_t hlen) {
    m->w = w;
    m->marked = m->scanned = 0;
    m->sp = NULL;
    m->hlo = hlo;
    m->hlen = hlen;
    marker_load(m);
}

/* ** Queue e: a store and an add while the buffer has room.  Nothing else
 * touches w's buffers meanwhile: a marker's gcwork is its own, and a
 * program thread's (an assist) is used only inside its no-preempt
 * section, where no handshake runs. */
static inline __attribute__((always_inline)) void marker_put(marker *m, uintptr_t e) {
    if (likely(m->n < m->cap)) {
        m->buf[m->n++] = e;
        return;
    }
    marker_sync(m);
    mgc_gcwork_put_slow(m->w, e);
    marker_load(m);
}

SCAN_LOOP_FN void marker_flush(marker *m);

/* ** The next grey entry, or 0 when this marker and the pool are empty
 * (pending marks flushed: none are left when it returns 0). */
static inline __attribute__((always_inline)) uintptr_t marker_get(marker *m, bool span) {
    if (likely(m->n > 0)) return m->buf[--m->n];
    if (span && m->sp->pbits) {
        marker_flush(m);
        if (m->n > 0) return m->buf[--m->n];
    }
    marker_sync(m);
    uintptr_t e = mgc_gcwork_try_get_slow(m->w);
    marker_load(m);
    return e;
}

static inline __attribute__((always_inline)) void put_marker(void *q, uintptr_t e) {
    marker_put(q, e);
}

/* ** grey_in_span for the real mark's loop (never the checkmark): the same
 * decision, queued in the marker's registers.  near: p fell in the span of
 * the pointer before it, or in the span of the pending marks; then its
 * mark is gathered with the others of its span, and a span entry scans
 * them.  Otherwise (a pointer that leaves for another span: on a heap in
 * random order, nearly all of them) the object is marked and queued by
 * itself, so the prefetch FIFO covers its miss.  About 20 instructions for
 * a pointer to an unmarked object (index by multiply, allocated test,
 * mark-bit test and set, push). */
static inline __attribute__((always_inline)) void marker_grey(marker *m, mspan *s, uintptr_t p, bool near,
                                                              bool span) {
    unsigned i = mgc_span_obj_index(s, p);
    if (!mgc_span_is_allocated_racy(s, i)) return;
    if (span && near && s->grey_words) {
        /* A run of pointers into one span: gather the marks of one
         * bitmap word and set them with one atomic OR (marker_flush).  An
         * in-order heap marks a tree node's children and its neighbours'
         * in one word: the OR per object was half the mark's time. */
        uint64_t bit = (uint64_t)1 << (i % 64);
        unsigned w = i / 64;
        if (__atomic_load_n(&s->gcmark_bits[w], __ATOMIC_RELAXED) & bit) return;
        if (s == m->sp->ps && w == m->sp->pw) {
            m->sp->pbits |= bit;
            return;
        }
        if (m->sp->pbits) marker_flush(m);
        m->sp->ps = s;
        m->sp->pw = w;
        m->sp->pbits = bit;
        return;
    }
    if (!mgc_mark_bit_set_atomic(s, i)) return;
    m->marked += queue_marked(s, i, put_marker, m, QUEUE_OBJECT);
}

/* ** Set the pending marks; those this marker set are grey, and their
 * span's entry is queued unless one is already (queue_marked's protocol,
 * for several objects at once).  Once per run of pointers into one
 * bitmap word. */
SCAN_LOOP_FN void marker_flush(marker *m) {
    uint64_t bits = m->sp->pbits;
    m->sp->pbits = 0;
    mspan *s = m->sp->ps;
    uint64_t newly = bits & ~__atomic_fetch_or(&s->gcmark_bits[m->sp->pw], bits, __ATOMIC_SEQ_CST);
    if (!newly) return;
    m->marked += (uint64_t)mgc_popcount64(newly) * s->elemsize;
    if (s == m->sp->cur) {
        /* scan_span's next pass scans them: their lines are on the way
         * meanwhile. */
        prefetch_objects(s->base + (uintptr_t)m->sp->pw * 64 * s->elemsize, newly, s->elemsize);
        m->sp->again = true;
        return;
    }
    if (!span_claim_queue(s)) return;
    uintptr_t obj = s->base + ((uintptr_t)m->sp->pw * 64 + (uintptr_t)__builtin_ctzll(newly)) * s->elemsize;
    marker_put(m, span_entry(obj, s->grey_words));
}

/* ** The marker's inner loop: grey every heap pointer among the words of
 * [lo, hi), for the real mark (never the checkmark).  A word that is not a
 * heap pointer costs a load, a subtract and a compare; one inside the last
 * span a second compare, then marker_grey.  The bounds may grow while we
 * scan; an arena added after the caller read them holds only objects
 * allocated since scanning began, which are black (scanning starts only
 * after every thread allocates black: gc/handshake.c, and the world stop
 * in MGC_HANDSHAKE=0).  Racy reads, as in scan_range. */

/* ** One word of a conservative scan. */
static inline __attribute__((always_inline)) void scan_one(marker *m, uintptr_t q, bool span) {
    uintptr_t p = *(volatile const uintptr_t *)q;
    if (p - m->hlo >= m->hlen) return;
    bool near = true;
    if (p - m->sbase >= m->slen) {
        mspan *t = mgc_span_of_heap_within(p);
        if (!t) return;
        m->s = t;
        m->sbase = t->base;
        m->slen = t->limit - t->base;
        near = span && (t == m->sp->ps || t == m->sp->cur);
    }
    marker_grey(m, m->s, p, near, span); /* one call: two copies cost the default loop 10% */
}

SCAN_LOOP_FN void scan_conservative(marker *m, uintptr_t lo, uintptr_t hi, bool span) {
    for (uintptr_t q = lo; q + sizeof(uintptr_t) <= hi; q += sizeof(uintptr_t)) scan_one(m, q, span);
}

/* ** An object of 16 or 32 bytes, its words written out: the commonest
 * small objects (a tree node, a cons, a VM's boxed value) skip the loop's
 * counting and branches.  markrate 8 MB seq (32-byte nodes), callgrind:
 * 158.3 M -> 136.1 M instructions. */
SCAN_LOOP_FN void scan_conservative2(marker *m, uintptr_t obj, bool span) {
    scan_one(m, obj, span);
    scan_one(m, obj + 8, span);
}
SCAN_LOOP_FN void scan_conservative4(marker *m, uintptr_t obj, bool span) {
    scan_one(m, obj, span);
    scan_one(m, obj + 8, span);
    scan_one(m, obj + 16, span);
    scan_one(m, obj + 24, span);
}

static inline uintptr_t heap_lo_now(void) {
    return atomic_load_explicit(&mgc_heap_lo, memory_order_relaxed);
}
/* ** The heap's length from lo; 0 before the first arena (lo UINTPTR_MAX,
 * hi 0), where hi - lo would be 1 and let UINTPTR_MAX through the
 * marker's bounds test, which mgc_span_of_heap_within trusts. */
static inline uintptr_t heap_len_now(uintptr_t lo) {
    uintptr_t hi = atomic_load_explicit(&mgc_heap_hi, memory_order_relaxed);
    return hi > lo ? hi - lo : 0;
}

/* ** Scan [lo, hi) word by word.  Stacks, roots and objects may be changing
 * under us (the program runs): the reads are racy by design, each word is
 * read once and any value it had is a safe answer, so neither AddressSanitizer
 * nor ThreadSanitizer should report them. */
__attribute__((no_sanitize("address", "thread"))) static void scan_range(gcwork *w, uintptr_t lo,
                                                                           uintptr_t hi) {
    if (unlikely(w->check)) {
        check_lo = lo, check_hi = hi;
        for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t)) {
            check_at = p;
            grey_word(w, *(volatile const uintptr_t *)p);
        }
        return;
    }
    uintptr_t hlo = heap_lo_now();
    marker m;
    marker_open(&m, w, hlo, heap_len_now(hlo));
    scan_conservative(&m, lo, hi, false); /* roots: an object at a time */
    m.scanned += hi - lo;
    marker_sync(&m);
}

static void scan_root_cb(uintptr_t lo, uintptr_t hi, void *arg) { scan_range(arg, lo, hi); }

/* ** One pointer word of a typed object. */
__attribute__((no_sanitize("address", "thread"))) static inline void scan_ptr_word(gcwork *w,
                                                                                 uintptr_t p) {
    if (unlikely(w->check)) check_at = p;
    grey_word(w, *(volatile const uintptr_t *)p);
}

/* ** The pointer words of [lo, hi) inside a typed span, as its map says
 * (runtime/typed.c): a bitmap word per 64 words, then only the pointers.
 * Racy reads, as in scan_range. */
__attribute__((no_sanitize("address", "thread"))) static void scan_typed(gcwork *w, mspan *s,
                                                                           uintptr_t lo, uintptr_t hi) {
    if (unlikely(w->check)) check_lo = lo, check_hi = hi;
    else w->scan_bytes += hi - lo;
    if (s->ptrbits) {
        size_t k = (lo - s->base) / 8, end = (hi - s->base) / 8;
        while (k < end) {
            uint64_t bits = __atomic_load_n(&s->ptrbits[k / 64], __ATOMIC_RELAXED) >> (k % 64);
            size_t n = 64 - k % 64;
            if (n > end - k) {
                n = end - k;
                bits &= ((uint64_t)1 << n) - 1;
            }
            while (bits) {
                scan_ptr_word(w, s->base + (k + (size_t)__builtin_ctzll(bits)) * 8);
                bits &= bits - 1;
            }
            k += n;
        }
        return;
    }
    const gc_type *t = s->large_type; /* one object: its type, repeated */
    size_t k = (lo - s->base) / 8 % t->nwords;
    for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
        if ((t->mask[k / 64] >> (k % 64)) & 1) scan_ptr_word(w, p);
        if (++k == t->nwords) k = 0;
    }
}

/* ** [lo, hi) of an object of span s, as its kind says. */
static inline void scan_words(gcwork *w, mspan *s, uintptr_t lo, uintptr_t hi) {
    if (s->typed && (s->ptrbits || s->large_type)) scan_typed(w, s, lo, hi);
    else scan_range(w, lo, hi);
}

/* ** A grey object's slot, or one oblet of a large object.  Only objects
 * grey_word queued (or rescan_span found in a span) come here: obj is in
 * an in-use span, so the lookup skips the checks a conservative word needs
 * (6% fewer instructions in the mark, callgrind on markrate). */
static void scan_object(gcwork *w, uintptr_t obj) {
    mspan *s = mgc_span_of_unchecked(obj);
    if (unlikely(mgc_bc_on) && !w->check) mgc_bc_scan(s, obj); /* MGC_BARRIERCHECK */
    if (s->elemsize <= OBLET_SIZE) {
        scan_words(w, s, obj, obj + s->elemsize);
    } else {
        uintptr_t end = s->base + s->elemsize;
        scan_words(w, s, obj, end - obj > OBLET_SIZE ? obj + OBLET_SIZE : end);
    }
}

/* ** An untyped object's words, the commonest sizes written out. */
static inline __attribute__((always_inline)) void scan_object_of(marker *m, uintptr_t obj, size_t size,
                                                                 bool span) {
    if (size == 32) scan_conservative4(m, obj, span);
    else if (size == 16) scan_conservative2(m, obj, span);
    else scan_conservative(m, obj, obj + size, span);
}

/* ** A span entry (see the file's head): take the span's marked, unscanned
 * objects and scan them, in address order.  The queued flag is cleared first,
 * so a mark made after our read of its word queues the span again; the
 * scan bits' OR decides which of two scanners of the span takes an object.
 * Marked slots are all allocated: markers mark only allocated slots, and
 * the free slots premarked for allocating black are set in the scan bits.
 * slow (the barrier sanitizer): each object through scan_object. */
SCAN_LOOP_FN void scan_span(marker *m, uintptr_t obj, bool slow) {
    mspan *s = mgc_span_of_unchecked(obj);
    __atomic_exchange_n(mgc_span_queued_word(s), 0, __ATOMIC_SEQ_CST);
    unsigned nw = mgc_span_bitmap_words(s);
    uint64_t *marks = s->gcmark_bits, *scans = mgc_span_scan_bits(s);
    uintptr_t base = s->base;
    size_t size = s->elemsize;
    m->sp->cur = s;
    do {
        m->sp->again = false;
        for (unsigned k = 0; k < nw; k++) {
            uint64_t todo = __atomic_load_n(&marks[k], __ATOMIC_SEQ_CST) &
                            ~__atomic_load_n(&scans[k], __ATOMIC_RELAXED);
            if (!todo) continue;
            todo &= ~__atomic_fetch_or(&scans[k], todo, __ATOMIC_RELAXED);
            uintptr_t row = base + (uintptr_t)k * 64 * size;
            /* The objects' lines are loaded together: a span's objects are
             * scanned in bursts, as they get marked, so the hardware's
             * stream prefetcher has seldom seen them coming (a miss per
             * line was a third of the in-order mark). */
            prefetch_objects(row, todo, size);
            while (todo) {
                uintptr_t o = row + (uintptr_t)__builtin_ctzll(todo) * size;
                todo &= todo - 1;
                if (unlikely(slow)) {
                    marker_sync(m);
                    scan_object(m->w, o);
                    marker_load(m);
                } else {
                    scan_object_of(m, o, size, true);
                    m->scanned += size;
                }
            }
        }
        /* Our own marks in this span: set now, scanned by another pass. */
        if (m->sp->pbits && m->sp->ps == s) marker_flush(m);
    } while (m->sp->again);
    m->sp->cur = NULL;
}

/* ** Scan a work-buffer entry, as drain's common case inlined there: an
 * entry that carries its object's size (grey_entry) is scanned from it
 * alone, by the real mark without the barrier sanitizer (slow: the
 * checkmark or MGC_BARRIERCHECK); every other entry goes through
 * scan_object, out of line, with the gcwork brought up to date; a span
 * entry (span: only when they are on) goes to scan_span. */
static inline __attribute__((always_inline)) void scan_entry(marker *m, uintptr_t e, bool slow, bool span) {
    uintptr_t obj = e & GREY_ADDR_MASK, size = (e >> GREY_SIZE_SHIFT) * 8;
    if (span && (e & GREY_SPAN_BIT)) {
        scan_span(m, obj, slow);
        return;
    }
    if (unlikely(slow || size == 0)) {
        marker_sync(m);
        scan_object(m->w, obj);
        marker_load(m);
        return;
    }
    scan_object_of(m, obj, size, span);
    m->scanned += size;
}

/* ** A finalizable object's words, without marking the object: what it
 * reaches must survive for its finalizer, while it may itself die. */
void mgc_scan_contents(gcwork *w, uintptr_t obj) {
    mspan *s = mgc_span_of_heap(obj);
    if (s && !s->noscan) scan_words(w, s, obj, obj + s->elemsize);
}

/* ** The thread's stack from where it stopped to its base, its thread-roots
 * ranges (gc/threadroots.c, which also handles a thread stopped on another
 * stack), and its tiny block (the cache is not scanned memory). */
static void scan_stack(gcwork *w, gc_thread *t, uintptr_t sp) {
    grey_word(w, t->cache.tiny);
    uint64_t bytes = mgc_thread_roots_scan(t, sp, scan_root_cb, w);
    atomic_fetch_add_explicit(&stack_bytes, bytes, memory_order_relaxed);
}

/* Prefetch on grey (Boehm GC's mark-stack prefetch; Garner, Blackburn and
 * Frampton, "Effective prefetch for mark-sweep garbage collection", ISMM
 * 2007): an object popped from the work buffer is prefetched and parked in
 * a small FIFO, and the object parked PREFETCH_DEPTH pops earlier is the
 * one scanned, by which time its line has usually arrived.  On a tree laid
 * out in random order nearly every object is a cache miss, and this turns
 * a miss per object into misses overlapped PREFETCH_DEPTH at a time.
 * Depth 32, not the 8 it was: once the scan loop ran from registers, an
 * object took less time than a miss, and eight objects no longer covered
 * one.  Three interleaved runs each, 8 -> 32: binary-trees 21 wall 7.5 ->
 * 6.9 s, CPU 12.6 -> 11.4 s, peak RSS 513 -> 456 MB (a shorter mark
 * allocates less black); GCBench 0.27 -> 0.24 s (1 thread), 0.55 -> 0.48 s
 * (2); markrate 256 MB seq, stop-the-world, 2060 -> 2820 MB/s.  Only the
 * 64 MB in-order tree lost (2300 -> 2000 MB/s; from 128 MB on, 32 wins:
 * 2190 -> 2950): the price is paid on trees laid out in order, whose scan
 * order the FIFO disturbs (docs/performance.md). */
#define PREFETCH_DEPTH 32
/* Every object takes the FIFO.  An earlier version let an object popped
 * within 1 KiB of the one scanned last skip it (in-order heaps keep their
 * scan order); once the scan loop kept its state in registers that no
 * longer paid on in-order heaps (markrate seq within noise), and on real
 * allocation patterns, where reused slots make "near" mean nothing about
 * the cache, it cost: binary-trees 21 (11 interleaved runs each) median
 * wall 10.9 -> 9.6 s, CPU 19.4 -> 17.3 s, peak RSS 647 -> 502 MB without
 * it; GCBench 1 thread 0.437 -> 0.385 s, 2 threads 0.82 -> 0.70 s.  The
 * synthetic dup layout lost 15% (docs/performance.md). */

/* ** Pop and scan until empty or budget bytes scanned.  True if the budget
 * ran out (work may be left).  The FIFO lives in this frame only: objects
 * in it are grey and counted as this marker's work (mgc_mark_nbusy), and
 * on the way out they are scanned (empty) or queued again (budget), so no
 * grey object outlives the call outside a work buffer. */
static inline __attribute__((always_inline)) bool drain_mode(gcwork *w, int64_t budget, bool span) {
    uint64_t start = w->scan_bytes;
    uintptr_t fifo[PREFETCH_DEPTH];
    const uintptr_t hlo = heap_lo_now();
    const bool slow = w->check || mgc_bc_on; /* scan_entry's conditions */
    unsigned head = 0, n = 0;
    marker m;
    spanpend sp = {0};
    marker_open(&m, w, hlo, heap_len_now(hlo));
    if (span) m.sp = &sp;
    for (;;) {
        uintptr_t obj = marker_get(&m, span);
        if (obj) {
            __builtin_prefetch((const void *)(obj & GREY_ADDR_MASK));
            if (n < PREFETCH_DEPTH) {
                fifo[(head + n++) % PREFETCH_DEPTH] = obj;
                continue;
            }
            uintptr_t next = obj;
            obj = fifo[head];
            fifo[head] = next;
            head = (head + 1) % PREFETCH_DEPTH;
        } else {
            if (n == 0) break;
            obj = fifo[head];
            head = (head + 1) % PREFETCH_DEPTH;
            n--;
        }
        scan_entry(&m, obj, slow, span);
        /* A worker waits for work and the pool is empty: share ours. */
        if (unlikely(atomic_load_explicit(&mgc_workers_hungry, memory_order_relaxed)) &&
            atomic_load_explicit(&mgc_wbuf_nfull, memory_order_relaxed) == 0) {
            marker_sync(&m);
            bool shared = mgc_gcwork_balance(w);
            marker_load(&m);
            if (shared) mgc_workers_wake();
        }
        if (budget >= 0 && (int64_t)(w->scan_bytes + m.scanned - start) >= budget) {
            /* Already marked: back in the buffer they go (a put that finds
             * no buffer drops, and mark termination rescans for them). */
            if (span && m.sp->pbits) marker_flush(&m);
            for (; n > 0; n--, head = (head + 1) % PREFETCH_DEPTH) marker_put(&m, fifo[head]);
            marker_sync(&m);
            return true;
        }
    }
    marker_sync(&m);
    return false;
}

/* ** drain, compiled twice, as two functions: span entries on or off
 * (MGC_SPANMARK), so the object-at-a-time loop carries none of their state
 * or tests (with them it ran 28% more instructions, callgrind; and 16%
 * more with both loops in one function, whose registers they shared). */
static __attribute__((noinline)) bool drain_objects(gcwork *w, int64_t budget) {
    return drain_mode(w, budget, false);
}
static __attribute__((noinline)) bool drain_spans(gcwork *w, int64_t budget) {
    return drain_mode(w, budget, true);
}
static bool drain(gcwork *w, int64_t budget) {
    return mgc_cfg.span_mark ? drain_spans(w, budget) : drain_objects(w, budget);
}

void mgc_mark_add_black(uint64_t bytes) {
    atomic_fetch_add_explicit(&marked_bytes, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&black_bytes, bytes, memory_order_relaxed);
}

void mgc_gcwork_account(gcwork *w) {
    atomic_fetch_add_explicit(&marked_bytes, w->bytes_marked, memory_order_relaxed);
    atomic_fetch_add_explicit(&scanned_bytes, w->scan_bytes, memory_order_relaxed);
    w->bytes_marked = 0;
    w->scan_bytes = 0;
}

/* ---- stacks ------------------------------------------------------------ */

/* ** Scan one registered thread's stack that this cycle has not scanned
 * yet, stopping just that thread.  Called by markers that are not
 * registered threads (workers, the coordinator).  False if none is left. */
static bool scan_one_stack(gcwork *w) {
    uint64_t cycle = atomic_load(&mark_cycle);
    /* Never wait for the threads lock: the coordinator may hold it with the
     * world stopped while it waits for us to go idle. */
    if (!mgc_threads_trylock()) return false;
    gc_thread *t = mgc_all_threads;
    while (t && t->stack_scanned == cycle) t = t->next;
    if (!t) {
        mgc_threads_unlock();
        return false;
    }
    uint64_t t0 = mgc_nanotime();
    if (mgc_stop_thread(t)) {
        scan_stack(w, t, t->suspended_sp);
        mgc_start_thread(t);
        uint64_t d = mgc_nanotime() - t0;
        mgc_stat_stack(t->id, t0, d);
    }
    t->stack_scanned = cycle;
    mgc_threads_unlock();
    mgc_thread_roots_warn_deferred();
    return true;
}

/* ** A thread's stack, scanned at its handshake (gc/handshake.c): by the
 * thread itself in its handler, from the handler's frame (the interrupted
 * registers are in the signal frame above it), or, parked, by the
 * coordinator from the frame it published.  Through its own work buffer,
 * published at once for the workers.  The threads lock is held
 * by the coordinator, which reads stack_scanned after the answer. */
void mgc_mark_scan_self(gc_thread *t) {
    uint64_t cycle = atomic_load(&mark_cycle);
    if (t->stack_scanned == cycle) return;
    uintptr_t sp = t->suspended_sp;
    if (mgc_me() == t) {
        sp = mgc_current_sp();
        mgc_thread_roots_note_sp(t, sp);
    }
    scan_stack(&t->gcw, t, sp);
    t->stack_scanned = cycle;
    mgc_mark_flush_thread(t); /* for the workers now, not at the next round */
}

/* ** Any stack not yet scanned this cycle?  Threads lock held. */
bool mgc_mark_stacks_pending_locked(void) {
    uint64_t cycle = atomic_load(&mark_cycle);
    for (gc_thread *t = mgc_all_threads; t; t = t->next)
        if (t->stack_scanned != cycle) return true;
    return false;
}

static bool stacks_pending(void) {
    mgc_threads_lock();
    bool pending = mgc_mark_stacks_pending_locked();
    mgc_threads_unlock();
    return pending;
}

/* ---- the phases ------------------------------------------------------------ */

/* ** Mark setup, before any thread is told: reset the cycle's counters
 * and make every root range and finalizer record grey.  Nothing is scanned
 * until every thread has run mgc_mark_setup_thread. */
void mgc_mark_setup_global(void) {
    atomic_store(&marked_bytes, 0);
    atomic_store(&scanned_bytes, 0);
    atomic_store(&black_bytes, 0);
    atomic_store(&stack_bytes, 0);
    atomic_fetch_add(&mark_cycle, 1);
    mgc_roots_mark_begin();
    mgc_fin_mark_begin();
    atomic_store(&mgc_black_sg, mgc_sweepgen());
}

/* ** One thread enters the mark (at its handshake, or with the world
 * stopped): its barrier and black allocation on, its tiny block grey (new
 * sub-objects of a block are not allocated black), every span it caches
 * allocating black.  A span it cached before the last sweep began (sg+1:
 * the handshake mode leaves such spans in caches) is handed to the sweeper
 * instead: its mark bits are the last cycle's. */
void mgc_mark_setup_thread(gc_thread *t) {
    t->assist_debt = 0;
    t->gcw.last = NULL;
    grey_word(&t->gcw, t->cache.tiny);
    mgc_cache_release_stale(t);
    for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++)
        if (t->cache.alloc[i] != &mgc_empty_span) mgc_span_premark_free(t->cache.alloc[i]);
    t->black_sg = atomic_load(&mgc_black_sg);
    t->marking = 1;
}

/* ** Mark setup with the world stopped (MGC_HANDSHAKE=0, MGC_STW). */
void mgc_mark_setup(void) {
    mgc_mark_setup_global();
    for (gc_thread *t = mgc_all_threads; t; t = t->next) mgc_mark_setup_thread(t);
    atomic_store(&mgc_marking, 1);
}

/* ** MGC_STW and mark-termination leftovers: everything at once, world
 * stopped, by the calling (unregistered) coordinator. */
void mgc_mark_everything_stw(gcwork *w) {
    uint64_t cycle = atomic_load(&mark_cycle);
    while (mgc_roots_scan_chunk(scan_root_cb, w)) {}
    while (mgc_fin_mark_some(w)) {}
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        if (t->stack_scanned == cycle) continue;
        scan_stack(w, t, t->suspended_sp);
        t->stack_scanned = cycle;
        drain(w, -1);
    }
    drain(w, -1);
}

/* ** Mark termination, world stopped, after the concurrent mark: ranges
 * written with plain stores and every stack, scanned again against the
 * final state of memory, then drained (why: gc/roots.c).  Stacks count
 * once in the cycle's root bytes. */
void mgc_mark_rescan_stw(gcwork *w) {
    stacks_rescanned = false;
    if (!mgc_roots_need_rescan()) return;
    mgc_roots_rescan(scan_root_cb, w);
    uint64_t sb = atomic_load(&stack_bytes);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) scan_stack(w, t, t->suspended_sp);
    atomic_store(&stack_bytes, sb);
    drain(w, -1);
    stacks_rescanned = true;
}

/* ** One slice of concurrent marking: a root chunk, a stack (if allowed),
 * or up to budget bytes of draining.  False when no work was found. */
bool mgc_mark_some(gcwork *w, int64_t budget, bool stacks) {
    bool found = false;
    if (mgc_roots_scan_chunk(scan_root_cb, w)) found = true;
    else if (stacks && mgc_fin_mark_some(w)) found = true;
    else if (stacks && scan_one_stack(w)) found = true;
    uint64_t before = w->scan_bytes;
    drain(w, budget);
    return found || w->scan_bytes != before;
}

/* ** Is any marking left that the markers can see? */
bool mgc_mark_work_left(void) {
    return atomic_load(&mgc_wbuf_nfull) > 0 || mgc_roots_pending() || mgc_fin_pending() ||
           stacks_pending();
}

/* ** Move a stopped (or the calling) thread's barrier/assist work to the
 * pool. */
void mgc_mark_flush_thread(gc_thread *t) {
    mgc_gcwork_dispose(&t->gcw);
    mgc_gcwork_account(&t->gcw);
}

/* ** Mark termination, world stopped and no work left: the barrier goes
 * off, cached spans stop allocating black.  Returns the bytes marked;
 * *root_bytes gets roots + stacks scanned. */
uint64_t mgc_mark_finish(uint64_t *root_bytes) {
    atomic_store(&mgc_marking, 0);
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        t->marking = 0;
        for (int i = 0; i < MGC_NUM_SPAN_CLASSES; i++)
            if (t->cache.alloc[i] != &mgc_empty_span) mgc_mark_add_black(mgc_span_unmark_free(t->cache.alloc[i]));
    }
    return mgc_mark_totals(root_bytes);
}

/* ** Bytes marked this cycle; *root_bytes gets roots + stacks scanned. */
uint64_t mgc_mark_totals(uint64_t *root_bytes) {
    *root_bytes = mgc_roots_bytes() + atomic_load(&stack_bytes);
    return atomic_load(&marked_bytes);
}

/* ---- mark-stack overflow --------------------------------------------------- */

/* ** Scan every marked, allocated object of one span (check_bits for the
 * checkmark), draining after each so deep structures are followed with the
 * few buffers there are. */
static void rescan_span(mspan *s, void *arg) {
    gcwork *w = arg;
    if (s->noscan) return;
    const uint64_t *bits = w->check ? s->check_bits : s->gcmark_bits;
    for (unsigned k = 0; k < mgc_span_bitmap_words(s); k++) {
        uint64_t word = __atomic_load_n(&bits[k], __ATOMIC_RELAXED);
        while (word) {
            unsigned i = k * 64 + (unsigned)__builtin_ctzll(word);
            word &= word - 1;
            if (i >= s->nelems || !mgc_span_is_allocated(s, i)) continue;
            uintptr_t obj = s->base + (uintptr_t)i * s->elemsize;
            for (uintptr_t off = 0; off < s->elemsize; off += OBLET_SIZE) scan_object(w, obj + off);
            drain(w, -1);
        }
    }
}

/* ** World stopped, nothing else left to mark: if grey objects were dropped
 * for want of work buffers (gc/workbuf.c), scan every marked object again
 * until a whole pass drops nothing.  Each pass that drops has newly marked
 * what it dropped, so the passes end.  Returns the passes made. */
unsigned mgc_mark_rescan_dropped(gcwork *w) {
    unsigned passes = 0;
    while (atomic_exchange(&mgc_wbuf_dropped, 0) != 0) {
        passes++;
        mgc_mutex_lock(&mgc_heap.lock); /* the scavenger is not stopped */
        mgc_heap_for_each_span(rescan_span, w);
        mgc_mutex_unlock(&mgc_heap.lock);
        drain(w, -1);
    }
    return passes;
}

/* ---- assists ------------------------------------------------------------- */

/* ** An allocating thread pays for what it allocated while marking, in
 * chunks of at most 64 KiB of scanning, each a no-preempt section so a
 * stop never waits long and never finds the thread mid-scan.  Out of the
 * runtime when called: the thread may be stopped between chunks. */
void mgc_assist(gc_thread *t) {
    /* First draw on the credit the background workers banked. */
    int64_t credit = atomic_load_explicit(&mgc_bg_credit, memory_order_relaxed);
    while (credit > 0 && t->assist_debt > 0) {
        int64_t take = credit < t->assist_debt ? credit : t->assist_debt;
        if (atomic_compare_exchange_weak(&mgc_bg_credit, &credit, credit - take)) {
            t->assist_debt -= take;
            break;
        }
    }
    if (t->assist_debt <= 0) return;
    /* Nothing in the pool and no root chunk left: the workers hold every
     * grey object and this thread cannot help.  Forgive the debt (Go parks
     * the goroutine until credit comes; we let it run, bounded by the hard
     * goal's backpressure) and do not even start the clocks: this is the
     * common case when one worker keeps up, hundreds of thousands of times
     * in a long run. */
    if (atomic_load_explicit(&mgc_wbuf_nfull, memory_order_relaxed) == 0 && !mgc_roots_pending()) {
        t->assist_debt = 0;
        return;
    }
    uint64_t t0 = mgc_nanotime(), c0 = mgc_thread_cputime();
    uint64_t scanned0 = t->gcw.scan_bytes;
    while (t->assist_debt > 0 && atomic_load_explicit(&mgc_marking, memory_order_relaxed)) {
        mgc_nopreempt_begin(t);
        /* Counted busy before looking at the flags: a termination that
         * pauses the markers and then sees nbusy == 0 knows every assist
         * after that sees the pause (gc/handshake.c). */
        atomic_fetch_add(&mgc_mark_nbusy, 1);
        if (!atomic_load(&mgc_marking) || atomic_load(&mgc_mark_paused)) {
            atomic_fetch_sub(&mgc_mark_nbusy, 1);
            mgc_nopreempt_end(t);
            break;
        }
        uint64_t before = t->gcw.scan_bytes;
        bool found = mgc_mark_some(&t->gcw, 64 * 1024, false);
        t->assist_debt -= (int64_t)(t->gcw.scan_bytes - before);
        /* Publish what is left: grey objects kept in a mutator's buffers are
         * invisible to the workers and to the coordinator's "is marking
         * done?" until the termination pause flushes them. */
        mgc_gcwork_dispose(&t->gcw);
        atomic_fetch_sub(&mgc_mark_nbusy, 1);
        mgc_nopreempt_end(t);
        if (!found) { /* nothing to do: the workers hold it all */
            if (t->assist_debt > 0) t->assist_debt = 0;
            break;
        }
    }
    /* Overpayment (a chunk scans up to 64 KiB) stays as credit for later
     * allocation, as in Go; mark setup resets it. */
    if (t->gcw.scan_bytes == scanned0) return; /* raced: the pool emptied */
    uint64_t d = mgc_nanotime() - t0;
    mgc_stat_assist(t->id, t0, d, mgc_thread_cputime() - c0);
}

/* ---- MGC_CHECKMARK --------------------------------------------------------- */

/* Check bits come from the bitmap allocator, never malloc: a stopped
 * thread may hold malloc's lock.  Out of memory, the cycle goes unchecked
 * (*arg counts the spans left without bits) rather than the process dying
 * of a debug mode. */
static void alloc_check_bits(mspan *s, void *arg) {
    s->check_bits = mgc_bitmap_alloc(mgc_span_bitmap_words(s));
    if (!s->check_bits) ++*(size_t *)arg;
}
static void free_check_bits(mspan *s, void *arg) {
    (void)arg;
    if (s->check_bits) mgc_bitmap_free(s->check_bits, mgc_span_bitmap_words(s));
    s->check_bits = NULL;
}

static void report_checkmark_failure(mspan *s, unsigned i, uintptr_t p) {
    uintptr_t obj = s->base + (uintptr_t)i * s->elemsize;
    /* The world is stopped: mgc_print, never stdio (a stopped thread may
     * hold stderr's lock). */
    mgc_print("mgc: checkmark: a reachable object was not marked by the concurrent mark\n"
            "  object %#lx (reached through the word %#lx), size %zu, slot %u\n"
            "  span [%#lx, %#lx), size class %u, %s, %u of %u slots allocated, sweepgen %u",
            (unsigned long)obj, (unsigned long)p, s->elemsize, i, (unsigned long)s->base,
            (unsigned long)(s->base + s->npages * MGC_PAGE_SIZE), MGC_SPANCLASS_SIZECLASS(s->spanclass),
            s->noscan ? "noscan" : s->typed ? "typed" : "scan", s->alloc_count, s->nelems, atomic_load(&s->sweepgen));
    mgc_print("  found in %s [%#lx, %#lx) at %#lx (offset %lu)", check_where,
            (unsigned long)check_lo, (unsigned long)check_hi, (unsigned long)check_at,
            (unsigned long)(check_at - check_lo));
    abort();
}

/* ** With the world stopped after the mark: mark everything again from
 * scratch into separate bits and abort if any object it reaches is
 * unmarked.  Slow (a full stop-the-world mark) and meant to be.  Returns
 * the stack words it could not verify, for the caller to report once the
 * world runs again. */
uint64_t mgc_checkmark(void) {
    size_t missing = 0;
    mgc_heap_for_each_span(alloc_check_bits, &missing);
    if (missing) {
        mgc_heap_for_each_span(free_check_bits, NULL);
        mgc_warn("checkmark: out of memory for the check bits of %zu spans; this cycle is "
                 "not checked", missing);
        return 0;
    }
    gcwork w;
    mgc_gcwork_init(&w);
    w.check = true;
    check_where = "a root range";
    mgc_roots_each(scan_root_cb, &w);
    check_where = "an object";
    drain(&w, -1);
    check_where = "a finalizer or cleanup record";
    mgc_fin_scan_all(&w);
    check_where = "an object";
    drain(&w, -1);
    check_unverified = 0;
    for (gc_thread *t = mgc_all_threads; t; t = t->next) {
        check_where = "a thread stack";
        w.check_stack = !stacks_rescanned;
        scan_stack(&w, t, t->suspended_sp);
        w.check_stack = false;
        check_where = "an object";
        drain(&w, -1);
    }
    check_where = "an object (rescan after a work-buffer shortage)";
    mgc_mark_rescan_dropped(&w);
    mgc_gcwork_dispose(&w);
    mgc_heap_for_each_span(free_check_bits, NULL);
    return check_unverified;
}

uint64_t mgc_mark_stack_bytes(void) { return atomic_load(&stack_bytes); }

uint64_t mgc_mark_scanned(void) { return atomic_load(&scanned_bytes); }
uint64_t mgc_mark_black(void) { return atomic_load(&black_bytes); }
