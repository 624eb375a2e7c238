/*
 * table.h -- hash tables from interned strings to values: globals, class
 * methods, instance fields.
 *
 * Open addressing with linear probing.  The entry array is a scanned heap
 * block (keys and values are strong references), replaced wholesale when
 * the table grows; every key and value store goes through the barrier.
 */
#ifndef LOX_TABLE_H
#define LOX_TABLE_H

#include "common.h"
#include "value.h"

typedef struct {
    ObjString *key; /* NULL: empty (value nil) or a tombstone (value true) */
    Value value;
} Entry;

typedef struct {
    int count; /* live entries plus tombstones */
    int capacity;
    Entry *entries;
} Table;

void table_init(Table *t);
bool table_get(const Table *t, ObjString *key, Value *out);
/* True if the key is new. */
bool table_set(Table *t, ObjString *key, Value v);
bool table_delete(Table *t, ObjString *key);
void table_add_all(const Table *from, Table *to);

#endif
