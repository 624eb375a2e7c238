/*
 * intern.c -- the weak intern table.
 *
 * The entry array is malloc'd: the collector does not scan it, so a key in
 * it is not a reference (a weak slot must live in unscanned memory).  Keys
 * are set, read and cleared only through heap_weak_set/get/clear: a plain
 * read could return a string that died in the last mark but whose span is
 * not swept yet.
 *
 * Open addressing needs care with weak keys: the collector empties a slot
 * whenever its string dies, which would cut the probe chains running
 * through it.  So each entry remembers, apart from the key, that it was
 * used: a used entry whose key reads NULL is a tombstone, probing goes on
 * past it and an insert may reuse it.  Growing (or shrinking) rehashes the
 * live strings only, which is where the dead ones' entries finally go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "object.h"

typedef struct {
    void *key;     /* weak slot: an ObjString, or NULL once it died */
    uint32_t hash; /* of the key, kept so probing need not read dead keys */
    uint32_t used; /* ever held a key since the last rehash */
} InternEntry;

static InternEntry *entries;
static int capacity; /* a power of two, or 0 */
static int used;     /* entries with used set: live strings and tombstones */

static ObjString *key_of(InternEntry *e) { return heap_weak_get(&e->key); }

ObjString *intern_find(const char *chars, int length, uint32_t hash) {
    if (!capacity) return NULL;
    uint32_t mask = (uint32_t)capacity - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        InternEntry *e = &entries[i];
        if (!e->used) return NULL;
        if (e->hash != hash) continue;
        ObjString *s = key_of(e);
        if (s && s->length == length && memcmp(s->chars, chars, (size_t)length) == 0) return s;
    }
}

/* The interned string equal to a + b, or NULL (concat_strings). */
ObjString *intern_find2(const char *a, int alen, const char *b, int blen, uint32_t hash) {
    if (!capacity) return NULL;
    uint32_t mask = (uint32_t)capacity - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        InternEntry *e = &entries[i];
        if (!e->used) return NULL;
        if (e->hash != hash) continue;
        ObjString *s = key_of(e);
        if (s && s->length == alen + blen && memcmp(s->chars, a, (size_t)alen) == 0 &&
            memcmp(s->chars + alen, b, (size_t)blen) == 0)
            return s;
    }
}

/* Put s in the first free or dead entry of its chain. */
static void insert(InternEntry *table, int cap, ObjString *s) {
    uint32_t mask = (uint32_t)cap - 1;
    for (uint32_t i = s->hash & mask;; i = (i + 1) & mask) {
        InternEntry *e = &table[i];
        if (e->used && key_of(e)) continue;
        if (!e->used) used++;
        e->used = 1;
        e->hash = s->hash;
        heap_weak_set(&e->key, s);
        return;
    }
}

static void rehash(int live) {
    int cap = 16;
    while (cap * 3 < (live + 1) * 4 * 2) cap *= 2; /* at most 3/8 full after */
    InternEntry *fresh = calloc((size_t)cap, sizeof *fresh);
    if (!fresh) {
        fprintf(stderr, "lox: out of memory (intern table)\n");
        exit(70);
    }
    InternEntry *old = entries;
    int old_cap = capacity;
    used = 0;
    for (int i = 0; i < old_cap; i++) {
        ObjString *s = old[i].used ? key_of(&old[i]) : NULL;
        if (s) insert(fresh, cap, s);
        heap_weak_clear(&old[i].key); /* before the memory goes back to malloc */
    }
    free(old);
    entries = fresh;
    capacity = cap;
}

void intern_add(ObjString *s) {
    if ((used + 1) * 4 > capacity * 3) rehash(intern_live_count());
    insert(entries, capacity, s);
}

int intern_live_count(void) {
    int n = 0;
    for (int i = 0; i < capacity; i++)
        if (entries[i].used && key_of(&entries[i])) n++;
    return n;
}

void intern_free(void) {
    for (int i = 0; i < capacity; i++) heap_weak_clear(&entries[i].key);
    free(entries);
    entries = NULL;
    capacity = used = 0;
}
