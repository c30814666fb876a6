"""Half computing, half sleeping, in alternation: wall mode sees both, cpu mode only busy()."""
import time


def busy(sec):
    end = time.perf_counter() + sec
    while time.perf_counter() < end:
        pass


def nap(sec):
    time.sleep(sec)


for _ in range(6):
    busy(0.1)
    nap(0.1)
