/* SPDX-License-Identifier: MIT */
/* fuzz_maps.c: /proc/PID/maps parsing on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/maps.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    Maps m;
    Err err;
    if (maps_parse(copy, size, &m, &err) == 0) {
        for (size_t i = 0; i < m.n; i++)
            maps_find(&m, m.regions[i].start);
        maps_find(&m, 0x1000);
        maps_fini(&m);
    }
    free(copy);
    return 0;
}
