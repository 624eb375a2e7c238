/* hello.c -- the smallest useful mgc program, as shown in README.md: allocate, drop, collect. */
#include <mgc.h>
#include <stdio.h>

typedef struct node { struct node *next; char *name; } node;
static node *list;                                /* a global root */

int main(void) {
    gc_init(NULL);
    gc_add_roots(&list, &list + 1);
    for (int i = 0; i < 1000000; i++) {
        node *n = gc_alloc(sizeof *n);            /* zeroed, scanned */
        char *s = gc_alloc_noscan(16);            /* zeroed, never scanned */
        snprintf(s, 16, "node %d", i);
        gc_store(&n->name, s);                    /* stores into the heap */
        gc_store(&n->next, i % 1000 ? list : NULL);
        gc_store(&list, n);                       /* and into root ranges */
    }
    gc_collect();
    gc_stats st;
    gc_get_stats(&st);
    printf("%s; %llu collections\n", list->name, (unsigned long long)st.num_gc);
}
