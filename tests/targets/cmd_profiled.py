"""`ferret bench --profile --cmd` target: the functions of bench_profiled.py run as a whole
program; SLOW_N sets how much work slow_part does."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_profiled import slow_part, steady_part, SLOW_N  # noqa: E402

for _ in range(20):
    slow_part(SLOW_N)
    steady_part()
