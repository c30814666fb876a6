/* SPDX-License-Identifier: MIT */
/* walk.c: interpreter -> thread states -> frames, through the Target's layout. Versions
 * differ only in the layout's capability fields: heap frame objects (3.9-3.10) are read one
 * by one; interpreter frames (3.11+) mostly live in per-thread data-stack chunks, which are
 * copied whole and walked locally, with single reads for frames elsewhere (generators). */
#include "sampler/walk.h"

#include <stdlib.h>
#include <string.h>

#include "sampler/target_impl.h"

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

static uintptr_t
ptr_at(const uint8_t *buf, int64_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static int32_t
i32_at(const uint8_t *buf, int64_t off)
{
    int32_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

typedef struct {
    uintptr_t start; /* first byte copied */
    size_t len;
    const uint8_t *data;
} Region;

typedef struct {
    Target *t;
    Region regions[WALK_REGIONS];
    size_t nregions;
    uintptr_t next_chunk; /* older chunk not copied yet (0 when none) */
} Chunks;

/* Copies [addr, addr + len) into region slot i. */
static int
copy_region(Chunks *c, size_t i, uintptr_t addr, size_t len, Err *err)
{
    Target *t = c->t;
    if (t->chunk_cap[i] < len) {
        size_t cap = t->chunk_cap[i] ? t->chunk_cap[i] : 16384;
        while (cap < len)
            cap *= 2;
        uint8_t *p = realloc(t->chunk_buf[i], cap);
        if (!p)
            return err_set(err, ERR_NOMEM, "out of memory copying a data stack");
        t->chunk_buf[i] = p;
        t->chunk_cap[i] = cap;
    }
    if (rmem_read(&t->mem, addr, t->chunk_buf[i], len, err) < 0)
        return -1;
    c->regions[i] = (Region){addr, len, t->chunk_buf[i]};
    return 0;
}

/* The current chunk, up to the thread's stack top. */
static void
chunks_init(Chunks *c, Target *t, const uint8_t *ts)
{
    const PyLayout *L = &t->layout;
    c->t = t;
    c->nregions = 0;
    c->next_chunk = 0;
    /* in-process reads need no copies (and must not allocate): frames are read in place */
    if (L->frames_kind != LAYOUT_FRAMES_INTERP || L->thread.datastack_chunk < 0 || t->mem.local)
        return;
    uintptr_t chunk = ptr_at(ts, L->thread.datastack_chunk);
    uintptr_t top = ptr_at(ts, L->thread.datastack_top);
    Err err;
    if (!chunk || top <= chunk || top - chunk > CHUNK_MAX ||
        top - chunk < (size_t)L->stack_chunk.size)
        return;
    if (copy_region(c, 0, chunk, top - chunk, &err) == 0) {
        c->nregions = 1;
        c->next_chunk = ptr_at(c->regions[0].data, L->stack_chunk.previous);
    }
}

/* Bytes of the frame at addr: from a copied chunk when it lies in one (copying older chunks
 * on the way), else read into buf. */
static const uint8_t *
frame_bytes(Chunks *c, uintptr_t addr, uint8_t *buf, size_t span, Err *err)
{
    Target *t = c->t;
    for (;;) {
        for (size_t i = 0; i < c->nregions; i++) {
            const Region *r = &c->regions[i];
            if (addr >= r->start + (uintptr_t)t->layout.stack_chunk.size && addr < r->start + r->len &&
                r->start + r->len - addr >= span)
                return r->data + (addr - r->start);
        }
        /* maybe in an older chunk (a deep stack): copy the next one down and look again */
        if (!c->next_chunk || c->nregions >= WALK_REGIONS || t->mem.local)
            break;
        uint8_t hdr[64];
        size_t hsize = (size_t)t->layout.stack_chunk.size;
        if (hsize > sizeof hdr || rmem_read(&t->mem, c->next_chunk, hdr, hsize, err) < 0)
            break;
        uint64_t size = (uint64_t)ptr_at(hdr, t->layout.stack_chunk.chunk_size);
        if (addr < c->next_chunk || addr >= c->next_chunk + size)
            break; /* not in the chunk chain: a generator's frame */
        if (size > CHUNK_MAX || size < hsize ||
            copy_region(c, c->nregions, c->next_chunk, (size_t)size, err) < 0)
            break;
        c->next_chunk = ptr_at(hdr, t->layout.stack_chunk.previous);
        c->nregions++;
    }
    if (rmem_read(&t->mem, addr, buf, span, err) < 0)
        return NULL;
    return buf;
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
        frame = ptr_at(ts, L->thread.frame);
    } else if (L->thread.current_frame >= 0) {
        frame = ptr_at(ts, L->thread.current_frame);
    } else {
        uintptr_t cframe = ptr_at(ts, L->thread.cframe);
        if (!cframe)
            return 0;
        if (rmem_read_ptr(&t->mem, cframe + (uintptr_t)L->cframe.current_frame, &frame, err) < 0)
            return -1;
    }
    Chunks chunks;
    chunks_init(&chunks, t, ts);
    size_t span = (size_t)t->span_frame;
    uint8_t buf[LAYOUT_MAX_READ];
    for (size_t steps = 0; frame; steps++) {
        if (steps >= CHAIN_MAX)
            return err_set(err, ERR_IO, "frame chain does not end (a cycle)");
        const uint8_t *f = frame_bytes(&chunks, frame, buf, span, err);
        if (!f)
            return -1;
        if (L->frames_kind == LAYOUT_FRAMES_OBJECTS && t->frame_type &&
            ptr_at(f, L->pyobject.ob_type) != t->frame_type)
            return err_set(err, ERR_IO, "expected a frame object at %#lx", (unsigned long)frame);
        uintptr_t code = ptr_at(f, L->frame.executable);
        uintptr_t next = ptr_at(f, L->frame.previous);
        if (next == frame)
            return err_set(err, ERR_IO, "frame %#lx is its own caller", (unsigned long)frame);
        if (L->frame.owner >= 0) {
            int8_t owner = (int8_t)f[L->frame.owner];
            if (owner < 0 || owner > 3)
                return err_set(err, ERR_IO, "frame %#lx has an impossible owner %d",
                               (unsigned long)frame, owner);
            if (owner == L->owner_cstack) { /* a C-stack shim between C and Python code */
                frame = next;
                continue;
            }
        }
        if (!code)
            return err_set(err, ERR_IO, "frame %#lx has no code", (unsigned long)frame);
        int64_t addrq;
        switch (L->instr_kind) {
        case LAYOUT_INSTR_LASTI_BYTES:
            addrq = i32_at(f, L->frame.instr_ptr);
            break;
        case LAYOUT_INSTR_LASTI_UNITS:
            addrq = (int64_t)i32_at(f, L->frame.instr_ptr) * L->code_unit;
            break;
        default:
            addrq = (int64_t)(ptr_at(f, L->frame.instr_ptr) -
                              (code + (uintptr_t)L->code_object.co_code_adaptive));
        }
        if (addrq < -L->code_unit * 2 || addrq > (1 << 28))
            return err_set(err, ERR_IO, "frame %#lx is at an impossible instruction",
                           (unsigned long)frame);
        if (*n < max)
            out[(*n)++] = (RawFrame){code, (int32_t)addrq};
        else
            *partial = true;
        frame = next;
    }
    return 0;
}

/* The kernel tid of a 3.9/3.10 thread: its pthread_t is glibc's struct pthread, which holds
 * the tid at an offset found once by looking for the main thread's tid (= pid) in it. */
static uint64_t
pthread_tid(Target *t, uintptr_t pthread_addr, uintptr_t main_pthread)
{
    Err err;
    if (!t->tid_offset_tried && main_pthread) {
        t->tid_offset_tried = true;
        uint8_t area[2048];
        if (rmem_read(&t->mem, main_pthread, area, sizeof area, &err) == 0) {
            for (size_t off = 0; off + 4 <= sizeof area; off += 4) {
                if (i32_at(area, (int64_t)off) == (int32_t)t->pid) {
                    t->pthread_tid_offset = (int64_t)off;
                    break;
                }
            }
        }
    }
    if (t->pthread_tid_offset < 0 || !pthread_addr)
        return 0;
    int32_t tid;
    if (rmem_read(&t->mem, pthread_addr + (uintptr_t)t->pthread_tid_offset, &tid, sizeof tid,
                  &err) < 0 ||
        tid <= 0)
        return 0;
    return (uint64_t)tid;
}

/* The thread state holding the GIL of the interpreter at interp (0 if none or unknown). */
static uintptr_t
gil_holder(Target *t, uintptr_t interp, Err *err)
{
    const PyLayout *L = &t->layout;
    uintptr_t gil = 0;
    if (L->runtime.ceval_gil >= 0) {
        gil = t->runtime_addr + (uintptr_t)L->runtime.ceval_gil;
    } else if (L->interp.ceval_gil >= 0) {
        for (size_t i = 0; i < t->ngil; i++)
            if (t->gil_interp[i] == interp)
                gil = t->gil_addr[i];
        if (!gil) {
            if (rmem_read_ptr(&t->mem, interp + (uintptr_t)L->interp.ceval_gil, &gil, err) < 0 ||
                !gil)
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
    uint8_t buf[64];
    if (hi - lo > (int64_t)sizeof buf || rmem_read(&t->mem, gil + (uintptr_t)lo, buf,
                                                   (size_t)(hi - lo), err) < 0)
        return 0;
    if (!i32_at(buf, L->gil.locked - lo))
        return 0;
    return ptr_at(buf, L->gil.last_holder - lo);
}

/* Every distinct code object of raw[0..n) that the cache already knows. */
static size_t
known_codes(Target *t, const RawFrame *raw, size_t n)
{
    if (t->seen_cap < n) {
        uintptr_t *p = realloc(t->seen_codes, n * sizeof *p);
        if (!p)
            return 0;
        t->seen_codes = p;
        t->seen_cap = n;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t *idx = hashu64_find(&t->code_index, raw[i].code);
        if (!idx || *idx == UINT32_MAX)
            continue;
        bool dup = false;
        for (size_t j = 0; j < m && !dup; j++)
            dup = t->seen_codes[j] == raw[i].code;
        if (!dup && m < 256) /* enough to catch reuse; deeper duplicates are rarely new */
            t->seen_codes[m++] = raw[i].code;
    }
    return m;
}

static bool
fatal(const Err *err)
{
    return err->kind == ERR_GONE || err->kind == ERR_PERM || err->kind == ERR_NOMEM;
}

int
walk_sample(Target *t, Profile *p, const WalkBuffers *b, size_t *nthreads, WalkDrops *drops,
            Err *err)
{
    const PyLayout *L = &t->layout;
    *nthreads = 0;
    uintptr_t interp;
    if (rmem_read_ptr(&t->mem, t->runtime_addr + (uintptr_t)L->runtime.interpreters_head, &interp,
                      err) < 0) {
        if (fatal(err))
            return -1;
        drops->n[WALK_DROP_read]++;
        return 0;
    }
    size_t used = 0; /* frames buffer */
    RawFrame *raw = (RawFrame *)t->scratch;
    if (target_scratch(t, b->max_depth * sizeof *raw, err) < 0)
        return -1;
    raw = (RawFrame *)t->scratch;
    uint8_t ts[LAYOUT_MAX_READ];
    for (size_t ni = 0; interp && ni < INTERPS_MAX; ni++) {
        uint8_t ib[512];
        int64_t ilo = L->interp.next, ihi = L->interp.next + 8;
        int64_t fields[] = {L->interp.threads_head, L->interp.id};
        for (size_t i = 0; i < 2; i++) {
            if (fields[i] < ilo)
                ilo = fields[i];
            if (fields[i] + 8 > ihi)
                ihi = fields[i] + 8;
        }
        if (ihi - ilo > (int64_t)sizeof ib ||
            rmem_read(&t->mem, interp + (uintptr_t)ilo, ib, (size_t)(ihi - ilo), err) < 0) {
            if (fatal(err))
                return -1;
            drops->n[WALK_DROP_read]++;
            return 0;
        }
        uintptr_t tstate = ptr_at(ib, L->interp.threads_head - ilo);
        uintptr_t next_interp = ptr_at(ib, L->interp.next - ilo);
        int64_t interp_id = (int64_t)ptr_at(ib, L->interp.id - ilo);
        uintptr_t holder = gil_holder(t, interp, err);
        if (!holder && fatal(err))
            return -1;
        /* 3.9/3.10: the main thread is the oldest thread state, at the end of the list */
        uintptr_t main_pthread = 0;
        for (size_t nt = 0; tstate && nt < THREADS_MAX; nt++) {
            if (rmem_read(&t->mem, tstate, ts, (size_t)t->span_thread, err) < 0) {
                if (fatal(err))
                    return -1;
                drops->n[WALK_DROP_thread_list]++;
                break;
            }
            if (ptr_at(ts, L->thread.interp) != interp) {
                drops->n[WALK_DROP_thread_list]++;
                break;
            }
            uintptr_t next_ts = ptr_at(ts, L->thread.next);
            if (*nthreads >= b->max_threads)
                break;
            WalkThread *w = &b->threads[*nthreads];
            memset(w, 0, sizeof *w);
            w->tstate = tstate;
            w->interp_id = interp_id;
            w->thread_id = ptr_at(ts, L->thread.thread_id);
            w->has_gil = holder && holder == tstate;
            if (L->thread.native_thread_id >= 0) {
                w->tid = ptr_at(ts, L->thread.native_thread_id);
            } else {
                if (!main_pthread && !t->tid_offset_tried) {
                    /* find the last thread state: the main thread's */
                    uintptr_t s = tstate;
                    uint8_t tb[LAYOUT_MAX_READ];
                    for (size_t k = 0; s && k < THREADS_MAX; k++) {
                        Err e2;
                        if (rmem_read(&t->mem, s, tb, (size_t)t->span_thread, &e2) < 0)
                            break;
                        main_pthread = ptr_at(tb, L->thread.thread_id);
                        s = ptr_at(tb, L->thread.next);
                    }
                }
                w->tid = pthread_tid(t, w->thread_id, main_pthread);
            }
            size_t n;
            bool partial;
            if (walk_raw(t, ts, raw, b->max_depth, &n, &partial, err) < 0) {
                if (fatal(err))
                    return -1;
                drops->n[WALK_DROP_torn]++;
                tstate = next_ts;
                continue;
            }
            if (used + n > b->frames_cap) {
                n = b->frames_cap - used;
                partial = true;
            }
            /* a cached code object whose address now holds another one is reloaded */
            size_t m = known_codes(t, raw, n);
            if (m)
                code_revalidate(t, t->seen_codes, m);
            bool ok = true;
            for (size_t i = 0; i < n; i++) {
                if (code_frame(t, p, raw[i].code, raw[i].addrq, &b->frames[used + i], err) < 0) {
                    if (fatal(err))
                        return -1;
                    ok = false;
                    break;
                }
            }
            if (!ok) {
                drops->n[WALK_DROP_code]++;
                tstate = next_ts;
                continue;
            }
            w->frames = b->frames + used;
            w->nframes = n;
            w->partial = partial;
            used += n;
            (*nthreads)++;
            tstate = next_ts;
        }
        interp = next_interp;
    }
    return 0;
}
