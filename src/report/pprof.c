/* SPDX-License-Identifier: MIT */
/* pprof.c: the profile.proto format of github.com/google/pprof (proto/profile.proto),
 * encoded here without a protobuf library and gzipped with zlib, as `go tool pprof`,
 * Pyroscope, Parca and Grafana read it. Every series except the tracer's "spans" timeline
 * becomes a sample type but those that are no stacks' weights: the tracer's "spans"
 * timeline and a memory profile's timeline gauges (heap_bytes, rss_bytes: one reading per
 * tick, which pprof would add up as if they were allocations); a sampled series with an
 * interval also gets a time column
 * (wall or cpu nanoseconds). Samples are aggregated per (stack, thread) and labelled with the
 * thread (and pid when there are several processes); a location is a frame (function and
 * line), a function is (name, file, first line). Strings pass through esc_clean: valid UTF-8
 * without control characters, as protobuf strings must be. */
#include "report/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile/summary.h"
#include "report/memview.h"
#include "util/escape.h"
#include "util/hash.h"
#include "util/satmath.h"
#include "util/varint.h"

/* profile.proto field numbers (message Profile, Sample, Label, Location, Line, Function,
 * ValueType). */
enum {
    PB_PROFILE_SAMPLE_TYPE = 1,
    PB_PROFILE_SAMPLE = 2,
    PB_PROFILE_LOCATION = 4,
    PB_PROFILE_FUNCTION = 5,
    PB_PROFILE_STRING_TABLE = 6,
    PB_PROFILE_TIME_NANOS = 9,
    PB_PROFILE_DURATION_NANOS = 10,
    PB_PROFILE_PERIOD_TYPE = 11,
    PB_PROFILE_PERIOD = 12,
    PB_PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    PB_VALUETYPE_TYPE = 1,
    PB_VALUETYPE_UNIT = 2,
    PB_SAMPLE_LOCATION_ID = 1,
    PB_SAMPLE_VALUE = 2,
    PB_SAMPLE_LABEL = 3,
    PB_LABEL_KEY = 1,
    PB_LABEL_STR = 2,
    PB_LABEL_NUM = 3,
    PB_LOCATION_ID = 1,
    PB_LOCATION_LINE = 4,
    PB_LINE_FUNCTION_ID = 1,
    PB_LINE_LINE = 2,
    PB_FUNCTION_ID = 1,
    PB_FUNCTION_NAME = 2,
    PB_FUNCTION_SYSTEM_NAME = 3,
    PB_FUNCTION_FILENAME = 4,
    PB_FUNCTION_START_LINE = 5,
};

enum { WT_VARINT = 0, WT_LEN = 2 };

#define PPROF_MAX_COLUMNS (2 * PROFILE_MAX_SERIES)
#define PPROF_MAX_LITERALS 16

static void
pb_varint(Buf *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    buf_append(b, tmp, varint_put(tmp, v));
}

static void
pb_key(Buf *b, int field, int wire)
{
    pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

/* An integer field; zero is the proto3 default and is left out. */
static void
pb_int(Buf *b, int field, int64_t v)
{
    if (v == 0)
        return;
    pb_key(b, field, WT_VARINT);
    pb_varint(b, (uint64_t)v);
}

static void
pb_bytes(Buf *b, int field, const void *data, size_t n)
{
    pb_key(b, field, WT_LEN);
    pb_varint(b, n);
    buf_append(b, data, n);
}

typedef struct {
    const Profile *p;
    Buf strtab;          /* encoded string_table entries */
    uint64_t nstr;       /* entries so far; entry 0 is "" */
    uint32_t *str_index; /* StrId -> string table index (0: not yet, except StrId 0) */
    const char *lit[PPROF_MAX_LITERALS];
    uint64_t lit_index[PPROF_MAX_LITERALS];
    size_t nlit;
    Buf scratch;
} Enc;

static uint64_t
add_string(Enc *e, const char *s, size_t n)
{
    buf_reset(&e->scratch);
    esc_clean(&e->scratch, s, n);
    pb_bytes(&e->strtab, PB_PROFILE_STRING_TABLE, e->scratch.data, e->scratch.len);
    return e->nstr++;
}

static uint64_t
str_of(Enc *e, StrId id)
{
    if (id != PROFILE_EMPTY && e->str_index[id] == 0)
        e->str_index[id] = (uint32_t)add_string(e, profile_strp(e->p, id), profile_strlen(e->p, id));
    return e->str_index[id];
}

/* Our own fixed strings (sample types, label keys): interned by pointer. */
static uint64_t
lit_of(Enc *e, const char *s)
{
    for (size_t i = 0; i < e->nlit; i++)
        if (e->lit[i] == s || strcmp(e->lit[i], s) == 0)
            return e->lit_index[i];
    uint64_t idx = add_string(e, s, strlen(s));
    if (e->nlit < PPROF_MAX_LITERALS) {
        e->lit[e->nlit] = s;
        e->lit_index[e->nlit++] = idx;
    }
    return idx;
}

static void
value_type(Enc *e, Buf *out, int field, const char *type, const char *unit, Buf *tmp)
{
    buf_reset(tmp);
    pb_int(tmp, PB_VALUETYPE_TYPE, (int64_t)lit_of(e, type));
    pb_int(tmp, PB_VALUETYPE_UNIT, (int64_t)lit_of(e, unit));
    pb_bytes(out, field, tmp->data, tmp->len);
}

/* pprof's conventional unit names for ours. */
static const char *
pprof_unit(const char *unit)
{
    if (strcmp(unit, "samples") == 0)
        return "count";
    if (strcmp(unit, "ns") == 0)
        return "nanoseconds";
    return unit;
}

/* Does series s weigh stacks (a sample type)? Not the tracer's timeline of spans, nor a
 * memory profile's timeline of readings. */
static bool
stack_weights(const Profile *p, SeriesId s)
{
    MemView v;
    if (strcmp(profile_series_name(p, s), "spans") == 0)
        return false;
    return profile_info_c(p)->kind != PROFILE_MEMORY || !memview_of_series(p, s, &v) ||
           v != MEMVIEW_TIMELINE;
}

int
pprof_encode(const Profile *p, const ReportOptions *opt, Buf *out, Err *err)
{
    const ProfileInfo *info = profile_info_c(p);
    size_t nser = profile_nseries(p), nstacks = profile_nstacks(p), nframes = profile_nframes(p);
    Enc e = {.p = p, .nstr = 1};
    buf_init(&e.strtab);
    buf_init(&e.scratch);
    Buf tmp, sub;
    buf_init(&tmp);
    buf_init(&sub);
    HashU64 rows;
    hashu64_init(&rows);
    Summary sum = {0};
    int64_t *vals = NULL, *zero = NULL;
    uint64_t *keys = NULL;
    uint8_t *frame_used = NULL, *func_used = NULL;
    size_t nrows = 0, rows_cap = 0;
    int rc = -1;
    pb_bytes(&e.strtab, PB_PROFILE_STRING_TABLE, "", 0);

    /* columns: one per series (the "spans" timeline excepted), plus time for sampled ones */
    int col_of[PROFILE_MAX_SERIES], time_col[PROFILE_MAX_SERIES];
    int ncols = 0, default_col = 0;
    bool on_cpu = (opt->flags_mask & SAMPLE_ON_CPU) && (opt->flags_want & SAMPLE_ON_CPU);
    for (SeriesId s = 0; s < nser; s++) {
        col_of[s] = time_col[s] = -1;
        if (!stack_weights(p, s))
            continue;
        col_of[s] = ncols++;
        if (s == opt->series)
            default_col = col_of[s];
        if (strcmp(profile_series_unit(p, s), "samples") == 0 && info->interval_ns > 0) {
            time_col[s] = ncols++;
            if (s == opt->series)
                default_col = time_col[s];
        }
    }
    e.str_index = calloc(profile_nstrs(p), sizeof *e.str_index);
    zero = calloc(nstacks, sizeof *zero);
    frame_used = calloc(nframes + 1, 1);
    if (!e.str_index || !zero || !frame_used)
        goto nomem;
    if (summary_build_from_self(p, zero, &sum, err) < 0)
        goto done;
    func_used = calloc(sum.nfuncs + 1, 1);
    if (!func_used)
        goto nomem;

    /* sample types */
    for (SeriesId s = 0; s < nser; s++) {
        if (col_of[s] < 0)
            continue;
        value_type(&e, out, PB_PROFILE_SAMPLE_TYPE, profile_series_name(p, s),
                   pprof_unit(profile_series_unit(p, s)), &tmp);
        if (time_col[s] >= 0)
            value_type(&e, out, PB_PROFILE_SAMPLE_TYPE, on_cpu ? "cpu" : "wall", "nanoseconds",
                       &tmp);
    }

    /* aggregate values per (stack, thread) */
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (col_of[s.series] < 0 || (s.flags & opt->flags_mask) != opt->flags_want)
            continue;
        uint64_t key = (uint64_t)s.stack << 32 | s.thread;
        uint32_t *row = hashu64_find(&rows, key);
        size_t r;
        if (row) {
            r = *row;
        } else {
            if (nrows == rows_cap) {
                size_t cap = rows_cap ? rows_cap * 2 : 256;
                int64_t *v = realloc(vals, cap * (size_t)ncols * sizeof *v);
                if (v)
                    vals = v;
                uint64_t *k = v ? realloc(keys, cap * sizeof *k) : NULL;
                if (!k)
                    goto nomem;
                keys = k;
                rows_cap = cap;
            }
            r = nrows++;
            if (hashu64_put(&rows, key, (uint32_t)r) < 0)
                goto nomem;
            keys[r] = key;
            memset(vals + r * (size_t)ncols, 0, (size_t)ncols * sizeof *vals);
        }
        int64_t *v = &vals[r * (size_t)ncols + col_of[s.series]];
        *v = sat_add_i64(*v, s.weight);
        if (time_col[s.series] >= 0) {
            int64_t *tv = &vals[r * (size_t)ncols + time_col[s.series]];
            *tv = sat_add_i64(*tv, sat_mul_i64(s.weight, info->interval_ns));
        }
    }

    /* samples: locations leaf first, values, thread labels */
    for (size_t r = 0; r < nrows; r++) {
        StackId stack = (StackId)(keys[r] >> 32);
        ThreadId th = (ThreadId)keys[r];
        buf_reset(&sub);
        buf_reset(&tmp);
        for (StackId s = stack; s != PROFILE_ROOT; s = profile_stack_at(p, s)->parent) {
            FrameId f = profile_stack_at(p, s)->frame;
            frame_used[f] = 1;
            pb_varint(&tmp, (uint64_t)f + 1);
        }
        if (tmp.len)
            pb_bytes(&sub, PB_SAMPLE_LOCATION_ID, tmp.data, tmp.len);
        buf_reset(&tmp);
        for (int c = 0; c < ncols; c++)
            pb_varint(&tmp, (uint64_t)vals[r * (size_t)ncols + c]);
        pb_bytes(&sub, PB_SAMPLE_VALUE, tmp.data, tmp.len);
        const ProfThread *t = profile_thread_at(p, th);
        buf_reset(&tmp);
        pb_int(&tmp, PB_LABEL_KEY, (int64_t)lit_of(&e, "thread_id"));
        pb_int(&tmp, PB_LABEL_NUM, (int64_t)t->tid);
        pb_bytes(&sub, PB_SAMPLE_LABEL, tmp.data, tmp.len);
        if (t->name != PROFILE_EMPTY) {
            buf_reset(&tmp);
            pb_int(&tmp, PB_LABEL_KEY, (int64_t)lit_of(&e, "thread_name"));
            pb_int(&tmp, PB_LABEL_STR, (int64_t)str_of(&e, t->name));
            pb_bytes(&sub, PB_SAMPLE_LABEL, tmp.data, tmp.len);
        }
        if (profile_nprocs(p) > 1) {
            buf_reset(&tmp);
            pb_int(&tmp, PB_LABEL_KEY, (int64_t)lit_of(&e, "pid"));
            pb_int(&tmp, PB_LABEL_NUM, profile_proc_at(p, t->proc)->pid);
            pb_bytes(&sub, PB_SAMPLE_LABEL, tmp.data, tmp.len);
        }
        pb_bytes(out, PB_PROFILE_SAMPLE, sub.data, sub.len);
        if (buf_failed(out) || buf_failed(&sub) || buf_failed(&tmp))
            goto nomem;
    }

    /* locations: one per frame, with one line */
    for (FrameId f = 0; f < nframes; f++) {
        if (!frame_used[f])
            continue;
        uint32_t fn = sum.func_of_frame[f];
        func_used[fn] = 1;
        buf_reset(&tmp);
        pb_int(&tmp, PB_LINE_FUNCTION_ID, (int64_t)fn + 1);
        pb_int(&tmp, PB_LINE_LINE, profile_frame_at(p, f)->line);
        buf_reset(&sub);
        pb_int(&sub, PB_LOCATION_ID, (int64_t)f + 1);
        pb_bytes(&sub, PB_LOCATION_LINE, tmp.data, tmp.len);
        pb_bytes(out, PB_PROFILE_LOCATION, sub.data, sub.len);
    }
    for (size_t fn = 0; fn < sum.nfuncs; fn++) {
        if (!func_used[fn])
            continue;
        const FuncStat *fs = &sum.funcs[fn];
        buf_reset(&sub);
        pb_int(&sub, PB_FUNCTION_ID, (int64_t)fn + 1);
        pb_int(&sub, PB_FUNCTION_NAME, (int64_t)str_of(&e, fs->name));
        pb_int(&sub, PB_FUNCTION_SYSTEM_NAME, (int64_t)str_of(&e, fs->name));
        pb_int(&sub, PB_FUNCTION_FILENAME, (int64_t)str_of(&e, fs->file));
        pb_int(&sub, PB_FUNCTION_START_LINE, fs->fn_line);
        pb_bytes(out, PB_PROFILE_FUNCTION, sub.data, sub.len);
    }

    pb_int(out, PB_PROFILE_TIME_NANOS, info->start_unix_ns);
    pb_int(out, PB_PROFILE_DURATION_NANOS, info->duration_ns);
    if (info->interval_ns > 0 && info->kind == PROFILE_SAMPLED) {
        value_type(&e, out, PB_PROFILE_PERIOD_TYPE, on_cpu ? "cpu" : "wall", "nanoseconds", &tmp);
        pb_int(out, PB_PROFILE_PERIOD, info->interval_ns);
    }
    /* default_sample_type names the type string of the chosen column */
    for (SeriesId s = 0; s < nser; s++) {
        if (col_of[s] >= 0 && col_of[s] == default_col)
            pb_int(out, PB_PROFILE_DEFAULT_SAMPLE_TYPE,
                   (int64_t)lit_of(&e, profile_series_name(p, s)));
        else if (time_col[s] >= 0 && time_col[s] == default_col)
            pb_int(out, PB_PROFILE_DEFAULT_SAMPLE_TYPE, (int64_t)lit_of(&e, on_cpu ? "cpu" : "wall"));
    }
    buf_append(out, e.strtab.data, e.strtab.len);
    if (buf_failed(out) || buf_failed(&e.strtab) || buf_failed(&e.scratch))
        goto nomem;
    rc = 0;
    goto done;
nomem:
    err_set(err, ERR_NOMEM, "out of memory encoding the pprof profile");
done:
    summary_fini(&sum);
    hashu64_fini(&rows);
    buf_fini(&e.strtab);
    buf_fini(&e.scratch);
    buf_fini(&tmp);
    buf_fini(&sub);
    free(e.str_index);
    free(zero);
    free(frame_used);
    free(func_used);
    free(vals);
    free(keys);
    return rc;
}

/* Writes data as one gzip member (RFC 1952) through zlib. */
static int
gzip_write(const void *data, size_t n, FILE *out, Err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(err, ERR_NOMEM, "out of memory compressing the pprof profile");
    unsigned char chunk[1 << 16];
    const unsigned char *in = data;
    size_t left = n;
    int rc = 0, zr;
    do {
        uInt feed = left > (1u << 30) ? (1u << 30) : (uInt)left;
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = feed;
        in += feed;
        left -= feed;
        int flush = left ? Z_NO_FLUSH : Z_FINISH;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof chunk;
            zr = deflate(&z, flush);
            size_t have = sizeof chunk - z.avail_out;
            if (have && fwrite(chunk, 1, have, out) != have) {
                rc = err_sys(err, errno, "writing the pprof profile");
                goto done;
            }
        } while (z.avail_out == 0);
    } while (left);
    if (zr != Z_STREAM_END)
        rc = err_set(err, ERR_INTERNAL, "compressing the pprof profile failed");
done:
    deflateEnd(&z);
    return rc;
}

static int
pprof_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    Buf b;
    buf_init(&b);
    int rc = pprof_encode(p, opt, &b, err);
    if (rc == 0)
        rc = gzip_write(b.data, b.len, out, err);
    buf_fini(&b);
    return rc;
}

const ReportWriter report_pprof = {
    .name = "pprof",
    .extension = ".pb.gz",
    .binary = true,
    .write = pprof_write,
};
