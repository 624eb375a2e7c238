/*
 * intern.h -- the string intern table, which holds its strings weakly.
 *
 * Interning makes equal strings one object (so equality and table lookups
 * compare pointers), but a table of strong references would keep every
 * string ever made alive.  So each entry is a weak slot: the collector
 * clears it when nothing else references the string, and the string dies.
 */
#ifndef LOX_INTERN_H
#define LOX_INTERN_H

#include "common.h"

typedef struct ObjString ObjString;

ObjString *intern_find(const char *chars, int length, uint32_t hash);
ObjString *intern_find2(const char *a, int alen, const char *b, int blen, uint32_t hash);
void intern_add(ObjString *s);
/* Strings still alive in the table (walks it). */
int intern_live_count(void);
/* Drop the table (unregisters every weak slot). */
void intern_free(void);

#endif
