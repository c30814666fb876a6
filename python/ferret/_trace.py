# SPDX-License-Identifier: MIT
"""ferret.trace(): ferret's deterministic tracer, driven from inside the program.

One tracer runs per process (its hooks are process-wide); every active ferret.trace()
block or decorated call is a session on it, and each session's result is what the tracer
recorded between the session's start and end. Sessions nest and may run in several
threads at once; the first one sets the options (lines, builtins, timeline, cpu).
"""
import os
import sys
import threading
import warnings

from . import _loader, _results

_ferret = _loader.load()
_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

Function, Line, Edge = _results.Function, _results.Line, _results.Edge
format_for_path = _results.format_for_path
_TIMELINE_DEFAULT = 1000000  # spans kept, as `ferret trace --timeline`

_lock = threading.RLock()
_sessions = 0       # active sessions in this process
_owner_pid = None   # the process that started the running tracer
_saved_profile = None  # the program's sys.setprofile function when a tracer starts (< 3.12)


def _command_line():
    argv = getattr(sys, "orig_argv", None) or [sys.executable] + sys.argv
    return " ".join(argv)


def _python_version():
    return "%d.%d.%d" % sys.version_info[:3]


def _forked_child():
    global _sessions, _owner_pid
    if _owner_pid is not None and _owner_pid != os.getpid():
        _ferret._forked()
        _sessions = 0
        _owner_pid = None
        _unpatch()


os.register_at_fork(after_in_child=_forked_child)

# --- Python < 3.12: the program's own sys.setprofile / sys.settrace keep working beside ---
# --- ferret's hook when ferret holds that slot: ferret calls them from its own hook     ---
_real = {}
_PATCHES = {"profile": ((sys, "setprofile", "_setprofile"), (sys, "getprofile", "_getprofile"),
                        (threading, "setprofile", "_thread_setprofile")),
            "trace": ((sys, "settrace", "_settrace"), (sys, "gettrace", "_gettrace"),
                      (threading, "settrace", "_thread_settrace"))}


def _router(real, routed):
    """A stand-in for sys.setprofile and co.: ferret's `routed` while this process traces,
    else the `real` function."""
    def patched(*args):
        if _sessions and _owner_pid == os.getpid():
            return routed(*args)
        return real(*args)
    patched.__name__ = patched.__qualname__ = real.__name__
    patched.__doc__ = real.__doc__
    return patched


def _patch(kind):
    if _ferret.monitoring:
        return
    for module, name, routed in _PATCHES[kind]:
        if (module, name) not in _real:
            _real[(module, name)] = getattr(module, name)
            setattr(module, name, _router(_real[(module, name)], getattr(_ferret, routed)))


def _unpatch():
    for (module, name), real in list(_real.items()):
        setattr(module, name, real)
    _real.clear()


def _enter(opts, seed=True, rewrite=False):
    """Joins or starts the process's tracer; returns True if this call started it.

    rewrite: on 3.11, take line events from probes in copies of the code rather than
    the trace function (only before the program runs: frames already running keep
    their code)."""
    global _sessions, _owner_pid, _saved_profile
    with _lock:
        _ferret.check()
        if _sessions:
            running = _ferret.running()
            for key in ("lines", "builtins", "timeline"):
                if opts[key] and running and not running[key]:
                    # not an error: the program may be run by `ferret trace` without it
                    warnings.warn("ferret: %s ignored: a trace without it is already running "
                                  "(nested traces share the outermost one's options)" % key,
                                  RuntimeWarning, stacklevel=4)
            _sessions += 1
            return False
        # Before 3.12, --builtins needs each thread's one profile slot: a Python-level
        # profile function already there is run by ferret from its own hook instead
        needs_slot = _ferret._needs_profile_slot(opts["lines"], opts["builtins"])
        _saved_profile = sys.getprofile() if needs_slot else None
        if _saved_profile is not None:
            sys.setprofile(None)
        try:
            _ferret.start(lines=opts["lines"], builtins=opts["builtins"], cpu=opts["cpu"],
                          timeline=opts["timeline"], include=opts["include"], seed=seed,
                          ignore_dir=_PKG_DIR, main_ident=threading.main_thread().ident,
                          rewrite=rewrite)
        except BaseException:
            if _saved_profile is not None:
                sys.setprofile(_saved_profile)
            raise
        if needs_slot:
            _patch("profile")
        if _ferret._uses_trace_slot():
            _patch("trace")
        if _saved_profile is not None:
            _ferret._setprofile(_saved_profile)
        _sessions = 1
        _owner_pid = os.getpid()
        return True


def _leave():
    """Ends one session; stops the tracer when it was the last. Returns True then."""
    global _sessions, _owner_pid
    with _lock:
        if not _sessions or _owner_pid != os.getpid():
            return None
        _sessions -= 1
        if _sessions:
            return False
        chained = _ferret._getprofile() if (sys, "setprofile") in _real else None
        chained_trace = _ferret._gettrace() if (sys, "settrace") in _real else None
        _ferret.stop()
        _unpatch()
        if chained is not None:
            sys.setprofile(chained)
        if chained_trace is not None:
            sys.settrace(chained_trace)
        return True


def _options(lines, include, builtins, timeline, cpu):
    if isinstance(include, str):
        include = [include]
    include = list(include or ())
    for p in include:
        if not isinstance(p, str) or not p:
            raise TypeError("ferret: include patterns must be non-empty strings")
    if include and not lines:
        lines = True
    if timeline is True:
        timeline = _TIMELINE_DEFAULT
    timeline = int(timeline or 0)
    if timeline < 0:
        raise ValueError("ferret: timeline size must be positive")
    return {"lines": bool(lines), "include": include, "builtins": bool(builtins),
            "timeline": timeline, "cpu": bool(cpu)}


class Trace(_results.Results):
    """Exact call counts and times of everything that runs while it is active.

    As a context manager::

        with ferret.trace() as t:
            work()
        t.print()                         # text report on stderr
        t.save("work.prof")               # pstats for snakeviz/gprof2dot; .ferret, .html...

    As a decorator (results accumulate over calls and are printed, or saved to `path`,
    when the program exits)::

        @ferret.trace(lines=True)
        def work(): ...

    Options: path (saved at the end of each block, or at exit for a decorator), lines
    (per-line hits and time), include (patterns choosing the files/functions that get line
    data; implies lines), builtins (C functions as entries), timeline (keep up to N spans
    for a Chrome trace; True = 1,000,000; a .json path turns it on), cpu (CPU time per
    function), print (text report to stderr at the end), sort and top (for the printed
    report).

    Every thread is traced while a trace is active, each one separately.
    """

    _attr = "trace"

    def __init__(self, path=None, *, lines=False, include=None, builtins=False,
                 timeline=0, cpu=True, print=None, sort="self", top=20):
        self._opts = _options(lines, include, builtins, timeline, cpu)
        self.path = _results.output_path(path)
        # a .json path is a Chrome trace, which needs the spans (as `ferret trace -o x.json`)
        if self.path and not self._opts["timeline"] and \
                _results.format_for_path(self.path) == "chrome":
            self._opts["timeline"] = _TIMELINE_DEFAULT
        self._print = print
        self.sort = sort
        self.top = top
        self._rec = None
        self._active = 0
        self._ran = False
        self._is_decorator = False

    # -- sessions --
    def start(self):
        """Starts tracing (what `with` does); pair with stop()."""
        with _lock:
            self._active += 1
            if self._active > 1:
                return self
            try:
                _enter(self._opts)
            except BaseException:
                self._active -= 1
                raise
            if self._rec is None:
                self._rec = _ferret.Recording(command=_command_line(),
                                              python_version=_python_version())
            self._rec.begin()
        return self

    def stop(self):
        """Stops tracing; the results are then available."""
        with _lock:
            if self._active == 0:
                return self
            self._active -= 1
            if self._active:
                return self
            last = _leave()
            try:
                if last is not None:
                    self._rec.take()
                    if self._opts["timeline"]:
                        self._rec.spans()
            finally:
                if last:
                    _ferret.release()
            self._ran = True
        _ferret.check()
        if not self._is_decorator:
            self._finish()
        return self


def trace(func=None, /, *args, **kwargs):
    """ferret.trace(path=None, *, lines=False, include=None, builtins=False, timeline=0,
    cpu=True, print=None, sort="self", top=20) -> Trace

    Use as ``with ferret.trace() as t:``, as ``@ferret.trace`` or ``@ferret.trace(...)``.
    See Trace for the options and the results."""
    return _results.factory(Trace, func, args, kwargs)
