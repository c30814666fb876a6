"""A small program with obvious hotspots, for trying ferret.

    build/ferret run -- python3 examples/hotspots.py

About 60% of the time goes to count_primes() (the inner loop at is_prime), 25% to
word_stats() and the rest waiting in time.sleep(), which wall mode shows as idle.
"""
import time


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def count_primes(limit):
    return sum(1 for n in range(limit) if is_prime(n))


def word_stats(rounds):
    text = "the quick brown fox jumps over the lazy dog " * 200
    counts = {}
    for _ in range(rounds):
        for word in text.split():
            counts[word] = counts.get(word, 0) + 1
    return len(counts)


def main():
    start = time.perf_counter()
    primes = count_primes(700_000)
    words = word_stats(900)
    time.sleep(0.3)
    print(f"{primes} primes, {words} distinct words in {time.perf_counter() - start:.2f}s")


if __name__ == "__main__":
    main()
