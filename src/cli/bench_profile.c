/* SPDX-License-Identifier: MIT */
/* bench_profile.c: the sampling thread for `ferret bench --profile` and the per-function
 * attribution `ferret compare` prints. */
#include "cli/bench_profile.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/results.h"
#include "profile/profile.h"
#include "report/report.h"
#include "sampler/target.h"
#include "sampler/walk.h"
#include "util/escape.h"

enum { PROF_MAX_THREADS = 64, PROF_MAX_FRAMES = 1 << 15 };

struct BenchProfiler {
    Profile **profiles; /* one per benchmark; owned */
    size_t n;
    /* the sampling thread: started by the hook with pid > 0, joined with pid 0; while it
     * runs only it touches `current`, `target` and the buffers */
    pthread_t thread;
    int running;
    atomic_int stop;
    Profile *current;
    Target *target;
    WalkThread *threads;
    FrameId *frames;
    FrameId *root_first;
    int32_t pid;
    Err thread_err;
    int thread_failed;
};

BenchProfiler *
bench_profiler_new(size_t n, Err *err)
{
    BenchProfiler *bp = calloc(1, sizeof *bp);
    if (!bp)
        goto nomem;
    bp->n = n;
    bp->profiles = calloc(n ? n : 1, sizeof *bp->profiles);
    bp->threads = calloc(PROF_MAX_THREADS, sizeof *bp->threads);
    bp->frames = calloc(PROF_MAX_FRAMES, sizeof *bp->frames);
    bp->root_first = calloc(PROFILE_MAX_DEPTH, sizeof *bp->root_first);
    if (!bp->profiles || !bp->threads || !bp->frames || !bp->root_first)
        goto nomem;
    return bp;
nomem:
    bench_profiler_free(bp);
    err_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

void
bench_profiler_free(BenchProfiler *bp)
{
    if (!bp)
        return;
    if (bp->running) {
        atomic_store(&bp->stop, 1);
        pthread_join(bp->thread, NULL);
    }
    target_close(bp->target);
    for (size_t i = 0; bp->profiles && i < bp->n; i++)
        profile_free(bp->profiles[i]);
    free(bp->profiles);
    free(bp->threads);
    free(bp->frames);
    free(bp->root_first);
    free(bp);
}

/* One snapshot of every thread into the current profile. */
static int
sample_once(BenchProfiler *bp, int64_t t_ns, Err *err)
{
    WalkBuffers b = {bp->threads, PROF_MAX_THREADS, bp->frames, PROF_MAX_FRAMES,
                     PROFILE_MAX_DEPTH};
    WalkDrops drops = {{0}};
    size_t nt;
    if (walk_sample(bp->target, bp->current, &b, &nt, &drops, err) < 0)
        return -1;
    ProcId proc;
    if (profile_process(bp->current, bp->pid, 0, NULL, &proc, err) < 0)
        return -1;
    for (size_t i = 0; i < nt; i++) {
        const WalkThread *w = &bp->threads[i];
        if (w->nframes == 0)
            continue;
        size_t d = w->nframes < PROFILE_MAX_DEPTH ? w->nframes : PROFILE_MAX_DEPTH;
        for (size_t k = 0; k < d; k++) /* walk gives innermost first */
            bp->root_first[k] = w->frames[d - 1 - k];
        ThreadId th;
        StackId st;
        if (profile_thread(bp->current, proc, w->tid, NULL, &th, err) < 0 ||
            profile_stack_path(bp->current, bp->root_first, d, &st, err) < 0)
            return -1;
        ProfSample s = {.t_ns = t_ns, .stack = st, .thread = th,
                        .flags = (uint8_t)(w->has_gil ? SAMPLE_HAS_GIL : 0), .series = 0,
                        .weight = 1};
        if (profile_add_sample(bp->current, &s, err) < 0)
            return -1;
    }
    return 0;
}

static void *
sampler_main(void *arg)
{
    BenchProfiler *bp = arg;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long interval_ns = (long)(BENCH_PROFILE_INTERVAL_S * 1e9);
    while (!atomic_load(&bp->stop)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t t = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
        if (sample_once(bp, t, &bp->thread_err) < 0) {
            /* the process ending while we read it is its normal end, not a failure */
            if (bp->thread_err.kind != ERR_GONE)
                bp->thread_failed = 1;
            break;
        }
        struct timespec ts = {0, interval_ns};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int
bench_profiler_hook(void *ctx, size_t bench, int pid, Err *err)
{
    BenchProfiler *bp = ctx;
    if (pid == 0) {
        if (bp->running) {
            atomic_store(&bp->stop, 1);
            pthread_join(bp->thread, NULL);
            bp->running = 0;
        }
        target_close(bp->target);
        bp->target = NULL;
        if (bp->thread_failed) {
            bp->thread_failed = 0;
            *err = bp->thread_err;
            return err_context(err, "--profile");
        }
        return 0;
    }
    if (!bp->profiles[bench]) {
        bp->profiles[bench] = profile_new(PROFILE_SAMPLED, err);
        SeriesId s;
        if (!bp->profiles[bench] ||
            profile_series(bp->profiles[bench], "samples", "count", &s, err) < 0)
            return err_context(err, "--profile");
        profile_info(bp->profiles[bench])->interval_ns = (int64_t)(BENCH_PROFILE_INTERVAL_S * 1e9);
    }
    bp->target = target_open(pid, TARGET_FIND_AUTO, err);
    if (!bp->target)
        return err_context(err, "--profile: reading the benchmark process %d", pid);
    bp->current = bp->profiles[bench];
    bp->pid = pid;
    atomic_store(&bp->stop, 0);
    bp->thread_failed = 0;
    if (pthread_create(&bp->thread, NULL, sampler_main, bp) != 0) {
        target_close(bp->target);
        bp->target = NULL;
        return err_set(err, ERR_NOMEM, "--profile: cannot start the sampling thread");
    }
    bp->running = 1;
    return 0;
}

int
bench_profiler_finish(BenchProfiler *bp, Bench *benches, size_t n, Err *err)
{
    for (size_t i = 0; i < n && i < bp->n; i++) {
        if (!bp->profiles[i])
            continue;
        char *data = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&data, &len);
        if (!f)
            return err_set(err, ERR_NOMEM, "out of memory");
        ReportOptions opt;
        report_options_init(&opt, bp->profiles[i]);
        int rc = report_collapsed.write(bp->profiles[i], &opt, f, err);
        if (fclose(f) != 0 && rc == 0)
            rc = err_set(err, ERR_NOMEM, "out of memory");
        if (rc < 0) {
            free(data);
            return -1;
        }
        free(benches[i].profile_blob);
        benches[i].profile_blob = data;
        benches[i].profile_len = len;
    }
    return 0;
}

typedef struct {
    char *fn;
    double a, b;  /* self samples in A and B */
    double delta; /* seconds per iteration, B - A */
} FnRow;

typedef struct {
    FnRow *rows;
    size_t n;
} FnTable;

static int
table_add(FnTable *t, const char *key, size_t len, bool in_b, double count)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->rows[i].fn) == len && memcmp(t->rows[i].fn, key, len) == 0) {
            *(in_b ? &t->rows[i].b : &t->rows[i].a) += count;
            return 0;
        }
    }
    FnRow *g = realloc(t->rows, (t->n + 1) * sizeof *g);
    if (!g)
        return -1;
    t->rows = g;
    char *k = strndup(key, len);
    if (!k)
        return -1;
    t->rows[t->n++] = (FnRow){k, in_b ? 0 : count, in_b ? count : 0, 0};
    return 0;
}

/* A collapsed line "frame;frame;leaf count": adds count to the leaf's function, named as
 * "qualname (file)" (the leaf's ":line" dropped, so all lines of a function add up). */
static int
add_line(FnTable *t, const char *line, size_t len, bool in_b, double *total)
{
    const char *sp = NULL;
    for (size_t i = len; i-- > 0;)
        if (line[i] == ' ') {
            sp = line + i;
            break;
        }
    if (!sp)
        return 0;
    char num[32];
    size_t nl = (size_t)(line + len - sp - 1);
    if (nl == 0 || nl >= sizeof num)
        return 0;
    memcpy(num, sp + 1, nl);
    num[nl] = 0;
    double count = strtod(num, NULL);
    if (!(count > 0) || count > 1e15)
        return 0;
    const char *leaf = line;
    for (const char *p = line; p < sp; p++)
        if (*p == ';')
            leaf = p + 1;
    size_t ln = (size_t)(sp - leaf);
    char key[1024];
    if (ln >= sizeof key)
        ln = sizeof key - 1;
    memcpy(key, leaf, ln);
    key[ln] = 0;
    if (ln > 2 && key[ln - 1] == ')') {
        size_t k = ln - 1;
        while (k > 0 && key[k - 1] >= '0' && key[k - 1] <= '9')
            k--;
        if (k > 1 && k < ln - 1 && key[k - 1] == ':') {
            key[k - 1] = ')';
            ln = k;
        }
    }
    /* the driver's own bookkeeping between timed loops (its code is `python -c`, file
     * "<string>") is not part of any value */
    static const char driver_file[] = "(<string>)";
    if (ln >= sizeof driver_file - 1 &&
        memcmp(key + ln - (sizeof driver_file - 1), driver_file, sizeof driver_file - 1) == 0)
        return 0;
    *total += count;
    return table_add(t, key, ln, in_b, count);
}

static int
add_profile(FnTable *t, const Bench *x, bool in_b, double *total)
{
    const char *s = x->profile_blob, *end = s + x->profile_len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (add_line(t, s, len, in_b, total) < 0)
            return -1;
        s += len + 1;
    }
    return 0;
}

static int
cmp_abs_delta(const void *x, const void *y)
{
    double a = fabs(((const FnRow *)x)->delta), b = fabs(((const FnRow *)y)->delta);
    return (b > a) - (b < a);
}

int
bench_profile_explain(const Bench *a, const Bench *b, size_t top, Buf *out, Err *err)
{
    if (!a->profile_blob || !b->profile_blob || !a->profile_len || !b->profile_len)
        return 0;
    StatsSummary sa, sb;
    if (bench_summary(a, &sa, err) < 0 || bench_summary(b, &sb, err) < 0)
        return -1;
    FnTable t = {NULL, 0};
    double ta = 0, tb = 0;
    int rc = -1;
    if (add_profile(&t, a, false, &ta) < 0 || add_profile(&t, b, true, &tb) < 0) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    rc = 0;
    if (ta <= 0 || tb <= 0)
        goto done;
    /* each function's time per iteration: its share of the samples times the median */
    for (size_t i = 0; i < t.n; i++)
        t.rows[i].delta = t.rows[i].b / tb * sb.median - t.rows[i].a / ta * sa.median;
    qsort(t.rows, t.n, sizeof *t.rows, cmp_abs_delta);
    double diff = sb.median - sa.median;
    buf_printf(out, "  where the difference comes from (sampled profiles: %.0f vs %.0f samples; "
                    "self time per iteration, B - A):\n",
               ta, tb);
    for (size_t i = 0; i < t.n && i < top; i++) {
        char d[32];
        results_fmt_time(d, sizeof d, fabs(t.rows[i].delta));
        buf_printf(out, "    %c%-11s %5.0f%%  ", t.rows[i].delta < 0 ? '-' : '+', d,
                   diff != 0 ? t.rows[i].delta / diff * 100 : 0.0);
        /* the statement is compiled into the driver's timing function: name it for what
         * it is */
        const char *fn = strcmp(t.rows[i].fn, "_ferret_inner (<ferret-bench>)") == 0
                             ? "the statement's own code (<statement>)"
                             : t.rows[i].fn;
        esc_text(out, fn, strlen(fn), 0);
        buf_putc(out, '\n');
    }
done:
    for (size_t i = 0; i < t.n; i++)
        free(t.rows[i].fn);
    free(t.rows);
    return rc;
}
