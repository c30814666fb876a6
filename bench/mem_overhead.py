#!/usr/bin/python3
"""bench/mem_overhead.py: what `ferret mem` costs, beside the memory tools users know.

For each workload and tool it runs alternating pairs (plain, tool, plain, tool, ...) of
whole processes and reports the median of the pair ratios of wall time (and of CPU time),
with their range, and the largest resident set of the tool's run against the plain run's.
Tools: ferret mem sampled and --exact, python -X tracemalloc=1 and =25, memory_profiler
(`python3-mprof run`, the RSS sampler; its line mode is run once, bounded by --line-timeout),
and Scalene (full mode). Everything runs on the same interpreter, Debian's /usr/bin/python3
by default, because memory_profiler and Scalene are Debian packages for it.

    bench/mem_overhead.py [--pairs 5] [--workloads alloc,calls] [--python /usr/bin/python3]

Run from anywhere; the workloads are /work/shared/workloads (or --dir). Prints a Markdown
table for docs/PERFORMANCE.md, with the machine's load average at the start and the end.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env=None, timeout=None):
    """Wall seconds, CPU seconds (children), max RSS in KiB (children), exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={**os.environ, **(env or {})}, timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        status = "timeout"
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, status


def maxrss_of(cmd, cwd, env=None):
    """The largest resident set of one run (GNU time, so it is per run, not cumulative)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    m = re.findall(r"^(\d+)$", p.stderr, re.M)
    return int(m[-1]) / 1024 if m else float("nan")


def tools(py, ferret, tmp):
    out = os.path.join(tmp, "out")
    return [
        ("ferret mem (sampled)", lambda w: [ferret, "mem", "-o", out + ".txt", "--", py, w], {}),
        ("ferret mem --exact", lambda w: [ferret, "mem", "--exact", "-o", out + ".txt", "--", py, w], {}),
        ("tracemalloc=1", lambda w: [py, "-X", "tracemalloc=1", w], {}),
        ("tracemalloc=25", lambda w: [py, "-X", "tracemalloc=25", w], {}),
        ("memory_profiler (mprof run)", lambda w: ["python3-mprof", "run", "-o", out + ".dat", w], {}),
        ("scalene (full)", lambda w: ["scalene", "--cli", "--json", "--outfile", out + ".json", w], {}),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--slow-pairs", type=int, default=3, help="pairs for tools slower than 4x")
    ap.add_argument("--workloads", default="alloc,calls")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--ferret", default=str(ROOT / "build" / "ferret"))
    ap.add_argument("--dir", default="/work/shared/workloads")
    ap.add_argument("--line-timeout", type=float, default=120)
    ap.add_argument("--only", default="", help="comma-separated tool name prefixes")
    a = ap.parse_args()
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in a.workloads.split(","):
            script = f"{w}.py"
            plain = [a.python, script]
            base_rss = maxrss_of(plain, a.dir)
            for name, make, env in tools(a.python, a.ferret, tmp):
                if a.only and not any(name.startswith(o) for o in a.only.split(",")):
                    continue
                ratios, cpu_ratios, statuses = [], [], set()
                pairs = a.pairs
                for i in range(pairs):
                    pw, pc, _, _ = run(plain, a.dir)
                    tw, tc, _, st = run(make(script), a.dir, env)
                    statuses.add(st)
                    ratios.append(tw / pw)
                    cpu_ratios.append(tc / pc)
                    if i == 0 and tw / pw > 4:
                        pairs = min(pairs, a.slow_pairs)
                    if i + 1 >= pairs:
                        break
                rss = maxrss_of(make(script), a.dir, env)
                rows.append((w, name, statistics.median(ratios), min(ratios), max(ratios),
                             statistics.median(cpu_ratios), len(ratios), rss, base_rss,
                             ",".join(str(s) for s in sorted(statuses, key=str))))
                print(f"{w:6} {name:30} {rows[-1][2]:6.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
                      f" cpu {rows[-1][5]:.2f}x rss {rss:.0f}/{base_rss:.0f} MiB exit {rows[-1][9]}",
                      file=sys.stderr, flush=True)
            if not a.only or "memory_profiler line" in a.only:
                pw, _, _, _ = run(plain, a.dir)
                lw, _, _, st = run([a.python, "-m", "memory_profiler", script], a.dir,
                                   {"WORKLOAD_DECORATE": "1"}, timeout=a.line_timeout)
                rows.append((w, "memory_profiler (line mode)", lw / pw, lw / pw, lw / pw,
                             float("nan"), 1, float("nan"), base_rss,
                             f"timed out after {a.line_timeout:.0f}s" if st == "timeout" else str(st)))
    load1 = os.getloadavg()
    print(f"\nload average at start {load0[0]:.2f}, at end {load1[0]:.2f}; python {a.python}\n")
    print("| workload | tool | wall / plain, median (min-max) | CPU / plain | pairs | max RSS MiB (plain) | exit |")
    print("|---|---|---|---|---|---|---|")
    for w, name, med, lo, hi, cpu, n, rss, base, st in rows:
        prefix = ">" if "timed out" in st else ""
        cpu_s = "" if cpu != cpu else f"{cpu:.2f}x"
        rss_s = "" if rss != rss else f"{rss:.0f} ({base:.0f})"
        print(f"| {w}.py | {name} | {prefix}**{med:.2f}x** ({lo:.2f}-{hi:.2f}) | {cpu_s} | {n} | "
              f"{rss_s} | {st} |")


if __name__ == "__main__":
    main()
