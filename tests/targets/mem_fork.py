"""Forks: the child allocates 64 MiB (CHILD line) and leaves with os._exit; the parent
keeps 16 MiB (PARENT line) and waits. The child is not recorded; the parent must be."""
import os
import sys

MiB = 1 << 20
KEEP = []
KEEP.append(bytearray(16 * MiB))  # LINE:PARENT
pid = os.fork()
if pid == 0:
    child = [bytearray(MiB) for _ in range(64)]  # LINE:CHILD
    os._exit(0 if len(child) == 64 else 1)
_, status = os.waitpid(pid, 0)
KEEP.append(bytearray(4 * MiB))  # LINE:AFTER
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)
