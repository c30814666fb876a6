"""Computes until killed; prints 'ready' once running (for attach and signal tests)."""
import sys
import time


def spin():
    x = 0
    while True:
        x += 1


print("ready", flush=True)
try:
    spin()
except KeyboardInterrupt:
    time.sleep(0.05)
    raise
