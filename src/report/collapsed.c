/* SPDX-License-Identifier: MIT */
/* collapsed.c: the folded-stack format flamegraph tools read: one line per distinct stack,
 * frames root-first joined by ';', a space, then the summed weight (samples, or bytes for
 * memory views). A frame is `qualname (file:line)`; ';' and control characters in names are
 * replaced (frame_name.c) so a name can never split a line or a frame. A sample without a
 * frame of the program ends in NO_FRAME (see collapsed_write). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "report/frame_name.h"
#include "report/report.h"
#include "util/escape.h"

/* The leaf of a sample whose stack has no frame of the program: the empty stack, or only
 * ferret's process and thread roots (--subprocesses, --threads). A thread has none while
 * its interpreter starts or finishes, before a new thread's first frame, or in a thread
 * that runs only C code. The empty stack cannot be written as a line, and without a leaf
 * such samples were dropped without roots but a bare "process N" with them; so the lines
 * add up to the profile's total (the text report's) in every mode, where ferret's own
 * flame graph shows this time as its root's or process's self time. */
#define NO_FRAME "<no Python frame>"

static int
collapsed_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    size_t ns = profile_nstacks(p);
    int64_t *self = malloc(ns * sizeof *self);
    FrameId *frames = malloc(PROFILE_MAX_DEPTH * sizeof *frames);
    Buf line;
    buf_init(&line);
    int rc = -1;
    if (!self || !frames) {
        err_set(err, ERR_NOMEM, "out of memory writing collapsed stacks");
        goto done;
    }
    ProfFilter f;
    report_filter(opt, &f);
    profile_self_weights(p, &f, self);
    for (StackId sid = PROFILE_ROOT; sid < ns; sid++) {
        if (self[sid] <= 0)
            continue;
        size_t depth = profile_stack_frames(p, sid, frames, PROFILE_MAX_DEPTH);
        if (depth > PROFILE_MAX_DEPTH)
            depth = PROFILE_MAX_DEPTH;
        buf_reset(&line);
        bool roots_only = true;
        for (size_t i = 0; i < depth; i++) {
            if (i)
                buf_putc(&line, ';');
            frame_label(&line, p, frames[i], ESC_TEXT_SEP);
            FrameKind k = profile_frame_at(p, frames[i])->kind;
            roots_only &= k == FRAME_PROCESS || k == FRAME_THREAD;
        }
        if (roots_only)
            buf_puts(&line, depth ? ";" NO_FRAME : NO_FRAME);
        buf_printf(&line, " %lld\n", (long long)self[sid]);
        if (buf_failed(&line)) {
            err_set(err, ERR_NOMEM, "out of memory writing collapsed stacks");
            goto done;
        }
        if (fwrite(line.data, 1, line.len, out) != line.len) {
            err_sys(err, errno, "writing collapsed stacks");
            goto done;
        }
    }
    rc = 0;
done:
    buf_fini(&line);
    free(self);
    free(frames);
    return rc;
}

const ReportWriter report_collapsed = {
    .name = "collapsed",
    .extension = ".txt",
    .binary = false,
    .write = collapsed_write,
};
