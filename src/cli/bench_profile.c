/* SPDX-License-Identifier: MIT */
/* bench_profile.c: the sampling thread for `ferret bench --profile` and the per-function
 * explanation `ferret compare` prints. */
#include "cli/bench_profile.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/results.h"
#include "profile/ffile.h"
#include "profile/profile.h"
#include "report/diff.h"
#include "report/report.h"
#include "sampler/sampler.h"
#include "util/escape.h"

struct BenchProfiler {
    Profile **profiles; /* one per benchmark; owned */
    bool *cmd;          /* which benchmarks are commands */
    size_t n;
    /* the sampling thread: started by the hook with pid > 0, joined with pid 0; while it
     * runs only it touches `sampler` and the profile being filled */
    pthread_t thread;
    int running;
    volatile sig_atomic_t stop; /* set by the main thread, then joined */
    Sampler *sampler;
    Err thread_err;
    int thread_rc;
};

BenchProfiler *
bench_profiler_new(const Bench *benches, size_t n, Err *err)
{
    BenchProfiler *bp = calloc(1, sizeof *bp);
    if (bp) {
        bp->profiles = calloc(n ? n : 1, sizeof *bp->profiles);
        bp->cmd = calloc(n ? n : 1, sizeof *bp->cmd);
    }
    if (!bp || !bp->profiles || !bp->cmd) {
        if (bp) {
            free(bp->profiles);
            free(bp->cmd);
        }
        free(bp);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    bp->n = n;
    for (size_t i = 0; i < n; i++)
        bp->cmd[i] = benches[i].kind == BENCH_CMD;
    return bp;
}

static void
stop_thread(BenchProfiler *bp)
{
    if (bp->running) {
        bp->stop = 1;
        pthread_join(bp->thread, NULL);
        bp->running = 0;
    }
    sampler_free(bp->sampler);
    bp->sampler = NULL;
}

void
bench_profiler_free(BenchProfiler *bp)
{
    if (!bp)
        return;
    stop_thread(bp);
    for (size_t i = 0; i < bp->n; i++)
        profile_free(bp->profiles[i]);
    free(bp->profiles);
    free(bp->cmd);
    free(bp);
}

static void *
sampler_main(void *arg)
{
    BenchProfiler *bp = arg;
    bp->thread_rc = sampler_run(bp->sampler, &bp->stop, &bp->thread_err);
    return NULL;
}

int
bench_profiler_hook(void *ctx, size_t bench, int pid, Err *err)
{
    BenchProfiler *bp = ctx;
    if (pid == 0) {
        stop_thread(bp);
        /* the process ending while it is read is its normal end, not a failure; nor is a
         * command that never ran Python */
        if (bp->thread_rc < 0 && bp->thread_err.kind != ERR_GONE &&
            !(bp->cmd[bench] && bp->thread_err.kind == ERR_NOTPY)) {
            bp->thread_rc = 0;
            *err = bp->thread_err;
            return err_context(err, "--profile");
        }
        return 0;
    }
    if (!bp->profiles[bench] && !(bp->profiles[bench] = profile_new(PROFILE_SAMPLED, err)))
        return err_context(err, "--profile");
    SamplerOptions so;
    sampler_options_init(&so);
    so.rate_hz = BENCH_PROFILE_RATE_HZ;
    if (bp->cmd[bench]) {
        /* a run has just been exec'd: Python may not be loaded yet, or run in a child (the
         * shell's); every run's stacks go into one profile, without process roots */
        so.wait_python = true;
        so.subprocesses = true;
        so.merge_processes = true;
    }
    bp->sampler = sampler_new(pid, &so, bp->profiles[bench], err);
    if (!bp->sampler)
        return err_context(err, "--profile: reading the benchmark process %d", pid);
    bp->stop = 0;
    bp->thread_rc = 0;
    if (pthread_create(&bp->thread, NULL, sampler_main, bp) != 0) {
        sampler_free(bp->sampler);
        bp->sampler = NULL;
        return err_set(err, ERR_NOMEM, "--profile: cannot start the sampling thread");
    }
    bp->running = 1;
    return 0;
}

int
bench_profiler_finish(BenchProfiler *bp, Bench *benches, size_t n, Buf *empty, Err *err)
{
    for (size_t i = 0; i < n && i < bp->n; i++) {
        char nm[BENCH_SHOWN_MAX];
        bench_shown(benches[i].name, nm);
        if (!bp->profiles[i] || profile_nsamples(bp->profiles[i]) == 0) {
            if (empty) {
                if (empty->len)
                    buf_puts(empty, ", ");
                buf_printf(empty, "'%s'", nm);
            }
            continue;
        }
        char *data = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&data, &len);
        if (!f)
            return err_set(err, ERR_NOMEM, "out of memory");
        int rc = ffile_write_stream(bp->profiles[i], f, err);
        if (fclose(f) != 0 && rc == 0)
            rc = err_set(err, ERR_NOMEM, "out of memory");
        if (rc < 0) {
            free(data);
            return err_context(err, "--profile: encoding the profile of '%s'", nm);
        }
        free(benches[i].profile_blob);
        benches[i].profile_blob = data;
        benches[i].profile_len = len;
    }
    return 0;
}

/* The driver's own code runs from `python -c` (file "<string>"), between timed loops; a
 * command has no driver (its `-c` code is the benchmark). */
static bool
is_driver(const Bench *b, const DiffFunc *f)
{
    return b->kind != BENCH_CMD && f->file_len == 8 && memcmp(f->file, "<string>", 8) == 0;
}

typedef struct {
    const DiffFunc *f;
    double delta_s; /* self time per iteration, B - A */
} Explained;

static int
cmp_explained(const void *x, const void *y)
{
    double a = fabs(((const Explained *)x)->delta_s), b = fabs(((const Explained *)y)->delta_s);
    return (b > a) - (b < a);
}

int
bench_profile_explain(const Bench *a, const Bench *b, size_t top, Buf *out, Err *err)
{
    if (a->profile_error || b->profile_error)
        return err_set(err, ERR_FORMAT, "profile of %s: %s", a->profile_error ? "A" : "B",
                       a->profile_error ? a->profile_error : b->profile_error);
    if (!a->profile_blob || !b->profile_blob || !a->profile_len || !b->profile_len)
        return 0;
    StatsSummary sa, sb;
    if (bench_summary(a, &sa, err) < 0 || bench_summary(b, &sb, err) < 0)
        return -1;
    Profile *pa = ffile_read_mem(a->profile_blob, a->profile_len, "profile of A", err);
    Profile *pb = pa ? ffile_read_mem(b->profile_blob, b->profile_len, "profile of B", err) : NULL;
    Diff d;
    bool have_diff = false;
    Explained *ex = NULL;
    int rc = -1;
    if (!pa || !pb)
        goto done;
    ReportOptions oa, ob;
    report_options_init(&oa, pa);
    report_options_init(&ob, pb);
    if (diff_build(pa, &oa, pb, &ob, 0.05, &d, err) < 0)
        goto done;
    have_diff = true;
    /* shares of the samples taken inside the timed loops only */
    double suma = 0, sumb = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (is_driver(a, &d.funcs[i]))
            continue;
        suma += d.funcs[i].base_self_share;
        sumb += d.funcs[i].new_self_share;
    }
    rc = 0;
    if (suma <= 0 || sumb <= 0)
        goto done;
    ex = calloc(d.n ? d.n : 1, sizeof *ex);
    if (!ex) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (is_driver(a, &d.funcs[i]) ||
            (d.funcs[i].base_self_share == 0 && d.funcs[i].new_self_share == 0))
            continue;
        ex[m].f = &d.funcs[i];
        ex[m++].delta_s = d.funcs[i].new_self_share / sumb * sb.median -
                          d.funcs[i].base_self_share / suma * sa.median;
    }
    qsort(ex, m, sizeof *ex, cmp_explained);
    double diff = sb.median - sa.median;
    buf_printf(out,
               "  where the difference comes from (sampled profiles: %lld vs %lld samples; self "
               "time per iteration, B - A; * = share changed beyond sampling noise):\n",
               (long long)d.base_n, (long long)d.new_n);
    for (size_t i = 0; i < m && i < top; i++) {
        const DiffFunc *f = ex[i].f;
        char t[32];
        results_fmt_time(t, sizeof t, fabs(ex[i].delta_s));
        buf_printf(out, "    %c%-11s %5.0f%% %c ", ex[i].delta_s < 0 ? '-' : '+', t,
                   diff != 0 ? ex[i].delta_s / diff * 100 : 0.0, f->change ? '*' : ' ');
        /* the statement is compiled into the driver's timing function: name it for what
         * it is */
        if (f->name_len == 13 && memcmp(f->name, "_ferret_inner", 13) == 0) {
            buf_puts(out, "the statement's own code (<statement>)\n");
            continue;
        }
        esc_text(out, f->name, f->name_len, 0);
        buf_puts(out, " (");
        esc_text(out, f->file, f->file_len, 0);
        buf_puts(out, ")\n");
    }
done:
    free(ex);
    if (have_diff)
        diff_fini(&d);
    profile_free(pa);
    profile_free(pb);
    return rc;
}
