/* SPDX-License-Identifier: MIT */
/* cmd_run.c: `ferret run [OPTIONS] -- COMMAND [ARGS...]`: starts a Python command, samples it
 * from outside until it exits, writes the profile, and exits with the command's status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "cli/sample_cli.h"
#include "sampler/proc.h"
#include "util/buf.h"

int
cmd_run(int argc, char **argv)
{
    SampleArgs a;
    int first;
    bool done;
    int rc = sample_cli_parse(argc, argv, false, &a, &first, &done);
    if (rc != EXIT_OK || done)
        return rc;
    if (first >= argc)
        return cli_usage("run: no command given (usage: ferret run [OPTIONS] -- COMMAND...)");
    char **cmd = argv + first;
    Err err;
    /* refuse what cannot be Python before running anything; a shell script (a pyenv shim, a
     * wrapper) or a program that runs another (env, nice) may exec Python, which is only
     * known once it runs */
    int kind = proc_check_command(cmd, getenv("PATH"), &err);
    if (kind < 0 && !(a.sampler.subprocesses && err.kind == ERR_NOTPY))
        return cli_fail(&err);
    if (sample_cli_check_output(&a, &err) < 0)
        return cli_fail(&err);
    Buf line;
    buf_init(&line);
    for (char **c = cmd; *c; c++)
        buf_printf(&line, "%s%s", c == cmd ? "" : " ", *c);
    Profile *p = sample_cli_profile(line.data ? line.data : "", &err);
    buf_fini(&line);
    if (!p)
        return cli_fail(&err);
    if (sample_cli_begin(&a, &err) < 0) {
        profile_free(p);
        return cli_fail(&err);
    }
    pid_t child;
    if (proc_spawn(cmd, &child, &err) < 0) {
        sample_cli_abort();
        profile_free(p);
        return cli_fail(&err);
    }
    sample_cli_signals(child);
    /* the dynamic loader maps libpython only after the exec, and launchers exec Python
     * later still: the sampler waits for the interpreter to appear */
    a.sampler.wait_python = true;
    Sampler *s = sampler_new(child, &a.sampler, p, &err);
    int status = 0;
    int run_rc = s ? sampler_run(s, &sample_cli_stop, &err) : -1;
    SamplerStats st = {0};
    if (s)
        sampler_stats(s, &st);
    if (run_rc < 0 && st.processes == 0) {
        /* never sampled (no permission, it exited without running Python, or it runs a
         * Python ferret does not read): no empty report; the error now, and the command goes
         * on to its end */
        sample_cli_abort();
        err_context(&err, "run %s", cmd[0]);
        int code = cli_fail(&err);
        if (!s || !sampler_reaped(s, &status))
            sample_cli_wait_child(child);
        sampler_free(s);
        profile_free(p);
        return code;
    }
    Err werr;
    int write_rc = sample_cli_write(p, &a, &werr);
    if (!sampler_reaped(s, &status))
        status = sample_cli_wait_child(child);
    sample_cli_summary(s, &a, child);
    sampler_free(s);
    profile_free(p);
    if (run_rc < 0)
        return cli_fail(&err);
    if (write_rc < 0)
        return cli_fail(&werr);
    return proc_exit_code(status);
}
