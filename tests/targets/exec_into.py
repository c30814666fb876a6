"""Computes a little, then replaces itself (os.execv) with another Python program."""
import os
import sys
import time


def before_exec():
    end = time.perf_counter() + 0.4
    while time.perf_counter() < end:
        pass


before_exec()
if len(sys.argv) > 1:
    os.execv(sys.executable, [sys.executable, os.path.join(os.path.dirname(__file__), "after_exec.py")])
