/* SPDX-License-Identifier: MIT */
/* cmd_report.c: `ferret report FILE [-f FORMAT] [-o OUT] [--series NAME] [--top N]`: renders
 * a saved .ferret profile in any report format; --mode and --gil pick the samples of a
 * sampled profile again. Text and collapsed go to standard output
 * unless -o is given; the other formats go to -o, or to a file named after the profile
 * (app.ferret -> app.html), whose name is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "profile/ffile.h"
#include "report/memview.h"
#include "report/report.h"
#include "util/outpath.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ferret report FILE.ferret [-f FORMAT] [-o OUT] [--series NAME] [--top N]\n"
            "                     [--mode wall|cpu] [--gil]\n\n"
            "Renders a saved profile. Formats: %s (default text).\n"
            "  -f, --format FORMAT  output format (without it, -o OUT's name says it: x.svg,\n"
            "                       x.html, x.pb.gz, x.prof, x.speedscope.json, x.txt, ...)\n"
            "  -o, --output OUT     output file ('-' for standard output); text and collapsed\n"
            "                       default to standard output, the others to FILE with the\n"
            "                       format's extension (app.ferret -> app.html)\n"
            "  --series NAME        which measure to show (memory and trace profiles hold\n"
            "                       several; default: the first)\n"
            "  --top N              rows per table in the text report (default 15)\n"
            "  -m, --mode wall|cpu  sampled profiles: all samples, or only on-CPU ones\n"
            "                       (default: the mode it was recorded with)\n"
            "  --gil                sampled profiles: only samples of the thread holding the GIL\n",
            report_format_list());
}

/* Parses the options shared by `report` and `diff`. Returns -1 on a usage error (printed),
 * 0 when done, 1 when --help was printed. */
int
cli_report_options(int argc, char **argv, const char **paths, int max_paths, int *npaths,
                   const char **format, const char **output, const char **series, long long *top,
                   const char **mode, bool *gil, void (*help)(FILE *))
{
    *npaths = 0;
    bool only_paths = false; /* after "--", a name starting with '-' is a profile */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dest = NULL;
        char name[32];
        const char *eq = only_paths ? NULL : cli_long_value(&a, name, sizeof name);
        if (only_paths || (a[0] != '-' || a[1] == '\0')) {
            if (*npaths >= max_paths) {
                cli_usage("%s: unexpected argument '%s'", argv[0], a);
                return -1;
            }
            paths[(*npaths)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_paths = true;
            continue;
        }
        if (eq && (strcmp(a, "--help") == 0 || strcmp(a, "--gil") == 0)) {
            cli_usage("%s takes no value", a);
            return -1;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(stdout);
            return 1;
        }
        if (strcmp(a, "-f") == 0 || strcmp(a, "--format") == 0)
            dest = format;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            dest = output;
        else if (strcmp(a, "--series") == 0 && series)
            dest = series;
        else if ((strcmp(a, "-m") == 0 || strcmp(a, "--mode") == 0) && mode)
            dest = mode;
        else if (strcmp(a, "--gil") == 0 && gil) {
            *gil = true;
            continue;
        } else if (strcmp(a, "--top") == 0 && top) {
            Err err;
            if (!eq && i + 1 >= argc) {
                cli_usage("%s needs a value", a);
                return -1;
            }
            if (cli_parse_int(a, eq ? eq : argv[++i], 1, 100000, top, &err) < 0) {
                cli_fail(&err);
                return -1;
            }
            continue;
        } else {
            cli_usage("%s: unknown option '%s' (try `ferret %s --help`)", argv[0], argv[i],
                      argv[0]);
            return -1;
        }
        if (eq) {
            *dest = eq;
            continue;
        }
        if (i + 1 >= argc) {
            cli_usage("%s needs a value", a);
            return -1;
        }
        *dest = argv[++i];
    }
    if (mode && *mode && strcmp(*mode, "wall") != 0 && strcmp(*mode, "cpu") != 0) {
        cli_usage("--mode: expected wall or cpu, not '%s'", *mode);
        return -1;
    }
    return 0;
}

char *
cli_default_html(const Profile *p, ReportOptions *opt, const Err *text_err, Err *err)
{
    const ReportWriter *html = report_find("html");
    opt->color = false;
    char *path = report_default_path(NULL, html, err);
    if (!path || report_write_path(html, p, opt, path, err) < 0) {
        if (text_err) /* both failed: the text report's line first, then the HTML's */
            cli_fail(text_err);
        free(path);
        return NULL;
    }
    return path;
}

int
cli_report_view(Profile *p, const char *path, const char *mode, bool gil, Err *err)
{
    if (!mode && !gil)
        return 0;
    /* every sample keeps its flags: the view is the meta's to choose */
    if (profile_info_c(p)->kind != PROFILE_SAMPLED)
        return err_set(err, ERR_USAGE, "%s: %s is not a sampled profile (ferret run or attach)",
                       mode ? "--mode" : "--gil", path);
    if ((mode && profile_meta_set(p, "mode", mode, err) < 0) ||
        (gil && profile_meta_set(p, "gil", "1", err) < 0))
        return -1;
    return 0;
}

int
cmd_report(int argc, char **argv)
{
    const char *path = NULL, *format = NULL, *output = NULL, *series = NULL, *mode = NULL;
    bool gil = false;
    long long top = 15;
    int npaths;
    int r = cli_report_options(argc, argv, &path, 1, &npaths, &format, &output, &series, &top,
                               &mode, &gil, usage);
    if (r != 0)
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    if (npaths != 1)
        return cli_usage("report: which profile? (usage: ferret report FILE.ferret [-f FORMAT])");
    const ReportWriter *w = format ? report_find(format) : NULL;
    if (format && !w)
        return cli_usage("unknown format '%s' (formats: %s)", format, report_format_list());

    Err err;
    Profile *p = ffile_read(path, &err);
    if (!p)
        return cli_fail(&err);
    if (cli_report_view(p, path, mode, gil, &err) < 0) {
        profile_free(p);
        return cli_fail(&err);
    }
    if (!w) { /* -o FILE's name says the format (app.svg), as for run and trace; else text */
        bool named = output && strcmp(output, "-") != 0;
        const char *guess =
            named ? report_format_for_path(output, profile_info_c(p)->kind) : "text";
        if (!guess || !(w = report_find(guess))) {
            profile_free(p);
            return cli_usage("cannot tell the format from the name %s; give -f (%s)", output,
                             report_format_list());
        }
    }
    ReportOptions opt;
    report_options_init(&opt, p);
    opt.top = (int)top;
    opt.color = false;
    int rc = EXIT_OK;
    char *def = NULL;
    if (series && !profile_series_find(p, series, &opt.series)) {
        err_set(&err, ERR_USAGE, "%s has no series '%s'", path, series);
        rc = cli_fail(&err);
        goto done;
    }
    if (memview_check_series(p, opt.series, w->name, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (!output) {
        if (strcmp(w->name, "text") == 0 || strcmp(w->name, "collapsed") == 0) {
            output = "-";
            opt.color = cli_color(1);
        } else {
            def = report_default_path(path, w, &err);
            if (!def) {
                rc = cli_fail(&err);
                goto done;
            }
            output = def;
        }
    }
    /* a directory or a read-only file as -o: said before the report is made */
    if (outpath_check(output, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (strcmp(output, "-") == 0 && w->binary && cli_isatty(1)) {
        rc = cli_usage("the %s format is binary: write it to a file with -o", w->name);
        goto done;
    }
    const char *incomplete = profile_meta_get(p, "incomplete");
    if (incomplete && strcmp(incomplete, "1") == 0)
        fprintf(stderr, "ferret: note: %s has no end marker (the recorder was stopped); "
                        "showing what it saved\n", path);
    if (report_write_path(w, p, &opt, output, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (strcmp(output, "-") != 0)
        fprintf(stderr, "ferret: wrote %s\n", output);
done:
    free(def);
    profile_free(p);
    return rc;
}
