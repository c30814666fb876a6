"""The main thread ends with pthread_exit while a worker computes on: the process lives on
with a zombie leader, whose Python thread state is left behind in the interpreter's list.
argv[1]: seconds the worker computes (default 1.0). Prints "gone" once the main thread is
about to exit."""
import ctypes
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def crunch():
    end = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def worker():
    time.sleep(0.05)
    crunch()


threading.Thread(target=worker).start()
time.sleep(0.1)
print("gone", flush=True)
ctypes.CDLL(None).pthread_exit(None)  # ctypes releases the GIL for the call
