"""Four threads, each 50 frames deep, computing forever (two) or sleeping (two): the
sampler's worst ordinary case for bench/sampler.py's achieved-rate measurement."""
import threading
import time


def spin(depth):
    if depth:
        return spin(depth - 1)
    x = 0
    while True:
        x += 1


def rest(depth):
    if depth:
        return rest(depth - 1)
    time.sleep(3600)


for f in (spin, spin, rest, rest):
    threading.Thread(target=f, args=(48,), daemon=True).start()
print("ready", flush=True)
time.sleep(3600)
