"""trace_lines.py: per-line hit counts to check ferret --lines against CPython itself.

`python3 trace_lines.py` runs work(); `python3 trace_lines.py --truth` runs it under
sys.settrace, counting the 'line' events CPython reports for each line of work() and of
step(), and prints {"work": {line: hits}, "step": {line: hits}} as JSON.
"""
import json
import sys


def step(i):
    if i % 3 == 0:
        return 1
    elif i % 3 == 1:
        return 2
    return 3


def work(n):
    total = 0
    for i in range(n):
        total += step(i)
        if total > 10**9:
            break
    while n > 0:
        n -= 7
    try:
        raise KeyError(n)
    except KeyError:
        total += 1
    squares = [i * i for i in range(5)]
    return total + len(squares)


def truth(n):
    counts = {"work": {}, "step": {}}
    codes = {work.__code__: "work", step.__code__: "step"}

    def tracer(frame, event, arg):
        name = codes.get(frame.f_code)
        if name is None:
            return None

        def local(frame, event, arg):
            if event == "line":
                d = counts[name]
                d[frame.f_lineno] = d.get(frame.f_lineno, 0) + 1
            return local
        return local

    sys.settrace(tracer)
    work(n)
    sys.settrace(None)
    return counts


if __name__ == "__main__":
    if sys.argv[1:] == ["--truth"]:
        print(json.dumps(truth(100)))
    else:
        work(100)
