/* SPDX-License-Identifier: MIT */
/* fuzz_memstream.c: the memory stream reader (profile/memstream.c) on arbitrary bytes, and
 * every writer that renders memory profiles on whatever it accepts: a stream comes from a
 * file the target process wrote, so it is untrusted. */
#include <stdint.h>
#include <stdio.h>

#include "profile/memstream.h"
#include "report/memview.h"
#include "report/report.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    Err err;
    MemStreamInfo info;
    Profile *p = memstream_read(data, size, &info, &err);
    if (!p)
        return 0;
    static const char *const formats[] = {"text", "collapsed", "json", "html"};
    for (int v = 0; v < MEMVIEW_COUNT; v++) {
        ReportOptions opt;
        report_options_init(&opt, p);
        if (memview_series(p, (MemView)v, &opt.series, NULL, &err) < 0)
            continue;
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
            report_find(formats[f])->write(p, &opt, sink, &err);
    }
    profile_free(p);
    return 0;
}
