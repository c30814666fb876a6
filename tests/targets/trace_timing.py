"""trace_timing.py: known time splits for ferret's tracer.

main() spends ~0.25 s in CPU-bound calls (busy, with a loop of small helpers) and sleeper()
sleeps 0.2 s; the program measures main() itself with time.perf_counter and prints
{"main_s": seconds, "sleep_s": seconds} as one JSON line. A tracer's inclusive time of main
must match main_s; sleeper's wall time must be >= sleep_s while its CPU time stays small.
"""
import json
import time


def helper(x):
    return x * 2 + 1


def busy(n):
    s = 0
    for i in range(n):
        s += helper(i)
    return s


def sleeper(seconds):
    time.sleep(seconds)


def main():
    t0 = time.perf_counter()
    deadline = t0 + 0.25
    while time.perf_counter() < deadline:
        busy(2000)
    sleeper(0.2)
    return time.perf_counter() - t0


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(json.dumps({"main_s": time.perf_counter() - t, "sleep_s": 0.2}))
