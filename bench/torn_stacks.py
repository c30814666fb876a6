#!/usr/bin/env python3
"""bench/torn_stacks.py: how often a sampled stack is one the program never had.

tests/targets/frame_shapes.py calls block() through some 45 shapes of Python call (plain,
closures, generators, properties, comprehensions, ...); block() prints its own stack, as
Python sees it, then spins on one line for SPIN seconds. Every sample ferret takes on that
line must be one of the printed stacks. A sample that is not mixes two moments of the
program: ferret reads the target while it runs, and a stack read partly before and partly
after a call or a return can pass every check on what is read. Short spins at a high rate
make such moments likely; `--blocking` (the target stopped for each sample) must show none.

    make && python3 bench/torn_stacks.py [--python P] [--runs 30] [--spin 0.002] [--rate 10000]
                                          [-- FERRET_RUN_OPTIONS...]

Prints each wrong stack (with the true stacks of the same depth) and a summary line.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAME_RE = re.compile(r"^(.*) \((.*):(-?\d+)\)$")


def frame_of(text):
    m = FRAME_RE.match(text)
    return (m[1], m[2], int(m[3])) if m else (text, "?", -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--spin", default="0.002", help="seconds each shape spins")
    ap.add_argument("--rate", default="10000")
    ap.add_argument("--ferret", default=os.path.join(ROOT, "build", "ferret"))
    ap.add_argument("extra", nargs="*", help="more `ferret run` options (after --)")
    a = ap.parse_args()
    target = os.path.join(ROOT, "tests", "targets", "frame_shapes.py")
    wrong_samples = on_line = bad_runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "s.txt")
        for run in range(a.runs):
            r = subprocess.run([a.ferret, "run", "-q", "-r", a.rate, "-f", "collapsed", "-o", out,
                                *a.extra, "--", a.python, target, "all"],
                               capture_output=True, text=True, env=dict(os.environ, SPIN=a.spin))
            if r.returncode != 0:
                sys.exit("ferret run failed: %s" % r.stderr.strip())
            truths = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("[")]
            wanted = {tuple(tuple(f) for f in reversed(t)) for t in truths}  # root first
            leaf = tuple(truths[0][0])
            bad = 0
            for line in open(out):
                text, count = line.rstrip("\n").rsplit(" ", 1)
                stack = tuple(frame_of(f) for f in text.split(";"))
                if stack[-1] != leaf:
                    continue  # not on the spinning line
                on_line += int(count)
                if stack not in wanted:
                    bad += int(count)
                    same_depth = [";".join("%s (%s:%d)" % f for f in w)
                                  for w in wanted if len(w) == len(stack)]
                    print("run %d: %s sample(s) of %s\n  true stacks of that depth: %s"
                          % (run, count, text, same_depth))
            wrong_samples += bad
            bad_runs += bad > 0
    print("%s, %d runs at %s Hz, spin %s s%s: %d of %d samples on the spinning line wrong, "
          "in %d runs" % (a.python, a.runs, a.rate, a.spin,
                          " (" + " ".join(a.extra) + ")" if a.extra else "", wrong_samples,
                          on_line, bad_runs))


if __name__ == "__main__":
    main()
