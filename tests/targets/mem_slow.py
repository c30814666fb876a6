"""Allocates 32 MiB (KEEP line), writes its pid to the file named by argv[1], then waits up
to 30 s: long enough for a test to kill ferret while this program is still running."""
import os
import sys
import time

KEEP = [bytearray(1 << 20) for _ in range(32)]  # LINE:KEEP
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
for _ in range(300):
    time.sleep(0.1)
