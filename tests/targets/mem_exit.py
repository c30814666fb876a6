"""Ends in one of several ways after keeping 24 MiB alive (KEEP line): `_exit` calls
os._exit(7), `crash` flushes for a moment and then kills itself with SIGSEGV, `exit3` raises
SystemExit(3), `subprocess` checks the tracker is not passed on to a child, `exec` replaces
itself with a Python that allocates 64 MiB and exits 5, `execvp` does the same through a PATH
whose first directories do not have it (failed execs first), `execfail` tries to exec a
missing program, then keeps 8 MiB more (AFTER line) and exits 4."""
import os
import signal
import subprocess
import sys
import time

MiB = 1 << 20
KEEP = [bytearray(MiB) for _ in range(24)]  # LINE:KEEP
how = sys.argv[1]
if how == "_exit":
    os._exit(7)
elif how == "crash":
    time.sleep(1.2)  # at least two flushes of the stream
    os.kill(os.getpid(), signal.SIGSEGV)
elif how == "exit3":
    sys.exit(3)
elif how == "subprocess":
    out = subprocess.run([sys.executable, "-c",
                          "import os; print(os.environ.get('LD_PRELOAD'), "
                          "os.environ.get('FERRET_MEM_OUT'))"],
                         capture_output=True, text=True).stdout.strip()
    print("child-env", out)
elif how in ("exec", "execvp"):
    argv = [sys.executable, "-c", "import sys; b = bytearray(64 << 20); sys.exit(5)"]
    if how == "exec":
        os.execv(sys.executable, argv)
    os.environ["PATH"] = "/nonexistent-1:/nonexistent-2:" + os.path.dirname(sys.executable)
    os.execvp(os.path.basename(sys.executable), argv)
elif how == "execfail":
    try:
        os.execv("/nonexistent/program", ["program"])
    except OSError:
        pass
    AFTER = [bytearray(MiB) for _ in range(8)]  # LINE:AFTER
    sys.exit(4)
