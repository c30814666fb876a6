/* SPDX-License-Identifier: MIT */
/* ffile_read.c: reads a .ferret file (docs/FORMAT.md) back into a Profile. The bytes are
 * untrusted: every length is checked against what is left, every id against the tables read
 * so far, every chunk against its CRC-32, and interning must give back the id the file
 * claims (so a file cannot make two ids mean one thing). Fuzzed by tests/fuzz/fuzz_ffile.c. */
#include "profile/ffile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <zlib.h>

#include "profile/ffile_fmt.h"
#include "util/varint.h"

typedef struct {
    const uint8_t *p, *end;
} Cur;

typedef struct {
    Profile *p;
    const char *name;
    Err *err;
    size_t chunk_no;
    uint64_t chunk_off;
    char *tmp; /* NUL-terminated copies of strings for the profile_*() calls taking char* */
    size_t tmp_cap;
    /* sample codec state, reset at every chunk */
    int64_t prev_t;
    ThreadId prev_thread;
    SeriesId prev_series;
    uint32_t gen;
    StackId *last_stack;
    uint32_t *last_gen;
    size_t last_cap;
    uint64_t wsum[PROFILE_MAX_SERIES]; /* summed weights, checked against FFILE_MAX_TOTAL */
} Rd;

static int bad(Rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A corrupted chunk: names the file, the chunk and its offset. Returns -1. */
static int
bad(Rd *r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(r->err, ERR_FORMAT, "%s: corrupted profile: chunk %zu at byte %llu: %s",
                   r->name, r->chunk_no, (unsigned long long)r->chunk_off, what);
}

static bool
get_uv(Cur *c, uint64_t *v)
{
    size_t n = varint_get(c->p, (size_t)(c->end - c->p), v);
    c->p += n;
    return n > 0;
}

static bool
get_sv(Cur *c, int64_t *v)
{
    uint64_t u;
    if (!get_uv(c, &u))
        return false;
    *v = zigzag_dec(u);
    return true;
}

static bool
get_u32(Cur *c, uint32_t *v, uint64_t max)
{
    uint64_t u;
    if (!get_uv(c, &u) || u > max)
        return false;
    *v = (uint32_t)u;
    return true;
}

static bool
get_i32(Cur *c, int32_t *v)
{
    int64_t s;
    if (!get_sv(c, &s) || s < INT32_MIN || s > INT32_MAX)
        return false;
    *v = (int32_t)s;
    return true;
}

static bool
get_bytes(Cur *c, const uint8_t **s, size_t *n)
{
    uint64_t len;
    if (!get_uv(c, &len) || len > (uint64_t)(c->end - c->p))
        return false;
    *s = c->p;
    *n = (size_t)len;
    c->p += len;
    return true;
}

/* A string from the file as a NUL-terminated copy (valid until the next call). */
static const char *
get_cstr(Rd *r, Cur *c)
{
    const uint8_t *s;
    size_t n;
    if (!get_bytes(c, &s, &n) || memchr(s, 0, n)) {
        bad(r, "bad string");
        return NULL;
    }
    if (n + 1 > r->tmp_cap) {
        char *t = realloc(r->tmp, n + 1);
        if (!t) {
            err_set(r->err, ERR_NOMEM, "out of memory reading %s", r->name);
            return NULL;
        }
        r->tmp = t;
        r->tmp_cap = n + 1;
    }
    memcpy(r->tmp, s, n);
    r->tmp[n] = '\0';
    return r->tmp;
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int
read_info(Rd *r, Cur *c)
{
    ProfileInfo in;
    uint64_t kind;
    if (!get_uv(c, &kind) || kind > PROFILE_TRACE || !get_sv(c, &in.interval_ns) ||
        !get_sv(c, &in.start_unix_ns) || !get_sv(c, &in.duration_ns) || !get_uv(c, &in.dropped))
        return bad(r, "bad info record");
    if (in.interval_ns < 0 || in.interval_ns > FFILE_MAX_INTERVAL_NS)
        return bad(r, "implausible sampling interval");
    in.kind = (ProfileKind)kind;
    *profile_info(r->p) = in;
    return 0;
}

static int
read_meta(Rd *r, Cur *c)
{
    const char *k = get_cstr(r, c);
    if (!k)
        return -1;
    char *key = strdup(k);
    if (!key)
        return err_set(r->err, ERR_NOMEM, "out of memory reading %s", r->name);
    const char *v = get_cstr(r, c);
    int rc = v ? profile_meta_set(r->p, key, v, r->err) : -1;
    free(key);
    return rc;
}

static int
read_str(Rd *r, Cur *c)
{
    const uint8_t *s;
    size_t n;
    if (!get_bytes(c, &s, &n) || n > PROFILE_MAX_STR)
        return bad(r, "bad string");
    size_t want = profile_nstrs(r->p);
    StrId id;
    if (profile_str(r->p, (const char *)s, n, &id, r->err) < 0)
        return -1;
    if (id != want)
        return bad(r, "string %zu repeats string %u", want, (unsigned)id);
    return 0;
}

static int
read_frame(Rd *r, Cur *c)
{
    ProfFrame f;
    uint64_t ns = profile_nstrs(r->p);
    if (!get_u32(c, &f.name, ns - 1) || !get_u32(c, &f.file, ns - 1) || !get_i32(c, &f.line) ||
        !get_i32(c, &f.fn_line))
        return bad(r, "bad frame");
    uint32_t kind;
    if (!get_u32(c, &kind, FRAME_KIND_COUNT - 1))
        return bad(r, "bad frame kind");
    f.kind = (uint8_t)kind;
    size_t want = profile_nframes(r->p);
    FrameId id;
    if (profile_frame(r->p, &f, &id, r->err) < 0)
        return -1;
    if (id != want)
        return bad(r, "frame %zu repeats frame %u", want, (unsigned)id);
    return 0;
}

static int
read_stack(Rd *r, Cur *c)
{
    size_t want = profile_nstacks(r->p);
    uint64_t delta;
    uint32_t frame;
    if (!get_uv(c, &delta) || delta == 0 || delta > want ||
        !get_u32(c, &frame, profile_nframes(r->p) ? profile_nframes(r->p) - 1 : 0) ||
        profile_nframes(r->p) == 0)
        return bad(r, "bad stack");
    StackId parent = (StackId)(want - delta);
    if (profile_stack_at(r->p, parent)->depth >= 2 * PROFILE_MAX_DEPTH)
        return bad(r, "stack deeper than %d frames", 2 * PROFILE_MAX_DEPTH);
    StackId id;
    if (profile_stack(r->p, parent, frame, &id, r->err) < 0)
        return -1;
    if (id != want)
        return bad(r, "stack %zu repeats stack %u", want, (unsigned)id);
    return 0;
}

static int
read_proc(Rd *r, Cur *c)
{
    uint64_t id;
    int32_t pid, ppid;
    uint32_t cmd;
    size_t n = profile_nprocs(r->p);
    if (!get_uv(c, &id) || id > n || !get_i32(c, &pid) || !get_i32(c, &ppid) ||
        !get_u32(c, &cmd, profile_nstrs(r->p) - 1))
        return bad(r, "bad process");
    if (id < n && profile_proc_at(r->p, (ProcId)id)->pid != pid)
        return bad(r, "process %llu changes its pid", (unsigned long long)id);
    ProcId got;
    if (profile_process(r->p, pid, ppid, profile_strp(r->p, cmd), &got, r->err) < 0)
        return -1;
    if (got != id)
        return bad(r, "process %llu repeats process %u", (unsigned long long)id, (unsigned)got);
    return 0;
}

static int
read_thread(Rd *r, Cur *c)
{
    uint64_t id, tid;
    uint32_t proc, name;
    size_t n = profile_nthreads(r->p);
    if (!get_uv(c, &id) || id > n || !profile_nprocs(r->p) ||
        !get_u32(c, &proc, profile_nprocs(r->p) - 1) || !get_uv(c, &tid) ||
        !get_u32(c, &name, profile_nstrs(r->p) - 1))
        return bad(r, "bad thread");
    if (id < n && (profile_thread_at(r->p, (ThreadId)id)->proc != proc ||
                   profile_thread_at(r->p, (ThreadId)id)->tid != tid))
        return bad(r, "thread %llu changes its identity", (unsigned long long)id);
    ThreadId got;
    if (profile_thread(r->p, proc, tid, profile_strp(r->p, name), &got, r->err) < 0)
        return -1;
    if (got != id)
        return bad(r, "thread %llu repeats thread %u", (unsigned long long)id, (unsigned)got);
    return 0;
}

static int
read_series(Rd *r, Cur *c)
{
    const char *n = get_cstr(r, c);
    if (!n)
        return -1;
    char *name = strdup(n);
    if (!name)
        return err_set(r->err, ERR_NOMEM, "out of memory reading %s", r->name);
    const char *unit = get_cstr(r, c);
    size_t want = profile_nseries(r->p);
    SeriesId id = 0;
    int rc = -1;
    if (want >= PROFILE_MAX_SERIES)
        bad(r, "more than %d series", PROFILE_MAX_SERIES);
    else if (unit && profile_series(r->p, name, unit, &id, r->err) == 0)
        rc = id == want ? 0 : bad(r, "series %zu repeats series %u", want, (unsigned)id);
    free(name);
    return rc;
}

static int
read_sample(Rd *r, Cur *c)
{
    size_t nt = profile_nthreads(r->p);
    if (ffile_grow_last(&r->last_stack, &r->last_gen, &r->last_cap, nt) < 0)
        return err_set(r->err, ERR_NOMEM, "out of memory reading %s", r->name);
    if (c->p >= c->end)
        return bad(r, "sample cut short");
    uint8_t h = *c->p++;
    ProfSample s = {.flags = h & FFILE_S_FLAGS, .thread = r->prev_thread,
                    .series = r->prev_series, .weight = 1};
    if (h & FFILE_S_FLAGS8) {
        if (c->p >= c->end)
            return bad(r, "sample cut short");
        s.flags = *c->p++;
    }
    if ((h & FFILE_S_THREAD) && !get_u32(c, &s.thread, UINT32_MAX))
        return bad(r, "bad sample thread");
    if (s.thread >= nt)
        return bad(r, "sample names thread %u of %zu", (unsigned)s.thread, nt);
    if (h & FFILE_S_SERIES) {
        if (c->p >= c->end)
            return bad(r, "sample cut short");
        s.series = *c->p++;
    }
    if (s.series >= profile_nseries(r->p))
        return bad(r, "sample names series %u of %zu", s.series, profile_nseries(r->p));
    StackId last = r->last_gen[s.thread] == r->gen ? r->last_stack[s.thread] : PROFILE_ROOT;
    s.stack = last;
    if (h & FFILE_S_STACK) {
        int64_t d;
        if (!get_sv(c, &d))
            return bad(r, "bad sample stack");
        int64_t st = (int64_t)last + d; /* |d| < 2^63 and last < 2^32: no overflow */
        if (d < -(int64_t)UINT32_MAX || d > (int64_t)UINT32_MAX || st < 0 ||
            st >= (int64_t)profile_nstacks(r->p))
            return bad(r, "sample names an unknown stack");
        s.stack = (StackId)st;
    }
    if ((h & FFILE_S_WEIGHT) && !get_sv(c, &s.weight))
        return bad(r, "bad sample weight");
    if (s.weight < 0) /* no recorder writes one: a share would go negative ("-150%") */
        return bad(r, "negative sample weight %" PRId64, s.weight);
    if (s.weight > FFILE_MAX_WEIGHT)
        return bad(r, "implausible sample weight %" PRId64, s.weight);
    r->wsum[s.series] += (uint64_t)s.weight; /* <= 2^61 + 2^44 */
    if (r->wsum[s.series] > (uint64_t)FFILE_MAX_TOTAL)
        return bad(r, "implausible weights: series %u adds up to more than 2^61", s.series);
    uint64_t dt;
    if (!get_uv(c, &dt))
        return bad(r, "bad sample time");
    s.t_ns = (int64_t)((uint64_t)r->prev_t + (uint64_t)zigzag_dec(dt));
    if (s.t_ns < -FFILE_MAX_TIME_NS || s.t_ns > FFILE_MAX_TIME_NS)
        return bad(r, "implausible sample time %" PRId64 " ns", s.t_ns);
    r->prev_t = s.t_ns;
    r->prev_thread = s.thread;
    r->prev_series = s.series;
    r->last_stack[s.thread] = s.stack;
    r->last_gen[s.thread] = r->gen;
    return profile_add_sample(r->p, &s, r->err);
}

static int
read_payload(Rd *r, Cur *c)
{
    r->prev_t = 0;
    r->prev_thread = 0;
    r->prev_series = 0;
    r->gen++;
    while (c->p < c->end) {
        uint64_t tag, count, len;
        if (!get_uv(c, &tag) || !get_uv(c, &count) || !get_uv(c, &len) ||
            len > (uint64_t)(c->end - c->p))
            return bad(r, "bad section header");
        Cur sec = {c->p, c->p + len};
        c->p += len;
        if (count > len)
            return bad(r, "section %llu claims %llu records in %llu bytes",
                       (unsigned long long)tag, (unsigned long long)count,
                       (unsigned long long)len);
        int (*rec)(Rd *, Cur *) = NULL;
        switch (tag) {
        case FFILE_SEC_INFO: rec = read_info; break;
        case FFILE_SEC_META: rec = read_meta; break;
        case FFILE_SEC_STRS: rec = read_str; break;
        case FFILE_SEC_FRAMES: rec = read_frame; break;
        case FFILE_SEC_STACKS: rec = read_stack; break;
        case FFILE_SEC_PROCS: rec = read_proc; break;
        case FFILE_SEC_THREADS: rec = read_thread; break;
        case FFILE_SEC_SERIES: rec = read_series; break;
        case FFILE_SEC_SAMPLES: rec = read_sample; break;
        default: continue; /* a later minor version's section: skipped */
        }
        for (uint64_t i = 0; i < count; i++)
            if (rec(r, &sec) < 0)
                return -1;
        if (sec.p != sec.end)
            return bad(r, "section %llu has %zu bytes left over", (unsigned long long)tag,
                       (size_t)(sec.end - sec.p));
    }
    return 0;
}

static int
check_end(Rd *r, Cur *c)
{
    const Profile *p = r->p;
    size_t have[] = {profile_nstrs(p),  profile_nframes(p),  profile_nstacks(p),
                     profile_nprocs(p), profile_nthreads(p), profile_nseries(p),
                     profile_nsamples(p)};
    for (size_t i = 0; i < sizeof have / sizeof have[0]; i++) {
        uint64_t v;
        if (!get_uv(c, &v))
            return bad(r, "bad end marker");
        if (v != have[i])
            return bad(r, "the end marker counts %llu records where the chunks hold %zu",
                       (unsigned long long)v, have[i]);
    }
    return 0;
}

/* The interval is known only once every chunk is read (the last INFO record wins): a series
 * counting samples stands for its weight times the interval, within FFILE_MAX_TOTAL. */
static int
check_totals(Rd *r)
{
    const ProfileInfo *in = profile_info_c(r->p);
    int64_t iv = in->interval_ns > 0 ? in->interval_ns : 1000000;
    for (SeriesId i = 0; i < profile_nseries(r->p); i++) {
        const char *unit = profile_series_unit(r->p, i);
        bool timed = in->kind == PROFILE_SAMPLED || strcmp(unit, "samples") == 0;
        if (timed && r->wsum[i] > (uint64_t)(FFILE_MAX_TOTAL / iv))
            return err_set(r->err, ERR_FORMAT,
                           "%s: corrupted profile: implausible weights: series '%s' stands for "
                           "more than 2^61 ns (%" PRIu64 " samples of %" PRId64 " ns)",
                           r->name, profile_series_name(r->p, i), r->wsum[i], iv);
    }
    return 0;
}

/* Whether a 13-byte chunk header can start a chunk (docs/FORMAT.md "Chunks"): a known tag
 * and lengths within what a writer makes, so that a reader neither allocates for nor reads
 * past a foreign header. Returns true, or false with what is wrong in why. */
static bool
chunk_header_ok(const uint8_t *h, char *why, size_t why_len)
{
    uint32_t stored = le32(h + 1), raw_len = le32(h + 5);
    if (h[0] != FFILE_CHUNK_RAW && h[0] != FFILE_CHUNK_DEFLATE && h[0] != FFILE_CHUNK_END)
        snprintf(why, why_len, "unknown chunk type %u", h[0]);
    else if (raw_len > FFILE_CHUNK_MAX_RAW || stored > compressBound(FFILE_CHUNK_MAX_RAW))
        snprintf(why, why_len, "implausible chunk size (%u bytes stored, %u unpacked)", stored,
                 raw_len);
    else
        return true;
    return false;
}

/* Says what a foreign file seems to be, for the message. */
static const char *
guess_kind(const uint8_t *d, size_t n)
{
    if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b)
        return " (it is gzip data: a pprof profile?)";
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
        i++;
    if (i < n && d[i] == '{' && memmem(d, n, "{\"schema\": ", 11) &&
        memmem(d, n, "\"ferret\": ", 10)) /* the start of `ferret bench --json` */
        return " (it is a ferret bench result: `ferret compare` reads it; with --profile its "
               "profiles are base64 in \"profile_ferret\")";
    if (i < n && (d[i] == '{' || d[i] == '['))
        return " (it is JSON: a speedscope or Chrome trace file?)";
    if (n >= 5 && memcmp(d, "<?xml", 5) == 0)
        return " (it is XML: an SVG report?)";
    if (n >= 5 && (memcmp(d, "<!DOC", 5) == 0 || memcmp(d, "<html", 5) == 0))
        return " (it is HTML: a ferret HTML report?)";
    return "";
}

Profile *
ffile_read_mem(const uint8_t *data, size_t len, const char *name, Err *err)
{
    if (len == 0) {
        err_set(err, ERR_FORMAT, "%s: the file is empty (not a ferret profile)", name);
        return NULL;
    }
    size_t cmp = len < FFILE_MAGIC_LEN ? len : FFILE_MAGIC_LEN;
    if (memcmp(data, FFILE_MAGIC, cmp) != 0) {
        err_set(err, ERR_FORMAT, "%s: not a ferret profile%s", name, guess_kind(data, len));
        return NULL;
    }
    if (len < FFILE_HEADER_LEN) {
        err_set(err, ERR_FORMAT, "%s: truncated: the file ends inside its header", name);
        return NULL;
    }
    unsigned major = data[8] | (unsigned)data[9] << 8;
    if (major != FFILE_VERSION_MAJOR) {
        err_set(err, ERR_FORMAT,
                "%s: format version %u is not supported (this ferret reads version %d)", name,
                major, FFILE_VERSION_MAJOR);
        return NULL;
    }
    Rd r = {.name = name, .err = err};
    r.p = profile_new(PROFILE_SAMPLED, err);
    if (!r.p)
        return NULL;
    uint8_t *raw = NULL;
    bool ended = false;
    int rc = -1;
    size_t off = FFILE_HEADER_LEN;
    while (off < len) {
        r.chunk_no++;
        r.chunk_off = off;
        if (ended) {
            bad(&r, "data after the end marker");
            goto done;
        }
        size_t left = len - off;
        if (left < FFILE_CHUNK_HEADER_LEN) {
            err_set(err, ERR_FORMAT, "%s: truncated: the file ends inside chunk %zu's header",
                    name, r.chunk_no);
            goto done;
        }
        const uint8_t *h = data + off;
        uint32_t stored = le32(h + 1), raw_len = le32(h + 5);
        char why[128];
        if (!chunk_header_ok(h, why, sizeof why)) {
            bad(&r, "%s", why);
            goto done;
        }
        if (stored > left - FFILE_CHUNK_HEADER_LEN) {
            err_set(err, ERR_FORMAT,
                    "%s: truncated: chunk %zu at byte %zu needs %u bytes, the file has %zu", name,
                    r.chunk_no, off, stored, left - FFILE_CHUNK_HEADER_LEN);
            goto done;
        }
        const uint8_t *body = h + FFILE_CHUNK_HEADER_LEN;
        uLong crc = crc32(0, h, 9);
        crc = crc32(crc, body, stored);
        if ((uint32_t)crc != le32(h + 9)) {
            bad(&r, "checksum mismatch");
            goto done;
        }
        const uint8_t *payload = body;
        if (h[0] == FFILE_CHUNK_DEFLATE) {
            if (raw_len > (uint64_t)stored * 1032 + 64) {
                bad(&r, "implausible unpacked size %u", raw_len);
                goto done;
            }
            free(raw);
            raw = malloc(raw_len ? raw_len : 1);
            if (!raw) {
                err_set(err, ERR_NOMEM, "out of memory reading %s", name);
                goto done;
            }
            uLongf got = raw_len;
            if (uncompress(raw, &got, body, stored) != Z_OK || got != raw_len) {
                bad(&r, "the compressed payload does not unpack");
                goto done;
            }
            payload = raw;
        } else if (raw_len != stored) {
            bad(&r, "stored and raw lengths differ");
            goto done;
        }
        Cur c = {payload, payload + raw_len};
        if (h[0] == FFILE_CHUNK_END) {
            if (check_end(&r, &c) < 0)
                goto done;
            ended = true;
        } else if (read_payload(&r, &c) < 0) {
            goto done;
        }
        off += FFILE_CHUNK_HEADER_LEN + stored;
    }
    if (check_totals(&r) < 0 || (!ended && profile_meta_set(r.p, "incomplete", "1", err) < 0))
        goto done;
    rc = 0;
done:
    free(raw);
    free(r.tmp);
    free(r.last_stack);
    free(r.last_gen);
    if (rc < 0) {
        profile_free(r.p);
        return NULL;
    }
    return r.p;
}

typedef struct {
    uint8_t *data;
    size_t len, cap;
} Input;

/* Makes room for n more bytes in in, exactly when exact (a regular file's known size). */
static int
reserve(Input *in, size_t n, bool exact)
{
    if (n <= in->cap - in->len)
        return 0;
    size_t cap = in->len + n;
    if (!exact && cap < in->cap * 2)
        cap = in->cap * 2;
    uint8_t *d = realloc(in->data, cap);
    if (!d)
        return -1;
    in->data = d;
    in->cap = cap;
    return 0;
}

/* Appends up to n more bytes of f to in (fewer at the end of the input). Returns how many, or
 * -1 with *err set. */
static ssize_t
read_more(FILE *f, const char *path, Input *in, size_t n, Err *err)
{
    if (reserve(in, n, false) < 0) {
        err_set(err, ERR_NOMEM, "out of memory reading %s", path);
        return -1;
    }
    size_t got = fread(in->data + in->len, 1, n, f);
    in->len += got;
    if (got < n && ferror(f)) {
        err_sys(err, errno, "reading %s", path);
        return -1;
    }
    return (ssize_t)got;
}

Profile *
ffile_read(const char *path, Err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_sys(err, errno, "cannot open %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        err_sys(err, errno, "cannot read %s", path);
        fclose(f);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        err_set(err, ERR_IO, "%s is a directory, not a ferret profile", path);
        fclose(f);
        return NULL;
    }
    /* Only what the format says comes next is read, a header, then each chunk's header and
     * its stored bytes: a foreign input (/dev/zero, a huge file, a pipe that never ends) stops
     * at its first bytes or at the first header that cannot start a chunk, rather than being
     * read until memory runs out; ffile_read_mem judges what was read and names the problem. */
    Input in = {0};
    Profile *p = NULL;
    ssize_t got = read_more(f, path, &in, FFILE_HEADER_LEN, err);
    if (got < 0)
        goto done;
    bool ferret = in.len == FFILE_HEADER_LEN &&
                  memcmp(in.data, FFILE_MAGIC, FFILE_MAGIC_LEN) == 0 &&
                  (in.data[8] | (unsigned)in.data[9] << 8) == FFILE_VERSION_MAJOR;
    if (!ferret && in.len == FFILE_HEADER_LEN && read_more(f, path, &in, 244, err) < 0)
        goto done; /* enough to say what it seems to be */
    if (ferret && S_ISREG(st.st_mode) && (uint64_t)st.st_size > in.len &&
        reserve(&in, (size_t)st.st_size - in.len + 1, true) < 0) {
        err_set(err, ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    while (ferret) {
        size_t at = in.len;
        if ((got = read_more(f, path, &in, FFILE_CHUNK_HEADER_LEN, err)) < 0)
            goto done;
        char why[128];
        if (got < FFILE_CHUNK_HEADER_LEN || !chunk_header_ok(in.data + at, why, sizeof why))
            break;
        bool end = in.data[at] == FFILE_CHUNK_END;
        size_t stored = le32(in.data + at + 1);
        if ((got = read_more(f, path, &in, stored, err)) < 0)
            goto done;
        if ((size_t)got < stored)
            break;
        if (end) { /* one byte more tells whether anything follows the end marker */
            if (read_more(f, path, &in, 1, err) < 0)
                goto done;
            break;
        }
    }
    p = ffile_read_mem(in.data ? in.data : (const uint8_t *)"", in.len, path, err);
done:
    free(in.data);
    fclose(f);
    return p;
}
