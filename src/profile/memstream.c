/* SPDX-License-Identifier: MIT */
/* memstream.c: reads the stream `ferret mem`'s tracker writes (memstream.h) into a
 * PROFILE_MEMORY profile: the peak set, the live set at the end (leaks), the allocated
 * totals (one sample per stack and chunk, so they can be windowed in time) and the
 * timeline. Every id, count and length is checked before use; a chunk cut short by a crash
 * is ignored, anything else malformed fails the read with ERR_FORMAT. */
#include "profile/memstream.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/varint.h"

typedef struct {
    const uint8_t *p;
    size_t n;
    bool bad;
} Cur;

static uint64_t
get_u(Cur *c)
{
    uint64_t v = 0;
    size_t k = c->bad ? 0 : varint_get(c->p, c->n, &v);
    if (!k) {
        c->bad = true;
        return 0;
    }
    c->p += k;
    c->n -= k;
    return v;
}

static int64_t
get_i(Cur *c) /* a non-negative int64 */
{
    uint64_t v = get_u(c);
    if (v > (uint64_t)INT64_MAX) {
        c->bad = true;
        return 0;
    }
    return (int64_t)v;
}

static int64_t
get_z(Cur *c)
{
    uint64_t v = get_u(c);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static const uint8_t *
get_bytes(Cur *c, size_t len)
{
    if (c->bad || len > c->n) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *b = c->p;
    c->p += len;
    c->n -= len;
    return b;
}

/* A count of entries that each take at least one byte cannot exceed what is left. */
static uint64_t
get_count(Cur *c)
{
    uint64_t v = get_u(c);
    if (v > c->n)
        c->bad = true;
    return c->bad ? 0 : v;
}

typedef struct {
    int64_t alloc_b, alloc_n, live_b, live_n;
} Counters;

typedef struct {
    uint32_t stack;
    int64_t bytes, count;
} PeakEntry;

typedef struct {
    Profile *p;
    MemStreamInfo *info;
    ThreadId thread;
    StrId *strs;
    size_t nstrs, strs_cap;
    FrameId *frames;
    size_t nframes, frames_cap;
    StackId *stacks;
    Counters *cnt; /* per stream stack */
    size_t nstacks, stacks_cap, cnt_cap;
    PeakEntry *peak;
    size_t npeak, peak_cap;
    int64_t peak_t, peak_heap, peak_attr;
    bool have_peak;
    int64_t last_t, end_t, end_heap;
    int64_t interval_ns;
} Reader;

#define GROW(arr, cap, need)                                                                       \
    grow_array((void **)&(arr), &(cap), (need), sizeof *(arr))

static int
grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*arr, n * elem);
    if (!q)
        return -1;
    *arr = q;
    *cap = n;
    return 0;
}

static int
bad(Err *err, const char *what)
{
    return err_set(err, ERR_FORMAT, "corrupt memory stream: %s", what);
}

static int
nomem(Err *err)
{
    return err_set(err, ERR_NOMEM, "out of memory reading the memory stream");
}

static int
add(Reader *r, MemSeries s, StackId stack, int64_t t, int64_t w, Err *err)
{
    if (w <= 0)
        return 0;
    ProfSample smp = {.t_ns = t, .stack = stack, .thread = r->thread, .series = (SeriesId)s,
                      .weight = w};
    return profile_add_sample(r->p, &smp, err);
}

static int64_t
whole(int64_t fx) /* fixed-point count to the nearest whole allocation */
{
    return (fx + MEMSTREAM_COUNT_ONE / 2) / MEMSTREAM_COUNT_ONE;
}

static int
set_meta_i(Profile *p, const char *key, int64_t v, Err *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return profile_meta_set(p, key, buf, err);
}

static int
read_header(Reader *r, Cur *c, Err *err)
{
    uint64_t version = get_u(c);
    if (!c->bad && version != MEMSTREAM_VERSION)
        return err_set(err, ERR_FORMAT, "memory stream version %" PRIu64 " is not supported",
                       version);
    int64_t pid = get_i(c), ppid = get_i(c), start = get_i(c);
    uint64_t flags = get_u(c);
    int64_t sample = get_i(c), interval = get_i(c);
    uint64_t vlen = get_u(c);
    const uint8_t *ver = get_bytes(c, vlen);
    uint64_t clen = get_u(c);
    const uint8_t *cmd = get_bytes(c, clen);
    if (c->bad || pid > INT32_MAX || ppid > INT32_MAX)
        return bad(err, "bad header");
    char *vs = strndup((const char *)ver, vlen), *cs = strndup((const char *)cmd, clen);
    int rc = -1;
    ProcId proc;
    if (!vs || !cs) {
        nomem(err);
        goto done;
    }
    ProfileInfo *info = profile_info(r->p);
    info->start_unix_ns = start;
    info->interval_ns = interval;
    r->interval_ns = interval;
    if (profile_process(r->p, (int32_t)pid, (int32_t)ppid, cs, &proc, err) < 0 ||
        profile_thread(r->p, proc, (uint64_t)pid, "all threads", &r->thread, err) < 0 ||
        profile_meta_set(r->p, "command", cs, err) < 0 ||
        (vs[0] && profile_meta_set(r->p, "python_version", vs, err) < 0) ||
        set_meta_i(r->p, "pid", pid, err) < 0 ||
        profile_meta_set(r->p, "mem.mode", flags & MS_FLAG_EXACT ? "exact" : "sampled", err) < 0 ||
        set_meta_i(r->p, "mem.sample_bytes", flags & MS_FLAG_EXACT ? 0 : sample, err) < 0 ||
        set_meta_i(r->p, "mem.timeline_interval_ns", interval, err) < 0)
        goto done;
    r->info->has_header = true;
    rc = 0;
done:
    free(vs);
    free(cs);
    return rc;
}

static int
read_strings(Reader *r, Cur *c, Err *err)
{
    uint64_t first = get_u(c), n = get_count(c);
    if (c->bad || first != r->nstrs)
        return bad(err, "strings out of order");
    if (GROW(r->strs, r->strs_cap, r->nstrs + n) < 0)
        return nomem(err);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = get_u(c);
        const uint8_t *s = get_bytes(c, len);
        if (c->bad)
            return bad(err, "string runs past its record");
        if (profile_str(r->p, (const char *)s, len, &r->strs[r->nstrs], err) < 0)
            return -1;
        r->nstrs++;
    }
    return 0;
}

static int
read_frames(Reader *r, Cur *c, Err *err)
{
    uint64_t first = get_u(c), n = get_count(c);
    if (c->bad || first != r->nframes)
        return bad(err, "frames out of order");
    if (GROW(r->frames, r->frames_cap, r->nframes + n) < 0)
        return nomem(err);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t kind = get_u(c), name = get_u(c), file = get_u(c);
        int64_t line = get_z(c), fn_line = get_z(c);
        if (c->bad || kind >= FRAME_KIND_COUNT || name >= r->nstrs || file >= r->nstrs ||
            line < INT32_MIN || line > INT32_MAX || fn_line < INT32_MIN || fn_line > INT32_MAX)
            return bad(err, "bad frame");
        ProfFrame f = {.name = r->strs[name], .file = r->strs[file], .line = (int32_t)line,
                       .fn_line = (int32_t)fn_line, .kind = (uint8_t)kind};
        if (profile_frame(r->p, &f, &r->frames[r->nframes], err) < 0)
            return -1;
        r->nframes++;
    }
    return 0;
}

static int
read_stacks(Reader *r, Cur *c, Err *err)
{
    uint64_t first = get_u(c), n = get_count(c);
    if (c->bad || first != r->nstacks)
        return bad(err, "stacks out of order");
    if (GROW(r->stacks, r->stacks_cap, r->nstacks + n) < 0 ||
        GROW(r->cnt, r->cnt_cap, r->nstacks + n) < 0)
        return nomem(err);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t parent = get_u(c), frame = get_u(c);
        if (c->bad || parent >= r->nstacks || frame >= r->nframes)
            return bad(err, "bad stack");
        StackId ps = r->stacks[parent], sid;
        if (profile_stack_at(r->p, ps)->depth >= PROFILE_MAX_DEPTH)
            return bad(err, "stack too deep");
        if (profile_stack(r->p, ps, r->frames[frame], &sid, err) < 0)
            return -1;
        r->stacks[r->nstacks] = sid;
        memset(&r->cnt[r->nstacks], 0, sizeof *r->cnt);
        r->nstacks++;
    }
    return 0;
}

static int
read_counters(Reader *r, Cur *c, Err *err)
{
    int64_t t = get_i(c);
    uint64_t n = get_count(c);
    if (c->bad)
        return bad(err, "bad counters");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t s = get_u(c);
        Counters v = {get_i(c), get_i(c), get_i(c), get_i(c)};
        if (c->bad || s >= r->nstacks)
            return bad(err, "bad counters");
        Counters *old = &r->cnt[s];
        /* allocated totals only grow; a sample per chunk keeps when they grew */
        if (add(r, MEM_S_ALLOCATED_BYTES, r->stacks[s], t, v.alloc_b - old->alloc_b, err) < 0 ||
            add(r, MEM_S_ALLOCATED_COUNT, r->stacks[s], t, whole(v.alloc_n) - whole(old->alloc_n),
                err) < 0)
            return -1;
        if (v.alloc_b > old->alloc_b)
            old->alloc_b = v.alloc_b;
        if (v.alloc_n > old->alloc_n)
            old->alloc_n = v.alloc_n;
        old->live_b = v.live_b;
        old->live_n = v.live_n;
    }
    if (t > r->last_t)
        r->last_t = t;
    return 0;
}

static int
read_peak(Reader *r, Cur *c, Err *err)
{
    int64_t t = get_i(c), heap = get_i(c), attr = get_i(c);
    uint64_t n = get_count(c);
    if (c->bad)
        return bad(err, "bad peak");
    if (GROW(r->peak, r->peak_cap, n) < 0)
        return nomem(err);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t s = get_u(c);
        int64_t b = get_i(c), k = get_i(c);
        if (c->bad || s >= r->nstacks)
            return bad(err, "bad peak entry");
        r->peak[i] = (PeakEntry){(uint32_t)s, b, k};
    }
    r->npeak = n;
    r->peak_t = t;
    r->peak_heap = heap;
    r->peak_attr = attr;
    r->have_peak = true;
    return 0;
}

static int
read_timeline(Reader *r, Cur *c, Err *err)
{
    uint64_t n = get_count(c);
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        int64_t t = get_i(c), heap = get_i(c), rss = get_i(c);
        if (c->bad)
            break;
        if (add(r, MEM_S_HEAP_BYTES, PROFILE_ROOT, t, heap, err) < 0 ||
            add(r, MEM_S_RSS_BYTES, PROFILE_ROOT, t, rss, err) < 0)
            return -1;
        if (t > r->last_t)
            r->last_t = t;
    }
    return c->bad ? bad(err, "bad timeline") : 0;
}

static int
read_meta(Reader *r, Cur *c, Err *err)
{
    uint64_t kl = get_u(c);
    const uint8_t *k = get_bytes(c, kl);
    uint64_t vl = get_u(c);
    const uint8_t *v = get_bytes(c, vl);
    if (c->bad || kl == 0 || kl > 128 || vl > 4096)
        return bad(err, "bad metadata");
    char key[160];
    memcpy(key, k, kl);
    key[kl] = '\0';
    if (strlen(key) != kl || strncmp(key, "mem.", 4) != 0) /* only the tracker's own keys */
        return bad(err, "bad metadata key");
    char *val = strndup((const char *)v, vl);
    if (!val)
        return nomem(err);
    int rc = profile_meta_set(r->p, key, val, err);
    free(val);
    return rc;
}

static int
read_end(Reader *r, Cur *c, Err *err)
{
    int64_t t = get_i(c);
    uint64_t reason = get_u(c);
    int64_t heap = get_i(c);
    if (c->bad || reason == 0 || reason >= MEM_END_COUNT)
        return bad(err, "bad end record");
    r->info->ended = true;
    r->info->end = (MemEndReason)reason;
    r->end_t = t;
    r->end_heap = heap;
    if (t > r->last_t)
        r->last_t = t;
    return 0;
}

static int
read_chunk(Reader *r, Cur *chunk, Err *err)
{
    while (chunk->n) {
        uint8_t type = *chunk->p;
        chunk->p++;
        chunk->n--;
        uint64_t len = get_u(chunk);
        const uint8_t *body = get_bytes(chunk, len);
        if (chunk->bad)
            return bad(err, "record runs past its chunk");
        Cur c = {body, len, false};
        if (type != MS_HEADER && !r->info->has_header)
            return bad(err, "no header");
        if (r->info->ended)
            return bad(err, "records after the end");
        int rc = 0;
        switch (type) {
        case MS_HEADER:
            rc = r->info->has_header ? bad(err, "two headers") : read_header(r, &c, err);
            break;
        case MS_STRINGS:
            rc = read_strings(r, &c, err);
            break;
        case MS_FRAMES:
            rc = read_frames(r, &c, err);
            break;
        case MS_STACKS:
            rc = read_stacks(r, &c, err);
            break;
        case MS_COUNTERS:
            rc = read_counters(r, &c, err);
            break;
        case MS_PEAK:
            rc = read_peak(r, &c, err);
            break;
        case MS_TIMELINE:
            rc = read_timeline(r, &c, err);
            break;
        case MS_META:
            rc = read_meta(r, &c, err);
            break;
        case MS_END:
            rc = read_end(r, &c, err);
            break;
        default: /* a later version's record: skip it */
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The views that are only known at the end: peak, leaks, and the metadata naming them. */
static int
finish(Reader *r, Err *err)
{
    Profile *p = r->p;
    if (r->have_peak) {
        for (size_t i = 0; i < r->npeak; i++) {
            StackId s = r->stacks[r->peak[i].stack];
            if (add(r, MEM_S_PEAK_BYTES, s, r->peak_t, r->peak[i].bytes, err) < 0 ||
                add(r, MEM_S_PEAK_COUNT, s, r->peak_t, whole(r->peak[i].count), err) < 0)
                return -1;
        }
        if (set_meta_i(p, "mem.peak_heap_bytes", r->peak_heap, err) < 0 ||
            set_meta_i(p, "mem.peak_t_ns", r->peak_t, err) < 0 ||
            set_meta_i(p, "mem.peak_attributed_bytes", r->peak_attr, err) < 0)
            return -1;
    }
    int64_t t_end = r->info->ended ? r->end_t : r->last_t;
    for (size_t s = 0; s < r->nstacks; s++) {
        if (add(r, MEM_S_LEAKED_BYTES, r->stacks[s], t_end, r->cnt[s].live_b, err) < 0 ||
            add(r, MEM_S_LEAKED_COUNT, r->stacks[s], t_end, whole(r->cnt[s].live_n), err) < 0)
            return -1;
    }
    static const char *const reasons[] = {"", "atexit", "exit", "_exit", "exec"};
    static_assert(sizeof reasons / sizeof reasons[0] == MEM_END_COUNT, "a name per MemEndReason");
    if (profile_meta_set(p, "mem.end", r->info->ended ? reasons[r->info->end] : "none", err) < 0 ||
        (r->info->ended && set_meta_i(p, "mem.exit_heap_bytes", r->end_heap, err) < 0))
        return -1;
    profile_info(p)->duration_ns = t_end;
    return 0;
}

Profile *
memstream_read(const uint8_t *data, size_t len, MemStreamInfo *info, Err *err)
{
    MemStreamInfo dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (len < MEMSTREAM_MAGIC_LEN || memcmp(data, MEMSTREAM_MAGIC, MEMSTREAM_MAGIC_LEN) != 0) {
        err_set(err, ERR_FORMAT, "not a ferret memory stream");
        return NULL;
    }
    Reader r = {.info = info};
    r.p = profile_new(PROFILE_MEMORY, err);
    if (!r.p)
        return NULL;
    int rc = -1;
    SeriesId sid;
#define X(sym, name, unit)                                                                         \
    if (profile_series(r.p, name, unit, &sid, err) < 0)                                            \
        goto done;
    MEM_SERIES(X)
#undef X
    if (GROW(r.strs, r.strs_cap, 1) < 0 || GROW(r.stacks, r.stacks_cap, 1) < 0 ||
        GROW(r.cnt, r.cnt_cap, 1) < 0) {
        nomem(err);
        goto done;
    }
    r.strs[0] = PROFILE_EMPTY;
    r.nstrs = 1;
    r.stacks[0] = PROFILE_ROOT;
    memset(&r.cnt[0], 0, sizeof r.cnt[0]);
    r.nstacks = 1;
    Cur c = {data + MEMSTREAM_MAGIC_LEN, len - MEMSTREAM_MAGIC_LEN, false};
    while (c.n) {
        if (*c.p != MS_CHUNK) {
            bad(err, "expected a chunk");
            goto done;
        }
        Cur h = {c.p + 1, c.n - 1, false};
        uint64_t clen = get_u(&h);
        if (h.bad || clen > h.n) { /* cut short by a crash: keep what came before */
            info->truncated = true;
            break;
        }
        Cur chunk = {h.p, clen, false};
        if (read_chunk(&r, &chunk, err) < 0)
            goto done;
        info->chunks++;
        c.p = h.p + clen;
        c.n = h.n - clen;
    }
    if (!info->has_header) {
        err_set(err, ERR_FORMAT, "the memory stream holds no recording");
        goto done;
    }
    if (finish(&r, err) < 0)
        goto done;
    rc = 0;
done:
    free(r.strs);
    free(r.frames);
    free(r.stacks);
    free(r.cnt);
    free(r.peak);
    if (rc < 0) {
        profile_free(r.p);
        return NULL;
    }
    return r.p;
}

Profile *
memstream_read_fd(int fd, MemStreamInfo *info, Err *err)
{
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            uint8_t *q = realloc(data, ncap);
            if (!q) {
                free(data);
                nomem(err);
                return NULL;
            }
            data = q;
            cap = ncap;
        }
        ssize_t got = pread(fd, data + len, cap - len, (off_t)len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(data);
            err_sys(err, errno, "reading the memory stream");
            return NULL;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    Profile *p = memstream_read(data, len, info, err);
    free(data);
    return p;
}

Profile *
memstream_read_file(const char *path, MemStreamInfo *info, Err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_sys(err, errno, "opening %s", path);
        return NULL;
    }
    Profile *p = memstream_read_fd(fd, info, err);
    close(fd);
    if (!p)
        err_context(err, "%s", path);
    return p;
}
