#!/usr/bin/python3
"""Reference p-values for tests/unit/test_reports.c (ferret diff, report/diff.c).

Two profiles: base has 400 samples, new 500; functions A, B and C appear in the counts below
and `main` in every sample. Each function's change of share is tested with scipy's chi-square
test of the 2x2 table without continuity correction, which is the two-sided two-proportion
z-test with pooled variance; the p-values are then Holm-adjusted over the four functions
(main cannot change: p = 1). The profiles are below ferret's batch-means threshold (32 blocks
of 20 samples), so ferret's design effect is 1 and its p-values must equal these.
Run: /usr/bin/python3 tests/data/diff_reference.py
"""
from scipy.stats import chi2_contingency

N1, N2 = 400, 500
COUNTS = {"A": (120, 210), "B": (80, 70), "C": (40, 52)}

raw = {"main": 1.0}
for name, (x1, x2) in COUNTS.items():
    raw[name] = chi2_contingency([[x1, N1 - x1], [x2, N2 - x2]], correction=False)[1]

# Holm's step-down adjustment: sort ascending, multiply by (m - rank), running maximum, cap 1
m = len(raw)
adj, run = {}, 0.0
for rank, (name, p) in enumerate(sorted(raw.items(), key=lambda kv: kv[1])):
    run = max(run, min(1.0, (m - rank) * p))
    adj[name] = run
for name in ("A", "B", "C"):
    print(f"{name} p={raw[name]:.12g} holm={adj[name]:.12g}")
