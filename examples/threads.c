/*
 * threads.c -- several threads sharing one mgc heap.
 *
 * Each worker registers itself, keeps its own table of lists in malloc'd
 * memory registered as a root range, and publishes its newest item in a
 * global array (also a root) that the main thread reads after the join.
 * Every pointer store into the heap or a root range goes through
 * gc_store, since the collector marks while the workers run.  Lists are
 * cut every few rounds, so most items die young and collections keep
 * running beside the workers; at the end each worker walks its lists and
 * checks that every surviving item is intact.
 */
#include <mgc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define SLOTS 64
#define ROUNDS 200000

typedef struct item {
    struct item *next;
    char *label; /* a noscan string: "t<worker>-<value>" */
    long value;
} item;

static item *newest[NTHREADS]; /* a global root: one slot per worker */

typedef struct {
    int id;
    long checked; /* items verified at the end */
    int bad;
} worker;

static int label_ok(const item *it, int id) {
    char want[32];
    snprintf(want, sizeof want, "t%d-%ld", id, it->value);
    return strcmp(want, it->label) == 0;
}

static void *work(void *arg) {
    worker *w = arg;
    gc_register_thread(); /* before touching the heap */
    item **table = calloc(SLOTS, sizeof *table);
    if (!table) abort();
    gc_add_roots(table, table + SLOTS); /* malloc'd memory is not scanned otherwise */

    for (long i = 0; i < ROUNDS; i++) {
        int slot = (int)(i % SLOTS);
        item *it = gc_alloc(sizeof *it);
        char *label = gc_alloc_noscan(32);
        snprintf(label, 32, "t%d-%ld", w->id, i);
        it->value = i;
        gc_store(&it->label, label);
        /* every 8th pass over the table starts the slot's list afresh,
         * dropping the old one */
        gc_store(&it->next, (i / SLOTS) % 8 ? table[slot] : NULL);
        gc_store(&table[slot], it);
        if (i % 1000 == 0) gc_store(&newest[w->id], it);
    }

    for (int s = 0; s < SLOTS; s++) {
        long prev = -1;
        for (item *it = table[s]; it; it = it->next) {
            if (!label_ok(it, w->id) || it->value % SLOTS != s || (prev >= 0 && it->value != prev - SLOTS))
                w->bad++;
            prev = it->value;
            w->checked++;
        }
    }
    gc_remove_roots(table, table + SLOTS);
    free(table);
    gc_unregister_thread();
    return NULL;
}

static void *join(void *arg) { return (void *)(long)pthread_join(*(pthread_t *)arg, NULL); }

int main(void) {
    gc_init(NULL); /* registers the main thread */
    gc_add_roots(newest, newest + NTHREADS);

    pthread_t tids[NTHREADS];
    worker workers[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        workers[i] = (worker){.id = i};
        if (pthread_create(&tids[i], NULL, work, &workers[i]) != 0) abort();
    }
    /* Joining blocks: parked, the collector neither signals nor waits for us. */
    for (int i = 0; i < NTHREADS; i++) gc_do_blocking(join, &tids[i]);

    gc_collect();
    int bad = 0;
    long checked = 0;
    for (int i = 0; i < NTHREADS; i++) {
        bad += workers[i].bad;
        checked += workers[i].checked;
        if (!newest[i] || !label_ok(newest[i], i)) bad++;
        else
            printf("worker %d: newest published item %s\n", i, newest[i]->label);
    }
    gc_stats st;
    gc_get_stats(&st);
    printf("%d threads, %ld items checked, %d bad; %llu collections, %.1f MB allocated\n", NTHREADS,
           checked, bad, (unsigned long long)st.num_gc, st.total_alloc / 1e6);
    return bad != 0;
}
