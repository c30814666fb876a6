/* SPDX-License-Identifier: MIT */
/* profile.c: append-only interned tables and the sample series behind profile.h.
 * Samples are stored column-wise (time, stack, thread, flags, series, weight) so ten million
 * samples cost about 18 bytes each; the weight column is only allocated once a sample
 * with a weight other than 1 arrives. */
#include "profile/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

typedef struct {
    uint32_t off; /* into strdata */
    uint32_t len;
} StrRef;

typedef struct {
    char *key;
    char *value;
} Meta;

typedef struct {
    char *name;
    char *unit;
} Series;

struct Profile {
    ProfileInfo info;

    char *strdata; /* every string, NUL-terminated, back to back */
    size_t strdata_len, strdata_cap;
    StrRef *strs;
    size_t nstrs, strs_cap;
    IdSet str_set;

    ProfFrame *frames;
    size_t nframes, frames_cap;
    IdSet frame_set;

    ProfStack *stacks;
    size_t nstacks, stacks_cap;
    HashU64 stack_map; /* (parent << 32 | frame) -> stack id */

    ProfProcess *procs;
    size_t nprocs, procs_cap;
    HashU64 proc_map; /* pid -> proc id */

    ProfThread *threads;
    size_t nthreads, threads_cap;
    IdSet thread_set;

    Series series[PROFILE_MAX_SERIES];
    size_t nseries;

    int64_t *s_t;
    StackId *s_stack;
    ThreadId *s_thread;
    uint8_t *s_flags;
    SeriesId *s_series;
    int64_t *s_weight; /* NULL while every weight is 1 */
    size_t nsamples, samples_cap;

    Meta *meta;
    size_t nmeta, meta_cap;
};

/* Grows *arr (of elem bytes each) so it holds at least need elements. */
static int
grow(void **arr, size_t *cap, size_t need, size_t elem, Err *err)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return err_set(err, ERR_NOMEM, "profile table too large");
    void *p = realloc(*arr, n * elem);
    if (!p)
        return err_set(err, ERR_NOMEM, "out of memory growing the profile");
    *arr = p;
    *cap = n;
    return 0;
}

#define GROW(arr, cap, need, err) grow((void **)&(arr), &(cap), (need), sizeof *(arr), (err))

Profile *
profile_new(ProfileKind kind, Err *err)
{
    Profile *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(err, ERR_NOMEM, "out of memory creating a profile");
        return NULL;
    }
    p->info.kind = kind;
    idset_init(&p->str_set);
    idset_init(&p->frame_set);
    idset_init(&p->thread_set);
    hashu64_init(&p->stack_map);
    hashu64_init(&p->proc_map);
    StrId empty;
    if (profile_str(p, "", 0, &empty, err) < 0 || GROW(p->stacks, p->stacks_cap, 1, err) < 0) {
        profile_free(p);
        return NULL;
    }
    p->stacks[0] = (ProfStack){.parent = PROFILE_ROOT, .frame = 0, .depth = 0};
    p->nstacks = 1;
    return p;
}

void
profile_free(Profile *p)
{
    if (!p)
        return;
    free(p->strdata);
    free(p->strs);
    idset_fini(&p->str_set);
    free(p->frames);
    idset_fini(&p->frame_set);
    free(p->stacks);
    hashu64_fini(&p->stack_map);
    free(p->procs);
    hashu64_fini(&p->proc_map);
    free(p->threads);
    idset_fini(&p->thread_set);
    for (size_t i = 0; i < p->nseries; i++) {
        free(p->series[i].name);
        free(p->series[i].unit);
    }
    free(p->s_t);
    free(p->s_stack);
    free(p->s_thread);
    free(p->s_flags);
    free(p->s_series);
    free(p->s_weight);
    for (size_t i = 0; i < p->nmeta; i++) {
        free(p->meta[i].key);
        free(p->meta[i].value);
    }
    free(p->meta);
    free(p);
}

ProfileInfo *
profile_info(Profile *p)
{
    return &p->info;
}

const ProfileInfo *
profile_info_c(const Profile *p)
{
    return &p->info;
}

typedef struct {
    const char *s;
    size_t len;
} StrKey;

static bool
str_eq(const void *ctx, uint32_t id, const void *key)
{
    const Profile *p = ctx;
    const StrKey *k = key;
    return p->strs[id].len == k->len && memcmp(p->strdata + p->strs[id].off, k->s, k->len) == 0;
}

int
profile_str(Profile *p, const char *s, size_t len, StrId *out, Err *err)
{
    if (len > PROFILE_MAX_STR)
        len = PROFILE_MAX_STR;
    StrKey key = {s, len};
    uint64_t h = hash_bytes(s, len);
    if (idset_find(&p->str_set, h, str_eq, p, &key, out))
        return 0;
    if (p->strdata_len + len + 1 > UINT32_MAX)
        return err_set(err, ERR_NOMEM, "profile string table exceeds 4 GiB");
    /* s may be one of our own strings (a reader re-interning a stored name that holds a NUL
     * byte, so strlen sees a shorter, new string): keep its offset across the realloc */
    uintptr_t at = (uintptr_t)s, base = (uintptr_t)p->strdata;
    bool own = p->strdata && at >= base && at < base + p->strdata_len;
    if (GROW(p->strdata, p->strdata_cap, p->strdata_len + len + 1, err) < 0 ||
        GROW(p->strs, p->strs_cap, p->nstrs + 1, err) < 0)
        return -1;
    if (own)
        s = p->strdata + (at - base);
    if (len)
        memcpy(p->strdata + p->strdata_len, s, len);
    p->strdata[p->strdata_len + len] = '\0';
    StrId id = (StrId)p->nstrs;
    if (idset_add(&p->str_set, h, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory interning a string");
    p->strs[id] = (StrRef){(uint32_t)p->strdata_len, (uint32_t)len};
    p->strdata_len += len + 1;
    p->nstrs++;
    *out = id;
    return 0;
}

int
profile_cstr(Profile *p, const char *s, StrId *out, Err *err)
{
    return profile_str(p, s ? s : "", s ? strlen(s) : 0, out, err);
}

static uint64_t
frame_hash(const ProfFrame *f)
{
    uint64_t h = hash_u64(f->name);
    h = hash_combine(h, f->file);
    h = hash_combine(h, (uint32_t)f->line);
    h = hash_combine(h, (uint32_t)f->fn_line);
    return hash_combine(h, f->kind);
}

static bool
frame_eq(const void *ctx, uint32_t id, const void *key)
{
    const ProfFrame *a = &((const Profile *)ctx)->frames[id];
    const ProfFrame *b = key;
    return a->name == b->name && a->file == b->file && a->line == b->line &&
           a->fn_line == b->fn_line && a->kind == b->kind;
}

int
profile_frame(Profile *p, const ProfFrame *f, FrameId *out, Err *err)
{
    if (f->name >= p->nstrs || f->file >= p->nstrs || f->kind >= FRAME_KIND_COUNT)
        return err_set(err, ERR_INTERNAL, "frame refers to an unknown string");
    uint64_t h = frame_hash(f);
    if (idset_find(&p->frame_set, h, frame_eq, p, f, out))
        return 0;
    if (GROW(p->frames, p->frames_cap, p->nframes + 1, err) < 0)
        return -1;
    FrameId id = (FrameId)p->nframes;
    if (idset_add(&p->frame_set, h, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory interning a frame");
    p->frames[id] = *f;
    p->nframes++;
    *out = id;
    return 0;
}

int
profile_stack(Profile *p, StackId parent, FrameId frame, StackId *out, Err *err)
{
    if (parent >= p->nstacks || frame >= p->nframes)
        return err_set(err, ERR_INTERNAL, "stack refers to an unknown parent or frame");
    uint64_t key = (uint64_t)parent << 32 | frame;
    uint32_t *v = hashu64_find(&p->stack_map, key);
    if (v) {
        *out = *v;
        return 0;
    }
    if (p->nstacks >= UINT32_MAX - 1)
        return err_set(err, ERR_NOMEM, "too many distinct stacks");
    if (GROW(p->stacks, p->stacks_cap, p->nstacks + 1, err) < 0)
        return -1;
    StackId id = (StackId)p->nstacks;
    if (hashu64_put(&p->stack_map, key, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory interning a stack");
    p->stacks[id] = (ProfStack){parent, frame, p->stacks[parent].depth + 1};
    p->nstacks++;
    *out = id;
    return 0;
}

int
profile_stack_path(Profile *p, const FrameId *root_first, size_t n, StackId *out, Err *err)
{
    StackId s = PROFILE_ROOT;
    for (size_t i = 0; i < n; i++)
        if (profile_stack(p, s, root_first[i], &s, err) < 0)
            return -1;
    *out = s;
    return 0;
}

int
profile_process(Profile *p, int32_t pid, int32_t ppid, const char *command, ProcId *out,
                Err *err)
{
    StrId cmd = PROFILE_EMPTY;
    if (command && *command && profile_cstr(p, command, &cmd, err) < 0)
        return -1;
    uint32_t *v = hashu64_find(&p->proc_map, (uint32_t)pid);
    if (v) {
        ProfProcess *pr = &p->procs[*v];
        if (cmd != PROFILE_EMPTY)
            pr->command = cmd;
        if (ppid)
            pr->ppid = ppid;
        *out = *v;
        return 0;
    }
    if (GROW(p->procs, p->procs_cap, p->nprocs + 1, err) < 0)
        return -1;
    ProcId id = (ProcId)p->nprocs;
    if (hashu64_put(&p->proc_map, (uint32_t)pid, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory adding a process");
    p->procs[id] = (ProfProcess){pid, ppid, cmd};
    p->nprocs++;
    *out = id;
    return 0;
}

typedef struct {
    ProcId proc;
    uint64_t tid;
} ThreadKey;

static bool
thread_eq(const void *ctx, uint32_t id, const void *key)
{
    const ProfThread *t = &((const Profile *)ctx)->threads[id];
    const ThreadKey *k = key;
    return t->proc == k->proc && t->tid == k->tid;
}

int
profile_thread(Profile *p, ProcId proc, uint64_t tid, const char *name, ThreadId *out, Err *err)
{
    if (proc >= p->nprocs)
        return err_set(err, ERR_INTERNAL, "thread refers to an unknown process");
    StrId nm = PROFILE_EMPTY;
    if (name && *name && profile_cstr(p, name, &nm, err) < 0)
        return -1;
    ThreadKey key = {proc, tid};
    uint64_t h = hash_combine(hash_u64(proc), tid);
    if (idset_find(&p->thread_set, h, thread_eq, p, &key, out)) {
        if (nm != PROFILE_EMPTY)
            p->threads[*out].name = nm;
        return 0;
    }
    if (GROW(p->threads, p->threads_cap, p->nthreads + 1, err) < 0)
        return -1;
    ThreadId id = (ThreadId)p->nthreads;
    if (idset_add(&p->thread_set, h, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory adding a thread");
    p->threads[id] = (ProfThread){proc, tid, nm};
    p->nthreads++;
    *out = id;
    return 0;
}

int
profile_series(Profile *p, const char *name, const char *unit, SeriesId *out, Err *err)
{
    if (profile_series_find(p, name, out))
        return 0;
    if (p->nseries >= PROFILE_MAX_SERIES)
        return err_set(err, ERR_FORMAT, "too many series in one profile");
    char *n = strdup(name);
    char *u = strdup(unit ? unit : "");
    if (!n || !u) {
        free(n);
        free(u);
        return err_set(err, ERR_NOMEM, "out of memory adding a series");
    }
    p->series[p->nseries] = (Series){n, u};
    *out = (SeriesId)p->nseries++;
    return 0;
}

bool
profile_series_find(const Profile *p, const char *name, SeriesId *out)
{
    for (size_t i = 0; i < p->nseries; i++) {
        if (strcmp(p->series[i].name, name) == 0) {
            *out = (SeriesId)i;
            return true;
        }
    }
    return false;
}

/* Resizes one column to cap elements of elem bytes. */
static int
resize_column(void **col, size_t cap, size_t elem, Err *err)
{
    void *q = realloc(*col, cap * elem);
    if (!q)
        return err_set(err, ERR_NOMEM, "out of memory storing samples");
    *col = q;
    return 0;
}

/* Every sample column has samples_cap elements; the weight column only once it exists. */
static int
grow_samples(Profile *p, size_t cap, Err *err)
{
    if (cap > SIZE_MAX / sizeof(int64_t))
        return err_set(err, ERR_NOMEM, "too many samples");
    if (resize_column((void **)&p->s_t, cap, sizeof *p->s_t, err) < 0 ||
        resize_column((void **)&p->s_stack, cap, sizeof *p->s_stack, err) < 0 ||
        resize_column((void **)&p->s_thread, cap, sizeof *p->s_thread, err) < 0 ||
        resize_column((void **)&p->s_flags, cap, sizeof *p->s_flags, err) < 0 ||
        resize_column((void **)&p->s_series, cap, sizeof *p->s_series, err) < 0 ||
        (p->s_weight && resize_column((void **)&p->s_weight, cap, sizeof *p->s_weight, err) < 0))
        return -1;
    p->samples_cap = cap;
    return 0;
}

int
profile_add_sample(Profile *p, const ProfSample *s, Err *err)
{
    if (s->stack >= p->nstacks || s->thread >= p->nthreads || s->series >= p->nseries)
        return err_set(err, ERR_INTERNAL, "sample refers to an unknown stack, thread or series");
    size_t n = p->nsamples;
    if (n + 1 > p->samples_cap && grow_samples(p, p->samples_cap ? p->samples_cap * 2 : 1024, err) < 0)
        return -1;
    if (s->weight != 1 && !p->s_weight) {
        p->s_weight = malloc(p->samples_cap * sizeof *p->s_weight);
        if (!p->s_weight)
            return err_set(err, ERR_NOMEM, "out of memory storing sample weights");
        for (size_t i = 0; i < n; i++)
            p->s_weight[i] = 1;
    }
    p->s_t[n] = s->t_ns;
    p->s_stack[n] = s->stack;
    p->s_thread[n] = s->thread;
    p->s_flags[n] = s->flags;
    p->s_series[n] = s->series;
    if (p->s_weight)
        p->s_weight[n] = s->weight;
    p->nsamples++;
    return 0;
}

int
profile_meta_set(Profile *p, const char *key, const char *value, Err *err)
{
    char *v = strdup(value ? value : "");
    if (!v)
        return err_set(err, ERR_NOMEM, "out of memory setting metadata");
    for (size_t i = 0; i < p->nmeta; i++) {
        if (strcmp(p->meta[i].key, key) == 0) {
            free(p->meta[i].value);
            p->meta[i].value = v;
            return 0;
        }
    }
    char *k = strdup(key);
    if (!k || GROW(p->meta, p->meta_cap, p->nmeta + 1, err) < 0) {
        free(k);
        free(v);
        return err_set(err, ERR_NOMEM, "out of memory setting metadata");
    }
    p->meta[p->nmeta++] = (Meta){k, v};
    return 0;
}

int
profile_add_dropped(Profile *p, const char *reason, uint64_t n, Err *err)
{
    char key[128], val[32];
    snprintf(key, sizeof key, "dropped.%s", reason);
    const char *old = profile_meta_get(p, key);
    unsigned long long prev = old ? strtoull(old, NULL, 10) : 0;
    snprintf(val, sizeof val, "%llu", prev + (unsigned long long)n);
    p->info.dropped += n;
    return profile_meta_set(p, key, val, err);
}

size_t
profile_nstrs(const Profile *p)
{
    return p->nstrs;
}
size_t
profile_nframes(const Profile *p)
{
    return p->nframes;
}
size_t
profile_nstacks(const Profile *p)
{
    return p->nstacks;
}
size_t
profile_nprocs(const Profile *p)
{
    return p->nprocs;
}
size_t
profile_nthreads(const Profile *p)
{
    return p->nthreads;
}
size_t
profile_nseries(const Profile *p)
{
    return p->nseries;
}
size_t
profile_nsamples(const Profile *p)
{
    return p->nsamples;
}
size_t
profile_nmeta(const Profile *p)
{
    return p->nmeta;
}

const char *
profile_strp(const Profile *p, StrId id)
{
    return p->strdata + p->strs[id].off;
}

size_t
profile_strlen(const Profile *p, StrId id)
{
    return p->strs[id].len;
}

const ProfFrame *
profile_frame_at(const Profile *p, FrameId id)
{
    return &p->frames[id];
}

const ProfStack *
profile_stack_at(const Profile *p, StackId id)
{
    return &p->stacks[id];
}

const ProfProcess *
profile_proc_at(const Profile *p, ProcId id)
{
    return &p->procs[id];
}

const ProfThread *
profile_thread_at(const Profile *p, ThreadId id)
{
    return &p->threads[id];
}

const char *
profile_series_name(const Profile *p, SeriesId id)
{
    return p->series[id].name;
}

const char *
profile_series_unit(const Profile *p, SeriesId id)
{
    return p->series[id].unit;
}

void
profile_sample_at(const Profile *p, size_t i, ProfSample *out)
{
    out->t_ns = p->s_t[i];
    out->stack = p->s_stack[i];
    out->thread = p->s_thread[i];
    out->flags = p->s_flags[i];
    out->series = p->s_series[i];
    out->weight = p->s_weight ? p->s_weight[i] : 1;
}

int64_t
profile_sample_begin(const Profile *p, const ProfSample *s)
{
    int64_t iv = p->info.interval_ns;
    if (p->info.kind != PROFILE_SAMPLED || iv <= 0 || s->weight <= 1 || s->weight > INT64_MAX / iv)
        return s->t_ns;
    return s->t_ns - (s->weight - 1) * iv;
}

void
profile_meta_at(const Profile *p, size_t i, const char **key, const char **value)
{
    *key = p->meta[i].key;
    *value = p->meta[i].value;
}

const char *
profile_meta_get(const Profile *p, const char *key)
{
    for (size_t i = 0; i < p->nmeta; i++)
        if (strcmp(p->meta[i].key, key) == 0)
            return p->meta[i].value;
    return NULL;
}

size_t
profile_stack_frames(const Profile *p, StackId stack, FrameId *out, size_t max)
{
    size_t depth = p->stacks[stack].depth;
    /* walk leaf to root; frames deeper than max (counted from the root) are skipped */
    size_t i = depth;
    for (StackId s = stack; s != PROFILE_ROOT; s = p->stacks[s].parent) {
        i--;
        if (i < max)
            out[i] = p->stacks[s].frame;
    }
    return depth;
}

void
profile_filter_init(ProfFilter *f)
{
    memset(f, 0, sizeof *f);
    f->thread = -1;
}

bool
profile_filter_match(const ProfFilter *f, const ProfSample *s)
{
    if (s->series != f->series)
        return false;
    if (f->thread >= 0 && (int64_t)s->thread != f->thread)
        return false;
    if ((s->flags & f->flags_mask) != f->flags_want)
        return false;
    if (s->t_ns < f->t_from_ns)
        return false;
    if (f->t_to_ns > 0 && s->t_ns >= f->t_to_ns)
        return false;
    return true;
}

int64_t
profile_self_weights(const Profile *p, const ProfFilter *f, int64_t *self)
{
    memset(self, 0, p->nstacks * sizeof *self);
    int64_t sum = 0;
    bool plain = f->thread < 0 && f->flags_mask == 0 && f->t_from_ns <= 0 && f->t_to_ns <= 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        if (p->s_series[i] != f->series)
            continue;
        if (!plain) {
            ProfSample s;
            profile_sample_at(p, i, &s);
            if (!profile_filter_match(f, &s))
                continue;
        }
        int64_t w = p->s_weight ? p->s_weight[i] : 1;
        self[p->s_stack[i]] += w;
        sum += w;
    }
    return sum;
}

void
profile_fold_totals(const Profile *p, const int64_t *self, int64_t *total)
{
    memcpy(total, self, p->nstacks * sizeof *total);
    for (size_t i = p->nstacks; i-- > 1;)
        total[p->stacks[i].parent] += total[i];
}
