"""Helpers for the tracer's end-to-end tests (test_trace*.py).

The sanitizer build of ferret (build/san/ferret, what `make e2e` runs) finds the sanitizer
build of the _ferret extension (build/san/lib/ferret), so Python must run with libasan
preloaded, PYTHONMALLOC=malloc and leak detection off (CPython does not free everything at
exit); env() gives that environment whenever ferret is a sanitizer build.
"""
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import ROOT, TARGETS


def _asan_lib():
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                         text=True).stdout.strip()
    return out if out and os.path.isabs(out) else None


def is_san(ferret):
    return "/san/" in str(ferret)


def libdir(ferret):
    """The library tree the given ferret binary uses (next to it)."""
    return Path(ferret).resolve().parent / "lib" / "ferret"


def env(ferret, san=None, **extra):
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)
    if is_san(ferret) if san is None else san:
        lib = _asan_lib()
        if lib:
            e["LD_PRELOAD"] = lib
        e["PYTHONMALLOC"] = "malloc"
        e["ASAN_OPTIONS"] = "detect_leaks=0"
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(ferret, args, timeout=120, san=None, **extra):
    return subprocess.run([str(ferret)] + [str(a) for a in args], capture_output=True,
                          text=True, env=env(ferret, san, **extra), timeout=timeout)


def run_python(ferret, python, args, timeout=120, **extra):
    """Runs python with ferret's package importable (the API tests)."""
    e = env(ferret, **extra)
    e["PYTHONPATH"] = str(libdir(ferret) / "python")
    return subprocess.run([python] + [str(a) for a in args], capture_output=True, text=True,
                          env=e, timeout=timeout)


def target(name):
    return TARGETS / name


def last_json(text):
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError("no JSON line in output:\n" + text)


def minor(python):
    return int(subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                              capture_output=True, text=True).stdout)


def version(python):
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:3])"],
                         capture_output=True, text=True).stdout
    return tuple(int(x) for x in out.split())


def uses_profile_slot(python, builtins=False):
    """Does ferret trace take the thread's profile function slot on this interpreter? Before
    3.12 with --builtins (see src/ext/hooks_legacy.c)."""
    return builtins and version(python) < (3, 12)


def short(name):
    """The name ferret reports on 3.9/3.10 (co_name) for a qualified name."""
    return name.rsplit(".", 1)[-1]


def load_pstats(path):
    """{(file, line, name): (cc, nc, tt, ct, callers)} as pstats.Stats reads it."""
    import pstats
    return pstats.Stats(str(path)).stats


def pstats_by_name(stats, file_suffix):
    """{function name: stats tuple} for the functions of one target file."""
    out, twice = {}, set()
    for (file, line, name), v in stats.items():
        if file.endswith(file_suffix):
            if name in out:
                twice.add(name)
            out[name] = v
    for name in twice:  # e.g. two list comprehensions in one function: not comparable
        del out[name]
    return out


LINE_ROW = re.compile(r"^\s*(\d+)\s+\S+\s+\S+\s+\S*?:(\d+) (\S+)")


def text_lines(report):
    """{(function, line): hits} from the 'Lines by time' table of a text report."""
    rows = {}
    inside = False
    for line in report.splitlines():
        if line.startswith("Lines by time"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = LINE_ROW.match(line)
            if m:
                rows[(m.group(3), int(m.group(2)))] = int(m.group(1))
    return rows
