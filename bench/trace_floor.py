#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""trace_floor.py: what CPython's tracing mode costs by itself, with a C-level trace function
that does nothing (returns 0 at once) - the floor under any line tracer before 3.12, ferret's
`--lines` included.

Builds the empty trace function with cc, then for each interpreter runs a workload in-process
(runpy) in alternation: plain, with PyEval_SetTrace(empty), plain, ... and prints the median
of the pair ratios (min-max). Timing is inside the process, so start-up is left out
(bench/trace_overhead.py measures whole processes).

  bench/trace_floor.py [--pairs N] [--pythons P1,P2] [--workload loops]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_overhead import WORKLOADS, pythons  # noqa: E402

EMPTY_C = "int ferret_empty_trace(void *o, void *f, int w, void *a)" \
          "{ (void)o; (void)f; (void)w; (void)a; return 0; }\n"

RUNNER = r"""
import ctypes, runpy, sys, time
lib = ctypes.CDLL(sys.argv[1])
ctypes.pythonapi.PyEval_SetTrace.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
if sys.argv[2] == "trace":
    ctypes.pythonapi.PyEval_SetTrace(ctypes.cast(lib.ferret_empty_trace, ctypes.c_void_p), None)
t = time.perf_counter()
sys.argv = [sys.argv[3]]
runpy.run_path(sys.argv[0], run_name="__main__")
dt = time.perf_counter() - t
ctypes.pythonapi.PyEval_SetTrace(None, None)
print("FLOOR %.6f" % dt, file=sys.stderr)
"""


def timed(py, lib, mode, prog):
    r = subprocess.run([py, "-c", RUNNER, lib, mode, prog], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    for line in r.stderr.splitlines():
        if line.startswith("FLOOR "):
            return float(line.split()[1])
    raise SystemExit("failed: %s %s\n%s" % (py, mode, r.stderr[-2000:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--pythons", default="")
    ap.add_argument("--workload", default="loops")
    a = ap.parse_args()
    want = set(a.pythons.split(",")) if a.pythons else None
    prog = os.path.join(WORKLOADS, a.workload + ".py")
    with tempfile.TemporaryDirectory() as tmp:
        src, lib = os.path.join(tmp, "empty.c"), os.path.join(tmp, "libempty.so")
        with open(src, "w") as f:
            f.write(EMPTY_C)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src], check=True)
        print("| python | workload | plain s (median) | empty trace function / plain: median "
              "(min-max) | pairs |")
        print("|---|---|---|---|---|")
        for name, py in pythons():
            if want and name not in want:
                continue
            if not name.startswith("system") and tuple(map(int, name.split(".")[:2])) >= (3, 12):
                continue  # 3.12+ trace lines through sys.monitoring, not this mode
            plain, ratios = [], []
            for _ in range(a.pairs):
                p = timed(py, lib, "plain", prog)
                t = timed(py, lib, "trace", prog)
                plain.append(p)
                ratios.append(t / p)
            print("| %s | %s | %.2f | **%.2f** (%.2f-%.2f) | %d |"
                  % (name, a.workload, statistics.median(plain), statistics.median(ratios),
                     min(ratios), max(ratios), a.pairs))


if __name__ == "__main__":
    main()
