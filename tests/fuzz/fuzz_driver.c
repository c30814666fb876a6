/* SPDX-License-Identifier: MIT */
/* fuzz_driver.c: replies from the benchmark process (which runs user code) on arbitrary
 * bytes, one line at a time as child_read_line delivers them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/driver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    for (char *line = s, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        DriverReply r;
        Err err;
        if (driver_parse_reply(line, &r, &err) == 0)
            driver_reply_fini(&r);
    }
    free(s);
    return 0;
}
