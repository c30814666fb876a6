"""trace_deep.py: recursion as deep as the interpreter allows, then deeper than the C stack.

Prints one JSON line: {"limit": sys.getrecursionlimit(), "near_limit": depth reached just under sys.getrecursionlimit(),
"runaway": {"main": how it ended, "thread": how it ended}}. Under ferret's function tracer
(a frame evaluator: one nested C call per Python call) the first must still work as without
ferret, and a runaway recursion under a huge limit must end in RecursionError, not a crash.
"""
import json
import sys
import threading


def down(n):
    return 0 if n == 0 else 1 + down(n - 1)


def forever(n):
    return forever(n + 1)


def runaway():
    try:
        forever(0)
        return "returned"
    except RecursionError:
        return "RecursionError"


out = {"limit": sys.getrecursionlimit(), "near_limit": down(sys.getrecursionlimit() - 60)}
sys.setrecursionlimit(10 ** 6)
res = {}
t = threading.Thread(target=lambda: res.__setitem__("thread", runaway()))
t.start()
t.join()
res["main"] = runaway()
out["runaway"] = res
print(json.dumps(out))
