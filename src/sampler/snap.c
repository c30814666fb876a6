/* SPDX-License-Identifier: MIT */
/* snap.c: the per-sample page cache behind snap.h. */
#include "sampler/snap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
snap_init(Snap *s)
{
    memset(s, 0, sizeof *s);
    s->page_size = (size_t)sysconf(_SC_PAGESIZE);
    hashu64_init(&s->index);
    arena_init(&s->misses);
    s->iov_local = calloc(RMEM_MAX_IOV, sizeof *s->iov_local);
    s->iov_remote = calloc(RMEM_MAX_IOV, sizeof *s->iov_remote);
    return s->iov_local && s->iov_remote ? 0 : -1;
}

void
snap_fini(Snap *s)
{
    free(s->pages);
    free(s->next);
    free(s->prefetch_buf);
    free(s->iov_local);
    free(s->iov_remote);
    hashu64_fini(&s->index);
    arena_fini(&s->misses);
    memset(s, 0, sizeof *s);
}

void
snap_forget(Snap *s)
{
    s->nnext = 0;
}

static int
add_page(Snap *s, uintptr_t addr, const uint8_t *data, Err *err)
{
    if (s->npages == s->pages_cap) {
        size_t cap = s->pages_cap ? s->pages_cap * 2 : 256;
        SnapPage *p = realloc(s->pages, cap * sizeof *p);
        if (!p)
            return err_set(err, ERR_NOMEM, "out of memory caching pages");
        s->pages = p;
        s->pages_cap = cap;
    }
    if (hashu64_put(&s->index, addr, (uint32_t)s->npages) < 0)
        return err_set(err, ERR_NOMEM, "out of memory caching pages");
    s->pages[s->npages++] = (SnapPage){addr, data, 0};
    return 0;
}

static int
cmp_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads pages[from..to) of the sorted prefetch list, whose buffers are consecutive, as runs
 * of adjacent pages; marks the pages read. Returns the index reached (a page that could not
 * be read stops the call; the caller goes on after it), or -1 (gone / forbidden). */
static long
read_runs(Snap *s, Rmem *m, size_t from, size_t to, Err *err)
{
    struct iovec *local = s->iov_local, *remote = s->iov_remote;
    size_t niov = 0, i = from, end = from;
    while (i < to && niov < RMEM_MAX_IOV) {
        size_t j = i + 1;
        while (j < to && s->next[j] == s->next[j - 1] + s->page_size)
            j++;
        local[niov] = (struct iovec){s->prefetch_buf + i * s->page_size, (j - i) * s->page_size};
        remote[niov] = (struct iovec){(void *)s->next[i], (j - i) * s->page_size};
        niov++;
        end = j;
        i = j;
    }
    ssize_t got = rmem_readv_raw(m, local, remote, niov, err);
    if (got < 0)
        return -1;
    size_t full = (size_t)got / s->page_size; /* pages completely read, in order */
    return (long)(from + full < end ? from + full : end);
}

int
snap_begin(Snap *s, Rmem *m, Err *err)
{
    s->npages = 0;
    hashu64_clear(&s->index);
    arena_reset(&s->misses);
    if (m->local || !s->nnext)
        return 0;
    qsort(s->next, s->nnext, sizeof *s->next, cmp_addr);
    size_t n = 0;
    for (size_t i = 0; i < s->nnext; i++)
        if (!n || s->next[i] != s->next[n - 1])
            s->next[n++] = s->next[i];
    s->nnext = n;
    if (s->prefetch_cap < n * s->page_size) {
        uint8_t *b = realloc(s->prefetch_buf, n * s->page_size);
        if (!b)
            return err_set(err, ERR_NOMEM, "out of memory caching pages");
        s->prefetch_buf = b;
        s->prefetch_cap = n * s->page_size;
    }
    size_t i = 0;
    while (i < n) {
        long reached = read_runs(s, m, i, n, err);
        if (reached < 0)
            return -1;
        for (size_t k = i; k < (size_t)reached; k++)
            if (add_page(s, s->next[k], s->prefetch_buf + k * s->page_size, err) < 0)
                return -1;
        s->prefetched += (size_t)reached - i;
        if ((size_t)reached < n && (size_t)reached == i) {
            /* this page is gone (unmapped since the last sample): remember it as unreadable */
            if (add_page(s, s->next[i], NULL, err) < 0)
                return -1;
            reached = (long)i + 1;
        }
        i = (size_t)reached;
    }
    return 0;
}

/* Reads pages [first, first + n * page_size) now into the miss arena; registers those not
 * cached yet. Returns their data, or NULL with *err. */
static const uint8_t *
read_now(Snap *s, Rmem *m, uintptr_t first, size_t n, Err *err)
{
    size_t len = n * s->page_size;
    uint8_t *buf = arena_alloc(&s->misses, len);
    if (!buf) {
        err_set(err, ERR_NOMEM, "out of memory caching pages");
        return NULL;
    }
    if (rmem_read(m, first, buf, len, err) < 0)
        return NULL;
    s->missed += n;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = first + i * s->page_size;
        uint32_t *idx = hashu64_find(&s->index, a);
        if (idx)
            s->pages[*idx].data = buf + i * s->page_size; /* refreshed */
        else if (add_page(s, a, buf + i * s->page_size, err) < 0)
            return NULL;
    }
    return buf;
}

/* Notes pages [first, first + n pages) in the recording, once each. */
static void
note_pages(Snap *s, uintptr_t first, size_t n)
{
    SnapRec *r = s->rec;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = first + i * s->page_size;
        size_t k = r->n;
        while (k > 0 && r->pages[k - 1] != a) /* the newest first: reads come in runs */
            k--;
        if (k == 0 && r->n < SNAP_REC_MAX)
            r->pages[r->n++] = a;
    }
}

const uint8_t *
snap_read(Snap *s, Rmem *m, uintptr_t addr, size_t len, Err *err)
{
    if (m->local)
        return (const uint8_t *)addr;
    s->served++;
    if (len == 0)
        len = 1;
    size_t ps = s->page_size;
    if (addr == 0 || addr + len < addr || len > (4u << 20)) {
        err_set(err, ERR_IO, "implausible read of %zu bytes at %#lx", len, (unsigned long)addr);
        return NULL;
    }
    uintptr_t first = addr & ~(uintptr_t)(ps - 1);
    uintptr_t last = (addr + len - 1) & ~(uintptr_t)(ps - 1);
    size_t n = (last - first) / ps + 1;
    if (s->rec)
        note_pages(s, first, n);
    /* every page cached, readable and adjacent in our buffers: a pointer into them */
    const uint8_t *base = NULL;
    bool direct = true;
    for (size_t i = 0; i < n; i++) {
        uint32_t *idx = hashu64_find(&s->index, first + i * ps);
        if (!idx) {
            direct = false;
            break;
        }
        SnapPage *pg = &s->pages[*idx];
        if (!pg->data) {
            err_set(err, ERR_IO, "page %#lx of process %d is unreadable", (unsigned long)pg->addr,
                    (int)m->pid);
            return NULL;
        }
        pg->used = 1;
        if (i == 0)
            base = pg->data;
        else if (pg->data != base + i * ps)
            direct = false;
    }
    if (!direct) {
        /* read the whole span now: the freshest copy of every page it covers */
        base = read_now(s, m, first, n, err);
        if (!base)
            return NULL;
        for (size_t i = 0; i < n; i++)
            s->pages[*hashu64_find(&s->index, first + i * ps)].used = 1;
    }
    return base + (addr - first);
}

void
snap_end(Snap *s)
{
    s->nnext = 0;
    if (s->next_cap < s->npages) {
        uintptr_t *p = realloc(s->next, s->npages * sizeof *p);
        if (!p)
            return; /* nothing prefetched next time; still correct */
        s->next = p;
        s->next_cap = s->npages;
    }
    for (size_t i = 0; i < s->npages && s->nnext < SNAP_MAX_PAGES; i++)
        if (s->pages[i].used)
            s->next[s->nnext++] = s->pages[i].addr;
}

void
snap_want(Snap *s, const uintptr_t *pages, size_t n)
{
    if (s->nnext >= SNAP_MAX_PAGES)
        return;
    if (n > SNAP_MAX_PAGES - s->nnext)
        n = SNAP_MAX_PAGES - s->nnext;
    if (s->next_cap < s->nnext + n) {
        size_t cap = s->next_cap ? s->next_cap : 64;
        while (cap < s->nnext + n)
            cap *= 2;
        uintptr_t *p = realloc(s->next, cap * sizeof *p);
        if (!p)
            return; /* read when needed instead; still correct */
        s->next = p;
        s->next_cap = cap;
    }
    if (n)
        memcpy(s->next + s->nnext, pages, n * sizeof *pages);
    s->nnext += n;
}

void
snap_record(Snap *s, SnapRec *rec)
{
    s->rec = rec;
    if (rec)
        rec->n = 0;
}
