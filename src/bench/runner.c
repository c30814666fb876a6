/* SPDX-License-Identifier: MIT */
/* runner.c: calibration, warmups, fresh processes, rounds and the time budget. Every
 * decision is here; the Python driver (driver.c) only times the loops it is asked to. */
#include "bench/runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/child.h"
#include "bench/driver.h"
#include "util/buf.h"

#define CALIBRATION_MAX_LOOPS 1e13

void
runner_options_default(RunnerOptions *o)
{
    memset(o, 0, sizeof *o);
    o->budget_s = 3;
    o->min_processes = 6;
    o->values = 10;
    o->warmups = 1;
    o->min_time_s = 0.02;
    o->timeout_s = 300;
    o->shell = true;
}

/* A benchmark's name made safe and short for an error message. Static storage. */
static const char *
shown(const char *s)
{
    static char out[BENCH_SHOWN_MAX];
    bench_shown(s, out);
    return out;
}

/* Takes the driver's "err" reply into an Err and the benchmark's error_detail. */
static int
driver_error(Bench *b, DriverReply *r, Err *err)
{
    free(b->error_detail);
    b->error_detail = r->str[2];
    r->str[2] = NULL;
    const char *where = r->str[0], *what = r->str[1];
    int rc;
    if (strcmp(where, "python") == 0)
        rc = err_set(err, ERR_USAGE, "benchmark '%s': %s: %s", shown(b->name), b->python, what);
    else if (strcmp(where, "import") == 0)
        rc = err_set(err, ERR_TARGET, "benchmark '%s': importing %s failed: %s", shown(b->name),
                     b->file ? b->file : "the file", what);
    else if (strcmp(where, "function") == 0) /* a function ferret bench cannot time */
        rc = err_set(err, ERR_USAGE, "benchmark '%s': %s", shown(b->name), what);
    else if (strcmp(where, "call") == 0)
        rc = err_set(err, ERR_TARGET, "benchmark '%s': %s() raised %s", shown(b->name), b->code,
                     what);
    else if (strncmp(what, "SyntaxError", 11) == 0 || strncmp(what, "IndentationError", 16) == 0 ||
             strncmp(what, "TabError", 8) == 0)
        rc = err_set(err, ERR_USAGE, "benchmark '%s': the %s is not valid Python: %s",
                     shown(b->name), where, what);
    else
        rc = err_set(err, ERR_TARGET, "benchmark '%s': the %s raised %s", shown(b->name), where,
                     what);
    driver_reply_fini(r);
    return rc;
}

/* The driver stopped answering: report how it ended and keep its stderr. */
static int
driver_died(Bench *b, Child *c, const RunnerOptions *o, Err *err)
{
    Err werr;
    char how[128] = "ended";
    if (child_wait(c, 5, o->stop, &werr) == 0)
        child_describe_status(c->status, how, sizeof how);
    Buf tail;
    buf_init(&tail);
    child_stderr_tail(c, &tail);
    free(b->error_detail);
    b->error_detail = tail.len ? buf_steal(&tail, NULL) : NULL;
    buf_fini(&tail);
    return err_set(err, ERR_TARGET, "benchmark '%s': the Python process %s", shown(b->name), how);
}

static int
read_reply(Bench *b, Child *c, const RunnerOptions *o, double timeout_s, DriverReply *r, Err *err)
{
    const char *line;
    int got = child_read_line(c, &line, timeout_s, o->stop, err);
    if (got < 0) {
        if (o->stop && *o->stop)
            return err_set(err, ERR_TARGET, "interrupted");
        if (strcmp(err->msg, "timed out") == 0)
            return err_set(err, ERR_TARGET,
                           "benchmark '%s': Python did not answer within %g s (--timeout)",
                           shown(b->name), timeout_s);
        return err_context(err, "benchmark '%s'", shown(b->name));
    }
    if (got == 0)
        return driver_died(b, c, o, err);
    if (driver_parse_reply(line, r, err) < 0)
        return err_context(err, "benchmark '%s'", shown(b->name));
    if (r->kind == DRIVER_ERR)
        return driver_error(b, r, err);
    return 0;
}

static int
spawn_driver(Child *c, const char *python, Err *err)
{
    char *argv[] = {(char *)python, "-c", (char *)driver_source, NULL};
    if (child_spawn(c, argv, true, err) < 0)
        return err_context(err, "starting Python '%s'", python);
    return 0;
}

/* Starts a driver for b and waits until it is ready. */
static int
py_start(Bench *b, const RunnerOptions *o, Child *c, Err *err)
{
    if (spawn_driver(c, b->python, err) < 0)
        return err_context(err, "benchmark '%s'", shown(b->name));
    Buf cmd;
    buf_init(&cmd);
    if (b->kind == BENCH_STMT) {
        buf_puts(&cmd, "S ");
        driver_hex(&cmd, b->setup ? b->setup : "", b->setup ? strlen(b->setup) : 0);
        buf_putc(&cmd, ' ');
        driver_hex(&cmd, b->code, strlen(b->code));
    } else {
        buf_puts(&cmd, "F ");
        driver_hex(&cmd, b->file, strlen(b->file));
        buf_putc(&cmd, ' ');
        driver_hex(&cmd, b->code, strlen(b->code));
    }
    buf_printf(&cmd, " %d\n", o->keep_gc ? 1 : 0);
    int rc = -1;
    DriverReply r;
    if (buf_failed(&cmd)) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (child_send(c, cmd.data, cmd.len, err) < 0 || read_reply(b, c, o, o->timeout_s, &r, err) < 0)
        goto done;
    if (r.kind != DRIVER_OK) {
        driver_reply_fini(&r);
        err_set(err, ERR_FORMAT, "benchmark '%s': unexpected reply from Python", shown(b->name));
        goto done;
    }
    if (!b->python_version) {
        b->python_version = r.str[0];
        b->python_exe = r.str[1];
        r.str[0] = r.str[1] = NULL;
    }
    driver_reply_fini(&r);
    rc = 0;
done:
    buf_fini(&cmd);
    return rc;
}

/* Times `loops` iterations in the driver. */
static int
py_time(Bench *b, const RunnerOptions *o, Child *c, uint64_t loops, double *seconds, Err *err)
{
    char cmd[64];
    int n = snprintf(cmd, sizeof cmd, "r %llu\n", (unsigned long long)loops);
    DriverReply r;
    if (child_send(c, cmd, (size_t)n, err) < 0)
        return driver_died(b, c, o, err);
    if (read_reply(b, c, o, o->timeout_s, &r, err) < 0)
        return -1;
    if (r.kind != DRIVER_VALUE) {
        driver_reply_fini(&r);
        return err_set(err, ERR_FORMAT, "benchmark '%s': unexpected reply from Python",
                       shown(b->name));
    }
    *seconds = r.seconds;
    return 0;
}

/* The next loop count to try when `loops` took t seconds and min_s is the goal. */
static uint64_t
next_loops(uint64_t loops, double t, double min_s)
{
    double next;
    if (t < min_s / 100) /* too short to extrapolate from (clock granularity, noise) */
        next = (double)loops * 10;
    else
        next = ceil((double)loops * min_s / t * 1.1);
    if (next > CALIBRATION_MAX_LOOPS)
        next = CALIBRATION_MAX_LOOPS;
    return next > (double)loops ? (uint64_t)next : loops + 1;
}

typedef struct {
    double *startups;
    size_t nstartups;
} RunState;

/* One process of a Python benchmark: (calibration,) warmups, values. */
static int
py_process(Bench *benches, size_t i, const RunnerOptions *o, bool calibrate, RunState *st,
           Err *err)
{
    Bench *b = &benches[i];
    Child c;
    double t0 = child_now();
    if (py_start(b, o, &c, err) < 0) {
        child_kill(&c);
        child_fini(&c);
        return -1;
    }
    st->startups[st->nstartups++] = child_now() - t0;
    int rc = -1;
    double t;
    bool hooked = false;
    if (o->on_process) {
        if (o->on_process(o->on_process_ctx, i, (int)c.pid, err) < 0)
            goto done;
        hooked = true;
    }
    if (calibrate) {
        uint64_t loops = 1;
        for (;;) {
            if (py_time(b, o, &c, loops, &t, err) < 0)
                goto done;
            if (t >= o->min_time_s || loops >= (uint64_t)CALIBRATION_MAX_LOOPS)
                break;
            loops = next_loops(loops, t, o->min_time_s);
        }
        b->loops = loops;
        if (o->progress) {
            RunnerProgress p = {.bench = i, .calibrated = true};
            o->progress(o->progress_ctx, benches, &p);
        }
    }
    for (int w = 0; w < o->warmups; w++)
        if (py_time(b, o, &c, b->loops, &t, err) < 0)
            goto done;
    if (bench_begin_group(b, err) < 0)
        goto done;
    for (int v = 0; v < o->values; v++) {
        if (py_time(b, o, &c, b->loops, &t, err) < 0)
            goto done;
        if (bench_add_value(b, t / (double)b->loops, err) < 0)
            goto done;
    }
    rc = 0;
done:
    if (hooked) {
        Err herr;
        if (o->on_process(o->on_process_ctx, i, 0, rc == 0 ? err : &herr) < 0)
            rc = -1;
    }
    if (rc == 0) {
        /* closing the command pipe ends the driver */
        close(c.cmd_fd);
        c.cmd_fd = -1;
        if (child_wait(&c, o->timeout_s, o->stop, err) < 0)
            rc = err_context(err, "benchmark '%s': waiting for Python to exit", shown(b->name));
    }
    if (rc < 0)
        bench_end_group(b);
    child_kill(&c);
    child_fini(&c);
    b->machine_s += child_now() - t0;
    return rc;
}

/* argv for a command: through the shell, or split on blanks (no quoting) without it. */
static char **
command_argv(const char *code, bool shell, char **copy, Err *err)
{
    size_t n = strlen(code);
    char **argv = malloc((n / 2 + 4) * sizeof *argv);
    *copy = strdup(code);
    if (!argv || !*copy) {
        free(argv);
        free(*copy);
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    size_t k = 0;
    if (shell) {
        argv[k++] = "/bin/sh";
        argv[k++] = "-c";
        argv[k++] = *copy;
    } else {
        for (char *tok = strtok(*copy, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
            argv[k++] = tok;
        if (k == 0) {
            free(argv);
            free(*copy);
            err_set(err, ERR_USAGE, "empty command");
            return NULL;
        }
    }
    argv[k] = NULL;
    return argv;
}

/* One run of a command; *seconds is its wall time from start to exit. A measured run (hook
 * true) is passed to the on_process hook as soon as it has started. */
static int
cmd_once(Bench *benches, size_t i, const RunnerOptions *o, bool hook, double *seconds, Err *err)
{
    Bench *b = &benches[i];
    char *copy;
    char **argv = command_argv(b->code, o->shell, &copy, err);
    if (!argv)
        return err_context(err, "benchmark '%s'", shown(b->name));
    Child c;
    int rc = -1;
    double t0 = child_now();
    if (child_spawn(&c, argv, false, err) < 0) {
        err_context(err, "benchmark '%s'", shown(b->name));
        goto out;
    }
    bool hooked = false;
    if (hook && o->on_process) {
        if (o->on_process(o->on_process_ctx, i, (int)c.pid, err) < 0)
            goto done;
        hooked = true;
    }
    if (child_wait(&c, o->timeout_s, o->stop, err) < 0) {
        if (!(o->stop && *o->stop))
            err_context(err, "benchmark '%s': the command ran longer than %g s (--timeout)",
                        shown(b->name), o->timeout_s);
        goto done;
    }
    *seconds = child_now() - t0;
    if (!o->ignore_failure && !(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)) {
        char how[128];
        child_describe_status(c.status, how, sizeof how);
        Buf tail;
        buf_init(&tail);
        child_stderr_tail(&c, &tail);
        free(b->error_detail);
        b->error_detail = tail.len ? buf_steal(&tail, NULL) : NULL;
        buf_fini(&tail);
        err_set(err, ERR_TARGET, "benchmark '%s': the command %s (use --ignore-failure to time it anyway)",
                shown(b->name), how);
        goto done;
    }
    rc = 0;
done:
    if (hooked) {
        Err herr;
        if (o->on_process(o->on_process_ctx, i, 0, rc == 0 ? err : &herr) < 0)
            rc = -1;
    }
    child_kill(&c);
    child_fini(&c);
out:
    free(argv);
    free(copy);
    return rc;
}

static int
cmd_unit(Bench *benches, size_t i, const RunnerOptions *o, bool first, Err *err)
{
    Bench *b = &benches[i];
    double t0 = child_now(), t;
    int rc = -1;
    if (first)
        for (int w = 0; w < o->warmups; w++)
            if (cmd_once(benches, i, o, false, &t, err) < 0)
                goto done;
    if (cmd_once(benches, i, o, true, &t, err) < 0 || bench_begin_group(b, err) < 0 ||
        bench_add_value(b, t, err) < 0)
        goto done;
    rc = 0;
done:
    b->machine_s += child_now() - t0;
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* With a budget, at least this many processes (commands: runs, at least 10). */
static int
min_units(const Bench *b, const RunnerOptions *o)
{
    return b->kind == BENCH_CMD && o->min_processes < 10 ? 10 : o->min_processes;
}

/* How far a benchmark is, 0..1: both the budget and the minimum count must be reached, so
 * the one further from done decides. */
static double
unit_fraction(const Bench *b, size_t units, const RunnerOptions *o)
{
    double f;
    if (o->processes > 0) {
        f = (double)units / o->processes;
    } else {
        double by_time = b->machine_s / o->budget_s;
        double by_count = (double)units / min_units(b, o);
        f = by_time < by_count ? by_time : by_count;
    }
    return f > 1 ? 1 : f;
}

int
runner_run(Bench *benches, size_t n, const RunnerOptions *o, Err *err)
{
    typedef struct {
        size_t units;
        double last_unit_s;
        bool done;
    } Progress;
    Progress *pr = calloc(n ? n : 1, sizeof *pr);
    RunState st = {0};
    int rc = -1;
    if (!pr)
        return err_set(err, ERR_NOMEM, "out of memory");
    double start = child_now();
    size_t remaining = n;
    for (size_t round = 0; remaining > 0; round++) {
        for (size_t k = 0; k < n; k++) {
            size_t i = (k + round) % n;
            Bench *b = &benches[i];
            if (pr[i].done)
                continue;
            bool is_cmd = b->kind == BENCH_CMD;
            double before = b->machine_s;
            double *grown = realloc(st.startups, (st.nstartups + 1) * sizeof *grown);
            if (!grown) {
                err_set(err, ERR_NOMEM, "out of memory");
                goto done;
            }
            st.startups = grown;
            int r = is_cmd
                        ? cmd_unit(benches, i, o, pr[i].units == 0, err)
                        : py_process(benches, i, o, b->ngroups == 0 && pr[i].units == 0, &st, err);
            if (r < 0)
                goto done;
            if (o->stop && *o->stop) {
                err_set(err, ERR_TARGET, "interrupted");
                goto done;
            }
            pr[i].units++;
            pr[i].last_unit_s = b->machine_s - before;
            if (o->processes > 0)
                pr[i].done = pr[i].units >= (size_t)o->processes;
            else /* stop when one more unit would more likely overshoot the budget than not */
                pr[i].done = pr[i].units >= (size_t)min_units(b, o) &&
                             b->machine_s + 0.5 * pr[i].last_unit_s >= o->budget_s;
            if (pr[i].done)
                remaining--;
            if (o->progress) {
                double total = 0;
                for (size_t j = 0; j < n; j++)
                    total += pr[j].done ? 1 : unit_fraction(&benches[j], pr[j].units, o);
                RunnerProgress p = {.bench = i,
                                    .round = pr[i].units,
                                    .fraction = total / (double)n,
                                    .elapsed_s = child_now() - start};
                o->progress(o->progress_ctx, benches, &p);
            }
        }
    }
    if (st.nstartups) {
        qsort(st.startups, st.nstartups, sizeof *st.startups, cmp_double);
        double med = st.startups[st.nstartups / 2];
        for (size_t i = 0; i < n; i++)
            if (benches[i].kind != BENCH_CMD)
                benches[i].startup_s = med;
    }
    rc = 0;
done:
    free(pr);
    free(st.startups);
    return rc;
}

int
runner_list_functions(const char *python, const char *file, char ***names, size_t *n,
                      char **detail, double timeout_s, volatile sig_atomic_t *stop, Err *err)
{
    *names = NULL;
    *n = 0;
    *detail = NULL;
    Child c;
    if (spawn_driver(&c, python, err) < 0)
        return -1;
    Buf cmd;
    buf_init(&cmd);
    buf_puts(&cmd, "L ");
    driver_hex(&cmd, file, strlen(file));
    buf_putc(&cmd, '\n');
    int rc = -1;
    size_t cap = 0;
    if (buf_failed(&cmd)) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (child_send(&c, cmd.data, cmd.len, err) < 0)
        goto done;
    for (;;) {
        const char *line;
        int got = child_read_line(&c, &line, timeout_s, stop, err);
        if (got < 0)
            goto done;
        if (got == 0) {
            Buf tail;
            buf_init(&tail);
            child_stderr_tail(&c, &tail);
            *detail = tail.len ? buf_steal(&tail, NULL) : NULL;
            buf_fini(&tail);
            err_set(err, ERR_TARGET, "Python exited while importing %s", file);
            goto done;
        }
        DriverReply r;
        if (driver_parse_reply(line, &r, err) < 0)
            goto done;
        if (r.kind == DRIVER_END)
            break;
        if (r.kind == DRIVER_ERR) {
            *detail = r.str[2];
            r.str[2] = NULL;
            err_set(err, ERR_TARGET, "importing %s failed: %s", file, r.str[1]);
            driver_reply_fini(&r);
            goto done;
        }
        if (r.kind != DRIVER_FN) {
            driver_reply_fini(&r);
            err_set(err, ERR_FORMAT, "unexpected reply from Python while listing %s", file);
            goto done;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **g = realloc(*names, cap * sizeof *g);
            if (!g) {
                driver_reply_fini(&r);
                err_set(err, ERR_NOMEM, "out of memory");
                goto done;
            }
            *names = g;
        }
        (*names)[(*n)++] = r.str[0];
        r.str[0] = NULL;
        driver_reply_fini(&r);
    }
    rc = 0;
done:
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    buf_fini(&cmd);
    child_kill(&c);
    child_fini(&c);
    return rc;
}
