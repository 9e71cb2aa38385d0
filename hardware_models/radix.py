"""Counting in mixed-radix enumerations, vectorised over many ranges.

A product's gate neurons enumerate the terms of an einsum in C order over its letters, so a
slice of gates (a contiguous range of that enumeration) reads the distinct *projections*
of its digit tuples onto the letters of one operand.  :func:`distinct_in_ranges` counts
them for many ranges at once without listing a single term:

For digits ``x_0 .. x_{m-1}`` (``x_0`` most significant, radix ``r_q``), kept positions
``A``, the previous number with the same kept digits as ``t`` is ``t - gap_p``, where ``p``
is the least significant dropped position with ``x_p > 0`` (decrement it, set the dropped
digits after it to their maximum), ``gap_p = S_p - sum_{q > p, q not in A} (r_q - 1) S_q``
with strides ``S``; with no such ``p`` the kept tuple never occurred before.  A number of
``[u0, u1)`` is the first of its kept tuple in the range iff its predecessor is below
``u0``, so the distinct count is ``sum_p N_p([u0, min(u1, u0 + gap_p))) + N_none([u0, u1))``
where ``N`` counts the numbers of an interval whose digits lie in per-position intervals
(a digit-by-digit count, :func:`count_below`).
"""
from __future__ import annotations

import numpy as np


def count_below(y: np.ndarray, radices, lo, hi) -> np.ndarray:
    """For each ``y`` (``0 <= y <= prod(radices)``), how many ``t < y`` have every digit
    ``x_q`` in ``[lo[q], hi[q])``."""
    y = np.asarray(y, np.int64)
    m = len(radices)
    cnt = [max(0, min(hi[q], radices[q]) - max(lo[q], 0)) for q in range(m)]
    suffix = [1] * (m + 1)
    for q in range(m - 1, -1, -1):
        suffix[q] = suffix[q + 1] * cnt[q]
    total = int(np.prod(radices, dtype=object))
    out = np.zeros(y.shape, np.int64)
    full = y >= total
    rest = np.where(full, 0, y)
    ok = np.ones(y.shape, bool)
    stride = total
    for q in range(m):
        stride //= radices[q]
        d = rest // stride
        rest = rest - d * stride
        below = np.clip(np.minimum(d, hi[q]) - lo[q], 0, None)   # allowed digit values < d
        out += np.where(ok, below * suffix[q + 1], 0)
        ok &= (d >= lo[q]) & (d < hi[q])
    out = np.where(full, suffix[0], out)
    return out


def distinct_in_ranges(radices, keep, starts, stops) -> np.ndarray:
    """Distinct kept-digit tuples among the numbers of each ``[starts[i], stops[i])``
    (``keep[q]``: position q is kept; see the module docstring)."""
    radices = [int(r) for r in radices]
    keep = [bool(k) for k in keep]
    m = len(radices)
    u0, u1 = np.asarray(starts, np.int64), np.asarray(stops, np.int64)
    strides = [1] * m
    for q in range(m - 2, -1, -1):
        strides[q] = strides[q + 1] * radices[q + 1]
    dropped = [q for q in range(m) if not keep[q] and radices[q] > 1]
    lo0 = [0] * m
    hi0 = list(radices)

    def n_in(a, b, lo, hi):
        b = np.maximum(b, a)
        return count_below(b, radices, lo, hi) - count_below(a, radices, lo, hi)

    lo, hi = list(lo0), list(hi0)
    for q in dropped:
        lo[q], hi[q] = 0, 1
    total = n_in(u0, u1, lo, hi)                    # no dropped digit set: always a first occurrence
    for p in dropped:
        gap = strides[p] - sum((radices[q] - 1) * strides[q] for q in dropped if q > p)
        lo, hi = list(lo0), list(hi0)
        for q in dropped:
            if q > p:
                lo[q], hi[q] = 0, 1
        lo[p], hi[p] = 1, radices[p]
        total = total + n_in(u0, np.minimum(u1, u0 + gap), lo, hi)
    return total
