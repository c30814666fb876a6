"""Benchmark functions for `ferret bench FILE.py` tests: bench_* functions are timed."""
DATA = list(range(2000))


def bench_sum():
    sum(DATA)


def bench_sorted():
    sorted(DATA, reverse=True)


def helper_not_a_benchmark():
    raise AssertionError("must not be timed")


if __name__ == "__main__":
    raise SystemExit("imported as __main__: ferret bench must not do that")
