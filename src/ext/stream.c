/* SPDX-License-Identifier: MIT */
/* stream.c: a Recording written as a .ferret file (profile/ffile.h): streamed while the
 * program runs (`ferret trace`: a chunk every second from inside a hook, so a killed
 * program still leaves what was flushed), or saved whole (ferret.trace().save()). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ext/ext.h"
#include "ext/recording.h"
#include "profile/ffile.h"
#include "util/outpath.h"

int
stream_open(Recording *r, const char *path, Err *err)
{
    char *copy = strdup(path);
    if (!copy)
        return err_set(err, ERR_NOMEM, "out of memory");
    FfileWriter *w = ffile_writer_open(path, err);
    if (!w) {
        free(copy);
        return -1;
    }
    if (ffile_writer_flush(w, r->p, err) < 0) {
        ffile_writer_abort(w);
        free(copy);
        return -1;
    }
    r->writer = w;
    free(r->stream_path);
    r->stream_path = copy;
    return 0;
}

/* A take, then `write` (a flush or a seal) of the stream. */
static int
take_and(int (*write)(FfileWriter *, const Profile *, Err *), Recording *r, uint64_t now, Err *err)
{
    if (!r->writer)
        return 0;
    if (recording_take(r, now, err) < 0)
        return err_context(err, "writing %s", r->stream_path);
    return write(r->writer, r->p, err); /* its errors name the file */
}

int
stream_flush(Recording *r, uint64_t now, Err *err)
{
    return take_and(ffile_writer_flush, r, now, err);
}

int
stream_seal(Recording *r, uint64_t now, Err *err)
{
    return take_and(ffile_writer_seal, r, now, err);
}

int
stream_close(Recording *r, Err *err)
{
    FfileWriter *w = r->writer;
    r->writer = NULL;
    if (!w)
        return 0;
    int rc = 0;
    if (ext.t && r->emit && r->gen == ext.gen) {
        rc = recording_take(r, clock_ticks(&ext.t->clock), err);
        if (rc == 0)
            rc = emit_spans(r->emit, ext.t, err);
    }
    if (rc < 0) {
        /* keep every chunk flushed so far: the file opens as incomplete */
        ffile_writer_abort(w);
        return err_context(err, "writing %s", r->stream_path);
    }
    return ffile_writer_close(w, r->p, err); /* its errors name the file */
}

void
stream_abandon(Recording *r)
{
    /* every flush ends with fflush(), so the FILE holds no buffered bytes to write twice */
    ffile_writer_abort(r->writer);
    r->writer = NULL;
}

int
stream_save(Recording *r, const char *path, Err *err)
{
    /* a regular file is written beside it (FILE.tmp) and renamed over it once complete; a
     * device, FIFO or link is written in place, never replaced */
    char *tmp;
    if (outpath_staging(path, &tmp, err) < 0)
        return -1;
    FfileWriter *w = ffile_writer_open(tmp ? tmp : path, err);
    int rc = -1;
    if (!w)
        goto done;
    if (ffile_writer_close(w, r->p, err) < 0)
        goto done;
    if (tmp && rename(tmp, path) != 0) {
        err_sys(err, errno, "renaming %s to %s", tmp, path);
        goto done;
    }
    rc = 0;
done:
    if (rc < 0) {
        if (tmp)
            unlink(tmp);
        err_context(err, "saving %s", path);
    }
    free(tmp);
    return rc;
}
