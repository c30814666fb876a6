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

    outer.save(out_dir + "/outer.ferret")
    outer.save(out_dir + "/outer.prof")
    result["report_has_leaf"] = "leaf" in outer.report()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
