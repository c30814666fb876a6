/* SPDX-License-Identifier: MIT */
/* cmd_diff.c: `ferret diff BASE.ferret NEW.ferret [-f text|html|svg] [-o OUT] [--mode M]
 * [--gil]`: which
 * functions' share changed between two recordings, and whether beyond sampling noise
 * (report/diff.h states the method). Text goes to standard output unless -o is given; html
 * and svg go to -o or to NEW-diff.html / NEW-diff.svg, whose name is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "profile/ffile.h"
#include "report/diff.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ferret diff BASE.ferret NEW.ferret [-f FORMAT] [-o OUT] [--top N]\n"
            "                   [--mode wall|cpu] [--gil]\n\n"
            "Compares two profiles of the same program: each function's share of the samples\n"
            "(incl. callees) in BASE and NEW, the change in percentage points, and whether the\n"
            "change is beyond sampling noise (two-proportion z-test per function, Holm-corrected\n"
            "at alpha 0.05). Formats: %s (default text). html and svg draw a differential\n"
            "flame graph: widths from NEW, red where the share grew, blue where it shrank.\n"
            "  -f, --format FORMAT  output format\n"
            "  -o, --output OUT     output file ('-' for standard output)\n"
            "  --series NAME        which measure to compare (default: each profile's first)\n"
            "  --top N              rows in the text table (default 20)\n"
            "  -m, --mode wall|cpu  sampled profiles: all samples, or only on-CPU ones\n"
            "                       (default: each profile's recorded mode)\n"
            "  --gil                sampled profiles: only samples of the GIL holder\n",
            diff_format_list());
}

int
cmd_diff(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL}, *format = "text", *output = NULL, *series = NULL;
    const char *mode = NULL;
    bool gil = false;
    long long top = 20;
    int npaths;
    int r = cli_report_options(argc, argv, paths, 2, &npaths, &format, &output, &series, &top,
                               &mode, &gil, usage);
    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    if (npaths != 2)
        return cli_usage("diff: needs two profiles (usage: ferret diff BASE.ferret NEW.ferret)");
    const DiffWriter *w = diff_writer_find(format);
    if (!w)
        return cli_usage("diff: unknown format '%s' (formats: %s)", format, diff_format_list());
    Err err;
    Profile *base = ffile_read(paths[0], &err), *new = NULL;
    if (!base)
        return cli_fail(&err);
    new = ffile_read(paths[1], &err);
    if (!new || cli_report_view(base, paths[0], mode, gil, &err) < 0 ||
        cli_report_view(new, paths[1], mode, gil, &err) < 0) {
        profile_free(base);
        profile_free(new);
        return cli_fail(&err);
    }
    ReportOptions bopt, nopt;
    report_options_init(&bopt, base);
    report_options_init(&nopt, new);
    nopt.top = (int)top;
    int rc = EXIT_OK;
    char *def = NULL;
    Diff d;
    memset(&d, 0, sizeof d);
    if (series && (!profile_series_find(base, series, &bopt.series) ||
                   !profile_series_find(new, series, &nopt.series))) {
        err_set(&err, ERR_USAGE, "both profiles need the series '%s'", series);
        rc = cli_fail(&err);
        goto done;
    }
    if (diff_build(base, &bopt, new, &nopt, 0.05, &d, &err) < 0) {
        err_context(&err, "diff %s %s", paths[0], paths[1]);
        rc = cli_fail(&err);
        goto done;
    }
    if (!output) {
        if (strcmp(w->name, "text") == 0) {
            output = "-";
        } else {
            size_t n = strlen(paths[1]);
            if (n > 7 && strcmp(paths[1] + n - 7, ".ferret") == 0)
                n -= 7;
            def = malloc(n + 16);
            if (!def) {
                err_set(&err, ERR_NOMEM, "out of memory");
                rc = cli_fail(&err);
                goto done;
            }
            snprintf(def, n + 16, "%.*s-diff%s", (int)n, paths[1], w->extension);
            output = def;
        }
    }
    if (diff_write_path(w, &d, &nopt, output, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (strcmp(output, "-") != 0)
        fprintf(stderr, "ferret: wrote %s\n", output);
done:
    diff_fini(&d);
    free(def);
    profile_free(base);
    profile_free(new);
    return rc;
}
