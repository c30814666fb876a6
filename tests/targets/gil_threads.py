"""One thread computes (holding the GIL), one sleeps, the main thread joins them."""
import threading
import time


def compute():
    end = time.perf_counter() + 1.0
    x = 0
    while time.perf_counter() < end:
        x += 1


def sleeper():
    time.sleep(1.0)


threads = [threading.Thread(target=compute, name="númber-cruncher"),
           threading.Thread(target=sleeper, name="napper")]
for t in threads:
    t.start()
for t in threads:
    t.join()
