"""trace_lines_zoo.py: control flow of every kind, to check ferret's per-line hits against
CPython's own line events.

`python3 trace_lines_zoo.py` runs run(); `--truth` runs it under sys.settrace and prints
{"qualname:line": hits} for every line event in this file's functions (run() included).
On 3.11 `ferret trace --lines` takes its line events from probes in copies of the code
(src/ext/rewrite.c), so each construct here is a case the probe placement must get right.
"""
import json
import sys


def loops(n):
    s = 0
    for i in range(n): s += i
    j = 0
    while j < n: j += 1
    for i in range(n):
        if i % 2:
            continue
        if i > 7:
            break
        s += i
    else:
        s -= 1
    k = 0
    while k < 3:
        k += 1
    else:
        s += k
    for a in range(3):
        for b in range(3):
            if a == b: continue
            s += a * b
    return s


def exceptions(n):
    out = []
    for i in range(n):
        try:
            if i % 3 == 0:
                raise ValueError(i)
            elif i % 3 == 1:
                {}[i]
            out.append(i)
        except ValueError:
            out.append(-1)
        except KeyError as e:
            out.append(len(str(e)))
        else:
            out.append(0)
        finally:
            out.append(9)
    try:
        try:
            1 / 0
        finally:
            out.append(1)
    except ZeroDivisionError:
        pass
    return out


def in_finally():
    try:
        return 1
    finally:
        x = 2  # noqa: F841


class Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


def withs(n):
    t = 0
    for i in range(n):
        with Quiet():
            t += 1
            if i % 2:
                raise RuntimeError
            t += 2
    return t


def gen(n):
    for i in range(n):
        yield i
        if i == 2:
            yield from range(2)


def gens():
    total = sum(gen(5))
    total += sum(x * 2 for x in range(4))
    total += len([x for x in range(6) if x % 2])
    total += len({x: x for x in range(3)})
    return total


def closures(n):
    count = 0

    def bump(by):
        nonlocal count
        count += by
        return count
    f = lambda v: bump(v) + 1  # noqa: E731
    for i in range(n):
        f(i)
    return count


async def coro(n):
    x = 0
    for i in range(n):
        x += i
    return x


def drive():
    c = coro(4)
    try:
        c.send(None)
    except StopIteration as e:
        return e.value


class Shape:
    sides = 0

    def __init__(self, n):
        self.n = n

    def area(self):
        return self.n * 2


class Square(Shape):
    def area(self):
        base = super().area()
        return base + (
            self.n
            if self.n > 1
            else 0
        )


def classes():
    return sum(Square(i).area() for i in range(4))


def multiline(a, b):
    r = (a
         and b
         or a + b)
    v = [
        a,
        b,
    ]
    if (a > 1 and
            b > 1):
        r += 1
    return r, v


def recurse(n):
    if n <= 0:
        return 0
    return 1 + recurse(n - 1)


def big_if(n):
    # long jumps: EXTENDED_ARG once probes are in
    r = 0
    if n == 1:
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
        r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1; r += 1
    for i in range(n):
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
        r += 2
    return r


def run():
    loops(12)
    exceptions(7)
    in_finally()
    withs(4)
    gens()
    closures(3)
    drive()
    classes()
    multiline(2, 3)
    multiline(0, 1)
    recurse(30)
    big_if(1)
    big_if(3)


def truth():
    counts = {}

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != __file__:
            return None

        def local(frame, event, arg):
            if event == "line":
                key = "%s:%d" % (frame.f_code.co_qualname if hasattr(frame.f_code, "co_qualname")
                                 else frame.f_code.co_name, frame.f_lineno)
                counts[key] = counts.get(key, 0) + 1
            return local
        return local

    sys.settrace(tracer)
    run()
    sys.settrace(None)
    return counts


if __name__ == "__main__":
    if sys.argv[1:] == ["--truth"]:
        print(json.dumps(truth()))
    else:
        run()
