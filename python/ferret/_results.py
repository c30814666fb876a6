# SPDX-License-Identifier: MIT
"""What ferret.trace() and ferret.profile() give back: reports, files and statistics of
one recorded profile (a _ferret.Recording)."""
import atexit
import collections
import functools
import os
import sys

Function = collections.namedtuple(
    "Function", "name file line is_c calls primitive_calls self_time total_time "
    "self_cpu total_cpu")
Function.__doc__ = """One function's exact statistics (times in seconds).

calls counts every call; primitive_calls leaves out calls made while the function was
already running (recursion). self_time is time with the function innermost; total_time
includes the functions it called, counting a recursion once. self_cpu/total_cpu are the
same in CPU time (estimated per window, see docs/TRACE.md)."""

Line = collections.namedtuple("Line", "file line function hits time")
Line.__doc__ = """One source line: exact hits and the time from the line's start to the next
line of the same frame (calls made on the line included), in seconds."""

Edge = collections.namedtuple("Edge", "caller callee calls primitive_calls self_time "
                              "total_time")
Edge.__doc__ = """Calls from caller to callee (Function values; caller None for outermost
calls), with the callee's times restricted to those calls."""

_FORMAT_BY_EXT = {".ferret": "ferret", ".prof": "pstats", ".pstats": "pstats",
                  ".txt": "text", ".html": "html", ".svg": "svg", ".json": "chrome",
                  ".collapsed": "collapsed", ".folded": "collapsed", ".pb": "pprof",
                  ".pb.gz": "pprof", ".speedscope": "speedscope"}


def format_for_path(path):
    """The output format a file name implies (.ferret, .prof, .html, .json, ...); ValueError
    for a name that implies none (as `ferret trace -o` refuses it)."""
    lower = os.fspath(path).lower()
    if lower.endswith(".speedscope.json"):
        return "speedscope"
    for ext, fmt in _FORMAT_BY_EXT.items():
        if lower.endswith(ext):
            return fmt
    raise ValueError("ferret: %s: which format? (name it with format=, or use an extension "
                     "such as .ferret, .prof, .json, .html, .txt)" % (os.fspath(path),))


def output_path(path):
    """A results path given to trace() or profile(), checked before anything runs: None, or
    a str whose extension names a format."""
    if path is None:
        return None
    path = os.fspath(path)
    format_for_path(path)
    return path


class Results:
    """Reports and statistics of a recorded profile, and the context-manager and decorator
    plumbing of Trace and Profile (which provide start() and stop())."""

    _rec = None
    _ran = False
    _print = None
    _is_decorator = False
    _attr = "results"  # the attribute a decorated function carries its Trace/Profile in
    path = None
    sort = "self"
    top = 20

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError("ferret.%s() decorates a function" % self._attr)
        self._is_decorator = True
        if self._print is None and self.path is None:
            self._print = True
        atexit.register(self._finish)

        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            self.start()
            try:
                return func(*args, **kwargs)
            finally:
                self.stop()

        setattr(wrapped, self._attr, self)
        return wrapped

    def _finish(self):
        """Saves and/or prints, as asked: after a block, or at exit for a decorator."""
        if not self._ran:
            return
        if self.path:
            self.save(self.path)
        if self._print:
            self.print()

    def _recording(self):
        if self._rec is None or not self._ran:
            raise RuntimeError("ferret: %s has not run yet" % type(self).__name__)
        return self._rec

    def report(self, format="text", sort=None, top=None, color=False):
        """The report as str (text formats) or bytes (pstats, pprof)."""
        return self._recording().report(format=format, sort=sort or self.sort,
                                         top=top or self.top, color=color)

    def print(self, sort=None, top=None, file=None):
        """Prints the text report (to stderr unless file is given)."""
        out = file or sys.stderr
        out.write(self.report("text", sort=sort, top=top,
                              color=bool(getattr(out, "isatty", lambda: False)())))
        out.flush()

    def save(self, path, format=None):
        """Writes the result to path; the format follows the extension (.ferret, .prof,
        .html, .json for Chrome, .txt, ...) unless given."""
        path = os.fspath(path)
        fmt = format or format_for_path(path)
        try:
            self._recording().save(path, format=fmt, sort=self.sort, top=self.top)
        except ValueError as e:
            if "has no timeline for a Chrome trace" not in str(e):
                raise
            # the writer's advice is the command line's; from code it is these
            raise ValueError("ferret: this trace has no timeline for a Chrome trace: trace with "
                             "timeline=True, or save(%r, format=\"json\") (or .prof, .html, "
                             ".ferret)" % (path,)) from None
        return path

    def _thread_index(self, thread):
        if thread is None:
            return -1
        for i, (tid, name) in enumerate(self._recording().threads()):
            if thread in (tid, name):
                return i
        raise ValueError("ferret: no traced thread %r (threads: %s)"
                         % (thread, ", ".join(n or str(t) for t, n in self.threads())))

    def _stats(self, thread=None):
        funcs, edges, lines, wall, cpu = self._recording().stats(self._thread_index(thread))
        fs = [Function(n, f, ln, c, calls, prim, s / 1e9, t / 1e9, sc / 1e9, tc / 1e9)
              for (n, f, ln, c, calls, prim, s, t, sc, tc) in funcs]
        return fs, edges, lines, wall, cpu

    def functions(self, sort="self", thread=None):
        """Every function that ran, as Function tuples, costliest first (sort: self,
        total, calls, cpu or name); only one thread's with thread=name or kernel tid."""
        key = {"self": lambda f: -f.self_time, "total": lambda f: -f.total_time,
               "calls": lambda f: -f.calls, "cpu": lambda f: -f.self_cpu,
               "name": lambda f: f.name}[sort]
        fs = [f for f in self._stats(thread)[0] if f.calls or f.self_time or f.total_time]
        return sorted(fs, key=key)

    def function(self, name):
        """The Function named name (qualified name or plain name), or None; ValueError
        if several functions have that name."""
        hits = [f for f in self.functions()
                if f.name == name or f.name.rsplit(".", 1)[-1] == name]
        if len(hits) > 1:
            exact = [f for f in hits if f.name == name]
            if len(exact) == 1:
                return exact[0]
            raise ValueError("ferret: %d functions are named %r" % (len(hits), name))
        return hits[0] if hits else None

    def edges(self):
        """Caller -> callee call counts and times, as Edge tuples."""
        fs, edges, _, _, _ = self._stats()
        return [Edge(fs[c] if c >= 0 else None, fs[d], n, p, s / 1e9, t / 1e9)
                for (c, d, n, p, s, t) in edges]

    def lines(self):
        """Per-line hits and times (with lines=True), as Line tuples in source order."""
        fs, _, lines, _, _ = self._stats()
        return [Line(fs[f].file, ln, fs[f], hits, ns / 1e9) for (f, ln, hits, ns) in lines]

    def threads(self):
        """[(kernel thread id, name)] of the threads that ran Python code."""
        return self._recording().threads()

    @property
    def total_time(self):
        """Wall time spent in traced functions, summed over threads (seconds)."""
        return self._stats()[3] / 1e9

    @property
    def meta(self):
        """The profile's metadata (tracer hook, options, warnings, ...)."""
        return self._recording().meta()


def factory(cls, func, args, kwargs):
    """trace()/profile(): a bare decorator, a decorator with options, or an object."""
    if callable(func) and not args and not kwargs:
        return cls()(func)
    if func is not None:
        args = (func,) + args
    return cls(*args, **kwargs)
