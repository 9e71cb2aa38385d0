"""Attention figures (PNG, matplotlib Agg, imported lazily: extra ``viz``).

- :func:`plot_attention_heatmaps` — per head, spike-derived map next to the dense map.
- :func:`plot_attention_flow` — attention flow across layers and heads (token columns,
  lines weighted by attention).
- :func:`plot_scaling` — event counts / FLOPs versus sequence length on log-log axes with
  the fitted exponents.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .common import pyplot, save_figure


def _plt():
    return pyplot("plotting attention figures")


def _save(fig, path) -> Path:
    return save_figure(fig, path)


def _rownorm(m):
    m = np.asarray(m, float)
    s = m.sum(-1, keepdims=True)
    return np.divide(m, s, out=np.zeros_like(m), where=s > 0)


def plot_attention_heatmaps(spike_maps, dense_maps, path, title: str = "attention maps",
                            labels=("spike-derived", "dense softmax")) -> Path:
    """Two rows of heatmaps, one column per head: row-normalised ``spike_maps`` and
    ``dense_maps``, both ``(H, N_q, N_k)``."""
    s, d = np.asarray(spike_maps, float), np.asarray(dense_maps, float)
    if s.ndim == 2:
        s, d = s[None], d[None]
    if s.shape != d.shape or s.ndim != 3:
        raise InputError(f"plot_attention_heatmaps: maps {s.shape} and {d.shape}; expected equal (H, N_q, N_k).")
    plt = _plt()
    h = s.shape[0]
    fig, axes = plt.subplots(2, h, figsize=(3.2 * h + 1, 6.4), squeeze=False, constrained_layout=True)
    for row, (maps, lab) in enumerate(((s, labels[0]), (d, labels[1]))):
        for j in range(h):
            ax = axes[row, j]
            im = ax.imshow(_rownorm(maps[j]), cmap="viridis", vmin=0, aspect="auto")
            ax.set_title(f"{lab}, head {j}", fontsize=8)
            ax.set_xlabel("key token", fontsize=7)
            ax.set_ylabel("query token", fontsize=7)
            ax.tick_params(labelsize=6)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    fig.suptitle(title + " (rows normalised)", fontsize=10)
    return _save(fig, path)


def plot_attention_flow(layer_maps, path, title: str = "attention flow", top_k: int = 2) -> Path:
    """Attention flow: one column of tokens per layer boundary; for layer l, head h and
    query token i (column l+1), lines join the ``top_k`` most attended key tokens j (column
    l), with opacity and width proportional to the weight relative to the row's maximum.
    ``layer_maps`` is a list of ``(H, N, N)`` maps, one per layer."""
    maps = [np.asarray(m, float) for m in layer_maps]
    if not maps or any(m.ndim != 3 or m.shape[1:] != maps[0].shape[1:] for m in maps):
        raise InputError("plot_attention_flow: give a non-empty list of (H, N, N) maps of one token count.")
    plt = _plt()
    n, n_layers = maps[0].shape[1], len(maps)
    fig, ax = plt.subplots(figsize=(2.2 * n_layers + 2, max(3.0, 0.28 * n + 1)))
    colors = plt.get_cmap("tab10")
    for layer, m in enumerate(maps):
        w = _rownorm(m)
        for h in range(m.shape[0]):
            off = (h - (m.shape[0] - 1) / 2) * 0.12
            for i in range(n):
                top = w[h, i].max()
                if top <= 0:
                    continue
                for j in np.argsort(-w[h, i], kind="stable")[:top_k]:
                    rel = w[h, i, j] / top
                    ax.plot([layer, layer + 1], [j + off, i + off], color=colors(h % 10),
                            alpha=float(0.2 + 0.7 * rel), lw=0.4 + 1.6 * rel)
    for x in range(n_layers + 1):
        ax.scatter(np.full(n, x), np.arange(n), s=14, color="k", zorder=3)
    for h in range(maps[0].shape[0]):
        ax.plot([], [], color=colors(h % 10), label=f"head {h}")
    ax.set_xticks(range(n_layers + 1))
    ax.set_xticklabels(["input"] + [f"layer {l + 1}" for l in range(n_layers)], fontsize=8)
    ax.set_ylabel("token")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_scaling(series: dict, path, title: str = "attention cost vs sequence length",
                 ylabel: str = "operations per inference") -> Path:
    """Log-log plot of ``series[name] = (n_values, values, exponent or None)``; the fitted
    power law is drawn dashed and its exponent shown in the legend."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, (name, (x, y, slope)) in enumerate(series.items()):
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = y > 0
        col = plt.get_cmap("tab10")(k % 10)
        lab = name if slope is None else f"{name}  (N^{slope:.2f})"
        ax.loglog(x[ok], y[ok], "o-", color=col, label=lab, ms=4)
        if slope is not None and ok.sum() >= 2:
            c = np.mean(np.log(y[ok]) - slope * np.log(x[ok]))
            ax.loglog(x[ok], np.exp(c) * x[ok] ** slope, "--", color=col, lw=0.8)
    ax.set_xlabel("sequence length N (tokens)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
