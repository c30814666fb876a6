"""Writes the reference line numbers for tests/unit/test_linetable.c.

Run it with each interpreter (make linetable-data does): it compiles linetable_sample.py,
and for every code object prints the raw line table and, for every instruction offset, the
line that the interpreter's own PyCode_Addr2Line returns (through ctypes), run-length
encoded. Output lines:

    code <minor> <kind> <firstlineno> <nbytes> <table hex> <name>
    lines <addrq>:<line> ...      (the line from addrq on, until the next pair)
"""
import ctypes
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "linetable_sample.py")).read()
top = compile(src, "linetable_sample.py", "exec")

addr2line = ctypes.pythonapi.PyCode_Addr2Line
addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
addr2line.restype = ctypes.c_int

minor = sys.version_info[1]
kind = 1 if minor == 9 else 2 if minor == 10 else 3


def walk(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            yield from walk(c)


for code in walk(top):
    table = code.co_lnotab if minor == 9 else code.co_linetable
    nbytes = len(code.co_code)
    print("code", minor, kind, code.co_firstlineno, nbytes, table.hex() or "-", code.co_name)
    pairs = []
    last = None
    for addrq in range(-2, nbytes, 2):
        line = addr2line(code, addrq)
        if line != last:
            pairs.append(f"{addrq}:{line}")
            last = line
    print("lines", " ".join(pairs))
