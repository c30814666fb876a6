/* SPDX-License-Identifier: MIT */
/* fuzz_linetable.c: every line-table decoder on arbitrary bytes (they come from the target
 * process's memory): the first two bytes pick the format and the offset, the rest is the
 * table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/linetable.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    LayoutLinetableKind kind = (LayoutLinetableKind)(1 + data[0] % 3);
    int addrq = (int)data[1] * 2 - 4;
    uint8_t *table = malloc(size - 2 ? size - 2 : 1);
    if (!table)
        return 0;
    memcpy(table, data + 2, size - 2);
    for (int q = addrq; q < addrq + 64; q += 2)
        linetable_line(kind, table, size - 2, 1, q);
    linetable_line(kind, table, size - 2, 1, 1 << 20);
    free(table);
    return 0;
}
