/* SPDX-License-Identifier: MIT */
/* cmd_dump.c: `ferret dump PID`: prints the current Python stack of every thread of a
 * running process once, innermost frame first, like a traceback read from outside. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "profile/profile.h"
#include "sampler/pynames.h"
#include "sampler/target.h"
#include "sampler/walk.h"
#include "util/buf.h"
#include "util/escape.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: ferret dump [--runtime-search auto|scan] PID\n\n"
               "Prints the Python stack of every thread of process PID, innermost first.\n");
}

int
cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"runtime-search", required_argument, NULL, 'S'},
                                         {NULL, 0, NULL, 0}};
    TargetFind how = TARGET_FIND_AUTO;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'S':
            if (strcmp(optarg, "scan") == 0)
                how = TARGET_FIND_SCAN;
            else if (strcmp(optarg, "auto") != 0)
                return cli_usage("--runtime-search: expected auto or scan, not '%s'", optarg);
            break;
        default:
            return cli_usage("dump: unknown option '%s' (see ferret dump --help)",
                             argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage("dump: expected one PID (see ferret dump --help)");
    Err err;
    long long pid;
    if (cli_parse_int("PID", argv[optind], 1, 1 << 30, &pid, &err) < 0)
        return cli_fail(&err);
    Target *t = target_open((pid_t)pid, how, &err);
    if (!t)
        return cli_fail(&err);
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    /* one snapshot, taken again with bigger buffers while they were too small for it (every
     * thread, each stack to PROFILE_MAX_DEPTH frames) */
    size_t maxt = 256, maxf = (size_t)1 << 16;
    WalkThread *threads = NULL;
    FrameId *frames = NULL;
    int rc = EXIT_OK;
    WalkDrops drops;
    size_t n;
    for (;;) {
        free(threads);
        free(frames);
        threads = calloc(maxt, sizeof *threads);
        frames = calloc(maxf, sizeof *frames);
        if (!p || !threads || !frames) {
            err_set(&err, ERR_NOMEM, "out of memory");
            rc = cli_fail(&err);
            goto done;
        }
        WalkBuffers b = {.threads = threads,
                         .max_threads = maxt,
                         .frames = frames,
                         .frames_cap = maxf,
                         .max_depth = PROFILE_MAX_DEPTH};
        memset(&drops, 0, sizeof drops);
        if (walk_sample(t, p, &b, &n, &drops, &err) < 0) {
            err_context(&err, "dump %lld", pid);
            rc = cli_fail(&err);
            goto done;
        }
        bool more_t = drops.n[WALK_DROP_buffer] && maxt < WALK_MAX_THREADS;
        bool more_f = drops.frames_short && maxf < (size_t)WALK_MAX_THREADS * PROFILE_MAX_DEPTH;
        if (!more_t && !more_f)
            break;
        if (more_t)
            maxt = maxt * 4 < WALK_MAX_THREADS ? maxt * 4 : WALK_MAX_THREADS;
        if (more_f)
            maxf *= 4;
    }
    printf("Process %lld: CPython %s (_PyRuntime at %#lx, found by %s)\n", pid,
           target_version(t), (unsigned long)target_runtime_addr(t), target_found_by(t));
    Buf out;
    buf_init(&out);
    for (size_t i = 0; i < n; i++) {
        WalkThread *w = &threads[i];
        char name[128];
        if (pynames_thread_name(t, w->interp, w->thread_id, true, name, sizeof name) < 0)
            snprintf(name, sizeof name, "%s", w->tid == (uint64_t)pid ? "main" : "?");
        buf_printf(&out, "\nThread %llu (", (unsigned long long)w->tid);
        esc_text(&out, name, strlen(name), 0);
        buf_printf(&out, ")%s\n", w->has_gil ? " [holds GIL]" : "");
        for (size_t k = 0; k < w->nframes; k++) {
            const ProfFrame *f = profile_frame_at(p, w->frames[k]);
            buf_puts(&out, "    ");
            esc_text(&out, profile_strp(p, f->name), profile_strlen(p, f->name), 0);
            buf_puts(&out, " (");
            esc_text(&out, profile_strp(p, f->file), profile_strlen(p, f->file), 0);
            buf_printf(&out, ":%d)\n", (int)f->line);
        }
        if (w->partial)
            buf_puts(&out, "    ... (outer frames cut)\n");
    }
    for (int r = 0; r < WALK_DROP_COUNT; r++)
        if (drops.n[r])
            buf_printf(&out, "\n%llu thread(s) skipped: %s\n", (unsigned long long)drops.n[r],
                       walk_drop_name((WalkDropReason)r));
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    buf_fini(&out);
done:
    free(threads);
    free(frames);
    profile_free(p);
    target_close(t);
    return rc;
}
