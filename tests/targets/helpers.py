"""Runs programs that are not Python (/bin/true, and sleep long enough to be seen: `helpers.py
N` starts N sleeps at a time) beside one Python child (multiprocessing), then naps after that
child has exited. Prints the parent's and the child's pid: the only Python processes."""
import multiprocessing as mp
import os
import subprocess
import sys
import time


def child():
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass


def nap_after_child():
    time.sleep(0.5)


if __name__ == "__main__":
    mp.set_start_method("fork")
    at_once = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for _ in range(3):
        subprocess.run(["/bin/true"])
        sleeps = [subprocess.Popen(["/bin/sleep", "0.25"]) for _ in range(at_once)]
        for s in sleeps:
            s.wait()
    p = mp.Process(target=child)
    p.start()
    p.join()
    print("PIDS", os.getpid(), p.pid, flush=True)
    nap_after_child()
