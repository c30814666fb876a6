#!/usr/bin/python3
"""Precision per second of machine time: ferret bench against python -m timeit and hyperfine.

Each repetition runs every tool once, interleaved (ferret, timeit/hyperfine, ferret, ...),
so drift of the machine hits all of them. For each tool the number it reports is kept:
ferret's median, timeit's "best of 5" (its only output), hyperfine's median. The spread of
that number across the repetitions (relative standard deviation and (max - min) / median)
is the precision; the wall time of each tool run is its cost. The budget is made equal by
giving ferret the wall time timeit's default run takes, and hyperfine and ferret --cmd the
same number of runs.

    make && bench/bench_precision.py [--reps 10] [--python /usr/bin/python3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRET = os.path.join(ROOT, "build", "ferret")
UNITS = {"nsec": 1e-9, "usec": 1e-6, "msec": 1e-3, "sec": 1.0}


def timed(cmd, **kw):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return r, time.monotonic() - t0


def timeit_value(py, stmt):
    r, wall = timed([py, "-m", "timeit", stmt])
    m = re.search(r"best of \d+: ([\d.]+) (\w+) per loop", r.stdout)
    return float(m.group(1)) * UNITS[m.group(2)], wall


def ferret_value(args, tmp):
    out = os.path.join(tmp, "f.json")
    r, wall = timed([FERRET, "bench", "-q", "--no-history", "--json", out, *args])
    b = json.load(open(out))["benchmarks"][0]
    return b["median"], wall


def hyperfine_value(cmd, runs, tmp):
    out = os.path.join(tmp, "h.json")
    r, wall = timed(["hyperfine", "-N", "--style", "none", "--warmup", "1", "--runs", str(runs),
                     "--export-json", out, cmd])
    return json.load(open(out))["results"][0]["median"], wall


def spread(vals):
    med = statistics.median(vals)
    return statistics.stdev(vals) / statistics.mean(vals), (max(vals) - min(vals)) / med


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def row(name, vals, walls):
    rsd, rng = spread(vals)
    w = statistics.mean(walls)
    # precision per second of machine time: 1 / (relative variance x seconds spent)
    pps = 1 / (rsd ** 2 * w) if rsd > 0 else float("inf")
    print("| %s | %.4g | %.2f%% | %.2f%% | %.2f s | %.3g |"
          % (name, statistics.median(vals), rsd * 100, rng * 100, w, pps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--stmt", default="sum(range(10000))")
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    py, stmt = a.python, a.stmt
    cmd = "%s -c pass" % py
    print("machine: %s cores, load average at start %s; python %s" % (
        os.cpu_count(), loadavg(), subprocess.run([py, "-V"], capture_output=True, text=True).stdout.strip()))
    with tempfile.TemporaryDirectory() as tmp:
        # timeit's default run sets the budget
        _, t_budget = timeit_value(py, stmt)
        budget = "%.2fs" % t_budget
        res = {k: ([], []) for k in ("ferret", "timeit", "ferret --cmd", "hyperfine")}
        for i in range(a.reps):
            for name, fn in (("ferret", lambda: ferret_value(["--python", py, "-b", budget, stmt], tmp)),
                             ("timeit", lambda: timeit_value(py, stmt)),
                             ("ferret --cmd", lambda: ferret_value(["-N", "-p", str(a.runs), "--cmd", cmd], tmp)),
                             ("hyperfine", lambda: hyperfine_value(cmd, a.runs, tmp))):
                v, w = fn()
                res[name][0].append(v)
                res[name][1].append(w)
        # harness overhead: the empty statement
        empty = {"ferret": [], "timeit": []}
        for i in range(5):
            empty["ferret"].append(ferret_value(["--python", py, "-b", budget, "pass"], tmp)[0])
            empty["timeit"].append(timeit_value(py, "pass")[0])
    print("load average at end %s\n" % loadavg())
    print("statement %r, %d repetitions, budget %s (timeit's default run)\n" % (stmt, a.reps, budget))
    print("| tool | median of reported values (s) | rel. stdev | (max-min)/median | wall per run | precision per machine-second |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in ("ferret", "timeit"):
        row(k, *res[k])
    print("\ncommand %r, %d repetitions of %d runs each\n" % (cmd, a.reps, a.runs))
    print("| tool | median of reported values (s) | rel. stdev | (max-min)/median | wall per run | precision per machine-second |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in ("ferret --cmd", "hyperfine"):
        row(k, *res[k])
    print("\nempty statement 'pass', 5 runs each: ferret median %.2f ns, timeit best %.2f ns per loop"
          % (statistics.median(empty["ferret"]) * 1e9, statistics.median(empty["timeit"]) * 1e9))


if __name__ == "__main__":
    main()
