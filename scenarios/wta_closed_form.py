"""Closed-form selection accuracy of the wta-routing scenario's count-based winner-take-all.

Each of ``k`` cue streams fires Bernoulli spikes for ``window`` steps, the intended stream
with probability ``p_high`` and the others with ``p_low``.  The counts are binomial, and
the intended stream wins alone when its count ``a`` exceeds every other stream's:

    P(correct) = sum_a Binom(a; window, p_high) * Binom_cdf(a - 1; window, p_low) ** (k - 1)

(ties select several streams and count as errors, which is why accuracy at contrast 1 is
below chance ``1 / k``).
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def closed_form_accuracy(window: int, p_high: float, p_low: float, k: int) -> float:
    """P(the intended cue's window count is the unique maximum) for Bernoulli cue spikes."""
    a = np.arange(window + 1)
    return float((stats.binom.pmf(a, window, p_high) * stats.binom.cdf(a - 1, window, p_low) ** (k - 1)).sum())
