"""trace_owntrace.py [--api]: a program with its own trace and profile functions, traced with
line data (ferret trace --lines, or ferret.trace(lines=True) with --api).

It sets a sys.settrace function counting line events over g() (f() 100 times), removes it,
then runs threads under threading.settrace and threading.setprofile functions counting
calls of tf(), and prints what its own functions saw as JSON (plus, with --api, ferret's
count of f). Run without ferret it gives the truth: with ferret its functions must see the
same, and ferret must count every call of f (300) and tf (20), before 3.12 too, where
ferret's line hook holds the thread's one trace slot.
"""
import json
import sys
import threading


def f(x):
    y = x + 1
    return y


def g():
    for i in range(100):
        f(i)


def tf():
    return 1


def tmain():
    for _ in range(10):
        tf()


def run():
    res = {}
    g()
    lines = {"n": 0}

    def tr(frame, event, arg):
        if event == "line":
            lines["n"] += 1
        return tr
    sys.settrace(tr)
    res["gettrace_is_own"] = sys.gettrace() is tr
    g()
    sys.settrace(None)
    res["own_lines"] = lines["n"]
    g()
    seen = {"thread_trace": 0, "thread_profile": 0}

    def ttr(frame, event, arg):
        if event == "call" and frame.f_code is tf.__code__:
            seen["thread_trace"] += 1

    def tprof(frame, event, arg):
        if event == "call" and frame.f_code is tf.__code__:
            seen["thread_profile"] += 1
    threading.settrace(ttr)
    threading.setprofile(tprof)
    ts = [threading.Thread(target=tmain) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    threading.settrace(None)
    threading.setprofile(None)
    res.update(seen)
    return res


if __name__ == "__main__":
    if "--api" in sys.argv[1:]:
        import ferret
        with ferret.trace(lines=True) as t:
            out = run()
        out["ferret_f"] = t.function("f").calls
        out["ferret_tf"] = t.function("tf").calls
    else:
        out = run()
    print(json.dumps(out))
