/* SPDX-License-Identifier: MIT */
/* test_snap.c: the sample's page snapshot, over this process's own memory (process_vm_readv
 * of itself): which pages one system call brings at the start of a sample, which cost a read
 * of their own, the pages a stretch of reads is noted to touch, and that what is served is
 * the memory as it was when read. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "sampler/snap.h"

enum { PAGES = 8 };

static uint8_t *mem; /* PAGES pages, page-aligned */
static size_t ps;
static Snap s;
static Rmem m;
static Err err;

/* A new snapshot over this process. */
static void
fresh(void)
{
    CHECK_EQ_INT(snap_init(&s), 0);
    rmem_init(&m, getpid());
}

static uintptr_t
page(size_t i)
{
    return (uintptr_t)(mem + i * ps);
}

/* Reads 16 bytes at the start of page i through the snapshot and checks them. */
static void
read_page(size_t i)
{
    const uint8_t *got = snap_read(&s, &m, page(i) + 8, 16, &err);
    CHECK(got != NULL);
    if (got)
        CHECK(memcmp(got, mem + i * ps + 8, 16) == 0);
}

static void
test_pages_used_come_in_one_read(void)
{
    fresh();
    /* sample 1: nothing to prefetch, each page read when first needed */
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    read_page(0);
    read_page(3);
    read_page(5);
    read_page(3);
    CHECK_EQ_U64(m.reads, 3);
    snap_end(&s);
    /* sample 2: those pages in one read; page 5 is not used */
    mem[3 * ps + 8] ^= 0xff; /* changed since: the new bytes are served */
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    CHECK_EQ_U64(m.reads, 4);
    read_page(0);
    read_page(3);
    CHECK_EQ_U64(m.reads, 4);
    snap_end(&s);
    /* sample 3: page 5 is no longer prefetched, and costs a read of its own */
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    CHECK_EQ_U64(m.reads, 5);
    read_page(5);
    CHECK_EQ_U64(m.reads, 6);
    snap_end(&s);
    snap_fini(&s);
}

static void
test_wanted_pages_come_with_the_prefetch(void)
{
    fresh();
    SnapRec rec;
    /* sample 1: a stretch of reads is recorded, each page once */
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    read_page(0);
    snap_record(&s, &rec);
    read_page(6);
    read_page(2);
    read_page(6);
    CHECK(snap_read(&s, &m, page(6) + ps - 4, 8, &err) != NULL); /* across pages 6 and 7 */
    snap_record(&s, NULL);
    read_page(4);
    CHECK_EQ_SIZE(rec.n, 3);
    CHECK_EQ_U64(rec.pages[0], page(6));
    CHECK_EQ_U64(rec.pages[1], page(2));
    CHECK_EQ_U64(rec.pages[2], page(7));
    snap_end(&s);
    /* sample 2 uses page 0 only: the others drop out of the prefetch */
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    read_page(0);
    snap_end(&s);
    /* sample 3: the recorded pages are wanted again, and come with page 0 in one read */
    snap_want(&s, rec.pages, rec.n);
    uint64_t before = m.reads;
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    CHECK_EQ_U64(m.reads, before + 1);
    read_page(0);
    read_page(2);
    read_page(6);
    read_page(7);
    CHECK_EQ_U64(m.reads, before + 1);
    read_page(4); /* not wanted: a read of its own */
    CHECK_EQ_U64(m.reads, before + 2);
    snap_end(&s);
    snap_fini(&s);
}

static void
test_a_recording_keeps_the_first_pages(void)
{
    fresh();
    SnapRec rec;
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    snap_record(&s, &rec);
    for (size_t round = 0; round < SNAP_REC_MAX / PAGES + 2; round++)
        for (size_t i = 0; i < PAGES; i++)
            read_page(i);
    CHECK_EQ_SIZE(rec.n, PAGES); /* each page once, however often read */
    snap_record(&s, &rec);
    CHECK_EQ_SIZE(rec.n, 0); /* a new recording starts empty */
    snap_record(&s, NULL);
    snap_end(&s);
    /* wanting more pages than a sample holds keeps the bound */
    uintptr_t *many = calloc(SNAP_MAX_PAGES + 10, sizeof *many);
    CHECK(many != NULL);
    for (size_t i = 0; many && i < SNAP_MAX_PAGES + 10; i++)
        many[i] = page(i % PAGES);
    if (many)
        snap_want(&s, many, SNAP_MAX_PAGES + 10);
    CHECK(s.nnext <= SNAP_MAX_PAGES);
    CHECK_EQ_INT(snap_begin(&s, &m, &err), 0);
    read_page(1);
    snap_end(&s);
    free(many);
    snap_fini(&s);
}

int
main(void)
{
    ps = (size_t)sysconf(_SC_PAGESIZE);
    mem = mmap(NULL, PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    if (mem == MAP_FAILED)
        return check_report();
    for (size_t i = 0; i < PAGES * ps; i++)
        mem[i] = (uint8_t)(i * 7 + i / ps);
    test_pages_used_come_in_one_read();
    test_wanted_pages_come_with_the_prefetch();
    test_a_recording_keeps_the_first_pages();
    munmap(mem, PAGES * ps);
    return check_report();
}
