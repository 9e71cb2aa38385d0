"""Attention metrics: entropy of spike-derived maps, alignment with a reference relevance,
and synaptic-op reduction versus dense attention (accumulate / compute / reset).

Maps are non-negative arrays ``(..., H, N_q, N_k)`` (e.g. spike counts of the SSA map
neurons from :func:`spikeattn.circuits.attention.spike_map`); leading axes (steps, batch)
are summed when accumulated.  A row is normalised to a distribution ``p = m / sum(m)``.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..counts import EventCounts
from ..errors import InputError
from .base import AccumulatedMetric


def _maps(name: str, maps) -> np.ndarray:
    a = np.asarray(maps, np.float64)
    if a.ndim < 3:
        raise InputError(f"{name}: maps have shape {a.shape}; expected (..., heads, n_query, n_key).")
    if np.any(a < 0) or not np.all(np.isfinite(a)):
        raise InputError(f"{name}: maps must be finite and non-negative (spike counts or probabilities).")
    return a.reshape((-1,) + a.shape[-3:]).sum(axis=0)


def row_entropy(maps: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of every row of ``(H, N_q, N_k)``; NaN for all-zero rows.
    ``H(p) = -sum_j p_j log p_j`` with ``0 log 0 = 0``; a uniform row over N keys gives log N."""
    mass = maps.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = maps / mass
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    return np.where(mass[..., 0] > 0, h, np.nan)


class AttentionEntropy(AccumulatedMetric):
    """Entropy of the accumulated attention map per head and query.

    ``compute()`` -> ``{"per_query": (H, N_q), "per_head": (H,), "mean": float,
    "normalised": mean / log N_k}`` (NaN rows — queries that never attended — are skipped)."""

    name, unit = "attention_entropy", "nats"

    def reset(self) -> None:
        self.total = None

    def accumulate(self, maps) -> None:
        m = _maps(self.name, maps)
        if self.total is not None and self.total.shape != m.shape:
            raise InputError(f"{self.name}: map shape {m.shape} differs from earlier {self.total.shape}.")
        self.total = m if self.total is None else self.total + m

    def compute(self) -> dict:
        if self.total is None:
            raise InputError(f"{self.name}: nothing accumulated; call the metric with maps first.")
        h = row_entropy(self.total)
        with _quiet():
            per_head = np.nanmean(h, axis=-1)
            mean = float(np.nanmean(h))
        n_k = self.total.shape[-1]
        return {"per_query": h, "per_head": per_head, "mean": mean,
                "normalised": mean / np.log(n_k) if n_k > 1 else float("nan")}


@contextlib.contextmanager
def _quiet():
    """Silence numpy's 'mean of empty slice' warnings (all-NaN rows are expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank), as Spearman needs."""
    from scipy.stats import rankdata

    return rankdata(x, axis=-1)


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / den, np.nan)


class AttentionAlignment(AccumulatedMetric):
    """Agreement of spike-derived maps with a reference relevance (e.g. dense softmax
    attention on the same Q, K), per head: mean over queries of the row-wise Spearman rank
    correlation (``method="spearman"``, invariant to monotone maps such as softmax) or
    Pearson correlation of the normalised rows (``"pearson"``).  Rows that are constant in
    either map are skipped.  ``accumulate(spike_maps, reference)`` sums both over calls."""

    name, unit = "attention_alignment", ""

    def __init__(self, method: str = "spearman"):
        if method not in ("spearman", "pearson"):
            raise InputError(f"{self.name}: method '{method}'; use 'spearman' or 'pearson'.")
        self.method = method
        super().__init__()

    def reset(self) -> None:
        self.spk = self.ref = None

    def accumulate(self, spike_maps, reference) -> None:
        s, r = _maps(self.name, spike_maps), _maps(self.name, reference)
        if s.shape != r.shape:
            raise InputError(f"{self.name}: spike maps {s.shape} and reference {r.shape} differ in shape.")
        self.spk = s if self.spk is None else self.spk + s
        self.ref = r if self.ref is None else self.ref + r

    def compute(self) -> dict:
        if self.spk is None:
            raise InputError(f"{self.name}: nothing accumulated; call the metric with maps first.")
        a, b = self.spk, self.ref
        if self.method == "spearman":
            a, b = _ranks(a), _ranks(b)
        else:
            a = a / np.maximum(a.sum(-1, keepdims=True), 1e-300)
            b = b / np.maximum(b.sum(-1, keepdims=True), 1e-300)
        c = _row_corr(a, b)
        with _quiet():
            per_head = np.nanmean(c, axis=-1)
            mean = float(np.nanmean(c))
        return {"per_query": c, "per_head": per_head, "mean": mean}


class SynapticOpReduction(AccumulatedMetric):
    """Synaptic operations of a spiking run versus the FLOPs of dense attention with the
    same shapes (:func:`spikeattn.circuits.attention.reference.dense_attention_flops`).

    ``accumulate(counts, dense_flops)``: ``counts`` an :class:`EventCounts` of one run over
    a batch (all its steps make one inference per sample); ``dense_flops`` per inference.
    ``compute()`` -> per-inference ``synaptic_ops`` (ACs + MACs), ``acs``, ``macs``,
    ``dense_flops`` and ``reduction = dense_flops / synaptic_ops``."""

    name, unit = "synaptic_op_reduction", "x"

    def reset(self) -> None:
        self.acs = self.macs = self.dense = 0
        self.samples = 0

    def accumulate(self, counts: EventCounts, dense_flops: int, elements=None) -> None:
        if not isinstance(counts, EventCounts):
            raise InputError(f"{self.name}: expected EventCounts, got {type(counts).__name__}.")
        if dense_flops < 0:
            raise InputError(f"{self.name}: dense_flops is {dense_flops}; must be >= 0.")
        self.acs += counts.total("synaptic_acs", elements=elements, kind="projection")
        self.macs += counts.total("synaptic_macs", elements=elements, kind="projection")
        self.dense += int(dense_flops) * counts.batch
        self.samples += counts.batch

    def compute(self) -> dict:
        if not self.samples:
            raise InputError(f"{self.name}: nothing accumulated.")
        n = self.samples
        ops = (self.acs + self.macs) / n
        return {"synaptic_ops": ops, "acs": self.acs / n, "macs": self.macs / n, "dense_flops": self.dense / n,
                "reduction": (self.dense / n) / ops if ops else float("inf")}
