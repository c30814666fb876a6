# SPDX-License-Identifier: MIT
"""ferret.profile(): the sampler of `ferret run`, on the program's own process.

A native thread of the _ferret extension reads this process's interpreter from the outside
(process_vm_readv on itself, no GIL, no hooks), so the code being profiled runs at full
speed; the result has the same stacks and reports as `ferret run`. Blocks may nest and run
in several threads: each one has its own sampler.
"""
import threading

from . import _loader, _results
from ._trace import _command_line

_ferret = _loader.load()


class Profile(_results.Results):
    """Samples every thread's stack at `rate` per second while active.

    As a context manager::

        with ferret.profile() as p:
            work()
        p.print()                         # the text report of `ferret run`, on stderr
        p.save("work.html")               # or .ferret, .svg, .json (Chrome), .prof (pstats)

    As a decorator (samples of every call accumulate; printed, or saved to `path`, when
    the program exits)::

        @ferret.profile
        def work(): ...

    Options: path, rate (samples per second, default 1000), mode ("wall": every sample;
    "cpu": reports default to on-CPU samples), gil (reports default to the GIL holder),
    threads (stacks start with a frame naming their thread), print, sort, top.
    """

    _attr = "profile"

    def __init__(self, path=None, *, rate=1000.0, mode="wall", gil=False, threads=False,
                 print=None, sort="self", top=20):
        self.path = _results.output_path(path)
        self._opts = {"rate": float(rate), "mode": mode, "gil": bool(gil),
                      "threads": bool(threads)}
        if mode not in ("wall", "cpu"):
            raise ValueError("ferret: mode must be 'wall' or 'cpu', not %r" % (mode,))
        self._print = print
        self.sort = sort
        self.top = top
        self._rec = None
        self._ran = False
        self._lock = threading.Lock()
        self._active = 0
        self._sampler = None
        self._is_decorator = False

    def start(self):
        """Starts sampling (what `with` does); pair with stop()."""
        with self._lock:
            self._active += 1
            if self._active > 1:
                return self
            try:
                s = _ferret.Sampling(command=_command_line(), **self._opts)
                s.start()
            except BaseException:
                self._active -= 1
                raise
            self._sampler = s
        return self

    def stop(self):
        """Stops sampling; the results are then available."""
        with self._lock:
            if self._active == 0:
                return self
            self._active -= 1
            if self._active:
                return self
            s, self._sampler = self._sampler, None
            rec = s.stop()
            if self._rec is None:
                self._rec = rec
            else:
                self._rec.merge(rec)
            self._ran = True
        if not self._is_decorator:
            self._finish()
        return self


def profile(func=None, /, *args, **kwargs):
    """ferret.profile(path=None, *, rate=1000.0, mode="wall", gil=False, threads=False,
    print=None, sort="self", top=20) -> Profile

    Use as ``with ferret.profile() as p:``, as ``@ferret.profile`` or
    ``@ferret.profile(...)``. See Profile for the options and the results."""
    return _results.factory(Profile, func, args, kwargs)
