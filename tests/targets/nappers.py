"""Thirty threads each run a little Python and then sleep for a second in nap(), while one
thread computes: a thread that falls asleep just after it was sampled must still be seen
asleep where it sleeps, and under its own name."""
import threading
import time


def compute():
    end = time.perf_counter() + 1.5
    x = 0
    while time.perf_counter() < end:
        x += 1


def warm(n):
    s = 0
    for i in range(n):
        s += i
    return s


def nap(i):
    warm(2000 * (i % 7))
    time.sleep(1.0)


threads = [threading.Thread(target=compute, name="cruncher")]
threads += [threading.Thread(target=nap, args=(i,), name=f"napper-{i}") for i in range(30)]
for t in threads:
    t.start()
for t in threads:
    t.join()
