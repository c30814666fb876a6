"""trace_trampoline.py: a program that puts its own frame evaluator in place halfway, as a
JIT or a debugger would (here through ctypes, the interpreter's default evaluator). Prints
one JSON line: {"replaced": whether it could, "trampoline": what 3.12+'s
sys.activate_stack_trampoline said while ferret's evaluator was in place}."""
import ctypes
import json
import sys


def leaf():
    pass


out = {"trampoline": None}
if hasattr(sys, "activate_stack_trampoline"):
    try:
        sys.activate_stack_trampoline("perf")
        sys.deactivate_stack_trampoline()
        out["trampoline"] = "ok"
    except Exception as e:  # noqa: BLE001 - which error CPython raises is the finding
        out["trampoline"] = "%s: %s" % (type(e).__name__, e)
for _ in range(10):
    leaf()
api = ctypes.pythonapi
api.PyInterpreterState_Get.restype = ctypes.c_void_p
api._PyInterpreterState_SetEvalFrameFunc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
default = ctypes.cast(api._PyEval_EvalFrameDefault, ctypes.c_void_p)
api._PyInterpreterState_SetEvalFrameFunc(api.PyInterpreterState_Get(), default)
out["replaced"] = True
for _ in range(10):
    leaf()
print(json.dumps(out))
