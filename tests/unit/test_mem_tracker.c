/* SPDX-License-Identifier: MIT */
/* test_mem_tracker.c: the tracker driven with synthetic events and fake Python frames,
 * checked through the real stream reader (memstream.c): the peak set at the right moment
 * (including churn while the heap sits at its peak), leaks, allocated totals and counts,
 * sampled weights that cancel exactly on free, mapped regions cut in pieces, a realloc
 * undone, native and interpreter markers, a stream cut short by a crash, the end written
 * at an exec and taken back when the exec fails, and threads hammering the tracker at once. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "mem/sampling.h"
#include "mem/tracker.h"
#include "profile/memstream.h"
#include "util/buf.h"

static int64_t fake_now;

static int64_t
clock_fake(void *ctx)
{
    (void)ctx;
    return fake_now;
}

/* A "code object" at address A, instruction I is function fA in prog.py at line I. */
static int
fake_frame(void *ctx, const PyRawFrame *f, Profile *p, FrameId *out, Err *err)
{
    (void)ctx;
    char name[32];
    snprintf(name, sizeof name, "f%lx", (unsigned long)f->code_addr);
    ProfFrame pf = {.kind = FRAME_PY, .line = f->instr, .fn_line = 1};
    if (profile_cstr(p, name, &pf.name, err) < 0 || profile_cstr(p, "prog.py", &pf.file, err) < 0)
        return -1;
    return profile_frame(p, &pf, out, err);
}

static int
fake_native(void *ctx, uintptr_t ret, char *buf, size_t n)
{
    (void)ctx;
    if (ret == 0xdead)
        return -1;
    snprintf(buf, n, "libfake.so");
    return 0;
}

static Tracker *
make(bool exact, double sample_bytes)
{
    TrackerConfig cfg = {.exact = exact, .sample_bytes = sample_bytes, .py_frame = fake_frame,
                         .native_name = fake_native, .now_ns = clock_fake};
    Err err;
    Tracker *t = tracker_new(&cfg, &err);
    CHECK(t != NULL);
    Buf b;
    buf_init(&b);
    buf_fini(&b);
    return t;
}

/* One Python frame: code address c at line l. */
static MemSite
site1(PyRawFrame *fr, uintptr_t c, int l)
{
    fr[0] = (PyRawFrame){c, l};
    return (MemSite){.frames = fr, .nframes = 1};
}

static Profile *
read_back(Buf *stream, MemStreamInfo *info)
{
    Err err;
    err_clear(&err);
    Profile *p = memstream_read((const uint8_t *)stream->data, stream->len, info, &err);
    if (!p)
        fprintf(stderr, "read failed: %s\n", err.msg);
    CHECK(p != NULL);
    return p;
}

/* Summed weight of series s over the stacks whose innermost frame is named leaf. */
static int64_t
leaf_sum(const Profile *p, MemSeries s, const char *leaf)
{
    int64_t sum = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample smp;
        profile_sample_at(p, i, &smp);
        if (smp.series != s || smp.stack == PROFILE_ROOT)
            continue;
        const ProfFrame *f = profile_frame_at(p, profile_stack_at(p, smp.stack)->frame);
        if (!leaf || strcmp(profile_strp(p, f->name), leaf) == 0)
            sum += smp.weight;
    }
    return sum;
}

static void
begin(Tracker *t, Buf *out)
{
    Err err;
    buf_init(out);
    CHECK_EQ_INT(tracker_header(t, out, 4242, 1, 1700000000000000000, 10000000, "3.11.7",
                                "python3 prog.py", &err),
                 0);
}

static void
test_exact_views(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s1 = site1(fr, 0xa, 10);
    fake_now = 1000;
    tracker_heap_add(t, 100);
    tracker_alloc(t, 0x1000, 100, &s1, NULL);
    MemSite s2 = site1(fr, 0xb, 20);
    tracker_heap_add(t, 200);
    tracker_alloc(t, 0x2000, 200, &s2, NULL);
    fake_now = 5000;
    CHECK(tracker_maybe_live(t, 0x2000));
    MemBlock blk;
    CHECK(tracker_free_block(t, 0x2000, &blk));
    CHECK_EQ_U64(blk.size, 200);
    tracker_heap_sub(t, 200);
    CHECK(!tracker_free_block(t, 0x2000, &blk)); /* already gone */
    Err err;
    CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    s1 = site1(fr, 0xa, 10);
    tracker_heap_add(t, 50);
    tracker_alloc(t, 0x3000, 50, &s1, NULL);
    CHECK_EQ_INT(tracker_heap(t), 150);
    CHECK_EQ_INT(tracker_peak_heap(t), 300);
    fake_now = 9000;
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    tracker_alloc(t, 0x4000, 1 << 20, &s1, NULL); /* after the end: ignored */
    MemStreamInfo info;
    Profile *p = read_back(&out, &info);
    if (p) {
        CHECK(info.ended && info.end == MEM_END_ATEXIT && !info.truncated);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "fa"), 100);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "fb"), 200);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_COUNT, "fb"), 1);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fa"), 150);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_COUNT, "fa"), 2);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fb"), 0);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_BYTES, "fa"), 150);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_BYTES, "fb"), 200);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_COUNT, "fa"), 2);
        CHECK_EQ_STR(profile_meta_get(p, "mem.peak_heap_bytes"), "300");
        CHECK_EQ_STR(profile_meta_get(p, "mem.peak_t_ns"), "1000");
        CHECK_EQ_STR(profile_meta_get(p, "mem.end"), "atexit");
        CHECK_EQ_STR(profile_meta_get(p, "mem.exit_heap_bytes"), "150");
        CHECK_EQ_STR(profile_meta_get(p, "mem.mode"), "exact");
        CHECK_EQ_STR(profile_meta_get(p, "command"), "python3 prog.py");
        CHECK_EQ_STR(profile_meta_get(p, "python_version"), "3.11.7");
        CHECK_EQ_INT(profile_info_c(p)->kind, PROFILE_MEMORY);
        CHECK_EQ_INT(profile_info_c(p)->duration_ns, 9000 - 0);
        SeriesId sid;
        CHECK(profile_series_find(p, "peak_bytes", &sid) && sid == MEM_S_PEAK_BYTES);
        CHECK_EQ_STR(profile_series_unit(p, MEM_S_LEAKED_COUNT), "count");
        /* fa's frame is prog.py line 10 */
        const ProfFrame *f = NULL;
        for (size_t i = 0; i < profile_nframes(p); i++)
            if (strcmp(profile_strp(p, profile_frame_at(p, (FrameId)i)->name), "fa") == 0)
                f = profile_frame_at(p, (FrameId)i);
        CHECK(f && f->line == 10 && strcmp(profile_strp(p, f->file), "prog.py") == 0);
        /* allocated samples are stamped with the chunk that saw them: fb's at 5000 */
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            ProfSample smp;
            profile_sample_at(p, i, &smp);
            if (smp.series == MEM_S_ALLOCATED_BYTES && smp.weight == 200)
                CHECK_EQ_INT(smp.t_ns, 5000);
        }
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

/* The heap sits at its peak (an arena) while objects come and go inside it: the peak set
 * is the largest attributed set seen while the heap was at the peak. */
static void
test_peak_window(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s;
    tracker_heap_add(t, 1000); /* the arena */
    s = site1(fr, 1, 1);
    tracker_alloc(t, 0x100, 100, &s, NULL);
    s = site1(fr, 2, 2);
    tracker_alloc(t, 0x200, 100, &s, NULL);
    tracker_free_block(t, 0x100, NULL); /* commits {f1 100, f2 100} */
    s = site1(fr, 3, 3);
    tracker_alloc(t, 0x300, 300, &s, NULL);
    tracker_free_block(t, 0x300, NULL); /* 400 > 200: commits {f2 100, f3 300} */
    tracker_free_block(t, 0x200, NULL); /* 100: no commit */
    tracker_heap_sub(t, 1000);
    s = site1(fr, 4, 4);
    tracker_heap_add(t, 900); /* below the peak: no new window */
    tracker_alloc(t, 0x400, 900, &s, NULL);
    Err err;
    CHECK_EQ_INT(tracker_finish(t, MEM_END_EXIT, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "f1"), 0);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "f2"), 100);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "f3"), 300);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "f4"), 0);
        CHECK_EQ_STR(profile_meta_get(p, "mem.peak_heap_bytes"), "1000");
        CHECK_EQ_STR(profile_meta_get(p, "mem.peak_attributed_bytes"), "400");
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, NULL), 900);
        CHECK_EQ_STR(profile_meta_get(p, "mem.end"), "exit");
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

/* A program still at its peak when the stream ends (a crash at the top): the last flush
 * carries the peak set. */
static void
test_peak_at_flush(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s = site1(fr, 7, 7);
    tracker_heap_add(t, 5000);
    tracker_alloc(t, 0x700, 5000, &s, NULL);
    Err err;
    CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "f7"), 5000);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f7"), 5000); /* live at the last flush */
        CHECK_EQ_STR(profile_meta_get(p, "mem.end"), "none");
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

static void
test_sampled_weights(void)
{
    const double mean = 1000;
    Tracker *t = make(false, mean);
    CHECK(!tracker_maybe_live(t, 0x5000));
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s = site1(fr, 0xc, 3);
    tracker_alloc(t, 0x5000, 1000, &s, NULL);
    tracker_alloc(t, 0x6000, 10, &s, NULL);
    CHECK(tracker_maybe_live(t, 0x5000));
    tracker_free_block(t, 0x6000, NULL);
    Err err;
    CHECK_EQ_INT(tracker_finish(t, MEM_END__EXIT, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        int64_t b1, n1, b2, n2;
        sampling_weights(1000, mean, &b1, &n1);
        sampling_weights(10, mean, &b2, &n2);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fc"), b1); /* the small one cancelled */
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_BYTES, "fc"), b1 + b2);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_COUNT, "fc"),
                     (n1 + n2 + MEM_COUNT_ONE / 2) / MEM_COUNT_ONE);
        CHECK_EQ_STR(profile_meta_get(p, "mem.mode"), "sampled");
        CHECK_EQ_STR(profile_meta_get(p, "mem.sample_bytes"), "1000");
        CHECK_EQ_STR(profile_meta_get(p, "mem.end"), "_exit");
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

static void
test_regions(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s = site1(fr, 0xd, 4);
    const uintptr_t base = 0x7f0000000000u;
    tracker_map(t, base, 4 * 4096, &s);
    tracker_map(t, base + 0x100000, 1 << 20, NULL); /* an arena: heap only */
    CHECK(tracker_is_mapped(t, base));
    CHECK_EQ_INT(tracker_heap(t), 4 * 4096 + (1 << 20));
    tracker_unmap(t, base + 4096, 4096); /* a hole in the middle */
    CHECK_EQ_INT(tracker_heap(t), 3 * 4096 + (1 << 20));
    tracker_unmap(t, base + 0x100000, 1 << 20);
    tracker_unmap(t, 0x1000, 4096); /* nothing there */
    Err err;
    CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fd"), 3 * 4096);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_COUNT, "fd"), 1);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_PEAK_BYTES, "fd"), 4 * 4096);
        CHECK_EQ_STR(profile_meta_get(p, "mem.peak_heap_bytes"), "1064960");
    }
    profile_free(p);
    tracker_unmap(t, base, 4 * 4096); /* both remaining pieces */
    CHECK_EQ_INT(tracker_heap(t), 0);
    CHECK(!tracker_is_mapped(t, base));
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fd"), 0);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_COUNT, "fd"), 0);
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);

    /* sampled: the pieces of a sampled mapping carry its estimate in proportion */
    t = make(false, 65536);
    begin(t, &out);
    tracker_map(t, base, 8 * 4096, &s);
    tracker_unmap(t, base, 4 * 4096);
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    p = read_back(&out, NULL);
    if (p) {
        int64_t b, n;
        sampling_weights(8 * 4096, 65536, &b, &n);
        CHECK_NEAR(leaf_sum(p, MEM_S_LEAKED_BYTES, "fd"), b / 2.0, 1);
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

static void
test_restore_and_markers(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[2] = {{0xe, 5}, {0xf, 6}};
    MemSite py = {.frames = fr, .nframes = 2};
    tracker_alloc(t, 0x800, 64, &py, NULL);
    MemBlock b;
    CHECK(tracker_free_block(t, 0x800, &b)); /* a realloc that then fails */
    tracker_restore_block(t, &b);
    uint32_t sid = 0;
    tracker_alloc(t, 0x880, 16, &py, &sid); /* the site's stack id, then reused directly */
    CHECK(sid != TRACKER_NO_STACK);
    tracker_alloc_stack(t, 0x890, 16, sid);
    tracker_alloc_stack(t, 0x8a0, 16, 1u << 30); /* an unknown stack id: ignored */
    tracker_free_block(t, 0x880, NULL);
    tracker_free_block(t, 0x890, NULL);
    MemSite nat = {.frames = fr, .nframes = 1, .native = true, .ret = 0x1234};
    tracker_alloc(t, 0x900, 4096, &nat, NULL);
    MemSite unk = {.native = true, .ret = 0xdead};
    tracker_alloc(t, 0xa00, 8, &unk, NULL);
    MemSite interp = {0};
    tracker_alloc(t, 0xb00, 16, &interp, NULL);
    PyRawFrame deep[1] = {{0x13, 9}};
    MemSite trunc = {.frames = deep, .nframes = 1, .truncated = true};
    tracker_alloc(t, 0xc00, 32, &trunc, NULL);
    tracker_alloc(t, 0xc00, 48, &trunc, NULL); /* a missed free: replaced, not double counted */
    Err err;
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "fe"), 64);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_COUNT, "fe"), 3);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_BYTES, "fe"), 64 + 16 + 16);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "<native: libfake.so>"), 4096);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "<native>"), 8);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "<interpreter>"), 16);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_COUNT, "f13"), 2);
        /* the native marker sits below the Python frame that called into C */
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            ProfSample smp;
            profile_sample_at(p, i, &smp);
            if (smp.series != MEM_S_LEAKED_BYTES || smp.weight != 4096)
                continue;
            FrameId fs[4];
            CHECK_EQ_SIZE(profile_stack_frames(p, smp.stack, fs, 4), 2);
            CHECK_EQ_STR(profile_strp(p, profile_frame_at(p, fs[0])->name), "fe");
            CHECK_EQ_INT(profile_frame_at(p, fs[1])->kind, FRAME_NATIVE);
        }
        /* the truncated stack has the marker at its root and the 48-byte block only */
        int64_t trunc_b = 0;
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            ProfSample smp;
            profile_sample_at(p, i, &smp);
            FrameId fs[4];
            if (smp.series == MEM_S_LEAKED_BYTES &&
                profile_stack_frames(p, smp.stack, fs, 4) == 2 &&
                strcmp(profile_strp(p, profile_frame_at(p, fs[0])->name), "<truncated>") == 0)
                trunc_b += smp.weight;
        }
        CHECK_EQ_INT(trunc_b, 48);
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

/* A crash mid-write: the reader keeps the complete chunks and flags the rest. */
static void
test_truncated_stream(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    PyRawFrame fr[1];
    MemSite s = site1(fr, 0x11, 1);
    tracker_alloc(t, 0x100, 1000, &s, NULL);
    Err err;
    CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    size_t first = out.len;
    s = site1(fr, 0x12, 2);
    tracker_alloc(t, 0x200, 2000, &s, NULL);
    tracker_tick(t, 123456);
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    for (size_t cut = first; cut < out.len; cut += 3) {
        MemStreamInfo info;
        Profile *p = memstream_read((const uint8_t *)out.data, cut, &info, &err);
        CHECK(p != NULL);
        if (!p)
            continue;
        CHECK(info.truncated == (cut > first));
        CHECK(!info.ended);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f11"), 1000);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f12"), 0);
        profile_free(p);
    }
    MemStreamInfo info;
    Profile *p = memstream_read((const uint8_t *)out.data, out.len, &info, &err);
    CHECK(p && info.ended && !info.truncated);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f12"), 2000);
        int64_t rss = 0;
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            ProfSample smp;
            profile_sample_at(p, i, &smp);
            if (smp.series == MEM_S_RSS_BYTES)
                rss = smp.weight;
        }
        CHECK_EQ_INT(rss, 123456);
    }
    profile_free(p);
    /* garbage is refused, not crashed on */
    CHECK(memstream_read((const uint8_t *)"FERRETM2", 8, NULL, &err) == NULL);
    CHECK_EQ_INT(err.kind, ERR_FORMAT);
    CHECK(memstream_read((const uint8_t *)"FERRETM1", 8, NULL, &err) == NULL); /* no header */
    out.data[MEMSTREAM_MAGIC_LEN] = 0x55; /* not a chunk */
    CHECK(memstream_read((const uint8_t *)out.data, out.len, NULL, &err) == NULL);
    CHECK_EQ_INT(err.kind, ERR_FORMAT);
    buf_fini(&out);
    tracker_free(t);
}

/* exec: a flush, then an end chunk that leaves the tracker running. Read as it stands it is
 * an end at the exec; cut off again (the exec failed) the recording goes on to a real end. */
static void
test_exec_end(void)
{
    fake_now = 0;
    Tracker *t = make(true, 0);
    PyRawFrame fr[1];
    MemSite s = site1(fr, 0x21, 1);
    Err err;
    MemStreamInfo info;
    Buf out;
    begin(t, &out);
    tracker_alloc(t, 0x100, 1000, &s, NULL);
    CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    size_t cut = out.len;
    fake_now = 2000;
    CHECK_EQ_INT(tracker_end_chunk(t, MEM_END_EXEC, &out, &err), 0);
    CHECK(out.len > cut && !tracker_finished(t));
    Profile *p = memstream_read((const uint8_t *)out.data, out.len, &info, &err);
    CHECK(p && info.ended && info.end == MEM_END_EXEC && !info.truncated);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f21"), 1000);
        CHECK_EQ_INT(profile_info_c(p)->duration_ns, 2000);
        CHECK_EQ_STR(profile_meta_get(p, "mem.end"), "exec");
        CHECK_EQ_STR(profile_meta_get(p, "mem.attributed_allocations"), "1");
    }
    profile_free(p);
    out.len = cut; /* the exec failed */
    s = site1(fr, 0x22, 2);
    fake_now = 3000;
    tracker_alloc(t, 0x200, 2000, &s, NULL);
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    p = memstream_read((const uint8_t *)out.data, out.len, &info, &err);
    CHECK(p && info.ended && info.end == MEM_END_ATEXIT);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f21"), 1000);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, "f22"), 2000);
        CHECK_EQ_STR(profile_meta_get(p, "mem.attributed_allocations"), "2");
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

typedef struct {
    Tracker *t;
    int id;
} Worker;

static void *
worker(void *arg)
{
    Worker *w = arg;
    PyRawFrame fr[1];
    MemSite s = site1(fr, 0x100 + (uintptr_t)w->id, 1);
    for (int round = 0; round < 200; round++) {
        for (uintptr_t i = 0; i < 100; i++) {
            uintptr_t a = ((uintptr_t)w->id << 32) + (i + 1) * 16;
            tracker_heap_add(w->t, 32);
            tracker_alloc(w->t, a, 32, &s, NULL);
        }
        for (uintptr_t i = 0; i < 100; i++) {
            uintptr_t a = ((uintptr_t)w->id << 32) + (i + 1) * 16;
            tracker_free_block(w->t, a, NULL);
            tracker_heap_sub(w->t, 32);
        }
    }
    return NULL;
}

static void
test_threads(void)
{
    Tracker *t = make(true, 0);
    Buf out;
    begin(t, &out);
    enum { NT = 4 };
    pthread_t th[NT];
    Worker w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (Worker){t, i + 1};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    Err err;
    for (int i = 0; i < 20; i++) {
        tracker_tick(t, 0);
        CHECK_EQ_INT(tracker_flush(t, &out, &err), 0);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(tracker_heap(t), 0);
    CHECK(tracker_peak_heap(t) >= 100 * 32 && tracker_peak_heap(t) <= NT * 100 * 32);
    CHECK_EQ_INT(tracker_finish(t, MEM_END_ATEXIT, &out, &err), 0);
    Profile *p = read_back(&out, NULL);
    if (p) {
        CHECK_EQ_INT(leaf_sum(p, MEM_S_LEAKED_BYTES, NULL), 0);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_COUNT, NULL), NT * 200 * 100);
        CHECK_EQ_INT(leaf_sum(p, MEM_S_ALLOCATED_BYTES, "f101"), 200 * 100 * 32);
        int64_t peak = leaf_sum(p, MEM_S_PEAK_BYTES, NULL);
        CHECK(peak >= 100 * 32 && peak <= NT * 100 * 32);
    }
    profile_free(p);
    buf_fini(&out);
    tracker_free(t);
}

int
main(void)
{
    test_exact_views();
    test_peak_window();
    test_peak_at_flush();
    test_sampled_weights();
    test_regions();
    test_restore_and_markers();
    test_truncated_stream();
    test_exec_end();
    test_threads();
    return check_report();
}
