/*
 * table.c -- the strong string-keyed hash table.
 */
#include "memory.h"
#include "object.h"
#include "table.h"

#define TABLE_MAX_LOAD 0.75

void table_init(Table *t) {
    t->count = 0;
    t->capacity = 0;
    heap_store(&t->entries, NULL);
}

static Entry *find_entry(Entry *entries, int capacity, ObjString *key) {
    uint32_t i = key->hash & (uint32_t)(capacity - 1);
    Entry *tombstone = NULL;
    for (;;) {
        Entry *e = &entries[i];
        if (e->key == NULL) {
            if (IS_NIL(e->value)) return tombstone ? tombstone : e;
            if (!tombstone) tombstone = e;
        } else if (e->key == key) {
            return e;
        }
        i = (i + 1) & (uint32_t)(capacity - 1);
    }
}

static void adjust_capacity(Table *t, int capacity) {
    Entry *entries = lox_alloc((size_t)capacity * sizeof(Entry), true); /* zero = nil, empty */
    int count = 0;
    for (int i = 0; i < t->capacity; i++) {
        Entry *src = &t->entries[i];
        if (!src->key) continue;
        Entry *dst = find_entry(entries, capacity, src->key);
        heap_store(&dst->key, src->key);
        value_set(&dst->value, src->value);
        count++;
    }
    heap_store(&t->entries, entries);
    t->capacity = capacity;
    t->count = count;
}

bool table_get(const Table *t, ObjString *key, Value *out) {
    if (t->count == 0) return false;
    Entry *e = find_entry(t->entries, t->capacity, key);
    if (!e->key) return false;
    *out = e->value;
    return true;
}

bool table_set(Table *t, ObjString *key, Value v) {
    if (t->count + 1 > t->capacity * TABLE_MAX_LOAD) adjust_capacity(t, grow_capacity(t->capacity));
    Entry *e = find_entry(t->entries, t->capacity, key);
    bool is_new = e->key == NULL;
    if (is_new && IS_NIL(e->value)) t->count++; /* a reused tombstone is already counted */
    /* An update finds the key already there: storing the same pointer
     * again would change nothing, so it needs no barrier either. */
    if (is_new) heap_store(&e->key, key);
    value_set(&e->value, v);
    return is_new;
}

bool table_delete(Table *t, ObjString *key) {
    if (t->count == 0) return false;
    Entry *e = find_entry(t->entries, t->capacity, key);
    if (!e->key) return false;
    heap_store(&e->key, NULL);
    value_set(&e->value, BOOL_VAL(true));
    return true;
}

void table_add_all(const Table *from, Table *to) {
    for (int i = 0; i < from->capacity; i++) {
        Entry *e = &from->entries[i];
        if (e->key) table_set(to, e->key, e->value);
    }
}
