/* SPDX-License-Identifier: MIT */
/* sample_cli.h: what `ferret run` and `ferret attach` share: their options, where the
 * profile goes (-o/-f), and signal handling (Ctrl-C and SIGTERM stop sampling; `run` forwards
 * a signal sent to ferret alone to the command). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "profile/profile.h"
#include "sampler/sampler.h"
#include "util/err.h"

typedef struct {
    SamplerOptions sampler;
    const char *out_path; /* -o; NULL = the terminal */
    const char *format;   /* -f; NULL = from -o's extension, else text */
    int top;              /* rows per table in text output */
    bool quiet;           /* no summary line on stderr */
} SampleArgs;

/* Parses run/attach options; *next gets the index of the first non-option argument.
 * Returns 0, or an exit status (usage error already printed, or help shown: *done set). */
int sample_cli_parse(int argc, char **argv, bool attach, SampleArgs *a, int *next, bool *done);
/* A new sampled profile with the metadata every recording carries (the command, ferret's
 * version). NULL with *err set. */
Profile *sample_cli_profile(const char *command, Err *err);
/* Checks -o/-f before anything runs (format known, output path writable). */
int sample_cli_check_output(const SampleArgs *a, Err *err);
/* Before sampling: with -o FILE.ferret (or -f ferret to a file) the profile is streamed
 * there while recording (flushed every second, so a killed ferret loses at most the last
 * second); this opens the file and points a->sampler.flush at it. Returns 0 or -1. */
int sample_cli_begin(SampleArgs *a, Err *err);
/* After sampling: finishes the stream, or writes the report where the options say. With
 * neither -o nor -f: the text report on standard output and an HTML report in a new file
 * in the current directory, whose name goes to standard error. Returns 0 or -1 with *err. */
int sample_cli_write(const Profile *p, const SampleArgs *a, Err *err);
/* On a path that ends before anything was sampled (the command never ran Python, attach
 * found none): no output, the -o FILE.ferret stream begun by sample_cli_begin is removed. */
void sample_cli_abort(void);
/* One line on stderr about the sampling itself (rate achieved, dropped, cost). */
void sample_cli_summary(const Sampler *s, const SampleArgs *a, pid_t pid);

/* Signals. sample_cli_signals installs handlers for SIGINT, SIGTERM and SIGHUP that set
 * *stop; with forward_to > 0 a signal sent to ferret alone (not by the terminal to the whole
 * process group) is passed on to that process. */
extern volatile sig_atomic_t sample_cli_stop;
void sample_cli_signals(pid_t forward_to);
/* Waits for a launched command; signals arriving meanwhile are passed on (the third one as
 * SIGKILL). Returns the waitpid status. */
int sample_cli_wait_child(pid_t pid);
