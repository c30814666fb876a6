/* SPDX-License-Identifier: MIT */
/* cmd_history.c: `ferret history [NAME]`: without a name, every benchmark in the history;
 * with one, its runs over time with change points, and --svg/--html plots. */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/history.h"
#include "bench/results.h"
#include "bench/trend.h"
#include "cli/bench_common.h"
#include "cli/cli.h"
#include "cli/exitcode.h"
#include "util/escape.h"

static const char usage_text[] =
    "usage: ferret history [OPTIONS] [NAME]\n"
    "\n"
    "Without NAME: every benchmark in the history. With NAME: its runs, oldest first, with\n"
    "the step from the run before and the change points where it moved beyond noise.\n"
    "\n"
    "  --db PATH         history database (default $FERRET_DB or .ferret/history.db)\n"
    "  --limit N         only the latest N runs (default 50; 0 for all)\n"
    "  --threshold PCT   smallest step called a change point (default 2)\n"
    "  --svg FILE        plot: medians with 95% intervals over the runs, change points in red\n"
    "  --html FILE       the same plot and the table as one HTML page\n";

/* A time from the database as a local date; "?" for one no calendar holds (a crafted or odd
 * history: casting it to time_t would be undefined, and localtime_r fails on huge years). */
static void
fmt_date(double unix_s, char out[32])
{
    bool valid = isfinite(unix_s) && fabs(unix_s) < 1e11; /* about 3000 years */
    time_t t = valid ? (time_t)unix_s : 0;
    struct tm tm;
    if (!valid || !localtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M", &tm))
        snprintf(out, 32, "?");
}

/* A run's label on the terminal and the plots: its commit's first 10 characters, escaped
 * (the database may hold any bytes), + when the tree was dirty, and its date. */
#define LABEL_MAX (4 * 10 + 40) /* each character up to 4 bytes (\xNN), then "+ " and date */

static void
label_for(const HistoryEntry *e, char out[LABEL_MAX])
{
    char date[32];
    fmt_date(e->started_unix, date);
    Buf commit;
    buf_init(&commit);
    const char *c = e->git_commit;
    esc_text(&commit, c, utf8_prefix(c, strlen(c), 10), 0);
    if (c[0])
        snprintf(out, LABEL_MAX, "%s%s %s", commit.data ? commit.data : "",
                 e->git_dirty == 1 ? "+" : "", date);
    else
        snprintf(out, LABEL_MAX, "%s", date);
    buf_fini(&commit);
}

static int
list_names(History *h, Err *err)
{
    HistoryName *v;
    size_t n;
    if (history_names(h, &v, &n, err) < 0)
        return -1;
    if (n == 0)
        printf("the history is empty\n");
    else
        printf("%-40s  %5s  %12s  %s\n", "benchmark", "runs", "last median", "last run");
    for (size_t i = 0; i < n; i++) {
        Buf nm;
        buf_init(&nm);
        esc_text(&nm, v[i].name, strlen(v[i].name), 0);
        char med[32], date[32];
        results_fmt_time(med, sizeof med, v[i].last_median);
        fmt_date(v[i].last_unix, date);
        Buf line; /* padded by characters: a name may hold any, and "µs" is two bytes */
        buf_init(&line);
        results_pad(&line, nm.data ? nm.data : "", 40, false);
        buf_printf(&line, "  %5zu  ", v[i].runs);
        results_pad(&line, med, 12, true);
        buf_printf(&line, "  %s\n", date);
        fputs(line.data ? line.data : "", stdout);
        buf_fini(&line);
        buf_fini(&nm);
    }
    history_names_free(v, n);
    return 0;
}

int
cmd_history(int argc, char **argv)
{
    enum { O_DB = 256, O_LIMIT, O_THRESH, O_SVG, O_HTML };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, O_DB},         {"limit", required_argument, NULL, O_LIMIT},
        {"threshold", required_argument, NULL, O_THRESH}, {"svg", required_argument, NULL, O_SVG},
        {"html", required_argument, NULL, O_HTML},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *db = NULL, *svg = NULL, *html = NULL;
    long long limit = 50;
    double threshold = 2;
    Err err;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DB: db = optarg; break;
        case O_LIMIT:
            if (cli_parse_int("--limit", optarg, 0, 1000000000, &limit, &err) < 0)
                return cli_fail(&err);
            break;
        case O_THRESH:
            if (cli_parse_double("--threshold", optarg, 0, 1000, &threshold, &err) < 0)
                return cli_fail(&err);
            break;
        case O_SVG: svg = optarg; break;
        case O_HTML: html = optarg; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case ':': return cli_usage("history: %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("history: unknown option '%s' (see `ferret history --help`)",
                             argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage("history: give at most one benchmark name");
    const char *name = argc - optind == 1 ? argv[optind] : NULL;
    if (!name && (svg || html))
        return cli_usage("history: --svg and --html plot one benchmark: give its NAME");
    History *h = NULL;
    if (bench_db_path(db, &db, &err) < 0 || bench_check_output(svg, db, &err) < 0 ||
        bench_check_output(html, db, &err) < 0 || history_open(db, false, &h, &err) < 0)
        return cli_fail(&err);
    if (!name) {
        int rc = list_names(h, &err) < 0 ? cli_fail(&err) : EXIT_OK;
        history_close(h);
        return rc;
    }
    HistoryEntry *e = NULL;
    size_t n = 0;
    TrendPoint *pts = NULL;
    const Bench **bs = NULL;
    char(*labels)[LABEL_MAX] = NULL;
    int rc = EXIT_FAIL;
    if (history_series(h, name, (size_t)limit, &e, &n, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (n == 0) {
        char nm[BENCH_SHOWN_MAX];
        bench_shown(name, nm);
        err_set(&err, ERR_USAGE, "history: no benchmark named '%s' (`ferret history` lists them)",
                nm);
        rc = cli_fail(&err);
        goto done;
    }
    pts = calloc(n, sizeof *pts);
    bs = calloc(n, sizeof *bs);
    labels = calloc(n, sizeof *labels);
    if (!pts || !bs || !labels) {
        err_set(&err, ERR_NOMEM, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        bs[i] = &e[i].bench;
        label_for(&e[i], labels[i]);
        pts[i].label = labels[i];
    }
    if (trend_analyse(bs, n, threshold / 100, pts, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    Buf out;
    buf_init(&out);
    buf_printf(&out, "%6s  %-27s  %11s  %25s  %6s  %s\n", "run", "commit / date", "median",
               "95% CI of the median", "n", "vs previous run");
    for (size_t i = 0; i < n; i++) {
        char med[32], lo[32], hi[32], ci[72];
        results_fmt_time(med, sizeof med, pts[i].median);
        results_fmt_time(lo, sizeof lo, pts[i].ci_lo);
        results_fmt_time(hi, sizeof hi, pts[i].ci_hi);
        snprintf(ci, sizeof ci, "%s - %s", lo, hi);
        buf_printf(&out, "%6lld  ", (long long)e[i].run_id);
        results_pad(&out, labels[i], 27, false); /* by characters, as the list's names */
        buf_puts(&out, "  "); /* the times by characters too: "µs" is two bytes */
        results_pad(&out, med, 11, true);
        buf_puts(&out, "  ");
        results_pad(&out, ci, 25, true);
        buf_printf(&out, "  %6zu  ", e[i].bench.nvalues);
        if (pts[i].has_step)
            buf_printf(&out, "%+6.1f%% (p = %.2g)%s", (pts[i].step.ratio - 1) * 100,
                       pts[i].step.p, pts[i].change ? "  << change point" : "");
        buf_putc(&out, '\n');
    }
    buf_printf(&out, "\nrun-to-run noise: %.1f%%; change points: steps with p < 0.01 larger than "
                     "max(%.1f%%, 3 x noise)\n",
               trend_noise(pts, n) * 100, threshold);
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    rc = EXIT_OK;
    if (svg || html) {
        Buf plot;
        buf_init(&plot);
        trend_svg(&plot, name, pts, n);
        if (svg && bench_write_output(svg, &plot, &err) < 0) {
            err_context(&err, "writing the SVG plot");
            rc = cli_fail(&err);
        }
        if (html) {
            Buf page;
            buf_init(&page);
            buf_puts(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ferret "
                            "history: ");
            esc_html(&page, name, strlen(name));
            buf_puts(&page, "</title></head><body>\n");
            buf_append(&page, plot.data, plot.len);
            buf_puts(&page, "<pre>");
            esc_html(&page, out.data, out.len);
            buf_puts(&page, "</pre>\n</body></html>\n");
            if (buf_failed(&page) || bench_write_output(html, &page, &err) < 0) {
                err_context(&err, "writing the HTML plot");
                rc = cli_fail(&err);
            }
            buf_fini(&page);
        }
        buf_fini(&plot);
    }
    buf_fini(&out);
done:
    free(pts);
    free(bs);
    free(labels);
    history_entries_free(e, n);
    history_close(h);
    return rc;
}
