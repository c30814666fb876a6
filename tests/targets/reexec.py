"""Runs three images of itself, one after another, by exec of the same interpreter with the
same script: each spins 0.3 s in a function of its own (spin_0, spin_1, spin_2)."""
import os
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def spin_0():
    spin(0.3)


def spin_1():
    spin(0.3)


def spin_2():
    spin(0.3)


gen = int(sys.argv[1]) if len(sys.argv) > 1 else 0
[spin_0, spin_1, spin_2][gen]()
if gen < 2:
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, __file__, str(gen + 1)])
