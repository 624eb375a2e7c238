/*
 * lox_clox_pause.c -- times clox's collections from outside clox, for the
 * pause column of bench/lox_clox.sh.  Not part of mgc; linked only into
 * build/bench/clox-pauses, built at bench time from ../shared/clox
 * unchanged.
 *
 * clox collects stop-the-world inside reallocate() when an allocation
 * takes vm.bytesAllocated past vm.nextGC, and only allocations made by the
 * other files can do that (memory.c's own calls free memory).  So the
 * build links with -Wl,--wrap=reallocate: every such call comes here, and
 * the ones that will collect are timed around the real call.  The test is
 * the one clox itself makes, a comparison, so the untimed calls cost next
 * to nothing.  At exit a line like mgc-Lox's --gc-summary is printed on
 * stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vm.h"

void *__real_reallocate(void *pointer, size_t old_size, size_t new_size);

static uint64_t count, total_ns, max_ns;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(void) {
    fprintf(stderr, "[clox] %llu collections: total %.3f ms, max %.1f us\n", (unsigned long long)count,
            total_ns / 1e6, max_ns / 1e3);
}

/* ** The wrapper: a collection is timed from the call to its return (the
 * allocation after it is one realloc, noise next to a mark and sweep). */
void *__wrap_reallocate(void *pointer, size_t old_size, size_t new_size) {
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(report);
    }
    if (new_size <= old_size || vm.bytesAllocated + (new_size - old_size) <= vm.nextGC)
        return __real_reallocate(pointer, old_size, new_size);
    uint64_t t0 = now_ns();
    void *p = __real_reallocate(pointer, old_size, new_size);
    uint64_t d = now_ns() - t0;
    count++;
    total_ns += d;
    if (d > max_ns) max_ns = d;
    return p;
}
