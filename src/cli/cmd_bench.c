/* SPDX-License-Identifier: MIT */
/* cmd_bench.c: `ferret bench`: parses the command line into benchmarks, runs them
 * (bench/runner.c) with a progress display, prints the table, writes --json/--markdown/--csv
 * and stores the run in the history. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/history.h"
#include "bench/results.h"
#include "bench/runner.h"
#include "cli/bench_common.h"
#include "cli/bench_profile.h"
#include "cli/cli.h"
#include "cli/exitcode.h"
#include "util/escape.h"

static const char usage_text[] =
    "usage: ferret bench [OPTIONS] STATEMENT...      time Python statements (like timeit)\n"
    "       ferret bench [OPTIONS] FILE.py...        time every bench_* function of a file\n"
    "       ferret bench [OPTIONS] --cmd COMMAND...  time whole commands (like hyperfine)\n"
    "\n"
    "Several benchmarks are measured interleaved and compared with the first.\n"
    "\n"
    "what to run:\n"
    "  -s, --setup CODE      setup, run untimed before each timed loop (repeatable)\n"
    "      --python PY       interpreter (default python3; repeat to compare interpreters)\n"
    "  -n, --name NAME       names for the benchmarks, in order (repeatable)\n"
    "  -c, --cmd COMMAND     benchmark a command (repeatable); run with /bin/sh -c\n"
    "  -N, --no-shell        run commands directly, split on blanks (no quoting)\n"
    "  -i, --ignore-failure  time commands even when they exit non-zero\n"
    "      --gc              keep the garbage collector on while timing (timeit turns it off)\n"
    "      --profile         also sample where each benchmark spends its time (from outside,\n"
    "                        250 Hz; commands: the Python they run); stored with the result\n"
    "                        for `ferret compare`\n"
    "how long:\n"
    "  -b, --budget TIME     machine time per benchmark (default 3s), e.g. 500ms, 10s, 2m\n"
    "  -p, --processes N     exactly N processes per benchmark (commands: N runs)\n"
    "      --runs N          the same as --processes (commands: exactly N runs)\n"
    "      --min-processes N with a budget, at least N (default 6; commands at least 10 runs)\n"
    "      --values N        values per process (default 10)\n"
    "  -w, --warmups N       discarded values per process, or runs per command (default 1)\n"
    "      --min-time TIME   one value lasts at least this long (default 20ms)\n"
    "      --timeout TIME    a single value or run may take at most this long (default 300s)\n"
    "output:\n"
    "      --json FILE       results with every value (schema in docs/BENCH.md); - for stdout\n"
    "      --markdown FILE   a Markdown table, for pull requests\n"
    "      --csv FILE        one CSV row per benchmark\n"
    "  -q, --quiet           no progress display\n"
    "      --db PATH         history database (default $FERRET_DB or .ferret/history.db)\n"
    "      --no-history      do not store this run\n";

typedef struct {
    char **setups, **pythons, **names, **cmds;
    size_t nsetup, npython, nname, ncmd;
    const char *json, *markdown, *csv, *db;
    bool quiet, no_history, profile;
} BenchArgs;

static int
push(char ***v, size_t *n, char *s)
{
    char **g = realloc(*v, (*n + 1) * sizeof *g);
    if (!g)
        return -1;
    g[(*n)++] = s;
    *v = g;
    return 0;
}

typedef struct {
    bool tty;
    int last_decile;
    double last_draw;
} ProgressState;

static void
progress(void *ctx, const Bench *benches, const RunnerProgress *p)
{
    ProgressState *ps = ctx;
    const Bench *b = &benches[p->bench];
    Buf name;
    buf_init(&name);
    size_t len = strlen(b->name);
    esc_text(&name, b->name, len > 40 ? 40 : len, 0);
    const char *nm = name.data ? name.data : "";
    if (p->calibrated) {
        if (!ps->tty)
            fprintf(stderr, "bench: '%s': %llu loop%s per value\n", nm,
                    (unsigned long long)b->loops, b->loops == 1 ? "" : "s");
        buf_fini(&name);
        return;
    }
    if (ps->tty) {
        int width = 30, filled = (int)(p->fraction * width + 0.5);
        if (filled > width)
            filled = width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r\033[K[%s] %3.0f%% %5.1fs  %s", bar, p->fraction * 100, p->elapsed_s,
                nm);
        fflush(stderr);
    } else {
        int decile = (int)(p->fraction * 10);
        if (decile > ps->last_decile) {
            ps->last_decile = decile;
            fprintf(stderr, "bench: %d%% (%.1f s)\n", decile * 10, p->elapsed_s);
        }
    }
    buf_fini(&name);
}

static int
parse_count(const char *opt, const char *s, long long min, long long max, int *out)
{
    Err err;
    long long v;
    if (cli_parse_int(opt, s, min, max, &v, &err) < 0)
        return cli_fail(&err);
    *out = (int)v;
    return 0;
}

static int
parse_time(const char *opt, const char *s, double *out)
{
    Err err;
    if (cli_parse_seconds(opt, s, out, &err) < 0)
        return cli_fail(&err);
    return 0;
}

/* Joins the -s options with newlines; NULL if none. */
static char *
join_setup(const BenchArgs *a)
{
    if (a->nsetup == 0)
        return NULL;
    Buf b;
    buf_init(&b);
    for (size_t i = 0; i < a->nsetup; i++) {
        buf_puts(&b, a->setups[i]);
        if (i + 1 < a->nsetup)
            buf_putc(&b, '\n');
    }
    return buf_failed(&b) ? NULL : buf_steal(&b, NULL);
}

static bool
is_py_file(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && strcmp(s + n - 3, ".py") == 0 && !strchr(s, '\n');
}

/* Python reads the statements and setups as UTF-8: refuses (ERR_USAGE) code that is not,
 * naming which part it is, before any Python starts. */
static int
check_utf8(const char *what, const char *code, Err *err)
{
    size_t n = strlen(code);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)code + i, n - i, &cp);
        if (len < 0) {
            Buf b;
            buf_init(&b);
            esc_text(&b, code, n > 60 ? 60 : n, 0);
            err_set(err, ERR_USAGE, "bench: the %s '%s%s' is not valid UTF-8 (byte %zu)", what,
                    b.data ? b.data : "", n > 60 ? "..." : "", i + 1);
            buf_fini(&b);
            return -1;
        }
        i += (size_t)len;
    }
    return 0;
}

/* A FILE.py must be a regular file: each process imports it again (a FIFO could be read
 * once, then every later import would wait for a writer). */
static int
check_file(const char *path, Err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_sys(err, errno, "cannot open %s", path);
    if (S_ISDIR(st.st_mode))
        return err_set(err, ERR_USAGE, "bench: %s is a directory, not a file of bench_* functions",
                       path);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_USAGE,
                       "bench: %s is not a regular file (each benchmark process imports it again)",
                       path);
    return 0;
}

/* Builds the benchmark list: statements and files for each interpreter, then commands. */
static int
build_benches(BenchArgs *a, char **pos, size_t npos, const RunnerOptions *o, BenchRun *run,
              Err *err)
{
    char *setup = join_setup(a);
    const char *default_py[] = {"python3"};
    const char *const *pys = a->npython ? (const char *const *)a->pythons : default_py;
    size_t npy = a->npython ? a->npython : 1;
    int rc = -1;
    for (size_t p = 0; p < npos; p++)
        if (is_py_file(pos[p]) ? check_file(pos[p], err) < 0
                               : check_utf8("statement", pos[p], err) < 0)
            goto done;
    for (size_t k = 0; k < a->nsetup; k++)
        if (check_utf8("setup", a->setups[k], err) < 0)
            goto done;
    for (size_t k = 0; k < npy; k++) {
        for (size_t p = 0; p < npos; p++) {
            char **fns = NULL;
            size_t nfn = 0;
            bool file = is_py_file(pos[p]);
            if (file) {
                if (access(pos[p], R_OK) != 0) {
                    err_sys(err, errno, "cannot read %s", pos[p]);
                    goto done;
                }
                char *detail = NULL;
                if (runner_list_functions(pys[k], pos[p], &fns, &nfn, &detail, o->timeout_s,
                                          &bench_stop, err) < 0) {
                    bench_print_detail(detail);
                    free(detail);
                    goto done;
                }
                if (nfn == 0) {
                    err_set(err, ERR_USAGE, "%s defines no bench_* functions", pos[p]);
                    goto done;
                }
            }
            for (size_t f = 0; f < (file ? nfn : 1); f++) {
                Buf name;
                buf_init(&name);
                size_t idx = run->n;
                if (idx < a->nname)
                    buf_puts(&name, a->names[idx]);
                else if (file)
                    buf_printf(&name, "%s::%s", pos[p], fns[f]);
                else
                    buf_puts(&name, pos[p]);
                if (npy > 1 && idx >= a->nname)
                    buf_printf(&name, " [%s]", pys[k]);
                Bench b;
                int r = buf_failed(&name)
                            ? err_set(err, ERR_NOMEM, "out of memory")
                            : bench_init(&b, file ? BENCH_FUNC : BENCH_STMT, name.data,
                                         file ? fns[f] : pos[p], file ? NULL : (setup ? setup : ""),
                                         file ? pos[p] : NULL, pys[k], err);
                buf_fini(&name);
                if (r < 0 || results_add(run, &b, err) < 0) {
                    for (size_t j = 0; j < nfn; j++)
                        free(fns[j]);
                    free(fns);
                    goto done;
                }
            }
            for (size_t j = 0; j < nfn; j++)
                free(fns[j]);
            free(fns);
        }
    }
    for (size_t c = 0; c < a->ncmd; c++) {
        Bench b;
        size_t idx = run->n;
        const char *name = idx < a->nname ? a->names[idx] : a->cmds[c];
        if (bench_init(&b, BENCH_CMD, name, a->cmds[c], NULL, NULL, NULL, err) < 0 ||
            results_add(run, &b, err) < 0)
            goto done;
    }
    if (a->nname > run->n) { /* a name that names nothing is a mistake, not a no-op */
        err_set(err, ERR_USAGE,
                "--name: %zu names for %zu benchmark%s (one per benchmark, in order)", a->nname,
                run->n, run->n == 1 ? "" : "s");
        goto done;
    }
    for (size_t i = 0; i < run->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(run->benches[i].name, run->benches[j].name) == 0) {
                char nm[BENCH_SHOWN_MAX];
                bench_shown(run->benches[i].name, nm);
                err_set(err, ERR_USAGE, "two benchmarks are named '%s' (use --name)", nm);
                goto done;
            }
    rc = 0;
done:
    free(setup);
    return rc;
}

static char *
argv_line(int argc, char **argv)
{
    Buf b;
    buf_init(&b);
    buf_puts(&b, "ferret");
    for (int i = 0; i < argc; i++) {
        buf_putc(&b, ' ');
        buf_puts(&b, argv[i]);
    }
    return buf_failed(&b) ? NULL : buf_steal(&b, NULL);
}

int
cmd_bench(int argc, char **argv)
{
    enum { O_PYTHON = 256, O_MINPROC, O_VALUES, O_MINTIME, O_TIMEOUT, O_GC, O_JSON, O_MD, O_CSV,
           O_DB, O_NOHIST, O_PROFILE };
    static const struct option longopts[] = {
        {"setup", required_argument, NULL, 's'},   {"python", required_argument, NULL, O_PYTHON},
        {"name", required_argument, NULL, 'n'},    {"cmd", required_argument, NULL, 'c'},
        {"no-shell", no_argument, NULL, 'N'},      {"ignore-failure", no_argument, NULL, 'i'},
        {"gc", no_argument, NULL, O_GC},           {"budget", required_argument, NULL, 'b'},
        {"processes", required_argument, NULL, 'p'}, {"runs", required_argument, NULL, 'p'},
        {"min-processes", required_argument, NULL, O_MINPROC},
        {"values", required_argument, NULL, O_VALUES}, {"warmups", required_argument, NULL, 'w'},
        {"min-time", required_argument, NULL, O_MINTIME},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"json", required_argument, NULL, O_JSON},
        {"markdown", required_argument, NULL, O_MD}, {"csv", required_argument, NULL, O_CSV},
        {"quiet", no_argument, NULL, 'q'},         {"db", required_argument, NULL, O_DB},
        {"no-history", no_argument, NULL, O_NOHIST}, {"help", no_argument, NULL, 'h'},
        {"profile", no_argument, NULL, O_PROFILE},
        {NULL, 0, NULL, 0}};
    BenchArgs a;
    memset(&a, 0, sizeof a);
    RunnerOptions o;
    runner_options_default(&o);
    BenchRun run;
    results_init(&run);
    History *hist = NULL;
    BenchProfiler *prof = NULL;
    char *line = NULL;
    int rc = EXIT_USAGE, c;
    Err err;
    err_clear(&err);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:n:c:Nib:p:w:qh", longopts, NULL)) != -1) {
        int bad = 0, fail = 0;
        switch (c) {
        case 's': fail = push(&a.setups, &a.nsetup, optarg); break;
        case O_PYTHON: fail = push(&a.pythons, &a.npython, optarg); break;
        case 'n': fail = push(&a.names, &a.nname, optarg); break;
        case 'c': fail = push(&a.cmds, &a.ncmd, optarg); break;
        case 'N': o.shell = false; break;
        case 'i': o.ignore_failure = true; break;
        case O_GC: o.keep_gc = true; break;
        case 'b': bad = parse_time("--budget", optarg, &o.budget_s); break;
        case 'p': bad = parse_count("--processes", optarg, 1, 1000000, &o.processes); break;
        case O_MINPROC: bad = parse_count("--min-processes", optarg, 1, 1000000, &o.min_processes); break;
        case O_VALUES: bad = parse_count("--values", optarg, 1, 1000000, &o.values); break;
        case 'w': bad = parse_count("--warmups", optarg, 0, 1000000, &o.warmups); break;
        case O_MINTIME: bad = parse_time("--min-time", optarg, &o.min_time_s); break;
        case O_TIMEOUT: bad = parse_time("--timeout", optarg, &o.timeout_s); break;
        case O_JSON: a.json = optarg; break;
        case O_MD: a.markdown = optarg; break;
        case O_CSV: a.csv = optarg; break;
        case 'q': a.quiet = true; break;
        case O_DB: a.db = optarg; break;
        case O_NOHIST: a.no_history = true; break;
        case O_PROFILE: a.profile = true; break;
        case 'h':
            fputs(usage_text, stdout);
            rc = EXIT_OK;
            goto done;
        case ':':
            rc = cli_usage("bench: %s needs a value", argv[optind - 1]);
            goto done;
        default:
            rc = cli_usage("bench: unknown option '%s' (see `ferret bench --help`)",
                           argv[optind - 1]);
            goto done;
        }
        if (fail) {
            err_set(&err, ERR_NOMEM, "out of memory");
            rc = cli_fail(&err);
            goto done;
        }
        if (bad) {
            rc = bad;
            goto done;
        }
    }
    size_t npos = (size_t)(argc - optind);
    if (npos == 0 && a.ncmd == 0) {
        rc = cli_usage("bench: nothing to measure: give a statement, a FILE.py or --cmd "
                       "(see `ferret bench --help`)");
        goto done;
    }
    if (a.nsetup && npos == 0) {
        rc = cli_usage("bench: --setup applies to Python statements, and none was given");
        goto done;
    }
    bench_install_signals();
    env_capture(&run.env);
    if (build_benches(&a, argv + optind, npos, &o, &run, &err) < 0) {
        rc = bench_stop ? EXIT_INTERRUPTED : cli_fail(&err);
        if (bench_stop)
            fprintf(stderr, "ferret: interrupted; nothing was recorded\n");
        goto done;
    }
    /* the history is checked before a long run, not after */
    const char *db = NULL;
    if (bench_db_path(a.db, &db, &err) < 0 || bench_check_output(a.json, db, &err) < 0 ||
        bench_check_output(a.markdown, db, &err) < 0 || bench_check_output(a.csv, db, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (!a.no_history &&
        (history_open(db, true, &hist, &err) < 0 || history_check_writable(hist, &err) < 0)) {
        rc = cli_fail(&err);
        goto done;
    }
    for (size_t k = 0;; k++) {
        char w[256];
        if (!env_warning(&run.env, k, w, sizeof w))
            break;
        fprintf(stderr, "ferret: warning: %s\n", w);
    }
    ProgressState ps = {.tty = cli_isatty(2), .last_decile = 0};
    if (!a.quiet) {
        o.progress = progress;
        o.progress_ctx = &ps;
    }
    o.stop = &bench_stop;
    if (a.profile) {
        if (!(prof = bench_profiler_new(run.benches, run.n, &err))) {
            rc = cli_fail(&err);
            goto done;
        }
        o.on_process = bench_profiler_hook;
        o.on_process_ctx = prof;
    }
    int r = runner_run(run.benches, run.n, &o, &err);
    if (r == 0 && prof) {
        Buf empty;
        buf_init(&empty);
        r = bench_profiler_finish(prof, run.benches, run.n, &empty, &err);
        if (r == 0 && empty.len)
            fprintf(stderr, "ferret: warning: --profile: no Python ran in %.*s to be sampled; no "
                            "profile stored\n", (int)empty.len, empty.data);
        buf_fini(&empty);
    }
    if (ps.tty && !a.quiet)
        fputs("\r\033[K", stderr);
    if (r < 0) {
        if (bench_stop) {
            fprintf(stderr, "ferret: interrupted; nothing was recorded\n");
            rc = EXIT_INTERRUPTED;
            goto done;
        }
        for (size_t i = 0; i < run.n; i++)
            bench_print_detail(run.benches[i].error_detail);
        rc = cli_fail(&err);
        goto done;
    }
    env_finish(&run.env);
    if (bench_set_str(&run.ferret_version, FERRET_VERSION, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    /* with --json - (or another format on stdout) the table would corrupt it */
    bool table = !(a.json && strcmp(a.json, "-") == 0) &&
                 !(a.markdown && strcmp(a.markdown, "-") == 0) && !(a.csv && strcmp(a.csv, "-") == 0);
    Buf out;
    buf_init(&out);
    if (table && results_text(&run, &out, &err) < 0) {
        buf_fini(&out);
        rc = cli_fail(&err);
        goto done;
    }
    if (out.len)
        fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    buf_fini(&out);
    for (size_t k = 0;; k++) {
        char w[512];
        if (!results_warning(&run, k, w, sizeof w))
            break;
        fprintf(stderr, "ferret: warning: %s\n", w);
    }
    rc = EXIT_OK;
    const struct {
        const char *path;
        int (*write)(const BenchRun *, Buf *, Err *);
        const char *what;
    } outputs[] = {{a.json, results_json, "JSON"},
                   {a.markdown, results_markdown, "Markdown"},
                   {a.csv, results_csv, "CSV"}};
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++) {
        if (!outputs[k].path)
            continue;
        Buf b;
        buf_init(&b);
        if (outputs[k].write(&run, &b, &err) < 0 ||
            bench_write_output(outputs[k].path, &b, &err) < 0) {
            err_context(&err, "writing the %s results", outputs[k].what);
            rc = cli_fail(&err);
        }
        buf_fini(&b);
    }
    if (hist) {
        line = argv_line(argc, argv);
        int64_t id;
        if (history_store(hist, &run, line, &id, &err) < 0) {
            err_context(&err, "the results above were not stored");
            rc = cli_fail(&err);
        }
    }
done:
    bench_profiler_free(prof);
    history_close(hist);
    results_fini(&run);
    free(a.setups);
    free(a.pythons);
    free(a.names);
    free(a.cmds);
    free(line);
    return rc;
}
