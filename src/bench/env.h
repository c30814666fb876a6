/* SPDX-License-Identifier: MIT */
/* env.h: the machine and checkout a benchmark ran on, recorded with every result: CPU,
 * cores, load, frequency scaling where Linux exposes it, kernel, host, git commit and
 * whether the working tree had uncommitted changes. Fields that cannot be read stay empty
 * (or -1): a missing fact is recorded as missing, never guessed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char cpu_model[128];
    int cores;               /* online CPUs */
    double load_before[3];   /* /proc/loadavg when the run started; -1 if unreadable */
    double load_after[3];
    char governor[32];       /* cpufreq scaling governor of cpu0; "" if not exposed */
    int boost;               /* 1/0 turbo/boost enabled, -1 if unknown */
    char kernel[200];        /* uname: sysname release machine */
    char hostname[128];
    char git_commit[48];     /* HEAD of the working directory's repository, "" if none */
    char git_branch[128];
    int git_dirty;           /* tracked files modified: 1/0, -1 if not a repository */
    double started_unix, finished_unix;
} BenchEnv;

/* Fills everything known at the start (runs git in the current directory). */
void env_capture(BenchEnv *e);
/* Records the end: load average and time. */
void env_finish(BenchEnv *e);
/* Warnings about the machine, one per call: idx from 0 until it returns false.
 * Written into out (NUL-terminated). */
bool env_warning(const BenchEnv *e, size_t idx, char *out, size_t n);
