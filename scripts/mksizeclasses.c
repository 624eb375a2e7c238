/*
 * mksizeclasses.c - generate mgc's small-object size-class tables.
 *
 * Usage: mksizeclasses runtime/sizeclasses.h runtime/sizeclasses.c
 *
 * The algorithm follows the one Go's runtime uses (runtime/mksizeclasses.go),
 * so that mgc's classes are exactly Go's 68 classes:
 *
 *   1. Walk candidate sizes from 8 to 32768 in steps of an alignment that
 *      grows at powers of two (8; 16 from 32; size/8 from 128; 256 from
 *      2048).  Growing the step with the size keeps the rounding waste of a
 *      request below 1/8 of the class size *before* merging.
 *   2. For each candidate, take the fewest pages whose leftover after
 *      packing whole objects (the span tail) is at most 1/8 of the span.
 *   3. If the candidate uses as many pages and holds as many objects as the
 *      previous class, it replaces it: a second class that gives no better
 *      packing only costs a table entry and an mcentral.
 *   4. Raise each class to the largest size (a multiple of 128, so the
 *      128-byte lookup table stays exact) that still packs the same number
 *      of objects into the same pages: the bytes would be tail waste anyway.
 *
 * The generator checks its own output (class count, division magic for every
 * offset of every span, both lookup tables against a linear search) and
 * exits non-zero on any mismatch, so a bad table is never written.
 *
 * Build: gcc -std=c11 -O2 -Wall -Wextra -Werror scripts/mksizeclasses.c
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 13
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define MAX_SMALL_SIZE 32768u
#define SMALL_SIZE_DIV 8u
#define SMALL_SIZE_MAX 1024u
#define LARGE_SIZE_DIV 128u
#define MIN_ALIGN 8u
#define EXPECTED_CLASSES 68

/* Room for every candidate size; merging only shrinks the list. */
#define MAX_CANDIDATES ((int)(MAX_SMALL_SIZE / MIN_ALIGN + 1))

#define TABLE8_LEN (SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1)
#define TABLE128_LEN ((MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1)

struct sclass {
    uint32_t size;
    uint32_t npages;
    uint32_t nobjs;
    uint32_t divmagic;
};

static struct sclass classes[MAX_CANDIDATES];
static int nclasses;
static uint8_t table8[TABLE8_LEN];
static uint8_t table128[TABLE128_LEN];

static void die(const char *msg)
{
    fprintf(stderr, "mksizeclasses: %s\n", msg);
    exit(1);
}

static int is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static void make_classes(void)
{
    uint32_t align = MIN_ALIGN;

    /* Class 0 stands for large objects (their own span); it has no size. */
    memset(&classes[0], 0, sizeof classes[0]);
    nclasses = 1;

    for (uint32_t size = align; size <= MAX_SMALL_SIZE; size += align) {
        if (is_pow2(size)) {
            if (size >= 2048)
                align = 256;
            else if (size >= 128)
                align = size / 8;
            else if (size >= 32)
                align = 16; /* 16-byte alignment for objects >= 32 bytes */
        }
        if (!is_pow2(align))
            die("alignment is not a power of two");

        /* Fewest pages whose tail (bytes left after whole objects) is at
         * most 1/8 of the span, so tail waste is bounded by 12.5%. */
        uint32_t allocsize = PAGE_SIZE;
        while (allocsize % size > allocsize / 8)
            allocsize += PAGE_SIZE;
        uint32_t npages = allocsize / PAGE_SIZE;

        if (nclasses > 1) {
            struct sclass *prev = &classes[nclasses - 1];
            if (prev->npages == npages &&
                allocsize / prev->size == allocsize / size) {
                /* Same span, same object count: the larger size is free. */
                prev->size = size;
                continue;
            }
        }
        if (nclasses >= MAX_CANDIDATES)
            die("too many classes");
        classes[nclasses].size = size;
        classes[nclasses].npages = npages;
        nclasses++;
    }

    /* Grow each class to the largest multiple of LARGE_SIZE_DIV that keeps
     * its object count: e.g. 8448 (6 objects in 7 pages) becomes 9472. The
     * multiple of 128 matters because sizes above 1 KiB are looked up in
     * 128-byte steps; a size off that grid could not be a step boundary. */
    for (int i = 1; i < nclasses; i++) {
        struct sclass *c = &classes[i];
        uint32_t span = c->npages * PAGE_SIZE;
        uint32_t raised = (span / (span / c->size)) & ~(LARGE_SIZE_DIV - 1);
        if (raised > c->size)
            c->size = raised;
    }

    if (nclasses != EXPECTED_CLASSES) {
        fprintf(stderr, "mksizeclasses: got %d classes, want %d\n", nclasses,
                EXPECTED_CLASSES);
        exit(1);
    }

    for (int i = 1; i < nclasses; i++) {
        struct sclass *c = &classes[i];
        if (c->size <= classes[i - 1].size)
            die("class sizes are not strictly increasing");
        c->nobjs = c->npages * PAGE_SIZE / c->size;
        if (c->npages > UINT8_MAX)
            die("npages does not fit uint8_t");
        if (c->nobjs > UINT16_MAX)
            die("nobjs does not fit uint16_t");
    }
    if (classes[nclasses - 1].size != MAX_SMALL_SIZE)
        die("last class is not MAX_SMALL_SIZE");
}

/*
 * offset / size as a multiply and a shift: magic = floor((2^32-1)/size) + 1,
 * i.e. ceil(2^32/size) for sizes that are not powers of two and exactly
 * 2^32/size for those that are.  The rounding error grows with the offset,
 * so this is only exact for small offsets; spans are small enough, but
 * rather than rely on the bound we try every offset of every span.
 */
static void compute_divmagic(void)
{
    for (int i = 1; i < nclasses; i++) {
        struct sclass *c = &classes[i];
        uint32_t magic = UINT32_MAX / c->size + 1;
        uint32_t span = c->npages * PAGE_SIZE;
        /* Inclusive of the span end: callers may compute the index of the
         * one-past-the-end offset, e.g. as a loop bound. */
        for (uint32_t off = 0; off <= span; off++) {
            uint32_t q = (uint32_t)(((uint64_t)off * magic) >> 32);
            if (q != off / c->size) {
                fprintf(stderr,
                        "mksizeclasses: divmagic wrong for class %d (size %"
                        PRIu32 ") at offset %" PRIu32 "\n",
                        i, c->size, off);
                exit(1);
            }
        }
        c->divmagic = magic;
    }
}

/* Smallest class whose size is >= size, by linear search (the reference). */
static int class_for(uint32_t size)
{
    for (int i = 1; i < nclasses; i++)
        if (classes[i].size >= size)
            return i;
    die("size above MAX_SMALL_SIZE");
    return 0;
}

static void make_lookup_tables(void)
{
    /* Entry i covers sizes in (8*(i-1), 8*i]: the class for the top size of
     * the bucket also holds every smaller size in it. Entry 0 (size 0) maps
     * to class 1 rather than Go's 0 so a zero-byte request still gets a
     * real small class instead of the large-object class 0. */
    for (uint32_t i = 0; i < TABLE8_LEN; i++)
        table8[i] = (uint8_t)class_for(i == 0 ? 1 : i * SMALL_SIZE_DIV);
    for (uint32_t i = 0; i < TABLE128_LEN; i++)
        table128[i] = (uint8_t)class_for(SMALL_SIZE_MAX + i * LARGE_SIZE_DIV);

    /* The tables are only right if no class boundary falls inside a bucket;
     * check the same lookup the header's inline function does, everywhere. */
    for (uint32_t n = 1; n <= MAX_SMALL_SIZE; n++) {
        int got;
        if (n <= SMALL_SIZE_MAX)
            got = table8[(n + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV];
        else
            got = table128[(n - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) /
                           LARGE_SIZE_DIV];
        if (got != class_for(n)) {
            fprintf(stderr, "mksizeclasses: lookup wrong for size %" PRIu32
                    ": got class %d, want %d\n", n, got, class_for(n));
            exit(1);
        }
    }
}

static uint32_t max_nobjs(void)
{
    uint32_t m = 0;
    for (int i = 1; i < nclasses; i++)
        if (classes[i].nobjs > m)
            m = classes[i].nobjs;
    return m;
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mksizeclasses: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void close_out(FILE *f, const char *path)
{
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "mksizeclasses: error writing %s\n", path);
        exit(1);
    }
}

/*
 * The table comment, as in Go's sizeclasses.go. "max waste" is the worst
 * case for a span full of the smallest requests that land in the class
 * (prev size + 1 bytes each) plus the tail: the fraction of the span not
 * holding requested bytes.
 */
static void write_table_comment(FILE *f)
{
    fprintf(f, "/*\n");
    fprintf(f, " * class  bytes/obj  pages  bytes/span  objects  tail waste"
               "  max waste\n");
    uint32_t prev = 0;
    for (int i = 1; i < nclasses; i++) {
        const struct sclass *c = &classes[i];
        uint32_t span = c->npages * PAGE_SIZE;
        uint32_t tail = span - c->nobjs * c->size;
        double maxw = (double)((c->size - prev - 1) * c->nobjs + tail) /
                      (double)span;
        fprintf(f, " * %5d  %9" PRIu32 "  %5" PRIu32 "  %10" PRIu32
                   "  %7" PRIu32 "  %10" PRIu32 "  %8.2f%%\n",
                i, c->size, c->npages, span, c->nobjs, tail, 100.0 * maxw);
        prev = c->size;
    }
    fprintf(f, " */\n");
}

static const char banner[] =
    "/* generated by scripts/mksizeclasses.c; do not edit */\n\n";

static void write_header(const char *path)
{
    FILE *f = open_out(path);
    fputs(banner, f);
    write_table_comment(f);
    fprintf(f,
        "\n"
        "#ifndef MGC_RUNTIME_SIZECLASSES_H\n"
        "#define MGC_RUNTIME_SIZECLASSES_H\n"
        "\n"
        "#include <stddef.h>\n"
        "#include <stdint.h>\n"
        "\n"
        "#define MGC_PAGE_SHIFT %d\n"
        "#define MGC_PAGE_SIZE %u\n"
        "#define MGC_NUM_SIZE_CLASSES %d\n"
        "/* spanclass = sizeclass << 2 | kind (scan, noscan, typed; 3 unused) */\n"
        "#define MGC_NUM_SPAN_CLASSES %d\n"
        "#define MGC_MAX_SMALL_SIZE %u\n"
        "#define MGC_SMALL_SIZE_DIV %u\n"
        "#define MGC_SMALL_SIZE_MAX %u\n"
        "#define MGC_LARGE_SIZE_DIV %u\n"
        "/* Most objects any small span holds (sizes bitmaps per span). */\n"
        "#define MGC_MAX_OBJS_PER_SPAN %" PRIu32 "\n"
        "\n"
        "/* Indexed by size class; class 0 is large objects (size 0). */\n"
        "extern const uint32_t mgc_class_to_size[MGC_NUM_SIZE_CLASSES];\n"
        "extern const uint8_t mgc_class_to_npages[MGC_NUM_SIZE_CLASSES];\n"
        "extern const uint16_t mgc_class_to_nobjs[MGC_NUM_SIZE_CLASSES];\n"
        "/* offset / size == (uint32_t)(((uint64_t)offset * magic) >> 32)\n"
        " * for 0 <= offset <= npages * MGC_PAGE_SIZE (checked by the\n"
        " * generator); 0 for class 0. */\n"
        "extern const uint32_t mgc_class_to_divmagic[MGC_NUM_SIZE_CLASSES];\n"
        "\n"
        "/* Index (size + 7) / 8 for size <= MGC_SMALL_SIZE_MAX. */\n"
        "extern const uint8_t\n"
        "    mgc_size_to_class8[MGC_SMALL_SIZE_MAX / MGC_SMALL_SIZE_DIV + 1];\n"
        "/* Index (size - 1024 + 127) / 128 for larger small sizes. */\n"
        "extern const uint8_t\n"
        "    mgc_size_to_class128[(MGC_MAX_SMALL_SIZE - MGC_SMALL_SIZE_MAX) /\n"
        "                             MGC_LARGE_SIZE_DIV + 1];\n"
        "\n"
        "/* Smallest size class whose size is >= size, for\n"
        " * 1 <= size <= MGC_MAX_SMALL_SIZE (size 0 gives class 1). */\n"
        "static inline uint8_t mgc_size_to_class(size_t size)\n"
        "{\n"
        "    if (size <= MGC_SMALL_SIZE_MAX)\n"
        "        return mgc_size_to_class8[(size + MGC_SMALL_SIZE_DIV - 1) /\n"
        "                                  MGC_SMALL_SIZE_DIV];\n"
        "    return mgc_size_to_class128[(size - MGC_SMALL_SIZE_MAX +\n"
        "                                 MGC_LARGE_SIZE_DIV - 1) /\n"
        "                                MGC_LARGE_SIZE_DIV];\n"
        "}\n"
        "\n"
        "#endif /* MGC_RUNTIME_SIZECLASSES_H */\n",
        PAGE_SHIFT, PAGE_SIZE, nclasses, 4 * nclasses, MAX_SMALL_SIZE,
        SMALL_SIZE_DIV, SMALL_SIZE_MAX, LARGE_SIZE_DIV, max_nobjs());
    close_out(f, path);
}

/* Print vals[0..n) as a C initializer body, `per` values per line. */
static void write_values(FILE *f, const uint32_t *vals, int n, int per)
{
    for (int i = 0; i < n; i++) {
        if (i % per == 0)
            fputs("    ", f);
        fprintf(f, "%" PRIu32 ",", vals[i]);
        fputs((i % per == per - 1 || i == n - 1) ? "\n" : " ", f);
    }
}

static void write_array(FILE *f, const char *decl, const uint32_t *vals,
                        int n, int per)
{
    fprintf(f, "%s = {\n", decl);
    write_values(f, vals, n, per);
    fputs("};\n\n", f);
}

static void write_source(const char *path)
{
    uint32_t vals[TABLE128_LEN > MAX_CANDIDATES ? TABLE128_LEN
                                                : MAX_CANDIDATES];
    FILE *f = open_out(path);
    fputs(banner, f);
    write_table_comment(f);
    /* Relative to this file, so it builds without -I. too. */
    fputs("\n#include \"sizeclasses.h\"\n\n", f);

    for (int i = 0; i < nclasses; i++)
        vals[i] = classes[i].size;
    write_array(f, "const uint32_t mgc_class_to_size[MGC_NUM_SIZE_CLASSES]",
                vals, nclasses, 10);
    for (int i = 0; i < nclasses; i++)
        vals[i] = classes[i].npages;
    write_array(f, "const uint8_t mgc_class_to_npages[MGC_NUM_SIZE_CLASSES]",
                vals, nclasses, 16);
    for (int i = 0; i < nclasses; i++)
        vals[i] = classes[i].nobjs;
    write_array(f, "const uint16_t mgc_class_to_nobjs[MGC_NUM_SIZE_CLASSES]",
                vals, nclasses, 12);
    for (int i = 0; i < nclasses; i++)
        vals[i] = classes[i].divmagic;
    write_array(f,
                "const uint32_t mgc_class_to_divmagic[MGC_NUM_SIZE_CLASSES]",
                vals, nclasses, 6);
    for (uint32_t i = 0; i < TABLE8_LEN; i++)
        vals[i] = table8[i];
    write_array(f,
                "const uint8_t mgc_size_to_class8"
                "[MGC_SMALL_SIZE_MAX / MGC_SMALL_SIZE_DIV + 1]",
                vals, TABLE8_LEN, 16);
    for (uint32_t i = 0; i < TABLE128_LEN; i++)
        vals[i] = table128[i];
    fprintf(f, "const uint8_t mgc_size_to_class128\n"
               "    [(MGC_MAX_SMALL_SIZE - MGC_SMALL_SIZE_MAX) / "
               "MGC_LARGE_SIZE_DIV + 1] = {\n");
    write_values(f, vals, TABLE128_LEN, 16);
    fputs("};\n", f);
    close_out(f, path);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s sizeclasses.h sizeclasses.c\n", argv[0]);
        return 2;
    }
    make_classes();
    compute_divmagic();
    make_lookup_tables();
    write_header(argv[1]);
    write_source(argv[2]);
    return 0;
}
