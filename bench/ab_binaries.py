#!/usr/bin/env python3
"""bench/ab_binaries.py: the slowdown two ferret builds cause one workload, in the same run.

Each round runs, in a shuffled order, the plain workload and `ferret run -r HZ` of each
build, and prints for each build the median of the per-round ratios to plain (bootstrap 95%
interval, fixed seed), min/min, median/median and the achieved rate, then the per-round
ratio of B to A. For changes whose effect is smaller than the VM's drift between runs.

    git worktree add /tmp/old COMMIT && make -C /tmp/old
    make && python3 bench/ab_binaries.py --rounds 80 /tmp/old/build/ferret build/ferret
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = os.environ.get("FERRET_WORKLOADS") or os.path.join(os.path.dirname(ROOT), "shared",
                                                                 "workloads")


def ci(vals, rng, reps=4000):
    meds = sorted(statistics.median(rng.choices(vals, k=len(vals))) for _ in range(reps))
    return meds[int(0.025 * reps)], meds[int(0.975 * reps) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="ferret binary A (before)")
    ap.add_argument("b", help="ferret binary B (after)")
    ap.add_argument("--rounds", type=int, default=80)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--workload", default="threads")
    ap.add_argument("--python", default="/usr/bin/python3")
    a = ap.parse_args()
    w = [a.python, os.path.join(WORKLOADS, a.workload + ".py")]
    arms = {"plain": w}
    for name, exe in (("A", a.a), ("B", a.b)):
        arms[name] = [exe, "run", "-r", str(a.rate), "-f", "collapsed", "-o", os.devnull, "--",
                      *w]
    times = {k: [] for k in arms}
    rates = {k: [] for k in arms}
    rng = random.Random(3)
    load0 = os.getloadavg()[0]
    for _ in range(a.rounds):
        order = list(arms)
        rng.shuffle(order)
        for k in order:
            t0 = time.perf_counter()
            r = subprocess.run(arms[k], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
            times[k].append(time.perf_counter() - t0)
            if r.returncode != 0:
                raise SystemExit(f"{k} failed: {r.stderr[-2000:]}")
            m = re.search(r"([0-9.]+) of [0-9.]+ samples/s", r.stderr)
            if m:
                rates[k].append(float(m.group(1)))
    print(f"{a.workload}.py at {a.rate} Hz, {a.rounds} rounds, {a.python}; load average "
          f"{load0:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"plain: min {min(times['plain']):.3f} s, median {statistics.median(times['plain']):.3f} s\n")
    print("| build | median ratio to plain (95% CI) | min/min | median/median | samples/s (median, min) |")
    print("|---|---|---|---|---|")
    for k, exe in (("A", a.a), ("B", a.b)):
        ratios = [x / p for x, p in zip(times[k], times["plain"])]
        lo, hi = ci(ratios, rng)
        print(f"| {k} `{exe}` | {statistics.median(ratios):.3f} ({lo:.3f}-{hi:.3f}) | "
              f"{min(times[k]) / min(times['plain']):.3f} | "
              f"{statistics.median(times[k]) / statistics.median(times['plain']):.3f} | "
              f"{statistics.median(rates[k]):.0f}, {min(rates[k]):.0f} |")
    d = [b / x for b, x in zip(times["B"], times["A"])]
    lo, hi = ci(d, rng)
    print(f"\nB / A per round: median {statistics.median(d):.3f} ({lo:.3f}-{hi:.3f})")


if __name__ == "__main__":
    main()
