/* SPDX-License-Identifier: MIT */
/* mkprofile.c: a test-only generator of synthetic .ferret profiles of any size, for the
 * report tests, the fuzz corpus and bench/report.sh. Not installed, not part of ferret.
 *
 *   mkprofile -o OUT [--samples N] [--stacks N] [--funcs N] [--threads N] [--run N]
 *             [--seed N] [--sample-seed N] [--flush N] [--hostile] [--spans N] [--killed] [--hang] [--hot P] [--raw]
 *             [--kind sampled|memory|trace]
 *
 * Stacks form a random tree under a fixed `<module> -> main -> run` prefix; samples pick a
 * stack per thread with a power-law skew and keep it for a geometric run (mean --run
 * samples), like a program spending time in a few hot places. --seed draws the program
 * (stacks), --sample-seed (default: the same stream) the samples. --hostile names functions,
 * files and threads with quotes, markup, control bytes and invalid UTF-8. --spans adds the
 * tracer's "spans" series (nested complete spans per thread). --killed stops without the end
 * marker, like a recorder killed after its last flush; --hang flushes, prints "flushed N"
 * and waits to be killed. --hot P starts a run on a stack whose
 * leaf is function `hot` with probability P (two such profiles make a known diff). --raw
 * rewrites deflated chunks as stored ones (fuzz seeds whose payload bytes the fuzzer can
 * mutate; tests/fuzz/fuzz_ffile.c recomputes the checksums). --kind memory makes each sample
 * an allocation (random size; some live at the peak, fewer at exit) with a heap and RSS
 * timeline, --kind trace a call with its wall and CPU time and a line hit, both with the
 * series and metadata `ferret mem` and `ferret trace` write (bench/report.sh's HTML rows). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "profile/ffile.h"
#include "profile/profile.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double
uniform(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static const char *const hostile_names[] = {
    "<script>alert(1)</script>",
    "a&b\"c'd",
    "ctl\x01\x1b[31mred",
    "bad\xff\xfeutf8",
    "semi;colon\nnewline",
    "</svg><svg onload=alert(2)>",
    "\"}]},{\"x\":\"",
    "sep\xe2\x80\xa8line",
    "]]><!--",
};

static void
die(const char *what, const Err *err)
{
    fprintf(stderr, "mkprofile: %s: %s\n", what, err ? err->msg : "bad arguments");
    exit(2);
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites every deflated ('Z') chunk of a .ferret file as a stored ('D') one
 * (docs/FORMAT.md "Chunks"). */
static void
rewrite_raw(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t in[64 << 20], outb[128 << 20];
    size_t n = f ? fread(in, 1, sizeof in, f) : 0;
    if (f)
        fclose(f);
    if (n < 12)
        die("--raw: cannot read the file back", NULL);
    memcpy(outb, in, 12);
    size_t off = 12, o = 12;
    while (off + 13 <= n) {
        uint32_t stored = le32(in + off + 1), raw = le32(in + off + 5);
        const uint8_t *body = in + off + 13;
        memcpy(outb + o, in + off, 13);
        if (in[off] == 'Z') {
            uLongf got = raw;
            if (uncompress(outb + o + 13, &got, body, stored) != Z_OK)
                die("--raw: a chunk does not unpack", NULL);
            outb[o] = 'D';
            put32(outb + o + 1, raw);
        } else {
            memcpy(outb + o + 13, body, stored);
        }
        uint32_t len = le32(outb + o + 1);
        uLong crc = crc32(crc32(0, outb + o, 9), outb + o + 13, len);
        put32(outb + o + 9, (uint32_t)crc);
        o += 13 + len;
        off += 13 + stored;
    }
    f = fopen(path, "wb");
    if (!f || fwrite(outb, 1, o, f) != o || fclose(f) != 0)
        die("--raw: cannot rewrite the file", NULL);
}

/* One sample of a memory or trace profile, from the sampled one s would be: an allocation of
 * a random size (a third of them live at the peak, a tenth at exit, the heap a random walk
 * with a point every 100 samples), or a call with its times and a hit of its line. */
static void
kind_sample(Profile *p, ProfileKind kind, const SeriesId *ser, ProfSample *s, long long i,
            int64_t *heap, int64_t *peak, int64_t *peak_t)
{
    Err err;
    int64_t w[8] = {0};
    if (kind == PROFILE_MEMORY) {
        int64_t size = 16 + (int64_t)(rng() % 4096);
        double u = uniform();
        w[4] = size; /* allocated, and live at the peak, at exit */
        w[5] = 1;
        if (u < 0.33) {
            w[0] = size;
            w[1] = 1;
        }
        if (u < 0.1) {
            w[2] = size;
            w[3] = 1;
        }
        *heap += uniform() < 0.55 ? size : -size;
        if (*heap < 0)
            *heap = 0;
        if (*heap > *peak) {
            *peak = *heap;
            *peak_t = s->t_ns;
        }
    } else {
        w[0] = 1000 + (int64_t)(rng() % 1000); /* wall, a call, CPU time, a hit of its line */
        w[1] = 1;
        w[2] = w[0] * 7 / 10;
        w[3] = 1;
        w[4] = w[0];
    }
    size_t n = kind == PROFILE_MEMORY ? 6 : 5;
    for (size_t k = 0; k < n; k++) {
        if (!w[k])
            continue;
        ProfSample one = *s;
        one.series = ser[k];
        one.weight = w[k];
        one.flags = 0;
        if (profile_add_sample(p, &one, &err) < 0)
            die("sample", &err);
    }
    if (kind == PROFILE_MEMORY && i % 100 == 0) {
        ProfSample g = {
            .t_ns = s->t_ns, .stack = PROFILE_ROOT, .thread = s->thread, .series = ser[6]};
        g.weight = *heap;
        if (profile_add_sample(p, &g, &err) < 0)
            die("sample", &err);
        g.series = ser[7];
        g.weight = *heap + (8 << 20);
        if (profile_add_sample(p, &g, &err) < 0)
            die("sample", &err);
    }
}

int
main(int argc, char **argv)
{
    const char *out = NULL;
    long long nsamples = 1000, nstacks = 100, nfuncs = 50, nthreads = 2, run = 8, seed = 1,
              flush_every = 0, nspans = 0, sample_seed = -1;
    int hostile = 0, killed = 0, raw = 0, hang = 0;
    ProfileKind kind = PROFILE_SAMPLED;
    double hot_share = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--hostile") == 0) {
            hostile = 1;
            continue;
        }
        if (strcmp(a, "--killed") == 0) {
            killed = 1;
            continue;
        }
        if (strcmp(a, "--raw") == 0) {
            raw = 1;
            continue;
        }
        if (strcmp(a, "--hang") == 0) {
            hang = 1;
            continue;
        }
        if (!v)
            die(a, NULL);
        i++;
        if (strcmp(a, "-o") == 0)
            out = v;
        else if (strcmp(a, "--samples") == 0)
            nsamples = atoll(v);
        else if (strcmp(a, "--stacks") == 0)
            nstacks = atoll(v);
        else if (strcmp(a, "--funcs") == 0)
            nfuncs = atoll(v);
        else if (strcmp(a, "--threads") == 0)
            nthreads = atoll(v);
        else if (strcmp(a, "--run") == 0)
            run = atoll(v);
        else if (strcmp(a, "--seed") == 0)
            seed = atoll(v);
        else if (strcmp(a, "--sample-seed") == 0)
            sample_seed = atoll(v);
        else if (strcmp(a, "--flush") == 0)
            flush_every = atoll(v);
        else if (strcmp(a, "--spans") == 0)
            nspans = atoll(v);
        else if (strcmp(a, "--hot") == 0)
            hot_share = atof(v);
        else if (strcmp(a, "--kind") == 0 && strcmp(v, "sampled") == 0)
            kind = PROFILE_SAMPLED;
        else if (strcmp(a, "--kind") == 0 && strcmp(v, "memory") == 0)
            kind = PROFILE_MEMORY;
        else if (strcmp(a, "--kind") == 0 && strcmp(v, "trace") == 0)
            kind = PROFILE_TRACE;
        else
            die(a, NULL);
    }
    if (!out || nstacks < 1 || nfuncs < 4 || nthreads < 1 || run < 1 || nsamples < 0)
        die("usage: mkprofile -o OUT [--samples N] [--stacks N] ...", NULL);
    rng_state ^= (uint64_t)seed * 0x2545f4914f6cdd1dULL;

    Err err;
    Profile *p = profile_new(kind, &err);
    if (!p)
        die("profile", &err);
    /* the series of a memory or trace profile, in the order their recorders write them */
    static const char *const mem_series[] = {"peak_bytes",   "peak_count",      "leaked_bytes",
                                             "leaked_count", "allocated_bytes", "allocated_count",
                                             "heap_bytes",   "rss_bytes"};
    static const char *const trace_series[] = {"wall_ns", "calls", "cpu_ns", "line_hits",
                                               "line_ns"};
    SeriesId kser[8];
    const char *const *knames = kind == PROFILE_MEMORY ? mem_series : trace_series;
    size_t nk = kind == PROFILE_MEMORY ? 8 : kind == PROFILE_TRACE ? 5 : 0;
    for (size_t k = 0; k < nk; k++)
        if (profile_series(p, knames[k], strstr(knames[k], "bytes") ? "bytes" : "ns", &kser[k],
                           &err) < 0)
            die("series", &err);
    ProfileInfo *info = profile_info(p);
    info->interval_ns = 10000000;
    info->start_unix_ns = 1700000000000000000LL;
    SeriesId ser = 0, spans_ser = 0;
    ProcId proc;
    if ((kind == PROFILE_SAMPLED && profile_series(p, "samples", "samples", &ser, &err) < 0) ||
        (nspans && profile_series(p, "spans", "ns", &spans_ser, &err) < 0) ||
        profile_process(p, 4242, 1, hostile ? "python3 app.py '<b>&\"x\"'" : "python3 app.py",
                        &proc, &err) < 0 ||
        profile_meta_set(p, "command", hostile ? "python3 <app>.py \"&\"" : "python3 app.py",
                         &err) < 0 ||
        profile_meta_set(p, "python_version", "3.12.1", &err) < 0 ||
        profile_meta_set(p, "mode", kind == PROFILE_TRACE ? "trace" : "wall", &err) < 0)
        die("profile", &err);
    if (kind == PROFILE_MEMORY &&
        (profile_meta_set(p, "mem.mode", "sampled", &err) < 0 ||
         profile_meta_set(p, "mem.sample_bytes", "65536", &err) < 0 ||
         profile_meta_set(p, "mem.end", "atexit", &err) < 0 ||
         profile_meta_set(p, "mem.timeline_interval_ns", "10000000", &err) < 0))
        die("profile", &err);

    ThreadId *threads = calloc((size_t)nthreads, sizeof *threads);
    for (long long t = 0; t < nthreads; t++) {
        char name[64];
        if (t == 0)
            snprintf(name, sizeof name, "MainThread");
        else if (hostile && t == 1)
            snprintf(name, sizeof name, "<th>\"&\x07");
        else
            snprintf(name, sizeof name, "worker-%lld", t);
        if (profile_thread(p, proc, 4242 + (uint64_t)t, name, &threads[t], &err) < 0)
            die("thread", &err);
    }

    /* functions: hot, warm and the rest; each has a file and a first line */
    FrameId *funcs = calloc((size_t)nfuncs * 4, sizeof *funcs);
    for (long long f = 0; f < nfuncs; f++) {
        char name[128], file[128];
        if (f == 0)
            snprintf(name, sizeof name, "<module>");
        else if (f == 1)
            snprintf(name, sizeof name, "main");
        else if (f == 2)
            snprintf(name, sizeof name, "run");
        else if (f == 3)
            snprintf(name, sizeof name, "hot");
        else if (hostile && f - 4 < (long long)(sizeof hostile_names / sizeof *hostile_names))
            snprintf(name, sizeof name, "%s", hostile_names[f - 4]);
        else
            snprintf(name, sizeof name, "Cls%lld.method_%lld", f % 13, f);
        if (hostile && f == 5)
            snprintf(file, sizeof file, "/app/<x>&\"q\"\xff.py");
        else
            snprintf(file, sizeof file, "/app/pkg/mod_%lld.py", f % 17);
        for (int l = 0; l < 4; l++) {
            ProfFrame fr = {.line = (int32_t)(10 * f + l + 2), .fn_line = (int32_t)(10 * f + 1),
                            .kind = FRAME_PY};
            if (profile_cstr(p, name, &fr.name, &err) < 0 ||
                profile_cstr(p, file, &fr.file, &err) < 0 ||
                profile_frame(p, &fr, &funcs[f * 4 + l], &err) < 0)
                die("frame", &err);
        }
    }
    FrameId prefix[] = {funcs[0], funcs[4 + 1], funcs[8 + 2]};
    StackId base;
    if (profile_stack_path(p, prefix, 3, &base, &err) < 0)
        die("stack", &err);
    StackId *stacks = malloc((size_t)nstacks * sizeof *stacks);
    StackId *hot_stacks = malloc((size_t)nstacks * sizeof *hot_stacks);
    size_t nhot = 0;
    stacks[0] = base;
    for (long long i = 1; i < nstacks; i++) {
        StackId parent = stacks[rng() % (uint64_t)i];
        long long f = rng() % 5 == 0 ? 3 : 3 + (long long)(rng() % (uint64_t)(nfuncs - 3));
        size_t before = profile_nstacks(p);
        StackId s;
        if (profile_stack(p, parent, funcs[f * 4 + (long long)(rng() % 4)], &s, &err) < 0)
            die("stack", &err);
        if (profile_nstacks(p) == before) {
            i--; /* an existing stack: draw again */
            continue;
        }
        stacks[i] = s;
        if (f == 3)
            hot_stacks[nhot++] = s;
    }
    if (sample_seed >= 0) /* same program (stacks), other samples */
        rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(sample_seed + 1) * 0x2545f4914f6cdd1dULL;
    FfileWriter *w = ffile_writer_open(out, &err);
    if (!w)
        die("open", &err);
    StackId *cur = calloc((size_t)nthreads, sizeof *cur);
    long long *left = calloc((size_t)nthreads, sizeof *left);
    int64_t t_ns = 0, heap = 0, peak = 0, peak_t = 0;
    for (long long i = 0; i < nsamples;) {
        t_ns += info->interval_ns + (int64_t)(rng() % 200000) - 100000;
        for (long long th = 0; th < nthreads && i < nsamples; th++, i++) {
            if (left[th] <= 0) {
                double u = uniform();
                if (nhot && uniform() < hot_share)
                    cur[th] = hot_stacks[rng() % nhot];
                else
                    cur[th] = stacks[(long long)((double)nstacks * pow(u, 2.5)) % nstacks];
                left[th] = 1 + (long long)(-log(1 - uniform()) * (double)(run - 1) + 0.5);
            }
            left[th]--;
            uint8_t flags = uniform() < 0.7 ? SAMPLE_ON_CPU : 0;
            if (th == 0 && (flags & SAMPLE_ON_CPU))
                flags |= SAMPLE_HAS_GIL;
            ProfSample s = {.t_ns = t_ns, .stack = cur[th], .thread = threads[th],
                            .flags = flags, .series = ser, .weight = 1};
            if (kind != PROFILE_SAMPLED)
                kind_sample(p, kind, kser, &s, i, &heap, &peak, &peak_t);
            else if (profile_add_sample(p, &s, &err) < 0)
                die("sample", &err);
            if (flush_every && (i + 1) % flush_every == 0 &&
                ffile_writer_flush(w, p, &err) < 0)
                die("flush", &err);
        }
    }
    /* spans: per thread, a sequence of top-level calls, each with nested calls inside */
    for (long long i = 0; i < nspans; i++) {
        long long th = i % nthreads;
        int64_t start = (int64_t)(i / nthreads) * 3000000;
        StackId s = base;
        int64_t dur = 2000000;
        for (int depth = 0; depth < 3; depth++) {
            FrameId fr = funcs[(3 + (long long)(rng() % (uint64_t)(nfuncs - 3))) * 4];
            if (profile_stack(p, s, fr, &s, &err) < 0)
                die("stack", &err);
            ProfSample sp = {.t_ns = start, .stack = s, .thread = threads[th],
                             .series = spans_ser, .weight = dur};
            if (profile_add_sample(p, &sp, &err) < 0)
                die("span", &err);
            start += dur / 10;
            dur /= 2;
        }
    }
    info->duration_ns = t_ns + info->interval_ns;
    if (kind == PROFILE_MEMORY) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)peak);
        if (profile_meta_set(p, "mem.peak_heap_bytes", v, &err) < 0)
            die("meta", &err);
        snprintf(v, sizeof v, "%lld", (long long)peak_t);
        if (profile_meta_set(p, "mem.peak_t_ns", v, &err) < 0)
            die("meta", &err);
    }
    if (hang) { /* flush, say so, and wait to be killed (SIGKILL tests) */
        if (ffile_writer_flush(w, p, &err) < 0)
            die("flush", &err);
        printf("flushed %lld\n", nsamples);
        fflush(stdout);
        for (;;)
            pause();
    }
    if (killed) {
        if (ffile_writer_flush(w, p, &err) < 0)
            die("flush", &err);
        ffile_writer_abort(w);
    } else if (ffile_writer_close(w, p, &err) < 0) {
        die("close", &err);
    }
    if (raw)
        rewrite_raw(out);
    free(cur);
    free(left);
    free(stacks);
    free(hot_stacks);
    free(funcs);
    free(threads);
    profile_free(p);
    return 0;
}
