"""Dense numpy references: what the routing circuits are meant to compute.

These functions use no spiking dynamics: they state the mathematics directly (top-k with
the documented tie rule, windowed counts, expert routing, two-level selection) and are
the oracles of the routing tests and scenarios.
"""
from __future__ import annotations

import numpy as np


def window_counts(spikes: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``(steps, batch, d)`` spikes -> ``(batch, d)`` int counts in steps ``start .. stop-1``."""
    return (np.asarray(spikes)[start:stop] != 0).sum(axis=0).astype(np.int64)


def topk_with_ties(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the top-k entries of each row of ``scores`` (``(batch, n)``).

    Every entry tied with the k-th largest value is kept too: ``selected_i = s_i >= s_(k)``
    (the tie rule of :func:`spikeattn.circuits.routing.kwta`)."""
    s = np.atleast_2d(np.asarray(scores, float))
    kth = -np.sort(-s, axis=1)[:, k - 1:k]
    return s >= kth


def first_spike_times(spikes: np.ndarray) -> np.ndarray:
    """``(steps, batch, n)`` -> ``(batch, n)`` step of the first spike (``inf`` if none)."""
    s = np.asarray(spikes) != 0
    t = s.argmax(axis=0).astype(float)
    t[~s.any(axis=0)] = np.inf
    return t


def earliest_k(spikes: np.ndarray, k: int) -> np.ndarray:
    """Mask of the k earliest first spikes per sample, ties at the k-th time kept; tokens
    that never spike are never selected."""
    t = first_spike_times(spikes)
    sel = topk_with_ties(-t, k)
    return sel & np.isfinite(t)


def unique_topk(scores: np.ndarray, k: int) -> np.ndarray:
    """True where the k-th and (k+1)-th largest scores differ (the top-k set is unique)."""
    s = -np.sort(-np.atleast_2d(np.asarray(scores, float)), axis=1)
    if k >= s.shape[1]:
        return np.ones(s.shape[0], bool)
    return s[:, k - 1] != s[:, k]


def route(streams: np.ndarray, selected: np.ndarray, open_step: np.ndarray, latency: int) -> np.ndarray:
    """What a router's merged output should be.

    ``streams`` ``(steps, batch, K, M)`` input spikes; ``selected`` ``(batch, K)`` open
    pathways; ``open_step`` ``(batch,)`` first input step that is relayed; ``latency`` the
    relay delay in steps.  Returns ``(steps, batch, M)`` bool:
    ``out[t] = OR_k selected_k * streams[t - latency, k]`` for ``t - latency >= open_step``."""
    s = np.asarray(streams) != 0
    steps = s.shape[0]
    out = np.zeros((steps, s.shape[1], s.shape[3]), bool)
    t_in = np.arange(steps)[:, None]
    ok = t_in >= np.asarray(open_step)[None, :]                       # (steps, batch)
    gated = s & selected[None, :, :, None] & ok[:, :, None, None]
    out[latency:] = gated.any(axis=2)[:steps - latency]
    return out


def if_layer(spikes: np.ndarray, weights: np.ndarray, vth: float, delay: int = 1, reset: str = "subtract"):
    """Dense integrate-and-fire layer: ``v[t] = v[t-1] + W @ s[t - delay]``, spike iff
    ``v > vth``, then ``v -= vth`` (``reset="subtract"``) or ``v = 0`` (``"zero"``).  Returns ``(out_spikes, synaptic_ops)`` with
    ``out (steps, batch, n_out)`` and ``ops (batch,)`` = sum over input spikes of the
    number of non-zero weights leaving that input (binary accumulate ops)."""
    s = (np.asarray(spikes) != 0).astype(float)
    steps, batch, _ = s.shape
    W = np.asarray(weights, float)
    v = np.zeros((batch, W.shape[0]))
    out = np.zeros((steps, batch, W.shape[0]), bool)
    for t in range(steps):
        if t - delay >= 0:
            v = v + s[t - delay] @ W.T
        out[t] = v > vth
        v = np.where(out[t], v - vth if reset == "subtract" else 0.0, v)
    fan_out = (W != 0).sum(axis=0)
    ops = (s @ fan_out).sum(axis=0).astype(np.int64)
    return out, ops


def two_level_topk(region_scores: np.ndarray, k_regions: int, token_scores: np.ndarray, region_size: int,
                   k_tokens: int):
    """Coarse-to-fine selection: top ``k_regions`` regions by ``region_scores``
    ``(batch, R)``, then the top ``k_tokens`` of ``token_scores`` ``(batch, R*G)`` among the
    tokens of the selected regions (tokens outside score ``-inf``).  Ties kept at both
    levels.  Returns ``(region_mask (batch, R), token_mask (batch, R*G))``."""
    regions = topk_with_ties(region_scores, k_regions)
    inside = np.repeat(regions, region_size, axis=1)
    t = np.where(inside, np.asarray(token_scores, float), -np.inf)
    return regions, topk_with_ties(t, k_tokens) & inside
