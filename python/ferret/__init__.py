# SPDX-License-Identifier: MIT
"""ferret: a performance toolkit for Python programs, driven from code.

Exact calls and times (the deterministic tracer)::

    import ferret

    with ferret.trace() as t:          # every call in every thread, exactly counted
        work()
    t.print()                          # text report (sorted by self time) on stderr
    t.save("work.prof")                # pstats: snakeviz, gprof2dot, pstats.Stats
    t.save("work.ferret")              # for `ferret report`, `ferret diff`, the HTML report
    print(t.function("work").calls)

    @ferret.trace(lines=True)          # per-line hits and times; printed at exit
    def work(): ...

Where the time goes, at full speed (ferret run's sampler, on this very process)::

    with ferret.profile() as p:
        work()
    p.print()
    p.save("work.html")

A quick benchmark, with `ferret bench`'s statistics::

    old = ferret.bench(sorted, data)
    new = ferret.bench(my_sort, data)
    print(new, new.compare(old))       # median, 95% interval; ratio and significance

The same tracer runs a whole program from the command line: `ferret trace -- python app.py`.
See docs/PYTHON_API.md and docs/TRACE.md.
"""
__version__ = "0.1.0"
__all__ = ["trace", "Trace", "profile", "Profile", "bench", "Bench", "Comparison", "Function",
           "Line", "Edge"]
_HOME = {"trace": "_trace", "Trace": "_trace", "profile": "_profile", "Profile": "_profile",
         "bench": "_bench", "Bench": "_bench", "Comparison": "_bench",
         "Function": "_results", "Line": "_results", "Edge": "_results"}


def __getattr__(name):
    # The C extension loads on first use, so `import ferret` works everywhere and a
    # missing or mismatched extension is reported by the call that needs it (with both
    # versions named), and so ferret's start-up shim can report it to the ferret command.
    if name in _HOME:
        import importlib
        value = getattr(importlib.import_module("." + _HOME[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError("module 'ferret' has no attribute %r" % name)


def __dir__():
    return sorted(list(globals()) + __all__)
