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

# Correlated samples (the second case of test_diff_reference): 32 blocks of 200 samples whose
# share of A is 0 or 1; base has A in 16 blocks, new in 18. Batch-means Welch t-test.
from statistics import variance
from scipy.stats import t as student_t

base_blocks = [1.0 if b % 2 else 0.0 for b in range(32)]
new_blocks = [1.0 if (b % 2 or b % 16 == 0) else 0.0 for b in range(32)]
v0, v1 = variance(base_blocks) / 32, variance(new_blocks) / 32
tstat = (sum(new_blocks) - sum(base_blocks)) / 32 / (v0 + v1) ** 0.5
df = (v0 + v1) ** 2 / (v0 ** 2 / 31 + v1 ** 2 / 31)
print(f"correlated t={tstat:.12g} df={df:.12g} p={2 * student_t.sf(abs(tstat), df):.12g}")
