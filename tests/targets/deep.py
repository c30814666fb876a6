"""A recursion 900 frames deep that then computes at the bottom."""
import sys
import time

sys.setrecursionlimit(5000)


def dive(depth):
    if depth:
        return dive(depth - 1)
    end = time.perf_counter() + 0.8
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


dive(900)
