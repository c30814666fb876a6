/* SPDX-License-Identifier: MIT */
/* diff.c: matches two profiles' functions by (name, file), computes their shares, tests each
 * change (two-proportion z-test, Holm's correction; method in diff.h), builds the two-sided
 * call tree for the differential flame graphs, and renders the text table. */
#include "report/diff.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/hash.h"

#define DIFF_BLOCKS 32    /* batches for the variance of a share (block_variance) */
#define DIFF_BLOCK_MIN 20 /* fewer samples per batch than this: binomial variance only */

typedef struct {
    DiffFunc *funcs;
    size_t n, cap;
    IdSet set;
} Keys;

static bool
key_eq(const void *ctx, uint32_t id, const void *key)
{
    const DiffFunc *a = &((const Keys *)ctx)->funcs[id], *b = key;
    return a->name_len == b->name_len && a->file_len == b->file_len && a->kind == b->kind &&
           memcmp(a->name, b->name, a->name_len) == 0 && memcmp(a->file, b->file, a->file_len) == 0;
}

static int
key_of(Keys *k, const Profile *p, const FuncStat *fs, uint32_t *out, Err *err)
{
    DiffFunc d = {.name = profile_strp(p, fs->name), .name_len = profile_strlen(p, fs->name),
                  .file = profile_strp(p, fs->file), .file_len = profile_strlen(p, fs->file),
                  .kind = fs->kind, .fn_line = fs->fn_line};
    uint64_t h = hash_combine(hash_bytes(d.name, d.name_len), hash_bytes(d.file, d.file_len));
    h = hash_combine(h, d.kind);
    if (idset_find(&k->set, h, key_eq, k, &d, out))
        return 0;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        DiffFunc *f = realloc(k->funcs, cap * sizeof *f);
        if (!f)
            return err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        k->funcs = f;
        k->cap = cap;
    }
    if (idset_add(&k->set, h, (uint32_t)k->n) < 0)
        return err_set(err, ERR_NOMEM, "out of memory comparing profiles");
    k->funcs[k->n] = d;
    *out = (uint32_t)k->n++;
    return 0;
}

/* One side: summary, per-stack self weights, and the frame -> key map for the tree. */
static int
add_side(Diff *d, Keys *k, const Profile *p, const ReportOptions *opt, int side,
         uint32_t **frame_keys, Err *err)
{
    ProfFilter f;
    report_filter(opt, &f);
    size_t ns = profile_nstacks(p), nf = profile_nframes(p);
    int64_t *self = malloc(ns * sizeof *self);
    uint32_t *key_of_frame = malloc((nf ? nf : 1) * sizeof *key_of_frame);
    Summary sum = {0};
    int rc = -1;
    if (!self || !key_of_frame) {
        err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        goto done;
    }
    int64_t n = profile_self_weights(p, &f, self);
    if (summary_build_from_self(p, self, &sum, err) < 0)
        goto done;
    uint32_t *key_of_func = malloc((sum.nfuncs ? sum.nfuncs : 1) * sizeof *key_of_func);
    if (!key_of_func) {
        err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        goto done;
    }
    for (size_t i = 0; i < sum.nfuncs; i++) {
        if (key_of(k, p, &sum.funcs[i], &key_of_func[i], err) < 0) {
            free(key_of_func);
            goto done;
        }
        DiffFunc *df = &k->funcs[key_of_func[i]];
        if (side == 0) {
            df->base_self += sum.funcs[i].self;
            df->base_total += sum.funcs[i].total;
        } else {
            df->new_self += sum.funcs[i].self;
            df->new_total += sum.funcs[i].total;
            df->fn_line = sum.funcs[i].fn_line;
        }
    }
    for (FrameId fr = 0; fr < nf; fr++)
        key_of_frame[fr] = key_of_func[sum.func_of_frame[fr]];
    free(key_of_func);
    if (side == 0)
        d->base_n = n;
    else
        d->new_n = n;
    rc = flame_add(&d->tree, p, self, key_of_frame, side, err);
    if (rc == 0) {
        *frame_keys = key_of_frame;
        key_of_frame = NULL;
    }
done:
    summary_fini(&sum);
    free(self);
    free(key_of_frame);
    return rc;
}

/* Batch means (docs/REPORTS.md "ferret diff"): the side's matched samples, in recorded order,
 * cut into DIFF_BLOCKS blocks of equal sample count (n counts samples, not weight); a
 * key's share of a block is its weight there over the block's weight; var[key] = the sample variance of the key's
 * share across blocks divided by DIFF_BLOCKS, an estimate of the variance of its overall
 * share that holds when nearby samples are correlated. NaN when there are too few samples. */
static int
block_variance(const Profile *p, const ReportOptions *opt, const uint32_t *key_of_frame,
               size_t nkeys, int64_t n, double *var, Err *err)
{
    for (size_t i = 0; i < nkeys; i++)
        var[i] = NAN;
    if (n < DIFF_BLOCKS * DIFF_BLOCK_MIN)
        return 0;
    size_t ns = profile_nstacks(p);
    int64_t *self = calloc(ns, sizeof *self), *kcount = calloc(nkeys + 1, sizeof *kcount);
    uint32_t *touched = malloc(ns * sizeof *touched), *ktouched = malloc((nkeys + 1) * sizeof *ktouched);
    uint64_t *kstamp = calloc(nkeys + 1, sizeof *kstamp);
    double *sum1 = calloc(nkeys + 1, sizeof *sum1), *sum2 = calloc(nkeys + 1, sizeof *sum2);
    int rc = -1;
    if (!self || !kcount || !touched || !ktouched || !kstamp || !sum1 || !sum2) {
        err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        goto done;
    }
    ProfFilter f;
    report_filter(opt, &f);
    size_t nt = 0, nk = 0;
    int64_t m = 0, bw = 0; /* samples so far, weight in this block */
    uint64_t visit = 0;
    int b = 0;
    for (size_t i = 0; i < profile_nsamples(p) && b < DIFF_BLOCKS; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (!profile_filter_match(&f, &s))
            continue;
        if (self[s.stack] == 0)
            touched[nt++] = s.stack;
        self[s.stack] += s.weight;
        bw += s.weight;
        m++;
        if (m < n * (b + 1) / DIFF_BLOCKS)
            continue;
        /* end of block b: per-key totals (a key counts once per sample, as in summary.c) */
        for (size_t j = 0; j < nt; j++) {
            StackId st = touched[j];
            visit++;
            for (StackId x = st; x != PROFILE_ROOT; x = profile_stack_at(p, x)->parent) {
                uint32_t key = key_of_frame[profile_stack_at(p, x)->frame];
                if (kstamp[key] == visit)
                    continue;
                kstamp[key] = visit;
                if (kcount[key] == 0)
                    ktouched[nk++] = key;
                kcount[key] += self[st];
            }
            self[st] = 0;
        }
        double nb = bw > 0 ? (double)bw : 1;
        for (size_t j = 0; j < nk; j++) {
            double share = (double)kcount[ktouched[j]] / nb;
            sum1[ktouched[j]] += share;
            sum2[ktouched[j]] += share * share;
            kcount[ktouched[j]] = 0;
        }
        nt = nk = 0;
        bw = 0;
        b++;
    }
    for (size_t key = 0; key < nkeys; key++) {
        double mean = sum1[key] / DIFF_BLOCKS;
        double v = (sum2[key] - DIFF_BLOCKS * mean * mean) / (DIFF_BLOCKS - 1);
        var[key] = (v > 0 ? v : 0) / DIFF_BLOCKS;
    }
    rc = 0;
done:
    free(self);
    free(kcount);
    free(touched);
    free(ktouched);
    free(kstamp);
    free(sum1);
    free(sum2);
    return rc;
}

/* The effective number of independent samples behind a "samples" series (Kish's
 * (sum w)^2 / sum w^2: the sampler gives a late sample the weight of the intervals it stands
 * for), or 0 when the series does not count samples and no test applies. */
static double
effective_n(const Profile *p, const ReportOptions *opt, int64_t *records)
{
    *records = 0;
    if (!profile_nseries(p) || strcmp(profile_series_unit(p, opt->series), "samples") != 0)
        return 0;
    ProfFilter f;
    report_filter(opt, &f);
    double sw = 0, sw2 = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample x;
        profile_sample_at(p, i, &x);
        if (!profile_filter_match(&f, &x))
            continue;
        if (x.weight <= 0)
            return 0;
        sw += (double)x.weight;
        sw2 += (double)x.weight * (double)x.weight;
        (*records)++;
    }
    return sw2 > 0 ? sw * sw / sw2 : 0;
}

static double
share(int64_t x, int64_t n)
{
    return n > 0 ? (double)x / (double)n : 0.0;
}

/* Two-sided two-proportion z-test with pooled variance on shares p1 of n1 and p2 of n2
 * samples: z and its p-value. */
static void
two_proportion(double p1, double n1, double p2, double n2, double *z, double *p)
{
    double pool = (p1 * n1 + p2 * n2) / (n1 + n2);
    double se = sqrt(pool * (1 - pool) * (1.0 / n1 + 1.0 / n2));
    if (!(se > 0)) {
        *z = 0;
        *p = 1;
        return;
    }
    *z = (p2 - p1) / se;
    *p = erfc(fabs(*z) / sqrt(2.0));
}

/* Continued fraction of the regularized incomplete beta function (modified Lentz). */
static double
beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = fabs(d) < tiny ? tiny : d;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            d = fabs(d) < tiny ? tiny : d;
            c = 1 + num / c;
            c = fabs(c) < tiny ? tiny : c;
            d = 1 / d;
            h *= d * c;
            if (odd && fabs(d * c - 1) < 1e-15)
                return h;
        }
    }
    return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double
inc_beta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

/* Two-sided p-value of Student's t with df degrees of freedom (normal when df is infinite). */
static double
t_two_sided(double t, double df)
{
    if (!isfinite(df))
        return erfc(fabs(t) / sqrt(2.0));
    return inc_beta(df / 2, 0.5, df / (df + t * t));
}

static const DiffFunc *sort_funcs;

static int
cmp_p(const void *a, const void *b)
{
    double x = sort_funcs[*(const uint32_t *)a].p_value, y = sort_funcs[*(const uint32_t *)b].p_value;
    return x < y ? -1 : x > y;
}

static int
cmp_show(const void *a, const void *b)
{
    const DiffFunc *x = &sort_funcs[*(const uint32_t *)a], *y = &sort_funcs[*(const uint32_t *)b];
    if ((x->change != 0) != (y->change != 0))
        return x->change ? -1 : 1;
    double dx = fabs(x->delta), dy = fabs(y->delta);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Holm's step-down: sorted p-values p(1) <= ... <= p(m); adjusted p(i) = max over j <= i of
 * min(1, (m - j + 1) p(j)). */
static int
holm(DiffFunc *f, size_t n, size_t m, Err *err)
{
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return err_set(err, ERR_NOMEM, "out of memory comparing profiles");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(f[i].p_value))
            idx[k++] = (uint32_t)i;
    sort_funcs = f;
    qsort(idx, k, sizeof *idx, cmp_p);
    double run = 0;
    for (size_t j = 0; j < k; j++) {
        double a = (double)(m - j) * f[idx[j]].p_value;
        if (a > 1)
            a = 1;
        if (a > run)
            run = a;
        f[idx[j]].p_adjusted = run;
    }
    free(idx);
    return 0;
}

/* "a trace (wall_ns, in ns)": what a profile's compared series measures, for the message. */
static void
describe(const Profile *p, const ReportOptions *opt, char *out, size_t n)
{
    static const char *const kinds[] = {"a sampled profile", "a memory profile", "a trace"};
    ProfileKind kind = profile_info_c(p)->kind;
    const char *what = kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : "a profile";
    if (!profile_nseries(p))
        snprintf(out, n, "%s (no series)", what);
    else if (strcmp(profile_series_name(p, opt->series), profile_series_unit(p, opt->series)) == 0)
        snprintf(out, n, "%s (%s)", what, profile_series_unit(p, opt->series));
    else
        snprintf(out, n, "%s (%s, in %s)", what, profile_series_name(p, opt->series),
                 profile_series_unit(p, opt->series));
}

int
diff_build(const Profile *base, const ReportOptions *bopt, const Profile *new,
           const ReportOptions *nopt, double alpha, Diff *out, Err *err)
{
    memset(out, 0, sizeof *out);
    out->alpha = alpha > 0 ? alpha : 0.05;
    out->unit = profile_nseries(base) ? profile_series_unit(base, bopt->series) : "samples";
    const char *new_unit =
        profile_nseries(new) ? profile_series_unit(new, nopt->series) : "samples";
    if (strcmp(out->unit, new_unit) != 0) {
        /* shares of samples, of bytes and of nanoseconds are not shares of one thing */
        char b[160], n[160];
        describe(base, bopt, b, sizeof b);
        describe(new, nopt, n, sizeof n);
        return err_set(err, ERR_USAGE,
                       "the profiles measure different things: the base is %s, the new one %s; "
                       "compare two profiles of the same kind",
                       b, n);
    }
    if (strcmp(out->unit, "samples") == 0)
        out->sample_ns = profile_info_c(new)->interval_ns;
    Keys k = {0};
    idset_init(&k.set);
    uint32_t *order = NULL, *frame_keys[2] = {NULL, NULL};
    double *var[2] = {NULL, NULL};
    int rc = -1;
    if (flame_init(&out->tree, err) < 0 ||
        add_side(out, &k, base, bopt, 0, &frame_keys[0], err) < 0 ||
        add_side(out, &k, new, nopt, 1, &frame_keys[1], err) < 0)
        goto done;
    flame_fold(&out->tree);
    int64_t records[2];
    double neff[2] = {effective_n(base, bopt, &records[0]), effective_n(new, nopt, &records[1])};
    out->tested = out->base_n > 0 && out->new_n > 0 && neff[0] > 0 && neff[1] > 0;
    var[0] = malloc((k.n + 1) * sizeof *var[0]);
    var[1] = malloc((k.n + 1) * sizeof *var[1]);
    if (!var[0] || !var[1]) {
        err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        goto done;
    }
    if (out->tested &&
        (block_variance(base, bopt, frame_keys[0], k.n, records[0], var[0], err) < 0 ||
         block_variance(new, nopt, frame_keys[1], k.n, records[1], var[1], err) < 0))
        goto done;
    for (size_t i = 0; i < k.n; i++) {
        DiffFunc *f = &k.funcs[i];
        f->base_share = share(f->base_total, out->base_n);
        f->new_share = share(f->new_total, out->new_n);
        f->base_self_share = share(f->base_self, out->base_n);
        f->new_self_share = share(f->new_self, out->new_n);
        f->delta = f->new_share - f->base_share;
        f->z = f->p_value = f->p_adjusted = NAN;
        f->design_effect = 1;
        bool synthetic = f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS;
        if (out->tested && !synthetic && f->base_total + f->new_total > 0) {
            two_proportion(f->base_share, neff[0], f->new_share, neff[1], &f->z, &f->p_value);
            /* correlated samples: when the batch-means variance is the larger, a Welch t-test
             * on it (Welch-Satterthwaite degrees of freedom) replaces the binomial test */
            double vb = f->base_share * (1 - f->base_share) / neff[0];
            double vn = f->new_share * (1 - f->new_share) / neff[1];
            double v0 = isnan(var[0][i]) ? vb : var[0][i], v1 = isnan(var[1][i]) ? vn : var[1][i];
            if (vb + vn > 0 && v0 + v1 > vb + vn) {
                f->design_effect = (v0 + v1) / (vb + vn);
                double den = (isnan(var[0][i]) ? 0 : v0 * v0 / (DIFF_BLOCKS - 1)) +
                             (isnan(var[1][i]) ? 0 : v1 * v1 / (DIFF_BLOCKS - 1));
                double df = den > 0 ? (v0 + v1) * (v0 + v1) / den : INFINITY;
                f->z = f->delta / sqrt(v0 + v1);
                f->p_value = t_two_sided(f->z, df);
            }
            out->ntested++;
        }
    }
    if (holm(k.funcs, k.n, out->ntested, err) < 0)
        goto done;
    for (size_t i = 0; i < k.n; i++) {
        DiffFunc *f = &k.funcs[i];
        if (!isnan(f->p_adjusted) && f->p_adjusted < out->alpha && f->delta != 0) {
            f->change = f->delta > 0 ? 1 : -1;
            out->nsignificant++;
        }
    }
    /* sort for display; rank maps a key (tree node func) to its sorted position */
    order = malloc((k.n ? k.n : 1) * sizeof *order);
    out->rank = malloc((k.n ? k.n : 1) * sizeof *out->rank);
    out->funcs = malloc((k.n ? k.n : 1) * sizeof *out->funcs);
    if (!order || !out->rank || !out->funcs) {
        err_set(err, ERR_NOMEM, "out of memory comparing profiles");
        goto done;
    }
    for (size_t i = 0; i < k.n; i++)
        order[i] = (uint32_t)i;
    sort_funcs = k.funcs;
    qsort(order, k.n, sizeof *order, cmp_show);
    for (size_t i = 0; i < k.n; i++) {
        out->funcs[i] = k.funcs[order[i]];
        out->rank[order[i]] = (uint32_t)i;
    }
    out->n = k.n;
    rc = 0;
done:
    free(order);
    free(frame_keys[0]);
    free(frame_keys[1]);
    free(var[0]);
    free(var[1]);
    free(k.funcs);
    idset_fini(&k.set);
    if (rc < 0)
        diff_fini(out);
    return rc;
}

void
diff_fini(Diff *d)
{
    free(d->funcs);
    free(d->rank);
    flame_fini(&d->tree);
    memset(d, 0, sizeof *d);
}

const DiffFunc *
diff_func_of_node(const Diff *d, uint32_t node)
{
    return &d->funcs[d->rank[d->tree.nodes[node].func]];
}

static void
fmt_p(Buf *b, double p)
{
    if (isnan(p))
        buf_puts(b, "      -");
    else if (p < 0.0001)
        buf_puts(b, "<0.0001");
    else
        buf_printf(b, "%7.4f", p);
}

static int
diff_text(const Diff *d, const ReportOptions *opt, FILE *out, Err *err)
{
    Buf b;
    buf_init(&b);
    buf_printf(&b, "ferret diff: base %lld %s, new %lld %s\n", (long long)d->base_n, d->unit,
               (long long)d->new_n, d->unit);
    if (d->tested)
        buf_printf(&b,
                   "method: two-proportion z-test per function on its share of samples (incl. "
                   "callees),\n        widened for correlated samples (batch means), "
                   "Holm-corrected over %zu functions, alpha %.2g\n",
                   d->ntested, d->alpha);
    else
        buf_puts(&b, "method: shares only; the series does not count samples, so no "
                     "significance test\n");
    buf_puts(&b, "\n  base%    new%     change   self: base%  new%    p (adj)    function\n");
    int shown = 0;
    for (size_t i = 0; i < d->n && shown < opt->top; i++) {
        const DiffFunc *f = &d->funcs[i];
        if (f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS || f->delta == 0)
            continue;
        buf_printf(&b, "  %5.1f%%  %5.1f%%  %+6.1f pp     %5.1f%%  %5.1f%%  ", 100 * f->base_share,
                   100 * f->new_share, 100 * f->delta, 100 * f->base_self_share,
                   100 * f->new_self_share);
        fmt_p(&b, f->p_adjusted);
        buf_puts(&b, f->change > 0 ? " + " : f->change < 0 ? " - " : "   ");
        esc_text(&b, f->name, f->name_len, 0);
        if (f->kind == FRAME_PY && f->file_len) {
            buf_puts(&b, " (");
            esc_text(&b, f->file, f->file_len, 0);
            buf_printf(&b, ":%d)", (int)f->fn_line);
        }
        buf_putc(&b, '\n');
        shown++;
    }
    if (shown == 0)
        buf_puts(&b, "  (no function's share changed)\n");
    if (d->tested)
        buf_printf(&b,
                   "\n%zu function%s changed beyond sampling noise (+ grew, - shrank); the "
                   "others are within noise.\n",
                   d->nsignificant, d->nsignificant == 1 ? "" : "s");
    int rc = 0;
    if (buf_failed(&b))
        rc = err_set(err, ERR_NOMEM, "out of memory writing the diff");
    else if (fwrite(b.data, 1, b.len, out) != b.len)
        rc = err_sys(err, errno, "writing the diff");
    buf_fini(&b);
    return rc;
}

static void
diff_func(const void *ctx, uint32_t func, FlameFunc *out)
{
    const Diff *d = ctx;
    const DiffFunc *f = &d->funcs[d->rank[func]];
    *out = (FlameFunc){.name = f->name, .name_len = f->name_len, .file = f->file,
                       .file_len = f->file_len, .line = f->fn_line, .kind = f->kind};
}

void
diff_flame_view(const Diff *d, const ReportOptions *opt, FlameView *v)
{
    *v = (FlameView){.tree = &d->tree,
                     .side = 1,
                     .diff = true,
                     .grand = {d->base_n, d->new_n},
                     .unit = d->unit,
                     .sample_ns = d->sample_ns,
                     .title = opt->title,
                     .func = diff_func,
                     .ctx = d};
}

static int
diff_svg(const Diff *d, const ReportOptions *opt, FILE *out, Err *err)
{
    FlameView v;
    diff_flame_view(d, opt, &v);
    return flame_svg(&v, out, err);
}


static const DiffWriter diff_writers[] = {
    {"text", ".txt", diff_text},
    {"html", ".html", diff_html},
    {"svg", ".svg", diff_svg},
};

const DiffWriter *
diff_writer_find(const char *name)
{
    for (size_t i = 0; i < sizeof diff_writers / sizeof diff_writers[0]; i++)
        if (strcmp(diff_writers[i].name, name) == 0)
            return &diff_writers[i];
    return NULL;
}

const char *
diff_format_list(void)
{
    return "text, html, svg";
}

typedef struct {
    const DiffWriter *w;
    const Diff *d;
    const ReportOptions *opt;
} WriteCtx;

static int
write_cb(void *ctx, FILE *out, Err *err)
{
    WriteCtx *c = ctx;
    return c->w->write(c->d, c->opt, out, err);
}

int
diff_write_path(const DiffWriter *w, const Diff *d, const ReportOptions *opt, const char *path,
                Err *err)
{
    WriteCtx c = {w, d, opt};
    if (report_write_atomic(path, write_cb, &c, err) < 0) {
        char what[64];
        snprintf(what, sizeof what, "%s diff", w->name);
        return report_write_failed(err, what, path);
    }
    return 0;
}
