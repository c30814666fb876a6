/* SPDX-License-Identifier: MIT */
/* env.c: reads /proc, /sys and git for the environment of a benchmark run. */
#include "bench/env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

static double
now_unix(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void
read_load(double out[3])
{
    out[0] = out[1] = out[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return;
    if (fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3)
        out[0] = out[1] = out[2] = -1;
    fclose(f);
}

/* First line of a small file, trailing newline removed; "" if unreadable. */
static void
read_line(const char *path, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(out, (int)n, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

/* First line a git command prints, "" on any failure. */
static int
git_line(const char *args, char *out, size_t n)
{
    char cmd[256], cwd[4096];
    snprintf(cmd, sizeof cmd, "git %s 2>/dev/null", args);
    out[0] = 0;
    /* a current directory that was removed is in no repository, and the shell would print
     * "sh: 0: getcwd() failed" before the redirection applies */
    if (!getcwd(cwd, sizeof cwd) && errno == ENOENT)
        return -1;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int got = fgets(out, (int)n, p) != NULL;
    char rest[256];
    while (fgets(rest, sizeof rest, p)) /* drain so git is not killed by SIGPIPE */
        got++;
    int st = pclose(p);
    out[strcspn(out, "\n")] = 0;
    return st == 0 ? got : -1;
}

void
env_capture(BenchEnv *e)
{
    memset(e, 0, sizeof *e);
    e->started_unix = now_unix();
    read_load(e->load_before);
    e->load_after[0] = e->load_after[1] = e->load_after[2] = -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    e->cores = cores > 0 ? (int)cores : -1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                const char *v = strchr(line, ':') + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                snprintf(e->cpu_model, sizeof e->cpu_model, "%s", v);
                e->cpu_model[strcspn(e->cpu_model, "\n")] = 0;
                break;
            }
        }
        fclose(f);
    }
    read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", e->governor,
              sizeof e->governor);
    char boost[16];
    read_line("/sys/devices/system/cpu/cpufreq/boost", boost, sizeof boost);
    e->boost = boost[0] ? boost[0] == '1' : -1;
    if (e->boost < 0) { /* intel_pstate says it the other way round */
        read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", boost, sizeof boost);
        e->boost = boost[0] ? boost[0] == '0' : -1;
    }
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(e->kernel, sizeof e->kernel, "%s %s %s", u.sysname, u.release, u.machine);
        snprintf(e->hostname, sizeof e->hostname, "%s", u.nodename);
    }
    e->git_dirty = -1;
    if (git_line("rev-parse HEAD", e->git_commit, sizeof e->git_commit) > 0) {
        git_line("rev-parse --abbrev-ref HEAD", e->git_branch, sizeof e->git_branch);
        char first[8];
        int lines = git_line("status --porcelain --untracked-files=no", first, sizeof first);
        e->git_dirty = lines < 0 ? -1 : lines > 0;
    } else {
        e->git_commit[0] = 0;
    }
}

void
env_finish(BenchEnv *e)
{
    e->finished_unix = now_unix();
    read_load(e->load_after);
}

bool
env_warning(const BenchEnv *e, size_t idx, char *out, size_t n)
{
    size_t k = 0;
    /* the load average counts runnable tasks; above half the cores something else competes
     * with the benchmark for CPU time and caches */
    if (e->cores > 0 && e->load_before[0] >= 0 && e->load_before[0] > 0.5 * e->cores) {
        if (idx == k)
            return snprintf(out, n,
                            "the machine is busy (load average %.2f on %d cores); results may "
                            "be noisy",
                            e->load_before[0], e->cores),
                   true;
        k++;
    }
    if (e->governor[0] && strcmp(e->governor, "performance") != 0) {
        if (idx == k)
            return snprintf(out, n,
                            "CPU frequency scaling is on (governor '%s'); the clock speed may "
                            "change during the run",
                            e->governor),
                   true;
        k++;
    }
    if (e->boost == 1) {
        if (idx == k)
            return snprintf(out, n, "CPU turbo boost is on; speeds depend on temperature and "
                                    "load"),
                   true;
        k++;
    }
    return false;
}
