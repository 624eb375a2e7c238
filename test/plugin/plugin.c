/*
 * plugin.c -- a plugin that uses mgc, loaded and unloaded by host.c.
 *
 * It is what a host application's extension looks like: linked with -lmgc
 * (the host itself is not), it starts the collector on first use, keeps its
 * data in a list held by a global root, and removes that root in its
 * destructor, so that after dlclose nothing in libmgc points into the
 * plugin's unmapped memory.  libmgc.so itself stays (it is linked with
 * -z nodelete): its collector threads keep running after the plugin goes.
 *
 * Each load builds a list whose nodes carry a value derived from their
 * position, collects with garbage around it, and checks every node: a
 * collector that lost the root or freed a node fails the check.
 */
#include <mgc.h>
#include <stdint.h>
#include <stdio.h>

#define NODES 20000

typedef struct node { struct node *next; uint64_t value; } node;
static node *list;                      /* the plugin's root, in its .bss */

/* ** The value node i carries in round r: differs per node and per round. */
static uint64_t expect(int round, int i) { return (uint64_t)round * 1000003u + (uint64_t)i * 7919u + 1; }

/* ** Build the rooted list and as much garbage beside it. */
static void build(int round) {
    for (int i = 0; i < NODES; i++) {
        node *n = gc_alloc(sizeof *n);
        n->value = expect(round, i);
        gc_store(&n->next, list);
        gc_store(&list, n);
        node *garbage = gc_alloc(sizeof *garbage);
        garbage->value = ~n->value;
    }
}

/* ** 0 if every node is present with its value; a line on stderr if not. */
static int check(int round) {
    int i = NODES;
    for (node *n = list; n; n = n->next) {
        if (--i < 0 || n->value != expect(round, i)) {
            fprintf(stderr, "plugin: round %d: node %d lost or overwritten\n", round, i);
            return 1;
        }
    }
    if (i != 0) fprintf(stderr, "plugin: round %d: list has %d nodes too few\n", round, i);
    return i != 0;
}

/* ** The entry point host.c calls after each dlopen.  gc_init does nothing
 *    the second time (libmgc stayed loaded), so each load starts the same way. */
__attribute__((visibility("default"))) int plugin_run(int round) {
    if (gc_init(NULL) != GC_OK) return 1;
    gc_add_roots(&list, &list + 1);
    build(round);
    gc_collect();
    gc_collect();
    return check(round);
}

/* ** The root lies in this plugin's memory, which dlclose unmaps. */
__attribute__((destructor)) static void plugin_fini(void) {
    gc_store(&list, NULL);
    gc_remove_roots(&list, &list + 1);
}
