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

The same tracer runs a whole program from the command line: `ferret trace -- python app.py`.
See docs/PYTHON_API.md and docs/TRACE.md.
"""
from ._trace import Edge, Function, Line, Trace, trace

__version__ = "0.1.0"
__all__ = ["trace", "Trace", "Function", "Line", "Edge"]
