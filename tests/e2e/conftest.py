"""Shared fixtures for ferret's end-to-end tests.

Every test that takes the `python` fixture runs once per installed CPython: each pyenv
version 3.9 to 3.13 (under $PYENV_ROOT or ~/.pyenv) and Debian's /usr/bin/python3. Set
FERRET_PYTHONS to a colon-separated list of interpreters to narrow the set. Finding no
interpreter is an error, not a skip.

A test whose assertions count samples or measure time (a share of samples, a number of
samples at a rate, a benchmark's ratio, a tracer's wall and CPU times, a kill timed against a
flush) is marked `timing`: `make e2e` runs those one at a time after all the others, which
run E2E_JOBS at a time (pytest-xdist), so no other test's load moves their numbers. A test
that does not say `timing` must pass however loaded the machine is.
"""
import glob
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
def _find_workloads():
    """The project's shared workloads (../shared/workloads next to the checkout; a worktree
    elsewhere can point FERRET_WORKLOADS at them). Missing workloads are an error."""
    env = os.environ.get("FERRET_WORKLOADS")
    for d in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "workloads",
                                            Path("/work/shared/workloads")]:
        if (d / "split.py").is_file():
            return d
    raise pytest.UsageError("the shared workloads (split.py, ...) were not found next to the "
                            "checkout; set FERRET_WORKLOADS to their folder")


WORKLOADS = _find_workloads()
TARGETS = ROOT / "tests" / "targets"
SUPPORTED = {(3, 9), (3, 10), (3, 11), (3, 12), (3, 13)}


def _version_of(exe):
    try:
        out = subprocess.run([exe, "-c", "import sys; sys.stdout.write(' '.join(map(str, sys.version_info[:3])))"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        return tuple(int(x) for x in out)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def find_pythons():
    env = os.environ.get("FERRET_PYTHONS")
    if env:
        candidates = [p for p in env.split(":") if p]
    else:
        root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
        candidates = sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")))
        candidates.append("/usr/bin/python3")
    found = []
    for exe in candidates:
        if not os.access(exe, os.X_OK):
            continue
        v = _version_of(exe)
        if v and v[:2] in SUPPORTED:
            label = ("system-" if exe.startswith("/usr/") else "") + ".".join(map(str, v))
            found.append(pytest.param(exe, id=label))
    return found


PYTHONS = find_pythons()


def pytest_configure(config):
    config.addinivalue_line("markers", "timing: counts samples or measures time; make e2e "
                            "runs these one at a time, with no other test beside them")


def pytest_runtest_setup(item):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))  # pytest-xdist's -n
    if workers > 1 and item.get_closest_marker("timing"):
        pytest.fail("a timing test must run with no other test beside it: run it without "
                    "-n (make e2e runs -m 'not timing' with -n, then -m timing)", pytrace=False)


def pytest_generate_tests(metafunc):
    if "python" in metafunc.fixturenames:
        if not PYTHONS:
            raise pytest.UsageError("no supported CPython (3.9-3.13) found; set FERRET_PYTHONS")
        metafunc.parametrize("python", PYTHONS)


@pytest.fixture(scope="session")
def ferret():
    exe = os.environ.get("FERRET") or str(ROOT / "build" / "san" / "ferret")
    if not os.access(exe, os.X_OK):
        raise pytest.UsageError(f"ferret binary not found at {exe}; run `make san` or set FERRET")
    return exe


def python_version(exe):
    return _version_of(exe)
