/*
 * typed.c -- precise objects: type descriptors and their pointer maps.
 *
 * A gc_type says which words of an object hold pointers (one bit per
 * 8-byte word, repeated for arrays).  Typed objects live in spans of their
 * own kind, so untyped allocation never pays for them.  The marker reads
 * only the pointer words of a typed object: a VM's numbers, string bytes
 * and hash codes are never taken for pointers, so they never keep garbage
 * alive, and scanning costs a bitmap read per 64 words plus the pointer
 * words themselves.
 *
 * Where the map lives (Go's heap bits, before its malloc headers):
 *   - a small typed span has ptrbits, one bit per word of the span.  The
 *     thread that hands out a slot writes the slot's bits -- all of them,
 *     so no stale bit of an earlier object survives -- inside the
 *     allocation's no-preempt section, before the object can be reached;
 *     a slot allocated while marking is allocated black and never scanned
 *     in that cycle, so no marker reads bits being written.  Markers read
 *     the words of other slots concurrently: every access is a relaxed
 *     atomic, and each word has one writer, the span's owner.
 *   - a large span holds one object: large_type, the map repeated over it.
 * Words past the last element (a slot is rounded up to its size class)
 * are never pointers; they are zero anyway.
 */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/heap.h"

/* ** Store n (1..64) bits of val at bit position at of bm, leaving the
 * other bits as they are. */
static void put_bits(uint64_t *bm, size_t at, uint64_t val, unsigned n) {
    uint64_t *w = bm + at / 64;
    unsigned sh = at % 64;
    uint64_t m = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    val &= m;
    uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    __atomic_store_n(w, (old & ~(m << sh)) | (val << sh), __ATOMIC_RELAXED);
    if (sh + n > 64) { /* straddles into the next word */
        unsigned rest = sh + n - 64;
        uint64_t m2 = ((uint64_t)1 << rest) - 1;
        old = __atomic_load_n(w + 1, __ATOMIC_RELAXED);
        __atomic_store_n(w + 1, (old & ~m2) | (val >> (64 - sh)), __ATOMIC_RELAXED);
    }
}

void mgc_typed_write_bits(mspan *s, uintptr_t v, const gc_type *type, size_t count) {
    size_t at = (v - s->base) / 8, end = at + s->elemsize / 8;
    for (size_t e = 0; e < count; e++)
        for (size_t c = 0; c < type->nwords; c += 64) {
            unsigned n = type->nwords - c < 64 ? (unsigned)(type->nwords - c) : 64;
            put_bits(s->ptrbits, at, type->mask[c / 64], n);
            at += n;
        }
    for (; at < end; at += 64) put_bits(s->ptrbits, at, 0, end - at < 64 ? (unsigned)(end - at) : 64);
}

/* ** A descriptor for size-byte objects, mask still empty; NULL with a
 * message on a bad size. */
static gc_type *type_alloc(const char *call, const char *name, size_t size) {
    if (size == 0 || size > MGC_MAX_ALLOC) {
        mgc_warn("%s(\"%s\", %zu): size must be from 1 to 2^40 bytes", call, name ? name : "", size);
        return NULL;
    }
    size_t nwords = (size + 7) / 8;
    gc_type *t = calloc(1, sizeof *t + (nwords + 63) / 64 * sizeof(uint64_t));
    if (!t) {
        mgc_call_oom(sizeof *t);
        return NULL;
    }
    t->size = size;
    t->nwords = nwords;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    return t;
}

/* ** Pointers need whole, aligned words: a type with any must be a
 * multiple of 8 bytes, so array elements keep them aligned. */
static gc_type *type_finish(const char *call, gc_type *t) {
    for (size_t i = 0; i < (t->nwords + 63) / 64; i++) t->nptrs += (size_t)__builtin_popcountll(t->mask[i]);
    if (t->nptrs && t->size % 8) {
        mgc_warn("%s(\"%s\", %zu): a type with pointers must be a multiple of 8 bytes "
                 "(use sizeof of the struct)", call, t->name, t->size);
        free(t);
        return NULL;
    }
    return t;
}

MGC_API const gc_type *gc_type_new(const char *name, size_t size, const size_t *ptr_offsets,
                                   size_t n) {
    if (n && !ptr_offsets) {
        mgc_warn("gc_type_new(\"%s\"): %zu pointer offsets but ptr_offsets is NULL", name ? name : "", n);
        return NULL;
    }
    gc_type *t = type_alloc("gc_type_new", name, size);
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t off = ptr_offsets[i];
        if (off % 8 || size < 8 || off > size - 8) {
            mgc_warn("gc_type_new(\"%s\", %zu): pointer offset %zu is %s; pass offsetof() of "
                     "pointer fields", t->name, size, off, off % 8 ? "not 8-aligned" : "past the end");
            free(t);
            return NULL;
        }
        t->mask[off / 8 / 64] |= (uint64_t)1 << (off / 8 % 64);
    }
    return type_finish("gc_type_new", t);
}

MGC_API const gc_type *gc_type_new_bitmap(const char *name, size_t size, const uint64_t *bitmap) {
    if (!bitmap) {
        mgc_warn("gc_type_new_bitmap(\"%s\"): bitmap is NULL", name ? name : "");
        return NULL;
    }
    gc_type *t = type_alloc("gc_type_new_bitmap", name, size);
    if (!t) return NULL;
    size_t full = size / 8; /* only whole words can hold pointers */
    for (size_t i = 0; i < full; i++)
        if ((bitmap[i / 64] >> (i % 64)) & 1) t->mask[i / 64] |= (uint64_t)1 << (i % 64);
    return type_finish("gc_type_new_bitmap", t);
}

MGC_API const char *gc_type_name(const gc_type *t) { return t ? t->name : NULL; }

MGC_API void *gc_alloc_typed(const gc_type *t) {
    if (!t) {
        mgc_warn("gc_alloc_typed(NULL): pass a type made by gc_type_new");
        return NULL;
    }
    return mgc_alloc_typed(t, t->size, "gc_alloc_typed");
}

MGC_API void *gc_alloc_typed_array(const gc_type *t, size_t count) {
    if (!t) {
        mgc_warn("gc_alloc_typed_array(NULL, %zu): pass a type made by gc_type_new", count);
        return NULL;
    }
    size_t n;
    if (__builtin_mul_overflow(count, t->size, &n)) {
        mgc_warn("gc_alloc_typed_array(\"%s\", %zu): count * size overflows", t->name, count);
        mgc_call_oom(SIZE_MAX);
        return NULL;
    }
    return mgc_alloc_typed(t, n, "gc_alloc_typed_array");
}
