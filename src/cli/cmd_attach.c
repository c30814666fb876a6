/* SPDX-License-Identifier: MIT */
/* cmd_attach.c: `ferret attach [OPTIONS] [--duration SEC] PID`: samples a running Python
 * process from outside until it exits, the duration ends, or Ctrl-C; then writes the
 * profile. The process is never signalled. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "cli/sample_cli.h"

int
cmd_attach(int argc, char **argv)
{
    SampleArgs a;
    int first;
    bool done;
    int rc = sample_cli_parse(argc, argv, true, &a, &first, &done);
    if (rc != EXIT_OK || done)
        return rc;
    if (first != argc - 1)
        return cli_usage(first >= argc ? "attach: no PID given (usage: ferret attach [OPTIONS] PID)"
                                       : "attach: expected one PID after the options");
    Err err;
    long long pid;
    if (cli_parse_int("PID", argv[first], 1, (1LL << 31) - 1, &pid, &err) < 0)
        return cli_fail(&err);
    if (sample_cli_check_output(&a, &err) < 0)
        return cli_fail(&err);
    char cmdline[64];
    snprintf(cmdline, sizeof cmdline, "attach %lld", pid);
    Profile *p = sample_cli_profile(cmdline, &err);
    if (!p)
        return cli_fail(&err);
    if (sample_cli_begin(&a, &err) < 0) {
        profile_free(p);
        return cli_fail(&err);
    }
    Sampler *s = sampler_new((pid_t)pid, &a.sampler, p, &err);
    if (!s) {
        sample_cli_abort();
        profile_free(p);
        err_context(&err, "attach %lld", pid);
        return cli_fail(&err);
    }
    sample_cli_signals(0);
    int run_rc = sampler_run(s, &sample_cli_stop, &err);
    Err werr;
    int write_rc = sample_cli_write(p, &a, &werr);
    sample_cli_summary(s, &a, (pid_t)pid);
    sampler_free(s);
    profile_free(p);
    if (run_rc < 0) {
        err_context(&err, "attach %lld", pid);
        return cli_fail(&err);
    }
    if (write_rc < 0)
        return cli_fail(&werr);
    return EXIT_OK;
}
