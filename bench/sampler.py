#!/usr/bin/env python3
"""bench/sampler.py: what `ferret run` costs the program it samples, how fast it can sample,
and how accurately it attributes time. Prints Markdown tables for docs/PERFORMANCE.md.

    make && make bench-tools && python3 bench/sampler.py [--pairs N] [--python PY]

1. Slowdown: whole-process wall time of `ferret run -r RATE -- PY W.py` over `PY W.py`,
   for calls.py, loops.py and threads.py at 100 Hz, 1 kHz and 10 kHz, and 1 kHz with
   --blocking (the target's threads stopped for each sample), with Scalene
   (`scalene --cpu-only`, Debian's python3-scalene, run on /usr/bin/python3) in the same
   alternation. Runs alternate plain / ferret / scalene so machine drift hits all equally;
   the median of the per-pair ratios is reported with its min-max, and the fastest
   profiled run over the fastest plain run of the workload (min/min).
2. Achieved rate: `ferret attach` for 3 s on bench/targets/four_deep.py (4 threads, 50
   frames deep) at 1, 5 and 10 kHz: samples per second achieved vs requested.
3. Cost per sample: build/bench/sample_cost on the same target (no clock: samples back to back).
4. Attribution: split.py --truth under ferret at 1 kHz, error of hot's share in points.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRET = os.path.join(ROOT, "build", "ferret")
WORKLOADS = os.environ.get("FERRET_WORKLOADS") or os.path.join(os.path.dirname(ROOT), "shared",
                                                                 "workloads")


def wall(cmd, cwd=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr.decode()[-2000:]}")
    return dt


def ratio_cell(ratios, bases=None, profs=None):
    """Median of the pair ratios (min-max); with the raw times also the ratio of the
    fastest profiled run to the fastest plain one, which noise from other tenants of the
    machine (it only ever adds time) disturbs least."""
    cell = "%.3f (%.3f-%.3f)" % (statistics.median(ratios), min(ratios), max(ratios))
    if bases and profs:
        cell += "; min/min %.3f" % (min(profs) / min(bases))
    return cell


def slowdown(py, pairs, rates=(100, 1000, 10000, "1000b"), with_scalene=True):
    scalene = shutil.which("scalene")
    rows = []
    for w in ("calls", "loops", "threads"):
        prog = os.path.join(WORKLOADS, w + ".py")
        ratios = {r: [] for r in rates}
        times = {r: ([], []) for r in rates}
        sc, sc_times = [], ([], [])
        for _ in range(pairs):
            for r in rates:
                base = wall([py, prog])
                extra = ["--blocking"] if str(r).endswith("b") else []
                prof = wall([FERRET, "run", "-q", "-r", str(r).rstrip("b"), *extra, "-f",
                             "collapsed", "-o", "/dev/null", "--", py, prog])
                ratios[r].append(prof / base)
                times[r][0].append(base)
                times[r][1].append(prof)
            if with_scalene and scalene and py == "/usr/bin/python3":
                base = wall([py, prog], cwd=WORKLOADS)
                prof = wall(["scalene", "--cpu-only", "--cli", "--json", "--outfile",
                             "/tmp/ferret-bench-scalene.json", w + ".py"], cwd=WORKLOADS)
                sc.append(prof / base)
                sc_times[0].append(base)
                sc_times[1].append(prof)
        every_base = [b for r in rates for b in times[r][0]]
        rows.append((w, *(ratio_cell(ratios[r], every_base, times[r][1]) for r in rates),
                     *([ratio_cell(sc, *sc_times) if sc else "-"] if with_scalene else [])))
    print(f"\n### Slowdown of the sampled program ({py}, {pairs} alternating pairs)\n")
    names = {100: "ferret 100 Hz", 1000: "ferret 1 kHz", 10000: "ferret 10 kHz",
             "1000b": "ferret 1 kHz --blocking"}
    cols = [names.get(r, f"ferret {r}") for r in rates] + (["scalene --cpu-only"]
                                                         if with_scalene else [])
    print("| workload | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def achieved(py):
    print(f"\n### Achieved sampling rate: 4 threads, 50 frames deep ({py})\n")
    print("| requested | achieved samples/s | achieved % | stacks | dropped | CPU us per sample moment |")
    print("|---|---|---|---|---|---|")
    target = subprocess.Popen([py, os.path.join(ROOT, "bench", "targets", "four_deep.py")],
                              stdout=subprocess.PIPE, text=True)
    try:
        target.stdout.readline()
        for rate in (1000, 5000, 10000):
            r = subprocess.run([FERRET, "attach", "-r", str(rate), "--duration", "3", "-f",
                                "collapsed", "-o", "/dev/null", str(target.pid)],
                               capture_output=True, text=True)
            m = re.search(r"([0-9.]+) of ([0-9.]+) samples/s, (\d+) stacks, (\d+) dropped, "
                          r"([0-9.]+) us CPU", r.stderr)
            if not m:
                raise SystemExit(r.stderr)
            got = float(m.group(1))
            print(f"| {rate} | {got:.0f} | {100 * got / rate:.1f}% | {m.group(3)} | {m.group(4)} "
                  f"| {float(m.group(5)):.1f} |")
        cost = subprocess.run([os.path.join(ROOT, "build", "bench", "sample_cost"),
                               str(target.pid), "20000"], capture_output=True, text=True)
        print(f"\nsample_cost (moments back to back, no clock): `{cost.stdout.strip()}`")
    finally:
        target.kill()
        target.wait()


def attribution(py, runs):
    errs = []
    for _ in range(runs):
        out = "/tmp/ferret-bench-split.txt"
        r = subprocess.run([FERRET, "run", "-q", "-f", "collapsed", "-o", out, "--", py,
                            os.path.join(WORKLOADS, "split.py"), "--truth"],
                           capture_output=True, text=True, check=True)
        truth = float(re.search(r"hot=([0-9.]+)%", r.stdout).group(1))
        main = hot = 0
        for line in open(out):
            stack, _, n = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            if any(f.startswith("main (") and "split.py:" in f for f in frames):
                main += int(n)
                if any(f.startswith("hot (") for f in frames):
                    hot += int(n)
        errs.append(100 * hot / main - truth)
    print(f"\n### Attribution on split.py at 1 kHz ({py}, {runs} runs)\n")
    print("errors of hot's share, points: " + ", ".join("%+.2f" % e for e in errs) +
          f"; largest |error| {max(abs(e) for e in errs):.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--skip-slowdown", action="store_true")
    ap.add_argument("--rates", help="only these slowdown cells, e.g. 1000 or 100,1000b "
                    "(b: --blocking); no Scalene column")
    ap.add_argument("--slowdown-only", action="store_true")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if not a.skip_slowdown:
        if a.rates:
            rates = [r if r.endswith("b") else int(r) for r in a.rates.split(",")]
            slowdown(a.python, a.pairs, rates, with_scalene=False)
        else:
            slowdown(a.python, a.pairs)
    if not a.slowdown_only:
        achieved(a.python)
        attribution(a.python, 5)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
