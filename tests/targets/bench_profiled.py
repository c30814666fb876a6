"""`ferret bench --profile` target: SLOW_N sets how much work slow_part does, so two runs
with different SLOW_N differ by slow_part only."""
import os

SLOW_N = int(os.environ.get("SLOW_N", "1000"))


def slow_part(n):
    return sum(i * i for i in range(n))


def steady_part():
    return sorted(range(3000), reverse=True)


def bench_work():
    slow_part(SLOW_N)
    steady_part()
