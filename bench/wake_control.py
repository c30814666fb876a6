#!/usr/bin/env python3
"""bench/wake_control.py: how much of ferret's slowdown at a rate is ferret's work, and how
much is merely waking up that often. Runs, in a shuffled order each round:

  plain    PY W.py
  waker    build/bench/waker HZ PY W.py          (wakes HZ times a second, does nothing)
  spin     build/bench/waker --spin HZ PY W.py   (the same, busy-waiting: a core never idle)
  ferret   build/ferret run -r HZ -f collapsed -o /dev/null -- PY W.py

and reports for each arm the median of the per-round ratios to plain with a bootstrap 95%
interval (fixed seed), min/min and median/median.

    make && make bench-tools && python3 bench/wake_control.py [--rounds 80] [--workload threads]
"""
import argparse
import os
import random
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = os.environ.get("FERRET_WORKLOADS") or os.path.join(os.path.dirname(ROOT), "shared",
                                                                 "workloads")


def wall(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), r.stderr.decode()[-2000:]))
    return dt


def median_ci(vals, rng, reps=4000):
    meds = sorted(statistics.median(rng.choices(vals, k=len(vals))) for _ in range(reps))
    return meds[int(0.025 * reps)], meds[int(0.975 * reps) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=80)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--workload", default="threads")
    ap.add_argument("--python", default="/usr/bin/python3")
    a = ap.parse_args()
    prog = os.path.join(WORKLOADS, a.workload + ".py")
    waker = os.path.join(ROOT, "build", "bench", "waker")
    ferret = os.path.join(ROOT, "build", "ferret")
    for exe in (waker, ferret):
        if not os.access(exe, os.X_OK):
            raise SystemExit("%s missing: run make && make bench-tools" % exe)
    hz = str(a.rate)
    arms = {"plain": [a.python, prog],
            "waker": [waker, hz, a.python, prog],
            "spin": [waker, "--spin", hz, a.python, prog],
            "ferret": [ferret, "run", "-q", "-r", hz, "-f", "collapsed", "-o", os.devnull, "--",
                       a.python, prog]}
    times = {k: [] for k in arms}
    order = random.Random(1)
    load0 = open("/proc/loadavg").read().split()[0]
    for i in range(a.rounds):
        ks = list(arms)
        order.shuffle(ks)
        for k in ks:
            times[k].append(wall(arms[k]))
    load1 = open("/proc/loadavg").read().split()[0]
    print("%s.py at %s Hz, %d rounds, python %s; load average %s at start, %s at end\n"
          % (a.workload, hz, a.rounds, a.python, load0, load1))
    base = times["plain"]
    print("plain: min %.3f s, median %.3f s\n" % (min(base), statistics.median(base)))
    print("| arm | median ratio to plain (95% CI) | min/min | median/median |")
    print("|---|---|---|---|")
    rng = random.Random(7)
    for k in ("waker", "spin", "ferret"):
        r = [x / y for x, y in zip(times[k], base)]
        lo, hi = median_ci(r, rng)
        print("| %s | %.3f (%.3f-%.3f) | %.3f | %.3f |" % (
            k, statistics.median(r), lo, hi, min(times[k]) / min(base),
            statistics.median(times[k]) / statistics.median(base)))


if __name__ == "__main__":
    main()
