"""Code shapes whose stacks ferret must read exactly as Python does: comprehensions (inlined
from 3.12), lambdas, closures, methods, class bodies, decorators, generators, coroutines,
exception handlers, with blocks, C-called callbacks, threads, code from strings, replaced
__code__, very long functions. `frame_shapes.py NAME...` runs each shape in turn (`all`: every
one, `module` being the module level); each calls block(), which prints Python's own view of
its stack (innermost first: [qualified name as ferret names it, file, line]) as one JSON line,
then waits for a byte on standard input there (or, with SPIN=SECONDS, computes for that long
on one line)."""
import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import sys
import threading
import time

SPIN = float(os.environ.get("SPIN", "0"))


def pyname(code):
    """The name ferret gives a frame: the qualified name where the code object has one."""
    return code.co_qualname if sys.version_info >= (3, 11) else code.co_name


def block():
    f = sys._getframe()
    stack = []
    while f is not None:
        stack.append([pyname(f.f_code), f.f_code.co_filename, f.f_lineno])
        f = f.f_back
    if SPIN:
        stack[0][2] = sys._getframe().f_lineno + 4  # the line of the loop below
        sys.stdout.write(json.dumps(stack) + "\n")
        sys.stdout.flush()
        end = time.perf_counter() + SPIN
        while time.perf_counter() < end: pass
        return 1
    stack[0][2] = sys._getframe().f_lineno + 3  # the line of the read below
    sys.stdout.write(json.dumps(stack) + "\n")
    sys.stdout.flush()
    os.read(0, 1)
    return 1


def s_plain():
    block()


def s_listcomp():
    return [block() for _ in range(1)]


def s_dictcomp():
    return {k: block() for k in range(1)}


def s_setcomp():
    return {block() for _ in range(1)}


def s_genexpr():
    return sum(block() for _ in range(1))


def s_nested_listcomp():
    return [[block() for _ in range(1)] for _ in range(1)]


def s_listcomp_lambda():
    return [(lambda: block())() for _ in range(1)]


def s_lambda():
    g = lambda: block()
    return g()


def s_closure():
    x = 1

    def inner():
        def innermost():
            return block() + x
        return innermost()
    return inner()


class K:
    def meth(self):
        return block()

    @classmethod
    def cm(cls):
        return block()

    @staticmethod
    def sm():
        return block()

    @property
    def prop(self):
        return block()

    def __init__(self, go=False):
        if go:
            block()

    def __repr__(self):
        return str(block())

    class Inner:
        def meth(self):
            return block()


def s_method():
    K().meth()


def s_classmethod():
    K.cm()


def s_staticmethod():
    K.sm()


def s_property():
    K().prop


def s_init():
    K(True)


class K2:
    def __init__(self, go):
        if go:
            block()


def s_init_specialised():
    # warm, so 3.13 specialises the call (CALL_ALLOC_AND_ENTER_INIT): __init__ then runs
    # above a shim frame of its own, which Python leaves out of every stack
    for _ in range(1000):
        K2(False)
    for go in (False, True):
        K2(go)


def s_repr():
    repr(K())


def s_inner_class():
    K.Inner().meth()


def s_class_body():
    class Body:
        block()


def deco(fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        return fn(*a, **kw)
    return wrapper


@deco
def decorated():
    return block()


def s_decorator():
    decorated()


def gen():
    yield 1
    yield block()


def delegate():
    yield from gen()


def s_generator():
    for _ in delegate():
        pass


async def leaf_coro():
    await asyncio.sleep(0)
    return block()


async def mid_coro():
    return await leaf_coro()


def s_async():
    asyncio.run(mid_coro())


def s_async_task():
    async def main():
        t = asyncio.ensure_future(mid_coro())
        return await t
    asyncio.run(main())


def s_except():
    try:
        raise ValueError
    except ValueError:
        block()


def s_finally():
    try:
        pass
    finally:
        block()


def s_finally_exc():
    try:
        try:
            raise ValueError
        finally:
            block()
    except ValueError:
        pass


@contextlib.contextmanager
def cm():
    yield
    block()


class Exit:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        block()


def s_with():
    with open(__file__):
        block()


def s_with_exit():
    with Exit():
        pass


def s_with_exit_exc():
    try:
        with Exit():
            raise ValueError
    except ValueError:
        pass


def s_contextmanager():
    with cm():
        pass


def s_sorted():
    sorted([1, 2], key=lambda v: block() if v == 2 else 0)


def s_map():
    list(map(lambda v: block(), [1]))


def s_thread():
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        ex.submit(s_plain).result()


def s_thread_plain():
    t = threading.Thread(target=s_plain)
    t.start()
    t.join()


def s_exec():
    exec("def g():\n    x = 1\n    block()\ng()\n", {"block": block})


def s_exec_module():
    exec(compile("\n\nblock()\n", "<string>", "exec"), {"block": block})


def s_exec_file():
    exec(compile("\n\n\nblock()\n", "made-up.py", "exec"), {"block": block})


def s_hotswap():
    def old():
        return 0

    def new():
        return block()
    old.__code__ = new.__code__
    old()


def swapped(n):
    if n:
        swapped.__code__ = swapped_in.__code__
        return swapped(0)
    return 0


def swapped_in(n):
    return block()


def s_hotswap_mid():
    swapped(1)


def long_source(gap, stmts):
    """A function with `gap` blank lines before each of its statements (line deltas beyond
    what one line-table entry holds) and `stmts` statements in a loop (jumps across them
    need EXTENDED_ARG)."""
    lines = ["def longf(flag):", "    for _ in range(1):"]
    for i in range(stmts):
        lines += [""] * gap
        lines.append(f"        v{i % 50} = flag + {i}")
    lines += [""] * gap
    lines.append("        if flag:")
    lines += [""] * gap
    lines.append("            block()")
    return "\n".join(lines) + "\n"


def run_long(gap, stmts, first=1):
    ns = {"block": block}
    exec(compile("\n" * (first - 1) + long_source(gap, stmts), "<long>", "exec"), ns)
    ns["longf"](1)


def s_long_gap():
    run_long(300, 3)


def s_long_gap_neg():
    # a statement that comes back up (negative line delta across a big gap)
    src = "def f():\n    block(\n" + "\n" * 400 + ")\n"
    ns = {"block": block}
    exec(compile(src, "<neg>", "exec"), ns)
    ns["f"]()


def s_long_body():
    run_long(0, 20000)


def s_long_lines():
    run_long(1, 40000)


def s_far_first_line():
    run_long(2, 3, first=70000)


def s_huge_line():
    run_long(0, 2, first=2**24 + 5)


if __name__ == "__main__":
    names = sys.argv[1:]
    if names == ["all"]:
        names = ["module"] + [n[2:] for n in list(globals()) if n.startswith("s_")]
    for name in names:
        if name == "module":
            block()
        else:
            globals()["s_" + name]()
    sys.stdout.write("done\n")
