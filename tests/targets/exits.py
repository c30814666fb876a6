"""Ends in the way argv[1] says: raise, exit 3, or kill itself with SIGKILL, after a little work."""
import os
import signal
import sys
import time


def work():
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass


work()
how = sys.argv[1]
if how == "raise":
    raise RuntimeError("boom")
if how == "exit3":
    sys.exit(3)
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
