"""many_threads.py N DEPTH: N threads, each waiting DEPTH calls deep in wait_here(), until
stdin closes. Prints "ready" when every thread is in place."""
import sys
import threading

N, DEPTH = int(sys.argv[1]), int(sys.argv[2])
sys.setrecursionlimit(DEPTH + 1000)
threading.stack_size(64 * 1024 * 1024 if DEPTH > 1000 else 0)
release = threading.Event()
arrived = threading.Semaphore(0)


def wait_here(n):
    if n > 1:
        return wait_here(n - 1)
    arrived.release()
    release.wait()


threads = [threading.Thread(target=wait_here, args=(DEPTH,), name="w%d" % i) for i in range(N)]
for t in threads:
    t.start()
for _ in range(N):
    arrived.acquire()
print("ready", flush=True)
sys.stdin.read()
release.set()
for t in threads:
    t.join()
