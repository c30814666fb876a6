/* SPDX-License-Identifier: MIT */
/* fuzz_ffile.c: the .ferret reader on arbitrary bytes, twice: as given (so the fuzzer meets
 * the magic, length and checksum checks) and with every chunk's CRC-32 recomputed (so its
 * mutations reach the section and record parsers behind the checksum). Whatever the reader
 * accepts must be a consistent profile, so it is also rendered in every report format: a
 * bad id let through shows up as a crash in a writer. Corpus: tests/fuzz/corpus/ffile (small
 * files from tests/tools/mkprofile, stored and deflated, whole and cut; docs/FUZZING.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile/ffile.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_and_render(const uint8_t *data, size_t size)
{
    Err err;
    Profile *p = ffile_read_mem(data, size, "fuzz", &err);
    if (!p)
        return;
    ReportOptions opt;
    report_options_init(&opt, p);
    FILE *sink = fopen("/dev/null", "wb");
    for (size_t i = 0; sink && report_format_at(i); i++)
        (void)report_format_at(i)->write(p, &opt, sink, &err);
    if (sink)
        fclose(sink);
    profile_free(p);
}

/* docs/FORMAT.md "Chunks": 12-byte header, then tag u8, stored u32, raw u32, crc u32. */
static void
fix_checksums(uint8_t *d, size_t size)
{
    size_t off = 12;
    while (off + 13 <= size) {
        uint32_t stored = (uint32_t)d[off + 1] | (uint32_t)d[off + 2] << 8 |
                          (uint32_t)d[off + 3] << 16 | (uint32_t)d[off + 4] << 24;
        if (stored > size - off - 13)
            return;
        uLong crc = crc32(crc32(0, d + off, 9), d + off + 13, stored);
        for (int i = 0; i < 4; i++)
            d[off + 9 + i] = (uint8_t)(crc >> (8 * i));
        off += 13 + stored;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_and_render(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    read_and_render(copy, size);
    free(copy);
    return 0;
}
