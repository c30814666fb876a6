#!/usr/bin/python3
"""Precision per second of machine time: ferret bench against python -m timeit and hyperfine.

Each repetition runs every tool once, interleaved (ferret, timeit, ferret --cmd, hyperfine;
the next repetition starts one tool later), so drift of the machine hits all of them. For
each tool the number it reports is kept: ferret's median, timeit's "best of 5" (its only
output), hyperfine's median. The spread of that number across the repetitions (relative
standard deviation and (max - min) / median) is the precision; the wall time of each tool
run is its cost. The budget is made equal by giving ferret the wall time timeit's default
run takes, and hyperfine and ferret --cmd the same number of runs. The spreads of two tools
are compared with a bootstrap of the ratio of their relative standard deviations
(repetitions resampled with replacement): an interval that holds 1 is no evidence either
way.

    make && bench/bench_precision.py [--reps 10] [--python /usr/bin/python3] [--cmd-only]
        [--baseline OTHER/build/ferret]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import random
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


def ferret_value(args, tmp, ferret=FERRET):
    out = os.path.join(tmp, "f.json")
    r, wall = timed([ferret, "bench", "-q", "--no-history", "--json", out, *args])
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


def rsd(vals):
    return statistics.stdev(vals) / statistics.mean(vals)


def ratio_interval(a, b, n=4000):
    """95% bootstrap interval of rsd(a) / rsd(b), and how often the ratio came out below 1."""
    rng = random.Random(1)
    rs = []
    for _ in range(n):
        ra = rsd([rng.choice(a) for _ in a])
        rb = rsd([rng.choice(b) for _ in b])
        if rb > 0:
            rs.append(ra / rb)
    rs.sort()
    return rs[int(0.025 * len(rs))], rs[int(0.975 * len(rs))], sum(r < 1 for r in rs) / len(rs)


def compare(name_a, a, name_b, b):
    lo, hi, below = ratio_interval(a, b)
    print("rel. stdev of %s / %s: %.2f, bootstrap 95%% interval %.2f-%.2f (below 1 in %.0f%%)"
          % (name_a, name_b, rsd(a) / rsd(b), lo, hi, below * 100))


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
    ap.add_argument("--cmd-only", action="store_true", help="only ferret --cmd and hyperfine")
    ap.add_argument("--baseline", help="another ferret binary, whose --cmd is measured too")
    a = ap.parse_args()
    py, stmt = a.python, a.stmt
    cmd = "%s -c pass" % py
    print("machine: %s cores, load average at start %s; python %s" % (
        os.cpu_count(), loadavg(), subprocess.run([py, "-V"], capture_output=True, text=True).stdout.strip()))
    cmd_args = ["-N", "-p", str(a.runs), "--cmd", cmd]
    with tempfile.TemporaryDirectory() as tmp:
        tools = [("ferret --cmd", lambda: ferret_value(cmd_args, tmp)),
                 ("hyperfine", lambda: hyperfine_value(cmd, a.runs, tmp))]
        if a.baseline:
            tools.append(("baseline --cmd", lambda: ferret_value(cmd_args, tmp, a.baseline)))
        if not a.cmd_only:
            # timeit's default run sets the budget
            _, t_budget = timeit_value(py, stmt)
            budget = "%.2fs" % t_budget
            tools[:0] = [("ferret", lambda: ferret_value(["--python", py, "-b", budget, stmt], tmp)),
                         ("timeit", lambda: timeit_value(py, stmt))]
        res = {name: ([], []) for name, _ in tools}
        loads = []
        for i in range(a.reps):
            # each tool goes first in turn, so none always follows the same one
            for name, fn in tools[i % len(tools):] + tools[:i % len(tools)]:
                v, w = fn()
                res[name][0].append(v)
                res[name][1].append(w)
            loads.append(float(loadavg()))
        if not a.cmd_only:
            # harness overhead: the empty statement
            empty = {"ferret": [], "timeit": []}
            for i in range(5):
                empty["ferret"].append(ferret_value(["--python", py, "-b", budget, "pass"], tmp)[0])
                empty["timeit"].append(timeit_value(py, "pass")[0])
    print("load average at end %s (after each repetition: %.2f-%.2f, median %.2f)\n"
          % (loadavg(), min(loads), max(loads), statistics.median(loads)))
    head = ("| tool | median of reported values (s) | rel. stdev | (max-min)/median | wall per run "
            "| precision per machine-second |\n|---|---:|---:|---:|---:|---:|")
    if not a.cmd_only:
        print("statement %r, %d repetitions, budget %s (timeit's default run)\n" % (stmt, a.reps, budget))
        print(head)
        for k in ("ferret", "timeit"):
            row(k, *res[k])
        print()
        compare("ferret", res["ferret"][0], "timeit", res["timeit"][0])
        print()
    print("command %r, %d repetitions of %d runs each\n" % (cmd, a.reps, a.runs))
    print(head)
    for k in ("ferret --cmd", "hyperfine", "baseline --cmd"):
        if k in res:
            row(k, *res[k])
    print()
    compare("ferret --cmd", res["ferret --cmd"][0], "hyperfine", res["hyperfine"][0])
    if a.baseline:
        compare("baseline --cmd", res["baseline --cmd"][0], "hyperfine", res["hyperfine"][0])
        compare("ferret --cmd", res["ferret --cmd"][0], "baseline --cmd", res["baseline --cmd"][0])
    if not a.cmd_only:
        print("\nempty statement 'pass', 5 runs each: ferret median %.2f ns, timeit best %.2f ns per loop"
              % (statistics.median(empty["ferret"]) * 1e9, statistics.median(empty["timeit"]) * 1e9))


if __name__ == "__main__":
    main()
