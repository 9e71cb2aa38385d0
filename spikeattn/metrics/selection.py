"""Selection accuracy: how well a spiking selection matches the known relevant tokens.

``SelectionAccuracy`` accumulates pairs ``(selected, relevant)`` of boolean masks
``(batch, n)`` — e.g. the winners of a k-WTA against the true top-k, or the pathway a
router opened against the cue's intended one — and computes, over all samples::

    exact      = mean_b [selected_b == relevant_b]                 (whole set right)
    precision  = sum |S ∩ R| / sum |S|      recall = sum |S ∩ R| / sum |R|
    jaccard    = mean_b |S_b ∩ R_b| / |S_b ∪ R_b|    (alignment; 1 if both empty)

``selection_mask(indices, n)`` turns per-sample index lists (or one index per sample)
into masks.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import AccumulatedMetric


def selection_mask(indices, n: int) -> np.ndarray:
    """``(batch,)`` int or ``(batch, k)`` ints -> ``(batch, n)`` bool."""
    idx = np.asarray(indices)
    if idx.ndim == 1:
        idx = idx[:, None]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InputError(f"selection_mask: indices must lie in [0, {n}), got [{idx.min()}, {idx.max()}].")
    m = np.zeros((idx.shape[0], n), bool)
    np.put_along_axis(m, idx.astype(np.int64), True, axis=1)
    return m


class SelectionAccuracy(AccumulatedMetric):
    """Exact-set accuracy, precision, recall and Jaccard alignment (module docstring)."""

    name = "selection_accuracy"
    unit = "fraction"

    def reset(self) -> None:
        self.samples = self.exact = self.hits = self.n_selected = self.n_relevant = 0
        self.jaccard_sum = 0.0

    def accumulate(self, selected, relevant) -> None:
        s, r = np.asarray(selected, bool), np.asarray(relevant, bool)
        if s.ndim == 1:
            s, r = s[None], r[None] if r.ndim == 1 else r
        if s.shape != r.shape or s.ndim != 2:
            raise InputError(f"SelectionAccuracy: selected {s.shape} and relevant {r.shape} must both be "
                             "(batch, n) masks.")
        inter = (s & r).sum(axis=1)
        union = (s | r).sum(axis=1)
        self.samples += s.shape[0]
        self.exact += int((s == r).all(axis=1).sum())
        self.hits += int(inter.sum())
        self.n_selected += int(s.sum())
        self.n_relevant += int(r.sum())
        self.jaccard_sum += float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).sum())

    def compute(self) -> dict:
        n = max(self.samples, 1)
        return {"exact": self.exact / n,
                "precision": self.hits / self.n_selected if self.n_selected else None,
                "recall": self.hits / self.n_relevant if self.n_relevant else None,
                "jaccard": self.jaccard_sum / n, "samples": self.samples}
