"""Half computing, half sleeping, in alternation: wall mode sees both, cpu mode only busy().

Prints `TRUTH busy=X% nap=Y%`: the share of the two calls' wall time each took, as the program
measured it. Sleeps can take longer than asked when the program is paused while sleeping
(--blocking freezes it for every sample, and a sleep's remaining time restarts after each
pause), so that share, not one half, is what a profile must show."""
import time


def busy(sec):
    end = time.perf_counter() + sec
    while time.perf_counter() < end:
        pass


def nap(sec):
    time.sleep(sec)


spent = {"busy": 0.0, "nap": 0.0}
for _ in range(6):
    for fn in (busy, nap):
        t0 = time.perf_counter()
        fn(0.1)
        spent[fn.__name__] += time.perf_counter() - t0
total = spent["busy"] + spent["nap"]
print("TRUTH busy=%.2f%% nap=%.2f%%" % (100 * spent["busy"] / total, 100 * spent["nap"] / total))
