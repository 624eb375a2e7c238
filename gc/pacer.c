/*
 * pacer.c -- when the next collection starts.
 *
 * After each cycle the heap goal is set from what marking found, as Go
 * does (GOGC): goal = marked + (marked + roots) * percent / 100, and at
 * least 4 MiB * percent / 100 so a tiny heap does not collect constantly.
 * Allocation counts into heap_live at span granularity (mcache.c); the
 * refill that sees heap_live reach the goal asks its thread to collect.
 * The stop-the-world collector triggers at the goal itself; the concurrent
 * one will trigger earlier so marking ends near it.
 */
#include "runtime/internal.h"

#define HEAP_MINIMUM ((uint64_t)4 << 20)

_Atomic uint64_t mgc_heap_goal;
static _Atomic int gc_percent;
static _Atomic uint64_t last_marked, last_roots;

static uint64_t compute_goal(int percent, uint64_t marked, uint64_t roots) {
    if (percent < 0) return UINT64_MAX;
    uint64_t goal = marked + (marked + roots) / 100 * (uint64_t)percent;
    uint64_t floor = HEAP_MINIMUM / 100 * (uint64_t)percent;
    return goal < floor ? floor : goal;
}

void mgc_pacer_init(int percent) {
    atomic_store(&gc_percent, percent);
    atomic_store(&mgc_heap_goal, compute_goal(percent, 0, 0));
}

void mgc_pacer_end_cycle(uint64_t marked, uint64_t root_bytes) {
    atomic_store(&last_marked, marked);
    atomic_store(&last_roots, root_bytes);
    atomic_store(&mgc_heap_goal, compute_goal(atomic_load(&gc_percent), marked, root_bytes));
}

int mgc_pacer_set_percent(int percent) {
    if (percent < 0) percent = -1;
    int old = atomic_exchange(&gc_percent, percent);
    atomic_store(&mgc_heap_goal,
                 compute_goal(percent, atomic_load(&last_marked), atomic_load(&last_roots)));
    return old;
}

MGC_API int gc_set_percent(int percent) { return mgc_pacer_set_percent(percent); }
