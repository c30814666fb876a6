/* SPDX-License-Identifier: MIT */
/* linetable.h: the source line of an instruction, decoded from a code object's line table
 * exactly as the interpreter's own PyCode_Addr2Line does for that version: co_lnotab (3.9),
 * the 3.10 co_linetable, and the 3.11+ location table. Tables come from the target and are
 * untrusted: a malformed one yields -1, never a read out of bounds (fuzzed). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "layouts/layout.h"

/* Line of the instruction at byte offset addrq (< 0 means "not started": firstlineno), or
 * -1 when the instruction has no line or the table ends first. */
int linetable_line(LayoutLinetableKind kind, const uint8_t *table, size_t len, int firstlineno,
                   int addrq);
