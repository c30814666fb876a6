/* SPDX-License-Identifier: MIT */
/* test_ffile.c: the .ferret writer and reader: a streamed round trip (renamed threads, new
 * metadata, chunks split past their target size), a recorder that stops without the end
 * marker, every truncation and every flipped byte of a small file, foreign files, a write
 * that fails, what no recorder writes (negative weights, totals and times beyond the
 * bounds that keep the writers inside 64 bits), a descriptor the program closed or reused
 * behind the writer's back, and a file sealed before an exec that then goes on. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "profile/ffile.h"
#include "profile/profile.h"
#include "report/diff.h"
#include "report/report.h"

static char tmpdir[] = "/tmp/ferret-test-ffile-XXXXXX";

static const char *
tmp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static FrameId
add_frame(Profile *p, const char *name, const char *file, int line, int kind)
{
    Err err;
    ProfFrame f = {.line = line, .fn_line = line - 1, .kind = (uint8_t)kind};
    FrameId id = 0;
    CHECK(profile_cstr(p, name, &f.name, &err) == 0);
    CHECK(profile_cstr(p, file, &f.file, &err) == 0);
    CHECK(profile_frame(p, &f, &id, &err) == 0);
    return id;
}

/* Checks that b holds exactly what a holds (b may have meta "incomplete" on top). */
static void
check_same(const Profile *a, const Profile *b)
{
    CHECK_EQ_SIZE(profile_nstrs(b), profile_nstrs(a));
    for (StrId i = 0; i < profile_nstrs(a) && i < profile_nstrs(b); i++) {
        CHECK_EQ_SIZE(profile_strlen(b, i), profile_strlen(a, i));
        CHECK(memcmp(profile_strp(a, i), profile_strp(b, i), profile_strlen(a, i)) == 0);
    }
    CHECK_EQ_SIZE(profile_nframes(b), profile_nframes(a));
    for (FrameId i = 0; i < profile_nframes(a) && i < profile_nframes(b); i++) {
        const ProfFrame *x = profile_frame_at(a, i), *y = profile_frame_at(b, i);
        CHECK(x->name == y->name && x->file == y->file && x->line == y->line &&
              x->fn_line == y->fn_line && x->kind == y->kind);
    }
    CHECK_EQ_SIZE(profile_nstacks(b), profile_nstacks(a));
    for (StackId i = 0; i < profile_nstacks(a) && i < profile_nstacks(b); i++)
        CHECK(memcmp(profile_stack_at(a, i), profile_stack_at(b, i), sizeof(ProfStack)) == 0);
    CHECK_EQ_SIZE(profile_nprocs(b), profile_nprocs(a));
    for (ProcId i = 0; i < profile_nprocs(a) && i < profile_nprocs(b); i++)
        CHECK(memcmp(profile_proc_at(a, i), profile_proc_at(b, i), sizeof(ProfProcess)) == 0);
    CHECK_EQ_SIZE(profile_nthreads(b), profile_nthreads(a));
    for (ThreadId i = 0; i < profile_nthreads(a) && i < profile_nthreads(b); i++)
        CHECK(profile_thread_at(a, i)->proc == profile_thread_at(b, i)->proc &&
              profile_thread_at(a, i)->tid == profile_thread_at(b, i)->tid &&
              profile_thread_at(a, i)->name == profile_thread_at(b, i)->name);
    CHECK_EQ_SIZE(profile_nseries(b), profile_nseries(a));
    for (SeriesId i = 0; i < profile_nseries(a) && i < profile_nseries(b); i++) {
        CHECK_EQ_STR(profile_series_name(b, i), profile_series_name(a, i));
        CHECK_EQ_STR(profile_series_unit(b, i), profile_series_unit(a, i));
    }
    CHECK_EQ_SIZE(profile_nsamples(b), profile_nsamples(a));
    int mismatched = 0;
    for (size_t i = 0; i < profile_nsamples(a) && i < profile_nsamples(b); i++) {
        ProfSample x, y;
        profile_sample_at(a, i, &x);
        profile_sample_at(b, i, &y);
        mismatched += x.t_ns != y.t_ns || x.stack != y.stack || x.thread != y.thread ||
                      x.flags != y.flags || x.series != y.series || x.weight != y.weight;
    }
    CHECK_EQ_INT(mismatched, 0);
    const ProfileInfo *ia = profile_info_c(a), *ib = profile_info_c(b);
    CHECK(ia->kind == ib->kind && ia->interval_ns == ib->interval_ns &&
          ia->start_unix_ns == ib->start_unix_ns && ia->duration_ns == ib->duration_ns &&
          ia->dropped == ib->dropped);
    for (size_t i = 0; i < profile_nmeta(a); i++) {
        const char *k, *v;
        profile_meta_at(a, i, &k, &v);
        CHECK_EQ_STR(profile_meta_get(b, k), v);
    }
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static uint8_t data[1 << 22];
    *len = f ? fread(data, 1, sizeof data, f) : 0;
    if (f)
        fclose(f);
    return data;
}

/* Adds n samples cycling over the given stacks and threads. */
static void
add_samples(Profile *p, size_t n, const StackId *stacks, size_t nstacks, ThreadId nthreads,
            int64_t *t)
{
    Err err;
    for (size_t i = 0; i < n; i++) {
        ProfSample s = {.t_ns = *t, .stack = stacks[(i / 3) % nstacks],
                        .thread = (ThreadId)(i % nthreads), .series = 0, .weight = 1,
                        .flags = (uint8_t)(i % 8)};
        if (i % 97 == 0)
            s.flags |= 0x40; /* a flag bit a later version might define */
        if (i % 50 == 0 && profile_nseries(p) > 1) {
            s.series = 1;
            s.weight = (int64_t)i * 1000;
        }
        CHECK(profile_add_sample(p, &s, &err) == 0);
        *t += (i % nthreads == nthreads - 1) ? 10000000 + (int64_t)(i % 7) * 1000 : 0;
    }
}

/* A sampled profile at interval_ns with one thread and the stacks f and f;g (ids 1, 2). */
static Profile *
tiny_profile(int64_t interval_ns)
{
    Err err;
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    CHECK(p != NULL);
    profile_info(p)->interval_ns = interval_ns;
    SeriesId ser;
    ProcId proc;
    ThreadId th;
    StackId st;
    FrameId fg[] = {add_frame(p, "f", "file.py", 10, FRAME_PY),
                    add_frame(p, "g", "file.py", 20, FRAME_PY)};
    CHECK(profile_series(p, "samples", "samples", &ser, &err) == 0);
    CHECK(profile_process(p, 100, 1, "python3 x.py", &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 100, "MainThread", &th, &err) == 0);
    CHECK(profile_stack_path(p, fg, 2, &st, &err) == 0);
    return p;
}

/* Reads path back: n samples, and marked incomplete or not. */
static void
check_reads(const char *path, size_t n, bool incomplete)
{
    Err err;
    Profile *q = ffile_read(path, &err);
    CHECK(q != NULL);
    if (q) {
        CHECK_EQ_SIZE(profile_nsamples(q), n);
        CHECK((profile_meta_get(q, "incomplete") != NULL) == incomplete);
    }
    profile_free(q);
}

/* The descriptor this process has open on path, or -1. */
static int
fd_of(const char *path)
{
    struct stat want, st;
    if (stat(path, &want) != 0)
        return -1;
    for (int fd = 3; fd < 4096; fd++)
        if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
            return fd;
    return -1;
}

/* A program that closes descriptors it does not own (os.closerange(3, ...)) while a writer
 * streams: with `reuse` it opens its own file under the writer's number (which must stay
 * untouched: the writer opens its file again), else it also deletes the file (the writer
 * must fail, naming what happened). */
static void
check_fd_taken(bool reuse)
{
    Err err;
    StackId st = 2; /* f;g */
    Profile *p = tiny_profile(0);
    char path[256], own_path[256]; /* tmp_path's buffer is reused */
    snprintf(path, sizeof path, "%s", tmp_path("taken.ferret"));
    snprintf(own_path, sizeof own_path, "%s", tmp_path("own.txt"));
    FfileWriter *w = ffile_writer_open(path, &err);
    CHECK(w != NULL);
    int64_t t = 0;
    add_samples(p, 10, &st, 1, 1, &t);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    int fd = fd_of(path);
    CHECK(fd > 2);
    int own = open(own_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(own >= 0 && write(own, "mine", 4) == 4);
    if (reuse) {
        CHECK(dup2(own, fd) == fd);
    } else {
        close(fd);
        unlink(path);
    }
    add_samples(p, 10, &st, 1, 1, &t);
    int flushed = ffile_writer_flush(w, p, &err);
    CHECK(reuse || strstr(err.msg, "the program closed ferret's descriptor of it") != NULL);
    int closed = ffile_writer_close(w, p, &err);
    CHECK(fcntl(fd, F_GETFD) >= 0 || !reuse); /* the program's descriptor stays open */
    struct stat sb;
    CHECK(fstat(own, &sb) == 0 && sb.st_size == 4);
    if (reuse) {
        CHECK(flushed == 0 && closed == 0);
        check_reads(path, 20, false);
        close(fd);
    } else {
        CHECK(flushed < 0 && closed < 0);
    }
    close(own);
    unlink(own_path);
    unlink(path);
    profile_free(p);
}

/* A sealed file (a program about to exec) is complete as it stands; if the program goes
 * on, the next flush cuts the end marker off and the file grows as before. */
static void
check_seal(void)
{
    Err err;
    StackId st = 2; /* f;g */
    Profile *p = tiny_profile(0);
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("sealed.ferret"));
    FfileWriter *w = ffile_writer_open(path, &err);
    int64_t t = 0;
    add_samples(p, 10, &st, 1, 1, &t);
    CHECK(ffile_writer_seal(w, p, &err) == 0);
    check_reads(path, 10, false);
    add_samples(p, 10, &st, 1, 1, &t);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    check_reads(path, 20, true);
    CHECK(ffile_writer_seal(w, p, &err) == 0);
    add_samples(p, 5, &st, 1, 1, &t);
    CHECK(ffile_writer_close(w, p, &err) == 0);
    check_reads(path, 25, false);
    unlink(path);
    profile_free(p);
}

static void
add_one(Profile *p, StackId stack, int64_t weight, int64_t t_ns)
{
    Err err;
    ProfSample s = {.t_ns = t_ns, .stack = stack, .weight = weight};
    CHECK(profile_add_sample(p, &s, &err) == 0);
}

/* Writes p as a whole file and reads it back: NULL with *err set when the reader refuses. */
static Profile *
reread(const Profile *p, Err *err)
{
    const char *path = tmp_path("reread.ferret");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return NULL;
    CHECK(ffile_write_stream(p, f, err) == 0);
    CHECK(fclose(f) == 0);
    Profile *q = ffile_read(path, err);
    unlink(path);
    return q;
}

/* Renders q in every report format and every series, and diffs it with itself: at the
 * reader's bounds no writer may overflow (the sanitizer build stops at the first). */
static void
render_all(const Profile *q)
{
    Err err;
    FILE *null = fopen("/dev/null", "wb");
    CHECK(null != NULL);
    for (SeriesId ser = 0; null && ser < profile_nseries(q); ser++) {
        ReportOptions opt;
        report_options_init(&opt, q);
        opt.series = ser;
        for (size_t i = 0; report_format_at(i); i++) {
            int rc = report_format_at(i)->write(q, &opt, null, &err);
            if (rc < 0) /* a trace-only format on a sampled profile says so */
                CHECK(err.kind == ERR_FORMAT || err.kind == ERR_USAGE);
        }
        Diff d;
        CHECK(diff_build(q, &opt, q, &opt, 0.05, &d, &err) == 0);
        static const char *const diffs[] = {"text", "html", "svg"};
        for (size_t i = 0; i < ARRAY_LEN(diffs); i++)
            CHECK(diff_writer_find(diffs[i])->write(&d, &opt, null, &err) == 0);
        diff_fini(&d);
    }
    if (null)
        fclose(null);
}

/* Reads p back expecting the reader to refuse it with a message holding `want`. */
static void
check_refused(Profile *p, const char *want)
{
    Err err;
    Profile *q = reread(p, &err);
    CHECK(q == NULL);
    profile_free(q);
    CHECK_EQ_INT(err.kind, ERR_FORMAT);
    CHECK(strstr(err.msg, "corrupted profile") && strstr(err.msg, want));
    if (!strstr(err.msg, want))
        fprintf(stderr, "  got: %s\n", err.msg);
    profile_free(p);
}

/* Reads p back expecting it to open, and renders it everywhere. */
static void
check_renders(Profile *p)
{
    Err err;
    Profile *q = reread(p, &err);
    CHECK(q != NULL);
    if (!q)
        fprintf(stderr, "  refused: %s\n", err.msg);
    else
        render_all(q);
    profile_free(q);
    profile_free(p);
}

/* What no recorder writes is refused (docs/FORMAT.md "Bounds"): a negative weight (a share of
 * "-150%"), weights times the interval beyond 2^61 ns, times beyond 2^60 ns; what lies just
 * inside renders in every format. */
static void
check_bounds(void)
{
    Err err;
    Profile *p = tiny_profile(1000000);
    add_one(p, 1, -5, 1000);
    add_one(p, 2, 3, 2000);
    check_refused(p, "negative sample weight -5");
    p = tiny_profile(1000000); /* a weight of 0 is harmless */
    add_one(p, 1, 0, 1000);
    check_renders(p);

    /* 2^44 samples of 2^40 ns overflowed speedscope's total and pstats' times */
    p = tiny_profile(FFILE_MAX_INTERVAL_NS);
    add_one(p, 1, FFILE_MAX_WEIGHT, 1000);
    add_one(p, 2, FFILE_MAX_WEIGHT, 2000);
    check_refused(p, "implausible weights: series 'samples'");
    p = tiny_profile(FFILE_MAX_INTERVAL_NS); /* 2^61 ns in all, as far apart as allowed */
    add_one(p, 1, INT64_C(1) << 20, -FFILE_MAX_TIME_NS);
    add_one(p, 2, INT64_C(1) << 20, FFILE_MAX_TIME_NS);
    check_renders(p);
    p = tiny_profile(0); /* no interval: a sample counts 1 ms */
    add_one(p, 1, FFILE_MAX_TOTAL / 1000000, 0);
    add_one(p, 2, 1, 0);
    check_refused(p, "implausible weights");
    p = tiny_profile(0);
    add_one(p, 1, INT64_C(1) << 40, -FFILE_MAX_TIME_NS);
    add_one(p, 2, FFILE_MAX_TOTAL / 1000000 - (INT64_C(1) << 40), FFILE_MAX_TIME_NS);
    check_renders(p);

    /* times at the ends of int64_t overflowed the HTML timeline's span */
    p = tiny_profile(1000000);
    add_one(p, 1, 1, INT64_MIN);
    add_one(p, 2, 1, INT64_MAX);
    check_refused(p, "implausible sample time -9223372036854775808 ns");
    p = tiny_profile(1000000);
    add_one(p, 1, 1, FFILE_MAX_TIME_NS + 1);
    check_refused(p, "implausible sample time");

    /* a trace and a memory profile: 2^61 ns or bytes per series, over a recursive stack */
    for (int kind = PROFILE_MEMORY; kind <= PROFILE_TRACE; kind++) {
        p = tiny_profile(1000000);
        profile_info(p)->kind = (ProfileKind)kind;
        SeriesId ser[2];
        CHECK(profile_series(p, kind == PROFILE_TRACE ? "wall_ns" : "peak_bytes",
                             kind == PROFILE_TRACE ? "ns" : "bytes", &ser[0], &err) == 0);
        CHECK(profile_series(p, kind == PROFILE_TRACE ? "calls" : "allocated_bytes",
                             kind == PROFILE_TRACE ? "calls" : "bytes", &ser[1], &err) == 0);
        FrameId fg[64];
        for (size_t i = 0; i < ARRAY_LEN(fg); i++)
            fg[i] = (FrameId)(i % 2); /* f;g;f;g... */
        StackId deep;
        CHECK(profile_stack_path(p, fg, ARRAY_LEN(fg), &deep, &err) == 0);
        for (int i = 0; i < 1 << 17; i++) {
            ProfSample s = {.t_ns = i % 2 ? FFILE_MAX_TIME_NS : -FFILE_MAX_TIME_NS,
                            .stack = i % 3 ? deep : 2,
                            .series = ser[i % 2],
                            .weight = FFILE_MAX_WEIGHT};
            CHECK(profile_add_sample(p, &s, &err) == 0);
        }
        check_renders(p);
    }
}

int
main(void)
{
    CHECK(mkdtemp(tmpdir) != NULL);
    Err err;

    /* a streamed recording: three flushes with changes between them */
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    profile_info(p)->interval_ns = 10000000;
    profile_info(p)->start_unix_ns = 1700000000123456789LL;
    CHECK(profile_meta_set(p, "command", "python3 app.py \"<x>\"", &err) == 0);
    SeriesId ser;
    CHECK(profile_series(p, "samples", "samples", &ser, &err) == 0);
    CHECK(profile_series(p, "alloc_bytes", "bytes", &ser, &err) == 0);
    ProcId proc;
    ThreadId th[3];
    CHECK(profile_process(p, 4242, 1, NULL, &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 4242, "MainThread", &th[0], &err) == 0);
    CHECK(profile_thread(p, proc, 4243, NULL, &th[1], &err) == 0);
    FrameId f1 = add_frame(p, "main", "app.py", 10, FRAME_PY);
    FrameId f2 = add_frame(p, "h\xff\"<b>&;\n", "we;ird/\x01.py", 3, FRAME_PY);
    FrameId f3 = add_frame(p, "<idle>", "", 0, FRAME_MARKER);
    StackId st[4];
    FrameId path1[] = {f1, f2}, path2[] = {f1, f2, f2, f3};
    CHECK(profile_stack_path(p, path1, 2, &st[0], &err) == 0);
    CHECK(profile_stack_path(p, path2, 4, &st[1], &err) == 0);
    st[2] = PROFILE_ROOT;
    int64_t t = -5; /* times may start before the profile's start */
    add_samples(p, 1000, st, 3, 2, &t);

    const char *path = tmp_path("stream.ferret");
    FfileWriter *w = ffile_writer_open(path, &err);
    CHECK(w != NULL);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    uint64_t after1 = ffile_writer_bytes(w);
    CHECK(ffile_writer_flush(w, p, &err) == 0); /* nothing new: nothing written */
    CHECK_EQ_U64(ffile_writer_bytes(w), after1);

    /* second second: a renamed thread, a new thread and process, new frames, meta, info */
    CHECK(profile_thread(p, proc, 4243, "worker-1", &th[1], &err) == 0);
    CHECK(profile_process(p, 4242, 1, "python3 app.py", &proc, &err) == 0);
    ProcId child;
    CHECK(profile_process(p, 4300, 4242, "python3 -c pass", &child, &err) == 0);
    CHECK(profile_thread(p, child, 4300, "MainThread", &th[2], &err) == 0);
    FrameId f4 = add_frame(p, "child", "c.py", 7, FRAME_PY);
    FrameId path3[] = {f4};
    CHECK(profile_stack_path(p, path3, 1, &st[3], &err) == 0);
    CHECK(profile_meta_set(p, "python_version", "3.12.1", &err) == 0);
    CHECK(profile_meta_set(p, "command", "python3 app.py", &err) == 0);
    CHECK(profile_add_dropped(p, "torn", 5, &err) == 0);
    add_samples(p, 2000, st, 4, 3, &t);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    CHECK(ffile_writer_bytes(w) > after1);

    /* what a killed recorder leaves opens, marked incomplete, with everything flushed */
    size_t len;
    uint8_t *data = slurp(path, &len);
    Profile *q = ffile_read_mem(data, len, "killed", &err);
    CHECK(q != NULL);
    if (q) {
        check_same(p, q);
        CHECK_EQ_STR(profile_meta_get(q, "incomplete"), "1");
    }
    profile_free(q);

    /* a chunk past FFILE_CHUNK_TARGET is split: five strings of 1 MiB each */
    char *big = malloc(PROFILE_MAX_STR);
    for (int i = 0; i < 5; i++) {
        memset(big, 'a' + i, PROFILE_MAX_STR);
        StrId sid;
        CHECK(profile_str(p, big, PROFILE_MAX_STR, &sid, &err) == 0);
    }
    free(big);
    add_samples(p, 500, st, 4, 3, &t);
    profile_info(p)->duration_ns = t;
    CHECK(ffile_writer_close(w, p, &err) == 0);
    q = ffile_read(path, &err);
    CHECK(q != NULL);
    if (q) {
        check_same(p, q);
        CHECK(profile_meta_get(q, "incomplete") == NULL);
        CHECK_EQ_STR(profile_strp(q, profile_thread_at(q, th[1])->name), "worker-1");
    }
    profile_free(q);
    profile_free(p);

    /* a small file: every truncation either opens (at a chunk boundary, incomplete) or fails
     * with ERR_FORMAT; every flipped byte outside the minor version fails */
    p = profile_new(PROFILE_SAMPLED, &err);
    CHECK(profile_series(p, "samples", "samples", &ser, &err) == 0);
    CHECK(profile_process(p, 1, 0, "x", &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 1, "t", &th[0], &err) == 0);
    f1 = add_frame(p, "f", "f.py", 2, FRAME_PY);
    CHECK(profile_stack_path(p, &f1, 1, &st[0], &err) == 0);
    path = tmp_path("small.ferret");
    w = ffile_writer_open(path, &err);
    t = 0;
    add_samples(p, 10, st, 1, 1, &t);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    size_t boundary1 = (size_t)ffile_writer_bytes(w);
    add_samples(p, 10, st, 1, 1, &t);
    CHECK(ffile_writer_flush(w, p, &err) == 0);
    size_t boundary2 = (size_t)ffile_writer_bytes(w);
    CHECK(ffile_writer_close(w, p, &err) == 0);
    data = slurp(path, &len);
    CHECK(len > boundary2);
    int opened = 0, failed_format = 0;
    for (size_t cut = 0; cut < len; cut++) {
        q = ffile_read_mem(data, cut, "cut", &err);
        if (q) {
            opened++;
            CHECK(cut == 12 || cut == boundary1 || cut == boundary2);
            CHECK_EQ_STR(profile_meta_get(q, "incomplete"), "1");
            CHECK_EQ_SIZE(profile_nsamples(q), cut == 12 ? 0 : cut == boundary1 ? 10 : 20);
        } else {
            failed_format += err.kind == ERR_FORMAT;
        }
        profile_free(q);
    }
    CHECK_EQ_INT(opened, 3);
    CHECK_EQ_INT(failed_format, (int)len - 3);
    ffile_read_mem(data, 5, "cut", &err);
    CHECK(strstr(err.msg, "truncated") != NULL);
    ffile_read_mem(data, boundary1 + 20, "cut", &err);
    CHECK(strstr(err.msg, "truncated") != NULL);
    int opened_flipped = 0;
    for (size_t i = 0; i < len; i++) {
        data[i] ^= 0x10;
        q = ffile_read_mem(data, len, "flipped", &err);
        opened_flipped += q != NULL;
        CHECK(q != NULL || err.kind == ERR_FORMAT);
        CHECK(q == NULL || i == 10 || i == 11);
        profile_free(q);
        data[i] ^= 0x10;
    }
    CHECK_EQ_INT(opened_flipped, 2);
    data[boundary1 + 20] ^= 1;
    CHECK(ffile_read_mem(data, len, "flipped", &err) == NULL);
    CHECK(strstr(err.msg, "checksum mismatch") != NULL);
    data[boundary1 + 20] ^= 1;
    data[len] = 'D';
    CHECK(ffile_read_mem(data, len + 1, "longer", &err) == NULL);
    CHECK(strstr(err.msg, "data after the end marker") != NULL);
    profile_free(p);

    /* foreign and empty files say what they are */
    CHECK(ffile_read_mem((const uint8_t *)"", 0, "e.ferret", &err) == NULL);
    CHECK(strstr(err.msg, "e.ferret: the file is empty") != NULL);
    CHECK_EQ_INT(err.kind, ERR_FORMAT);
    CHECK(ffile_read_mem((const uint8_t *)"\x1f\x8b\x08\x00", 4, "x.pb.gz", &err) == NULL);
    CHECK(strstr(err.msg, "not a ferret profile (it is gzip data") != NULL);
    CHECK(ffile_read_mem((const uint8_t *)" {\"a\":1}", 8, "x.json", &err) == NULL);
    CHECK(strstr(err.msg, "JSON") != NULL);
    CHECK(ffile_read_mem((const uint8_t *)"\x89" "FERRET\n\x02\x00\x00\x00", 12, "new", &err) ==
          NULL);
    CHECK(strstr(err.msg, "format version 2 is not supported") != NULL);
    /* a chunk header claiming 4 GiB is refused as such, not as a truncated file */
    static const uint8_t huge[] = "\x89"
                                  "FERRET\n\x01\x00\x00\x00"
                                  "D\xff\xff\xff\xff\xff\xff\xff\xff\0\0\0\0";
    CHECK(ffile_read_mem(huge, sizeof huge - 1, "huge", &err) == NULL);
    CHECK(strstr(err.msg, "implausible chunk size (4294967295 bytes stored") != NULL);
    CHECK(ffile_read(tmp_path("missing.ferret"), &err) == NULL);
    CHECK(strstr(err.msg, "cannot open") != NULL);
    CHECK(ffile_read(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "is a directory") != NULL);

    /* a write that fails (ENOSPC) is reported, and close still frees the writer */
    w = ffile_writer_open("/dev/full", &err);
    if (w) {
        p = profile_new(PROFILE_SAMPLED, &err);
        int flushed = ffile_writer_flush(w, p, &err);
        int closed = ffile_writer_close(w, p, &err);
        CHECK(flushed < 0 && closed < 0);
        CHECK(strstr(err.msg, "/dev/full") != NULL);
        profile_free(p);
    } else {
        CHECK_EQ_INT(err.kind, ERR_IO);
    }
    CHECK(ffile_writer_open(tmp_path("no/such/dir.ferret"), &err) == NULL);
    CHECK(strstr(err.msg, "cannot create") != NULL);

    check_fd_taken(true);
    check_fd_taken(false);
    check_seal();
    check_bounds();

    unlink(tmp_path("stream.ferret"));
    unlink(tmp_path("small.ferret"));
    rmdir(tmpdir);
    return check_report();
}
