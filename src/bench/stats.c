/* SPDX-License-Identifier: MIT */
/* stats.c: summary statistics, the interval of the median, Mann-Whitney U and the
 * Hodges-Lehmann ratio. Pure: callers own every array; the only allocations are scratch
 * copies freed before returning. Reference values: tests/data/stats_ref.py (scipy). */
#include "bench/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void
stats_sort(double *x, size_t n)
{
    if (n > 1)
        qsort(x, n, sizeof *x, cmp_double);
}

double
stats_mean(const double *x, size_t n)
{
    /* two passes: the mean of the deviations from a first estimate keeps precision when the
     * values are large and close together (times in ns since some epoch, say) */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n, c = 0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

double
stats_stdev(const double *x, size_t n)
{
    if (n < 2)
        return 0;
    double m = stats_mean(x, n), ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    return sqrt(ss / (double)(n - 1));
}

double
stats_percentile_sorted(const double *sorted, size_t n, double pct)
{
    double h = (double)(n - 1) * pct / 100.0;
    size_t i = (size_t)floor(h);
    if (i >= n - 1)
        return sorted[n - 1];
    double frac = h - (double)i;
    return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

double
stats_median_sorted(const double *sorted, size_t n)
{
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

double
stats_mad_sorted(const double *sorted, size_t n, double *scratch)
{
    double med = stats_median_sorted(sorted, n);
    for (size_t i = 0; i < n; i++)
        scratch[i] = fabs(sorted[i] - med);
    stats_sort(scratch, n);
    return stats_median_sorted(scratch, n);
}

/* log of the Binomial(n, 1/2) probability of exactly j */
static double
log_binom_half_pmf(size_t j, size_t n)
{
    return lgamma((double)n + 1) - lgamma((double)j + 1) - lgamma((double)(n - j) + 1) -
           (double)n * log(2.0);
}

double
stats_binom_half_cdf(size_t k, size_t n)
{
    if (k >= n)
        return 1.0;
    double s = 0;
    for (size_t j = 0; j <= k; j++)
        s += exp(log_binom_half_pmf(j, n));
    return s < 1.0 ? s : 1.0;
}

void
stats_median_ci_sorted(const double *sorted, size_t n, double level, double *lo, double *hi,
                       double *coverage)
{
    double tail = (1 - level) / 2;
    /* l is 1-based: the largest l with P(B <= l - 1) <= tail. cdf grows with l, so walk up. */
    size_t l = 0;
    double cdf = 0, cdf_at_l = 0;
    for (size_t j = 0; j < (n + 1) / 2; j++) {
        cdf += exp(log_binom_half_pmf(j, n)); /* P(B <= j) */
        if (cdf > tail)
            break;
        l = j + 1;
        cdf_at_l = cdf;
    }
    if (l == 0) {
        *lo = sorted[0];
        *hi = sorted[n - 1];
        /* [x(1), x(n)] covers the median with probability 1 - 2 P(B = 0) */
        *coverage = 1 - 2 * exp(log_binom_half_pmf(0, n));
        return;
    }
    *lo = sorted[l - 1];
    *hi = sorted[n - l];
    *coverage = 1 - 2 * cdf_at_l;
}

double
stats_norm_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

double
stats_norm_quantile(double p)
{
    /* bisection: slow-ish but exact to the last bit and obviously right; called a few times
     * per comparison */
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (mid <= lo || mid >= hi)
            break;
        if (stats_norm_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

static bool
all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

int
stats_summarize(const double *x, size_t n, StatsSummary *out, Err *err)
{
    if (n == 0)
        return err_set(err, ERR_USAGE, "no values to summarise");
    if (!all_finite(x, n))
        return err_set(err, ERR_USAGE, "a value is not a finite number");
    double *s = malloc(2 * n * sizeof *s);
    if (!s)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(s, x, n * sizeof *s);
    stats_sort(s, n);
    memset(out, 0, sizeof *out);
    out->n = n;
    out->mean = stats_mean(x, n);
    out->stdev = stats_stdev(x, n);
    out->median = stats_median_sorted(s, n);
    out->mad = stats_mad_sorted(s, n, s + n);
    out->min = s[0];
    out->max = s[n - 1];
    out->p5 = stats_percentile_sorted(s, n, 5);
    out->p25 = stats_percentile_sorted(s, n, 25);
    out->p75 = stats_percentile_sorted(s, n, 75);
    out->p95 = stats_percentile_sorted(s, n, 95);
    stats_median_ci_sorted(s, n, STATS_LEVEL, &out->ci_lo, &out->ci_hi, &out->ci_level);
    double iqr = out->p75 - out->p25;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < out->p25 - 1.5 * iqr)
            out->outliers_low++;
        else if (s[i] > out->p75 + 1.5 * iqr)
            out->outliers_high++;
    }
    free(s);
    return 0;
}

typedef struct {
    double v;
    int from_a;
} Tagged;

static int
cmp_tagged(const void *x, const void *y)
{
    const Tagged *a = x, *b = y;
    return (a->v > b->v) - (a->v < b->v);
}

/* U1 (first sample), with midranks for ties; *tie_term = sum over tie groups of t^3 - t. */
static int
mwu_statistic(const double *a, size_t na, const double *b, size_t nb, double *u1,
              double *tie_term, Err *err)
{
    size_t n = na + nb;
    Tagged *t = malloc(n * sizeof *t);
    if (!t)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < na; i++)
        t[i] = (Tagged){a[i], 1};
    for (size_t i = 0; i < nb; i++)
        t[na + i] = (Tagged){b[i], 0};
    qsort(t, n, sizeof *t, cmp_tagged);
    double rank_sum_a = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j].v == t[i].v)
            j++;
        double midrank = ((double)i + 1 + (double)j) / 2; /* ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            if (t[k].from_a)
                rank_sum_a += midrank;
        double g = (double)(j - i);
        ties += g * g * g - g;
        i = j;
    }
    free(t);
    *u1 = rank_sum_a - (double)na * ((double)na + 1) / 2;
    *tie_term = ties;
    return 0;
}

/* Null distribution of U for sizes (m, n) without ties: counts[u] = number of arrangements
 * with U = u, u in [0, m n]. These are the coefficients of the Gaussian binomial
 * [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built factor by factor; after
 * factor i the polynomial is [n+i choose i]_q, whose coefficients are at most C(m+n, m), which
 * fits in int64 for m + n <= 60 (C(60,30) ~ 1.2e17). */
static int
mwu_exact_counts(size_t m, size_t n, int64_t **out, Err *err)
{
    size_t deg = m * n;
    int64_t *c = calloc(deg + 1, sizeof *c);
    if (!c)
        return err_set(err, ERR_NOMEM, "out of memory");
    c[0] = 1;
    for (size_t i = 1; i <= m; i++) {
        size_t shift = n + i;
        for (size_t k = deg; k >= shift; k--) /* times (1 - q^shift) */
            c[k] -= c[k - shift];
        for (size_t k = i; k <= deg; k++) /* divided by (1 - q^i) */
            c[k] += c[k - i];
    }
    *out = c;
    return 0;
}

/* Two-sided exact p-value for U1 (symmetric null): 2 P(U <= min(U1, mn - U1)), at most 1. */
static int
mwu_exact_p(size_t m, size_t n, double u1, double *p, Err *err)
{
    int64_t *c;
    if (mwu_exact_counts(m, n, &c, err) < 0)
        return -1;
    double mn = (double)m * (double)n;
    double umin = fmin(u1, mn - u1);
    double below = 0, total = 0;
    for (size_t u = 0; u <= m * n; u++) {
        total += (double)c[u];
        if ((double)u <= umin + 1e-9)
            below += (double)c[u];
    }
    free(c);
    *p = fmin(1.0, 2 * below / total);
    return 0;
}

static double
mwu_sigma(size_t na, size_t nb, double tie_term)
{
    double n = (double)(na + nb);
    return sqrt((double)na * (double)nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1))));
}

int
stats_mann_whitney_method(const double *a, size_t na, const double *b, size_t nb,
                          StatsMwuMethod method, StatsMwu *out, Err *err)
{
    if (na == 0 || nb == 0)
        return err_set(err, ERR_USAGE, "Mann-Whitney U needs two non-empty samples");
    if (method == STATS_MWU_EXACT && na + nb > STATS_MWU_EXACT_MAX)
        return err_set(err, ERR_USAGE, "exact Mann-Whitney U is limited to %d values",
                       STATS_MWU_EXACT_MAX);
    double u1 = 0, tie_term = 0;
    if (mwu_statistic(a, na, b, nb, &u1, &tie_term, err) < 0)
        return -1;
    out->u = u1;
    out->method = method;
    if (method == STATS_MWU_EXACT)
        return mwu_exact_p(na, nb, u1, &out->p, err);
    double mn = (double)na * (double)nb;
    double mu = mn / 2, sigma = mwu_sigma(na, nb, tie_term);
    double umax = fmax(u1, mn - u1);
    if (sigma <= 0) { /* every value tied: no evidence of a difference */
        out->p = 1;
        return 0;
    }
    double z = (umax - mu - 0.5) / sigma;
    out->p = fmin(1.0, 2 * stats_norm_cdf(-z));
    return 0;
}

static bool
has_ties(const double *a, size_t na, const double *b, size_t nb, Err *err, int *failed)
{
    size_t n = na + nb;
    double *s = malloc(n * sizeof *s);
    *failed = 0;
    if (!s) {
        *failed = err_set(err, ERR_NOMEM, "out of memory");
        return false;
    }
    memcpy(s, a, na * sizeof *s);
    memcpy(s + na, b, nb * sizeof *s);
    stats_sort(s, n);
    bool tie = false;
    for (size_t i = 1; i < n && !tie; i++)
        tie = s[i] == s[i - 1];
    free(s);
    return tie;
}

static int
auto_method(const double *a, size_t na, const double *b, size_t nb, StatsMwuMethod *m, Err *err)
{
    int failed;
    bool tie = has_ties(a, na, b, nb, err, &failed);
    if (failed)
        return -1;
    *m = !tie && na + nb <= STATS_MWU_EXACT_MAX ? STATS_MWU_EXACT : STATS_MWU_ASYMPTOTIC;
    return 0;
}

int
stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, StatsMwu *out,
                   Err *err)
{
    StatsMwuMethod m;
    if (na == 0 || nb == 0)
        return err_set(err, ERR_USAGE, "Mann-Whitney U needs two non-empty samples");
    if (auto_method(a, na, b, nb, &m, err) < 0)
        return -1;
    return stats_mann_whitney_method(a, na, b, nb, m, out, err);
}

/* Sum over groups of equal values of t^3 - t; x sorted. */
static double
tie_term_sorted(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && x[j] == x[i])
            j++;
        double g = (double)(j - i);
        s += g * g * g - g;
        i = j;
    }
    return s;
}

/* Number of pairwise differences y[j] - x[i] <= d; x and y sorted ascending. */
static size_t
count_diffs_le(const double *x, size_t nx, const double *y, size_t ny, double d)
{
    size_t count = 0, j = 0;
    /* as x[i] grows, the number of y[j] <= x[i] + d grows: one pointer sweep */
    for (size_t i = 0; i < nx; i++) {
        while (j < ny && y[j] - x[i] <= d)
            j++;
        count += j;
    }
    return count;
}

/* The k-th smallest (1-based) of the nx*ny differences y[j] - x[i], without building them:
 * bisection on the value, then the largest difference not above the bound found. */
static double
kth_diff(const double *x, size_t nx, const double *y, size_t ny, size_t k)
{
    double lo = y[0] - x[nx - 1], hi = y[ny - 1] - x[0];
    if (count_diffs_le(x, nx, y, ny, lo) >= k)
        return lo;
    for (int it = 0; it < 300; it++) { /* invariant: count(lo) < k <= count(hi) */
        double mid = lo + (hi - lo) / 2;
        if (mid <= lo || mid >= hi)
            break;
        if (count_diffs_le(x, nx, y, ny, mid) >= k)
            hi = mid;
        else
            lo = mid;
    }
    double best = lo;
    size_t j = 0;
    for (size_t i = 0; i < nx; i++) { /* largest y[j] - x[i] <= hi; as x[i] grows so does j */
        while (j < ny && y[j] - x[i] <= hi)
            j++;
        if (j > 0 && y[j - 1] - x[i] > best)
            best = y[j - 1] - x[i];
    }
    return best;
}

int
stats_ratio(const double *a, size_t na, const double *b, size_t nb, StatsRatio *out, Err *err)
{
    if (na == 0 || nb == 0)
        return err_set(err, ERR_USAGE, "a comparison needs two non-empty samples");
    for (size_t i = 0; i < na + nb; i++) {
        double v = i < na ? a[i] : b[i - na];
        if (!(v > 0) || !isfinite(v))
            return err_set(err, ERR_USAGE, "a time is not a positive number (%g)", v);
    }
    double *la = malloc((na + nb) * sizeof *la);
    if (!la)
        return err_set(err, ERR_NOMEM, "out of memory");
    double *lb = la + na;
    for (size_t i = 0; i < na; i++)
        la[i] = log(a[i]);
    for (size_t i = 0; i < nb; i++)
        lb[i] = log(b[i]);
    stats_sort(la, na);
    stats_sort(lb, nb);
    StatsMwu mw;
    int rc = -1;
    if (stats_mann_whitney(la, na, lb, nb, &mw, err) < 0)
        goto done;
    size_t nn = na * nb;
    /* Hodges-Lehmann: median of the differences lb[j] - la[i] */
    double est = nn % 2 ? kth_diff(la, na, lb, nb, nn / 2 + 1)
                        : (kth_diff(la, na, lb, nb, nn / 2) + kth_diff(la, na, lb, nb, nn / 2 + 1)) / 2;
    /* Interval: shifts d for which the test of (a + d) against b accepts at STATS_LEVEL.
     * With m = #{differences <= d}, U = nn - m (away from ties), so the accepted m form a
     * range [m_lo, m_hi] and the interval is [D(m_lo), D(m_hi + 1)]. */
    double alpha = 1 - STATS_LEVEL;
    /* C(na + nb, na) arrangements, equally likely under the null; U = 0 is one of them */
    double arrangements = 1;
    for (size_t i = 1; i <= na; i++)
        arrangements = arrangements * (double)(nb + i) / (double)i;
    int64_t *c = NULL;
    double total = 0;
    size_t m_lo, m_hi;
    if (mw.method == STATS_MWU_EXACT) {
        if (mwu_exact_counts(na, nb, &c, err) < 0)
            goto done;
        double cum = 0;
        for (size_t u = 0; u <= nn; u++)
            total += (double)c[u];
        size_t ustar = 0; /* smallest u with P(U <= u) >= alpha / 2 */
        for (size_t u = 0; u <= nn; u++) {
            cum += (double)c[u];
            if (2 * cum / total >= alpha - 1e-12) {
                ustar = u;
                break;
            }
        }
        m_lo = ustar;
        m_hi = nn - ustar;
    } else {
        /* away from the pairwise differences only ties inside a sample remain */
        double z = stats_norm_quantile(1 - alpha / 2);
        double sigma = mwu_sigma(na, nb, tie_term_sorted(la, na) + tie_term_sorted(lb, nb));
        double half = z * sigma + 0.5;
        double lo = ceil((double)nn / 2 - half), hi = floor((double)nn / 2 + half);
        m_lo = lo < 0 ? 0 : (size_t)lo;
        m_hi = hi > (double)nn ? nn : (size_t)hi;
    }
    /* m_lo = 0: no shift at all is rejected at these sizes (the interval at STATS_LEVEL is
     * unbounded); the range of the differences is shown instead, with its own coverage */
    size_t k_lo = m_lo < 1 ? 1 : m_lo;
    size_t k_hi = m_hi + 1 > nn ? nn : m_hi + 1;
    /* [D(k), D(nn + 1 - k)] covers the true shift with probability 1 - 2 P(U <= k - 1) */
    if (c) {
        double below = 0;
        for (size_t u = 0; u < k_lo; u++)
            below += (double)c[u];
        out->level = 1 - 2 * below / total;
        free(c);
    } else {
        out->level = m_lo < 1 ? 1 - 2 / arrangements : STATS_LEVEL;
    }
    out->p_min = fmin(1.0, 2 / arrangements);
    out->ratio = exp(est);
    out->lo = exp(kth_diff(la, na, lb, nb, k_lo));
    out->hi = exp(kth_diff(la, na, lb, nb, k_hi));
    out->p = mw.p;
    out->method = mw.method;
    out->significant = mw.p < alpha;
    rc = 0;
done:
    free(la);
    return rc;
}
