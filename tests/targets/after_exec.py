"""The program exec_into.py becomes."""
import time


def after_exec():
    end = time.perf_counter() + 0.6
    while time.perf_counter() < end:
        pass


after_exec()
