/*
 * gcglue.c -- the parts of the collector glue that are not one-liners:
 * the pause summary printed by --gc-summary, for either collector, and
 * Boehm GC's start-up (which times its collections, since Boehm keeps no
 * pause statistics of its own).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "gcglue.h"

#ifdef LOX_BOEHM

/* Single-threaded Boehm collects with the program stopped from the start
 * to the end of each collection: that span is its pause. */
static uint64_t start_ns, pause_count, pause_total_ns, pause_max_ns;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_event(GC_EventType e) {
    if (e == GC_EVENT_START) {
        start_ns = now_ns();
    } else if (e == GC_EVENT_END) {
        uint64_t d = now_ns() - start_ns;
        pause_count++;
        pause_total_ns += d;
        if (d > pause_max_ns) pause_max_ns = d;
    }
}

void heap_init(void) {
    GC_INIT();
    GC_set_on_collection_event(on_event);
}

void heap_print_summary(FILE *out) {
    fprintf(out, "[Boehm GC] %llu collections, %llu pauses: total %.3f ms, max %.1f us; heap %zu KB\n",
            (unsigned long long)GC_get_gc_no(), (unsigned long long)pause_count, pause_total_ns / 1e6,
            pause_max_ns / 1e3, (size_t)GC_get_heap_size() / 1024);
}

#else

void heap_print_summary(FILE *out) {
    gc_pause_summary s;
    gc_stats st;
    gc_get_pause_summary(&s);
    gc_get_stats(&st);
    fprintf(out,
            "[mgc] %llu collections, %llu pauses: total %.3f ms, max %.1f us; "
            "p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us (of the last %llu)\n",
            (unsigned long long)st.num_gc, (unsigned long long)s.count, s.total_ns / 1e6,
            s.max_ns / 1e3, s.p50_ns / 1e3, s.p90_ns / 1e3, s.p99_ns / 1e3, s.p999_ns / 1e3,
            (unsigned long long)s.recent);
    fprintf(out, "[mgc] pause histogram:");
    for (int i = 0; i < GC_PAUSE_BUCKETS; i++) {
        if (!s.hist[i]) continue;
        uint64_t lim = gc_pause_bucket_limit(i);
        if (lim == UINT64_MAX)
            fprintf(out, " [rest]=%llu", (unsigned long long)s.hist[i]);
        else
            fprintf(out, " <%gus=%llu", lim / 1e3, (unsigned long long)s.hist[i]);
    }
    fprintf(out,
            "\n[mgc] %llu per-thread holds (%llu stack scans, %llu handshakes): total %.3f ms, "
            "max %.1f us, p99 %.1f us",
            (unsigned long long)s.hold_count, (unsigned long long)s.stack_count,
            (unsigned long long)s.handshake_count, s.hold_total_ns / 1e6, s.hold_max_ns / 1e3,
            s.hold_p99_ns / 1e3);
    fprintf(out, "\n[mgc] allocated %.1f MB in %llu objects, freed %llu; MMU(10 ms) %.3f; "
            "%llu stalls at the hard goal, %.3f ms\n",
            st.total_alloc / 1e6, (unsigned long long)st.num_alloc,
            (unsigned long long)st.num_free, gc_mmu(10 * 1000 * 1000, 0),
            (unsigned long long)st.num_stalls, st.stall_total_ns / 1e6);
}

#endif
