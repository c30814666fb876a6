"""A multiprocessing pool: the work happens in child processes."""
import multiprocessing as mp


def work(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print(sum(pool.map(work, [1_500_000] * 8)))
