/* SPDX-License-Identifier: MIT */
/* results.c: the result set and its formats. Every statistic printed comes from
 * bench_summary / bench_compare, so the table, the JSON, Markdown and CSV agree. */
#include "bench/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/escape.h"
#include "util/jsonread.h"

void
results_init(BenchRun *r)
{
    memset(r, 0, sizeof *r);
}

void
results_fini(BenchRun *r)
{
    for (size_t i = 0; i < r->n; i++)
        bench_fini(&r->benches[i]);
    free(r->benches);
    free(r->ferret_version);
    memset(r, 0, sizeof *r);
}

int
results_add(BenchRun *r, Bench *b, Err *err)
{
    Bench *g = realloc(r->benches, (r->n + 1) * sizeof *g);
    if (!g)
        return err_set(err, ERR_NOMEM, "out of memory");
    r->benches = g;
    r->benches[r->n++] = *b;
    memset(b, 0, sizeof *b);
    return 0;
}

Bench *
results_find(const BenchRun *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->benches[i].name, name) == 0)
            return &r->benches[i];
    return NULL;
}

void
results_fmt_time(char *out, size_t n, double s)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}};
    size_t u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && fabs(s) < units[u].scale)
        u++;
    double v = s / units[u].scale;
    int decimals = fabs(v) >= 100 ? 1 : fabs(v) >= 10 ? 2 : 3;
    if (!isfinite(s))
        snprintf(out, n, "?");
    else if (fabs(s) >= 1e5) /* a day and more: no run of digits */
        snprintf(out, n, "%.4g s", s);
    else
        snprintf(out, n, "%.*f %s", decimals, v, units[u].unit);
}

void
results_fmt_ratio(char *out, size_t n, double x)
{
    if (x >= 1e-3 && x < 1e4)
        snprintf(out, n, "%.3fx", x);
    else /* orders of magnitude apart: 4 significant digits, not 0.000x or 20 digits */
        snprintf(out, n, "%.4gx", x);
}

void
results_fmt_interval(char *out, size_t n, const StatsRatio *q)
{
    if (q->level >= STATS_LEVEL)
        snprintf(out, n, "95%% CI");
    else /* floor: never claim more than the interval covers */
        snprintf(out, n, "%.0f%% interval", floor(q->level * 100 + 1e-9));
}

void
results_describe_ratio(Buf *out, const char *base, const char *b, const StatsRatio *q,
                       size_t na, size_t nb, bool per_process)
{
    Buf ea, eb;
    buf_init(&ea);
    buf_init(&eb);
    esc_text(&ea, base, strlen(base), 0);
    esc_text(&eb, b, strlen(b), 0);
    const char *sa = ea.data ? ea.data : "", *sb = eb.data ? eb.data : "";
    const char *unit = per_process ? "processes" : "values";
    char r[32], inv[32], lo[32], hi[32], what[32], pct[32];
    results_fmt_ratio(r, sizeof r, q->ratio);
    results_fmt_ratio(inv, sizeof inv, 1 / q->ratio);
    results_fmt_ratio(lo, sizeof lo, q->lo);
    results_fmt_ratio(hi, sizeof hi, q->hi);
    snprintf(pct, sizeof pct, q->ratio < 1e4 ? "%.1f" : "%.4g", (q->ratio - 1) * 100);
    if (q->ratio >= 1)
        buf_printf(out, "'%s' is %s%% slower than '%s' (%s the time", sb, pct, sa, r);
    else
        buf_printf(out, "'%s' is %s faster than '%s' (%.1f%% less time", sb, inv, sa,
                   (1 - q->ratio) * 100);
    results_fmt_interval(what, sizeof what, q);
    buf_printf(out, "; %s %s to %s", what, lo, hi);
    if (q->level < STATS_LEVEL)
        buf_printf(out, ", the range of all the ratios: too few %s for a 95%% interval", unit);
    buf_printf(out, "); %s: p = %.2g (Mann-Whitney U, %s, %zu vs %zu %s)",
               q->significant ? "significant" : "not significant", q->p,
               q->method == STATS_MWU_EXACT ? "exact" : "normal approximation", na, nb,
               per_process ? "process medians" : "values");
    /* the interval and the test agree at 95%; below, say why they may not */
    bool excludes = q->lo > 1 || q->hi < 1;
    if (!q->significant && q->method == STATS_MWU_EXACT && q->p_min >= 1 - STATS_LEVEL)
        buf_printf(out,
                   "; %zu vs %zu %s can never give p < 0.05 (at best p = %.2g): measure "
                   "more to tell",
                   na, nb, unit, q->p_min);
    else if (excludes != q->significant)
        buf_printf(out, "; the interval %s 1 although the test %s: too few %s to tell",
                   excludes ? "excludes" : "includes",
                   q->significant ? "rejects" : "does not reject", unit);
    buf_fini(&ea);
    buf_fini(&eb);
}

/* Comparison of benches[i] against benches[0] in words, appended to out. */
static int
describe_vs_first(const BenchRun *r, size_t i, Buf *out, Err *err)
{
    StatsRatio q;
    double *u;
    size_t na, nb;
    bool pa, pb;
    if (bench_compare(&r->benches[0], &r->benches[i], &q, err) < 0)
        return -1;
    if (bench_units(&r->benches[0], &u, &na, &pa, err) < 0)
        return -1;
    free(u);
    if (bench_units(&r->benches[i], &u, &nb, &pb, err) < 0)
        return -1;
    free(u);
    results_describe_ratio(out, r->benches[0].name, r->benches[i].name, &q, na, nb, pa && pb);
    return 0;
}

/* Warnings about one benchmark's values, numbered from 0; false when there are no more. */
static bool
bench_warning(const Bench *b, const StatsSummary *s, size_t idx, char *out, size_t n)
{
    size_t k = 0;
    char nm[BENCH_SHOWN_MAX];
    bench_shown(b->name, nm);
    double rel = s->mean > 0 ? s->stdev / s->mean : 0;
    if (rel > 0.10) {
        if (idx == k++)
            return snprintf(out, n,
                            "'%s' is unstable: the standard deviation is %.0f%% of the "
                            "mean; close other programs or give it more time (--budget)",
                            nm, rel * 100),
                   true;
    }
    size_t outl = s->outliers_low + s->outliers_high;
    if (s->n >= 10 && outl * 10 > s->n) {
        if (idx == k++)
            return snprintf(out, n, "'%s': %zu of %zu values are outliers (beyond 1.5 IQR)", nm,
                            outl, s->n),
                   true;
    }
    if (s->ci_level < STATS_LEVEL) {
        if (idx == k++)
            return snprintf(out, n,
                            "'%s': too few %s for a 95%% interval of the median "
                            "(the min-max range shown covers %.0f%%)",
                            nm, b->ngroups >= BENCH_MIN_GROUPS ? "processes" : "values",
                            s->ci_level * 100),
                   true;
    }
    return false;
}

bool
results_warning(const BenchRun *r, size_t idx, char *out, size_t n)
{
    for (size_t i = 0; i < r->n; i++) {
        StatsSummary s;
        Err err;
        if (bench_summary(&r->benches[i], &s, &err) < 0)
            continue;
        for (size_t k = 0;; k++) {
            if (!bench_warning(&r->benches[i], &s, k, out, n))
                break;
            if (idx-- == 0)
                return true;
        }
    }
    return false;
}

void
results_pad(Buf *o, const char *s, size_t width, bool right)
{
    size_t cols = 0;
    for (const char *p = s; *p; p++)
        cols += ((unsigned char)*p & 0xc0) != 0x80;
    if (right)
        for (size_t i = cols; i < width; i++)
            buf_putc(o, ' ');
    buf_puts(o, s);
    if (!right)
        for (size_t i = cols; i < width; i++)
            buf_putc(o, ' ');
}

int
results_text(const BenchRun *r, Buf *out, Err *err)
{
    size_t w = 9;
    for (size_t i = 0; i < r->n; i++) {
        size_t l = strlen(r->benches[i].name);
        if (l > w)
            w = l;
    }
    if (w > 48)
        w = 48;
    static const char *const head[] = {"median", "95% CI of the median", "MAD", "min", "values",
                                       "loops"};
    static const size_t widths[] = {11, 25, 11, 11, 9, 12};
    results_pad(out, "benchmark", w, false);
    for (size_t c = 0; c < 6; c++) {
        buf_puts(out, "  ");
        results_pad(out, head[c], widths[c], true);
    }
    buf_putc(out, '\n');
    for (size_t i = 0; i < r->n; i++) {
        const Bench *b = &r->benches[i];
        StatsSummary s;
        if (bench_summary(b, &s, err) < 0)
            return -1;
        char cells[6][72], lo[32], hi[32];
        results_fmt_time(cells[0], sizeof cells[0], s.median);
        results_fmt_time(lo, sizeof lo, s.ci_lo);
        results_fmt_time(hi, sizeof hi, s.ci_hi);
        snprintf(cells[1], sizeof cells[1], "%s - %s", lo, hi);
        results_fmt_time(cells[2], sizeof cells[2], s.mad);
        results_fmt_time(cells[3], sizeof cells[3], s.min);
        if (b->kind != BENCH_CMD && b->ngroups > 0)
            snprintf(cells[4], sizeof cells[4], "%zu×%zu", b->ngroups, b->nvalues / b->ngroups);
        else
            snprintf(cells[4], sizeof cells[4], "%zu", b->nvalues);
        snprintf(cells[5], sizeof cells[5], "%llu", (unsigned long long)b->loops);
        Buf name;
        buf_init(&name);
        size_t len = strlen(b->name);
        esc_text(&name, b->name, len > w ? w : len, 0);
        results_pad(out, name.data ? name.data : "", w, false);
        buf_fini(&name);
        for (size_t c = 0; c < 6; c++) {
            buf_puts(out, "  ");
            results_pad(out, cells[c], widths[c], true);
        }
        buf_putc(out, '\n');
    }
    for (size_t i = 1; i < r->n; i++) {
        buf_puts(out, "\n");
        if (describe_vs_first(r, i, out, err) < 0)
            return -1;
    }
    buf_puts(out, "\n");
    return buf_failed(out) ? err_set(err, ERR_NOMEM, "out of memory") : 0;
}

static void
json_str(Buf *b, const char *s)
{
    buf_putc(b, '"');
    if (s)
        esc_json(b, s, strlen(s));
    buf_putc(b, '"');
}

static void
json_num(Buf *b, double v)
{
    if (isfinite(v))
        buf_printf(b, "%.17g", v);
    else
        buf_puts(b, "null");
}

void
results_runs_json(const Bench *b, Buf *out)
{
    buf_putc(out, '[');
    size_t start = 0;
    for (size_t g = 0; g < b->ngroups; g++) {
        buf_puts(out, g ? ",[" : "[");
        for (size_t i = start; i < b->group_end[g]; i++) {
            if (i > start)
                buf_putc(out, ',');
            json_num(out, b->values[i]);
        }
        buf_putc(out, ']');
        start = b->group_end[g];
    }
    buf_putc(out, ']');
}

static void
json_env(Buf *o, const BenchEnv *e)
{
    buf_puts(o, "{\"cpu_model\": ");
    json_str(o, e->cpu_model);
    buf_printf(o, ", \"cores\": %d, \"load_avg_before\": [", e->cores);
    for (int i = 0; i < 3; i++) {
        buf_puts(o, i ? ", " : "");
        json_num(o, e->load_before[i]);
    }
    buf_puts(o, "], \"load_avg_after\": [");
    for (int i = 0; i < 3; i++) {
        buf_puts(o, i ? ", " : "");
        json_num(o, e->load_after[i]);
    }
    buf_puts(o, "], \"cpu_governor\": ");
    if (e->governor[0])
        json_str(o, e->governor);
    else
        buf_puts(o, "null");
    buf_printf(o, ", \"cpu_boost\": %s, \"kernel\": ",
               e->boost < 0 ? "null" : e->boost ? "true" : "false");
    json_str(o, e->kernel);
    buf_puts(o, ", \"hostname\": ");
    json_str(o, e->hostname);
    buf_puts(o, ", \"git_commit\": ");
    if (e->git_commit[0])
        json_str(o, e->git_commit);
    else
        buf_puts(o, "null");
    buf_puts(o, ", \"git_branch\": ");
    if (e->git_branch[0])
        json_str(o, e->git_branch);
    else
        buf_puts(o, "null");
    buf_printf(o, ", \"git_dirty\": %s, \"started_unix\": ",
               e->git_dirty < 0 ? "null" : e->git_dirty ? "true" : "false");
    json_num(o, e->started_unix);
    buf_puts(o, ", \"finished_unix\": ");
    json_num(o, e->finished_unix);
    buf_putc(o, '}');
}

int
results_json(const BenchRun *r, Buf *o, Err *err)
{
    buf_printf(o, "{\"schema\": %d, \"ferret\": ", RESULTS_SCHEMA);
    json_str(o, r->ferret_version);
    buf_puts(o, ", \"unit\": \"seconds per iteration\",\n \"env\": ");
    json_env(o, &r->env);
    buf_puts(o, ",\n \"benchmarks\": [");
    for (size_t i = 0; i < r->n; i++) {
        const Bench *b = &r->benches[i];
        StatsSummary s;
        if (bench_summary(b, &s, err) < 0)
            return -1;
        buf_puts(o, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
        json_str(o, b->name);
        buf_printf(o, ", \"kind\": \"%s\", \"code\": ", bench_kind_name(b->kind));
        json_str(o, b->code);
        buf_puts(o, ", \"setup\": ");
        if (b->setup)
            json_str(o, b->setup);
        else
            buf_puts(o, "null");
        buf_puts(o, ", \"file\": ");
        if (b->file)
            json_str(o, b->file);
        else
            buf_puts(o, "null");
        buf_puts(o, ", \"python\": ");
        if (b->python_exe || b->python)
            json_str(o, b->python_exe ? b->python_exe : b->python);
        else
            buf_puts(o, "null");
        buf_puts(o, ", \"python_version\": ");
        if (b->python_version)
            json_str(o, b->python_version);
        else
            buf_puts(o, "null");
        buf_printf(o, ",\n   \"loops\": %llu, \"n\": %zu, \"processes\": %zu",
                   (unsigned long long)b->loops, s.n, b->ngroups);
        static const char *names[] = {"mean", "median", "stdev", "mad", "min", "max",
                                      "p5",   "p25",    "p75",   "p95"};
        double vals[] = {s.mean, s.median, s.stdev, s.mad, s.min, s.max,
                         s.p5,   s.p25,    s.p75,   s.p95};
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            buf_printf(o, ", \"%s\": ", names[k]);
            json_num(o, vals[k]);
        }
        buf_puts(o, ",\n   \"median_ci95\": [");
        json_num(o, s.ci_lo);
        buf_puts(o, ", ");
        json_num(o, s.ci_hi);
        buf_printf(o, "], \"median_ci_level\": %.4f, \"outliers\": {\"low\": %zu, \"high\": %zu}",
                   s.ci_level, s.outliers_low, s.outliers_high);
        buf_puts(o, ", \"machine_seconds\": ");
        json_num(o, b->machine_s);
        buf_puts(o, ",\n   \"values\": [");
        for (size_t k = 0; k < b->nvalues; k++) {
            buf_puts(o, k ? ", " : "");
            json_num(o, b->values[k]);
        }
        buf_puts(o, "],\n   \"runs\": ");
        results_runs_json(b, o);
        if (b->profile_blob && b->profile_len) {
            buf_puts(o, ",\n   \"profile_ferret\": \"");
            base64_encode(o, b->profile_blob, b->profile_len);
            buf_putc(o, '"');
        }
        buf_puts(o, "}");
    }
    buf_puts(o, "],\n \"comparisons\": [");
    for (size_t i = 1; i < r->n; i++) {
        StatsRatio q;
        if (bench_compare(&r->benches[0], &r->benches[i], &q, err) < 0)
            return -1;
        buf_puts(o, i > 1 ? ",\n  {\"base\": " : "\n  {\"base\": ");
        json_str(o, r->benches[0].name);
        buf_puts(o, ", \"name\": ");
        json_str(o, r->benches[i].name);
        buf_puts(o, ", \"ratio\": ");
        json_num(o, q.ratio);
        buf_puts(o, ", \"ratio_ci95\": [");
        json_num(o, q.lo);
        buf_puts(o, ", ");
        json_num(o, q.hi);
        buf_printf(o, "], \"ratio_ci_level\": %.4f, \"p_value\": ", q.level);
        json_num(o, q.p);
        buf_printf(o, ", \"significant\": %s, \"test\": \"mann-whitney-u-%s\"}",
                   q.significant ? "true" : "false",
                   q.method == STATS_MWU_EXACT ? "exact" : "asymptotic");
    }
    buf_puts(o, "]}\n");
    return buf_failed(o) ? err_set(err, ERR_NOMEM, "out of memory") : 0;
}

void
results_md_cell(Buf *o, const char *s)
{
    Buf t;
    buf_init(&t);
    esc_html(&t, s, strlen(s));
    for (const char *p = t.data ? t.data : ""; *p; p++) {
        if (*p == '\n')
            buf_putc(o, ' ');
        else if (strchr("\\|`*_[]~", *p))
            buf_printf(o, "\\%c", *p);
        else
            buf_putc(o, *p);
    }
    buf_fini(&t);
}

int
results_markdown(const BenchRun *r, Buf *o, Err *err)
{
    buf_puts(o, "| benchmark | median | 95% CI of the median | MAD | min | values | vs first |\n"
                "|:---|---:|---:|---:|---:|---:|:---|\n");
    for (size_t i = 0; i < r->n; i++) {
        const Bench *b = &r->benches[i];
        StatsSummary s;
        if (bench_summary(b, &s, err) < 0)
            return -1;
        char med[32], lo[32], hi[32], mad[32], mn[32];
        results_fmt_time(med, sizeof med, s.median);
        results_fmt_time(lo, sizeof lo, s.ci_lo);
        results_fmt_time(hi, sizeof hi, s.ci_hi);
        results_fmt_time(mad, sizeof mad, s.mad);
        results_fmt_time(mn, sizeof mn, s.min);
        buf_puts(o, "| ");
        results_md_cell(o, b->name);
        buf_printf(o, " | %s | %s – %s | %s | %s | %zu | ", med, lo, hi, mad, mn, b->nvalues);
        if (i == 0) {
            buf_puts(o, "baseline");
        } else {
            StatsRatio q;
            if (bench_compare(&r->benches[0], b, &q, err) < 0)
                return -1;
            char ratio_x[32], lo_x[32], hi_x[32];
            results_fmt_ratio(ratio_x, sizeof ratio_x, q.ratio);
            results_fmt_ratio(lo_x, sizeof lo_x, q.lo);
            results_fmt_ratio(hi_x, sizeof hi_x, q.hi);
            buf_printf(o, "%s%s (%s – %s", q.significant ? "**" : "", ratio_x, lo_x, hi_x);
            char what[32];
            results_fmt_interval(what, sizeof what, &q);
            if (q.level < STATS_LEVEL)
                buf_printf(o, ", %s", what);
            buf_printf(o, ")%s", q.significant ? "**" : ", not significant");
        }
        buf_puts(o, " |\n");
    }
    return buf_failed(o) ? err_set(err, ERR_NOMEM, "out of memory") : 0;
}

static void
csv_field(Buf *o, const char *s)
{
    buf_putc(o, '"');
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '"')
            buf_putc(o, '"');
        buf_putc(o, *p);
    }
    buf_putc(o, '"');
}

int
results_csv(const BenchRun *r, Buf *o, Err *err)
{
    buf_puts(o, "name,kind,n,loops,median,mean,stdev,mad,min,max,p5,p25,p75,p95,median_ci95_low,"
                "median_ci95_high,ratio_vs_first,ratio_ci95_low,ratio_ci95_high,p_value,"
                "significant,ratio_ci_level\n");
    for (size_t i = 0; i < r->n; i++) {
        const Bench *b = &r->benches[i];
        StatsSummary s;
        if (bench_summary(b, &s, err) < 0)
            return -1;
        csv_field(o, b->name);
        buf_printf(o, ",%s,%zu,%llu", bench_kind_name(b->kind), s.n,
                   (unsigned long long)b->loops);
        double v[] = {s.median, s.mean, s.stdev, s.mad, s.min, s.max, s.p5, s.p25, s.p75, s.p95,
                      s.ci_lo, s.ci_hi};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            buf_printf(o, ",%.9g", v[k]);
        if (i == 0) {
            buf_puts(o, ",1,1,1,,,\n");
        } else {
            StatsRatio q;
            if (bench_compare(&r->benches[0], b, &q, err) < 0)
                return -1;
            buf_printf(o, ",%.6g,%.6g,%.6g,%.3g,%s,%.4f\n", q.ratio, q.lo, q.hi, q.p,
                       q.significant ? "true" : "false", q.level);
        }
    }
    return buf_failed(o) ? err_set(err, ERR_NOMEM, "out of memory") : 0;
}

static int
copy_str(const JsonVal *obj, const char *key, char **dst, Err *err)
{
    const JsonVal *v = jsonread_get_type(obj, key, JSON_STR);
    return v ? bench_set_str(dst, v->str, err) : 0;
}

/* One process's values: an array of positive finite numbers. Errors do not name the
 * benchmark: the caller does. */
static int
add_group(Bench *b, const JsonVal *arr, Err *err)
{
    if (!arr || arr->type != JSON_ARR)
        return err_set(err, ERR_FORMAT, "values must be arrays of numbers");
    if (bench_begin_group(b, err) < 0)
        return -1;
    for (size_t k = 0; k < arr->len; k++) {
        const JsonVal *v = &arr->items[k];
        if (v->type != JSON_NUM || !(v->num > 0) || !isfinite(v->num))
            return err_set(err, ERR_FORMAT, "value %zu is not a positive time", k + 1);
        if (v->num < RESULTS_MIN_S || v->num > RESULTS_MAX_S)
            return err_set(err, ERR_FORMAT,
                           "value %zu (%g s) is not a plausible time (ferret reads %g s to %g s)",
                           k + 1, v->num, RESULTS_MIN_S, RESULTS_MAX_S);
        if (bench_add_value(b, v->num, err) < 0)
            return -1;
    }
    bench_end_group(b);
    return 0;
}

static int
parse_runs_value(const JsonVal *runs, Bench *b, Err *err)
{
    if (runs->type != JSON_ARR)
        return err_set(err, ERR_FORMAT, "\"runs\" is not an array");
    for (size_t g = 0; g < runs->len; g++)
        if (add_group(b, &runs->items[g], err) < 0)
            return -1;
    return 0;
}

int
results_parse_runs(const char *text, size_t len, Bench *b, Err *err)
{
    JsonDoc doc;
    if (jsonread_parse(&doc, text, len, err) < 0)
        return -1;
    int rc = parse_runs_value(doc.root, b, err);
    jsonread_fini(&doc);
    return rc;
}

static int
parse_bench(const JsonVal *o, Bench *b, Err *err)
{
    const JsonVal *name = jsonread_get_type(o, "name", JSON_STR);
    if (!name || name->len == 0 || memchr(name->str, 0, name->len))
        return err_set(err, ERR_FORMAT, "a benchmark has no name");
    char nm[BENCH_SHOWN_MAX], kn[BENCH_SHOWN_MAX];
    bench_shown(name->str, nm);
    const JsonVal *kind = jsonread_get_type(o, "kind", JSON_STR);
    BenchKind k = BENCH_STMT;
    if (kind && bench_kind_parse(kind->str, &k) < 0) {
        bench_shown(kind->str, kn);
        return err_set(err, ERR_FORMAT, "benchmark '%s': unknown kind '%s'", nm, kn);
    }
    const JsonVal *code = jsonread_get_type(o, "code", JSON_STR);
    if (bench_init(b, k, name->str, code ? code->str : name->str, NULL, NULL, NULL, err) < 0)
        return -1;
    if (copy_str(o, "setup", &b->setup, err) < 0 || copy_str(o, "file", &b->file, err) < 0 ||
        copy_str(o, "python", &b->python_exe, err) < 0 ||
        copy_str(o, "python_version", &b->python_version, err) < 0)
        return -1;
    const JsonVal *loops = jsonread_get_type(o, "loops", JSON_NUM);
    if (loops && loops->num >= 1 && loops->num < 1e18)
        b->loops = (uint64_t)loops->num;
    const JsonVal *runs = jsonread_get(o, "runs");
    const JsonVal *values = jsonread_get(o, "values");
    if (runs ? parse_runs_value(runs, b, err) < 0 : add_group(b, values, err) < 0)
        return err_context(err, "benchmark '%s'", nm);
    if (b->nvalues == 0)
        return err_set(err, ERR_FORMAT, "benchmark '%s' has no values", nm);
    const JsonVal *prof = jsonread_get_type(o, "profile_ferret", JSON_STR);
    if (prof && prof->len) {
        uint8_t *bytes;
        size_t n;
        /* only the explanation needs it: the values and the verdict stand without it */
        Err perr;
        if (base64_decode(prof->str, prof->len, &bytes, &n, &perr) < 0)
            return bench_set_str(&b->profile_error, perr.msg, err);
        b->profile_blob = bytes;
        b->profile_len = n;
    }
    return 0;
}

int
results_parse_json(const char *text, size_t len, BenchRun *out, Err *err)
{
    JsonDoc doc;
    results_init(out);
    if (jsonread_parse(&doc, text, len, err) < 0)
        return -1;
    int rc = -1;
    const JsonVal *list = jsonread_get_type(doc.root, "benchmarks", JSON_ARR);
    if (!list) {
        err_set(err, ERR_FORMAT, "not a ferret bench result (no \"benchmarks\" list)");
        goto done;
    }
    const JsonVal *ver = jsonread_get_type(doc.root, "ferret", JSON_STR);
    if (ver && bench_set_str(&out->ferret_version, ver->str, err) < 0)
        goto done;
    const JsonVal *env = jsonread_get_type(doc.root, "env", JSON_OBJ);
    const JsonVal *commit = jsonread_get_type(env, "git_commit", JSON_STR);
    if (commit)
        snprintf(out->env.git_commit, sizeof out->env.git_commit, "%s", commit->str);
    const JsonVal *started = jsonread_get_type(env, "started_unix", JSON_NUM);
    if (started)
        out->env.started_unix = started->num;
    for (size_t i = 0; i < list->len; i++) {
        Bench b;
        memset(&b, 0, sizeof b);
        if (parse_bench(&list->items[i], &b, err) < 0) {
            bench_fini(&b);
            goto done;
        }
        if (results_find(out, b.name)) {
            char nm[BENCH_SHOWN_MAX];
            bench_shown(b.name, nm);
            err_set(err, ERR_FORMAT, "benchmark '%s' appears twice", nm);
            bench_fini(&b);
            goto done;
        }
        if (results_add(out, &b, err) < 0) {
            bench_fini(&b);
            goto done;
        }
    }
    if (out->n == 0) {
        err_set(err, ERR_FORMAT, "the result holds no benchmarks");
        goto done;
    }
    rc = 0;
done:
    jsonread_fini(&doc);
    if (rc < 0)
        results_fini(out);
    return rc;
}
