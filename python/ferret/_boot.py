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


class _Status:
    """The status file, written at a high descriptor that is checked before each use: a
    program that closes descriptors it does not own (os.closerange(3, ...), daemons) may
    have closed it and opened its own file under the same number, which ferret must never
    write into or close. It opens the status file again by path instead."""

    def __init__(self, path):
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self.fd = self._high(fd)
        st = os.fstat(self.fd)
        self.id = (st.st_dev, st.st_ino)

    @staticmethod
    def _high(fd):
        try:
            import fcntl
            hi = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 600)
        except (ImportError, OSError):
            return fd
        os.close(fd)
        return hi

    def _mine(self):
        try:
            st = os.fstat(self.fd)
            return (st.st_dev, st.st_ino) == self.id
        except OSError:
            return False

    def write(self, line):
        try:
            if not self._mine():
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
                self.fd = self._high(fd)
                if not self._mine():
                    os.close(self.fd)
                    self.fd = -1
                    return
            os.write(self.fd, (line.rstrip("\n") + "\n").encode("utf-8", "replace"))
        except OSError:
            pass

    def close(self):
        if self._mine():
            os.close(self.fd)
        self.fd = -1


def trace_main():
    status_path = os.environ.get("FERRET_STATUS")
    out_path = os.environ.get("FERRET_TRACE_OUT")
    if not status_path or not out_path:
        return
    try:
        status = _Status(status_path)
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
        status.write("error %s" % (str(e) or type(e).__name__))
        status.close()
        os._exit(1)
    started = "started %d %s %s" % (os.getpid(), _trace._python_version(),
                                    _trace._ferret.running()["hook"])
    status.write(started)

    me = os.getpid()

    def sealed_exec(real):
        """os.execv/os.execve (every os.exec* function ends in one of them), finishing the
        trace file first: an exec ends the process without atexit, and whatever was
        recorded since the last once-a-second flush would be lost. If the exec fails, the
        trace goes on."""
        def run(path, *args):
            sealed = False
            if os.getpid() == me and _trace._ferret.running() is not None:
                try:
                    what = path if isinstance(path, int) else os.fsdecode(path)
                    rec.note("exec", "os.%s %s" % (real.__name__, what))
                    rec.seal()
                    status.write("done")
                    sealed = True
                except Exception:  # noqa: B902 - the trace goes on; a failure shows at the end
                    pass
            try:
                return real(path, *args)
            except BaseException:
                if sealed:
                    rec.note("exec", "")
                    status.write(started)
                raise
        run.__name__, run.__qualname__, run.__doc__ = real.__name__, real.__name__, real.__doc__
        return run

    os.execv = sealed_exec(os.execv)
    os.execve = sealed_exec(os.execve)

    def finish():
        if os.getpid() != me:
            return  # a forked child: the trace and the status file are the parent's
        last = None
        try:
            last = _trace._leave()
            failure = None
            try:
                _trace._ferret.check()  # what a hook recorded is the cause of what follows
            except BaseException as e:  # noqa: B902 - reported below, after the close
                failure = e
            if last is not None:
                try:
                    rec.close_stream()
                except BaseException as e:  # noqa: B902
                    failure = failure or e
            if failure is not None:
                raise failure
            status.write("done")
        except BaseException as e:  # noqa: B902 - reported by the ferret command
            status.write("error %s" % (str(e) or type(e).__name__))
        finally:
            if last:
                _trace._ferret.release()
            status.close()

    atexit.register(finish)
