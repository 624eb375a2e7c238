/*
 * Size-class table checks. The tables are generated (scripts/mksizeclasses.c)
 * and committed; these tests re-derive the properties the allocator relies
 * on from the tables themselves, so a hand edit or a generator change that
 * breaks one of them fails here. Only the documented anchors (design doc,
 * "Size classes") are hard-coded.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "runtime/sizeclasses.h"

#define NCLASSES MGC_NUM_SIZE_CLASSES

static uint32_t span_bytes(int c)
{
    return (uint32_t)mgc_class_to_npages[c] * MGC_PAGE_SIZE;
}

/* Smallest class whose size is >= n, the slow way. */
static int linear_class(uint32_t n)
{
    for (int c = 1; c < NCLASSES; c++)
        if (mgc_class_to_size[c] >= n)
            return c;
    return -1;
}

Test(sizeclass, constants)
{
    cr_assert_eq(MGC_NUM_SIZE_CLASSES, 68);
    cr_assert_eq(MGC_NUM_SPAN_CLASSES, 4 * MGC_NUM_SIZE_CLASSES,
                 "spanclass = sizeclass << 2 | kind");
    cr_assert_eq(MGC_PAGE_SIZE, 1 << MGC_PAGE_SHIFT);
    cr_assert_eq(MGC_PAGE_SIZE, 8192);
    cr_assert_eq(MGC_MAX_SMALL_SIZE, 32768);
    cr_assert_eq(MGC_SMALL_SIZE_DIV, 8);
    cr_assert_eq(MGC_SMALL_SIZE_MAX, 1024);
    cr_assert_eq(MGC_LARGE_SIZE_DIV, 128);
    /* The lookup tables must be exactly as long as the index formulas
     * reach: (1024 + 7) / 8 and (32768 - 1024 + 127) / 128. */
    cr_assert_eq(sizeof mgc_size_to_class8, 1024 / 8 + 1);
    cr_assert_eq(sizeof mgc_size_to_class128, (32768 - 1024) / 128 + 1);
}

Test(sizeclass, class0_is_large)
{
    cr_assert_eq(mgc_class_to_size[0], 0);
    cr_assert_eq(mgc_class_to_npages[0], 0);
    cr_assert_eq(mgc_class_to_nobjs[0], 0);
    cr_assert_eq(mgc_class_to_divmagic[0], 0);
}

Test(sizeclass, sizes_increasing_and_last_is_max)
{
    for (int c = 1; c < NCLASSES; c++)
        cr_assert_gt(mgc_class_to_size[c], mgc_class_to_size[c - 1],
                     "class %d", c);
    cr_assert_eq(mgc_class_to_size[NCLASSES - 1], MGC_MAX_SMALL_SIZE);
}

/*
 * Alignment: candidate sizes are stepped by 8, by 16 from 32 (objects of 32
 * bytes and up are 16-byte aligned), by size/8 from 128 and by 256 from 2048;
 * the final pass may raise a class to any multiple of 128. So every size is
 * a multiple of min(step of its range, 128).
 */
static uint32_t step_for(uint32_t size)
{
    if (size >= 2048)
        return 256;
    if (size >= 128) {
        uint32_t p = 128;
        while (p * 2 <= size)
            p *= 2;
        return p / 8;
    }
    if (size >= 32)
        return 16;
    return 8;
}

Test(sizeclass, alignment)
{
    for (int c = 1; c < NCLASSES; c++) {
        uint32_t s = mgc_class_to_size[c];
        cr_assert_eq(s % 8, 0, "class %d size %u", c, s);
        if (s >= 32)
            cr_assert_eq(s % 16, 0, "class %d size %u", c, s);
        if (s >= MGC_SMALL_SIZE_MAX)
            cr_assert_eq(s % MGC_LARGE_SIZE_DIV, 0, "class %d size %u", c, s);
        uint32_t a = step_for(s) < 128 ? step_for(s) : 128;
        cr_assert_eq(s % a, 0, "class %d size %u align %u", c, s, a);
    }
}

Test(sizeclass, nobjs_and_objects_fit)
{
    uint32_t maxobjs = 0;
    for (int c = 1; c < NCLASSES; c++) {
        uint32_t span = span_bytes(c), s = mgc_class_to_size[c];
        uint32_t n = mgc_class_to_nobjs[c];
        cr_assert_geq(mgc_class_to_npages[c], 1, "class %d", c);
        cr_assert_leq(mgc_class_to_npages[c], 10, "class %d", c);
        cr_assert_eq(n, span / s, "class %d", c);
        cr_assert_geq(n, 1, "class %d", c);
        /* Every object lies wholly inside the span, and no further one
         * would fit: the tail is smaller than one object. */
        cr_assert_leq((uint64_t)n * s, span, "class %d", c);
        cr_assert_gt((uint64_t)(n + 1) * s, span, "class %d", c);
        if (n > maxobjs)
            maxobjs = n;
    }
    cr_assert_eq(MGC_MAX_OBJS_PER_SPAN, maxobjs);
    cr_assert_eq(MGC_MAX_OBJS_PER_SPAN, 1024);
}

Test(sizeclass, tail_waste_at_most_eighth)
{
    for (int c = 1; c < NCLASSES; c++) {
        uint32_t span = span_bytes(c);
        uint32_t tail = span - mgc_class_to_nobjs[c] * mgc_class_to_size[c];
        cr_assert_leq(tail * 8, span, "class %d: tail %u of %u", c, tail,
                      span);
    }
}

/*
 * Size rounding waste for classes >= 128 bytes: the worst request of a class
 * is one byte over the previous class, and (size - n) / size <= 1/8 would
 * hold if the step rule were the whole story. It is not: merging (same
 * pages, same object count) drops intermediate sizes, and the raise pass
 * moves 8448 up to 9472. Go's table has the same seven classes over 1/8; they
 * are listed here rather than the bound loosened, so any other class that
 * breaks it, or a change to this list, fails the test. All stay under 16%.
 */
Test(sizeclass, rounding_waste)
{
    static const uint32_t over_eighth[] = {896,  1792, 2688, 4096,
                                           4864, 8192, 9472};
    size_t nover = 0;
    for (int c = 1; c < NCLASSES; c++) {
        uint32_t s = mgc_class_to_size[c], prev = mgc_class_to_size[c - 1];
        if (s < 128)
            continue;
        /* Worst n in (prev, s] is prev + 1; check every n anyway. */
        uint32_t worst = 0;
        for (uint32_t n = prev + 1; n <= s; n++)
            if (s - n > worst)
                worst = s - n;
        cr_assert_eq(worst, s - prev - 1);
        if ((uint64_t)worst * 8 <= s)
            continue;
        cr_assert_lt(nover, sizeof over_eighth / sizeof over_eighth[0],
                     "unexpected class %d (size %u) over 1/8: %.2f%%", c, s,
                     100.0 * worst / s);
        cr_assert_eq(s, over_eighth[nover],
                     "class %d (size %u) over 1/8: %.2f%%", c, s,
                     100.0 * worst / s);
        cr_assert_lt((uint64_t)worst * 100, (uint64_t)s * 16,
                     "class %d (size %u): %.2f%%", c, s, 100.0 * worst / s);
        nover++;
    }
    cr_assert_eq(nover, sizeof over_eighth / sizeof over_eighth[0]);
}

Test(sizeclass, size_to_class_exhaustive)
{
    for (uint32_t n = 1; n <= MGC_MAX_SMALL_SIZE; n++) {
        int want = linear_class(n);
        cr_assert_eq(mgc_size_to_class(n), want, "size %u", n);
    }
    /* A zero-byte request still gets a real small class, never class 0. */
    cr_assert_eq(mgc_size_to_class(0), 1);
}

Test(sizeclass, divmagic_exhaustive)
{
    for (int c = 1; c < NCLASSES; c++) {
        uint32_t s = mgc_class_to_size[c], m = mgc_class_to_divmagic[c];
        cr_assert_eq(m, UINT32_MAX / s + 1, "class %d", c);
        /* Up to and including the span end (a loop bound's index). */
        for (uint32_t off = 0; off <= span_bytes(c); off++) {
            uint32_t q = (uint32_t)(((uint64_t)off * m) >> 32);
            if (q != off / s)
                cr_assert_fail("class %d size %u: offset %u gives %u, want %u",
                               c, s, off, q, off / s);
        }
    }
}

Test(sizeclass, anchors)
{
    /* Design doc: classes 1-20, all one-page spans. */
    static const uint32_t first[20] = {8,   16,  24,  32,  48,  64,  80,
                                       96,  112, 128, 144, 160, 176, 192,
                                       208, 224, 240, 256, 288, 320};
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(mgc_class_to_size[i + 1], first[i], "class %d", i + 1);
        cr_assert_eq(mgc_class_to_npages[i + 1], 1, "class %d", i + 1);
    }
    /* ... and the last five with their page counts. */
    static const uint32_t last_size[5] = {21760, 24576, 27264, 28672, 32768};
    static const uint8_t last_pages[5] = {8, 3, 10, 7, 4};
    for (int i = 0; i < 5; i++) {
        int c = NCLASSES - 5 + i;
        cr_assert_eq(mgc_class_to_size[c], last_size[i], "class %d", c);
        cr_assert_eq(mgc_class_to_npages[c], last_pages[i], "class %d", c);
    }
}
