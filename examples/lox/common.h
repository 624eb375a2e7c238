/*
 * common.h -- what every part of the Lox VM shares: the standard headers,
 * the VM's size limits, and the collector glue.
 */
#ifndef LOX_COMMON_H
#define LOX_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcglue.h"

/* One byte operands: 256 locals, upvalues, constants per chunk, arguments. */
#define UINT8_COUNT (UINT8_MAX + 1)

#endif
