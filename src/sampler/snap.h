/* SPDX-License-Identifier: MIT */
/* snap.h: one sample's view of a target's memory, page by page. At the start of a sample
 * the pages the previous sample used are read again in one system call (merged into runs of
 * adjacent pages); every read of the walk is served from those pages, and pages not seen yet
 * are read on demand. Reading whole pages costs no more than small reads (the kernel's cost
 * is per piece, not per byte), consecutive frames and code objects share pages, and reading
 * everything at once shortens the window in which the target can change under a sample.
 * In-process (local) targets bypass it: reads are plain pointers. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sampler/rmem.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/hash.h"

#define SNAP_MAX_PAGES 4096 /* pages remembered between samples (16 MiB with 4 KiB pages) */
#define SNAP_REC_MAX 32     /* pages one recording keeps */

/* The distinct pages a stretch of reads touched (snap_record), the first SNAP_REC_MAX. */
typedef struct {
    uintptr_t pages[SNAP_REC_MAX];
    size_t n;
} SnapRec;

typedef struct {
    uintptr_t addr;
    const uint8_t *data; /* NULL when the page could not be read this sample */
    uint8_t used;        /* looked at during this sample: prefetched next time */
} SnapPage;

typedef struct {
    size_t page_size;
    SnapPage *pages;
    size_t npages, pages_cap;
    HashU64 index;          /* page address -> index into pages */
    uintptr_t *next;        /* pages to prefetch at the next snap_begin */
    size_t nnext, next_cap;
    uint8_t *prefetch_buf;  /* data of the prefetched pages */
    size_t prefetch_cap;
    Arena misses;           /* data of pages read on demand, and multi-page copies */
    struct iovec *iov_local, *iov_remote; /* RMEM_MAX_IOV each, for the prefetch */
    uint64_t prefetched, missed; /* pages, for statistics */
    uint64_t served;             /* reads served (snap_read calls), for statistics */
    SnapRec *rec;                /* where snap_read notes the pages it serves, or NULL */
} Snap;

/* Returns 0, or -1 when memory runs out. */
int snap_init(Snap *s);
void snap_fini(Snap *s);
/* Starts a sample: reads the pages the last sample used. Fails only when the process is
 * gone or forbidden (ERR_GONE / ERR_PERM); unreadable pages are simply absent. */
int snap_begin(Snap *s, Rmem *m, Err *err);
/* len bytes at addr, valid until snap_end. ERR_IO when they cannot be read (a torn or
 * impossible address), ERR_GONE / ERR_PERM as for rmem. */
const uint8_t *snap_read(Snap *s, Rmem *m, uintptr_t addr, size_t len, Err *err);
/* Ends a sample: the pages used become the next sample's prefetch. */
void snap_end(Snap *s);
/* Between snap_end and snap_begin: n more pages for the next prefetch (pages a read is
 * expected to need that this sample did not use; the prefetch stays within SNAP_MAX_PAGES). */
void snap_want(Snap *s, const uintptr_t *pages, size_t n);
/* From now on the pages snap_read serves are noted in *rec (emptied first), until
 * snap_record(s, NULL). The caller's rec must outlive that. */
void snap_record(Snap *s, SnapRec *rec);
/* Forgets everything (e.g. after an exec replaced the process image). */
void snap_forget(Snap *s);
