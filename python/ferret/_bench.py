# SPDX-License-Identifier: MIT
"""ferret.bench(): a quick benchmark from code, with `ferret bench`'s statistics.

The callable runs in a tight C loop; the loop count per sample is calibrated so a sample
takes about `sample_time` seconds, then `repeat` samples are taken. Each sample is the time
per call; the summary (median, its 95% interval, MAD, outliers) and comparisons (the
Hodges-Lehmann ratio with its interval and the Mann-Whitney test) are those of
`ferret bench` and `ferret compare` (src/bench/stats.h)."""
import collections

from . import _loader

_ferret = _loader.load()

Comparison = collections.namedtuple("Comparison", "ratio lo hi p significant")
Comparison.__doc__ = """How much slower (ratio > 1) or faster (< 1) one benchmark is than another:
the Hodges-Lehmann ratio of their per-call times, its 95% interval, the two-sided
Mann-Whitney p-value, and whether that is significant at 5%."""


def _fmt(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return "%.3g %s" % (seconds / scale, unit)
    return "%.3g ns" % (seconds * 1e9)


class Bench:
    """The result of ferret.bench(): per-call times of every sample (seconds) and their
    summary. Attributes: name, samples, number (calls per sample), median, mean, stdev, mad,
    min, max, ci (the 95% interval of the median), outliers (low, high)."""

    def __init__(self, name, samples, number):
        self.name = name
        self.samples = list(samples)
        self.number = number
        s = _ferret.stats_summary(self.samples)
        self._summary = s
        for key in ("median", "mean", "stdev", "mad", "min", "max"):
            setattr(self, key, s[key])
        self.ci = (s["ci_lo"], s["ci_hi"])
        self.outliers = (s["outliers_low"], s["outliers_high"])

    def compare(self, baseline):
        """This benchmark relative to `baseline` (another Bench): a Comparison."""
        r = _ferret.stats_ratio(baseline.samples, self.samples)
        return Comparison(r["ratio"], r["lo"], r["hi"], r["p"], r["significant"])

    def __str__(self):
        lo, hi = self.ci
        out = sum(self.outliers)
        # too few samples for a 95% interval: the min-max range, named by its own coverage
        level = min(95, int(round(self._summary["ci_level"] * 100)))
        return ("%s: %s per call (median of %d samples of %d calls; %d%% CI %s to %s; "
                "MAD %s%s)" % (self.name, _fmt(self.median), len(self.samples), self.number,
                                level, _fmt(lo), _fmt(hi), _fmt(self.mad),
                                "; %d outlier%s" % (out, "" if out == 1 else "s") if out else ""))

    __repr__ = __str__


def bench(fn, *args, repeat=20, number=0, sample_time=0.02, warmup=1, name=None, **kwargs):
    """Times fn(*args, **kwargs) and returns a Bench (print it for a one-line summary).

    repeat: samples to take (at least 2); number: calls per sample (0 = calibrate so a
    sample takes about sample_time seconds); warmup: calls before timing. Compare two with
    ``new.compare(old)``::

        old = ferret.bench(sorted, data)
        new = ferret.bench(my_sort, data)
        print(new, new.compare(old))      # ratio < 1: new is faster
    """
    if not callable(fn):
        raise TypeError("ferret.bench() needs a callable")
    if repeat < 2:
        raise ValueError("ferret: repeat must be at least 2")
    if number < 0 or sample_time <= 0:
        raise ValueError("ferret: number must be >= 0 and sample_time > 0")
    for _ in range(warmup):
        fn(*args, **kwargs)
    if not number:
        number = 1
        while True:
            ns = _ferret.time_calls(fn, args, kwargs, number)
            if ns >= sample_time * 1e9 or number >= 1 << 40:
                break
            # aim past the target from what this round took, at most x10 per step
            number = min(number * 10, max(number * 2, int(number * sample_time * 1.2e9 /
                                                          max(ns, 1))))
    samples = [_ferret.time_calls(fn, args, kwargs, number) / number / 1e9
               for _ in range(repeat)]
    return Bench(name or getattr(fn, "__qualname__", repr(fn)), samples, number)
