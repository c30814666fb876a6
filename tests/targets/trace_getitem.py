"""trace_getitem.py: Python __getitem__ methods called from hot subscripts.

CPython 3.11.0-3.11.3 run a specialised subscript's __getitem__ inline without calling the
frame evaluator (gh-104405); ferret keeps those calls exact for classes made by a class
statement, and for a class made by type() it either counts them or says some may be
missing. Prints one JSON line of the true call counts.
"""
import json


class A:
    def __getitem__(self, i):
        return i


def hot(n):
    a, t = A(), 0
    for i in range(n):
        t += a[i]  # specialised after a few runs of the loop
    return t


def gi(self, i):
    return i + 1


B = type("B", (), {"__getitem__": gi})


def mixed(objs):
    t = 0
    for o in objs:
        t += o[1]  # specialised for A first, then meets B
    return t


hot(5000)
mixed([A()] * 100 + [B()] * 50)
print(json.dumps({"A.__getitem__": 5000 + 100, "gi": 50}))
