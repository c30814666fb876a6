"""A known peak and a known leak for `ferret mem`'s end-to-end tests.

peak(): 48 blocks of 1 MiB at the PEAK_BIG line and 100,000 small strings at the
PEAK_SMALL line, all alive together, freed on return. leak(): 24 blocks of 1 MiB kept in
the module-level LEAK list (LEAK line). churn(): lots of small objects made and dropped
(CHURN line). The truth (sys.getsizeof sums, what the program asked for) goes to the JSON
file named by the first argument.
"""
import json
import sys

MiB = 1 << 20
LEAK = []


def peak():
    big = [bytes(MiB) for _ in range(48)]  # LINE:PEAK_BIG
    small = [str(i) * 6 for i in range(100_000)]  # LINE:PEAK_SMALL
    return (sum(sys.getsizeof(b) for b in big),
            sys.getsizeof(small) + sum(sys.getsizeof(s) for s in small))


def leak():
    for i in range(24):
        LEAK.append(bytes([i]) * MiB)  # LINE:LEAK


def churn():
    total = 0
    for r in range(40):
        items = [{"k": i, "v": (i, r)} for i in range(5000)]  # LINE:CHURN
        total += len(items)
    return total


big, small = peak()
leak()
churn()
truth = {"peak_big": big, "peak_small": small, "leak": sum(sys.getsizeof(b) for b in LEAK)}
with open(sys.argv[1], "w") as f:
    json.dump(truth, f)
