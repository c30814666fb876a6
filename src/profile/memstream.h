/* SPDX-License-Identifier: MIT */
/* memstream.h: the stream `ferret mem` records into while the target runs, and its reader.
 * The tracker inside the target (src/mem/) appends a chunk at least twice a second and a
 * last one at exit; a crash or SIGKILL loses at most the chunk being written. The reader
 * turns a stream into a PROFILE_MEMORY Profile with one series per view (docs/MEM.md):
 *
 *   file   := "FERRETM1" chunk*
 *   chunk  := MS_CHUNK len:varint record*     (applied only when complete)
 *   record := type:u8 len:varint payload      (unknown types are skipped)
 *
 * All integers are unsigned LEB128 varints (util/varint.h), signed ones zigzag-mapped.
 * Ids are the tracker's own (strings, frames, stacks count up from 0 in order of
 * appearance; stack 0 is the empty stack and string 0 the empty string). Counts are fixed
 * point, MEM_COUNT_ONE (1024) per allocation, because sampled counts are estimates.
 * Both ends include this header; changing a record means bumping MEMSTREAM_VERSION. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/err.h"

#define MEMSTREAM_MAGIC "FERRETM1"
#define MEMSTREAM_MAGIC_LEN 8
#define MEMSTREAM_VERSION 1
#define MEMSTREAM_COUNT_ONE 1024 /* = MEM_COUNT_ONE in mem/sampling.h */

typedef enum {
    /* version, pid, ppid, start_unix_ns, flags (MS_FLAG_*), sample_bytes, interval_ns,
     * python_version:str, command:str (a str is len:varint bytes) */
    MS_HEADER = 1,
    /* first_id, n, n x str */
    MS_STRINGS = 2,
    /* first_id, n, n x (kind, name_str, file_str, zz(line), zz(fn_line)) */
    MS_FRAMES = 3,
    /* first_id, n, n x (parent_stack, frame) */
    MS_STACKS = 4,
    /* t_ns, n, n x (stack, allocated_bytes, allocated_count, live_bytes, live_count):
     * absolute values that replace the stack's previous ones */
    MS_COUNTERS = 5,
    /* t_ns (when the heap peaked), heap_bytes, attributed_bytes, n,
     * n x (stack, bytes, count): the live set at the peak; replaces every earlier MS_PEAK */
    MS_PEAK = 6,
    /* n, n x (t_ns, heap_bytes, rss_bytes): heap is the highest value since the last point */
    MS_TIMELINE = 7,
    /* key:str, value:str */
    MS_META = 8,
    /* t_ns, reason (MemEndReason), heap_bytes: the live counters sent with it are the
     * memory still live at exit */
    MS_END = 9,
    MS_CHUNK = 10,
} MemStreamType;

enum { MS_FLAG_EXACT = 1 };

typedef enum {
    MEM_END_ATEXIT = 1, /* Python's atexit ran: interpreter intact, before finalisation */
    MEM_END_EXIT = 2,   /* exit() from C without Python's finalisation, or no atexit hook */
    MEM_END__EXIT = 3,  /* os._exit() / _exit(): no finalisation at all */
    MEM_END_EXEC = 4,   /* exec replaced the program (os.execv): no finalisation */
    MEM_END_COUNT
} MemEndReason;

/* The names of the series the reader creates, in SeriesId order (peak_bytes is 0). Views
 * map onto them: peak -> peak_bytes, leaks -> leaked_bytes, allocated -> allocated_bytes,
 * timeline -> heap_bytes and rss_bytes (gauges: one sample per tick at the root stack). */
#define MEM_SERIES(X)                                                                              \
    X(PEAK_BYTES, "peak_bytes", "bytes")                                                           \
    X(PEAK_COUNT, "peak_count", "count")                                                           \
    X(LEAKED_BYTES, "leaked_bytes", "bytes")                                                       \
    X(LEAKED_COUNT, "leaked_count", "count")                                                       \
    X(ALLOCATED_BYTES, "allocated_bytes", "bytes")                                                 \
    X(ALLOCATED_COUNT, "allocated_count", "count")                                                 \
    X(HEAP_BYTES, "heap_bytes", "bytes")                                                           \
    X(RSS_BYTES, "rss_bytes", "bytes")

typedef enum {
#define X(sym, name, unit) MEM_S_##sym,
    MEM_SERIES(X)
#undef X
        MEM_S_COUNT
} MemSeries;

typedef struct {
    bool has_header;   /* a Python process started recording */
    bool ended;        /* an MS_END record arrived: the run finished cleanly */
    MemEndReason end;  /* valid when ended */
    uint64_t chunks;   /* complete chunks applied */
    bool truncated;    /* bytes after the last complete chunk were ignored */
} MemStreamInfo;

/* Reads a stream held in memory into a new PROFILE_MEMORY profile (the caller owns it).
 * Bytes are untrusted: a malformed stream fails with ERR_FORMAT, a truncated one keeps what
 * its complete chunks hold. NULL with *err set on failure. */
Profile *memstream_read(const uint8_t *data, size_t len, MemStreamInfo *info, Err *err);
/* Same, from a file, or from an open descriptor (read from offset 0 with pread, so the
 * descriptor's position does not matter and may be shared with a writer). */
Profile *memstream_read_file(const char *path, MemStreamInfo *info, Err *err);
Profile *memstream_read_fd(int fd, MemStreamInfo *info, Err *err);
