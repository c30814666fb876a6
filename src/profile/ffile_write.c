/* SPDX-License-Identifier: MIT */
/* ffile_write.c: the streaming .ferret writer (docs/FORMAT.md). Each flush encodes what the
 * profile gained since the previous one (tables only grow; processes, threads, info and
 * metadata are compared with a snapshot) into sections, deflates the payload when that is
 * smaller, and writes the whole chunk with one write(2), so a recorder killed between two
 * flushes leaves only whole chunks. Called by the recorders (sampler, tracer, memory). */
#include "profile/ffile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "profile/ffile_fmt.h"
#include "util/buf.h"
#include "util/varint.h"

struct FfileWriter {
    int fd;       /* -1 when writing to `stream` */
    FILE *stream; /* ffile_write_stream's caller's */
    bool owns_fd; /* opened by ffile_writer_open */
    dev_t dev;    /* the file fd was opened on (owns_fd): a program that closes descriptors */
    ino_t ino;    /* it does not own may leave fd closed, or reused for its own file */
    char *path;
    uint64_t bytes; /* file length after the last whole chunk */
    bool failed;    /* a write failed: the file was cut back to `bytes`, nothing more goes in */
    bool sealed;    /* ffile_writer_seal wrote an end marker, to be cut off at the next flush */
    uint64_t sealed_at; /* file length before that end marker */

    /* what earlier chunks hold */
    size_t nstrs, nframes, nstacks, nprocs, nthreads, nseries, nsamples, nmeta;
    int32_t *proc_ppid; /* per flushed process: ppid and command as written */
    StrId *proc_cmd;
    StrId *thread_name; /* per flushed thread: name as written */
    char **meta_val;    /* per flushed meta entry: value as written */
    ProfileInfo info;
    bool info_written;

    Buf raw; /* payload of the chunk being built */
    Buf sec; /* records of the section being built */
    int sec_tag;
    uint64_t sec_count;
    Buf out; /* chunk header + stored payload */

    /* sample codec state, reset at every chunk (FORMAT.md "Samples") */
    int64_t prev_t;
    ThreadId prev_thread;
    SeriesId prev_series;
    uint32_t gen;        /* chunk generation: last_stack[t] is valid when last_gen[t] == gen */
    StackId *last_stack; /* per thread */
    uint32_t *last_gen;
    size_t last_cap;
};

static void
put_uv(Buf *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    buf_append(b, tmp, varint_put(tmp, v));
}

static void
put_sv(Buf *b, int64_t v)
{
    put_uv(b, zigzag_enc(v));
}

static void
put_str(Buf *b, const char *s, size_t n)
{
    put_uv(b, n);
    buf_append(b, s, n);
}

static void
put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Writes all of data at the end of the file; on failure cuts the file back to its last whole
 * chunk so what was written before still opens. */
static int
write_all(FfileWriter *w, const void *data, size_t n, Err *err)
{
    const char *p = data;
    size_t left = n;
    if (w->stream && fwrite(p, 1, left, w->stream) != left) {
        w->failed = true;
        return err_sys(err, errno ? errno : EIO, "writing %s", w->path);
    }
    while (!w->stream && left > 0) {
        ssize_t k = write(w->fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            w->failed = true;
            if (w->owns_fd && ftruncate(w->fd, (off_t)w->bytes) == 0)
                (void)lseek(w->fd, (off_t)w->bytes, SEEK_SET);
            return err_sys(err, e, "writing %s", w->path);
        }
        p += k;
        left -= (size_t)k;
    }
    w->bytes += n;
    return 0;
}

static void
codec_reset(FfileWriter *w)
{
    w->prev_t = 0;
    w->prev_thread = 0;
    w->prev_series = 0;
    w->gen++;
}

/* ffile_writer_open's descriptors start here, out of the way of a program that numbers its
 * own from 3 up (the tracer writes from inside the program it traces). */
#define FFILE_FD_HIGH 600

/* fd moved to FFILE_FD_HIGH or above (close-on-exec); fd itself if that fails. */
static int
fd_high(int fd)
{
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, FFILE_FD_HIGH);
    if (hi < 0)
        return fd;
    close(fd);
    return hi;
}

/* Makes sure w->fd still refers to the file ffile_writer_open opened. A program that closes
 * descriptors it does not own (os.closerange(3, ...), daemons) may have closed it, and may
 * have opened its own file under the same number since: ferret never writes into that (or
 * closes it); it opens its file again by path, at the end of its last whole chunk. */
static int
fd_ensure(FfileWriter *w, Err *err)
{
    struct stat st;
    if (!w->owns_fd)
        return 0;
    if (w->fd >= 0 && fstat(w->fd, &st) == 0 && st.st_dev == w->dev && st.st_ino == w->ino)
        return 0;
    w->fd = -1; /* not ours any more: never written to or closed by the writer */
    int fd = open(w->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        w->failed = true;
        return err_sys(err, errno,
                       "writing %s: the program closed ferret's descriptor of it and it "
                       "cannot be opened again",
                       w->path);
    }
    if (fstat(fd, &st) != 0 || st.st_dev != w->dev || st.st_ino != w->ino ||
        (uint64_t)st.st_size < w->bytes || ftruncate(fd, (off_t)w->bytes) != 0 ||
        lseek(fd, (off_t)w->bytes, SEEK_SET) < 0) {
        close(fd);
        w->failed = true;
        return err_set(err, ERR_IO,
                       "writing %s: the program closed ferret's descriptor of it and the file "
                       "was since replaced or cut short",
                       w->path);
    }
    w->fd = fd_high(fd);
    return 0;
}

/* Writes raw as one chunk of the given tag (deflated when that is smaller). */
static int
chunk_out(FfileWriter *w, int tag, Err *err)
{
    Buf *o = &w->out;
    buf_reset(o);
    if (buf_reserve(o, FFILE_CHUNK_HEADER_LEN) < 0)
        return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    o->len = FFILE_CHUNK_HEADER_LEN;
    const uint8_t *stored = (const uint8_t *)w->raw.data;
    size_t stored_len = w->raw.len;
    if (tag == FFILE_CHUNK_RAW && w->raw.len > 64) {
        uLongf zlen = compressBound((uLong)w->raw.len);
        if (buf_reserve(o, zlen) < 0)
            return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
        if (compress2((Bytef *)o->data + FFILE_CHUNK_HEADER_LEN, &zlen, stored,
                      (uLong)w->raw.len, 6) == Z_OK &&
            zlen < w->raw.len) {
            tag = FFILE_CHUNK_DEFLATE;
            stored = NULL;
            stored_len = zlen;
        }
    }
    if (stored)
        buf_append(o, stored, stored_len);
    else
        o->len += stored_len;
    if (buf_failed(o))
        return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    uint8_t *h = (uint8_t *)o->data;
    h[0] = (uint8_t)tag;
    put_u32le(h + 1, (uint32_t)stored_len);
    put_u32le(h + 5, (uint32_t)w->raw.len);
    uLong crc = crc32(0, h, 9);
    crc = crc32(crc, h + FFILE_CHUNK_HEADER_LEN, (uInt)stored_len);
    put_u32le(h + 9, (uint32_t)crc);
    buf_reset(&w->raw);
    codec_reset(w);
    if (fd_ensure(w, err) < 0)
        return -1;
    return write_all(w, o->data, o->len, err);
}

static void
sec_begin(FfileWriter *w, int tag)
{
    buf_reset(&w->sec);
    w->sec_tag = tag;
    w->sec_count = 0;
}

static void
sec_end(FfileWriter *w)
{
    if (w->sec_count == 0)
        return;
    put_uv(&w->raw, (uint64_t)w->sec_tag);
    put_uv(&w->raw, w->sec_count);
    put_uv(&w->raw, w->sec.len);
    buf_append(&w->raw, w->sec.data, w->sec.len);
    buf_reset(&w->sec);
    w->sec_count = 0;
}

/* Counts one record; when the chunk has grown past its target, closes the section, writes
 * the chunk and reopens the section in a new chunk. */
static int
sec_record(FfileWriter *w, Err *err)
{
    w->sec_count++;
    if (w->raw.len + w->sec.len < FFILE_CHUNK_TARGET)
        return 0;
    int tag = w->sec_tag;
    sec_end(w);
    if (buf_failed(&w->raw))
        return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    if (chunk_out(w, FFILE_CHUNK_RAW, err) < 0)
        return -1;
    sec_begin(w, tag);
    return 0;
}

static int
emit_info(FfileWriter *w, const Profile *p, Err *err)
{
    const ProfileInfo *in = profile_info_c(p);
    const ProfileInfo *was = &w->info;
    if (w->info_written && in->kind == was->kind && in->interval_ns == was->interval_ns &&
        in->start_unix_ns == was->start_unix_ns && in->duration_ns == was->duration_ns &&
        in->dropped == was->dropped)
        return 0;
    sec_begin(w, FFILE_SEC_INFO);
    put_uv(&w->sec, (uint64_t)in->kind);
    put_sv(&w->sec, in->interval_ns);
    put_sv(&w->sec, in->start_unix_ns);
    put_sv(&w->sec, in->duration_ns);
    put_uv(&w->sec, in->dropped);
    if (sec_record(w, err) < 0)
        return -1;
    sec_end(w);
    w->info = *in;
    w->info_written = true;
    return 0;
}

static int
emit_meta(FfileWriter *w, const Profile *p, Err *err)
{
    size_t n = profile_nmeta(p);
    if (n > w->nmeta) {
        char **v = realloc(w->meta_val, n * sizeof *v);
        if (!v)
            return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
        w->meta_val = v;
        for (size_t i = w->nmeta; i < n; i++)
            v[i] = NULL;
        w->nmeta = n;
    }
    sec_begin(w, FFILE_SEC_META);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        if (w->meta_val[i] && strcmp(w->meta_val[i], v) == 0)
            continue;
        char *copy = strdup(v);
        if (!copy)
            return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
        free(w->meta_val[i]);
        w->meta_val[i] = copy;
        put_str(&w->sec, k, strlen(k));
        put_str(&w->sec, v, strlen(v));
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    return 0;
}

static int
emit_tables(FfileWriter *w, const Profile *p, Err *err)
{
    sec_begin(w, FFILE_SEC_STRS);
    for (size_t n = profile_nstrs(p); w->nstrs < n; w->nstrs++) {
        put_str(&w->sec, profile_strp(p, (StrId)w->nstrs), profile_strlen(p, (StrId)w->nstrs));
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    sec_begin(w, FFILE_SEC_FRAMES);
    for (size_t n = profile_nframes(p); w->nframes < n; w->nframes++) {
        const ProfFrame *f = profile_frame_at(p, (FrameId)w->nframes);
        put_uv(&w->sec, f->name);
        put_uv(&w->sec, f->file);
        put_sv(&w->sec, f->line);
        put_sv(&w->sec, f->fn_line);
        put_uv(&w->sec, f->kind);
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    sec_begin(w, FFILE_SEC_STACKS);
    for (size_t n = profile_nstacks(p); w->nstacks < n; w->nstacks++) {
        const ProfStack *s = profile_stack_at(p, (StackId)w->nstacks);
        put_uv(&w->sec, w->nstacks - s->parent);
        put_uv(&w->sec, s->frame);
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    return 0;
}

/* Grows a snapshot array to n entries (new ones are written below before being read). */
static int
grow_snap(void **arr, size_t n, size_t elem, const FfileWriter *w, Err *err)
{
    void *q = realloc(*arr, (n ? n : 1) * elem);
    if (!q)
        return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    *arr = q;
    return 0;
}

static int
emit_procs(FfileWriter *w, const Profile *p, Err *err)
{
    size_t n = profile_nprocs(p);
    if (grow_snap((void **)&w->proc_ppid, n, sizeof *w->proc_ppid, w, err) < 0 ||
        grow_snap((void **)&w->proc_cmd, n, sizeof *w->proc_cmd, w, err) < 0)
        return -1;
    sec_begin(w, FFILE_SEC_PROCS);
    for (size_t i = 0; i < n; i++) {
        const ProfProcess *pr = profile_proc_at(p, (ProcId)i);
        if (i < w->nprocs && w->proc_ppid[i] == pr->ppid && w->proc_cmd[i] == pr->command)
            continue;
        w->proc_ppid[i] = pr->ppid;
        w->proc_cmd[i] = pr->command;
        put_uv(&w->sec, i);
        put_sv(&w->sec, pr->pid);
        put_sv(&w->sec, pr->ppid);
        put_uv(&w->sec, pr->command);
        if (sec_record(w, err) < 0)
            return -1;
    }
    w->nprocs = n;
    sec_end(w);

    n = profile_nthreads(p);
    if (grow_snap((void **)&w->thread_name, n, sizeof *w->thread_name, w, err) < 0)
        return -1;
    sec_begin(w, FFILE_SEC_THREADS);
    for (size_t i = 0; i < n; i++) {
        const ProfThread *t = profile_thread_at(p, (ThreadId)i);
        if (i < w->nthreads && w->thread_name[i] == t->name)
            continue;
        w->thread_name[i] = t->name;
        put_uv(&w->sec, i);
        put_uv(&w->sec, t->proc);
        put_uv(&w->sec, t->tid);
        put_uv(&w->sec, t->name);
        if (sec_record(w, err) < 0)
            return -1;
    }
    w->nthreads = n;
    sec_end(w);

    sec_begin(w, FFILE_SEC_SERIES);
    for (size_t m = profile_nseries(p); w->nseries < m; w->nseries++) {
        const char *name = profile_series_name(p, (SeriesId)w->nseries);
        const char *unit = profile_series_unit(p, (SeriesId)w->nseries);
        put_str(&w->sec, name, strlen(name));
        put_str(&w->sec, unit, strlen(unit));
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    return 0;
}

static int
emit_samples(FfileWriter *w, const Profile *p, Err *err)
{
    size_t nt = profile_nthreads(p);
    if (ffile_grow_last(&w->last_stack, &w->last_gen, &w->last_cap, nt) < 0)
        return err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    sec_begin(w, FFILE_SEC_SAMPLES);
    for (size_t n = profile_nsamples(p); w->nsamples < n; w->nsamples++) {
        ProfSample s;
        profile_sample_at(p, w->nsamples, &s);
        StackId last = w->last_gen[s.thread] == w->gen ? w->last_stack[s.thread] : PROFILE_ROOT;
        uint8_t h = s.flags & FFILE_S_FLAGS;
        if (s.flags & ~FFILE_S_FLAGS)
            h |= FFILE_S_FLAGS8;
        if (s.thread != w->prev_thread)
            h |= FFILE_S_THREAD;
        if (s.series != w->prev_series)
            h |= FFILE_S_SERIES;
        if (s.stack != last)
            h |= FFILE_S_STACK;
        if (s.weight != 1)
            h |= FFILE_S_WEIGHT;
        buf_putc(&w->sec, (char)h);
        if (h & FFILE_S_FLAGS8)
            buf_putc(&w->sec, (char)s.flags);
        if (h & FFILE_S_THREAD)
            put_uv(&w->sec, s.thread);
        if (h & FFILE_S_SERIES)
            buf_putc(&w->sec, (char)s.series);
        if (h & FFILE_S_STACK)
            put_sv(&w->sec, (int64_t)s.stack - (int64_t)last);
        if (h & FFILE_S_WEIGHT)
            put_sv(&w->sec, s.weight);
        put_uv(&w->sec, zigzag_enc((int64_t)((uint64_t)s.t_ns - (uint64_t)w->prev_t)));
        w->prev_t = s.t_ns;
        w->prev_thread = s.thread;
        w->prev_series = s.series;
        w->last_stack[s.thread] = s.stack;
        w->last_gen[s.thread] = w->gen;
        if (sec_record(w, err) < 0)
            return -1;
    }
    sec_end(w);
    return 0;
}

/* A writer on fd (named `path` in messages) that has written the header. */
static FfileWriter *
writer_new(int fd, FILE *stream, const char *path, Err *err)
{
    bool owns_fd = !stream;
    FfileWriter *w = calloc(1, sizeof *w);
    char *copy = strdup(path);
    if (!w || !copy) {
        free(w);
        free(copy);
        if (owns_fd)
            close(fd);
        err_set(err, ERR_NOMEM, "out of memory opening %s", path);
        return NULL;
    }
    w->fd = fd;
    w->stream = stream;
    w->owns_fd = owns_fd;
    w->path = copy;
    buf_init(&w->raw);
    buf_init(&w->sec);
    buf_init(&w->out);
    w->gen = 1;
    w->nstrs = 1;   /* string 0 (empty) and stack 0 (the root) exist in every profile */
    w->nstacks = 1;
    uint8_t h[FFILE_HEADER_LEN];
    memcpy(h, FFILE_MAGIC, FFILE_MAGIC_LEN);
    h[8] = FFILE_VERSION_MAJOR;
    h[9] = 0;
    h[10] = FFILE_VERSION_MINOR;
    h[11] = 0;
    if (write_all(w, h, sizeof h, err) < 0) {
        ffile_writer_abort(w);
        return NULL;
    }
    return w;
}

FfileWriter *
ffile_writer_open(const char *path, Err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err_sys(err, errno, "cannot create %s", path);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    FfileWriter *w = writer_new(fd_high(fd), NULL, path, err);
    if (w) {
        w->dev = st.st_dev;
        w->ino = st.st_ino;
    }
    return w;
}

int
ffile_write_stream(const Profile *p, FILE *out, Err *err)
{
    FfileWriter *w = writer_new(-1, out, "the profile", err);
    if (!w)
        return -1;
    return ffile_writer_close(w, p, err);
}

/* Cuts off the end marker ffile_writer_seal wrote: the chunks go on after the last one. */
static int
unseal(FfileWriter *w, Err *err)
{
    if (!w->sealed)
        return 0;
    w->sealed = false;
    if (fd_ensure(w, err) < 0)
        return -1;
    if (ftruncate(w->fd, (off_t)w->sealed_at) != 0 ||
        lseek(w->fd, (off_t)w->sealed_at, SEEK_SET) < 0) {
        w->failed = true;
        return err_sys(err, errno, "writing %s", w->path);
    }
    w->bytes = w->sealed_at;
    return 0;
}

int
ffile_writer_flush(FfileWriter *w, const Profile *p, Err *err)
{
    if (w->failed)
        return err_set(err, ERR_IO, "writing %s: an earlier write failed", w->path);
    if (unseal(w, err) < 0)
        return -1;
    buf_reset(&w->raw);
    codec_reset(w);
    int rc = 0;
    if (emit_info(w, p, err) < 0 || emit_meta(w, p, err) < 0 || emit_tables(w, p, err) < 0 ||
        emit_procs(w, p, err) < 0 || emit_samples(w, p, err) < 0)
        rc = -1;
    else if (buf_failed(&w->raw) || buf_failed(&w->sec))
        rc = err_set(err, ERR_NOMEM, "out of memory writing %s", w->path);
    else if (w->raw.len > 0)
        rc = chunk_out(w, FFILE_CHUNK_RAW, err);
    /* the snapshots already count what this flush encoded: after a failure they no longer
     * describe the file, so the writer takes nothing more */
    if (rc < 0)
        w->failed = true;
    return rc;
}

static void
writer_free(FfileWriter *w)
{
    buf_fini(&w->raw);
    buf_fini(&w->sec);
    buf_fini(&w->out);
    for (size_t i = 0; i < w->nmeta; i++)
        free(w->meta_val[i]);
    free(w->meta_val);
    free(w->proc_ppid);
    free(w->proc_cmd);
    free(w->thread_name);
    free(w->last_stack);
    free(w->last_gen);
    free(w->path);
    free(w);
}

/* The end marker: what the file holds, counted (FORMAT.md "End"). */
static int
end_out(FfileWriter *w, const Profile *p, Err *err)
{
    buf_reset(&w->raw);
    size_t counts[] = {profile_nstrs(p),   profile_nframes(p),  profile_nstacks(p),
                       profile_nprocs(p),  profile_nthreads(p), profile_nseries(p),
                       profile_nsamples(p)};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        put_uv(&w->raw, counts[i]);
    return chunk_out(w, FFILE_CHUNK_END, err);
}

int
ffile_writer_seal(FfileWriter *w, const Profile *p, Err *err)
{
    if (!w->owns_fd)
        return err_set(err, ERR_USAGE, "writing %s: only a file can be sealed", w->path);
    if (ffile_writer_flush(w, p, err) < 0)
        return -1;
    uint64_t at = w->bytes;
    if (end_out(w, p, err) < 0)
        return -1;
    w->sealed = true;
    w->sealed_at = at;
    return 0;
}

int
ffile_writer_close(FfileWriter *w, const Profile *p, Err *err)
{
    int rc = ffile_writer_flush(w, p, err);
    if (rc == 0)
        rc = end_out(w, p, err);
    if (rc == 0 && fd_ensure(w, err) < 0)
        rc = -1;
    if (w->owns_fd && w->fd >= 0) {
        if (rc == 0 && fsync(w->fd) != 0 && errno != EINVAL)
            rc = err_sys(err, errno, "writing %s", w->path);
        if (close(w->fd) != 0 && rc == 0)
            rc = err_sys(err, errno, "writing %s", w->path);
    }
    writer_free(w);
    return rc;
}

void
ffile_writer_abort(FfileWriter *w)
{
    if (!w)
        return;
    struct stat st;
    if (w->owns_fd && w->fd >= 0 && fstat(w->fd, &st) == 0 && st.st_dev == w->dev &&
        st.st_ino == w->ino)
        (void)close(w->fd);
    writer_free(w);
}

uint64_t
ffile_writer_bytes(const FfileWriter *w)
{
    return w->bytes;
}
