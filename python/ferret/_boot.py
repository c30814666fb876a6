# SPDX-License-Identifier: MIT
"""Boot entries run by ferret's injection shim (inject/sitecustomize.py; docs/INJECTION.md).

trace_main: `ferret trace`: traces the whole program from interpreter start-up and streams
the result to $FERRET_TRACE_OUT (a .ferret file, flushed every second), reporting progress
and failures in $FERRET_STATUS for the ferret command. Only the first Python process of the
command is traced: it claims the status file; child interpreters find it taken and run
untraced.
"""
import atexit
import os
import sys


def _status(fd, line):
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def trace_main():
    status_path = os.environ.get("FERRET_STATUS")
    out_path = os.environ.get("FERRET_TRACE_OUT")
    if not status_path or not out_path:
        return
    try:
        fd = os.open(status_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # another process of this command is the traced one
    try:
        from . import _trace
        env = os.environ
        include = [p for p in env.get("FERRET_TRACE_INCLUDE", "").split("\x1f") if p]
        opts = _trace._options(lines=env.get("FERRET_TRACE_LINES") == "1", include=include,
                               builtins=env.get("FERRET_TRACE_BUILTINS") == "1",
                               timeline=int(env.get("FERRET_TRACE_TIMELINE", "0")),
                               cpu=env.get("FERRET_TRACE_CPU", "1") == "1")
        _trace._enter(opts, seed=False, rewrite=True)
        rec = _trace._ferret.Recording(command=_trace._command_line(),
                                       python_version=_trace._python_version())
        rec.begin()
        rec.stream(out_path)
    except BaseException as e:  # noqa: B902 - the command must not run untraced silently
        _status(fd, "error %s" % (str(e) or type(e).__name__))
        os.close(fd)
        os._exit(1)
    _status(fd, "started %d %s %s" % (os.getpid(), _trace._python_version(),
                                      _trace._ferret.running()["hook"]))

    me = os.getpid()

    def finish():
        if os.getpid() != me:
            return  # a forked child: the trace and the status file are the parent's
        last = None
        try:
            last = _trace._leave()
            if last is not None:
                rec.close_stream()
            _trace._ferret.check()
            _status(fd, "done")
        except BaseException as e:  # noqa: B902 - reported by the ferret command
            _status(fd, "error %s" % (str(e) or type(e).__name__))
        finally:
            if last:
                _trace._ferret.release()
            os.close(fd)

    atexit.register(finish)
