"""A thread runs a subinterpreter that spins 1 s in sub_spin(), while the main thread spins
1 s in main_spin() and then waits for it. The thread has a Python state in each
interpreter, and its stack is the two joined: the caller's frames, then the
subinterpreter's."""
import threading
import time

try:
    import _interpreters as interpreters  # 3.13
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.9-3.12

CODE = """
import time
def sub_spin():
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass
sub_spin()
"""


def in_subinterpreter():
    interp = interpreters.create()
    interpreters.run_string(interp, CODE)
    interpreters.destroy(interp)


def main_spin():
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass


worker = threading.Thread(target=in_subinterpreter, name="subinterp")
worker.start()
main_spin()
worker.join()
