/* SPDX-License-Identifier: MIT */
/* walk.c: interpreter -> thread states -> frames, through the Target's layout. Versions
 * differ only in the layout's capability fields. Every read goes through the sample's page
 * snapshot (snap.h): the pages the last sample touched (thread states, data-stack chunks,
 * frame objects, code objects), and those the last walk of each thread about to be walked
 * again touched, arrive in one system call, so a steady-state sample costs one read plus
 * the pages that are new. */
#include "sampler/walk.h"

#include <stdlib.h>
#include <string.h>

#include "sampler/target_impl.h"
#include "util/rd.h"
#include "util/hash.h"

/* A caller (a frame that is not the innermost) is looked at for incompleteness only this
 * early in its code, in bytes: the one incomplete caller is 3.13's init shim, paused at its
 * first instruction (its first traceable one is its 4th unit, past its end). */
#define INCOMPLETE_CALLER_MAX 16

const char *
walk_drop_name(WalkDropReason r)
{
    static const char *const names[] = {
#define X(name, text) #name,
        WALK_DROPS(X)
#undef X
    };
    return (unsigned)r < WALK_DROP_COUNT ? names[r] : "unknown";
}

const uint8_t *
target_read(Target *t, uintptr_t addr, size_t len, Err *err)
{
    return snap_read(&t->snap, &t->mem, addr, len, err);
}

int
walk_raw(Target *t, const uint8_t *ts, RawFrame *out, size_t max, size_t *n, bool *partial,
         Err *err)
{
    const PyLayout *L = &t->layout;
    *n = 0;
    *partial = false;
    uintptr_t frame;
    if (L->thread.frame >= 0) {
        frame = rd_ptr(ts, L->thread.frame);
    } else if (L->thread.current_frame >= 0) {
        frame = rd_ptr(ts, L->thread.current_frame);
    } else {
        uintptr_t cframe = rd_ptr(ts, L->thread.cframe);
        if (!cframe)
            return 0;
        const uint8_t *cf = target_read(t, cframe, (size_t)L->cframe.size, err);
        if (!cf)
            return -1;
        frame = rd_ptr(cf, L->cframe.current_frame);
    }
    size_t span = (size_t)t->span_frame;
    /* A chain read torn across calls and returns can loop back on itself (3.9/3.10: freed
     * frame objects reused at once). Brent's check: each frame is compared with the one seen
     * at the last power-of-two step, which finds a loop within twice its length plus its
     * distance from the start, instead of following it CHAIN_MAX times (measured on 3.9's
     * fib recursion: 17% of moments torn, 430 us of CPU a moment, most of it in such loops). */
    uintptr_t tortoise = 0;
    for (size_t steps = 0; frame; steps++) {
        if (steps >= CHAIN_MAX || (steps > 0 && frame == tortoise))
            return err_set(err, ERR_IO, "frame chain does not end (a cycle)");
        if ((steps & (steps - 1)) == 0) /* steps 0, 1, 2, 4, 8, ... */
            tortoise = frame;
        if (frame & 7)
            return err_set(err, ERR_IO, "misaligned frame %#lx", (unsigned long)frame);
        const uint8_t *f = target_read(t, frame, span, err);
        if (!f)
            return -1;
        if (L->frames_kind == LAYOUT_FRAMES_OBJECTS && t->frame_type &&
            rd_ptr(f, L->pyobject.ob_type) != t->frame_type)
            return err_set(err, ERR_IO, "expected a frame object at %#lx", (unsigned long)frame);
        uintptr_t code = rd_ptr(f, L->frame.executable);
        uintptr_t next = rd_ptr(f, L->frame.previous);
        if (next == frame)
            return err_set(err, ERR_IO, "frame %#lx is its own caller", (unsigned long)frame);
        int8_t owner = -1;
        if (L->frame.owner >= 0) {
            owner = (int8_t)f[L->frame.owner];
            if (owner < 0 || owner > 3)
                return err_set(err, ERR_IO, "frame %#lx has an impossible owner %d",
                               (unsigned long)frame, owner);
            if (owner == L->owner_cstack) { /* a C-stack shim between C and Python code */
                frame = next;
                continue;
            }
        }
        if (!code || (code & 7))
            return err_set(err, ERR_IO, "frame %#lx has no code", (unsigned long)frame);
        int64_t addrq;
        switch (L->instr_kind) {
        case LAYOUT_INSTR_LASTI_BYTES:
            addrq = rd_i32(f, L->frame.instr_ptr);
            break;
        case LAYOUT_INSTR_LASTI_UNITS:
            addrq = (int64_t)rd_i32(f, L->frame.instr_ptr) * L->code_unit;
            break;
        default:
            addrq = (int64_t)(rd_ptr(f, L->frame.instr_ptr) -
                              (code + (uintptr_t)L->code_object.co_code_adaptive));
        }
        if (addrq < -L->code_unit * 2 || addrq > (1 << 28))
            return err_set(err, ERR_IO, "frame %#lx is at an impossible instruction",
                           (unsigned long)frame);
        /* 3.11+: a frame the thread owns that has not reached its code's first RESUME is
         * incomplete (still making cells or its generator, or 3.13's shim under a specialised
         * class call's __init__, whose first traceable instruction is past its end): Python
         * leaves it out of every stack (pycore_frame.h, _PyFrame_IsIncomplete), and so does
         * ferret. A prologue calls no Python code (but a finalizer, in a collection its
         * allocations start), so a caller is incomplete only that early in its code, or as the
         * shim, paused at its start: the code object is read for the innermost frame and for
         * callers within INCOMPLETE_CALLER_MAX bytes of their start, not for every frame
         * (about 15 ns each, a fifth of a moment on deep stacks) */
        if (L->code_object.firsttraceable >= 0 && owner != L->owner_generator &&
            (*n == 0 || addrq < INCOMPLETE_CALLER_MAX)) {
            const uint8_t *c =
                target_read(t, code + (uintptr_t)L->code_object.firsttraceable, 4, err);
            if (!c)
                return -1;
            if (addrq < (int64_t)rd_i32(c, 0) * L->code_unit) {
                frame = next;
                continue;
            }
        }
        if (*n < max)
            out[(*n)++] = (RawFrame){code, (int32_t)addrq};
        else
            *partial = true;
        frame = next;
    }
    return 0;
}

/* Where glibc's struct pthread at base holds the kernel tid, or -1. glibc puts the robust-
 * futex list head 16 bytes after the tid, and an empty one points to itself (robust_prev
 * too): a field holding `want` (or, with want 0, any id) followed by that is the tid. With
 * want, and no such match (musl), the first field holding it. */
static int64_t
tid_offset_in(Target *t, uintptr_t base, int32_t want)
{
    uint8_t area[2048];
    Err err;
    if (rmem_read(&t->mem, base, area, sizeof area, &err) < 0)
        return -1;
    int64_t first = -1;
    for (size_t off = 0; off + 24 <= sizeof area; off += 4) {
        int32_t v = rd_i32(area, (int64_t)off);
        if (want ? v != want : v <= 0)
            continue;
        uintptr_t head = base + off + 16;
        if (rd_ptr(area, (int64_t)off + 16) == head || rd_ptr(area, (int64_t)off + 8) == head)
            return (int64_t)off;
        if (want && first < 0)
            first = (int64_t)off;
    }
    return first;
}

/* The kernel tid of a 3.9/3.10 thread: its pthread_t is glibc's struct pthread, which holds
 * the tid at an offset found once, in the main thread's (which holds the process's pid, as
 * its pid namespace numbers it) or, when the main thread has exited and its tid is cleared,
 * in another thread's.
 * Returns the tid, 0 when the thread has exited (the kernel clears the field then, and a
 * thread state still listed is one left behind, as by a main thread's pthread_exit), or -1
 * when unknown. */
static int64_t
pthread_tid(Target *t, uintptr_t pthread_addr, uintptr_t main_pthread)
{
    Err err;
    if (!t->tid_offset_tried && main_pthread) {
        t->tid_offset_tried = true;
        t->pthread_tid_offset = tid_offset_in(t, main_pthread, (int32_t)t->ns_pid);
    }
    if (t->pthread_tid_offset < 0 && pthread_addr && pthread_addr != main_pthread &&
        t->tid_offset_others < 4) {
        t->tid_offset_others++;
        t->pthread_tid_offset = tid_offset_in(t, pthread_addr, 0);
    }
    if (t->pthread_tid_offset < 0 || !pthread_addr)
        return -1;
    const uint8_t *p = target_read(t, pthread_addr + (uintptr_t)t->pthread_tid_offset, 4, &err);
    if (!p)
        return -1;
    int32_t tid = rd_i32(p, 0);
    return tid >= 0 ? tid : -1;
}

/* The thread state holding the GIL of the interpreter at interp (0 if none or unknown: *err
 * then says why, or is cleared when no thread holds it). */
static uintptr_t
gil_holder(Target *t, uintptr_t interp, Err *err)
{
    const PyLayout *L = &t->layout;
    uintptr_t gil = 0;
    err_clear(err); /* an error left from before must not read as this one */
    if (L->runtime.ceval_gil >= 0) {
        gil = t->runtime_addr + (uintptr_t)L->runtime.ceval_gil;
    } else if (L->interp.ceval_gil >= 0) {
        for (size_t i = 0; i < t->ngil; i++)
            if (t->gil_interp[i] == interp)
                gil = t->gil_addr[i];
        if (!gil) {
            const uint8_t *g = target_read(t, interp + (uintptr_t)L->interp.ceval_gil, 8, err);
            if (!g || !(gil = rd_ptr(g, 0)))
                return 0;
            if (t->ngil < INTERPS_MAX) {
                t->gil_interp[t->ngil] = interp;
                t->gil_addr[t->ngil++] = gil;
            }
        }
    } else {
        return 0;
    }
    int64_t lo = L->gil.locked < L->gil.last_holder ? L->gil.locked : L->gil.last_holder;
    int64_t hi = L->gil.locked + 4 > L->gil.last_holder + 8 ? L->gil.locked + 4
                                                             : L->gil.last_holder + 8;
    const uint8_t *g = target_read(t, gil + (uintptr_t)lo, (size_t)(hi - lo), err);
    if (!g || !rd_i32(g, L->gil.locked - lo))
        return 0;
    return rd_ptr(g, L->gil.last_holder - lo);
}

static bool
fatal(const Err *err)
{
    return err->kind == ERR_GONE || err->kind == ERR_PERM || err->kind == ERR_NOMEM;
}

/* The 3.9/3.10 main thread's pthread_t: the oldest thread state, last in the list. */
static uintptr_t
main_pthread_of(Target *t, uintptr_t tstate)
{
    const PyLayout *L = &t->layout;
    uintptr_t main = 0;
    Err err;
    for (size_t k = 0; tstate && k < THREADS_MAX; k++) {
        const uint8_t *tb = target_read(t, tstate, (size_t)t->span_thread, &err);
        if (!tb)
            break;
        main = rd_ptr(tb, L->thread.thread_id);
        tstate = rd_ptr(tb, L->thread.next);
    }
    return main;
}

/* The cache entry of a thread state (a new one if needed); NULL when memory runs out. Entries
 * of thread states not seen for a while are reused. */
static WalkCache *
cache_for(Target *t, uintptr_t tstate)
{
    WalkCache *free_slot = NULL;
    for (size_t i = 0; i < t->nwcache; i++) {
        WalkCache *c = &t->wcache[i];
        if (c->tstate == tstate)
            return c;
        if (!free_slot && t->sample_no - c->seen > 1000)
            free_slot = c;
    }
    if (!free_slot) {
        if (t->nwcache == t->wcache_cap) {
            size_t cap = t->wcache_cap ? t->wcache_cap * 2 : 8;
            WalkCache *nc = realloc(t->wcache, cap * sizeof *nc);
            if (!nc)
                return NULL;
            t->wcache = nc;
            t->wcache_cap = cap;
        }
        free_slot = &t->wcache[t->nwcache++];
        memset(free_slot, 0, sizeof *free_slot);
    }
    free_slot->tstate = tstate;
    free_slot->n = 0;
    free_slot->samples = 0;
    return free_slot;
}

/* Notes a thread state listed at this sample (with the index of its cache entry, if it has
 * one), for the next sample's want_pages. */
static void
list_thread(Target *t, uint64_t tid, uintptr_t tstate, const WalkCache *wc)
{
    if (t->nlisted == t->listed_cap) {
        size_t cap = t->listed_cap ? t->listed_cap * 2 : 16;
        WalkListed *l = realloc(t->listed, cap * sizeof *l);
        if (!l)
            return; /* its pages come when it is walked */
        t->listed = l;
        t->listed_cap = cap;
    }
    uint32_t cache = wc ? (uint32_t)(wc - t->wcache) : UINT32_MAX;
    t->listed[t->nlisted++] = (WalkListed){tid, tstate, cache};
}

/* Before the sample's prefetch: each thread listed at the last sample that the caller wants
 * walked at this one brings the pages its last walk read into the prefetch (the caller
 * answers the same when asked again during the walk). A thread asleep through the samples
 * before, its stack's pages dropped from the prefetch, would otherwise read each of them on
 * its own when it wakes: the sleeper of threads.py read 2-3 pages in 2-3 system calls at
 * each of its wake-ups, a whole read's fixed cost each. */
static void
want_pages(Target *t, const WalkBuffers *b)
{
    if (!b->unchanged || t->mem.local)
        return;
    for (size_t i = 0; i < t->nlisted; i++) {
        const WalkListed *l = &t->listed[i];
        if (b->unchanged(b->ctx, l->tid))
            continue;
        const WalkCache *wc = NULL;
        if (l->cache < t->nwcache && t->wcache[l->cache].tstate == l->tstate)
            wc = &t->wcache[l->cache];
        for (size_t k = 0; !wc && k < t->nwcache; k++)
            if (t->wcache[k].tstate == l->tstate)
                wc = &t->wcache[k];
        if (wc)
            snap_want(&t->snap, wc->pages.pages, wc->pages.n);
    }
}

/* Remembers a thread's raw frames and their ids for the next sample. */
static void
cache_store(WalkCache *c, const RawFrame *raw, const FrameId *ids, size_t n)
{
    c->n = 0;
    if (!n)
        return;
    if (c->cap < n) {
        size_t cap = n < 64 ? 64 : n;
        RawFrame *r = realloc(c->raw, cap * sizeof *r);
        if (r)
            c->raw = r;
        FrameId *f = r ? realloc(c->ids, cap * sizeof *f) : NULL;
        if (!f)
            return;
        c->ids = f;
        c->cap = cap;
    }
    memcpy(c->raw, raw, n * sizeof *raw);
    memcpy(c->ids, ids, n * sizeof *ids);
    c->n = n;
}

/* The frames of one thread, interned into p, into b->frames at *used. Returns 1 when they
 * are in w, 0 when the thread is dropped (counted in drops), -1 for a fatal error. */
static int
walk_thread(Target *t, Profile *p, const WalkBuffers *b, WalkThread *w, const uint8_t *ts,
            WalkCache *wc, size_t *used, WalkDrops *drops, Err *err)
{
    RawFrame *raw = (RawFrame *)t->scratch;
    size_t n;
    bool partial;
    if (walk_raw(t, ts, raw, b->max_depth, &n, &partial, err) < 0) {
        if (fatal(err))
            return -1;
        drops->n[WALK_DROP_torn]++;
        return 0;
    }
    if (*used + n > b->frames_cap) {
        n = b->frames_cap - *used;
        partial = true;
        drops->frames_short++;
    }
    /* outer frames unchanged since this thread's last sample keep their ids */
    size_t same = 0;
    if (wc && ++wc->samples % WALK_FULL_CHECK != 0) {
        while (same < n && same < wc->n &&
               raw[n - 1 - same].code == wc->raw[wc->n - 1 - same].code &&
               raw[n - 1 - same].addrq == wc->raw[wc->n - 1 - same].addrq)
            same++;
    }
    size_t i = 0;
    for (; i < n - same; i++)
        if (code_frame(t, p, raw[i].code, raw[i].addrq, &b->frames[*used + i], err) < 0)
            break;
    if (i < n - same) {
        if (wc)
            wc->n = 0;
        if (fatal(err))
            return -1;
        drops->n[WALK_DROP_code]++;
        return 0;
    }
    for (size_t k = 0; k < same; k++)
        b->frames[*used + n - 1 - k] = wc->ids[wc->n - 1 - k];
    if (wc) {
        cache_store(wc, raw, b->frames + *used, n);
        wc->seen = t->sample_no;
    }
    uint64_t fp = hash_u64(n);
    for (size_t k = 0; k < n; k++)
        fp = hash_combine(hash_combine(fp, raw[k].code), (uint32_t)raw[k].addrq);
    w->fingerprint = fp;
    w->frames = b->frames + *used;
    w->nframes = n;
    w->partial = partial;
    *used += n;
    return 1;
}

/* All threads of one interpreter. Returns -1 only for a fatal error. */
static int
walk_interp(Target *t, Profile *p, const WalkBuffers *b, uintptr_t interp, uintptr_t tstate,
            int64_t interp_id, size_t *nthreads, size_t *used, WalkDrops *drops, Err *err)
{
    const PyLayout *L = &t->layout;
    uintptr_t holder = gil_holder(t, interp, err);
    if (!holder && fatal(err))
        return -1;
    uintptr_t main_pthread = 0;
    if (L->thread.native_thread_id < 0 && !t->tid_offset_tried)
        main_pthread = main_pthread_of(t, tstate);
    for (size_t nt = 0; tstate && nt < THREADS_MAX; nt++) {
        const uint8_t *ts = target_read(t, tstate, (size_t)t->span_thread, err);
        if (!ts) {
            if (fatal(err))
                return -1;
            drops->n[WALK_DROP_thread_list]++;
            break;
        }
        if (rd_ptr(ts, L->thread.interp) != interp) {
            drops->n[WALK_DROP_thread_list]++;
            break;
        }
        uintptr_t next_ts = rd_ptr(ts, L->thread.next);
        /* From 3.12 a new thread's state is made by its parent and listed before the thread
         * runs and binds it (thread_id 0 until then, and the kernel id, written just after
         * the thread id, 0 a moment longer): not a thread to sample yet. */
        if (rd_ptr(ts, L->thread.thread_id) == 0 ||
            (L->thread.native_thread_id >= 0 && rd_ptr(ts, L->thread.native_thread_id) == 0)) {
            tstate = next_ts;
            continue;
        }
        if (*nthreads >= b->max_threads) { /* counted, so the caller can grow the buffer */
            drops->n[WALK_DROP_buffer]++;
            tstate = next_ts;
            continue;
        }
        WalkThread *w = &b->threads[*nthreads];
        memset(w, 0, sizeof *w);
        w->tstate = tstate;
        w->interp = interp;
        w->interp_id = interp_id;
        w->thread_id = rd_ptr(ts, L->thread.thread_id);
        w->has_gil = holder && holder == tstate;
        if (L->thread.native_thread_id >= 0) {
            w->tid = rd_ptr(ts, L->thread.native_thread_id);
        } else {
            int64_t tid = pthread_tid(t, w->thread_id, main_pthread);
            if (tid == 0) { /* its thread has exited, the state stayed: nothing runs there */
                tstate = next_ts;
                continue;
            }
            w->tid = tid > 0 ? (uint64_t)tid : 0;
        }
        uintptr_t this_ts = tstate;
        tstate = next_ts;
        if (b->unchanged && w->tid && b->unchanged(b->ctx, w->tid)) {
            w->unchanged = true; /* asleep since its last stack: nothing to read */
            list_thread(t, w->tid, this_ts, NULL);
            (*nthreads)++;
            continue;
        }
        WalkCache *wc = cache_for(t, this_ts);
        if (w->tid)
            list_thread(t, w->tid, this_ts, wc);
        if (wc) /* the pages of this walk, for a prefetch after the thread slept */
            snap_record(&t->snap, &wc->pages);
        int rc = walk_thread(t, p, b, w, ts, wc, used, drops, err);
        snap_record(&t->snap, NULL);
        if (rc < 0)
            return -1;
        if (rc > 0)
            (*nthreads)++;
    }
    return 0;
}

/* One kernel thread can have several Python thread states at once: one per interpreter it
 * runs (a subinterpreter runs on its caller's thread, whose state waits in that call), and on
 * 3.9-3.11, for a moment, a new thread's state that its parent made with the parent's ids.
 * They make one sample, with the stacks joined: the state walked first innermost (the
 * interpreter list starts with the newest, so a subinterpreter's frames go on top of its
 * caller's), under the identity of the one walked last (the caller, whose threading module
 * names the thread). */
static void
join_threads(const WalkBuffers *b, size_t *nthreads, size_t *used, WalkDrops *drops)
{
    enum { TABLE = 2 * WALK_MAX_THREADS }; /* more than twice the threads a sample holds */
    size_t n = *nthreads;
    if (n < 2 || n > TABLE / 2)
        return;
    /* only as much of the table as twice the threads is cleared: this runs every moment */
    size_t size = 16;
    while (size < 2 * n)
        size *= 2;
    uint16_t table[TABLE]; /* index + 1 of the first state seen of a tid */
    bool gone[TABLE / 2];
    memset(table, 0, size * sizeof *table);
    memset(gone, 0, n * sizeof *gone);
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        WalkThread *wk = &b->threads[k];
        if (!wk->tid)
            continue;
        size_t h = (size_t)hash_u64(wk->tid) & (size - 1);
        while (table[h] && b->threads[table[h] - 1].tid != wk->tid)
            h = (h + 1) & (size - 1);
        if (!table[h]) {
            table[h] = (uint16_t)(k + 1);
            continue;
        }
        WalkThread *wi = &b->threads[table[h] - 1];
        WalkThread joined = *wk; /* the caller's identity */
        joined.has_gil = wi->has_gil || wk->has_gil;
        joined.partial = wi->partial || wk->partial;
        if (wi->unchanged && wk->unchanged) {
            joined.frames = NULL;
            joined.nframes = 0;
        } else if (wi->unchanged || wk->unchanged) {
            /* asked twice, answered differently: keep the stack that was read */
            joined = wi->unchanged ? *wk : *wi;
            joined.unchanged = false;
        } else {
            size_t room = b->frames_cap - *used, ni = wi->nframes, nk = wk->nframes;
            FrameId *to = b->frames + *used;
            if (ni > room)
                ni = room;
            if (nk > room - ni)
                nk = room - ni;
            if (ni < wi->nframes || nk < wk->nframes) {
                joined.partial = true; /* the outermost frames are the ones left out */
                drops->frames_short++;
            }
            if (ni)
                memcpy(to, wi->frames, ni * sizeof *to);
            if (nk)
                memcpy(to + ni, wk->frames, nk * sizeof *to);
            *used += ni + nk;
            joined.frames = to;
            joined.nframes = ni + nk;
            joined.fingerprint = hash_combine(wi->fingerprint, wk->fingerprint);
        }
        *wi = joined;
        gone[k] = any = true;
    }
    if (!any)
        return;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (!gone[k])
            b->threads[m++] = b->threads[k];
    *nthreads = m;
}

int
walk_sample(Target *t, Profile *p, const WalkBuffers *b, size_t *nthreads, WalkDrops *drops,
            Err *err)
{
    const PyLayout *L = &t->layout;
    *nthreads = 0;
    if (target_scratch(t, b->max_depth * sizeof(RawFrame), err) < 0)
        return -1;
    want_pages(t, b);
    t->nlisted = 0;
    if (snap_begin(&t->snap, &t->mem, err) < 0)
        return -1;
    t->sample_no++;
    if (p != t->cache_profile) { /* frame ids belong to a profile */
        code_cache_reset(t);
        t->cache_profile = p;
        for (size_t i = 0; i < t->nwcache; i++)
            t->wcache[i].n = 0;
    }
    int rc = 0;
    size_t used = 0;
    const uint8_t *h = target_read(t, t->runtime_addr + (uintptr_t)L->runtime.interpreters_head,
                                   8, err);
    uintptr_t interp = h ? rd_ptr(h, 0) : 0;
    if (!h) {
        if (fatal(err))
            rc = -1;
        else
            drops->n[WALK_DROP_read]++;
    }
    int64_t lo = L->interp.next, hi = L->interp.next + 8;
    int64_t fields[] = {L->interp.threads_head, L->interp.id};
    for (size_t i = 0; i < 2; i++) {
        if (fields[i] < lo)
            lo = fields[i];
        if (fields[i] + 8 > hi)
            hi = fields[i] + 8;
    }
    for (size_t ni = 0; rc == 0 && interp && ni < INTERPS_MAX; ni++) {
        const uint8_t *ib = target_read(t, interp + (uintptr_t)lo, (size_t)(hi - lo), err);
        if (!ib) {
            if (fatal(err))
                rc = -1;
            else
                drops->n[WALK_DROP_read]++;
            break;
        }
        uintptr_t tstate = rd_ptr(ib, L->interp.threads_head - lo);
        uintptr_t next_interp = rd_ptr(ib, L->interp.next - lo);
        int64_t interp_id = (int64_t)rd_ptr(ib, L->interp.id - lo);
        if (walk_interp(t, p, b, interp, tstate, interp_id, nthreads, &used, drops, err) < 0)
            rc = -1;
        interp = next_interp;
    }
    if (rc == 0)
        join_threads(b, nthreads, &used, drops);
    snap_end(&t->snap);
    return rc;
}
