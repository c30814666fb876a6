"""bench_api.py: ferret.bench() on two functions whose costs are 1:3 (the same loop run 1000
and 3000 times). Prints one JSON line: medians, the comparison, and the one-line summary."""
import json

import ferret


def work(n):
    s = 0
    for i in range(n):
        s += i
    return s


small = ferret.bench(work, 1000, repeat=15, sample_time=0.005)
big = ferret.bench(work, 3000, repeat=15, sample_time=0.005, name="work(3000)")
c = big.compare(small)
print(json.dumps({"small": small.median, "big": big.median, "n": len(big.samples),
                  "number": big.number, "ratio": c.ratio, "lo": c.lo, "hi": c.hi, "p": c.p,
                  "significant": c.significant, "text": str(big)}))
