"""trace_small_stack.py: recursion in threads with small C stacks, traced.

Usage: trace_small_stack.py [--api]. Recurses 1,000 deep in threads made after
threading.stack_size(256 KiB) and (512 KiB), and 3,000 deep in the main thread (run it under
a 256 KiB `ulimit -s`). With --api each thread traces itself with ferret.trace(). Prints one
JSON line {"thread_256k": result, "thread_512k": result, "main": result}, each the depth
reached or "RecursionError". Under ferret's function tracer (one nested C call per Python
call) every one must end in one of those, never in a crash.
"""
import json
import sys
import threading

API = "--api" in sys.argv[1:]


def down(n):
    return 0 if n == 0 else 1 + down(n - 1)


def run(n):
    try:
        if API:
            import ferret
            with ferret.trace():
                return down(n)
        return down(n)
    except RecursionError:
        return "RecursionError"


sys.setrecursionlimit(10000)
res = {}
for kib in (256, 512):
    threading.stack_size(kib << 10)
    t = threading.Thread(target=lambda k=kib: res.__setitem__("thread_%dk" % k, run(1000)))
    t.start()
    t.join()
res["main"] = run(3000)
print(json.dumps(res))
