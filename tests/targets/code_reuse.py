"""Code compiled from strings in a loop, as templating and eval-heavy programs do: each round
compiles a new version whose spin() call sits one line lower, runs it for SECONDS (argv[1],
default 0.1) and frees it, so the next version's code object (and often its name, file and
line table) gets the freed one's address. Four ways (module-level code or a function in it,
compiled at the top level or inside a function), each under its own file name '<WAY>'. Prints
one line per round: 'ROUND <WAY> <line of the spinning frame>'."""
import gc
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
ROUNDS = 8


def spin(t):
    end = time.perf_counter() + t
    while time.perf_counter() < end: pass


def source(kind, i):
    """The spinning call is at line i + 1 (module) or i + 3 (function f)."""
    if kind == "module":
        return "\n" * i + f"spin({SECONDS})\n"
    return "def f():\n    x = 1\n" + "\n" * i + f"    spin({SECONDS})\nf()\n"


def in_function(kind, i, name):
    code = compile(source(kind, i), name, "exec")
    exec(code, {"spin": spin})


for kind in ("module", "function"):
    for where in ("top", "fn"):
        name = f"<{kind}-{where}>"
        for i in range(ROUNDS):
            if where == "top":
                code = compile(source(kind, i), name, "exec")
                exec(code, {"spin": spin})
                del code
                gc.collect()
            else:
                in_function(kind, i, name)
            print("ROUND", name, i + (1 if kind == "module" else 3), flush=True)
