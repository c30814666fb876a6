/* SPDX-License-Identifier: MIT */
/* tracker.c: per-stack memory counters, the exact peak, mapped regions and the memstream
 * encoder behind tracker.h.
 *
 * The peak. The heap (every malloc/mmap block, pymalloc arenas included) is an atomic
 * counter. When it passes its maximum a "peak window" opens: the heap is at the peak and
 * stays there until something is returned to malloc or munmap. The live set reported for
 * the peak is the attributed live set at the moment inside the last window where it was
 * largest: it is "committed" (copied into peak_b/peak_n) just before any attributed block
 * is freed while the window is open and its total is above the last commit, and just
 * before the heap drops. A commit copies only the stacks changed since the previous one
 * (the dirty_peak list), so growing phases cost a few stacks per commit, not the table. */
#include "mem/tracker.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem/livetable.h"
#include "mem/sampling.h"
#include "util/hash.h"
#include "util/varint.h"

_Static_assert(MEMSTREAM_COUNT_ONE == MEM_COUNT_ONE, "stream and sampler count units differ");

enum { ST_DIRTY_PEAK = 1, ST_DIRTY_OUT = 2 };

typedef struct {
    int64_t alloc_b, alloc_n; /* allocated in total (estimated in sampled mode) */
    int64_t live_b, live_n;   /* live now */
    int64_t peak_b, peak_n;   /* live at the committed peak */
    uint8_t flags;
} StackStat;

typedef struct {
    uint64_t hash;
    uint32_t stack;
    uint32_t off;   /* into site_pool */
    uint32_t n;     /* frames; bit 31: truncated */
    uint32_t extra; /* 0 for a Python site, else the native marker's FrameId + 1 */
} SiteEntry;

#define SITE_MAX_ENTRIES (1u << 18)
#define SITE_MAX_POOL (1u << 20)
#define SITE_TRUNC (1u << 31)

typedef struct {
    uintptr_t start;
    uint64_t len;      /* bytes still mapped */
    uint64_t orig_len; /* length when mapped: the sampling probability's argument */
    uint32_t stack;
    bool attributed;
    int64_t charged_b, charged_n; /* what this piece adds to its stack's live counters */
} Region;

struct Tracker {
    struct TrackerFast fast; /* first: tracker_maybe_live() reads it through the pointer */
    uint8_t *counts;         /* live blocks per address hash (saturating); fast.bits mirrors
                                counts != 0 for the lock-free check */
    TrackerConfig cfg;
    atomic_bool lock;

    /* everything below is protected by lock, except the atomics */
    Profile *prof;
    LiveTable live;
    StackStat *st;
    size_t st_cap;
    uint32_t *dirty_peak, *dirty_out;
    size_t ndirty_peak, ndirty_out, dirty_cap;

    _Atomic int64_t heap;
    _Atomic int64_t peak_heap;
    _Atomic int64_t tick_max;
    atomic_bool pending; /* a peak window is open */
    int64_t window_best; /* attributed total at the last commit in this window; -1: none */
    int64_t attributed;  /* sum of live_b */
    int64_t peak_t_ns;   /* when the heap reached peak_heap */
    int64_t commit_heap, commit_t_ns, commit_attr;
    uint64_t peak_version, peak_sent;

    SiteEntry *sites;
    size_t site_cap, nsites;
    PyRawFrame *site_pool;
    size_t pool_len, pool_cap;
    HashU64 native_frames; /* return address -> FrameId */
    FrameId f_truncated, f_interp, f_unknown;

    Region *regions; /* sorted by start, disjoint */
    size_t nregions, regions_cap;

    size_t sent_strs, sent_frames, sent_stacks;
    Buf timeline; /* encoded points not yet flushed: owned by the ticking thread */
    uint64_t ntimeline;
    Buf meta; /* encoded MS_META records not yet flushed */
    int64_t t0_ns;
    bool finished;
    uint64_t dropped;
    bool reported_error;
    char error[200];
    uint64_t nallocs, nfrees;
};

static void meta_l(Tracker *t, const char *key, const char *value);
static void put_meta(Buf *c, Buf *r, const char *key, const char *value);

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
now_rel(const Tracker *t)
{
    int64_t now = t->cfg.now_ns ? t->cfg.now_ns(t->cfg.ctx) : mono_ns();
    return now - t->t0_ns;
}

/* A spin lock: the critical sections are a few hash probes, and in exact mode one is
 * taken per allocation and per free, where a mutex's two atomic operations and its
 * bookkeeping cost more. A holder that gets descheduled makes waiters yield the CPU. */
static void
lock(Tracker *t)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_exchange_explicit(&t->lock, true, memory_order_acquire))
            return;
        while (atomic_load_explicit(&t->lock, memory_order_relaxed)) {
            if (++spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
            }
        }
    }
}

static void
unlock(Tracker *t)
{
    atomic_store_explicit(&t->lock, false, memory_order_release);
}

/* Records the first internal failure; the event is dropped and counted. */
static void
fail(Tracker *t, const char *what)
{
    t->dropped++;
    if (!t->error[0]) {
        size_t n = strnlen(what, sizeof t->error - 1);
        memcpy(t->error, what, n);
        t->error[n] = '\0';
    }
}

static int
intern_marker(Profile *p, const char *name, uint8_t kind, FrameId *out, Err *err)
{
    ProfFrame f = {.kind = kind};
    if (profile_cstr(p, name, &f.name, err) < 0)
        return -1;
    return profile_frame(p, &f, out, err);
}

Tracker *
tracker_new(const TrackerConfig *cfg, Err *err)
{
    Tracker *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, ERR_NOMEM, "out of memory creating the memory tracker");
        return NULL;
    }
    t->cfg = *cfg;
    t->fast.exact = cfg->exact;
    livetable_init(&t->live);
    hashu64_init(&t->native_frames);
    buf_init(&t->timeline);
    buf_init(&t->meta);
    t->window_best = -1;
    t->sent_strs = 1;   /* the empty string every profile starts with */
    t->sent_stacks = 1; /* the empty stack */
    t->t0_ns = cfg->now_ns ? cfg->now_ns(cfg->ctx) : mono_ns();
    t->counts = calloc((size_t)1 << TRACKER_FILTER_BITS, 1);
    t->fast.bits = calloc((size_t)1 << (TRACKER_FILTER_BITS - 3), 1);
    t->prof = profile_new(PROFILE_MEMORY, err);
    if (!t->counts || !t->fast.bits || !t->prof ||
        intern_marker(t->prof, "<truncated>", FRAME_MARKER, &t->f_truncated, err) < 0 ||
        intern_marker(t->prof, "<interpreter>", FRAME_MARKER, &t->f_interp, err) < 0 ||
        intern_marker(t->prof, "<unknown frame>", FRAME_MARKER, &t->f_unknown, err) < 0) {
        if (!t->counts || !t->fast.bits)
            err_set(err, ERR_NOMEM, "out of memory creating the memory tracker");
        tracker_free(t);
        return NULL;
    }
    return t;
}

void
tracker_free(Tracker *t)
{
    if (!t)
        return;
    profile_free(t->prof);
    livetable_fini(&t->live);
    free(t->st);
    free(t->dirty_peak);
    free(t->dirty_out);
    free(t->sites);
    free(t->site_pool);
    hashu64_fini(&t->native_frames);
    free(t->regions);
    buf_fini(&t->timeline);
    buf_fini(&t->meta);
    free(t->counts);
    free((void *)t->fast.bits);
    free(t);
}

/* --- per-stack counters and the peak (lock held) ------------------------------------ */

static int
ensure_stats(Tracker *t)
{
    size_t need = profile_nstacks(t->prof);
    if (need <= t->st_cap)
        return 0;
    size_t cap = t->st_cap ? t->st_cap : 256;
    while (cap < need)
        cap *= 2;
    StackStat *st = realloc(t->st, cap * sizeof *st);
    uint32_t *dp = realloc(t->dirty_peak, cap * sizeof *dp);
    if (dp)
        t->dirty_peak = dp;
    uint32_t *dout = realloc(t->dirty_out, cap * sizeof *dout);
    if (dout)
        t->dirty_out = dout;
    if (st)
        t->st = st;
    if (!st || !dp || !dout)
        return -1;
    memset(st + t->st_cap, 0, (cap - t->st_cap) * sizeof *st);
    t->st_cap = cap;
    t->dirty_cap = cap;
    return 0;
}

static void
mark(Tracker *t, uint32_t s)
{
    StackStat *x = &t->st[s];
    if (!(x->flags & ST_DIRTY_PEAK)) {
        x->flags |= ST_DIRTY_PEAK;
        t->dirty_peak[t->ndirty_peak++] = s;
    }
    if (!(x->flags & ST_DIRTY_OUT)) {
        x->flags |= ST_DIRTY_OUT;
        t->dirty_out[t->ndirty_out++] = s;
    }
}

static void
commit(Tracker *t)
{
    for (size_t i = 0; i < t->ndirty_peak; i++) {
        StackStat *x = &t->st[t->dirty_peak[i]];
        x->peak_b = x->live_b;
        x->peak_n = x->live_n;
        x->flags &= (uint8_t)~ST_DIRTY_PEAK;
    }
    t->ndirty_peak = 0;
    t->window_best = t->attributed;
    t->commit_attr = t->attributed;
    t->commit_heap = atomic_load_explicit(&t->peak_heap, memory_order_relaxed);
    t->commit_t_ns = t->peak_t_ns;
    t->peak_version++;
}

/* Before the attributed live set shrinks or the heap leaves the peak. */
static void
maybe_commit(Tracker *t)
{
    if (atomic_load_explicit(&t->pending, memory_order_relaxed) && t->attributed > t->window_best)
        commit(t);
}

static void
stat_add(Tracker *t, uint32_t s, int64_t b, int64_t n)
{
    StackStat *x = &t->st[s];
    x->alloc_b += b;
    x->alloc_n += n;
    x->live_b += b;
    x->live_n += n;
    t->attributed += b;
    mark(t, s);
}

static void
stat_sub(Tracker *t, uint32_t s, int64_t b, int64_t n)
{
    maybe_commit(t);
    StackStat *x = &t->st[s];
    x->live_b -= b;
    x->live_n -= n;
    t->attributed -= b;
    mark(t, s);
}

static void
new_peak_locked(Tracker *t)
{
    int64_t h = atomic_load_explicit(&t->heap, memory_order_relaxed);
    if (h <= atomic_load_explicit(&t->peak_heap, memory_order_relaxed))
        return;
    atomic_store_explicit(&t->peak_heap, h, memory_order_relaxed);
    t->peak_t_ns = now_rel(t);
    t->window_best = -1;
    atomic_store_explicit(&t->pending, true, memory_order_relaxed);
}

/* Adds n to the heap and to the timeline's running maximum; true at a new peak. */
static bool
heap_bump(Tracker *t, uint64_t n)
{
    int64_t h = atomic_fetch_add_explicit(&t->heap, (int64_t)n, memory_order_relaxed) + (int64_t)n;
    int64_t m = atomic_load_explicit(&t->tick_max, memory_order_relaxed);
    while (h > m &&
           !atomic_compare_exchange_weak_explicit(&t->tick_max, &m, h, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    return h > atomic_load_explicit(&t->peak_heap, memory_order_relaxed);
}

static void
heap_add_l(Tracker *t, uint64_t n)
{
    if (heap_bump(t, n))
        new_peak_locked(t);
}

static void
heap_sub_l(Tracker *t, uint64_t n)
{
    if (atomic_load_explicit(&t->pending, memory_order_relaxed)) {
        maybe_commit(t);
        atomic_store_explicit(&t->pending, false, memory_order_relaxed);
    }
    atomic_fetch_sub_explicit(&t->heap, (int64_t)n, memory_order_relaxed);
}

void
tracker_heap_add(Tracker *t, uint64_t n)
{
    if (heap_bump(t, n)) {
        lock(t);
        if (!t->finished)
            new_peak_locked(t);
        unlock(t);
    }
}

void
tracker_heap_sub(Tracker *t, uint64_t n)
{
    if (atomic_load_explicit(&t->pending, memory_order_relaxed)) {
        lock(t);
        if (!t->finished && atomic_load_explicit(&t->pending, memory_order_relaxed)) {
            maybe_commit(t);
            atomic_store_explicit(&t->pending, false, memory_order_relaxed);
        }
        unlock(t);
    }
    atomic_fetch_sub_explicit(&t->heap, (int64_t)n, memory_order_relaxed);
}

int64_t
tracker_heap(const Tracker *t)
{
    return atomic_load_explicit(&((Tracker *)t)->heap, memory_order_relaxed);
}

int64_t
tracker_peak_heap(const Tracker *t)
{
    return atomic_load_explicit(&((Tracker *)t)->peak_heap, memory_order_relaxed);
}

/* --- sites -> stacks (lock held) ---------------------------------------------------- */

static uint64_t
site_hash(const MemSite *s, uint32_t extra)
{
    uint64_t h = 0x243F6A8885A308D3ULL ^ ((uint64_t)s->nframes << 32 | extra) ^ s->truncated;
    for (size_t i = 0; i < s->nframes; i++) {
        h = (h ^ s->frames[i].code_addr) * 0x9E3779B97F4A7C15ULL;
        h = (h ^ (uint32_t)s->frames[i].instr) * 0xC2B2AE3D27D4EB4FULL;
    }
    return hash_u64(h);
}

static bool
site_eq(const Tracker *t, const SiteEntry *e, const MemSite *s, uint32_t extra)
{
    if ((e->n & ~SITE_TRUNC) != s->nframes || !(e->n & SITE_TRUNC) != !s->truncated ||
        e->extra != extra)
        return false;
    const PyRawFrame *f = t->site_pool + e->off;
    for (size_t i = 0; i < s->nframes; i++)
        if (f[i].code_addr != s->frames[i].code_addr || f[i].instr != s->frames[i].instr)
            return false;
    return true;
}

static void
site_reset(Tracker *t)
{
    memset(t->sites, 0, t->site_cap * sizeof *t->sites);
    t->nsites = 0;
    t->pool_len = 0;
}

/* Remembers site -> stack. Failing to is harmless: the next lookup resolves again. */
static void
site_put(Tracker *t, uint64_t h, const MemSite *s, uint32_t extra, uint32_t stack)
{
    if (t->nsites >= SITE_MAX_ENTRIES || t->pool_len + s->nframes > SITE_MAX_POOL)
        site_reset(t);
    if ((t->nsites + 1) * 2 > t->site_cap) {
        size_t ncap = t->site_cap ? t->site_cap * 2 : 1024;
        SiteEntry *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return;
        for (size_t i = 0; i < t->site_cap; i++) {
            if (!t->sites[i].hash)
                continue;
            size_t j = t->sites[i].hash & (ncap - 1);
            while (ns[j].hash)
                j = (j + 1) & (ncap - 1);
            ns[j] = t->sites[i];
        }
        free(t->sites);
        t->sites = ns;
        t->site_cap = ncap;
    }
    if (t->pool_len + s->nframes > t->pool_cap) {
        size_t ncap = t->pool_cap ? t->pool_cap : 4096;
        while (ncap < t->pool_len + s->nframes)
            ncap *= 2;
        PyRawFrame *np = realloc(t->site_pool, ncap * sizeof *np);
        if (!np)
            return;
        t->site_pool = np;
        t->pool_cap = ncap;
    }
    if (s->nframes)
        memcpy(t->site_pool + t->pool_len, s->frames, s->nframes * sizeof *s->frames);
    size_t j = h & (t->site_cap - 1);
    while (t->sites[j].hash)
        j = (j + 1) & (t->site_cap - 1);
    t->sites[j] = (SiteEntry){h, stack, (uint32_t)t->pool_len,
                              (uint32_t)s->nframes | (s->truncated ? SITE_TRUNC : 0), extra};
    t->pool_len += s->nframes;
    t->nsites++;
}

/* The native marker frame for a return address. May drop and retake the lock (the name
 * lookup takes the loader's lock, which a thread inside dlopen holds while it mallocs). */
static int
native_frame(Tracker *t, uintptr_t ret, FrameId *out, Err *err)
{
    uint32_t *v = hashu64_find(&t->native_frames, ret);
    if (v) {
        *out = *v;
        return 0;
    }
    char name[200] = "";
    if (t->cfg.native_name) {
        unlock(t);
        if (t->cfg.native_name(t->cfg.ctx, ret, name, sizeof name) < 0)
            name[0] = '\0';
        lock(t);
    }
    char label[256];
    if (name[0])
        snprintf(label, sizeof label, "<native: %s>", name);
    else
        snprintf(label, sizeof label, "<native>");
    if (intern_marker(t->prof, label, FRAME_NATIVE, out, err) < 0)
        return -1;
    if (hashu64_put(&t->native_frames, ret, *out) < 0)
        return err_set(err, ERR_NOMEM, "out of memory caching a native frame");
    return 0;
}

static int
site_stack(Tracker *t, const MemSite *s, uint32_t *out, Err *err)
{
    uint32_t extra = 0;
    FrameId marker = 0;
    if (s->native) {
        if (native_frame(t, s->ret, &marker, err) < 0)
            return -1;
        extra = marker + 1;
    }
    uint64_t h = site_hash(s, extra);
    if (!h)
        h = 1;
    if (t->site_cap) {
        size_t j = h & (t->site_cap - 1);
        while (t->sites[j].hash) {
            if (t->sites[j].hash == h && site_eq(t, &t->sites[j], s, extra)) {
                *out = t->sites[j].stack;
                return 0;
            }
            j = (j + 1) & (t->site_cap - 1);
        }
    }
    FrameId fids[MEM_MAX_FRAMES + 2];
    size_t n = 0, nf = s->nframes < MEM_MAX_FRAMES ? s->nframes : MEM_MAX_FRAMES;
    if (s->truncated || nf < s->nframes)
        fids[n++] = t->f_truncated;
    for (size_t i = nf; i-- > 0;) {
        Err ferr;
        err_clear(&ferr);
        if (!t->cfg.py_frame || t->cfg.py_frame(t->cfg.ctx, &s->frames[i], t->prof, &fids[n], &ferr) < 0)
            fids[n] = t->f_unknown;
        n++;
    }
    if (s->native)
        fids[n++] = marker;
    else if (nf == 0)
        fids[n++] = t->f_interp;
    StackId sid;
    if (profile_stack_path(t->prof, fids, n, &sid, err) < 0)
        return -1;
    if (ensure_stats(t) < 0)
        return err_set(err, ERR_NOMEM, "out of memory growing the stack counters");
    site_put(t, h, s, extra, sid);
    *out = sid;
    return 0;
}

int
tracker_frame_file(Tracker *t, const PyRawFrame *f, char *buf, size_t n)
{
    int rc = -1;
    lock(t);
    FrameId id;
    Err err;
    if (n && t->cfg.py_frame && t->cfg.py_frame(t->cfg.ctx, f, t->prof, &id, &err) == 0) {
        StrId file = profile_frame_at(t->prof, id)->file;
        size_t len = profile_strlen(t->prof, file);
        if (len >= n)
            len = n - 1;
        memcpy(buf, profile_strp(t->prof, file), len);
        buf[len] = '\0';
        rc = 0;
    }
    unlock(t);
    return rc;
}

/* --- attributed blocks ------------------------------------------------------------ */

static void
filter_inc(Tracker *t, uintptr_t addr)
{
    if (t->fast.exact)
        return;
    size_t h = tracker_filter_slot(addr);
    if (t->counts[h] == 0)
        atomic_fetch_or_explicit(&t->fast.bits[h >> 3], (uint8_t)(1u << (h & 7)),
                                 memory_order_relaxed);
    if (t->counts[h] < UINT8_MAX)
        t->counts[h]++;
}

static void
filter_dec(Tracker *t, uintptr_t addr)
{
    if (t->fast.exact)
        return;
    size_t h = tracker_filter_slot(addr);
    if (t->counts[h] == 0 || t->counts[h] == UINT8_MAX) /* a saturated count stays */
        return;
    if (--t->counts[h] == 0)
        atomic_fetch_and_explicit(&t->fast.bits[h >> 3], (uint8_t)~(1u << (h & 7)),
                                  memory_order_relaxed);
}

static double
mean_of(const Tracker *t)
{
    return t->cfg.exact ? 0 : t->cfg.sample_bytes;
}

static void
block_remove_stats(Tracker *t, uint64_t size, uint32_t stack)
{
    int64_t b = (int64_t)size, n = MEM_COUNT_ONE;
    if (!t->cfg.exact)
        sampling_weights(size, t->cfg.sample_bytes, &b, &n);
    stat_sub(t, stack, b, n);
}

/* Adds a live block at a known stack (lock held). */
static void
alloc_l(Tracker *t, uintptr_t addr, uint64_t size, uint32_t stack)
{
    LiveOld old;
    if (livetable_put(&t->live, addr, size, stack, &old) < 0) {
        fail(t, "out of memory growing the live-allocation table");
        return;
    }
    if (old.present) /* a block whose free went by unseen: it is not live any more */
        block_remove_stats(t, old.size, old.stack);
    else
        filter_inc(t, addr);
    int64_t b = (int64_t)size, n = MEM_COUNT_ONE;
    if (!t->cfg.exact)
        sampling_weights(size, t->cfg.sample_bytes, &b, &n);
    stat_add(t, stack, b, n);
    t->nallocs++;
}

void
tracker_alloc(Tracker *t, uintptr_t addr, uint64_t size, const MemSite *site, uint32_t *stack)
{
    uint32_t sid = TRACKER_NO_STACK;
    lock(t);
    if (addr && !t->finished) {
        Err err;
        err_clear(&err);
        if (site_stack(t, site, &sid, &err) < 0) {
            fail(t, err.msg);
            sid = TRACKER_NO_STACK;
        } else {
            alloc_l(t, addr, size, sid);
        }
    }
    unlock(t);
    if (stack)
        *stack = sid;
}

void
tracker_alloc_stack(Tracker *t, uintptr_t addr, uint64_t size, uint32_t stack)
{
    lock(t);
    if (addr && !t->finished && stack < profile_nstacks(t->prof))
        alloc_l(t, addr, size, stack);
    unlock(t);
}

const _Atomic uint8_t *
tracker_live_bits(const Tracker *t)
{
    return t->fast.exact ? NULL : t->fast.bits;
}

bool
tracker_free_block(Tracker *t, uintptr_t addr, MemBlock *out)
{
    lock(t);
    uint64_t size;
    uint32_t stack;
    bool found = !t->finished && livetable_take(&t->live, addr, &size, &stack);
    if (found) {
        filter_dec(t, addr);
        block_remove_stats(t, size, stack);
        t->nfrees++;
        if (out)
            *out = (MemBlock){addr, size, stack};
    }
    unlock(t);
    return found;
}

void
tracker_restore_block(Tracker *t, const MemBlock *b)
{
    lock(t);
    if (!t->finished) {
        if (livetable_put(&t->live, b->addr, b->size, b->stack, NULL) == 0) {
            filter_inc(t, b->addr);
            int64_t wb, wn;
            sampling_weights(b->size, mean_of(t), &wb, &wn);
            /* undo the free: live again, but not allocated a second time */
            StackStat *x = &t->st[b->stack];
            x->live_b += wb;
            x->live_n += wn;
            t->attributed += wb;
            mark(t, b->stack);
        } else {
            fail(t, "out of memory restoring a block after a failed realloc");
        }
    }
    unlock(t);
}

/* --- mapped regions (lock held) ------------------------------------------------- */

/* The estimate for len bytes of r still mapped: the same fraction of the allocation's. */
static int64_t
region_bytes(const Tracker *t, const Region *r, uint64_t len)
{
    int64_t wb, wn;
    sampling_weights(r->orig_len, mean_of(t), &wb, &wn);
    return r->orig_len ? (int64_t)((double)wb * ((double)len / (double)r->orig_len) + 0.5) : 0;
}

static int64_t
region_count(const Tracker *t, const Region *r)
{
    int64_t wb, wn;
    sampling_weights(r->orig_len, mean_of(t), &wb, &wn);
    return wn;
}

/* First region whose end is above addr. */
static size_t
region_lower(const Tracker *t, uintptr_t addr)
{
    size_t lo = 0, hi = t->nregions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->regions[mid].start + t->regions[mid].len <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
region_insert(Tracker *t, size_t at, const Region *r)
{
    if (t->nregions == t->regions_cap) {
        size_t nc = t->regions_cap ? t->regions_cap * 2 : 64;
        Region *nr = realloc(t->regions, nc * sizeof *nr);
        if (!nr)
            return -1;
        t->regions = nr;
        t->regions_cap = nc;
    }
    memmove(t->regions + at + 1, t->regions + at, (t->nregions - at) * sizeof *t->regions);
    t->regions[at] = *r;
    t->nregions++;
    return 0;
}

/* Moves r's charge to (b, n), taking the difference off its stack's live counters. */
static void
region_charge(Tracker *t, Region *r, int64_t b, int64_t n)
{
    if (r->attributed && (r->charged_b != b || r->charged_n != n))
        stat_sub(t, r->stack, r->charged_b - b, r->charged_n - n);
    r->charged_b = b;
    r->charged_n = n;
}

static void
unmap_l(Tracker *t, uintptr_t addr, uint64_t len)
{
    uintptr_t end = addr + len;
    uint64_t gone = 0;
    size_t i = region_lower(t, addr);
    while (i < t->nregions && t->regions[i].start < end) {
        Region *r = &t->regions[i];
        uintptr_t rs = r->start, re = r->start + r->len;
        uintptr_t cs = rs > addr ? rs : addr, ce = re < end ? re : end;
        gone += ce - cs;
        if (cs == rs && ce == re) { /* all of it */
            region_charge(t, r, 0, 0);
            memmove(r, r + 1, (t->nregions - i - 1) * sizeof *r);
            t->nregions--;
            continue;
        }
        if (cs == rs) { /* the head */
            r->start = ce;
            r->len = re - ce;
            region_charge(t, r, region_bytes(t, r, r->len), r->charged_n);
        } else if (ce == re) { /* the tail */
            r->len = cs - rs;
            region_charge(t, r, region_bytes(t, r, r->len), r->charged_n);
        } else { /* the middle: split in two; the head keeps the count */
            Region tail = *r;
            tail.start = ce;
            tail.len = re - ce;
            tail.charged_b = region_bytes(t, &tail, tail.len);
            tail.charged_n = 0;
            r->len = cs - rs;
            if (region_insert(t, i + 1, &tail) < 0) {
                /* cannot keep the tail apart: forget it (it counts as unmapped) */
                gone += re - ce;
                region_charge(t, r, region_bytes(t, r, r->len), r->charged_n);
            } else {
                r = &t->regions[i]; /* the insert may have moved the array */
                /* the two pieces now carry what r carried, less the hole */
                int64_t head_b = region_bytes(t, r, r->len);
                if (r->attributed)
                    stat_sub(t, r->stack, r->charged_b - head_b - tail.charged_b, 0);
                r->charged_b = head_b;
                i++;
            }
        }
        i++;
    }
    if (gone)
        heap_sub_l(t, gone);
}

void
tracker_map(Tracker *t, uintptr_t addr, uint64_t len, const MemSite *site)
{
    if (!len)
        return;
    lock(t);
    if (t->finished) {
        unlock(t);
        return;
    }
    unmap_l(t, addr, len); /* MAP_FIXED over an existing mapping replaces it */
    Region r = {.start = addr, .len = len, .orig_len = len};
    Err err;
    err_clear(&err);
    if (site) {
        if (site_stack(t, site, &r.stack, &err) < 0)
            fail(t, err.msg);
        else
            r.attributed = true;
    }
    if (region_insert(t, region_lower(t, addr), &r) < 0) {
        fail(t, "out of memory recording a mapping");
        unlock(t);
        return;
    }
    heap_add_l(t, len);
    if (r.attributed) {
        Region *in = &t->regions[region_lower(t, addr)];
        in->charged_b = region_bytes(t, in, len);
        in->charged_n = region_count(t, in);
        stat_add(t, in->stack, in->charged_b, in->charged_n);
        t->nallocs++;
    }
    unlock(t);
}

void
tracker_unmap(Tracker *t, uintptr_t addr, uint64_t len)
{
    lock(t);
    if (!t->finished)
        unmap_l(t, addr, len);
    unlock(t);
}

bool
tracker_is_mapped(Tracker *t, uintptr_t addr)
{
    lock(t);
    size_t i = region_lower(t, addr);
    bool yes = i < t->nregions && t->regions[i].start == addr;
    unlock(t);
    return yes;
}

/* --- the stream ----------------------------------------------------------------- */

static void
put_u(Buf *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    buf_append(b, tmp, varint_put(tmp, v));
}

static void
put_z(Buf *b, int64_t v)
{
    put_u(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void
put_str(Buf *b, const char *s, size_t n)
{
    put_u(b, n);
    buf_append(b, s, n);
}

static void
put_record(Buf *out, uint8_t type, const Buf *payload)
{
    buf_putc(out, (char)type);
    put_u(out, payload->len);
    buf_append(out, payload->data, payload->len);
}

static uint64_t
nonneg(int64_t v)
{
    return v < 0 ? 0 : (uint64_t)v;
}

/* Encodes the records of one chunk into c (lock held). */
static void
encode_body(Tracker *t, Buf *c, Buf *r)
{
    Profile *p = t->prof;
    size_t ns = profile_nstrs(p), nf = profile_nframes(p), nk = profile_nstacks(p);
    if (ns > t->sent_strs) {
        buf_reset(r);
        put_u(r, t->sent_strs);
        put_u(r, ns - t->sent_strs);
        for (size_t i = t->sent_strs; i < ns; i++)
            put_str(r, profile_strp(p, (StrId)i), profile_strlen(p, (StrId)i));
        put_record(c, MS_STRINGS, r);
        t->sent_strs = ns;
    }
    if (nf > t->sent_frames) {
        buf_reset(r);
        put_u(r, t->sent_frames);
        put_u(r, nf - t->sent_frames);
        for (size_t i = t->sent_frames; i < nf; i++) {
            const ProfFrame *f = profile_frame_at(p, (FrameId)i);
            put_u(r, f->kind);
            put_u(r, f->name);
            put_u(r, f->file);
            put_z(r, f->line);
            put_z(r, f->fn_line);
        }
        put_record(c, MS_FRAMES, r);
        t->sent_frames = nf;
    }
    if (nk > t->sent_stacks) {
        buf_reset(r);
        put_u(r, t->sent_stacks);
        put_u(r, nk - t->sent_stacks);
        for (size_t i = t->sent_stacks; i < nk; i++) {
            const ProfStack *s = profile_stack_at(p, (StackId)i);
            put_u(r, s->parent);
            put_u(r, s->frame);
        }
        put_record(c, MS_STACKS, r);
        t->sent_stacks = nk;
    }
    int64_t now = now_rel(t);
    if (t->ndirty_out) {
        buf_reset(r);
        put_u(r, nonneg(now));
        put_u(r, t->ndirty_out);
        for (size_t i = 0; i < t->ndirty_out; i++) {
            uint32_t s = t->dirty_out[i];
            StackStat *x = &t->st[s];
            put_u(r, s);
            put_u(r, nonneg(x->alloc_b));
            put_u(r, nonneg(x->alloc_n));
            put_u(r, nonneg(x->live_b));
            put_u(r, nonneg(x->live_n));
            x->flags &= (uint8_t)~ST_DIRTY_OUT;
        }
        put_record(c, MS_COUNTERS, r);
        t->ndirty_out = 0;
    }
    if (t->peak_version != t->peak_sent) {
        buf_reset(r);
        put_u(r, nonneg(t->commit_t_ns));
        put_u(r, nonneg(t->commit_heap));
        put_u(r, nonneg(t->commit_attr));
        size_t n = 0;
        for (size_t s = 0; s < nk && s < t->st_cap; s++)
            n += t->st[s].peak_b > 0 || t->st[s].peak_n > 0;
        put_u(r, n);
        for (size_t s = 0; s < nk && s < t->st_cap; s++) {
            if (t->st[s].peak_b > 0 || t->st[s].peak_n > 0) {
                put_u(r, s);
                put_u(r, nonneg(t->st[s].peak_b));
                put_u(r, nonneg(t->st[s].peak_n));
            }
        }
        put_record(c, MS_PEAK, r);
        t->peak_sent = t->peak_version;
    }
    if (t->ntimeline) {
        buf_reset(r);
        put_u(r, t->ntimeline);
        buf_append(r, t->timeline.data, t->timeline.len);
        put_record(c, MS_TIMELINE, r);
        buf_reset(&t->timeline);
        t->ntimeline = 0;
    }
    if ((t->dropped || t->error[0]) && !t->reported_error) {
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)t->dropped);
        put_meta(c, r, "mem.dropped", v);
        put_meta(c, r, "mem.error", t->error);
        t->reported_error = true;
    }
    if (t->meta.len) {
        buf_append(c, t->meta.data, t->meta.len);
        buf_reset(&t->meta);
    }
}

static int
wrap_chunk(Buf *out, const Buf *c, Err *err)
{
    if (buf_failed(c))
        return err_set(err, ERR_NOMEM, "out of memory encoding the memory stream");
    if (!c->len)
        return 0;
    put_record(out, MS_CHUNK, c);
    if (buf_failed(out))
        return err_set(err, ERR_NOMEM, "out of memory encoding the memory stream");
    return 0;
}

/* The closing records, after everything else in the last chunk: the allocation count and
 * the tracker's own size as metadata, then MS_END. Called with the lock held. */
static void
encode_end(Tracker *t, MemEndReason reason, Buf *c, Buf *r)
{
    char v[64];
    snprintf(v, sizeof v, "%llu", (unsigned long long)t->nallocs);
    put_meta(c, r, "mem.attributed_allocations", v);
    snprintf(v, sizeof v, "%zu", tracker_own_bytes(t));
    put_meta(c, r, "mem.ferret_bytes", v);
    buf_reset(r);
    put_u(r, nonneg(now_rel(t)));
    put_u(r, (uint64_t)reason);
    put_u(r, nonneg(atomic_load_explicit(&t->heap, memory_order_relaxed)));
    put_record(c, MS_END, r);
}

enum { CHUNK_BODY = 1, CHUNK_END = 2, CHUNK_FINAL = 4 };

/* Appends a chunk to out: what changed (CHUNK_BODY), the end (CHUNK_END with reason), and
 * stops the tracker (CHUNK_FINAL). Nothing once the tracker has stopped. */
static int
chunk(Tracker *t, unsigned what, MemEndReason reason, Buf *out, Err *err)
{
    Buf c, r;
    buf_init(&c);
    buf_init(&r);
    lock(t);
    if (!t->finished) {
        if (what & CHUNK_BODY) {
            maybe_commit(t);
            encode_body(t, &c, &r);
        }
        if (what & CHUNK_END)
            encode_end(t, reason, &c, &r);
        t->finished = (what & CHUNK_FINAL) != 0;
    }
    unlock(t);
    int rc = buf_failed(&r) ? err_set(err, ERR_NOMEM, "out of memory encoding the memory stream")
                            : wrap_chunk(out, &c, err);
    buf_fini(&c);
    buf_fini(&r);
    return rc;
}

int
tracker_flush(Tracker *t, Buf *out, Err *err)
{
    return chunk(t, CHUNK_BODY, 0, out, err);
}

int
tracker_finish(Tracker *t, MemEndReason reason, Buf *out, Err *err)
{
    return chunk(t, CHUNK_BODY | CHUNK_END | CHUNK_FINAL, reason, out, err);
}

int
tracker_end_chunk(Tracker *t, MemEndReason reason, Buf *out, Err *err)
{
    return chunk(t, CHUNK_END, reason, out, err);
}

int
tracker_header(Tracker *t, Buf *out, int32_t pid, int32_t ppid, int64_t start_unix_ns,
               int64_t interval_ns, const char *python_version, const char *command, Err *err)
{
    Buf c, r;
    buf_init(&c);
    buf_init(&r);
    put_u(&r, MEMSTREAM_VERSION);
    put_u(&r, (uint64_t)(pid < 0 ? 0 : pid));
    put_u(&r, (uint64_t)(ppid < 0 ? 0 : ppid));
    put_u(&r, nonneg(start_unix_ns));
    put_u(&r, t->cfg.exact ? MS_FLAG_EXACT : 0);
    put_u(&r, t->cfg.exact ? 0 : (uint64_t)t->cfg.sample_bytes);
    put_u(&r, nonneg(interval_ns));
    put_str(&r, python_version ? python_version : "", python_version ? strlen(python_version) : 0);
    put_str(&r, command ? command : "", command ? strlen(command) : 0);
    put_record(&c, MS_HEADER, &r);
    buf_append(out, MEMSTREAM_MAGIC, MEMSTREAM_MAGIC_LEN);
    int rc = buf_failed(&r) ? err_set(err, ERR_NOMEM, "out of memory encoding the memory stream")
                            : wrap_chunk(out, &c, err);
    buf_fini(&c);
    buf_fini(&r);
    return rc;
}

static void
put_meta(Buf *c, Buf *r, const char *key, const char *value)
{
    buf_reset(r);
    put_str(r, key, strlen(key));
    put_str(r, value, strlen(value));
    put_record(c, MS_META, r);
}

static void
meta_l(Tracker *t, const char *key, const char *value)
{
    Buf r;
    buf_init(&r);
    put_meta(&t->meta, &r, key, value);
    buf_fini(&r);
}

void
tracker_meta(Tracker *t, const char *key, const char *value)
{
    lock(t);
    meta_l(t, key, value);
    unlock(t);
}

void
tracker_tick(Tracker *t, int64_t rss_bytes)
{
    /* no lock: the heap is atomic and the timeline buffer belongs to whoever ticks and
     * flushes (one thread at a time, see tracker.h); a writer thread preempted while
     * holding the lock every 10 ms would stall every allocation behind it */
    if (t->finished)
        return;
    int64_t h = atomic_load_explicit(&t->heap, memory_order_relaxed);
    int64_t m = atomic_exchange_explicit(&t->tick_max, h, memory_order_relaxed);
    put_u(&t->timeline, nonneg(now_rel(t)));
    put_u(&t->timeline, nonneg(m > h ? m : h));
    put_u(&t->timeline, nonneg(rss_bytes));
    t->ntimeline++;
}

bool
tracker_finished(const Tracker *t)
{
    return t->finished;
}

void
tracker_fork_prepare(Tracker *t)
{
    lock(t);
}

void
tracker_fork_parent(Tracker *t)
{
    unlock(t);
}

void
tracker_fork_child(Tracker *t)
{
    t->finished = true;
}

size_t
tracker_own_bytes(Tracker *t)
{
    return livetable_bytes(&t->live) + t->st_cap * (sizeof *t->st + 2 * sizeof(uint32_t)) +
           t->site_cap * sizeof *t->sites + t->pool_cap * sizeof *t->site_pool +
           t->regions_cap * sizeof *t->regions + ((size_t)9 << (TRACKER_FILTER_BITS - 3)) +
           t->timeline.cap + t->meta.cap;
}
