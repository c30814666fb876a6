"""Sixty threads start while another holds the GIL, and each then naps eight times, with a
little Python before each nap: every nap must be seen where it sleeps. A thread caught
waiting for the GIL (or in the Python before a nap), read asleep, and then sampled again
just before it ran on once kept that earlier stack through the whole nap that followed."""
import threading
import time


def warm(n):
    s = 0
    for i in range(n):
        s += i
    return s


def nap():
    time.sleep(0.2)


def worker(i):
    for _ in range(8):
        warm(3000 + 500 * (i % 7))
        nap()


def compute():
    end = time.perf_counter() + 1.8
    x = 0
    while time.perf_counter() < end:
        x += 1


threads = [threading.Thread(target=compute, name="cruncher")]
threads += [threading.Thread(target=worker, args=(i,), name=f"w-{i}") for i in range(60)]
for t in threads:
    t.start()
for t in threads:
    t.join()
