/* SPDX-License-Identifier: MIT */
/* bench.c: the Bench value: construction, appending measurements, and the statistics every
 * consumer (text table, JSON, history, compare) takes from it, so they all agree. */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/escape.h"

static const char *const kind_names[] = {
#define X(sym, name) name,
    BENCH_KINDS(X)
#undef X
};

const char *
bench_kind_name(BenchKind k)
{
    return kind_names[k];
}

int
bench_kind_parse(const char *s, BenchKind *out)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
        if (strcmp(kind_names[i], s) == 0) {
            *out = (BenchKind)i;
            return 0;
        }
    }
    return -1;
}

void
bench_shown(const char *name, char out[BENCH_SHOWN_MAX])
{
    size_t len = strlen(name), at = utf8_prefix(name, len, BENCH_SHOWN_CHARS);
    Buf b;
    buf_init(&b);
    esc_text(&b, name, at, 0);
    /* at most 4 bytes (\xNN) for each of BENCH_SHOWN_CHARS characters, then "..." */
    snprintf(out, BENCH_SHOWN_MAX, "%s%s", b.data ? b.data : "", at < len ? "..." : "");
    buf_fini(&b);
}

int
bench_set_str(char **field, const char *s, Err *err)
{
    char *c = NULL;
    if (s && !(c = strdup(s)))
        return err_set(err, ERR_NOMEM, "out of memory");
    free(*field);
    *field = c;
    return 0;
}

int
bench_init(Bench *b, BenchKind kind, const char *name, const char *code, const char *setup,
           const char *file, const char *python, Err *err)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->loops = 1;
    if (bench_set_str(&b->name, name, err) < 0 || bench_set_str(&b->code, code, err) < 0 ||
        bench_set_str(&b->setup, setup, err) < 0 || bench_set_str(&b->file, file, err) < 0 ||
        bench_set_str(&b->python, python, err) < 0) {
        bench_fini(b);
        return -1;
    }
    return 0;
}

void
bench_fini(Bench *b)
{
    free(b->name);
    free(b->code);
    free(b->setup);
    free(b->file);
    free(b->python);
    free(b->python_version);
    free(b->python_exe);
    free(b->values);
    free(b->group_end);
    free(b->error_detail);
    free(b->profile_blob);
    free(b->profile_error);
    memset(b, 0, sizeof *b);
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem, Err *err)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return err_set(err, ERR_NOMEM, "out of memory");
    *p = q;
    *cap = n;
    return 0;
}

int
bench_begin_group(Bench *b, Err *err)
{
    if (grow((void **)&b->group_end, &b->cap_groups, b->ngroups + 1, sizeof *b->group_end, err) < 0)
        return -1;
    b->group_end[b->ngroups++] = b->nvalues;
    return 0;
}

int
bench_add_value(Bench *b, double seconds, Err *err)
{
    if (b->ngroups == 0 && bench_begin_group(b, err) < 0)
        return -1;
    if (grow((void **)&b->values, &b->cap_values, b->nvalues + 1, sizeof *b->values, err) < 0)
        return -1;
    b->values[b->nvalues++] = seconds;
    b->group_end[b->ngroups - 1] = b->nvalues;
    return 0;
}

void
bench_end_group(Bench *b)
{
    size_t start = b->ngroups > 1 ? b->group_end[b->ngroups - 2] : 0;
    if (b->ngroups > 0 && b->group_end[b->ngroups - 1] == start)
        b->ngroups--;
}

int
bench_units(const Bench *b, double **out, size_t *n, bool *per_process, Err *err)
{
    char nm[BENCH_SHOWN_MAX];
    if (b->nvalues == 0) {
        bench_shown(b->name, nm);
        return err_set(err, ERR_USAGE, "benchmark '%s' has no values", nm);
    }
    bool groups = b->ngroups >= BENCH_MIN_GROUPS && b->ngroups < b->nvalues;
    size_t count = groups ? b->ngroups : b->nvalues;
    double *u = malloc(count * sizeof *u);
    double *tmp = malloc(b->nvalues * sizeof *tmp);
    if (!u || !tmp) {
        free(u);
        free(tmp);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (!groups) {
        memcpy(u, b->values, count * sizeof *u);
    } else {
        size_t start = 0, k = 0;
        for (size_t g = 0; g < b->ngroups; g++) {
            size_t end = b->group_end[g];
            if (end > start) {
                memcpy(tmp, b->values + start, (end - start) * sizeof *tmp);
                stats_sort(tmp, end - start);
                u[k++] = stats_median_sorted(tmp, end - start);
            }
            start = end;
        }
        count = k;
    }
    free(tmp);
    *out = u;
    *n = count;
    if (per_process)
        *per_process = groups;
    return 0;
}

int
bench_summary(const Bench *b, StatsSummary *s, Err *err)
{
    if (stats_summarize(b->values, b->nvalues, s, err) < 0) {
        char nm[BENCH_SHOWN_MAX];
        bench_shown(b->name, nm);
        return err_context(err, "benchmark '%s'", nm);
    }
    double *u;
    size_t n;
    bool per_process;
    if (bench_units(b, &u, &n, &per_process, err) < 0)
        return -1;
    if (per_process) {
        stats_sort(u, n);
        stats_median_ci_sorted(u, n, STATS_LEVEL, &s->ci_lo, &s->ci_hi, &s->ci_level);
    }
    free(u);
    return 0;
}

int
bench_compare(const Bench *base, const Bench *b, StatsRatio *r, Err *err)
{
    double *ua = NULL, *ub = NULL;
    size_t na, nb;
    int rc = -1;
    if (bench_units(base, &ua, &na, NULL, err) < 0 || bench_units(b, &ub, &nb, NULL, err) < 0)
        goto done;
    if (stats_ratio(ua, na, ub, nb, r, err) < 0) {
        char shown_b[BENCH_SHOWN_MAX], shown_base[BENCH_SHOWN_MAX];
        bench_shown(b->name, shown_b);
        bench_shown(base->name, shown_base);
        err_context(err, "comparing '%s' with '%s'", shown_b, shown_base);
        goto done;
    }
    rc = 0;
done:
    free(ua);
    free(ub);
    return rc;
}
