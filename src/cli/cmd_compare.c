/* SPDX-License-Identifier: MIT */
/* cmd_compare.c: `ferret compare A B`: each side is a result file written by
 * `ferret bench --json` or a benchmark name in the history (NAME is its latest run, NAME~K
 * the K-th before). Files are matched benchmark by benchmark, by name. --fail-slower PCT
 * makes it a CI gate. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/history.h"
#include "bench/results.h"
#include "cli/bench_common.h"
#include "cli/bench_profile.h"
#include "cli/cli.h"
#include "cli/exitcode.h"
#include "util/escape.h"

static const char usage_text[] =
    "usage: ferret compare [OPTIONS] A B\n"
    "\n"
    "Compares benchmark results B against A: the ratio B/A with its 95% interval, in words,\n"
    "and whether the difference is significant (two-sided Mann-Whitney U test on the\n"
    "per-process medians). A and B are result files (ferret bench --json) or benchmark names\n"
    "from the history: NAME is the latest run, NAME~1 the one before, and so on (a benchmark\n"
    "whose own name is NAME~1 comes first; NAME~1~1 is then the run before its latest).\n"
    "\n"
    "  --fail-slower PCT  exit 1 when B is significantly slower than A by more than PCT %\n"
    "  --db PATH          history database (default $FERRET_DB or .ferret/history.db)\n"
    "  --markdown FILE    the comparison as a Markdown table (- for stdout)\n";

/* Loads one side: a file if it exists (or looks like one), else a history reference. */
static int
load_side(const char *arg, const char *db, BenchRun *out, Err *err)
{
    struct stat st;
    size_t n = strlen(arg);
    bool looks_file = n > 5 && strcmp(arg + n - 5, ".json") == 0;
    results_init(out);
    char shown[BENCH_SHOWN_MAX];
    bench_shown(arg, shown);
    if (stat(arg, &st) == 0 || looks_file) {
        char *text;
        size_t len;
        if (bench_read_file(arg, &text, &len, err) < 0)
            return -1;
        int rc = results_parse_json(text, len, out, err);
        free(text);
        return rc < 0 ? err_context(err, "%s", shown) : 0;
    }
    History *h = NULL;
    HistoryEntry e;
    char *name = NULL;
    int rc = -1;
    if (history_open(db, false, &h, err) < 0) {
        err_context(err, "'%s' is not a result file, and looking it up in the history failed",
                    shown);
        goto done;
    }
    /* a benchmark named exactly so wins: "a~2" may be a name, and "a~2~1" is then the run
     * before its latest */
    if (history_get(h, arg, 0, &e, err) < 0) {
        const char *tilde = strrchr(arg, '~');
        size_t digits = tilde ? strspn(tilde + 1, "0123456789") : 0;
        if (err->kind != ERR_USAGE || digits == 0 || digits > 6 || tilde[1 + digits])
            goto done;
        if (!(name = strndup(arg, (size_t)(tilde - arg)))) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto done;
        }
        if (history_get(h, name, (size_t)strtoul(tilde + 1, NULL, 10), &e, err) < 0)
            goto done;
    }
    snprintf(out->env.git_commit, sizeof out->env.git_commit, "%s", e.git_commit);
    out->env.started_unix = e.started_unix;
    if (bench_set_str(&e.bench.name, arg, err) < 0 || results_add(out, &e.bench, err) < 0) {
        bench_fini(&e.bench);
        goto done;
    }
    rc = 0;
done:
    history_close(h);
    free(name);
    return rc;
}

typedef struct {
    const Bench *a, *b;
    StatsRatio q;
    size_t na, nb;
    bool per_process;
    double unit_med_a, unit_med_b; /* the median of each side's units (process medians) */
} Pair;

static void put_text(Buf *out, const char *s);

/* The units the comparison is made over (bench_units) and their median. */
static int
units_median(const Bench *b, size_t *n, bool *per_process, double *median, Err *err)
{
    double *u;
    if (bench_units(b, &u, n, per_process, err) < 0)
        return -1;
    stats_sort(u, *n);
    *median = stats_median_sorted(u, *n);
    free(u);
    return 0;
}

static int
make_pair(const Bench *a, const Bench *b, Pair *p, Err *err)
{
    p->a = a;
    p->b = b;
    bool pa, pb;
    if (bench_compare(a, b, &p->q, err) < 0 ||
        units_median(a, &p->na, &pa, &p->unit_med_a, err) < 0 ||
        units_median(b, &p->nb, &pb, &p->unit_med_b, err) < 0)
        return -1;
    p->per_process = pa && pb;
    return 0;
}

/* One side's line: its median over all values and, when the comparison is over processes,
 * the median of their medians, which the ratio is about (the two can differ in direction). */
static void
put_side(Buf *out, const char *label, const char *path, const StatsSummary *s, size_t units,
         double unit_median, bool per_process)
{
    char m[32], um[32];
    results_fmt_time(m, sizeof m, s->median);
    buf_printf(out, "  %s ", label);
    put_text(out, path);
    buf_printf(out, ": median %s (%zu values", m, s->n);
    if (per_process) {
        results_fmt_time(um, sizeof um, unit_median);
        buf_printf(out, " in %zu processes, whose medians' median is %s", units, um);
    }
    buf_puts(out, ")\n");
}

/* A name or path on the terminal: controls and invalid bytes as \xNN. */
static void
put_text(Buf *out, const char *s)
{
    esc_text(out, s, strlen(s), 0);
}

/* Lists the benchmarks of `from` that `other` lacks, on the terminal (one line) and as
 * Markdown rows; returns how many, with the first one's name in *first. */
static size_t
list_unmatched(const BenchRun *from, const BenchRun *other, const char *side, const char *path,
               Buf *out, Buf *mdb, const char **first)
{
    size_t k = 0;
    for (size_t i = 0; i < from->n; i++) {
        const Bench *b = &from->benches[i];
        if (results_find(other, b->name))
            continue;
        if (k++ == 0) {
            *first = b->name;
            buf_printf(out, "only in %s (", side);
            put_text(out, path);
            buf_puts(out, "), not compared: ");
        } else {
            buf_puts(out, ", ");
        }
        buf_putc(out, '\'');
        put_text(out, b->name);
        buf_putc(out, '\'');
        StatsSummary s;
        Err err;
        char med[32] = "?";
        if (bench_summary(b, &s, &err) == 0)
            results_fmt_time(med, sizeof med, s.median);
        buf_puts(mdb, "| ");
        results_md_cell(mdb, b->name);
        buf_printf(mdb, " | %s | %s | | | | only in %s |\n", *side == 'A' ? med : "–",
                   *side == 'A' ? "–" : med, side);
    }
    if (k)
        buf_putc(out, '\n');
    return k;
}

int
cmd_compare(int argc, char **argv)
{
    enum { O_FAIL = 256, O_DB, O_MD };
    static const struct option longopts[] = {{"fail-slower", required_argument, NULL, O_FAIL},
                                              {"db", required_argument, NULL, O_DB},
                                              {"markdown", required_argument, NULL, O_MD},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    double fail_pct = -1;
    const char *db = NULL, *md = NULL;
    Err err;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FAIL:
            if (cli_parse_double("--fail-slower", optarg, 0, 1e6, &fail_pct, &err) < 0)
                return cli_fail(&err);
            break;
        case O_DB: db = optarg; break;
        case O_MD: md = optarg; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case ':': return cli_usage("compare: %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("compare: unknown option '%s' (see `ferret compare --help`)",
                             argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage("compare: give exactly two results, A and B (files or history names)");
    if (bench_db_path(db, &db, &err) < 0 || bench_check_output(md, db, &err) < 0)
        return cli_fail(&err);
    BenchRun ra, rb;
    results_init(&ra);
    results_init(&rb);
    Pair *pairs = NULL;
    size_t np = 0;
    int rc = EXIT_FAIL;
    if (load_side(argv[optind], db, &ra, &err) < 0 || load_side(argv[optind + 1], db, &rb, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    pairs = calloc(ra.n + 1, sizeof *pairs);
    if (!pairs) {
        err_set(&err, ERR_NOMEM, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    if (ra.n == 1 && rb.n == 1) {
        if (make_pair(&ra.benches[0], &rb.benches[0], &pairs[np++], &err) < 0) {
            rc = cli_fail(&err);
            goto done;
        }
    } else {
        for (size_t i = 0; i < ra.n; i++) {
            const Bench *b = results_find(&rb, ra.benches[i].name);
            if (!b)
                continue;
            if (make_pair(&ra.benches[i], b, &pairs[np++], &err) < 0) {
                rc = cli_fail(&err);
                goto done;
            }
        }
        if (np == 0) {
            char na[BENCH_SHOWN_MAX], nb[BENCH_SHOWN_MAX];
            bench_shown(argv[optind], na);
            bench_shown(argv[optind + 1], nb);
            err_set(&err, ERR_USAGE, "compare: %s and %s have no benchmark name in common", na, nb);
            rc = cli_fail(&err);
            goto done;
        }
    }
    Buf out, mdb, warn;
    buf_init(&out);
    buf_init(&mdb);
    buf_init(&warn);
    buf_puts(&mdb, "| benchmark | A median | B median | B/A | 95% CI | p | verdict |\n"
                   "|:---|---:|---:|---:|---:|---:|:---|\n");
    const Pair *worst = NULL;
    const char *missing = NULL, *added;
    size_t nmissing = 0;
    for (size_t i = 0; i < np; i++) {
        const Pair *p = &pairs[i];
        StatsSummary sa, sb;
        if (bench_summary(p->a, &sa, &err) < 0 || bench_summary(p->b, &sb, &err) < 0) {
            buf_fini(&out);
            buf_fini(&mdb);
            buf_fini(&warn);
            rc = cli_fail(&err);
            goto done;
        }
        put_text(&out, p->b->name);
        buf_puts(&out, "\n");
        put_side(&out, "A", argv[optind], &sa, p->na, p->unit_med_a, p->per_process);
        put_side(&out, "B", argv[optind + 1], &sb, p->nb, p->unit_med_b, p->per_process);
        buf_puts(&out, "  ");
        /* the same benchmark on both sides: call the sides by what the user typed */
        bool same = strcmp(p->a->name, p->b->name) == 0;
        results_describe_ratio(&out, same ? argv[optind] : p->a->name,
                               same ? argv[optind + 1] : p->b->name, &p->q, p->na, p->nb,
                               p->per_process);
        buf_puts(&out, "\n");
        /* a profile that cannot be read costs the explanation, never the verdict */
        Err perr;
        if (p->q.significant && bench_profile_explain(p->a, p->b, 6, &out, &perr) < 0) {
            char nm[BENCH_SHOWN_MAX];
            bench_shown(p->b->name, nm);
            buf_printf(&warn,
                       "ferret: warning: '%s': the difference is not explained: %s (the "
                       "comparison above stands)\n",
                       nm, perr.msg);
        }
        buf_puts(&out, "\n");
        const char *verdict = !p->q.significant ? "no significant difference"
                              : p->q.ratio > 1  ? "**slower**"
                                                : "**faster**";
        buf_puts(&mdb, "| ");
        results_md_cell(&mdb, p->b->name);
        char ma[32], mb[32], r[32], lo[32], hi[32];
        results_fmt_time(ma, sizeof ma, sa.median);
        results_fmt_time(mb, sizeof mb, sb.median);
        results_fmt_ratio(r, sizeof r, p->q.ratio);
        results_fmt_ratio(lo, sizeof lo, p->q.lo);
        results_fmt_ratio(hi, sizeof hi, p->q.hi);
        buf_printf(&mdb, " | %s | %s | %s | %s – %s", ma, mb, r, lo, hi);
        char what[32];
        results_fmt_interval(what, sizeof what, &p->q);
        if (p->q.level < STATS_LEVEL) /* the column says 95%: say what this one is */
            buf_printf(&mdb, " (%s)", what);
        buf_printf(&mdb, " | %.2g | %s |\n", p->q.p, verdict);
        if (fail_pct >= 0 && p->q.significant && p->q.ratio > 1 + fail_pct / 100 &&
            (!worst || p->q.ratio > worst->q.ratio))
            worst = p;
    }
    if (!(ra.n == 1 && rb.n == 1)) {
        nmissing = list_unmatched(&ra, &rb, "A", argv[optind], &out, &mdb, &missing);
        list_unmatched(&rb, &ra, "B", argv[optind + 1], &out, &mdb, &added);
    }
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    if (warn.len)
        fwrite(warn.data, 1, warn.len, stderr);
    buf_fini(&warn);
    rc = EXIT_OK;
    if (md && (buf_failed(&mdb) || bench_write_output(md, &mdb, &err) < 0)) {
        err_context(&err, "writing the Markdown comparison");
        rc = cli_fail(&err);
    }
    buf_fini(&out);
    buf_fini(&mdb);
    if (worst) {
        char what[32], nm[BENCH_SHOWN_MAX];
        results_fmt_interval(what, sizeof what, &worst->q);
        bench_shown(worst->b->name, nm);
        fprintf(stderr,
                "ferret: '%s' is significantly slower: %.1f%% (%s %.1f%% to %.1f%%), more "
                "than --fail-slower %g%%\n",
                nm, (worst->q.ratio - 1) * 100, what, (worst->q.lo - 1) * 100,
                (worst->q.hi - 1) * 100, fail_pct);
        rc = EXIT_FAIL;
    }
    if (nmissing) {
        /* a benchmark deleted or renamed in B must not pass a CI gate unseen */
        char nm[BENCH_SHOWN_MAX], more[48] = "";
        bench_shown(missing, nm);
        if (nmissing > 1)
            snprintf(more, sizeof more, " (and %zu more)", nmissing - 1);
        fprintf(stderr, "ferret: %s'%s'%s is in A but missing from B%s\n",
                fail_pct >= 0 ? "" : "warning: ", nm, more,
                fail_pct >= 0 ? ": --fail-slower cannot check it" : "");
        if (fail_pct >= 0)
            rc = EXIT_FAIL;
    }
done:
    free(pairs);
    results_fini(&ra);
    results_fini(&rb);
    return rc;
}
