"""The common outcome layout every scenario returns (``result.json["outcome"]``).

::

    {"passed": bool,                       # every check that ran passed
     "checks": {name: {"passed": bool, "description": str,
                       "value": number|null, "threshold": number|null, "op": ">=", ...}},
     "checks_not_run": {name: why},        # also listed under result.json["reduced"]
     "metrics": {name: {"value": number|null, "unit": str, "description": str}},
     "per_sample": {name: [number, ...]},  # one value per sample, for spread across samples
     "details": {...}}                     # scenario-specific JSON (tables, sub-results)
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _num(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    v = float(v)
    return v if math.isfinite(v) else None


class Outcome:
    """Builder of the common layout: :meth:`metric`, :meth:`check`, :meth:`per_sample`."""

    def __init__(self):
        self.checks, self.metrics, self.samples, self.details, self.not_run = {}, {}, {}, {}, {}

    def metric(self, name: str, value, unit: str, description: str = "") -> None:
        self.metrics[name] = {"value": _num(value), "unit": unit, "description": description}

    def check(self, name: str, passed, description: str, value=None, threshold=None, op: str | None = None,
              **extra) -> None:
        d = {"passed": bool(passed), "description": description}
        if value is not None or threshold is not None:
            d.update({"value": _num(value), "threshold": _num(threshold), "op": op})
        d.update(extra)
        self.checks[name] = d

    def skip(self, name: str, why: str) -> None:
        self.not_run[name] = why

    def per_sample(self, name: str, values) -> None:
        self.samples[name] = [_num(v) for v in np.asarray(values, float).ravel()]

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.checks.values())

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": self.checks, "checks_not_run": self.not_run,
                "metrics": self.metrics, "per_sample": self.samples, "details": self.details}


def binomial_check(successes: int, n: int, p0: float, alpha: float = 0.01) -> dict:
    """One-sided exact binomial test of H0 "the true rate is >= p0" from ``successes`` of ``n``.

    The check fails only when ``P(X <= successes | n, p0) < alpha``, i.e. when so few
    successes would happen less than ``alpha`` of the time if the rate really were ``p0``.
    ``min_successes`` is the smallest count that passes (``binom.ppf``-based), so on 8 cues
    with p0 = 0.9 and alpha = 0.01, 6 of 8 passes and 5 fails; on 128 cues 107 passes.
    Also returns the Clopper-Pearson 95 % interval of the rate."""
    successes, n = int(successes), int(n)
    p_value = float(stats.binom.cdf(successes, n, p0)) if n else 1.0
    k = 0
    while k <= n and stats.binom.cdf(k, n, p0) < alpha:
        k += 1
    ci = stats.binomtest(successes, n).proportion_ci(0.95) if n else None
    return {"passed": p_value >= alpha, "successes": successes, "n": n, "p0": p0, "alpha": alpha,
            "p_value": p_value, "min_successes": k,
            "ci95": [float(ci.low), float(ci.high)] if ci is not None else None}
