/*
 * static_data.c -- a shared library with its own globals and no link to
 * mgc, for the static-roots tests (test/test_staticroots.c): a pointer a
 * program stores into sd_table lives in this library's .bss, which the
 * collector must find after dlopen and forget after dlclose.
 */
#include <stddef.h>

#define SD_SLOTS 4096

void *sd_table[SD_SLOTS];          /* .bss */
void **sd_self = &sd_table[0];     /* .data (relocated: RELRO-free on purpose) */

void sd_set(size_t i, void *p) { sd_table[i % SD_SLOTS] = p; }
void *sd_get(size_t i) { return sd_table[i % SD_SLOTS]; }
size_t sd_slots(void) { return SD_SLOTS; }
