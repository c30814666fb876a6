/* SPDX-License-Identifier: MIT */
/* ferret.c: the `ferret` format: the profile itself as a .ferret file (docs/FORMAT.md), for
 * `ferret run -o app.ferret` when the profile is written at the end of a run, and for
 * re-encoding a saved file. Recorders that stream use profile/ffile.h directly. */
#include "profile/ffile.h"
#include "report/report.h"

static int
ferret_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    (void)opt; /* the file keeps everything: every series, thread and sample */
    return ffile_write_stream(p, out, err);
}

const ReportWriter report_ferret = {
    .name = "ferret",
    .extension = ".ferret",
    .binary = true,
    .write = ferret_write,
};
