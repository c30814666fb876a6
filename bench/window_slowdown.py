#!/usr/bin/env python3
"""bench/window_slowdown.py: the steady-state cost of sampling, measured inside one process.

Whole-process timings (bench/sampler.py, bench/wake_control.py) compare separate runs, and
on this VM separate runs of the same program differ by up to a third: a 2% effect drowns.
Here one long-lived target runs the workload's own code in an endless loop and records when
each small piece of work finishes. The script then goes through blocks of windows, each
block in a shuffled order:

  plain    nothing runs beside the target for the window
  waker    build/bench/waker HZ sleep SEC  (wakes HZ times a second, does nothing)
  burnUS   build/bench/waker --burn US HZ sleep SEC  (the same, spending US microseconds of
           CPU after each wake-up: what a sampler's CPU time alone costs; e.g. burn60)
  ferret   build/ferret attach -r HZ --duration SEC -f collapsed -o /dev/null PID
  ARM@N    any arm above run under `taskset -c N` (on CPU N only; e.g. ferret@1)

The target's progress rate in a window (pieces finished per second) against the plain
window of the same block gives that block's slowdown: plain rate / arm rate. Windows of a
block are seconds apart, so the slow drift between runs cancels. The ferret window spans
the whole ferret process, start-up and report included, so it is, if anything, an
overestimate of sampling's cost.

Workloads: threads (threads.py's cpu_worker in its two GIL-contended threads, plus its
sleeper and io_waiter threads), calls (calls.py's fib), loops (loops.py's int_loop).

    make && make bench-tools && python3 bench/window_slowdown.py [--blocks 40] [--window 1]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

from wake_control import median_ci  # bench/ is the script's own directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = os.environ.get("FERRET_WORKLOADS") or os.path.join(os.path.dirname(ROOT), "shared",
                                                                 "workloads")

# The target: imports the workload module (its `if __name__ == "__main__"` does not run) and
# calls its own functions in small pieces, each about a millisecond, forever. On "stop" on
# stdin it prints every piece's finishing time (time.monotonic, the CLOCK_MONOTONIC this
# script reads too) as JSON.
TARGET = r"""
import json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
kind = sys.argv[2]
stamps = []
stop = threading.Event()
if kind == "threads":
    import threads as w
    def cpu(k):
        out = [0, 0]
        while not stop.is_set():
            w.cpu_worker(12000, out, k)
            stamps.append(time.monotonic())
    rfd, wfd = os.pipe()
    workers = [threading.Thread(target=cpu, args=(k,), name="cpu-%d" % (k + 1)) for k in range(2)]
    workers += [threading.Thread(target=w.sleeper, args=([0],), name="sleeper"),
                threading.Thread(target=w.io_waiter, args=(rfd, [0]), name="io-waiter")]
    for t in workers:
        t.start()
    def finish():
        stop.set()
        w.done.set()
        os.write(wfd, b"x")
        for t in workers:
            t.join()
else:
    if kind == "calls":
        import calls as w
        piece = lambda: w.fib(16)
    else:
        import loops as w
        piece = lambda: w.int_loop(8000)
    def run():
        while not stop.is_set():
            piece()
            stamps.append(time.monotonic())
    t = threading.Thread(target=run)
    t.start()
    def finish():
        stop.set()
        t.join()
print("ready", flush=True)
sys.stdin.readline()
finish()
print(json.dumps(stamps), flush=True)
"""


def rate(stamps, t0, t1):
    """Pieces finished per second in [t0, t1]."""
    import bisect
    n = bisect.bisect_right(stamps, t1) - bisect.bisect_left(stamps, t0)
    return n / (t1 - t0)


def arm_command(k, waker, ferret, hz, sec, pid):
    """The command of arm k (None for plain or an unknown arm)."""
    if k == "waker":
        return [waker, hz, "sleep", sec]
    if k == "ferret":
        return [ferret, "attach", "-q", "-r", hz, "--duration", sec, "-f", "collapsed", "-o",
                os.devnull, str(pid)]
    if k.startswith("burn") and k[4:].isdigit():
        return [waker, "--burn", k[4:], hz, "sleep", sec]
    base, at, cpu = k.partition("@")
    inner = arm_command(base, waker, ferret, hz, sec, pid) if at and cpu.isdigit() else None
    return ["taskset", "-c", cpu] + inner if inner else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=40)
    ap.add_argument("--window", type=float, default=1.0, help="seconds per window")
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--workload", default="threads", choices=("threads", "calls", "loops"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--arms", default="waker,ferret",
                    help="comma-separated: waker, ferret, burnUS (e.g. burn60), ARM@CPU (e.g. ferret@1)")
    a = ap.parse_args()
    waker = os.path.join(ROOT, "build", "bench", "waker")
    ferret = os.path.join(ROOT, "build", "ferret")
    for exe in (waker, ferret):
        if not os.access(exe, os.X_OK):
            raise SystemExit("%s missing: run make && make bench-tools" % exe)
    if a.workload != "threads":
        src = open(os.path.join(WORKLOADS, a.workload + ".py")).read()
        need = "def fib(" if a.workload == "calls" else "def int_loop("
        if need not in src:
            raise SystemExit("%s.py has no %s...): the target needs updating" % (a.workload, need))
    hz, sec = str(a.rate), "%g" % a.window
    use = ["plain"] + [k for k in a.arms.split(",") if k]
    for k in use:  # before the target starts, which would be left behind
        if arm_command(k, waker, ferret, hz, sec, 0) is None and k != "plain":
            raise SystemExit("unknown arm %r" % k)
    target = subprocess.Popen([a.python, "-c", TARGET, WORKLOADS, a.workload],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if target.stdout.readline().strip() != "ready":
        raise SystemExit("the target did not start")
    arms = {k: arm_command(k, waker, ferret, hz, sec, target.pid) for k in use}
    windows = {k: [] for k in use}
    order = random.Random(1)
    load0 = open("/proc/loadavg").read().split()[0]
    time.sleep(1.0)  # let the target settle
    try:
        for _ in range(a.blocks):
            ks = list(use)
            order.shuffle(ks)
            for k in ks:
                t0 = time.monotonic()
                if arms[k] is None:
                    time.sleep(a.window)
                else:
                    r = subprocess.run(arms[k], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if r.returncode != 0:
                        raise SystemExit("failed: %s\n%s" % (" ".join(arms[k]),
                                                             r.stderr.decode()[-2000:]))
                windows[k].append((t0, time.monotonic()))
                time.sleep(0.1)
    finally:
        target.stdin.write("stop\n")
        target.stdin.flush()
        stamps = json.loads(target.stdout.readline())
        target.wait()
    load1 = open("/proc/loadavg").read().split()[0]
    stamps.sort()
    rates = {k: [rate(stamps, t0, t1) for t0, t1 in windows[k]] for k in use}
    print("%s at %s Hz: %d blocks of %s s windows, python %s; load average %s at start, %s "
          "at end\n" % (a.workload, hz, a.blocks, sec, a.python, load0, load1))
    base = rates["plain"]
    print("plain: median %.0f pieces/s (min %.0f, max %.0f)\n"
          % (statistics.median(base), min(base), max(base)))
    print("| arm | slowdown: median of per-block plain/arm (95% CI) | mean | "
          "median plain / median arm |")
    print("|---|---|---|---|")
    rng = random.Random(7)
    for k in use[1:]:
        r = [p / x for p, x in zip(base, rates[k])]
        lo, hi = median_ci(r, rng)
        print("| %s | %.3f (%.3f-%.3f) | %.3f | %.3f |" % (
            k, statistics.median(r), lo, hi, statistics.mean(r),
            statistics.median(base) / statistics.median(rates[k])))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
