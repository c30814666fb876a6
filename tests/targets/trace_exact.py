"""trace_exact.py: a program whose every traced function has a known call count.

Run as `python3 trace_exact.py [SCALE]`; it prints one JSON line with the expected counts:
{"calls": {name: calls}, "primitive": {name: primitive calls}, "threads": {thread: {name: calls}}}
Names are qualified names (3.11+); tests compare the last dotted part on 3.9/3.10, where
ferret sees only co_name. Used by tests/e2e/test_trace.py for ferret trace and ferret.trace().
"""
import asyncio
import json
import sys
import threading

def leaf():
    pass


def rec(n):
    return 0 if n == 0 else rec(n - 1)


def gen(n):
    yield from range(n)


def gen_inner(n):
    for i in range(n):
        yield i


def gen_outer(n):
    yield from gen_inner(n)


class C:
    def __getitem__(self, i):
        return i

    def __add__(self, other):
        return self

    @property
    def p(self):
        return 1

    def m(self, x):
        return x


def boom():
    raise ValueError("expected")


def catcher():
    try:
        boom()
    except ValueError:
        pass


async def coro(i):
    await asyncio.sleep(0)
    return i


async def gather(n):
    return await asyncio.gather(*(coro(i) for i in range(n)))


def sq(x):
    return x * x


class CM:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def make_inner():
    def inner():
        return 1
    return inner


def comp_leaf():
    return 0


def tleaf():
    pass


def worker(n):
    for _ in range(n):
        tleaf()


def main(n=1):
    for _ in range(1000 * n):
        leaf()
    for _ in range(7 * n):
        rec(10)
    for _ in range(5 * n):
        for _ in gen(3):
            pass
    for _ in range(3 * n):
        list(gen_outer(4))
    c = C()
    for i in range(13 * n):
        c[i]
    for _ in range(17 * n):
        c + c
    for _ in range(19 * n):
        c.p
    list(map(c.m, range(23 * n)))
    for _ in range(29 * n):
        catcher()
    asyncio.run(gather(31 * n))
    sorted(range(37 * n), key=sq)
    list(map(lambda x: x, range(41 * n)))
    for _ in range(43 * n):
        with CM():
            pass
    inner = make_inner()
    for _ in range(47 * n):
        inner()
    [comp_leaf() for _ in range(53 * n)]
    threads = [threading.Thread(target=worker, args=(59 * n,), name="worker-%d" % i)
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = {"leaf": 1000 * n, "rec": 77 * n, "gen": 5 * n, "gen_outer": 3 * n,
             "gen_inner": 3 * n, "C.__getitem__": 13 * n, "C.__add__": 17 * n, "C.p": 19 * n,
             "C.m": 23 * n, "boom": 29 * n, "catcher": 29 * n, "coro": 31 * n, "sq": 37 * n,
             "main.<locals>.<lambda>": 41 * n, "CM.__enter__": 43 * n, "CM.__exit__": 43 * n,
             "make_inner.<locals>.inner": 47 * n, "comp_leaf": 53 * n, "tleaf": 118 * n,
             "worker": 2, "main": 1}
    primitive = dict(calls, rec=7 * n)
    per_thread = {"worker-0": {"tleaf": 59 * n, "worker": 1},
                  "worker-1": {"tleaf": 59 * n, "worker": 1}}
    return {"calls": calls, "primitive": primitive, "threads": per_thread}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
