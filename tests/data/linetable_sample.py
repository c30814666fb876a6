# Source compiled (never run) by gen_linetables.py: shapes that stress line tables.
import os


def simple(a, b):
    c = a + b
    return c * 2


def long_body(n):
    total = 0
    for i in range(n):
        total += i * i
        total -= i // 3
        total ^= i << 2
        if total > 1000:
            total = total % 997
        elif total < -1000:
            total = -total
        else:
            total += 1
        x = [j for j in range(i)]
        y = {k: k * 2 for k in x}
        z = sum(y.values()) + len(x) + total
        total += z % 7
        total += z % 11
        total += z % 13
        total += z % 17
        total += z % 19
        total += z % 23
        total += z % 29
        total += z % 31
    return total


def multi_line(
    a,
    b,
):
    value = (
        a
        + b
        + simple(
            a,
            b,
        )
    )
    return [
        value,
        a,
        b,
    ]


def with_try(path):
    try:
        with open(path) as f:
            data = f.read()
    except OSError as exc:
        data = str(exc)
    except (ValueError, TypeError):
        data = None
    finally:
        os.getpid()
    return data


def gen(n):
    for i in range(n):
        yield i
        yield from range(i)


async def coro(x):
    await x
    return x


class K:
    attr = 1

    def method(self):
        return self.attr

    @property
    def prop(self):
        return lambda q: q + self.attr


def far_jump():
    a = 1
















































































































































    b = 2























































































































































































































    return a + b


def backwards(x):
    while x > 0:
        x -= 1
        if x == 5:
            continue
    return (x +
            1)
