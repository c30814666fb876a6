/* SPDX-License-Identifier: MIT */
/* trend.c: change points and the plot for `ferret history`. */
#include "bench/trend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/results.h"
#include "util/escape.h"

#define TREND_P 0.01

double
trend_noise(const TrendPoint *p, size_t n)
{
    if (n < 5) /* fewer than four steps say nothing about run-to-run noise */
        return 0;
    double *d = malloc((n - 1) * sizeof *d);
    if (!d)
        return 0;
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].median > 0 && p[i - 1].median > 0)
            d[k++] = log(p[i].median / p[i - 1].median);
    double noise = 0;
    if (k >= 2) {
        double *scratch = malloc(k * sizeof *scratch);
        if (scratch) {
            stats_sort(d, k);
            noise = 1.4826 * stats_mad_sorted(d, k, scratch);
            free(scratch);
        }
    }
    free(d);
    return exp(noise) - 1;
}

int
trend_analyse(const Bench *const *benches, size_t n, double threshold, TrendPoint *points,
              Err *err)
{
    for (size_t i = 0; i < n; i++) {
        StatsSummary s;
        TrendPoint *p = &points[i];
        const char *label = p->label;
        memset(p, 0, sizeof *p);
        p->label = label;
        if (bench_summary(benches[i], &s, err) < 0)
            return -1;
        p->median = s.median;
        p->ci_lo = s.ci_lo;
        p->ci_hi = s.ci_hi;
        if (i > 0) {
            if (bench_compare(benches[i - 1], benches[i], &p->step, err) < 0)
                return -1;
            p->has_step = true;
        }
    }
    double noise = trend_noise(points, n);
    double bar = threshold > 3 * noise ? threshold : 3 * noise;
    for (size_t i = 1; i < n; i++) {
        TrendPoint *p = &points[i];
        double moved = fabs(log(p->step.ratio));
        p->change = p->step.p < TREND_P && moved > log(1 + bar);
    }
    return 0;
}

void
trend_svg(Buf *o, const char *title, const TrendPoint *p, size_t n)
{
    const double W = 760, H = 320, L = 80, R = 20, T = 40, B = 70;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, fmin(p[i].ci_lo, p[i].median));
        hi = fmax(hi, fmax(p[i].ci_hi, p[i].median));
    }
    if (!(hi > lo)) {
        lo = lo * 0.9;
        hi = hi * 1.1 + 1e-12;
    }
    double pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    if (lo < 0)
        lo = 0;
#define X(i) (L + (n > 1 ? (double)(i) * (W - L - R) / (double)(n - 1) : (W - L - R) / 2))
#define Y(v) (T + (hi - (v)) / (hi - lo) * (H - T - B))
    buf_printf(o,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%.0f\" y=\"22\" font-size=\"14\">",
               W, H, W, H, L);
    esc_html(o, title, strlen(title));
    buf_puts(o, "</text>\n");
    for (int k = 0; k <= 4; k++) { /* y grid and labels */
        double v = lo + (hi - lo) * k / 4;
        char lab[32];
        results_fmt_time(lab, sizeof lab, v);
        buf_printf(o,
                   "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                   L, W - R, Y(v), Y(v), L - 6, Y(v) + 4, lab);
    }
    if (n > 1) {
        buf_puts(o, "<polyline fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\" points=\"");
        for (size_t i = 0; i < n; i++)
            buf_printf(o, "%s%.1f,%.1f", i ? " " : "", X(i), Y(p[i].median));
        buf_puts(o, "\"/>\n");
    }
    size_t every = n > 20 ? (n + 19) / 20 : 1;
    for (size_t i = 0; i < n; i++) {
        const char *col = p[i].change ? "#d22" : "#36c";
        buf_printf(o,
                   "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                   "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"><title>",
                   X(i), X(i), Y(p[i].ci_lo), Y(p[i].ci_hi), col, X(i), Y(p[i].median),
                   p[i].change ? 5 : 3, col);
        char med[32];
        results_fmt_time(med, sizeof med, p[i].median);
        esc_html(o, p[i].label, strlen(p[i].label));
        buf_printf(o, ": %s%s</title></circle>\n", med, p[i].change ? " (change point)" : "");
        if (i % every == 0) {
            buf_printf(o,
                       "<text transform=\"translate(%.1f,%.1f) rotate(-40)\" "
                       "text-anchor=\"end\">",
                       X(i) + 3, H - B + 14);
            esc_html(o, p[i].label, strlen(p[i].label));
            buf_puts(o, "</text>\n");
        }
    }
    buf_puts(o, "</svg>\n");
#undef X
#undef Y
}
