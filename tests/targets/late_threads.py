"""Threads started one after another while another thread keeps the GIL busy: each new
thread runs a moment (in threading's bootstrap) before threading registers its name, and
with --threads all of its samples must still carry one root, named as the program named it."""
import threading
import time


def crunch(stop):
    x = 0
    while not stop.is_set():
        x += 1


def work(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


stop = threading.Event()
cruncher = threading.Thread(target=crunch, args=(stop,), name="cruncher")
cruncher.start()
workers = []
for i in range(24):
    t = threading.Thread(target=work, args=(200_000,), name=f"worker-{i}")
    t.start()
    workers.append(t)
    time.sleep(0.01)
for t in workers:
    t.join()
stop.set()
cruncher.join()
