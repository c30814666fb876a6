"""trace_api.py: ferret's Python API from inside a program: in a script, in a thread, nested,
and as a decorator. Prints one JSON line of {case: {function: calls}} as ferret saw them."""
import json
import sys
import threading

import ferret


def leaf():
    pass


def run(n):
    for _ in range(n):
        leaf()


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@ferret.trace(print=False)
def decorated(n):
    run(n)


def starter(t):
    t.start()
    leaf()


def other():
    leaf()


def callers(t, name):
    """{caller's short name: calls} of the function `name` of this file."""
    return {(e.caller.name.rsplit(".", 1)[-1] if e.caller else None): e.calls
            for e in t.edges()
            if e.callee.name.rsplit(".", 1)[-1] == name and e.callee.file.endswith("trace_api.py")}


def calls(t, name):
    fs = [f for f in t.functions() if f.name.rsplit(".", 1)[-1] == name and
          f.file.endswith("trace_api.py")]
    return sum(f.calls for f in fs)


def main(out_dir):
    result = {}
    with ferret.trace() as t:
        run(10)
        fib(10)
    result["script"] = {"leaf": calls(t, "leaf"), "fib": calls(t, "fib"),
                        "prim_fib": sum(f.primitive_calls for f in t.functions()
                                        if f.name == "fib")}

    with ferret.trace() as t:
        workers = [threading.Thread(target=run, args=(k,), name="split-%d" % k)
                   for k in (3, 8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        run(1)
    result["per_thread"] = {name: sum(f.calls for f in t.functions(thread=name)
                                      if f.name == "leaf")
                            for name in ("split-3", "split-8", "MainThread")}

    box = {}

    def in_thread():
        with ferret.trace() as tt:
            run(7)
        box["t"] = tt
    th = threading.Thread(target=in_thread, name="api-thread")
    th.start()
    th.join()
    result["thread"] = {"leaf": calls(box["t"], "leaf"),
                        "threads": sorted(n for _, n in box["t"].threads())}

    with ferret.trace() as outer:
        run(3)
        with ferret.trace() as inner:
            run(5)
        run(2)
    result["nested"] = {"outer": calls(outer, "leaf"), "inner": calls(inner, "leaf")}

    decorated(4)
    decorated(6)
    result["decorator"] = {"leaf": calls(decorated.trace, "leaf"),
                           "decorated": calls(decorated.trace, "decorated")}

    # started inside a function that returns before the calls that follow: they are not
    # that function's (the frame evaluator sees no return of a frame that began untraced)
    t = ferret.trace()
    starter(t)
    for _ in range(3):
        other()
    t.stop()
    result["start_stop"] = {"other": callers(t, "other"), "leaf": callers(t, "leaf")}

    outer.save(out_dir + "/outer.ferret")
    outer.save(out_dir + "/outer.prof")
    result["report_has_leaf"] = "leaf" in outer.report()

    # a file name that names no format is refused (as `ferret trace -o` does), not written
    # as .ferret; format= names it
    refused = []
    for attempt in (lambda: outer.save(out_dir + "/y.weird"), lambda: outer.save(out_dir + "/noext"),
                    lambda: ferret.trace(out_dir + "/z.weird")):
        try:
            attempt()
        except ValueError as e:
            refused.append(str(e))
    outer.save(out_dir + "/named", format="pstats")
    result["unknown_ext"] = refused

    # a .json path is a Chrome trace: it records the spans one needs (it refused at the end)
    with ferret.trace(out_dir + "/spans.json"):
        leaf()
    # saved as one afterwards without them: refused with the API's advice, not the CLI's
    plain = ferret.trace()
    with plain:
        leaf()
    try:
        plain.save(out_dir + "/nospans.json")
    except ValueError as e:
        result["no_timeline"] = str(e)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
