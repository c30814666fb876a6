#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""trace_overhead.py: what `ferret trace` costs, beside cProfile, yappi and line_profiler.

For each interpreter and workload it runs whole processes in alternation (plain, tool,
plain, tool, ...), takes the ratio tool/plain of each pair and prints the median of the
pair ratios with their min-max, as BASELINES.md does. Start-up, set-up and report writing
are included. yappi and line_profiler are Debian packages, so they run on /usr/bin/python3
only; cProfile runs everywhere. Prints a Markdown table (docs/PERFORMANCE.md, ## ferret trace).

  bench/trace_overhead.py [--pairs N] [--pythons P1,P2] [--workloads calls,loops]
                          [--tools ferret,ferret-lines,cprofile,yappi,kernprof]
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = os.environ.get("FERRET_WORKLOADS", "/work/shared/workloads")
FERRET = os.environ.get("FERRET", os.path.join(ROOT, "build", "ferret"))
SYSTEM = "/usr/bin/python3"


def pythons():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for exe in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))):
        v = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           capture_output=True, text=True).stdout.strip()
        if v and (3, 9) <= tuple(map(int, v.split(".")[:2])) <= (3, 13):
            found.append((v, exe))
    found.append(("system-3.11", SYSTEM))
    return found


def command(tool, py, script, out):
    """argv and extra environment of one run of `tool` on `script`; None if unavailable."""
    env = {}
    if tool == "plain":
        return [py, script], env
    if tool == "ferret":
        return [FERRET, "trace", "-o", out + ".ferret", "--", py, script], env
    if tool == "ferret-lines":
        return [FERRET, "trace", "--lines", "-o", out + ".ferret", "--", py, script], env
    if tool == "ferret-nocpu":
        return [FERRET, "trace", "--no-cpu", "-o", out + ".ferret", "--", py, script], env
    if tool == "cprofile":
        return [py, "-m", "cProfile", "-o", out + ".prof", script], env
    if py != SYSTEM:
        return None
    if tool == "yappi":
        return [py, "-m", "yappi", "-c", "wall", "-o", out + ".yappi", script], env
    if tool == "kernprof":
        env["WORKLOAD_DECORATE"] = "1"
        return [py, "-m", "kernprof", "-l", "-o", out + ".lprof", script], env
    raise SystemExit("unknown tool %s" % tool)


def run(argv, env):
    full = dict(os.environ, **env)
    t = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full,
                       cwd=WORKLOADS)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (r.returncode, " ".join(argv),
                                                 r.stderr.decode(errors="replace")[-2000:]))
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--pythons", default="")
    ap.add_argument("--workloads", default="calls,loops")
    ap.add_argument("--tools", default="ferret,ferret-lines,cprofile,yappi,kernprof")
    a = ap.parse_args()
    pys = pythons()
    if a.pythons:
        want = a.pythons.split(",")
        pys = [p for p in pys if p[0] in want or p[1] in want]
    tools = a.tools.split(",")
    load = os.getloadavg()
    print("| python | workload | tool | plain s (median) | tool / plain: median (min-max) | pairs |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, py in pys:
            for w in a.workloads.split(","):
                script = os.path.join(WORKLOADS, w + ".py")
                for tool in tools:
                    cmd = command(tool, py, script, os.path.join(tmp, "out"))
                    if cmd is None:
                        continue
                    plain_cmd = command("plain", py, script, None)
                    ratios, plains = [], []
                    for _ in range(a.pairs):
                        p = run(*plain_cmd)
                        t = run(*cmd)
                        plains.append(p)
                        ratios.append(t / p)
                    print("| %s | %s | %s | %.2f | **%.2f** (%.2f-%.2f) | %d |"
                          % (label, w, tool, statistics.median(plains),
                             statistics.median(ratios), min(ratios), max(ratios), a.pairs),
                          flush=True)
    print("\nload average before: %.2f %.2f %.2f; after: %.2f %.2f %.2f"
          % (load + os.getloadavg()))


if __name__ == "__main__":
    sys.exit(main())
