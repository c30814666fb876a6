/* SPDX-License-Identifier: MIT */
/* ffile.h: the .ferret profile file (spec: docs/FORMAT.md). A header, then self-contained
 * chunks, each holding what was added to a Profile since the previous chunk, then an end
 * marker. Recorders (the sampler, the memory tracker, the tracer) open a writer, flush it at
 * least once a second while they record, and close it; a recorder killed at any point leaves
 * a file whose complete chunks still open. Reports and `ferret diff` read files back whole. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/profile.h"
#include "util/err.h"

#define FFILE_VERSION_MAJOR 1 /* readers refuse a larger major version */
#define FFILE_VERSION_MINOR 0 /* additions a version-1 reader may skip */

/* What a reader accepts (a file beyond them is corrupt; docs/FORMAT.md "Bounds"): no recorder
 * comes near them, and together they keep every writer's sums, products and differences of
 * weights, intervals and times inside int64_t: a sample's time and the time it begins
 * (profile_sample_begin) lie within +-(2^60 + 2^61), two of them differ by less than 2^63. */
#define FFILE_MAX_INTERVAL_NS (INT64_C(1) << 40) /* about 18 minutes between samples */
#define FFILE_MAX_WEIGHT (INT64_C(1) << 44)      /* per record: 16 TiB, or 4.9 hours in ns */
#define FFILE_MAX_TIME_NS (INT64_C(1) << 60)     /* a sample's time: 36 years from the start */
/* A series' summed weight, for a series counting samples times its interval (1 ms when the
 * profile records none, as callgraph.c counts it): 73 years in ns, 2 EiB in bytes. */
#define FFILE_MAX_TOTAL (INT64_C(1) << 61)

typedef struct FfileWriter FfileWriter; /* opaque */

/* Creates path (truncating) and writes the header. The caller owns the writer and ends it
 * with ffile_writer_close or ffile_writer_abort. NULL with *err set. */
FfileWriter *ffile_writer_open(const char *path, Err *err);
/* Appends one self-contained chunk with everything added to p since the last flush (strings,
 * frames, stacks, processes, threads incl. renamed ones, series, samples, changed info and
 * metadata), then fflush()es. A flush with nothing new writes nothing. p must be the same
 * profile at every call. Returns 0, or -1 with *err set (the file keeps its earlier chunks;
 * further flushes fail too). */
int ffile_writer_flush(FfileWriter *w, const Profile *p, Err *err);
/* A flush and an end marker, leaving w open: the file is complete as it stands (a program
 * about to exec). The next flush or close cuts the marker off and goes on. Only for writers
 * from ffile_writer_open. Returns 0, or -1 with *err set. */
int ffile_writer_seal(FfileWriter *w, const Profile *p, Err *err);
/* Final flush, an end marker, fsync, close; frees w even on error. Returns 0 or -1. */
int ffile_writer_close(FfileWriter *w, const Profile *p, Err *err);
/* Closes without the end marker (the file keeps every flushed chunk and opens as
 * incomplete) and frees w. NULL is a no-op. */
void ffile_writer_abort(FfileWriter *w);
/* Writes the whole profile as a complete .ferret file to out (through stdio). The `ferret`
 * report format, so
 * `ferret report X -f ferret -o Y` re-encodes and the report path's OUT.tmp-then-rename
 * applies. Returns 0 or -1. */
int ffile_write_stream(const Profile *p, FILE *out, Err *err);
/* Bytes written so far (header and chunks). */
uint64_t ffile_writer_bytes(const FfileWriter *w);

/* Reads a whole file into a new Profile (the caller frees it). A file without the end marker
 * (a recorder that was killed) opens with meta "incomplete" = "1". An empty, truncated,
 * corrupted (each chunk has a CRC-32) or foreign file gives NULL with ERR_FORMAT and a
 * message naming the file and what is wrong; other failures ERR_IO or ERR_NOMEM. Reads no
 * further than the first bytes that cannot be a .ferret file (any input: a pipe, a FIFO,
 * /dev/zero). */
Profile *ffile_read(const char *path, Err *err);
/* Same, from bytes in memory (untrusted; used by ffile_read and the fuzzer). `name` is used
 * in messages. */
Profile *ffile_read_mem(const uint8_t *data, size_t len, const char *name, Err *err);
