"""Non-ASCII function and file names (and a class with one) must come out intact."""
import time


def calcül_δ():
    end = time.perf_counter() + 0.6
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


class Ñame:
    def método(self):
        return calcül_δ()


Ñame().método()
