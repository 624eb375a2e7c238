/*
 * compiler.h -- the single-pass compiler: source text to a top-level
 * function, with no syntax tree in between.
 */
#ifndef LOX_COMPILER_H
#define LOX_COMPILER_H

#include "object.h"

/* The script's function, or NULL after printing compile errors. */
ObjFunction *compile(const char *source);

#endif
